"""Fixtures every test uses: a database of its own, settings, a runtime, an HTTP client.

Every test gets a fresh database, cloned from a template migrated once per session:

* SQLite (the default): the template is a file in a pytest temporary folder; each test gets a
  copy of it at ``tmp_path/"var"/"shuttle.db"``.
* PostgreSQL, when ``SHUTTLE_TEST_DATABASE_URL`` is set (for example
  ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``): the URL's database is used only as
  the maintenance database through which ``shuttle_tpl_<random>`` (the template) and one
  ``shuttle_t_<random>`` per test (``CREATE DATABASE ... TEMPLATE``) are made and dropped.

Nothing from the developer's own ``SHUTTLE_*`` environment reaches a test: those variables are
removed for the session (but ``SHUTTLE_TEST_*``, which choose the backend), and the settings
are built with every field given explicitly. A test that needs other settings makes them with
``settings.model_copy(update={...})`` or :func:`make_settings`.

Passwords are hashed with Argon2id at its smallest cost in the test process (see
``cheap_password_hashing``), but in tests/test_passwords.py, which checks the production cost.
"""

from __future__ import annotations

import asyncio
import os
import queue
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import asyncpg
import hypothesis
import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application, Request
from pytest_aiohttp import AiohttpClient
from sqlalchemy import make_url

from shuttle import passwords
from shuttle.bootstrap import initialise, open_runtime
from shuttle.runtime import Runtime
from shuttle.schema import upgrade_to_head
from shuttle.settings import Settings

# No Hypothesis deadlines: speed is measured in `make bench`, never by a test, and a loaded
# 2-core machine made a 200 ms deadline fail a password check that took 252 ms.
hypothesis.settings.register_profile("shuttle", deadline=None)
hypothesis.settings.load_profile("shuttle")

Backend = Literal["sqlite", "postgresql"]
TEST_DATABASE_URL_VARIABLE = "SHUTTLE_TEST_DATABASE_URL"
T = TypeVar("T")


def postgres_url() -> str | None:
    """The PostgreSQL server to test against, or None to test on SQLite."""
    return os.environ.get(TEST_DATABASE_URL_VARIABLE) or None


def current_backend() -> Backend:
    """The backend this run tests: "sqlite", or "postgresql" when a test URL is set."""
    url = postgres_url()
    if url is None:
        return "sqlite"
    backend = make_url(url).get_backend_name()
    if backend != "postgresql":
        raise pytest.UsageError(f"{TEST_DATABASE_URL_VARIABLE} must be a PostgreSQL URL")
    return "postgresql"


