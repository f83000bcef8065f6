"""Browser tests: Playwright driving Debian's chromium against the real server.

Never ``playwright install``: the browser is Debian's (``apt-get install chromium
fonts-liberation``, done by ``scripts/install-browser`` from ``make test``). Without it these
tests are skipped with a clear message, or fail when ``SHUTTLE_TEST_REQUIRE_BROWSER=1`` (CI).

Every page a journey visits is checked as a person would meet it (``Site.look``): axe-core finds
no WCAG 2.2 A/AA violation, nothing scrolls sideways at 320 CSS pixels, and a screenshot is kept
in ``test-artifacts/screenshots``. Every GET page the
journeys saw again in Welsh (``Site.sweep_welsh``, when each test ends).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from shuttle.bootstrap import initialise
from shuttle.settings import Settings
from tests.browser.site import Site
from tests.conftest import DatabaseFactory, _in_own_thread, make_settings
from tests.served import serving

CHROMIUM = Path(os.environ.get("SHUTTLE_TEST_CHROMIUM", "/usr/bin/chromium"))
# As the machine's probe starts it: no sandbox as root, and nothing that calls out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, started once for all the browser tests (each test has
    browser contexts of its own, so nothing but the process is shared)."""
    if not CHROMIUM.exists():
        message = (
            f"no browser at {CHROMIUM}: install Debian's chromium and fonts-liberation "
            "(scripts/install-browser) to run the browser tests"
        )
        if os.environ.get("SHUTTLE_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def served_settings(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[Settings]:
    """This test's own database and data directory, made without an event loop in this thread.

    Playwright's synchronous API runs an event loop of its own in the test's thread, so the
    browser tests cannot use pytest-asyncio's fixtures (``settings``); this does their work
    in a thread of its own instead.
    """
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    url = _in_own_thread(lambda: asyncio.run(database_factory.new_database(data_dir)))
    settings = make_settings(data_dir=data_dir, database_url=url)
    _in_own_thread(lambda: asyncio.run(initialise(settings, migrate=False)))
    try:
        yield settings
    finally:
        _in_own_thread(lambda: asyncio.run(database_factory.drop_database(url)))


@pytest.fixture
def site(served_settings: Settings, tmp_path: Path, browser: Browser) -> Iterator[Site]:
    """The real server on this test's own database, with staff accounts, and the browser."""
    with serving(served_settings, tmp_path) as server:
        server.wait_until_ready()
        running = Site(server, browser, served_settings)
        try:
            yield running
            running.sweep_welsh()
        finally:
            running.close()
