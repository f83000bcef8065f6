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

On SQLite the sessions are SQLAlchemy's synchronous ones behind ``LoopSession``, an
``AsyncSession`` whose calls run SQLite directly on the event loop's thread (SQLite answers
from its page cache in microseconds): no greenlet and no thread hand-off per statement. Only
what may wait runs in the default executor: the writer's ``BEGIN IMMEDIATE`` (another
process's write lock, up to ``busy_timeout``) and ``COMMIT`` (the fsync). A reader's deferred
``BEGIN`` takes no lock and WAL readers never wait for the writer, so reads stay on the loop.
``sqlite_on_loop=false`` goes back to asyncio sessions over aiosqlite's thread.

On PostgreSQL there is one pool; racing changes are settled by conditional updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncResult,
    AsyncScalarResult,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from shuttle.sqlite_driver import creator, run_off_loop

T = TypeVar("T")


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


class _LoopConnection:
    """What is used of an ``AsyncConnection`` (``LoopSession.connection()``), over the
    synchronous connection of a session on the loop's thread."""

    def __init__(self, sync_connection: Connection) -> None:
        self.sync_connection = sync_connection

    async def execute(self, statement: Any, parameters: Any = None, **options: Any) -> Any:
        return self.sync_connection.execute(statement, parameters, **options)

    async def exec_driver_sql(self, sql: str, parameters: Any = None, **options: Any) -> Any:
        return self.sync_connection.exec_driver_sql(sql, parameters, **options)

    async def scalar(self, statement: Any, parameters: Any = None, **options: Any) -> Any:
        return self.sync_connection.scalar(statement, parameters, **options)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **options: Any) -> T:
        return fn(self.sync_connection, *args, **options)


class LoopSession(AsyncSession):
    """An ``AsyncSession`` over a synchronous session on SQLite, run on the loop's thread.

    The service's code awaits the same methods either way; here they call the synchronous
    session directly instead of through a greenlet. Anything not overridden still works
    through ``AsyncSession``'s own greenlet path.
    """

    def __init__(self, sync_session: Session) -> None:
        super().__init__()
        self.sync_session = self._proxied = sync_session
        self._held: list[object] = []

    async def exec(self, statement: Any, **options: Any) -> Any:
        return self.sync_session.exec(statement, **options)

    async def get(self, entity: Any, ident: Any, **options: Any) -> Any:
        found = self.sync_session.get(entity, ident, **options)
        if found is not None:
            # The identity map holds rows weakly: a row looked up, used and dropped is read
            # again by the next lookup in the same transaction. Held until the session ends.
            self._held.append(found)
        return found

    async def flush(self, objects: Any = None) -> None:
        self.sync_session.flush(objects)

    async def delete(self, instance: object) -> None:
        self.sync_session.delete(instance)

    async def refresh(self, instance: object, *args: Any, **options: Any) -> None:
        self.sync_session.refresh(instance, *args, **options)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **options: Any) -> T:
        return fn(self.sync_session, *args, **options)

    async def connection(self, **options: Any) -> Any:  # type: ignore[override]
        return _LoopConnection(self.sync_session.connection(**options))

    async def stream_scalars(  # type: ignore[override]
        self, statement: Any, **options: Any
    ) -> AsyncScalarResult[Any]:
        return AsyncResult(self.sync_session.execute(statement, **options)).scalars()


# Writes committed together at most (a bound on how long the first of them waits).
MAX_BATCH = 64


class _Writer(Protocol):
    """How a batch's connection is opened, ended, and lent to one write's session."""

    async def open(self) -> Any:
        """A connection in a new write transaction (``BEGIN IMMEDIATE`` on SQLite)."""

    def session(self, connection: Any) -> Any:
        """An async context manager: one write's session, in a savepoint of the batch."""

    async def commit(self, connection: Any) -> None:
        """Commit (and wait for the disk)."""

    async def rollback(self, connection: Any) -> None:
        """Roll back."""

    async def close(self, connection: Any) -> None:
        """Give the connection back to its pool."""


