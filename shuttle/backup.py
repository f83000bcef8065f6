"""Backups of the database: SQLite's online backup, or pg_dump / pg_restore for PostgreSQL.

A backup holds ciphertext and *wrapped* data keys only; the key files are not in it. It can be
read only with the master key it was taken under, and a retention run that destroys a case
rotates the master key and erases the old one: so a backup taken before a destruction can no
longer be read at all, and the destroyed case cannot come back from it (docs/records.md).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url
from sqlmodel import select

from shuttle.crypto import DecryptionError
from shuttle.models import DataKey
from shuttle.runtime import Runtime
from shuttle.settings import Settings


class BackupError(RuntimeError):
    """pg_dump or pg_restore failed, or the file is not a backup."""


def _sqlite_path(settings: Settings) -> str:
    database = make_url(settings.effective_database_url).database
    assert database
    return database


def _libpq(settings: Settings) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    url = make_url(settings.effective_database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _copy_sqlite(source: str, target: str) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def _command(*args: str, env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{args[0]} failed: {err.decode(errors='replace').strip()}")


async def backup(settings: Settings, target: Path) -> None:
    """Write a consistent copy of the live database to ``target``, while it serves."""
    if await asyncio.to_thread(target.exists):
        raise BackupError(f"{target} exists already; choose a new file")
    if settings.is_sqlite:
        await asyncio.to_thread(_copy_sqlite, _sqlite_path(settings), str(target))
        return
    url, env = _libpq(settings)
    await _command("pg_dump", "--format=custom", f"--file={target}", url, env=env)


async def restore(settings: Settings, source: Path) -> None:
    """Replace the database's contents with the backup's. Stop the service first."""
    if not await asyncio.to_thread(source.is_file):
        raise BackupError(f"{source} is not a file")
    if settings.is_sqlite:
        await asyncio.to_thread(_copy_sqlite, str(source), _sqlite_path(settings))
        return
    url, env = _libpq(settings)
    await _command(
        "pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
        f"--dbname={url}", str(source), env=env,
    )  # fmt: skip


@dataclass
class Readability:
    """How many data keys the available master keys can unwrap, and under which keys the rest."""

    readable: int
    unreadable: Counter[str]


async def readability(rt: Runtime) -> Readability:
    """Try every data key with the master keys on this machine."""
    readable, unreadable = 0, Counter[str]()
    async with rt.read() as tx:
        for row in (await tx.session.exec(select(DataKey))).all():
            try:
                rt.keys.cipher(row.id, row.wrapped, row.master_key_id)
            except DecryptionError:
                unreadable[row.master_key_id] += 1
            else:
                readable += 1
    return Readability(readable, unreadable)
