"""Issue 7: several app processes against one PostgreSQL database.

Two real ``shuttle serve`` processes (A and B) share one database and one data directory (the
key files), as docker-compose.yml runs them behind a proxy. An item submitted through A
reaches a practitioner's live queue stream on B within seconds (PostgreSQL LISTEN/NOTIFY), and
an item approved on A tells the recipient's inbox stream on B; a session made on A works on B
and ends on B when it ends on A; a claim made on A is seen on B. And the listening connection,
killed under a process, is replaced and its listeners woken to ask again.

SQLite is served by one process only (its writer is in-process), so these tests are skipped
there; on PostgreSQL they are required.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from shuttle import claims
from shuttle.live import PostgresNotifier
from shuttle.runtime import Runtime
from shuttle.settings import Settings
from tests.conftest import current_backend
from tests.scenario import PASSWORD, Scene, build_case
from tests.served import Server, free_port, serving

pytestmark = pytest.mark.skipif(
    current_backend() != "postgresql",
    reason="several app processes share one database only on PostgreSQL (SQLite is served by "
    "one process); set SHUTTLE_TEST_DATABASE_URL to run these",
)

WITHIN = 5.0  # seconds for a notice to cross from one process to the other
NGINX_CONF = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf"


class Events:
    """A server-sent event stream read line by line: (event, data) as they come."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response

    async def next(self, within: float = WITHIN) -> tuple[str, str]:
        """The next event with data (pings are comments and skipped)."""
        event, data = "message", ""
        async with asyncio.timeout(within):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise AssertionError("the stream ended")
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif not line and data:
                    return event, data


@asynccontextmanager
async def stream(
    http: aiohttp.ClientSession, server: Server, path: str, token: str
) -> AsyncIterator[Events]:
    """A page's live stream, as the browser opens it with the session cookie."""
    async with http.get(
        server.base + path,
        headers={"Cookie": f"shuttle_session={token}", "Accept": "text/event-stream"},
    ) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/event-stream"
        yield Events(response)


