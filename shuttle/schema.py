"""The database schema's version: migrate to the newest revision, and tell which one is in use.

Alembic and its migrations ship inside the package (``shuttle/alembic.ini``,
``shuttle/migrations``), so this works whatever the working directory. Each function here is
synchronous and runs its database work in an event loop of its own: call it from a thread
(``asyncio.to_thread``) when an event loop is running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url, pool
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import create_async_engine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
MIGRATION_LOCK_ID = 0x5348_5554  # "SHUT": the advisory lock held while migrating PostgreSQL

# Alembic keeps the running migration's context in module globals, so two migrations in one
# process at once would run on each other's connections: run them one at a time.
_alembic_lock = threading.Lock()

T = TypeVar("T")


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's configuration for the packaged migrations; it leaves logging alone."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["configure_logger"] = False
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def head_revision() -> str:
    """The newest revision among the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are packaged with shuttle")
    return head


def upgrade_to_head(database_url: str) -> None:
    """Migrate the database to the newest revision; a SQLite file and its folder are created."""
    _make_sqlite_folder(database_url)

    def upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Several app processes may start at once: one migrates, the others wait for its
            # commit and then find nothing to do. The lock ends with the transaction.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    with _alembic_lock:
        _run(database_url, upgrade, write=True)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None if it was never migrated (or does not exist)."""
    sqlite_path = _sqlite_path(database_url)
    if sqlite_path is not None and not sqlite_path.exists():
        return None

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return _run(database_url, read)


def _sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and for in-memory SQLite."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.database.startswith("file:"):  # a URI filename: leave it to SQLite
        return None
    return Path(url.database)


def _make_sqlite_folder(database_url: str) -> None:
    """Create the folder a SQLite database file is to live in."""
    path = _sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _run(database_url: str, work: Callable[[Connection], T], *, write: bool = False) -> T:
    """Run ``work`` in one transaction on a fresh connection, in an event loop of its own."""

    async def main() -> T:
        engine = create_async_engine(database_url, poolclass=pool.NullPool)
        if engine.dialect.name == "sqlite":
            _sqlite_transactions(engine.sync_engine, write=write)
        try:
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    # Called on a thread whose loop is running: asyncio.run would refuse, so use another thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shuttle-schema") as executor:
        return executor.submit(lambda: asyncio.run(main())).result()


def _sqlite_transactions(engine: Engine, *, write: bool) -> None:
    """Make SQLite run the work in one real transaction, taking the write lock first if writing.

    Python's sqlite3 would otherwise run DDL outside any transaction: a failed migration would
    be left half done, and two processes migrating at once would collide instead of one
    waiting for the other (which then finds nothing left to do).
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
