"""The migrations build exactly the models' schema, on whichever backend the run uses."""

from __future__ import annotations

import ast
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import shuttle.models  # defines every table on SQLModel.metadata
from shuttle.bootstrap import initialise
from shuttle.schema import (
    ALEMBIC_INI,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from shuttle.settings import Settings

VERSIONS = Path(shuttle.models.__file__).with_name("migrations") / "versions"
MIGRATION_IMPORTS = {"__future__", "collections", "typing", "alembic", "sqlalchemy"}


def _differences_from_models(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str, look: Any) -> Any:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


async def _upgrade(url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, url)


async def _alembic(url: str, *arguments: str, cwd: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        "-c",
        str(ALEMBIC_INI),
        "-x",
        f"url={url}",
        *arguments,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


async def test_upgrade_head_on_a_fresh_database_matches_the_models(empty_database_url: str) -> None:
    """`upgrade head` on an empty database leaves no difference from the models."""
    assert await asyncio.to_thread(current_revision, empty_database_url) is None
    await _upgrade(empty_database_url)
    assert await _inspect(empty_database_url, _differences_from_models) == []
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()


async def test_upgrade_twice_is_harmless(empty_database_url: str) -> None:
    """A second upgrade to head changes nothing."""
    await _upgrade(empty_database_url)
    await _upgrade(empty_database_url)
    assert await _inspect(empty_database_url, _differences_from_models) == []
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()


async def test_upgrade_from_a_thread_with_a_running_loop(empty_database_url: str) -> None:
    """Called straight from async code, the upgrade still runs (in a thread of its own)."""
    upgrade_to_head(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


async def test_alembic_command_downgrades_to_nothing_and_back(
    empty_database_url: str, tmp_path: Path
) -> None:
    """The packaged alembic.ini works from any folder; downgrade base drops every table."""
    await _alembic(empty_database_url, "upgrade", "head", cwd=tmp_path)
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()
    await _alembic(empty_database_url, "downgrade", "base", cwd=tmp_path)
    assert await _inspect(empty_database_url, _table_names) == {"alembic_version"}
    assert await asyncio.to_thread(current_revision, empty_database_url) is None
    await _upgrade(empty_database_url)
    assert await _inspect(empty_database_url, _differences_from_models) == []


async def test_each_test_database_starts_at_head(database_url: str) -> None:
    """The per-test database (a clone of the session's template) is migrated to head."""
    assert await asyncio.to_thread(current_revision, database_url) == head_revision()
    assert await _inspect(database_url, _differences_from_models) == []


async def test_initialise_again_with_migration_creates_nothing(settings: Settings) -> None:
    """Initialising an initialised installation, migrations included, is harmless."""
    assert await initialise(settings) is False
    assert await asyncio.to_thread(current_revision, settings.effective_database_url) == (
        head_revision()
    )


def test_migrations_do_not_import_application_code() -> None:
    """A migration is frozen history: it may use Alembic and SQLAlchemy, never shuttle's code."""
    migrations = sorted(VERSIONS.glob("*.py"))
    assert migrations
    for path in migrations:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] in MIGRATION_IMPORTS, f"{path.name} imports {module}"


def test_migrations_form_one_line() -> None:
    """There is exactly one head, and it is what head_revision reports."""
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


async def test_concurrent_upgrades_in_one_process(empty_database_url: str) -> None:
    """Upgrades started at once in one process run one after the other, all successfully."""
    await asyncio.gather(*(_upgrade(empty_database_url) for _ in range(3)))
    assert await _inspect(empty_database_url, _differences_from_models) == []
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()


async def test_concurrent_upgrades_from_several_processes(empty_database_url: str) -> None:
    """Processes starting at once may all migrate: one does it, the others wait and find it done."""
    # Each process waits, after its imports, for the same moment, so that they really race.
    script = (
        "import sys, time\n"
        "from shuttle.schema import upgrade_to_head\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"
        "upgrade_to_head(sys.argv[1])\n"
    )
    start = time.time() + 2
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            empty_database_url,
            str(start),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    for process in processes:
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()
    assert await _inspect(empty_database_url, _differences_from_models) == []
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()
