"""``make bench``: the relay cycle against the floor, start-up, screening; a table and JSON.

    .venv/bin/python -m bench.run [--seconds 10] [--concurrency 1,16,64] [--out FILE]

1. The floor: ``bench.floor`` (bare aiohttp + one aiosqlite INSERT of 1 KB + COMMIT, WAL,
   synchronous=FULL) driven by ``bench.load`` at each concurrency.
2. The real server (``shuttle serve``, SQLite, synchronous=FULL) started fresh; its start-up
   time measured; one case per client seeded over the JSON API; then the relay cycle (draft,
   submit, approve, inbox, read) driven by ``bench.load`` in its own process at each
   concurrency, for a bounded time.
3. Screening of a 2,000-word letter (``scripts/bench-screening``).
4. The disclosure package of a case of 10,000 items (``bench.records_package``): time and
   peak memory above idle for each phase.

Figures are printed as a table with the cycle's requests/s as a ratio of the floor's measured
in the same run (this machine is shared and noisy: ratios travel, absolute numbers do not).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import records_package
from bench.records_package import PHASES
from shuttle import totp

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SHUTTLE = str(Path(sys.executable).with_name("shuttle"))
PASSWORD = "a long enough benchmark password"
KINDS = ("draft", "submit", "approve", "inbox", "read")


def free_port() -> int:
    """A TCP port nobody listens on just now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], within: float = 60.0) -> float:
    """Seconds until ``url`` answers 200 (fails if the process dies)."""
    started = time.perf_counter()
    while time.perf_counter() - started < within:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return time.perf_counter() - started
        except (OSError, urllib.error.URLError):
            time.sleep(0.01)
    raise SystemExit(f"{url} did not answer within {within} s")


