"""The load generator: N concurrent clients for a bounded time, latencies per request kind.

Runs in its own process (``python -m bench.load PLAN.json``) so that it never competes with the
server for the server's event loop. A plan says what each client does:

* ``{"kind": "floor", "url": ...}``: every client POSTs 1 KB to ``/floor`` in a loop;
* ``{"kind": "cycle", "url": ..., "clients": [{author, practitioner, recipient tokens, case,
  recipient participant id}, ...]}``: every client runs the relay cycle in a loop — draft,
  submit, approve, the recipient's inbox, mark read — each request timed on its own.

Writes ``{"requests": {kind: [latency seconds, ...]}, "seconds": wall time, "errors": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp

BODY = ("I have thought about what happened every day since. " * 20)[:1024]


class Recorder:
    """Latencies by request kind, and errors, for the measured window only."""

    def __init__(self, until: float) -> None:
        self.until = until
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    async def call(
        self,
        session: aiohttp.ClientSession,
        kind: str,
        method: str,
        url: str,
        token: str | None = None,
        body: Any = None,
    ) -> Any:
        """One timed request; returns its JSON (None for an error, which is counted)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        async with session.request(method, url, json=body, headers=headers) as answer:
            data = await answer.read()
            status = answer.status
        elapsed = time.perf_counter() - started
        if status >= 400:
            self.errors[f"{kind} {status}"] += 1
            return None
        if time.monotonic() <= self.until:
            self.latencies[kind].append(elapsed)
        return json.loads(data) if data else {}


async def floor_client(rec: Recorder, session: aiohttp.ClientSession, url: str) -> None:
    """POST 1 KB to the floor server until time is up."""
    while time.monotonic() < rec.until:
        await rec.call(session, "insert", "POST", f"{url}/floor", body={"data": BODY})


async def cycle_client(
    rec: Recorder, session: aiohttp.ClientSession, url: str, who: dict[str, str]
) -> None:
    """The relay cycle until time is up."""
    api = f"{url}/api/v1"
    while time.monotonic() < rec.until:
        item = await rec.call(
            session,
            "draft",
            "POST",
            f"{api}/cases/{who['case']}/items",
            who["author"],
            {
                "kind": "letter",
                "body": BODY,
                "sharing": {"scope": "verbatim", "recipient_ids": [who["recipient_id"]]},
                "response_wanted": "none",
            },
        )
        if item is None:
            continue
        submitted = await rec.call(
            session, "submit", "POST", f"{api}/items/{item['id']}/submit", who["author"], {}
        )
        if submitted is None:
            continue
        decided = await rec.call(
            session,
            "approve",
            "POST",
            f"{api}/items/{item['id']}/decisions",
            who["practitioner"],
            {"decision": "approve", "version_digest": submitted["version_digest"]},
        )
        if decided is None:
            continue
        await rec.call(session, "inbox", "GET", f"{api}/inbox", who["recipient"])
        await rec.call(
            session, "read", "POST", f"{api}/items/{item['id']}/read", who["recipient"], {}
        )


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Drive the plan's clients for its seconds; return the recording."""
    seconds = float(plan["seconds"])
    count = int(plan["concurrency"])
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        rec = Recorder(started + seconds)
        if plan["kind"] == "floor":
            tasks = [floor_client(rec, session, plan["url"]) for _ in range(count)]
        else:
            clients = plan["clients"][:count]
            tasks = [cycle_client(rec, session, plan["url"], who) for who in clients]
        await asyncio.gather(*tasks)
        wall = min(time.monotonic(), rec.until) - started
    return {"requests": rec.latencies, "seconds": wall, "errors": rec.errors, "pid": os.getpid()}


def main() -> None:
    """python -m bench.load PLAN.json OUT.json"""
    plan = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(run(plan))
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