def make_settings(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    """Settings for a test, every field given explicitly so no environment variable counts."""
    values = {
        name: field.get_default(call_default_factory=True)
        for name, field in Settings.model_fields.items()
    }
    values.update(environment="test", data_dir=data_dir, database_url=database_url)
    values.update(overrides)
    return Settings(**values)


_environment = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    """Hide the developer's own SHUTTLE_* variables; register the ``backend`` marker."""
    # Removed before any test module is imported, and so from every subprocess a test starts.
    for name in list(os.environ):
        if name.startswith("SHUTTLE_") and not name.startswith("SHUTTLE_TEST_"):
            _environment.delenv(name)
    config.addinivalue_line(
        "markers",
        "production_password_hashing: hash passwords at the production Argon2id cost "
        "(other tests hash them at the smallest cost)",
    )
    config.addinivalue_line(
        "markers",
        "backend(name): run this test only when the run's backend is name "
        "('sqlite' or 'postgresql'); skipped on the other",
    )


# scripts/test-all runs each backend's suite as two processes side by side: the long tests
# (the browser journeys, which mostly wait for chromium and a served process, and the stateful
# leak test) with SHUTTLE_TEST_PART=long, and all the others with SHUTTLE_TEST_PART=rest.
TEST_PART_VARIABLE = "SHUTTLE_TEST_PART"
LONG_TESTS = ("browser", "test_leaks_stateful.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With SHUTTLE_TEST_PART set, run only that part of the suite (the other is deselected,
    however the tests were named on the command line)."""
    part = os.environ.get(TEST_PART_VARIABLE)
    if not part:
        return
    if part not in ("long", "rest"):
        raise pytest.UsageError(f"{TEST_PART_VARIABLE} must be 'long' or 'rest', not {part!r}")
    tests = Path(__file__).parent
    chosen, other = [], []
    for item in items:
        path = item.path
        is_long = path.is_relative_to(tests) and path.relative_to(tests).parts[0] in LONG_TESTS
        (chosen if (part == "long") == is_long else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = chosen


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give the environment back as it was."""
    _environment.undo()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test marked for the other backend."""
    marker = item.get_closest_marker("backend")
    if marker is None:
        return
    wanted = marker.args[0] if marker.args else None
    if wanted not in ("sqlite", "postgresql"):
        raise pytest.UsageError(f"{item.nodeid}: backend marker needs 'sqlite' or 'postgresql'")
    if wanted != current_backend():
        pytest.skip(f"runs on {wanted} only")


@pytest.fixture(autouse=True)
def cheap_password_hashing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2id at its smallest cost (64 KiB, 1 pass) for hashes made in the test process.

    Tests make accounts and sign people in as set-up, thousands of times in a run; at the
    production cost (19 MiB, 2 passes: 20 to 60 ms each here) that was minutes of the suite.
    A stored hash carries its own parameters, so checking it works the same, in this process
    and in a served one. tests/test_passwords.py (marked ``production_password_hashing``)
    checks the production parameters; servers and commands run as subprocesses hash at the
    production cost too. The cached dummy hash is forgotten on both sides of a test, so no
    test sees one made at the other cost.
    """
    if request.node.get_closest_marker("production_password_hashing"):
        yield
        return
    patch = pytest.MonkeyPatch()
    patch.setattr(passwords, "MEMORY_COST_KIB", 64)
    patch.setattr(passwords, "ITERATIONS", 1)
    passwords.dummy_hash.cache_clear()
    try:
        yield
    finally:
        patch.undo()
        passwords.dummy_hash.cache_clear()


def _in_own_thread(work: Callable[[], T]) -> T:
    """Run work that starts event loops of its own away from pytest-asyncio's thread."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-database") as executor:
        return executor.submit(work).result()


def _random_name(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(6)}"


class SqliteDatabases:
    """Per-test SQLite databases: copies of one migrated template file."""

    backend: Backend = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.template = folder / "template.db"

    def prepare(self) -> None:
        """Create and migrate the template (once per session)."""
        upgrade_to_head(f"sqlite+aiosqlite:///{self.template}")

    def finish(self) -> None:
        """Nothing to do: pytest removes its temporary folders."""

    async def new_database(self, data_dir: Path) -> str:
        """A migrated database of its own in ``data_dir``; returns its URL."""
        path = data_dir / "shuttle.db"
        shutil.copyfile(self.template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def new_empty_database(self, data_dir: Path) -> str:
        """A URL at which there is no database yet."""
        return f"sqlite+aiosqlite:///{data_dir / 'shuttle.db'}"

    async def drop_database(self, url: str) -> None:
        """Nothing to do: the file lives in the test's temporary folder."""


class PostgresDatabases:
    """Per-test PostgreSQL databases: ``CREATE DATABASE ... TEMPLATE`` of a migrated template.

    Creating a database costs PostgreSQL a copy and an fsync (90 to 300 ms here, depending on
    the load), mostly spent waiting for the disk, and a DROP DATABASE that overlaps a CREATE
    waits for it. So one thread of its own does all of it: it keeps the next few databases
    ready while tests run, and drops those that tests hand back.
    """

    backend: Backend = "postgresql"
    made_ahead = 2

    def __init__(self, maintenance_url: str) -> None:
        self.maintenance_url = maintenance_url
        self.template = _random_name("shuttle_tpl_")
        self._ready: queue.Queue[str] = queue.Queue(maxsize=self.made_ahead)
        self._handed_back: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._keeper: threading.Thread | None = None
        self._keeper_failure: BaseException | None = None

    def url_of(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on the test server."""
        return (
            make_url(self.maintenance_url)
            .set(database=database)
            .render_as_string(hide_password=False)
        )

    async def _connect(self) -> asyncpg.Connection:
        dsn = make_url(self.maintenance_url).set(drivername="postgresql")
        return await asyncpg.connect(dsn.render_as_string(hide_password=False))

    async def _execute(self, *statements: str) -> None:
        connection = await self._connect()
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def prepare(self) -> None:
        """Create and migrate the template (once per session); start the keeper thread."""
        asyncio.run(self._execute(f'CREATE DATABASE "{self.template}" TEMPLATE template0'))
        try:
            upgrade_to_head(self.url_of(self.template))
        except BaseException:
            self.finish()
            raise
        self._keeper = threading.Thread(target=self._keep, name="test-databases", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        try:
            asyncio.run(self._keep_until_stopped())
        except BaseException as error:
            self._keeper_failure = error

    async def _keep_until_stopped(self) -> None:
        """Drop what was handed back; keep ``made_ahead`` clones ready; at the end, drop all."""
        connection = await self._connect()
        try:
            while True:
                while not self._handed_back.empty():
                    name = self._handed_back.get_nowait()
                    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if self._stop.is_set():
                    break
                if self._ready.full():
                    await asyncio.sleep(0.005)
                    continue
                name = _random_name("shuttle_t_")
                await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                self._ready.put_nowait(name)  # the only producer: there is room
            while not self._ready.empty():
                name = self._ready.get_nowait()
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    def _keeper_running(self) -> bool:
        return self._keeper is not None and self._keeper.is_alive() and not self._stop.is_set()

    def _take(self) -> str:
        while True:
            if not self._keeper_running():
                raise RuntimeError("no test database could be made") from self._keeper_failure
            try:
                return self._ready.get(timeout=0.05)
            except queue.Empty:
                continue

    def finish(self) -> None:
        """Stop the keeper (which drops what it holds), then drop the template."""
        self._stop.set()
        if self._keeper is not None:
            self._keeper.join()
        asyncio.run(self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))

    async def new_database(self, data_dir: Path) -> str:
        """A migrated database of its own, cloned from the template; returns its URL."""
        return self.url_of(await asyncio.to_thread(self._take))

    async def new_empty_database(self, data_dir: Path) -> str:
        """A database with no tables at all; returns its URL."""
        name = _random_name("shuttle_t_")
        await self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url_of(name)

    async def drop_database(self, url: str) -> None:
        """Drop a test's database (closing any connection a test left open), soon or now."""
        name = make_url(url).database
        assert name is not None and name.startswith("shuttle_t_")
        if self._keeper_running():
            self._handed_back.put(name)
        else:
            await self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DatabaseFactory = SqliteDatabases | PostgresDatabases


@pytest.fixture(scope="session")
def backend() -> Backend:
    """The backend this run tests: "sqlite" or "postgresql"."""
    return current_backend()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """The session's migrated template, and the way to clone it for one test."""
    url = postgres_url()
    databases: DatabaseFactory
    if url is None:
        databases = SqliteDatabases(tmp_path_factory.mktemp("database-template"))
    else:
        current_backend()  # refuses a URL that is not PostgreSQL
        databases = PostgresDatabases(url)
    _in_own_thread(databases.prepare)
    try:
        yield databases
    finally:
        _in_own_thread(databases.finish)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """This test's data directory (key files, and the SQLite database on SQLite)."""
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
async def database_url(database_factory: DatabaseFactory, data_dir: Path) -> AsyncIterator[str]:
    """The URL of this test's own database, migrated to head, with no rows yet."""
    url = await database_factory.new_database(data_dir)
    try:
        yield url
    finally:
        await database_factory.drop_database(url)


@pytest.fixture
async def empty_database_url(
    database_factory: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[str]:
    """The URL of a database of this test's own that was never migrated (SQLite: no file yet)."""
    folder = tmp_path / "empty"
    folder.mkdir()
    url = await database_factory.new_empty_database(folder)
    try:
        yield url
    finally:
        await database_factory.drop_database(url)


@pytest.fixture
async def settings(data_dir: Path, database_url: str) -> Settings:
    """Settings for this test: its own data directory, keys and database, with first rows."""
    settings = make_settings(data_dir=data_dir, database_url=database_url)
    await initialise(settings, migrate=False)
    return settings


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The service's runtime on this test's database; closed afterwards."""
    runtime = open_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, settings: Settings
) -> TestClient[Request, Application]:
    """An HTTP client for the whole application on this test's database."""
    from shuttle.app import create_app  # imported here: conftest must load without the app

    return await aiohttp_client(create_app(settings))
