"""The crash test: kill -9 of the server under the benchmark's load, many times; no write it
acknowledged may be lost.

    .venv/bin/python -m bench.crash [--rounds 25] [--clients 16] [--seed N]

The real server (SQLite, ``synchronous=FULL``, group commit) is seeded as ``make bench`` seeds
it, then each round: the load generator (``bench.load``) drives the relay cycle (draft, submit,
approve, inbox, read) with every client, writing down each write the server acknowledged the
moment its answer arrives; at a random moment the server is killed with SIGKILL; it is started
again, and every write acknowledged so far is checked through the API:

* a drafted item exists (its author can open it);
* a submitted item is no longer a draft;
* an approved item was relayed (or is held, or approved);
* an item marked read shows ``read_at`` in its recipient's inbox.

At the end ``shuttle audit verify`` must pass: the log is whole after every crash. Prints a
summary, writes ``test-artifacts/crash.json``, and exits 1 if anything was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.run import PYTHON, ROOT, SHUTTLE, api, free_port, seed, wait_for

STEPS = ("draft", "submit", "approve", "read")
# What each acknowledged step guarantees of the item's state as its author sees it.
STATES_AFTER = {
    "draft": None,  # any state: it exists
    "submit": {"submitted", "approved", "held", "relayed"},
    "approve": {"approved", "held", "relayed"},
    "read": {"relayed"},
}


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUTTLE_")}
    env.update(
        SHUTTLE_DATA_DIR=str(folder / "var"),
        SHUTTLE_LOG_LEVEL="ERROR",
        SHUTTLE_ENVIRONMENT="development",
        SHUTTLE_SQLITE_GROUP_COMMIT="true",
    )
    return env


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [SHUTTLE, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{port}"
    wait_for(f"{base}/healthz", process)
    return process, base


def _furthest(acks_file: Path) -> dict[str, tuple[str, str]]:
    """Each acknowledged item's furthest acknowledged step, and its case."""
    furthest: dict[str, tuple[str, str]] = {}
    if not acks_file.exists():
        return furthest
    for line in acks_file.read_text().splitlines():
        ack = json.loads(line)
        known = furthest.get(ack["item"])
        if known is None or STEPS.index(ack["step"]) > STEPS.index(known[0]):
            furthest[ack["item"]] = (ack["step"], ack["case"])
    return furthest


def lost_writes(
    base: str, acks_file: Path, clients: dict[str, dict[str, str]]
) -> tuple[list[str], Counter[str]]:
    """Every acknowledged write that the restarted server does not show; and the count of
    acknowledged items by furthest step."""
    lost: list[str] = []
    counted: Counter[str] = Counter()
    inboxes: dict[str, dict[str, Any]] = {}
    for item_id, (step, case) in _furthest(acks_file).items():
        counted[step] += 1
        who = clients[case]
        try:
            item = api(base, "GET", f"/api/v1/items/{item_id}", who["author"])
        except OSError as exc:
            lost.append(f"{step} of {item_id}: the item cannot be opened ({exc})")
            continue
        wanted = STATES_AFTER[step]
        if wanted is not None and item["state"] not in wanted:
            lost.append(f"{step} of {item_id}: the item is {item['state']}")
        if step == "read":
            if case not in inboxes:
                inbox = api(base, "GET", "/api/v1/inbox", who["recipient"])
                inboxes[case] = {entry["id"]: entry for entry in inbox["items"]}
            if not inboxes[case].get(item_id, {}).get("read_at"):
                lost.append(f"read of {item_id}: not read in the recipient's inbox")
    return lost, counted


def crash_test(folder: Path, rounds: int, clients: int, rng: random.Random) -> dict[str, Any]:
    """The whole test in ``folder``; returns its report (``lost`` must be empty)."""
    env = _environment(folder)
    log = folder / "server.log"
    acks_file = folder / "acknowledged.jsonl"
    process, base = _start(env, log)
    seeded = seed(base, env, clients)
    by_case = {who["case"]: who for who in seeded}
    lost: list[str] = []
    killed_after: list[float] = []
    counted: Counter[str] = Counter()
    try:
        for round_ in range(rounds):
            plan = {
                "kind": "cycle", "url": base, "concurrency": clients, "seconds": 3.0,
                "clients": seeded, "acknowledged": str(acks_file),
            }  # fmt: skip
            plan_file = folder / f"plan-{round_}.json"
            plan_file.write_text(json.dumps(plan))
            load = subprocess.Popen(
                [PYTHON, "-m", "bench.load", str(plan_file), str(folder / f"out-{round_}.json")],
                cwd=ROOT,
            )
            delay = rng.uniform(0.3, 2.5)
            time.sleep(delay)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            killed_after.append(round(delay, 2))
            load.wait()
            process, base = _start(env, log)
            lost, counted = lost_writes(base, acks_file, by_case)
            print(
                f"round {round_ + 1}/{rounds}: killed after {delay:.2f} s; "
                f"{sum(counted.values())} acknowledged items so far, {len(lost)} lost",
                flush=True,
            )
            if lost:
                break
    finally:
        process.terminate()
        process.wait()
    verified = subprocess.run(
        [SHUTTLE, "audit", "verify"], env=env, capture_output=True, text=True, check=False
    )
    return {
        "rounds": len(killed_after),
        "clients": clients,
        "killed_after_seconds": killed_after,
        "acknowledged_items_by_furthest_step": dict(counted),
        "acknowledged_writes": sum(1 for line in acks_file.read_text().splitlines() if line.strip())
        if acks_file.exists()
        else 0,
        "lost": lost,
        "audit_verify": verified.returncode == 0,
        "audit_verify_output": (verified.stdout + verified.stderr).strip()[-2000:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "crash.json")
    args = parser.parse_args()
    chosen = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"crash test: {args.rounds} rounds, {args.clients} clients, seed {chosen}", flush=True)
    with tempfile.TemporaryDirectory(prefix="shuttle-crash-") as tmp:
        report = crash_test(Path(tmp), args.rounds, args.clients, random.Random(chosen))  # noqa: S311 (timing, not secrets)
    report["seed"] = chosen
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"{report['acknowledged_writes']} acknowledged writes over {report['rounds']} kills; "
        f"lost: {len(report['lost'])}; audit log verifies: {report['audit_verify']}"
    )
    for line in report["lost"][:20]:
        print(f"  LOST {line}")
    raise SystemExit(0 if not report["lost"] and report["audit_verify"] else 1)


if __name__ == "__main__":
    main()
