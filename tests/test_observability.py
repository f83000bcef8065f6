"""Issue 7, observability: /metrics (by route name, the queue, relays and decisions; refused
to other addresses), request ids, and the JSON log of the real server.

The marker sweep over every log line of a whole relay cycle is in
tests/test_plaintext_at_rest.py (it writes the JSON log too, and checks each line).
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from shuttle.app import create_app
from shuttle.settings import Settings
from tests.scenario import build_case
from tests.served import serving

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def samples(text: str) -> dict[str, float]:
    """The exposition's samples: 'name{labels}' -> value."""
    found = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            key = match["name"] + (f"{{{match['labels']}}}" if match["labels"] else "")
            found[key] = float(match["value"])
    return found


async def scrape(client: Any, **headers: str) -> tuple[int, str]:
    """GET /metrics: (status, body)."""
    response = await client.get("/metrics", headers=headers)
    return response.status, await response.text()


async def test_metrics_by_route_name_queue_relays_and_decisions(client, runtime) -> None:
    """Latency by the route's name (no id in any label), the queue read from the database at
    scrape time, relays and decisions counted by kind once committed."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    first = await scene.write("rob", "First letter.")
    await scene.write("rob", "Second letter.")
    status, text = await scrape(client)
    assert status == 200
    seen = samples(text)
    assert seen['shuttle_queue_depth{state="submitted"}'] == 2
    assert seen['shuttle_queue_depth{state="escalated"}'] == 0
    assert seen["shuttle_queue_oldest_age_seconds"] > 0
    assert seen['shuttle_request_duration_seconds_count{route="item.submit"}'] == 2
    assert seen['shuttle_request_duration_seconds_count{route="item.create"}'] == 2
    assert seen.get("shuttle_relays_total", 0) == 0

    await scene.decide(first["id"], "approve")
    status, text = await scrape(client)
    seen = samples(text)
    assert seen['shuttle_decisions_total{decision="approve"}'] == 1
    assert seen["shuttle_relays_total"] == 1
    assert seen['shuttle_queue_depth{state="submitted"}'] == 1
    assert seen['shuttle_responses_total{status="2xx"}'] > 10
    # A refused decision (a stale version digest) is counted as an answer, not a decision.
    await scene.api.call(
        "POST",
        f"/api/v1/items/{first['id']}/decisions",
        scene.lead,
        {"decision": "approve", "version_digest": "0" * 64},
    )
    seen = samples((await scrape(client))[1])
    assert seen['shuttle_decisions_total{decision="approve"}'] == 1
    # Routes by name only: no path, and no id of any case, item or person, in any label.
    labels = " ".join(k for k in seen if "{" in k)
    assert "/" not in labels
    ids = {scene.case_id, first["id"], *(p.id for p in scene.people.values())}
    assert not [i for i in ids if i in text]


async def test_metrics_refuse_other_addresses_without_the_token(
    aiohttp_client, settings: Settings
) -> None:
    """Only allowed networks (loopback by default) or the bearer token may read /metrics."""
    default = await aiohttp_client(create_app(settings))
    assert (await scrape(default))[0] == 200  # the test client is 127.0.0.1

    elsewhere = settings.model_copy(
        update={
            "metrics_allowed_networks": (ipaddress.ip_network("10.0.0.0/8"),),
            "metrics_token": SecretStr("the scraper's own long token"),
        }
    )
    client = await aiohttp_client(create_app(elsewhere))
    status, text = await scrape(client)
    assert status == 403 and "shuttle_" not in text
    for wrong in ("Bearer not the token", "Bearer ", "Basic dGhlIHNjcmFwZXI=", "the scraper's"):
        assert (await scrape(client, Authorization=wrong))[0] == 403, wrong
    status, text = await scrape(client, Authorization="Bearer the scraper's own long token")
    assert status == 200 and "shuttle_request_duration_seconds" in text

    no_token = settings.model_copy(
        update={"metrics_allowed_networks": (ipaddress.ip_network("10.0.0.0/8"),)}
    )
    client = await aiohttp_client(create_app(no_token))
    assert (await scrape(client))[0] == 403
    assert (await scrape(client, Authorization="Bearer anything"))[0] == 403


async def test_request_ids_taken_when_plain_and_echoed_everywhere(client) -> None:
    """X-Request-Id comes back as sent when it is plain, else a fresh one; redirects too."""
    answer = await client.get("/healthz", headers={"X-Request-Id": "abc-123.DEF_4:5"})
    assert answer.headers["X-Request-Id"] == "abc-123.DEF_4:5"
    for bad in ("has space", "x" * 65, "new\\nline", "<script>", "é"):
        answer = await client.get("/api/v1/session", headers={"X-Request-Id": bad})
        made = answer.headers["X-Request-Id"]
        assert made != bad and re.fullmatch(r"[0-9a-f]{16}", made), bad
    answer = await client.get("/my", allow_redirects=False)  # not signed in: to sign in
    assert answer.status == 303
    assert re.fullmatch(r"[0-9a-f]{16}", answer.headers["X-Request-Id"])
    one, two = await client.get("/healthz"), await client.get("/healthz")
    assert one.headers["X-Request-Id"] != two.headers["X-Request-Id"]


async def test_the_server_logs_one_json_object_a_line(settings: Settings, tmp_path: Path) -> None:
    """``shuttle serve`` with SHUTTLE_LOG_FORMAT=json: every line it logs is a JSON object;
    each request's line carries its request id (the one echoed), route name, status, time."""
    with serving(settings, tmp_path, SHUTTLE_LOG_LEVEL="INFO", SHUTTLE_LOG_FORMAT="json") as server:
        await server.ready()
        async with aiohttp.ClientSession() as http:
            sent = {"X-Request-Id": "trace-me-42"}
            async with http.get(f"{server.base}/api/v1/session", headers=sent) as answer:
                assert answer.status == 401
            async with http.post(
                f"{server.base}/api/v1/session",
                json={"email": "nobody@people.example", "password": "MARKER-password-xyz"},
            ) as answer:
                assert answer.status == 401
                made = answer.headers["X-Request-Id"]
            async with http.get(f"{server.base}/no/such/page/MARKER-path") as answer:
                assert answer.status == 404
    lines = [
        line
        for line in server.log_text().splitlines()
        if line.strip() and not line.startswith("Shuttle is serving on")  # click.echo, stdout
    ]
    parsed = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    requests = {p["request_id"]: p for p in parsed if p["logger"] == "shuttle.request"}
    assert requests["trace-me-42"]["route"] == "session.show"
    assert requests["trace-me-42"]["status"] == 401
    assert requests[made]["route"] == "session.create"
    assert isinstance(requests[made]["duration_ms"], float)
    assert "unmatched" in {p["route"] for p in requests.values()}
    assert "MARKER" not in server.log_text()
