"""The load generator: N concurrent clients for a bounded time, latencies per request kind.

Runs in its own process (``python -m bench.load PLAN.json``) so that it never competes with the
server for the server's event loop. A plan says what each client does:

* ``{"kind": "floor", "url": ...}``: every client POSTs 1 KB to ``/floor`` in a loop;
* ``{"kind": "cycle", "url": ..., "clients": [{author, practitioner, recipient tokens, case,
  recipient participant id}, ...]}``: every client runs the relay cycle in a loop — draft,
  submit, approve, the recipient's inbox, mark read — each request timed on its own.

Writes ``{"requests": {kind: [latency seconds, ...]}, "seconds": wall time, "errors": {...}}``.

With ``"acknowledged": FILE`` in the plan (the crash test, ``bench.crash``), every write the
server acknowledged is appended to FILE as it arrives, one JSON line ``{"step", "item",
"case"}``, and a server that stops answering is an error to count, not the end of the run.
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
    """Latencies by request kind, and errors, for the measured window only; acknowledged
    writes, if asked, to a file as they arrive."""

    def __init__(self, until: float, acknowledged: Path | None = None) -> None:
        self.until = until
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.acks = acknowledged.open("a", buffering=1) if acknowledged else None

    def acknowledge(self, step: str, item: str, case: str) -> None:
        """Note a write the server acknowledged (written through before anything else)."""
        if self.acks is not None:
            self.acks.write(json.dumps({"step": step, "item": item, "case": case}) + "\n")

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
        try:
            async with session.request(method, url, json=body, headers=headers) as answer:
                data = await answer.read()
                status = answer.status
        except aiohttp.ClientError:
            if self.acks is None:
                raise
            self.errors[f"{kind} no answer"] += 1
            await asyncio.sleep(0.05)  # the server is down (the crash test): try again soon
            return None
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
        rec.acknowledge("draft", item["id"], who["case"])
        submitted = await rec.call(
            session, "submit", "POST", f"{api}/items/{item['id']}/submit", who["author"], {}
        )
        if submitted is None:
            continue
        rec.acknowledge("submit", item["id"], who["case"])
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
        rec.acknowledge("approve", item["id"], who["case"])
        await rec.call(session, "inbox", "GET", f"{api}/inbox", who["recipient"])
        read = await rec.call(
            session, "read", "POST", f"{api}/items/{item['id']}/read", who["recipient"], {}
        )
        if read is not None:
            rec.acknowledge("read", item["id"], who["case"])


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    """Drive the plan's clients for its seconds; return the recording."""
    seconds = float(plan["seconds"])
    count = int(plan["concurrency"])
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        acknowledged = plan.get("acknowledged")
        rec = Recorder(started + seconds, Path(acknowledged) if acknowledged else None)
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
