"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives SQLite through aiosqlite, which runs every
call (making a cursor, executing, fetching, closing) on a thread of its own and hands each
result back to the event loop: four thread hand-offs per statement, twenty to forty statements
per request. Profiling ``make bench`` showed the server spending more time in those hand-offs
than in SQLite itself, while SQLite answers most statements in microseconds from its page
cache.

This module gives the same dialect a connection with aiosqlite's interface whose calls run
SQLite directly on the calling thread, except the ones that can wait on the disk or on another
process: ``COMMIT`` (an fsync with ``synchronous=FULL``) and ``BEGIN`` (which may wait for
another process's write lock, up to ``busy_timeout``) run in the default executor, so the event
loop keeps serving while they wait. Nothing else changes: the same SQL, the same transactions,
the same durability.

Use it with ``create_async_engine("sqlite+aiosqlite:///PATH", async_creator=creator(PATH))``.
The service's own sessions go one step further (``shuttle.db.LoopSession``: synchronous
SQLAlchemy on the loop's thread, no greenlet per call) and use ``run_off_loop`` from here for
the same two statements; this driver serves the asyncio engines (migrations, tools, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

# Statements that may wait (for the disk or for another process's lock): run off the loop.
_MAY_WAIT = ("BEGIN", "COMMIT", "END", "VACUUM", "PRAGMA WAL_CHECKPOINT")


def _may_wait(sql: str) -> bool:
    return sql.lstrip()[:22].upper().startswith(_MAY_WAIT)


async def until_done(running: asyncio.Future[Any]) -> Any:
    """Await a call running in another thread; if the awaiting task is cancelled, still wait
    for the call to end before the cancellation goes on.

    Nothing else may touch a connection while a call runs on it in another thread: two
    threads in one sqlite3 connection crash the process. The pool lends a connection to one
    task at a time, and that task is awaiting this call; cancelled (a timeout, a client gone),
    it must not go on to roll back or close before the call has ended."""
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        while not running.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({running})
        raise


async def run_off_loop(function: Callable[..., Any], *arguments: Any) -> Any:
    """Run a call that may wait (an fsync, another process's lock) in the default executor,
    so the loop keeps serving; see ``until_done``."""
    return await until_done(asyncio.get_running_loop().run_in_executor(None, function, *arguments))


class Cursor:
    """aiosqlite's cursor interface over a sqlite3 cursor, run where it is called."""

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        """Execute one statement (off the loop if it may wait)."""
        arguments = (sql,) if parameters is None else (sql, parameters)
        if _may_wait(sql):
            await self._connection.off_loop(self._cursor.execute, *arguments)
        else:
            self._cursor.execute(*arguments)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        """Execute one statement for each set of parameters."""
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Inline:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy sets the isolation level by
    putting ``(future, function)`` on it; here the function simply runs."""

    @staticmethod
    def put_nowait(work: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = work
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class Connection:
    """aiosqlite's connection interface over a sqlite3 connection (see the module's doc)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _Inline()
        self._running: asyncio.Future[Any] | None = None

    async def off_loop(self, function: Callable[..., Any], *arguments: Any) -> Any:
        """Run a call that may wait in the default executor (``run_off_loop``); a close from
        elsewhere meanwhile waits for it to end (``_close``)."""
        running = asyncio.get_running_loop().run_in_executor(None, function, *arguments)
        self._running = running
        try:
            return await until_done(running)
        finally:
            self._running = None

    def _close(self) -> None:
        """Close now, or as soon as a call running in the other thread has ended."""
        if self._connection is None:
            return
        self._connection = None
        running = self._running
        if running is not None and not running.done():
            running.add_done_callback(lambda _: self._conn.close())
        else:
            self._conn.close()

    def cursor(self) -> Cursor:
        return Cursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await self.off_loop(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._close()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate), or once the running call has ended."""
        self._close()

    async def create_function(self, *arguments: Any, **options: Any) -> None:
        self._conn.create_function(*arguments, **options)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction


def creator(path: str, **options: Any) -> Callable[[], Awaitable[Connection]]:
    """The ``async_creator`` for ``create_async_engine``: a new connection to ``path``."""

    async def connect() -> Connection:
        return Connection(sqlite3.connect(path, check_same_thread=False, **options))

    return connect


__all__: Sequence[str] = ("Connection", "Cursor", "creator", "run_off_loop", "until_done")
