"""Alembic's environment for Shuttle: async engines, SQLModel's metadata, batch mode on SQLite.

Run by the application through ``shuttle.schema`` (which hands over its own connection in
``config.attributes["connection"]``) or by a developer with the ``alembic`` command, e.g.
``alembic -c shuttle/alembic.ini -x url=sqlite+aiosqlite:///var/shuttle.db upgrade head``.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import make_url, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import shuttle.models  # noqa: F401  (defines every table on SQLModel.metadata)
from shuttle.models import UTCDateTime

config = context.config
target_metadata = SQLModel.metadata

# The application configures its own logging; only the alembic command lets the ini do it.
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    """The URL to migrate: ``-x url=...``, the caller's, or the one the settings point to."""
    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get(
        "database_url"
    )
    if url:
        return str(url)
    from shuttle.settings import Settings  # only the alembic command gets here

    return Settings().effective_database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write our column types as plain SQLAlchemy ones, so a migration never imports app code."""
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        if isinstance(obj, AutoString):
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def configure(**options: Any) -> None:
    """Configure the migration context the same way online, offline and for autogenerate."""
    dialect = options["connection"].dialect.name if "connection" in options else None
    if dialect is None:
        dialect = make_url(options["url"]).get_backend_name()
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: autogenerate writes batch operations (which copy
        # the table); on PostgreSQL the same batch operations are plain ALTERs.
        render_as_batch=dialect == "sqlite",
        render_item=render_item,
        **options,
    )


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it (``alembic upgrade --sql``)."""
    configure(url=database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one (synchronous facade of an async) connection."""
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an async engine of our own, migrate through it, and close it."""
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Migrate on the caller's connection if it handed one over, else on our own."""
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
