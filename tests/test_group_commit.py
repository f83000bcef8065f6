"""Group commit on SQLite: writes queued behind the writer share one commit, and none of them
is acknowledged before that commit is durable.

* concurrent writes all land, each in its own savepoint: one that fails changes nothing and
  the others still commit;
* a commit that fails fails every write of its batch, and leaves nothing behind;
* kill -9 of the real server under the benchmark's load (``bench.crash``), several times:
  every write it acknowledged is there after a restart.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.crash import crash_test
from shuttle.db import Database

pytestmark = pytest.mark.backend("sqlite")


async def _table(db: Database) -> None:
    async with db.writing() as session:
        await session.exec(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)"))  # type: ignore[call-overload]


async def _bodies(db: Database) -> set[str]:
    async with db.reading() as session:
        rows = await session.exec(text("SELECT body FROM note"))  # type: ignore[call-overload]
        return {row[0] for row in rows}


async def _write(db: Database, body: str, *, fail: bool = False) -> None:
    async with db.writing() as session:
        await session.exec(text("INSERT INTO note (body) VALUES (:b)").bindparams(b=body))  # type: ignore[call-overload]
        await asyncio.sleep(0)  # let others queue behind us
        if fail:
            raise RuntimeError("this write changes its mind")


async def test_queued_writes_share_commits_and_a_failure_changes_nothing(tmp_path: Path) -> None:
    """100 writes at once, every 7th failing: the other 85 land; the failed ones do not."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    commits = 0
    original = db._finish

    async def counting(batch):  # type: ignore[no-untyped-def]
        nonlocal commits
        commits += 1
        await original(batch)

    db._finish = counting  # type: ignore[method-assign]
    try:
        await _table(db)
        commits = 0
        results = await asyncio.gather(
            *(_write(db, f"n{n}", fail=n % 7 == 0) for n in range(100)), return_exceptions=True
        )
        failed = {f"n{n}" for n, r in enumerate(results) if isinstance(r, BaseException)}
        assert failed == {f"n{n}" for n in range(100) if n % 7 == 0}
        assert await _bodies(db) == {f"n{n}" for n in range(100)} - failed
        assert commits < 50, f"{commits} commits for 100 queued writes: nothing was grouped"
    finally:
        await db.dispose()


async def test_a_failed_commit_fails_every_write_of_its_batch(tmp_path: Path) -> None:
    """When the commit fails, no write of the batch is acknowledged and none is stored."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    try:
        await _table(db)
        await _write(db, "before")
        # A failing statement fails only its own write (its savepoint); a deferred foreign key
        # fails the commit itself, and with it every write of the batch.
        async with db.writing() as session:
            await session.exec(text("PRAGMA foreign_keys=ON"))  # type: ignore[call-overload]
            child = (
                "CREATE TABLE child (id INTEGER PRIMARY KEY, note_id INTEGER"
                " REFERENCES note(id) DEFERRABLE INITIALLY DEFERRED)"
            )
            await session.exec(text(child))  # type: ignore[call-overload]

        async def orphan() -> None:
            async with db.writing() as session:
                await session.exec(text("INSERT INTO child (note_id) VALUES (999999)"))  # type: ignore[call-overload]
                await asyncio.sleep(0)

        results = await asyncio.gather(
            _write(db, "a"), orphan(), _write(db, "b"), return_exceptions=True
        )
        assert all(isinstance(r, BaseException) for r in results), results
        assert await _bodies(db) == {"before"}
        await _write(db, "after")  # the writer goes on
        assert await _bodies(db) == {"before", "after"}
    finally:
        await db.dispose()


def test_kill_9_under_the_benchmark_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """``bench.crash`` for 3 rounds: the real server driven through the relay cycle by 8
    clients of the benchmark's load generator, killed with SIGKILL at a random moment each
    round; every write it acknowledged (draft, submit, approve, read) is there after a restart,
    and the audit log verifies. ``make crash-test`` runs 25 rounds with 16 clients."""
    report = crash_test(tmp_path, rounds=3, clients=8, rng=random.Random(20261124))
    assert report["rounds"] == 3
    assert report["lost"] == []
    assert report["acknowledged_writes"] >= 20, report
    assert report["audit_verify"], report["audit_verify_output"]
