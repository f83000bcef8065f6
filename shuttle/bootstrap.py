"""Bring a data directory and database to a working state: keys, schema, first rows."""

from __future__ import annotations

import asyncio

from shuttle import audit
from shuttle.crypto import KeyRing, create_key_files
from shuttle.db import Database
from shuttle.live import LocalNotifier, Notifier, PostgresNotifier
from shuttle.models import DataKey
from shuttle.policies import load_policies
from shuttle.runtime import SERVICE_SLOT, CommitObserver, Runtime
from shuttle.schema import upgrade_to_head
from shuttle.settings import Settings


async def initialise(settings: Settings, *, migrate: bool = True) -> bool:
    """Create key files, migrate the database to head, and add the first rows if missing.

    Safe to run again: it never overwrites a key and never repeats a first row.
    Returns True if it created anything.
    """
    created = create_key_files(settings.data_dir)
    if migrate:
        await asyncio.to_thread(upgrade_to_head, settings.effective_database_url)
    runtime = open_runtime(settings)
    try:
        async with runtime.write() as tx:
            if await tx.session.get(DataKey, SERVICE_SLOT) is None:
                await tx.new_slot(SERVICE_SLOT)
                created = True
            created = await audit.ensure_head(tx) or created
    finally:
        await runtime.close()
    return created


def open_runtime(settings: Settings, observer: CommitObserver | None = None) -> Runtime:
    """The runtime for ``settings``: opens the database lazily, loads keys and policies now.

    Live notices stay in the process on SQLite (one process serves it) and go through
    PostgreSQL ``LISTEN``/``NOTIFY`` on PostgreSQL, where several processes may serve.
    """
    url = settings.effective_database_url
    notifier: Notifier = LocalNotifier() if settings.is_sqlite else PostgresNotifier(url)
    return Runtime(
        settings=settings,
        db=Database(
            url,
            reader_pool_size=settings.sqlite_pool_size,
            group_commit=settings.sqlite_group_commit,
            on_loop=settings.sqlite_on_loop,
        ),
        keys=KeyRing.load(settings.data_dir),
        policies=load_policies(settings.policies_dir),
        notifier=notifier,
        observer=observer,
    )
