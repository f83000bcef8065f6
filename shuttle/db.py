"""Engines and transactions.

On SQLite every write goes through one writer connection, one transaction at a time, opened
with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY_SNAPSHOT, which ``busy_timeout`` does not cure. Reads use their own connections,
which are made read-only so that no read path can ever write. WAL with ``synchronous=FULL``:
with NORMAL a committed write can vanish on power loss.

Group commit (SQLite): a commit costs an fsync, so writes that queue up behind the writer share
one. The first write of a batch opens the transaction; each write runs inside its own SAVEPOINT
(a write that fails rolls back to it and changes nothing; the batch goes on); the write that
finds nobody waiting behind it (or fills the batch) commits, and only then is any write of the
batch acknowledged: no write returns before its data is durable, and a failed commit fails
every write of the batch.

On PostgreSQL there is one pool; racing changes are settled by conditional updates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from shuttle.sqlite_driver import creator


def _sqlite_pragmas(*, read_only: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own handling of
        # transactions would otherwise defer it and hide the IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return on_connect


# Writes committed together at most (a bound on how long the first of them waits).
MAX_BATCH = 64


class _Batch:
    """Writes sharing one SQLite transaction, and the commit they all wait for."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members = 0


class Database:
    """The service's database: a writer and readers on SQLite, one pool on PostgreSQL."""

    def __init__(
        self,
        url: str,
        *,
        reader_pool_size: int = 4,
        group_commit: bool = True,
        on_loop: bool = True,
    ) -> None:
        self.url = url
        self.group_commit = group_commit
        self._batch: _Batch | None = None
        self._waiting = 0
        self._orphan: asyncio.Future[None] | None = None
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            # On the loop's thread (shuttle/sqlite_driver.py), or aiosqlite's thread per call.
            driver = {"async_creator": creator(make_url(url).database or "")} if on_loop else {}
            self.writer = create_async_engine(
                url, pool_size=1, max_overflow=0, hide_parameters=True, **driver
            )
            self.reader = create_async_engine(
                url, pool_size=reader_pool_size, max_overflow=0, hide_parameters=True, **driver
            )
            event.listen(self.writer.sync_engine, "connect", _sqlite_pragmas(read_only=False))
            event.listen(self.reader.sync_engine, "connect", _sqlite_pragmas(read_only=True))
            event.listen(
                self.writer.sync_engine,
                "begin",
                lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"),
            )
            event.listen(
                self.reader.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN")
            )
        else:
            self.writer = create_async_engine(
                url, pool_size=10, max_overflow=10, hide_parameters=True
            )
            self.reader = self.writer
        self._write_lock: asyncio.Lock | None = None
        self._writer_sessions = async_sessionmaker(
            self.writer, class_=AsyncSession, expire_on_commit=False
        )
        self._reader_sessions = async_sessionmaker(
            self.reader, class_=AsyncSession, expire_on_commit=False
        )

    @property
    def engines(self) -> list[AsyncEngine]:
        """Every distinct engine, for disposal."""
        return [self.writer] if self.reader is self.writer else [self.writer, self.reader]

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on success, rolled back on any exception."""
        if self.is_sqlite and self.group_commit:
            async with self._batched() as session:
                yield session
        elif self.is_sqlite:
            async with self._lock(), self._writer_sessions() as session, session.begin():
                yield session
        else:
            async with self._writer_sessions() as session, session.begin():
                yield session

    def _lock(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    @asynccontextmanager
    async def _batched(self) -> AsyncIterator[AsyncSession]:
        """One write in the current batch (see the module's docstring)."""
        lock = self._lock()
        self._waiting += 1
        try:
            await lock.acquire()
        except BaseException:  # cancelled while waiting: the batch must not wait for us
            self._waiting -= 1
            if self._waiting == 0 and self._batch is not None and not lock.locked():
                self._orphan = asyncio.ensure_future(self._finish_alone())
            raise
        self._waiting -= 1
        failed: BaseException | None = None
        try:
            if self._batch is None:
                connection = await self.writer.connect()
                await connection.begin()  # BEGIN IMMEDIATE (the "begin" event)
                self._batch = _Batch(connection)
            batch = self._batch
            try:
                async with (
                    AsyncSession(
                        bind=batch.connection,
                        join_transaction_mode="create_savepoint",
                        expire_on_commit=False,
                    ) as session,
                    session.begin(),
                ):
                    yield session
                batch.members += 1
            except BaseException as exc:  # rolled back to its savepoint; the batch goes on
                failed = exc
            if self._waiting == 0 or batch.members >= MAX_BATCH:
                await self._finish(batch)
        finally:
            lock.release()
        if failed is not None:
            raise failed
        await asyncio.shield(batch.committed)

    async def _finish_alone(self) -> None:
        """Commit a batch whose last expected member gave up waiting."""
        async with self._lock():
            if self._batch is not None and self._waiting == 0:
                await self._finish(self._batch)

    async def _finish(self, batch: _Batch) -> None:
        """Commit the batch (or roll back an empty one) and tell every write of it."""
        self._batch = None
        try:
            if batch.members:
                await batch.connection.commit()
            else:
                await batch.connection.rollback()
        except BaseException as exc:
            with contextlib.suppress(Exception):  # SQLite keeps a transaction whose commit failed
                await batch.connection.rollback()
            batch.committed.set_exception(exc)
            batch.committed.exception()  # retrieved: each write of the batch re-raises it
            raise
        finally:
            await batch.connection.close()
        batch.committed.set_result(None)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read transaction with a consistent view; it can never write on SQLite."""
        async with self._reader_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every connection."""
        for engine in self.engines:
            await engine.dispose()
