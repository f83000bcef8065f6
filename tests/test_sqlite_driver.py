"""SQLite on the event loop's thread (shuttle/db.py's LoopSession for the service's sessions,
shuttle/sqlite_driver.py for the asyncio engines): statements run where they are called, but
what may wait (BEGIN for another process's lock, COMMIT for the disk) runs off the loop, so
the server keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from shuttle.db import Database

pytestmark = pytest.mark.backend("sqlite")


async def _exec(db: Database, sql: str, **params: Any) -> None:
    async with db.writing() as session:
        await session.run_sync(lambda s: s.connection().execute(text(sql), params))


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.reading() as session:
        rows = await session.run_sync(lambda s: s.connection().execute(text(sql)).all())
    return [tuple(row) for row in rows]


def _traced(engine: Engine | AsyncEngine) -> list[tuple[str, bool]]:
    """Every statement SQLite runs through ``engine``, and whether it ran on this (the
    loop's) thread."""
    seen: list[tuple[str, bool]] = []
    loop_thread = threading.get_ident()

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        raw = (
            dbapi_connection
            if isinstance(dbapi_connection, sqlite3.Connection)
            else dbapi_connection.driver_connection._conn
        )
        raw.set_trace_callback(
            lambda sql: seen.append((sql.split()[0].upper(), threading.get_ident() == loop_thread))
        )

    sync = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    event.listen(sync, "connect", on_connect)
    return seen


@pytest.mark.parametrize("group_commit", [True, False], ids=["group-commit", "alone"])
async def test_statements_run_on_the_loop_and_begin_and_commit_off_it(
    tmp_path: Path, group_commit: bool
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", group_commit=group_commit)
    seen = _traced(db._writer.engine)  # type: ignore[attr-defined]
    try:
        await _exec(db, "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        seen.clear()
        await _exec(db, "INSERT INTO note (body) VALUES (:b)", b="one")
        on_loop = {verb: where for verb, where in seen}
        assert on_loop == {
            "BEGIN": False, "SAVEPOINT": True, "INSERT": True, "RELEASE": True, "COMMIT": False,
        }, seen  # fmt: skip
    finally:
        await db.dispose()


async def test_the_asyncio_engines_driver_also_waits_off_the_loop(tmp_path: Path) -> None:
    """The asyncio engines (migrations, tools) use shuttle/sqlite_driver.py the same way."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    seen = _traced(db.writer)
    try:
        async with db.writer.begin() as connection:
            await connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY)"))
        seen.clear()
        async with db.writer.begin() as connection:
            await connection.execute(text("INSERT INTO note (id) VALUES (1)"))
        on_loop = {verb: where for verb, where in seen}
        assert on_loop == {"BEGIN": False, "INSERT": True, "COMMIT": False}, seen
    finally:
        await db.dispose()


async def test_waiting_for_another_process_lock_leaves_the_loop_serving(tmp_path: Path) -> None:
    """Another process holds the write lock for half a second: the loop goes on ticking while
    our write waits for it, and the write then lands."""
    path = tmp_path / "d.db"
    db = Database(f"sqlite+aiosqlite:///{path}", group_commit=False)
    try:
        await _exec(db, "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(0.5, other.rollback)
        released.start()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(tick())
        try:
            await _exec(db, "INSERT INTO note (body) VALUES ('waited')")
        finally:
            ticking.cancel()
            released.join()
            other.close()
        assert ticks >= 20, f"the loop ticked {ticks} times in half a second of waiting"
        assert await _rows(db, "SELECT body FROM note") == [("waited",)]
    finally:
        await db.dispose()


@pytest.mark.parametrize("on_loop", [True, False], ids=["on-loop", "aiosqlite"])
async def test_both_drivers_give_the_same_answers_and_errors(tmp_path: Path, on_loop: bool) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}", on_loop=on_loop)
    try:
        await _exec(db, "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        await _exec(db, "INSERT INTO note (body) VALUES ('a'), ('b')")
        with pytest.raises(IntegrityError):
            await _exec(db, "INSERT INTO note (body) VALUES ('c'), ('a')")
        assert await _rows(db, "SELECT id, body FROM note ORDER BY id") == [(1, "a"), (2, "b")]
        with pytest.raises(Exception, match=r"readonly|read-only"):
            await _rows(db, "INSERT INTO note (body) VALUES ('x') RETURNING id")
    finally:
        await db.dispose()


async def test_a_write_cancelled_while_it_waits_leaves_the_connection_whole(
    tmp_path: Path,
) -> None:
    """A request cancelled while its BEGIN waits in the other thread (a timeout, a client
    gone): the connection is rolled back and closed only after that BEGIN ends (two threads
    in one sqlite3 connection crash the process), and the next write goes through."""
    path = tmp_path / "d.db"
    db = Database(f"sqlite+aiosqlite:///{path}", group_commit=False)
    try:
        await _exec(db, "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        released = threading.Timer(0.5, other.rollback)
        released.start()
        started = time.monotonic()
        waiting = asyncio.create_task(_exec(db, "INSERT INTO note (body) VALUES ('gone')"))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # The cancelled write let go of the connection only once its BEGIN had ended.
        assert time.monotonic() - started >= 0.45
        released.join()
        other.close()
        await _exec(db, "INSERT INTO note (body) VALUES ('next')")
        assert await _rows(db, "SELECT body FROM note") == [("next",)]
    finally:
        await db.dispose()