async def call(
    http: aiohttp.ClientSession,
    server: Server,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    """One JSON API request to ``server``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, server.base + path, json=body, headers=headers) as answer:
        data = await answer.json() if answer.content_type == "application/json" else None
        return answer.status, data


async def claim_on(http: aiohttp.ClientSession, server: Server, token: str, item_id: str) -> int:
    """Claim an item through the queue page (with its CSRF token), as a person would."""
    cookie = {"Cookie": f"shuttle_session={token}"}
    async with http.get(server.base + "/queue", headers=cookie) as page:
        html = await page.text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the queue page"
    async with http.post(
        f"{server.base}/queue/items/{item_id}/claim",
        data={"csrf_token": found[1]},
        headers=cookie,
        allow_redirects=False,
    ) as answer:
        return answer.status


@asynccontextmanager
async def two_servers(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    """Processes A and B on the same database and data directory."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with serving(settings, tmp_path / "a") as a, serving(settings, tmp_path / "b") as b:
        await asyncio.gather(a.ready(), b.ready())
        assert a.base != b.base and a.process.pid != b.process.pid
        yield a, b


async def write_on(
    http: aiohttp.ClientSession, server: Server, scene: Scene, author: str, body: str
) -> str:
    """A participant writes and submits a letter to Sam through ``server``'s API."""
    person = scene.people[author]
    sharing = {"scope": "verbatim", "recipient_ids": [scene.people["sam"].id]}
    status, item = await call(
        http,
        server,
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        person.token,
        {"kind": "letter", "body": body, "sharing": sharing},
    )
    assert status == 201, item
    status, _ = await call(http, server, "POST", f"/api/v1/items/{item['id']}/submit", person.token)
    assert status == 200
    return str(item["id"])


async def test_an_item_submitted_on_one_process_appears_live_on_the_other(
    client: Any, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """A's submission reaches the queue stream on B; A's approval, Sam's inbox stream on B."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    async with two_servers(settings, tmp_path) as (a, b), aiohttp.ClientSession() as http:
        async with stream(http, b, "/queue/live", scene.lead) as queue:
            assert json.loads((await queue.next())[1])["unclaimed"] == 0
            sent = time.monotonic()
            item_id = await write_on(http, a, scene, "rob", "A letter sent through A.")
            event, data = await queue.next()
            took = time.monotonic() - sent
            assert event == "counts" and json.loads(data)["unclaimed"] == 1
            assert took < WITHIN

            # A claim made on A is seen on B: the lead's own stream on B moves it to "mine",
            # and a colleague trying to claim it on B is refused.
            assert await claim_on(http, a, scene.lead, item_id) == 303
            counts = json.loads((await queue.next())[1])
            assert (counts["unclaimed"], counts["mine"]) == (0, 1)
            assert await claim_on(http, b, scene.staff["colleague"], item_id) == 409

        # The recipient's inbox on B hears of the approval made on A: "changed", nothing else.
        sam = scene.people["sam"].token
        async with stream(http, b, "/my/live", sam) as inbox:
            await asyncio.sleep(0.2)  # the stream is listening before anything happens
            await scene.decide(item_id, "approve")  # through the in-test app: a third process
            assert await inbox.next() == ("changed", "{}")
            status, got = await call(http, b, "GET", "/api/v1/inbox", sam)
            assert status == 200 and [i["id"] for i in got["items"]] == [item_id]
    assert "Traceback" not in a.log_text() + b.log_text()


async def test_a_session_made_on_one_process_works_on_the_other(
    client: Any, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """Signed in on A: known on B; signed out on A: refused on B at once."""
    scene = await build_case(client, runtime)
    async with two_servers(settings, tmp_path) as (a, b), aiohttp.ClientSession() as http:
        status, signed = await call(
            http,
            a,
            "POST",
            "/api/v1/session",
            body={"email": "rob@people.example", "password": PASSWORD},
        )
        assert status == 200, signed
        token = signed["token"]
        status, me = await call(http, b, "GET", "/api/v1/me", token)
        assert status == 200 and me["id"] == scene.people["rob"].id
        assert (await call(http, a, "DELETE", "/api/v1/session", token))[0] == 204
        assert (await call(http, b, "GET", "/api/v1/me", token))[0] == 401


async def test_the_listening_connection_comes_back_after_it_is_killed(
    client: Any, runtime: Runtime
) -> None:
    """PostgreSQL ends the process's LISTEN connection: a new one is made, every listener is
    woken to ask again (notices meanwhile were missed), and notices flow again."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    notifier = runtime.notifier
    assert isinstance(notifier, PostgresNotifier)
    async with notifier.listen() as listener:
        assert notifier.connections == 1
        pid = notifier._connection.get_server_pid()
        async with runtime.db.writer.connect() as conn:
            killed = (
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            ).scalar_one()
        assert killed
        async with asyncio.timeout(10):
            while notifier.connections < 2:
                assert await listener.changed() == set()  # woken: ask again
        assert notifier._connection.get_server_pid() != pid
        actor = await _lead(runtime, scene)
        await claims.claim(runtime, actor, item["id"])
        async with asyncio.timeout(WITHIN):
            changed = await listener.changed()
            while not changed:
                changed = await listener.changed()
        assert changed == {scene.case_id}


@contextmanager
def nginx_in_front(a: Server, b: Server, folder: Path) -> Iterator[Server]:
    """deploy/nginx.conf (docker-compose.yml's proxy) run here, pointed at A and B."""
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(executable).exists():
        pytest.skip("nginx is not installed here (apt-get install nginx-light)")
    folder.mkdir()
    port = free_port()
    site = NGINX_CONF.read_text()
    site = site.replace("server app1:8080", "server " + a.base.removeprefix("http://"))
    site = site.replace("server app2:8080", "server " + b.base.removeprefix("http://"))
    site = site.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    assert not re.search(r"server app\d", site) and f"listen 127.0.0.1:{port};" in site
    (folder / "site.conf").write_text(site)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in kinds)
    (folder / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {folder / 'nginx.pid'}; "
        f"error_log {folder / 'error.log'} warn; user root;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n"
    )
    process = subprocess.Popen(
        [executable, "-p", str(folder), "-c", str(folder / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        yield Server(process, f"http://127.0.0.1:{port}", a.env, folder / "error.log")
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_live_updates_work_through_the_reverse_proxy(
    client: Any, runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    """docker-compose.yml's nginx configuration in front of A and B: a practitioner's stream
    through the proxy hears of an item submitted through the proxy (whichever process takes
    each), event by event (no buffering); /metrics is not passed on."""
    scene = await build_case(client, runtime)
    async with two_servers(settings, tmp_path) as (a, b), aiohttp.ClientSession() as http:
        with nginx_in_front(a, b, tmp_path / "nginx") as proxy:
            await proxy.ready(within=20)
            async with stream(http, proxy, "/queue/live", scene.lead) as queue:
                assert json.loads((await queue.next())[1])["unclaimed"] == 0
                for n in (1, 2, 3):
                    await write_on(http, proxy, scene, "rob", f"Letter {n} through the proxy.")
                    assert json.loads((await queue.next())[1])["unclaimed"] == n
            async with http.get(proxy.base + "/metrics") as answer:
                assert answer.status == 404
        async with http.get(a.base + "/metrics") as answer:
            assert answer.status == 200  # each process serves its own, to its own scraper


async def _lead(runtime: Runtime, scene: Scene) -> Any:
    from shuttle.accounts import authenticate

    return await authenticate(runtime, scene.lead)