def api(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    """One JSON API call for seeding."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
        raw = answer.read()
    return json.loads(raw) if raw else None


def sign_in(base: str, email: str) -> str:
    """A bearer token (staff enrol an authenticator and answer with its first code)."""
    answer = api(base, "POST", "/api/v1/session", body={"email": email, "password": PASSWORD})
    if answer.get("mfa_required"):
        code = totp.code_at(answer["totp"]["secret"], time.time())
        body = {"challenge": answer["challenge"], "code": code}
        answer = api(base, "POST", "/api/v1/session/mfa", body=body)
    return str(answer["token"])


def seed(base: str, env: dict[str, str], clients: int) -> list[dict[str, str]]:
    """One case per client: Priya leads; Sam writes to Rob, who is willing to receive."""
    email = "priya@bench.example"
    subprocess.run(
        [SHUTTLE, "users", "add", "--role", "practitioner", "--email", email, "--name", "Priya",
         "--password-stdin"],
        input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True,
    )  # fmt: skip
    lead = sign_in(base, email)
    seeded = []
    for n in range(clients):
        case = api(
            base,
            "POST",
            "/api/v1/cases",
            lead,
            {"reference": f"BENCH-{n:03d}", "sensitive_complex": False},
        )
        people = {}
        for role, shown in (("harmed", "Sam"), ("responsible", "Rob")):
            where = f"/api/v1/cases/{case['id']}/participants"
            person = {"role": role, "display_name": shown, "shown_to_others_as": shown}
            made = api(base, "POST", where, lead, person)
            api(base, "POST", f"{where}/{made['id']}/consent", lead,
                {"information_sheet_version": "2026-1", "method": "in_person",
                 "accepts_responsibility": role == "responsible" or None})  # fmt: skip
            address = f"{shown.lower()}{n}@bench.example"
            api(base, "POST", f"/api/v1/invitations/{made['invitation_token']}/accept",
                body={"email": address, "password": PASSWORD})  # fmt: skip
            people[role] = (made["id"], sign_in(base, address))
        wishes = {"receive": "yes", "unwanted_topics": [], "delivery": "portal"}
        api(base, "PUT", "/api/v1/me/preferences", people["responsible"][1],
            {**wishes, "tell_author_when_read": True})  # fmt: skip
        seeded.append({
            "case": case["id"], "author": people["harmed"][1], "practitioner": lead,
            "recipient": people["responsible"][1], "recipient_id": people["responsible"][0],
        })  # fmt: skip
    return seeded


def drive(plan: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Run the load generator in its own process; return its recording."""
    plan_file = folder / f"plan-{plan['kind']}-{plan['concurrency']}.json"
    out_file = plan_file.with_suffix(".out.json")
    plan_file.write_text(json.dumps(plan))
    subprocess.run(
        [PYTHON, "-m", "bench.load", str(plan_file), str(out_file)], cwd=ROOT, check=True
    )
    result: dict[str, Any] = json.loads(out_file.read_text())
    return result


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int, plan: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The plan driven against the server ``pid``: its summary, plus the server's CPU time
    per request. CPU time does not depend on what else the machine is doing the way req/s
    does, so the ratio of the two servers' CPU per request is the steadier comparison."""
    before = cpu_seconds(pid)
    recording = drive(plan, folder)
    used = cpu_seconds(pid) - before
    result = summary(recording)
    served = sum(k["count"] for k in result["kinds"].values())
    result["cpu_ms_per_request"] = 1000 * used / served if served else None
    return result


def summary(recording: dict[str, Any]) -> dict[str, Any]:
    """requests/s over all kinds, and p50/p99 in ms per kind."""
    seconds = recording["seconds"]
    total = sum(len(v) for v in recording["requests"].values())
    kinds = {}
    for kind, values in recording["requests"].items():
        ordered = sorted(values)
        kinds[kind] = {
            "count": len(ordered),
            "p50_ms": 1000 * ordered[len(ordered) // 2] if ordered else None,
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            if ordered
            else None,
        }
    return {
        "rps": total / seconds if seconds else 0.0,
        "kinds": kinds,
        "errors": recording["errors"],
    }


def floor_runs(
    levels: list[int], seconds: float, folder: Path, module: str = "bench.floor"
) -> dict[int, dict[str, Any]]:
    """A floor server (``module``) at each concurrency, on a fresh database."""
    port = free_port()
    database = folder / f"{module.rpartition('.')[2]}.db"
    process = subprocess.Popen([PYTHON, "-m", module, str(database), str(port)], cwd=ROOT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", process)
        return {
            n: measured(
                process.pid,
                {
                    "kind": "floor",
                    "url": f"http://127.0.0.1:{port}",
                    "concurrency": n,
                    "seconds": seconds,
                },
                folder,
            )
            for n in levels
        }
    finally:
        process.terminate()
        process.wait()


def shuttle_runs(
    levels: list[int],
    seconds: float,
    folder: Path,
    *,
    group_commit: bool,
    profile: Path | None = None,
) -> tuple[dict[int, dict[str, Any]], dict[str, float]]:
    """Start-up times, then the relay cycle at each concurrency (a fresh data directory)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHUTTLE_")}
    env.update(
        SHUTTLE_DATA_DIR=str(folder / f"var-{'group' if group_commit else 'each'}"),
        SHUTTLE_LOG_LEVEL="WARNING",
        SHUTTLE_ENVIRONMENT="development",
        SHUTTLE_SQLITE_GROUP_COMMIT=str(group_commit).lower(),
    )
    startup = {}
    for label in ("first start (creates the database)", "start"):
        port = free_port()
        process = subprocess.Popen(
            [SHUTTLE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        startup[label] = wait_for(f"http://127.0.0.1:{port}/healthz", process)
        if label == "start":
            break
        process.terminate()
        process.wait()
    base = f"http://127.0.0.1:{port}"
    try:
        clients = seed(base, env, max(levels))
        results = {}
        for n in levels:
            plan = {
                "kind": "cycle",
                "url": base,
                "concurrency": n,
                "seconds": seconds,
                "clients": clients,
            }
            with sampled(process.pid, seconds, profile, n):
                results[n] = measured(process.pid, plan, folder)
    finally:
        process.terminate()
        process.wait()
    return results, startup


@contextmanager
def sampled(pid: int, seconds: float, profile: Path | None, clients: int) -> Iterator[None]:
    """With ``--profile DIR``: py-spy samples the server while the load runs, and the
    functions taking the most time are written to DIR/cycle-N.txt (raw stacks beside it)."""
    if profile is None:
        yield
        return
    profile.mkdir(parents=True, exist_ok=True)
    raw = profile / f"cycle-{clients}.raw"
    spy = subprocess.Popen(
        [str(Path(PYTHON).with_name("py-spy")), "record", "--pid", str(pid), "--duration",
         str(max(1, int(seconds))), "--rate", "200", "--format", "raw", "--output", str(raw),
         "--nonblocking"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        spy.wait()
    (profile / f"cycle-{clients}.txt").write_text(top_functions(raw.read_text()))


def top_functions(raw: str, shown: int = 60) -> str:
    """The functions by share of samples spent in them and below them (inclusive), and in
    them alone (self), from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        alone[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    lines = [f"{total} samples", "", "inclusive %  function"]
    lines += [f"{100 * c / total:10.1f}  {f}" for f, c in inclusive.most_common(shown)]
    lines += ["", "self %  function"]
    lines += [f"{100 * c / total:6.1f}  {f}" for f, c in alone.most_common(shown)]
    return "\n".join(lines) + "\n"


def screening() -> dict[str, float]:
    """scripts/bench-screening's figures (median and p99 ms for a 2,000-word letter)."""
    done = subprocess.run(
        [PYTHON, str(ROOT / "scripts" / "bench-screening"), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def table(
    levels: list[int],
    floor: dict[int, Any],
    stack: dict[int, Any],
    each: dict[int, Any],
    cycle: dict[int, Any],
) -> str:
    """The printed table: the floor, the stack's floor, the cycle committing each write
    alone, the cycle now."""
    lines = [
        f"{'clients':>7}  {'what':<8} {'req/s':>8} {'ratio':>6} {'cpu ms/req':>10}  "
        + "  ".join(f"{k + ' p50/p99 ms':>22}" for k in ("insert", *KINDS))
    ]
    for n in levels:
        f = floor[n]
        rows = [("floor", f, "1.00")]
        for what, row in (("stack", stack[n]), ("1 commit", each[n]), ("cycle", cycle[n])):
            rows.append((what, row, f"{row['rps'] / f['rps']:.2f}" if f["rps"] else "-"))
        for what, row, shown in rows:
            cells = []
            for kind in ("insert", *KINDS):
                k = row["kinds"].get(kind)
                cells.append(
                    f"{k['p50_ms']:>10.1f} / {k['p99_ms']:>8.1f}"
                    if k and k["count"]
                    else f"{'':>21}"
                )
            cpu = row.get("cpu_ms_per_request")
            cpu_shown = f"{cpu:10.2f}" if cpu is not None else f"{'-':>10}"
            lines.append(
                f"{n:>7}  {what:<8} {row['rps']:>8.0f} {shown:>6} {cpu_shown}  "
                + "  ".join(f"{c_:>22}" for c_ in cells)
            )
    return "\n".join(lines)


def main() -> None:
    """Run everything; print the table; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "bench.json")
    parser.add_argument(
        "--records-items",
        type=int,
        default=10_000,
        help="items in the case whose disclosure package is measured (0: not measured)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample the server with py-spy during the group-commit cycle; top functions "
        "per concurrency written to DIR",
    )
    args = parser.parse_args()
    levels = [int(n) for n in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory(prefix="shuttle-bench-") as tmp:
        folder = Path(tmp)
        print(f"floor: {args.seconds:g} s at each of {levels} clients ...", flush=True)
        floor = floor_runs(levels, args.seconds, folder)
        print(f"the stack's floor: {args.seconds:g} s at each of {levels} clients ...")
        stack = floor_runs(levels, args.seconds, folder, "bench.stack_floor")
        print(f"relay cycle, a commit per write: {args.seconds:g} s at each of {levels} ...")
        each, _ = shuttle_runs(levels, args.seconds, folder, group_commit=False)
        print(f"relay cycle, group commit: {args.seconds:g} s at each of {levels} clients ...")
        cycle, startup = shuttle_runs(
            levels, args.seconds, folder, group_commit=True, profile=args.profile
        )
    screened = screening()
    records: list[dict[str, Any]] = []
    if args.records_items:
        print(f"disclosure package of a case of {args.records_items} items ...", flush=True)
        with tempfile.TemporaryDirectory(prefix="shuttle-bench-records-") as tmp:
            records = records_package.run(args.records_items, Path(tmp), list(PHASES))
    print()
    print("req/s of every request kind together; ratio = req/s / the floor's in this run")
    print("'1 commit' = the service committing each write on its own (group commit off)")
    print("cpu ms/req = the server process's CPU time (every thread) per request served")
    print("stack = the floor's INSERT through SQLModel's ORM and shuttle.db (group commit)")
    print(table(levels, floor, stack, each, cycle))
    print()
    for label, value in startup.items():
        print(f"start-up, {label}: {value * 1000:.0f} ms")
    median, p99 = screened["median_ms"], screened["p99_ms"]
    print(f"screening a 2,000-word letter: median {median:.1f} ms, p99 {p99:.1f} ms")
    for phase in records:
        print(
            f"disclosure package, {args.records_items} items, {phase['phase']}: "
            f"{phase['seconds']:.2f} s, peak {phase['peak_above_idle_mb']} MB above idle"
        )
    errors = {n: cycle[n]["errors"] for n in levels if cycle[n]["errors"]}
    if errors:
        print(f"errors during the cycle: {errors}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "floor": floor, "stack_floor": stack, "cycle": cycle, "cycle_commit_each": each,
        "startup_seconds": startup, "screening": screened,
        "records_package": {"items": args.records_items, "phases": records},
        "ratio": {n: cycle[n]["rps"] / floor[n]["rps"] for n in levels if floor[n]["rps"]},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
    }, indent=2))  # fmt: skip
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