class _OnLoop:
    """The writer on the loop's thread: synchronous SQLAlchemy, waits in the executor."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def open(self) -> Connection:
        connection = self.engine.connect()
        try:
            await run_off_loop(connection.begin)  # BEGIN IMMEDIATE (the "begin" event)
        except BaseException:
            connection.close()
            raise
        return connection

    @asynccontextmanager
    async def session(self, connection: Connection) -> AsyncIterator[AsyncSession]:
        with (
            Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as sync,
            sync.begin(),
        ):
            yield LoopSession(sync)

    async def commit(self, connection: Connection) -> None:
        await run_off_loop(connection.commit)

    async def rollback(self, connection: Connection) -> None:
        connection.rollback()

    async def close(self, connection: Connection) -> None:
        connection.close()


class _Asyncio:
    """The writer through SQLAlchemy's asyncio engine (aiosqlite's thread)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def open(self) -> AsyncConnection:
        connection = await self.engine.connect()
        await connection.begin()  # BEGIN IMMEDIATE (the "begin" event)
        return connection

    @asynccontextmanager
    async def session(self, connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
        async with (
            AsyncSession(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as session,
            session.begin(),
        ):
            yield session

    async def commit(self, connection: AsyncConnection) -> None:
        await connection.commit()

    async def rollback(self, connection: AsyncConnection) -> None:
        await connection.rollback()

    async def close(self, connection: AsyncConnection) -> None:
        await connection.close()


class _Batch:
    """Writes sharing one SQLite transaction, and the commit they all wait for."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.members = 0


def _sqlite_file(path: str) -> Callable[[], sqlite3.Connection]:
    # Any thread may use it, one at a time: BEGIN and COMMIT run in the executor.
    return lambda: sqlite3.connect(path, check_same_thread=False)


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
        self._loop_reader: Engine | None = None
        self._loop_engines: list[Engine] = []
        if self.is_sqlite:
            path = make_url(url).database or ""
            # The asyncio engines serve migrations, tools and tests (and the sessions, with
            # on_loop false); on the loop's thread through shuttle/sqlite_driver.py.
            driver = {"async_creator": creator(path)} if on_loop else {}
            self.writer = create_async_engine(
                url, pool_size=1, max_overflow=0, hide_parameters=True, **driver
            )
            self.reader = create_async_engine(
                url, pool_size=reader_pool_size, max_overflow=0, hide_parameters=True, **driver
            )
            _sqlite_events(self.writer.sync_engine, read_only=False)
            _sqlite_events(self.reader.sync_engine, read_only=True)
            self._writer: _Writer = _Asyncio(self.writer)
            if on_loop:
                # Never more than one writer connection at a time (the write lock); readers
                # beyond the pool's size get a connection of their own rather than wait,
                # for waiting here would block the loop.
                loop_writer = create_engine(
                    "sqlite://", creator=_sqlite_file(path), poolclass=QueuePool,
                    pool_size=1, max_overflow=-1, hide_parameters=True,
                )  # fmt: skip
                self._loop_reader = create_engine(
                    "sqlite://", creator=_sqlite_file(path), poolclass=QueuePool,
                    pool_size=reader_pool_size, max_overflow=-1, hide_parameters=True,
                )  # fmt: skip
                _sqlite_events(loop_writer, read_only=False)
                _sqlite_events(self._loop_reader, read_only=True)
                self._loop_engines = [loop_writer, self._loop_reader]
                self._writer = _OnLoop(loop_writer)
        else:
            self.writer = create_async_engine(
                url, pool_size=10, max_overflow=10, hide_parameters=True
            )
            self.reader = self.writer
            self._writer = _Asyncio(self.writer)
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
            async with self._batched(MAX_BATCH if self.group_commit else 1) as session:
                yield session
        else:
            async with self._writer_sessions() as session, session.begin():
                yield session

    def _lock(self) -> asyncio.Lock:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return self._write_lock

    @asynccontextmanager
    async def _batched(self, most: int) -> AsyncIterator[AsyncSession]:
        """One write in the current batch of at most ``most`` (see the module's docstring)."""
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
                self._batch = _Batch(await self._writer.open())
            batch = self._batch
            try:
                async with self._writer.session(batch.connection) as session:
                    yield session
                batch.members += 1
            except BaseException as exc:  # rolled back to its savepoint; the batch goes on
                failed = exc
            if self._waiting == 0 or batch.members >= most:
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
                await self._writer.commit(batch.connection)
            else:
                await self._writer.rollback(batch.connection)
        except BaseException as exc:
            with contextlib.suppress(Exception):  # SQLite keeps a transaction whose commit failed
                await self._writer.rollback(batch.connection)
            batch.committed.set_exception(exc)
            batch.committed.exception()  # retrieved: each write of the batch re-raises it
            raise
        finally:
            await self._writer.close(batch.connection)
        batch.committed.set_result(None)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A read transaction with a consistent view; it can never write on SQLite."""
        if self._loop_reader is not None:
            with Session(self._loop_reader, expire_on_commit=False) as sync, sync.begin():
                yield LoopSession(sync)
            return
        async with self._reader_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        """Close every connection."""
        for engine in self.engines:
            await engine.dispose()
        for loop_engine in self._loop_engines:
            loop_engine.dispose()


def _sqlite_events(engine: Engine, *, read_only: bool) -> None:
    """The pragmas on every new connection, and BEGIN IMMEDIATE for the writer."""
    event.listen(engine, "connect", _sqlite_pragmas(read_only=read_only))
    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
