"""Group commit on SQLite: writes queued behind the writer share one commit, and none of them
is acknowledged before that commit is durable.

* concurrent writes all land, each in its own savepoint: one that fails changes nothing and
  the others still commit;
* a commit that fails fails every write of its batch, and leaves nothing behind;
* kill -9 of the real server under concurrent writes, many times: every write it acknowledged
  is there after a restart.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from shuttle import accounts, cases
from shuttle.access import Actor
from shuttle.bootstrap import open_runtime
from shuttle.db import Database
from shuttle.settings import Settings
from tests.served import SHUTTLE, free_port, shuttle_env

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


async def _wait_until_up(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(600):
        try:
            async with http.get(f"{base}/healthz") as answer:
                if answer.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the server did not come up")


async def _participant_account(settings: Settings, email: str, password: str) -> None:
    """A participant with an account (they sign in with a password alone)."""
    rt = open_runtime(settings)
    try:
        lead = Actor(
            await accounts.add_user(
                rt, role="practitioner", email="lead@service.example", name="Lee", password=password
            ),
            "practitioner",
        )
        case = await cases.create_case(
            rt, lead, reference="CRASH-1", sensitive_complex=False,
            lead_practitioner_id=None, supervisor_id=None,
        )  # fmt: skip
        sam = await cases.add_participant(
            rt, lead, case["id"], role="harmed", display_name="Sam", shown_to_others_as="Sam"
        )
        await accounts.accept_invitation(
            rt, sam["invitation_token"], email=email, password=password
        )
    finally:
        await rt.db.dispose()


async def test_kill_9_loses_no_acknowledged_write(settings: Settings, tmp_path: Path) -> None:
    """The real server under 16 concurrent sign-ins of a participant (each a write: a session
    and its audit entry), killed with SIGKILL at a random moment, 5 times: every session it
    acknowledged still works after a restart, and the audit log still verifies."""
    env = {**shuttle_env(settings), "SHUTTLE_LOG_LEVEL": "ERROR"}
    email, password = "crash@people.example", "a long enough crash password"
    await _participant_account(settings, email, password)
    acknowledged: list[str] = []
    rng = random.Random(20261124)
    async with aiohttp.ClientSession() as http:
        for round_ in range(6):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with (tmp_path / f"server-{round_}.log").open("wb") as log:
                process = await asyncio.create_subprocess_exec(
                    SHUTTLE, "serve", "--port", str(port), env=env, stdout=log, stderr=log
                )
            try:
                await _wait_until_up(http, base)
                for token in acknowledged:  # everything acknowledged before every crash
                    headers = {"Authorization": f"Bearer {token}"}
                    async with http.get(f"{base}/api/v1/session", headers=headers) as answer:
                        assert answer.status == 200, f"an acknowledged session was lost: {token}"
                if round_ == 5:
                    break

                async def sign_in_forever(base: str = base) -> None:
                    body = {"email": email, "password": password}
                    while True:
                        try:
                            async with http.post(f"{base}/api/v1/session", json=body) as answer:
                                data = await answer.json()
                        except (aiohttp.ClientError, ValueError):
                            return
                        if answer.status == 200:
                            acknowledged.append(data["token"])

                writers = [asyncio.create_task(sign_in_forever()) for _ in range(16)]
                await asyncio.sleep(rng.uniform(0.5, 2.0))
            finally:
                os.kill(process.pid, signal.SIGKILL)
                await process.wait()
            await asyncio.gather(*writers, return_exceptions=True)
    assert len(acknowledged) >= 10, f"only {len(acknowledged)} writes were acknowledged"
    verified = await asyncio.to_thread(
        subprocess.run,
        [SHUTTLE, "audit", "verify"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
