"""Engines and transactions.

On SQLite every write goes through one writer connection, one transaction at a time, opened
with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes can fail with
SQLITE_BUSY_SNAPSHOT, which ``busy_timeout`` does not cure. Reads use their own connections,
which are made read-only so that no read path can ever write. WAL with ``synchronous=FULL``:
with NORMAL a committed write can vanish on power loss.

On PostgreSQL there is one pool; racing changes are settled by conditional updates.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession


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


class Database:
    """The service's database: a writer and readers on SQLite, one pool on PostgreSQL."""

    def __init__(self, url: str, *, reader_pool_size: int = 4) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.writer = create_async_engine(
                url, pool_size=1, max_overflow=0, hide_parameters=True
            )
            self.reader = create_async_engine(
                url, pool_size=reader_pool_size, max_overflow=0, hide_parameters=True
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
        if self.is_sqlite:
            if self._write_lock is None:
                self._write_lock = asyncio.Lock()
            async with self._write_lock, self._writer_sessions() as session, session.begin():
                yield session
        else:
            async with self._writer_sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read transaction with a consistent view; it can never write on SQLite."""
        async with self._reader_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every connection."""
        for engine in self.engines:
            await engine.dispose()
