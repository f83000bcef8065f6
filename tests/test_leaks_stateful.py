"""No leak (SECURITY.md; DESIGN.md rules 1-8): a Hypothesis state machine over the whole API.

Random actors (participants of two cases, their practitioners, a practitioner on no case, a
manager, an admin) create, edit, submit, withdraw and decide items, agree to summaries, say what
they are willing to receive, opt out, pause and resume cases, record consent, mark items read,
declare a conflict of interest, and ask for and release their records. Every action may fail;
the model (tests/leak_model.py) moves only with what the server said succeeded, and says on
its own which planted marker each person may see.

After every step that changed something (a refused step changes nothing:
tests/test_access_table.py), the leads' lists show what was relayed and each new delivery is
judged by the rules as they stand, in the recipient's inbox; then one more way of reading is
tried, in turn (``PROBES``): a participant's items by id, their own views, their pages (home,
inbox, records, an item page that is or is not theirs), a member of staff's views and case
pages (managers and admins included), the case's record, the released records packages and the
live queue counts. Every log record of the service is searched for planted text as it is
written. Each run ends with a wider look (every inbox with anything in it, every item as
someone of its case who may not see it, staff, pages, the audit log).

Hypothesis rules are synchronous: the test has one event loop, and one server per case variant
for all its runs, driven with ``run_until_complete``. The people are made once per test in a
"golden" database per case variant (Argon2 makes accounts cost ~30 ms each); each run puts the
live database back to the golden rows in one transaction (``SqliteReset``, ``PostgresReset``).
The live SQLite file is on a tmpfs when there is one, and the PostgreSQL database commits
without waiting for its WAL: durability is not what this test is about.

``SHUTTLE_TEST_STATEFUL_EXAMPLES`` and ``SHUTTLE_TEST_STATEFUL_STEPS`` set the effort (the
``SHUTTLE_TEST_`` prefix, because conftest.py removes every other ``SHUTTLE_*`` variable);
``SHUTTLE_TEST_STATEFUL_MUTANTS=1`` also runs the machine against deliberately broken servers
to show that it notices. For looking into it: ``SHUTTLE_TEST_STATEFUL_STATS=1`` prints what the
runs did, ``SHUTTLE_TEST_STATEFUL_TRACE=<file>`` appends every run's requests to a file, and
``SHUTTLE_TEST_STATEFUL_SHRINK=0`` skips shrinking a failure (long runs).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import make_url, update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

from shuttle import accounts
from shuttle.app import create_app
from shuttle.bootstrap import initialise, open_runtime
from shuttle.models import SessionToken
from shuttle.settings import Settings
from tests import authenticator
from tests.conftest import DatabaseFactory, make_settings
from tests.leak_model import (
    CASES,
    DELIVERY_VIEW_KEYS,
    MARKER,
    OVERSEERS,
    PARTICIPANTS,
    PRACTITIONER_KINDS,
    PRACTITIONER_ONLY_KEYS,
    STAFF,
    TEAMS,
    CaseModel,
    DisclosureModel,
    ItemModel,
    Leak,
    Model,
    Person,
    Summary,
    Version,
)
from tests.scenario import PASSWORD, build_case

T = TypeVar("T")

EXAMPLES = int(os.environ.get("SHUTTLE_TEST_STATEFUL_EXAMPLES", "200"))
STEPS = int(os.environ.get("SHUTTLE_TEST_STATEFUL_STEPS", "10"))
MAX_ITEMS = 12
# Long runs (make test-deep) outlive the default token idle time of the golden sign-ins.
LONG_SESSIONS = {
    "token_idle_minutes": 10_000_000.0,
    "token_lifetime_hours": 1_000_000.0,
    "reauthentication_minutes": 10_000_000.0,
}

KINDS = ("letter", "message", "question", "answer", "information", "assessment")
SCOPES = ("verbatim", "verbatim", "summary", "summary", "facilitator_only")
WITHHOLD_REASONS = frozenset(
    {"serious_harm", "risk_of_harm", "identifying_details", "facilitator_only", "other"}
)
RETURN_REASONS = frozenset({"needs_revision", "identifying_details", "other"})
REASONS = (None, *sorted(WITHHOLD_REASONS | RETURN_REASONS))
PHRASES = ("I am sorry.", "I think about it every day.", "Why did you do it?", "Thank you.")
# Who a step is attempted by: the right person most of the time, anyone now and then.
EVERYONE = (*PARTICIPANTS, *STAFF)
AUTHORISH = (*(["author"] * 11), "writer", "writer", *EVERYONE)
DECIDERS = (*(["lead"] * 6), *(["co"] * 4), *(["supervisor"] * 3), *STAFF, "sam", "otto")
CREATORS = (*PARTICIPANTS, *PARTICIPANTS, "lead", "lead", "co", *STAFF)
ROLE_HOLDERS = {
    "A": {"lead": "lee", "co": "cole", "supervisor": "sue"},
    "B": {"lead": "olga", "co": "olga", "supervisor": "stan"},
}
# A case's views for its practitioners only.
STAFF_VIEWS = ("/items", "/events", "/watch-list", "/follow-ups")
# The ways of reading tried after each change, in turn (LeakMachine.check_after_a_change).
PROBES = (
    "probe_items",
    "probe_staff",
    "probe_own_views",
    "probe_participant_pages",
    "probe_records",
)
# Loggers whose every record is searched for planted text.
WATCHED_LOGGERS = ("shuttle", "aiohttp")
# Odd additions to an item's recipients, to try the refusals.
ODD = (*([None] * 15), "self", "foreign", "none", "extra", "wrong_case")


def other_case(case: str) -> str:
    """The case that is not ``case``."""
    return "B" if case == "A" else "A"


def participants_of(case: str) -> list[str]:
    """The participants of a case, in a fixed order."""
    return [key for key, (c, _) in PARTICIPANTS.items() if c == case]


# -- the golden databases ------------------------------------------------------------------------


@dataclass
class Cast:
    """A golden database with every account, both cases and their participants (no consent)."""

    sensitive: bool
    url: str
    data_dir: Path
    case_ids: dict[str, str]
    references: dict[str, str]
    staff_ids: dict[str, str]
    tokens: dict[str, str]
    people: dict[str, dict[str, str]]  # key -> id, name, shown_as


def run_settings(data_dir: Path, url: str) -> Settings:
    """conftest's settings, with sessions that outlive a long run."""
    return make_settings(data_dir=data_dir, database_url=url, **LONG_SESSIONS)


async def _json(
    client: TestClient[Any, Any], method: str, path: str, token: str | None, body: Any, want: int
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with client.request(method, path, json=body, headers=headers) as response:
        data = await response.json()
        assert response.status == want, f"{method} {path}: {response.status} {data!r}"
        return data


async def build_cast(factory: DatabaseFactory, folder: Path, sensitive: bool) -> Cast:
    """Make the accounts, cases and participants once; every run starts from a copy."""
    data_dir = folder / "var"
    data_dir.mkdir(parents=True)
    url = await factory.new_database(data_dir)
    settings = run_settings(data_dir, url)
    await initialise(settings, migrate=False)
    runtime = open_runtime(settings)
    try:
        staff_ids = {
            key: await accounts.add_user(
                runtime,
                role=role,
                email=f"{key}@service.example",
                name=f"{key.title()} Staff",
                password=PASSWORD,
            )
            for key, role in STAFF.items()
        }
    finally:
        await runtime.db.dispose()
    model = Model()  # only to mint the cast's markers
    async with TestClient(TestServer(create_app(settings))) as client:

        async def call(method: str, path: str, token: str | None, body: Any, want: int) -> Any:
            return await _json(client, method, path, token, body, want)

        async def sign_in(email: str) -> str:
            async def post(method: str, path: str, body: Any) -> Any:
                return await call(method, path, None, body, 200)

            data = await authenticator.sign_in(post, url, email, PASSWORD)
            return str(data["token"])

        tokens = {key: await sign_in(f"{key}@service.example") for key in STAFF}
        case_ids, references = {}, {}
        for case, team in TEAMS.items():
            lead = next(k for k, r in team.items() if r == "lead")
            supervisor = next(k for k, r in team.items() if r == "supervisor")
            references[case] = model.plant("ref", case, None, f"reference of case {case}")
            created = await call(
                "POST",
                "/api/v1/cases",
                tokens[lead],
                {
                    "reference": references[case],
                    "sensitive_complex": sensitive and case == "A",
                    "supervisor_id": staff_ids[supervisor],
                },
                201,
            )
            case_ids[case] = created["id"]
            for key, role in team.items():
                if role == "co_worker":
                    await call(
                        "POST",
                        f"/api/v1/cases/{created['id']}/practitioners",
                        tokens[lead],
                        {
                            "user_id": staff_ids[key],
                            "role": "co_worker",
                            "conflict_of_interest": {"declared": False},
                        },
                        201,
                    )
        people = {}
        for key, (case, role) in PARTICIPANTS.items():
            lead = ROLE_HOLDERS[case]["lead"]
            name = model.plant("name", case, key, f"{key}'s display name")
            shown = model.plant("shown", case, key, f"how {key} is shown to others")
            added = await call(
                "POST",
                f"/api/v1/cases/{case_ids[case]}/participants",
                tokens[lead],
                {"role": role, "display_name": name, "shown_to_others_as": shown},
                201,
            )
            email = f"{key}@people.example"
            await call(
                "POST",
                f"/api/v1/invitations/{added['invitation_token']}/accept",
                None,
                {"email": email, "password": PASSWORD},
                201,
            )
            tokens[key] = await sign_in(email)
            people[key] = {"id": added["id"], "name": name, "shown_as": shown}
    return Cast(sensitive, url, data_dir, case_ids, references, staff_ids, tokens, people)


async def keep_sessions_fresh(url: str) -> None:
    """Mark every session of the golden cast as used in the far future: a session is then
    never idle and never "touched" (a write) by its first request in each run."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(SessionToken).values(last_used_at=datetime(2100, 1, 1, tzinfo=UTC))
            )
    finally:
        await engine.dispose()


# Every table of the service (not Alembic's own), parents before children.
TABLES = tuple(table.name for table in SQLModel.metadata.sorted_tables)


def copy_back(live: str, golden: str) -> str:
    """SQL that empties every table of schema ``live`` and fills it from ``golden``."""
    empty = "".join(f'DELETE FROM {live}."{t}";' for t in reversed(TABLES))  # noqa: S608
    fill = "".join(
        f'INSERT INTO {live}."{t}" SELECT * FROM {golden}."{t}";'  # noqa: S608  (our tables)
        for t in TABLES
    )
    return empty + fill


class SqliteReset:
    """Puts a live SQLite database back as the golden one was, in one transaction, while the
    server that uses it stays up (its connections see the new rows at their next BEGIN)."""

    def __init__(self, golden: Path, live: Path) -> None:
        self.connection = sqlite3.connect(live, isolation_level=None, timeout=10)
        self.connection.execute("ATTACH DATABASE ? AS golden", (str(golden),))
        self.script = copy_back("main", "golden")

    async def reset(self) -> None:
        """Every row as in the golden database (foreign keys are off on this connection)."""
        self.connection.executescript(f"BEGIN IMMEDIATE;{self.script}COMMIT;")

    async def close(self) -> None:
        self.connection.close()


class PostgresReset:
    """The same on PostgreSQL: the live database keeps a copy of the golden rows in a schema
    of its own (``golden``), copied back into ``public`` in one transaction."""

    def __init__(self, connection: asyncpg.Connection, script: str) -> None:
        self.connection = connection
        self.script = script

    @classmethod
    async def open(cls, live_url: str) -> PostgresReset:
        dsn = make_url(live_url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        copies = "".join(f'CREATE TABLE golden."{t}" AS TABLE public."{t}";' for t in TABLES)
        await connection.execute(f"CREATE SCHEMA golden;{copies}")
        sequences = await connection.fetch(
            "SELECT table_name, column_name, "
            "pg_get_serial_sequence(quote_ident(table_name), column_name) AS sequence "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
        )
        restart = "".join(
            f"SELECT setval('{s['sequence']}', "  # noqa: S608  (names from the catalogue)
            f'COALESCE((SELECT max("{s["column_name"]}") FROM public."{s["table_name"]}"), 0)'
            " + 1, false);"
            for s in sequences
        )
        script = (
            "BEGIN; SET LOCAL session_replication_role = replica;"
            f"{copy_back('public', 'golden')}{restart}COMMIT;"
        )
        return cls(connection, script)

    async def reset(self) -> None:
        """Every row as in the golden database; sequences after their golden rows."""
        await self.connection.execute(self.script)

    async def close(self) -> None:
        await self.connection.close()


@dataclass
class Stage:
    """One golden cast, a live copy of its database, and one server on it for every run."""

    cast: Cast
    url: str
    client: TestClient[Any, Any]
    resetter: SqliteReset | PostgresReset


class LogWatch(logging.Handler):
    """Every log record of the service, formatted as an operator would read it (with any
    exception's traceback): no planted text may ever be in one (logs hold ids, never text)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records = 0
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        line = self.format(record)
        if MARKER.search(line):
            self.found.append(line)


class CastBook:
    """The stages of one test (a golden cast per case variant, made on first use, with its
    own live database and server), one event loop for them all, and the log watch."""

    def __init__(self, factory: DatabaseFactory, folder: Path) -> None:
        self.factory = factory
        self.folder = folder
        self.loop = asyncio.new_event_loop()
        self.stages: dict[bool, Stage] = {}
        self.runs = 0
        self.stats: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.logs = LogWatch()
        # The live SQLite files in memory when the machine has a tmpfs: durability is not
        # what this test is about, and a commit then costs no fsync.
        shm = Path("/dev/shm")
        self.memory: Path | None = None
        if shm.is_dir() and os.access(shm, os.W_OK):
            self.memory = Path(tempfile.mkdtemp(prefix="shuttle-leaks-", dir=shm))
        # Only the watch hears the service's loggers (pytest would keep every record).
        self._loggers: dict[str, tuple[int, bool]] = {}
        for name in WATCHED_LOGGERS:
            logger = logging.getLogger(name)
            self._loggers[name] = (logger.level, logger.propagate)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            logger.addHandler(self.logs)

    async def stage(self, sensitive: bool) -> Stage:
        """The stage for a case A that is (or is not) sensitive and complex, reset to its
        golden state."""
        stage = self.stages.get(sensitive)
        if stage is None:
            folder = self.folder / f"golden-{'sensitive' if sensitive else 'plain'}"
            started = time.perf_counter()
            cast = await build_cast(self.factory, folder, sensitive)
            await keep_sessions_fresh(cast.url)
            url, resetter = await self._live_copy(cast, folder)
            # Request lines are written by the app's own middleware (shuttle/logs.py).
            server = TestServer(create_app(run_settings(cast.data_dir, url)))
            client: TestClient[Any, Any] = TestClient(server)
            await client.start_server()
            stage = self.stages[sensitive] = Stage(cast, url, client, resetter)
            self.seconds["golden casts"] += time.perf_counter() - started
        started = time.perf_counter()
        await stage.resetter.reset()
        self.seconds["resets"] += time.perf_counter() - started
        return stage

    async def _live_copy(self, cast: Cast, folder: Path) -> tuple[str, SqliteReset | PostgresReset]:
        source = make_url(cast.url)
        if source.get_backend_name() == "postgresql":
            name = f"shuttle_t_{secrets.token_hex(6)}"
            dsn = source.set(drivername="postgresql").render_as_string(hide_password=False)
            connection = await asyncpg.connect(dsn)
            try:
                await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source.database}"')
                # Durability is not what this test is about: no WAL flush at each commit.
                await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            finally:
                await connection.close()
            url = source.set(database=name).render_as_string(hide_password=False)
            return url, await PostgresReset.open(url)
        assert source.database is not None
        if self.memory is not None:
            folder = self.memory
        live = folder / f"live-{len(self.stages)}.db"
        golden_db, live_db = sqlite3.connect(source.database), sqlite3.connect(live)
        try:
            golden_db.backup(live_db)
        finally:
            golden_db.close()
            live_db.close()
        return f"sqlite+aiosqlite:///{live}", SqliteReset(Path(source.database), live)

    def close(self) -> None:
        """Stop the servers; drop the databases; give the loggers back."""
        try:
            for stage in self.stages.values():
                self.loop.run_until_complete(stage.client.close())
                self.loop.run_until_complete(stage.resetter.close())
                self.loop.run_until_complete(self.factory.drop_database(stage.url))
                self.loop.run_until_complete(self.factory.drop_database(stage.cast.url))
        finally:
            self.loop.close()
            if self.memory is not None:
                shutil.rmtree(self.memory, ignore_errors=True)
            for name, (level, propagate) in self._loggers.items():
                logger = logging.getLogger(name)
                logger.setLevel(level)
                logger.propagate = propagate
                logger.removeHandler(self.logs)


# -- the state machine -------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, by poppler's pdftotext (scripts/install-pdf-tools installs it)."""
    tool = shutil.which("pdftotext")
    assert tool, "pdftotext is missing: install Debian's poppler-utils (scripts/install-pdf-tools)"
    done = subprocess.run([tool, "-", "-"], input=pdf, capture_output=True, check=True, timeout=60)
    return done.stdout.decode()


def error_of(data: Any) -> Any:
    """The error object of an answer, or the answer itself."""
    return data.get("error", data) if isinstance(data, dict) else data


class LeakMachine(RuleBasedStateMachine):
    """Random actions by random actors; after each, every view against the model."""

    book: CastBook  # set by the test
    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.loop = self.book.loop
        self.client: TestClient[Any, Any] | None = None
        self.model = Model()
        self.trace: list[str] = []
        self.labels: dict[str, str] = {}
        self.missing: dict[tuple[str, str], tuple[int, Any]] = {}
        self.tokens: dict[str, str] = {}
        self.staff_ids: dict[str, str] = {}
        self.checks = 0
        # Set by every successful change (a refused request changes nothing: the access
        # table's sweep shows it), with the cases it touched; cleared by the checks.
        self.dirty = False
        self.touched: set[str] = set()
        self.failed = False
        self.offset = 0  # chosen by Hypothesis at the start: which probes run when, for whom

    # -- plumbing ---------------------------------------------------------------------------

    def run(self, work: Awaitable[T]) -> T:
        """Run one coroutine on this machine's loop; add the request trace to a failure."""
        name = getattr(work, "__name__", "?")
        self.book.stats[f"do {name}"] += 1
        before = self.book.stats["requests"]
        try:
            return self.loop.run_until_complete(work)
        except BaseException as exc:
            self.failed = True
            if not isinstance(exc, Leak) or getattr(exc, "traced", False):
                raise
            shown = "\n  ".join(self.trace[-60:])
            failure = Leak(f"{exc}\n\nRequests of this run (ids named):\n  {shown}")
            failure.traced = True  # type: ignore[attr-defined]
            raise failure from None
        finally:
            self.book.stats[f"requests in {name}"] += self.book.stats["requests"] - before

    def label(self, text: str) -> str:
        """Text with known ids replaced by names, for the trace."""
        for known, name in self.labels.items():
            text = text.replace(known, name)
        return text

    async def call(
        self, who: str, method: str, path: str, body: Any = None, *, action: bool = True
    ) -> tuple[int, Any]:
        """One request as ``who`` (a bearer token for the API, the session cookie for a page);
        a 5xx fails at once. Actions are traced; a successful one marks what it touched."""
        assert self.client is not None
        if path.startswith("/api/"):
            headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        else:
            headers = {"Cookie": f"shuttle_session={self.tokens[who]}"}
        started = time.perf_counter()
        async with self.client.request(
            method, path, json=body, headers=headers, allow_redirects=False
        ) as response:
            if response.content_type == "application/json":
                data: Any = await response.json()
            elif response.content_type.startswith("text/"):
                data = await response.text()
            else:
                data = await response.read()
            status = response.status
        route = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", path)
        self.book.stats[f"{'' if action else 'check '}{method} {route} {status}"] += 1
        self.book.seconds[f"{method} {route}"] += time.perf_counter() - started
        self.book.stats["requests"] += 1
        if method != "GET" and 200 <= status < 300:
            self.dirty = True
            self.touched |= self.cases_of_path(who, path)
        if action:
            sent = "" if body is None else " " + json.dumps(body, ensure_ascii=False)
            answer = (
                f"{error_of(data).get('code')}" if status >= 400 and isinstance(data, dict) else ""
            )
            self.trace.append(self.label(f"{who}: {method} {path}{sent} -> {status} {answer}"))
        if status >= 500:
            raise Leak(self.label(f"{who}: {method} {path} answered {status}: {data!r}"))
        return status, data

    def cases_of_path(self, who: str, path: str) -> set[str]:
        """The cases a successful change at ``path`` may have changed (all when unsure)."""
        m = self.model
        found = re.search(r"/(cases|items|disclosure-requests)/([0-9a-f-]{36})", path)
        if found is not None:
            kind, known = found.groups()
            if kind == "cases":
                case = next((c.key for c in m.cases.values() if c.id == known), None)
            elif kind == "items":
                case = m.items[known].case if known in m.items else None
            else:
                request = m.disclosures.get(known)
                case = PARTICIPANTS[request.person][0] if request else None
            if case is not None:
                return {case}
        elif path.startswith("/api/v1/me/") and who in PARTICIPANTS:
            return {PARTICIPANTS[who][0]}
        return set(CASES)

    async def same_as_missing(
        self, who: str, method: str, path: str, body: Any, status: int, data: Any, real: list[str]
    ) -> None:
        """Rule 5: someone who may not know ``real`` exists gets the answer a missing id gets
        (for a read, asked once per run, person and route)."""
        fake = path
        for known in real:
            fake = fake.replace(known, str(uuid.uuid4()))
        key = (who, re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "{id}", fake))
        if method == "GET" and key in self.missing:
            fake_status, fake_data = self.missing[key]
        else:
            fake_status, fake_data = await self.call(who, method, fake, body, action=False)
            if method == "GET":
                self.missing[key] = (fake_status, fake_data)
        if (status, error_of(data)) != (fake_status, error_of(fake_data)):
            raise Leak(
                self.label(
                    f"{who}: {method} {path} answered {status} {error_of(data)!r}, but "
                    f"{fake_status} {error_of(fake_data)!r} for a missing id (rule 5)"
                )
            )

    def expect(self, who: str, what: str, status: int, must_fail: list[str]) -> bool:
        """Whether it succeeded; a success the rules forbid is a failure of the test."""
        ok = 200 <= status < 300
        if ok and must_fail:
            raise Leak(f"{who}: {what} succeeded although " + "; ".join(must_fail))
        return ok

    def holder(self, token: str, case: str) -> str:
        """``lead``/``co``/``supervisor`` of a case, or the named actor."""
        return ROLE_HOLDERS[case].get(token, token)

    def item_actor(self, token: str, item: ItemModel) -> str:
        """``author``/``writer``/a role of the item's case, or the named actor."""
        if token == "author":
            return item.author or item.writer
        if token == "writer":
            return item.writer
        if token == "recipient":
            got = sorted(item.delivered) or list(item.current.recipients) or ["sam"]
            return got[0]
        return self.holder(token, item.case)

    def steer(self, item: str, pick: int, wanted: Callable[[ItemModel], bool]) -> ItemModel:
        """Mostly an item where the action can do something; sometimes the bundle's choice."""
        candidates = [i for i in self.model.items.values() if wanted(i)]
        if candidates and pick % 4:
            return candidates[pick % len(candidates)]
        return self.model.items[item]

    def recipients_for(
        self,
        case: str,
        author: str | None,
        scope: str,
        peers: list[int],
        odd: str | None,
        pick: int,
    ) -> list[str]:
        """Recipient keys for a sharing choice: same-case others, with an odd one now and then."""
        same = [k for k in participants_of(case) if k != author]
        chosen = list(dict.fromkeys(same[i % len(same)] for i in peers))
        if scope != "facilitator_only" and not chosen and odd != "none":
            chosen = [same[pick % len(same)]]
        if scope == "facilitator_only" and odd != "extra":
            chosen = []
        if odd == "self" and author is not None:
            chosen.append(author)
        if odd == "foreign":
            chosen.append(participants_of(other_case(case))[pick % 2])
        return chosen

    def sharing_faults(
        self, case: str, author: str | None, scope: str, keys: list[str]
    ) -> list[str]:
        """Why a sharing consent must be refused (422)."""
        faults = []
        if scope == "facilitator_only" and keys:
            faults.append("facilitator_only with recipients")
        if scope != "facilitator_only" and not keys:
            faults.append("no recipients")
        if len(set(keys)) != len(keys):
            faults.append("a recipient twice")
        if author is not None and author in keys:
            faults.append("sent to its own author")
        for key in keys:
            if PARTICIPANTS[key][0] != case:
                faults.append(f"recipient {key} is in another case")
            elif self.model.people[key].opted_out:
                faults.append(f"recipient {key} opted out")
        return faults

    def keys_of(self, sharing: dict[str, Any]) -> tuple[str, ...]:
        """Participant keys of a view's recipient ids (an unknown id fails)."""
        keys = []
        for participant_id in sharing["recipient_ids"]:
            if participant_id not in self.model.key_of_participant_id:
                raise Leak(f"an item names recipient {participant_id}, who is no participant")
            keys.append(self.model.key_of_participant_id[participant_id])
        return tuple(keys)

    # -- set-up and tear-down ---------------------------------------------------------------

    @initialize(
        target=items,
        # Case B is never sensitive, so plain relaying is always in play there.
        sensitive=st.sampled_from([True, True, False]),
        consented=st.fixed_dictionaries(
            {k: st.sampled_from([True, True, True, False]) for k in PARTICIPANTS}
        ),
        willing=st.fixed_dictionaries(
            {k: st.sampled_from(["yes", "yes", "ask_first", "no"]) for k in PARTICIPANTS}
        ),
        first=st.lists(
            st.tuples(
                st.sampled_from((*PARTICIPANTS, *PARTICIPANTS, "lee", "olga")),
                st.sampled_from(SCOPES),
                st.integers(0, 63),
                st.sampled_from(["draft", "submitted", "approved", "approved"]),
            ),
            min_size=2,
            max_size=4,
        ),
        paused=st.sampled_from([None, None, None, "A", "B"]),
        offset=st.integers(0, 1000),
    )
    def start(
        self,
        sensitive: bool,
        consented: dict[str, bool],
        willing: dict[str, str],
        first: list[tuple[str, str, int, str]],
        paused: str | None,
        offset: int,
    ) -> Any:
        """The golden cast's rows again under the shared server, a random start, and a few
        first items (by someone able to write them, so that every run starts with a case
        under way)."""
        self.offset = offset
        self.run(self._start(sensitive, consented, willing))
        made = []
        for who, scope, pick, far in first:
            case = PARTICIPANTS[who][0] if who in PARTICIPANTS else ("A" if who == "lee" else "B")
            lead = ROLE_HOLDERS[case]["lead"]
            author = who if who in PARTICIPANTS else None
            if author is not None and not self.model.people[author].active:
                author = None  # its practitioner writes it on the participant's behalf instead
            behalf = None
            if who in STAFF or author is None:
                able = [k for k in participants_of(case) if self.model.people[k].active]
                behalf = "peer" if able and pick % 2 else None
                if behalf and participants_of(case)[pick % len(participants_of(case))] not in able:
                    pick = participants_of(case).index(able[0])
                who = lead
            submit = far != "draft"
            made.append(
                self.run(
                    self._create(
                        who, case, "letter", scope, [pick], None, behalf, None, None, pick, submit
                    )
                )
            )
            item = self.model.items.get(made[-1] or "")
            if far == "approved" and item is not None and item.server_state == "submitted":
                decision = "withhold" if scope == "facilitator_only" else "approve"
                reason = "facilitator_only" if scope == "facilitator_only" else None
                self.run(
                    self._decide(lead, item, decision, reason, "current", "auto", False, False)
                )
                self.run(self.observe_deliveries())
        if paused is not None:
            self.run(self._case_state(ROLE_HOLDERS[paused]["lead"], paused, "paused"))
        return multiple(*[item for item in made if item is not None])

    async def _start(
        self, sensitive: bool, consented: dict[str, bool], willing: dict[str, str]
    ) -> None:
        stage = await self.book.stage(sensitive)
        cast, self.client = stage.cast, stage.client
        self.book.logs.found.clear()
        self.tokens = dict(cast.tokens)
        self.staff_ids = dict(cast.staff_ids)
        m = self.model
        for case in CASES:
            m.cases[case] = CaseModel(
                case, cast.case_ids[case], sensitive and case == "A", cast.references[case]
            )
            m.cases[case].team = dict(TEAMS[case])
            m.plant("ref", case, None, f"reference of case {case}", cast.references[case])
            self.labels[cast.case_ids[case]] = f"<case {case}>"
        for key, (case, role) in PARTICIPANTS.items():
            seen = cast.people[key]
            m.plant("name", case, key, f"{key}'s display name", seen["name"])
            m.plant("shown", case, key, f"how {key} is shown to others", seen["shown_as"])
            m.add_person(Person(key, case, role, seen["id"], seen["name"], seen["shown_as"]))
            self.labels[seen["id"]] = f"<{key}>"
        for key, user_id in self.staff_ids.items():
            self.labels[user_id] = f"<{key}>"
        for key, yes in consented.items():
            if yes:
                await self._consent(ROLE_HOLDERS[PARTICIPANTS[key][0]]["lead"], key, True)
        for key, receive in willing.items():
            if receive != "ask_first":
                await self._preferences(key, key, "me", receive, 0, False)

    def teardown(self) -> None:
        """The last, wider look at every view (unless the run already failed); the server
        and the database stay for the next run, which starts from the golden rows again."""
        stats = self.book.stats
        stats["runs"] += 1
        trace_file = os.environ.get("SHUTTLE_TEST_STATEFUL_TRACE")
        if trace_file:
            with open(trace_file, "a", encoding="utf-8") as out:
                out.write(f"run {stats['runs']}\n" + "".join(f"  {t}\n" for t in self.trace))
        stats["items made"] += len(self.model.items)
        sensitive = any(c.sensitive for c in self.model.cases.values())
        stats["runs with a sensitive case"] += sensitive
        for item in self.model.items.values():
            stats["deliveries"] += len(item.delivered)
            if self.model.cases[item.case].sensitive:
                stats["deliveries in a sensitive case"] += len(item.delivered)
                stats["approvals in a sensitive case"] += sum(
                    len(a) for a in item.approvals.values()
                )
            stats[f"final {item.server_state}"] += 1
        if self.client is not None and not self.failed:
            started = time.perf_counter()
            self.run(self.check_at_the_end())
            self.book.seconds["final checks"] += time.perf_counter() - started

    # -- items --------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model.items) < MAX_ITEMS)
    @rule(
        target=items,
        who=st.sampled_from(CREATORS),
        case=st.sampled_from(CASES),
        kind=st.sampled_from(KINDS),
        scope=st.sampled_from(SCOPES),
        peers=st.lists(st.integers(0, 7), max_size=2),
        odd=st.sampled_from(ODD),
        behalf=st.sampled_from([None, None, "peer", "peer", "foreign"]),
        reply=st.sampled_from([None, None, None, "visible", "any"]),
        response=st.sampled_from([None, "reply", "feedback", "none"]),
        pick=st.integers(0, 63),
        submit=st.booleans(),
    )
    def create_item(
        self,
        who: str,
        case: str,
        kind: str,
        scope: str,
        peers: list[int],
        odd: str | None,
        behalf: str | None,
        reply: str | None,
        response: str | None,
        pick: int,
        submit: bool,
    ) -> Any:
        """Write an item (participants their own; practitioners theirs or on someone's behalf)."""
        made = self.run(
            self._create(who, case, kind, scope, peers, odd, behalf, reply, response, pick, submit)
        )
        return multiple() if made is None else made

    async def _create(
        self,
        who: str,
        case: str,
        kind: str,
        scope: str,
        peers: list[int],
        odd: str | None,
        behalf: str | None,
        reply: str | None,
        response: str | None,
        pick: int,
        submit: bool,
    ) -> str | None:
        m = self.model
        actor = self.holder(who, case)
        must_fail: list[str] = []
        author: str | None
        if actor in PARTICIPANTS:
            author = actor
            own = m.people[actor].case
            case = own if odd != "wrong_case" else other_case(own)
            if kind in PRACTITIONER_KINDS and pick % 4:
                kind = "letter"
            if case != m.people[actor].case:
                must_fail.append(f"{actor} writes in another case")
            if not m.people[actor].active:
                must_fail.append(f"{actor} is not active (consent_required / opted_out)")
            if kind in PRACTITIONER_KINDS:
                must_fail.append(f"participants do not write {kind}")
        else:
            if behalf is None:
                author = None
                if kind not in PRACTITIONER_KINDS and pick % 4:
                    kind = "assessment"
                if kind not in PRACTITIONER_KINDS:
                    must_fail.append(f"a practitioner's own {kind}")
            else:
                where = case if behalf == "peer" else other_case(case)
                author = participants_of(where)[pick % len(participants_of(where))]
                if where != case:
                    must_fail.append(f"on behalf of {author} of another case")
                elif not m.people[author].active:
                    must_fail.append(f"on behalf of {author}, who is not active")
            if actor in OVERSEERS:
                must_fail.append(f"{actor} is a {STAFF[actor]}")
            elif not m.works_on(actor, case):
                must_fail.append(f"{actor} does not work on case {case}")
        keys = self.recipients_for(case, author, scope, peers, odd, pick)
        must_fail += self.sharing_faults(case, author, scope, keys)
        if m.cases[case].state == "closed":
            must_fail.append("the case is closed")
        in_reply_to = None
        if reply is not None and m.items:
            pool = list(m.items.values())
            if reply == "visible":
                pool = [i for i in pool if m.may_see_item(actor, i)] or pool
            target = pool[pick % len(pool)]
            in_reply_to = target.id
            if not m.may_see_item(actor, target) or target.case != case:
                must_fail.append(f"in_reply_to an item {actor} may not cite")
        body = m.plant("body", case, author, f"version 1 of an item by {author or actor}")
        text = f"{body} {PHRASES[pick % len(PHRASES)]}"
        m.note_sent(actor, text)
        payload: dict[str, Any] = {
            "kind": kind,
            "body": text,
            "sharing": {"scope": scope, "recipient_ids": [m.people[k].id for k in keys]},
        }
        if behalf is not None and actor not in PARTICIPANTS and author is not None:
            payload["on_behalf_of"] = m.people[author].id
        if in_reply_to is not None:
            payload["in_reply_to"] = in_reply_to
        if response is not None:
            payload["response_wanted"] = response
        path = f"/api/v1/cases/{m.cases[case].id}/items"
        status, data = await self.call(actor, "POST", path, payload)
        strangers = actor in PARTICIPANTS and m.people[actor].case != case
        if strangers or (actor in STAFF and not m.works_on(actor, case)):
            await self.same_as_missing(
                actor, "POST", path, payload, status, data, [m.cases[case].id]
            )
        if not self.expect(actor, f"creating a {scope} {kind} in case {case}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return None
        if status != 201 or data["version"] != 1 or data["state"] != "draft":
            raise Leak(f"{actor}: a new item answered {status} {data!r}")
        item = ItemModel(
            id=data["id"],
            case=case,
            kind=kind,
            author=author,
            writer=actor,
            assisted=actor in STAFF and author is not None,
            versions=[
                Version(1, text, scope, self.keys_of(data["sharing"]), data["version_digest"])
            ],
            server_state="draft",
        )
        if item.current.recipients != tuple(keys):
            raise Leak(f"item {item.id}: recipients {item.current.recipients} != asked {keys}")
        m.items[item.id] = item
        self.labels[item.id] = f"<item {len(m.items)}>"
        m.check_markers(actor, "the new item", data)
        if submit:
            await self._submit(actor, item)
        return item.id

    @rule(
        item=items,
        pick=st.integers(0, 63),
        who=st.sampled_from(AUTHORISH),
        change=st.sampled_from(["body", "body", "sharing", "both", "withdraw"]),
        scope=st.sampled_from(SCOPES),
        peers=st.lists(st.integers(0, 7), max_size=2),
        odd=st.sampled_from(ODD),
    )
    def change_item(
        self,
        item: str,
        pick: int,
        who: str,
        change: str,
        scope: str,
        peers: list[int],
        odd: str | None,
    ) -> None:
        """PATCH a draft or returned item (a new version), or withdraw an item before relay."""
        if change == "withdraw":
            # Seldom steered to a live item: withdrawals end items, and runs are short.
            live = self.steer(
                item, pick, lambda i: i.server_state not in ("relayed", "withheld", "withdrawn")
            )
            chosen = live if pick % 3 == 0 else self.model.items[item]
            self.run(self._withdraw(self.item_actor(who, chosen), chosen))
            return
        chosen = self.steer(item, pick, lambda i: i.server_state in ("draft", "returned"))
        self.run(self._edit(self.item_actor(who, chosen), chosen, change, scope, peers, odd, pick))

    async def _edit(
        self,
        actor: str,
        item: ItemModel,
        change: str,
        scope: str,
        peers: list[int],
        odd: str | None,
        pick: int,
    ) -> None:
        m = self.model
        must_fail = self.author_faults(actor, item)
        if item.server_state not in ("draft", "returned"):
            must_fail.append(f"the item is {item.server_state}")
        payload: dict[str, Any] = {}
        number = item.current.number + 1
        body, keys, new_scope = item.current.body, list(item.current.recipients), item.current.scope
        if change in ("body", "both"):
            marker = m.plant("body", item.case, item.author, f"version {number} of {item.id}")
            body = f"{marker} {PHRASES[pick % len(PHRASES)]}"
            m.note_sent(actor, body)
            payload["body"] = body
        if change in ("sharing", "both"):
            new_scope = scope
            keys = self.recipients_for(item.case, item.author, scope, peers, odd, pick)
            must_fail += self.sharing_faults(item.case, item.author, scope, keys)
            payload["sharing"] = {
                "scope": scope,
                "recipient_ids": [m.people[k].id for k in keys],
            }
        path = f"/api/v1/items/{item.id}"
        status, data = await self.call(actor, "PATCH", path, payload)
        await self.outsider_answer(actor, item, "PATCH", path, payload, status, data)
        if not self.expect(actor, f"editing {item.id}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        if data["version"] != number or data["body"] != body:
            raise Leak(f"{actor}: edit of {item.id} answered version {data['version']}")
        recipients = self.keys_of(data["sharing"])
        if data["sharing"]["scope"] != new_scope or recipients != tuple(keys):
            raise Leak(f"{actor}: edit of {item.id} stored sharing {data['sharing']!r}")
        item.versions.append(Version(number, body, new_scope, recipients, data["version_digest"]))
        item.server_state = data["state"]
        m.check_markers(actor, "the edited item", data)

    def author_faults(self, actor: str, item: ItemModel) -> list[str]:
        """Why ``actor`` may not act as the item's author."""
        if self.model.may_author(actor, item):
            return []
        return [f"{actor} is not the author (nor its writer on the case) of {item.id}"]

    async def outsider_answer(
        self, actor: str, item: ItemModel, method: str, path: str, body: Any, status: int, data: Any
    ) -> None:
        """Someone who may not see the item gets the answer for a missing one."""
        if not self.model.may_see_item(actor, item):
            await self.same_as_missing(actor, method, path, body, status, data, [item.id])

    @rule(item=items, pick=st.integers(0, 63), who=st.sampled_from(AUTHORISH))
    def submit_item(self, item: str, pick: int, who: str) -> None:
        """Send an item to the vetting queue."""
        chosen = self.steer(item, pick, lambda i: i.server_state in ("draft", "returned"))
        self.run(self._submit(self.item_actor(who, chosen), chosen))

    async def _submit(self, actor: str, item: ItemModel) -> None:
        m = self.model
        must_fail = self.author_faults(actor, item)
        if item.server_state not in ("draft", "returned"):
            must_fail.append(f"the item is {item.server_state}, not draft or returned")
        if item.author is not None and not m.people[item.author].active:
            must_fail.append(f"its author {item.author} is not active")
        path = f"/api/v1/items/{item.id}/submit"
        status, data = await self.call(actor, "POST", path)
        await self.outsider_answer(actor, item, "POST", path, None, status, data)
        if not self.expect(actor, f"submitting {item.id}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        item.server_state = data["state"]
        m.check_markers(actor, "the submitted item", data)

    async def _withdraw(self, actor: str, item: ItemModel) -> None:
        m = self.model
        must_fail = self.author_faults(actor, item)
        if item.server_state in ("relayed", "withheld", "withdrawn"):
            must_fail.append(f"the item is {item.server_state}")
        path = f"/api/v1/items/{item.id}/withdraw"
        status, data = await self.call(actor, "POST", path)
        await self.outsider_answer(actor, item, "POST", path, None, status, data)
        if not self.expect(actor, f"withdrawing {item.id}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        if data["state"] != "withdrawn":
            raise Leak(f"{actor}: withdrawing {item.id} left it {data['state']}")
        item.server_state, item.stopped = "withdrawn", "withdrawn by its author"
        m.check_markers(actor, "the withdrawn item", data)

    # -- vetting ------------------------------------------------------------------------------

    @rule(
        item=items,
        pick=st.integers(0, 63),
        who=st.sampled_from(DECIDERS),
        decision=st.sampled_from(
            ["approve", "approve", "approve", "withhold", "return", "escalate"]
        ),
        reason=st.sampled_from(REASONS),
        digest=st.sampled_from(["current"] * 6 + ["stale", "bogus"]),
        summary=st.sampled_from(["auto", "auto", "auto", "none", "always"]),
        note=st.booleans(),
        internal=st.booleans(),
    )
    def decide(
        self,
        item: str,
        pick: int,
        who: str,
        decision: str,
        reason: str | None,
        digest: str,
        summary: str,
        note: bool,
        internal: bool,
    ) -> None:
        """A practitioner (or anyone) decides on an item, sometimes on a stale digest."""
        chosen = self.steer(
            item, pick, lambda i: i.server_state in ("submitted", "escalated", "held")
        )
        actor = self.item_actor(who, chosen)
        self.run(self._decide(actor, chosen, decision, reason, digest, summary, note, internal))

    async def _decide(
        self,
        actor: str,
        item: ItemModel,
        decision: str,
        reason: str | None,
        digest: str,
        summary: str,
        note: bool,
        internal: bool,
    ) -> None:
        m = self.model
        case = m.cases[item.case]
        role = case.team.get(actor)
        version = item.current
        approvers = item.approvals.get(version.number, set())
        must_fail = []
        if role is None:
            must_fail.append(f"{actor} does not work on case {item.case}")
        if decision == "withhold" and reason not in WITHHOLD_REASONS:
            must_fail.append(f"withhold with reason {reason!r}")
        if decision == "return" and reason not in RETURN_REASONS:
            must_fail.append(f"return with reason {reason!r}")
        state = item.server_state
        if state == "escalated":
            if role != "supervisor":
                must_fail.append("an escalated item decided by someone other than the supervisor")
            elif decision == "escalate":
                must_fail.append("the supervisor escalating to themself")
        elif state == "held":
            needs_second = case.sensitive and 0 < len(approvers) < 2
            if not needs_second:
                must_fail.append("a held item that waits for no decision")
            elif decision == "approve" and actor in approvers:
                must_fail.append(f"{actor} approving twice (two-person rule)")
        elif state != "submitted":
            must_fail.append(f"the item is {state}")
        if decision == "approve" and version.scope == "facilitator_only":
            must_fail.append("approving a facilitator_only item (rule 2)")
        body: dict[str, Any] = {"decision": decision, "version_digest": version.digest}
        if digest == "stale":
            older = [v.digest for v in item.versions[:-1]]
            body["version_digest"] = older[-1] if older else "0" * 64
        if digest == "bogus":
            body["version_digest"] = "0" * 64
        if body["version_digest"] != version.digest:
            must_fail.append("a decision on a digest that is not the current version's")
        if reason is not None:
            body["reason"] = reason
        wants_summary = summary == "always" or (
            summary == "auto" and version.scope == "summary" and state != "held"
        )
        summary_text = None
        if wants_summary:
            summary_text = m.plant("summary", item.case, item.author, f"a summary of {item.id}")
            body["summary"] = summary_text
        elif decision == "approve" and version.scope == "summary" and state != "held":
            must_fail.append("approving a summary item without a summary")
        note_text = internal_text = None
        if note:
            note_text = m.plant("note", item.case, item.author, f"a note on {item.id}")
            body["note"] = note_text
        if internal:
            internal_text = m.plant("inote", item.case, None, f"an internal note on {item.id}")
            body["internal_note"] = internal_text
        for text in (summary_text, note_text, internal_text):
            if text:
                m.note_sent(actor, text)
        path = f"/api/v1/items/{item.id}/decisions"
        status, data = await self.call(actor, "POST", path, body)
        await self.outsider_answer(actor, item, "POST", path, body, status, data)
        if not self.expect(actor, f"{decision} of {item.id} ({state})", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        after = data["state"]
        if note_text:
            item.notes.append(note_text)  # the note to the author (policies/reasons.toml)
        if internal_text:
            item.internal_notes.append(internal_text)
        if decision == "approve":
            if after not in ("held", "relayed"):
                raise Leak(f"{actor}: approving {item.id} left it {after}")
            item.approvals.setdefault(version.number, set()).add(actor)
            if summary_text:
                for old in item.summaries:
                    if old.state == "proposed":
                        old.state = "superseded"
                item.summaries.append(Summary(version.number, summary_text, "proposed"))
        elif decision == "return":
            if after != "returned":
                raise Leak(f"{actor}: returning {item.id} left it {after}")
            item.retire_approvals()
        elif decision == "escalate" or (
            decision == "withhold" and reason == "serious_harm" and role != "supervisor"
        ):
            if after != "escalated":
                raise Leak(f"{actor}: {decision} ({reason}) of {item.id} left it {after} (3d 6)")
        else:
            if after != "withheld":
                raise Leak(f"{actor}: withholding {item.id} ({reason}) left it {after}")
            item.stopped = "withheld"
        item.server_state = after
        m.check_markers(actor, "the decided item", data)

    @rule(item=items, pick=st.integers(0, 63), who=st.sampled_from(AUTHORISH), agree=st.booleans())
    def answer_summary(self, item: str, pick: int, who: str, agree: bool) -> None:
        """The author agrees, or not, to the facilitator's summary."""
        chosen = self.steer(item, pick, lambda i: self.proposed(i) is not None)
        self.run(self._answer_summary(self.item_actor(who, chosen), chosen, agree))

    def proposed(self, item: ItemModel) -> Summary | None:
        """The summary of the current version waiting for its author's answer."""
        waiting = [
            s for s in item.summaries if s.version == item.current.number and s.state == "proposed"
        ]
        return waiting[-1] if waiting and item.server_state == "held" else None

    async def _answer_summary(self, actor: str, item: ItemModel, agree: bool) -> None:
        m = self.model
        must_fail = self.author_faults(actor, item)
        waiting = self.proposed(item)
        if waiting is None:
            must_fail.append("no summary waits for an answer")
        path = f"/api/v1/items/{item.id}/summary-consent"
        status, data = await self.call(actor, "POST", path, {"agree": agree})
        await self.outsider_answer(actor, item, "POST", path, {"agree": agree}, status, data)
        if not self.expect(actor, f"answering the summary of {item.id}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        assert waiting is not None
        waiting.state = "agreed" if agree else "declined"
        if not agree:
            item.retire_approvals()
            if data["state"] != "submitted":
                raise Leak(f"{actor}: declining the summary of {item.id} left it {data['state']}")
        item.server_state = data["state"]
        m.check_markers(actor, "the item after the summary answer", data)

    @rule(
        item=items,
        pick=st.integers(0, 63),
        nudge=st.sampled_from(["yes", "yes", "yes", "no"]),
        times=st.integers(1, 6),
    )
    def advance(self, item: str, pick: int, nudge: str, times: int) -> None:
        """The natural next steps for some items, by the right people (to get deep quickly)."""
        for turn in range(times):
            if turn:
                self.run(self.observe_deliveries())
            self.advance_one(item, pick + 7 * turn, nudge)

    def advance_one(self, item: str, pick: int, nudge: str) -> None:
        """One natural next step: submit, approve, agree, second approval, resume, be willing."""
        m = self.model
        chosen = self.steer(item, pick, lambda i: i.server_state not in ("relayed", "withdrawn"))
        state, version = chosen.server_state, chosen.current
        lead = ROLE_HOLDERS[chosen.case]["lead"]
        author = chosen.author or chosen.writer
        if state in ("draft", "returned"):
            self.run(self._submit(chosen.writer if pick % 3 == 0 else author, chosen))
        elif state == "submitted" and version.scope == "facilitator_only":
            self.run(
                self._decide(
                    lead, chosen, "withhold", "facilitator_only", "current", "none", False, False
                )
            )
        elif state == "submitted":
            self.run(
                self._decide(lead, chosen, "approve", None, "current", "auto", pick % 2 == 0, False)
            )
        elif state == "escalated":
            supervisor = ROLE_HOLDERS[chosen.case]["supervisor"]
            self.run(
                self._decide(supervisor, chosen, "approve", None, "current", "auto", False, False)
            )
        elif state == "held" and self.proposed(chosen) is not None:
            self.run(self._answer_summary(author, chosen, nudge == "yes"))
        elif (
            state == "held"
            and m.cases[chosen.case].sensitive
            and len(chosen.approvals.get(version.number, set())) == 1
        ):
            approvers = chosen.approvals[version.number]
            others = [s for s in m.cases[chosen.case].team if s not in approvers]
            if others:
                second = others[pick % len(others)]
                self.run(
                    self._decide(second, chosen, "approve", None, "current", "none", False, False)
                )
        elif chosen.delivered and (set(chosen.delivered) - chosen.read_by or pick % 5 == 0):
            unread = sorted(set(chosen.delivered) - chosen.read_by)
            reader = unread[0] if unread and pick % 5 else list(PARTICIPANTS)[pick % 5]
            self.run(self._mark_read(reader, chosen))
            if nudge == "no":
                self.run(self._decline(reader, chosen))
        elif m.cases[chosen.case].state == "paused":
            self.run(self._case_state(lead, chosen.case, "open"))
        elif version.recipients:
            target = version.recipients[pick % len(version.recipients)]
            if not m.people[target].consented:
                self.run(self._consent(lead, target, True))
            else:
                self.run(self._preferences(target, target, "me", nudge, 0, False))

    # -- people -------------------------------------------------------------------------------

    @rule(
        action=st.sampled_from(
            ["preferences"] * 4 + ["consent", "consent", "opt_out", "records", "records", "meeting"]
        ),
        who=st.sampled_from((*PARTICIPANTS, *PARTICIPANTS, "lead", "lead", "co", "nora", "max")),
        whom=st.sampled_from(tuple(PARTICIPANTS)),
        via=st.sampled_from(["me", "me", "behalf"]),
        receive=st.sampled_from(["yes", "yes", "no", "ask_first"]),
        topics=st.integers(0, 2),
        tell=st.booleans(),
        accepts=st.sampled_from([True, True, False, None]),
    )
    def people(
        self,
        action: str,
        who: str,
        whom: str,
        via: str,
        receive: str,
        topics: int,
        tell: bool,
        accepts: bool | None,
    ) -> None:
        """What a participant is willing to receive (themself, or a practitioner for them);
        informed consent recorded; opting out (everything pending to and from them stops);
        a meeting asked for, with a note; records asked for (by them, or a practitioner for
        them) and maybe released."""
        actor = self.holder(who, PARTICIPANTS[whom][0])
        if action == "opt_out" and sum(p.opted_out for p in self.model.people.values()) >= 2:
            action = "preferences"  # keep people in play
        if action == "preferences":
            if actor in PARTICIPANTS and via == "me":
                whom = actor
            self.run(self._preferences(actor, whom, via, receive, topics, tell))
        elif action == "consent":
            self.run(self._consent(actor, whom, accepts))
        elif action == "opt_out":
            self.run(self._opt_out(actor, whom, tell))
        elif action == "meeting":
            self.run(self._meeting(actor, tell))
        else:
            self.run(self._request_records(actor, whom))
            waiting = [d for d in self.model.disclosures.values() if not d.released]
            if waiting and accepts is not False:
                chosen = waiting[topics % len(waiting)]
                case = PARTICIPANTS[chosen.person][0]
                releaser = ("lead", "lead", "co", "olga", "nora", "sam")[topics + 3 * tell]
                self.run(self._release(self.holder(releaser, case), chosen))
                if chosen.first_approver and not chosen.released:
                    # The second approval: a colleague, the supervisor, a manager, or the
                    # first approver again (refused).
                    second = ("supervisor", "max", "co", "lead")[topics + tell]
                    self.run(self._release(self.holder(second, case), chosen))

    @rule(
        action=st.sampled_from(["state"] * 4 + ["watch_list", "conflict"]),
        who=st.sampled_from(
            ("lead", "lead", "lead", "supervisor", "supervisor", "co", "nora", "max", "olga", "sam")
        ),
        case=st.sampled_from(CASES),
        state=st.sampled_from(["paused", "open", "paused", "open", "paused", "open", "closed"]),
        terms=st.integers(1, 2),
    )
    def case_admin(self, action: str, who: str, case: str, state: str, terms: int) -> None:
        """Pause, resume or close a case; its watch list; a conflict of interest that comes to
        light (the co-worker then loses all access to case A, rule 6)."""
        if action == "conflict" and "cole" not in self.model.cases["A"].team:
            action = "watch_list"
        if action == "state":
            self.run(self._case_state(self.holder(who, case), case, state))
        elif action == "watch_list":
            self.run(self._watch_list(self.holder(who, case), case, terms))
        else:
            self.run(self._conflict("cole" if who == "co" else self.holder(who, "A")))

    async def _preferences(
        self, actor: str, target: str, via: str, receive: str, topics: int, tell: bool
    ) -> None:
        m = self.model
        person = m.people[target]
        case = m.cases[person.case]
        words = [
            m.plant("topic", person.case, target, f"a topic {target} does not want to hear about")
            for _ in range(topics)
        ]
        for word in words:
            m.note_sent(actor, word)
        body = {
            "receive": receive,
            "unwanted_topics": words,
            "delivery": "portal",
            "tell_author_when_read": tell,
        }
        if actor in PARTICIPANTS and via == "me":
            path, must_fail = "/api/v1/me/preferences", []
        else:
            path = f"/api/v1/cases/{case.id}/participants/{person.id}/preferences"
            must_fail = [] if m.works_on(actor, person.case) else [f"{actor} is not on the case"]
        status, data = await self.call(actor, "PUT", path, body)
        if actor in STAFF and not m.works_on(actor, person.case):
            await self.same_as_missing(actor, "PUT", path, body, status, data, [case.id, person.id])
        if not self.expect(actor, f"setting {target}'s preferences", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        if data["unwanted_topics"] != words or data["receive"] != receive:
            raise Leak(f"{actor}: preferences of {target} stored as {data!r}")
        person.receive, person.topics, person.tell_author_when_read = receive, words, tell
        m.check_markers(actor, "the stored preferences", data)

    async def _opt_out(self, actor: str, target: str, reason: bool) -> None:
        m = self.model
        if actor in PARTICIPANTS:
            target = actor
        person = m.people[target]
        case = m.cases[person.case]
        body: dict[str, Any] = {}
        if reason:
            body["reason"] = m.plant("optout", person.case, target, f"why {target} opted out")
            m.note_sent(actor, body["reason"])
        must_fail = [f"{target} already opted out"] if person.opted_out else []
        if actor in PARTICIPANTS:
            path = "/api/v1/me/opt-out"
        else:
            path = f"/api/v1/cases/{case.id}/participants/{person.id}/opt-out"
            if not m.works_on(actor, person.case):
                must_fail.append(f"{actor} is not on the case")
        status, data = await self.call(actor, "POST", path, body)
        if actor in STAFF and not m.works_on(actor, person.case):
            await self.same_as_missing(
                actor, "POST", path, body, status, data, [case.id, person.id]
            )
        if not self.expect(actor, f"opting {target} out", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        person.opted_out = True
        m.check_markers(actor, "the opted-out participant", data)

    async def _consent(self, actor: str, target: str, accepts: bool | None) -> None:
        m = self.model
        person = m.people[target]
        case = m.cases[person.case]
        must_fail = []
        if not m.works_on(actor, person.case):
            must_fail.append(f"{actor} is not on the case")
        if person.opted_out:
            must_fail.append(f"{target} opted out")
        if person.role == "responsible" and accepts is not True:
            must_fail.append("the person responsible did not accept responsibility")
        body: dict[str, Any] = {"information_sheet_version": "2026-1", "method": "in_person"}
        if accepts is not None:
            body["accepts_responsibility"] = accepts
        path = f"/api/v1/cases/{case.id}/participants/{person.id}/consent"
        status, data = await self.call(actor, "POST", path, body)
        if actor in STAFF and not m.works_on(actor, person.case):
            await self.same_as_missing(
                actor, "POST", path, body, status, data, [case.id, person.id]
            )
        if not self.expect(actor, f"recording {target}'s consent", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        person.consented = True
        m.check_markers(actor, "the participant record", data)

    async def _case_state(self, actor: str, case: str, state: str) -> None:
        m = self.model
        current = m.cases[case]
        must_fail = []
        if current.team.get(actor) not in ("lead", "supervisor"):
            must_fail.append(f"{actor} is not the lead or supervisor of case {case}")
        if current.state in ("closed", state):
            must_fail.append(f"the case is already {current.state}")
        path = f"/api/v1/cases/{current.id}/state"
        status, data = await self.call(actor, "POST", path, {"state": state})
        if actor in STAFF and not m.works_on(actor, case) and actor not in OVERSEERS:
            await self.same_as_missing(
                actor, "POST", path, {"state": state}, status, data, [current.id]
            )
        if not self.expect(actor, f"making case {case} {state}", status, must_fail):
            m.check_markers(actor, "an error answer", data)
            return
        current.state = state
        m.check_markers(actor, "the case", data)

    async def _conflict(self, actor: str) -> None:
        m = self.model
        case = m.cases["A"]
        may = actor == "cole" or case.team.get(actor) in ("lead", "supervisor") or actor == "max"
        must_fail = [] if may else [f"{actor} may not declare cole's conflict"]
        path = f"/api/v1/cases/{case.id}/practitioners/{self.staff_ids['cole']}/conflict"
        status, data = await self.call(actor, "POST", path, {"details": None})
        if self.expect(actor, "declaring cole's conflict", status, must_fail):
            del case.team["cole"]
        elif data:
            m.check_markers(actor, "an error answer", data)

    async def _watch_list(self, actor: str, case: str, terms: int) -> None:
        m = self.model
        words = [
            m.plant("watch", case, None, f"a watch-list term of case {case}") for _ in range(terms)
        ]
        for word in words:
            m.note_sent(actor, word)
        must_fail = [] if m.works_on(actor, case) else [f"{actor} is not on case {case}"]
        path = f"/api/v1/cases/{m.cases[case].id}/watch-list"
        status, data = await self.call(actor, "PUT", path, {"terms": words})
        self.expect(actor, f"setting case {case}'s watch list", status, must_fail)
        m.check_markers(actor, "the watch list answer", data)

    # -- receiving and records ----------------------------------------------------------------

    async def _meeting(self, actor: str, note: bool) -> None:
        m = self.model
        body: dict[str, Any] = {}
        must_fail = [] if actor in PARTICIPANTS else [f"{actor} is not a participant"]
        if note and actor in PARTICIPANTS:
            case = PARTICIPANTS[actor][0]
            body["note"] = m.plant("meeting", case, actor, f"{actor}'s note asking to meet")
            m.note_sent(actor, body["note"])
        status, data = await self.call(actor, "POST", "/api/v1/me/meeting-requests", body)
        self.expect(actor, "asking for a meeting", status, must_fail)
        m.check_markers(actor, "the meeting request answer", data)

    async def _decline(self, actor: str, item: ItemModel) -> None:
        m = self.model
        must_fail = [] if actor in item.delivered else [f"{item.id} was not relayed to {actor}"]
        path = f"/api/v1/items/{item.id}/decline-response"
        status, data = await self.call(actor, "POST", path)
        await self.outsider_answer(actor, item, "POST", path, None, status, data)
        self.expect(actor, f"declining to answer {item.id}", status, must_fail)
        m.check_markers(actor, "the decline answer", data)

    async def _mark_read(self, actor: str, item: ItemModel) -> None:
        m = self.model
        must_fail = [] if actor in item.delivered else [f"{item.id} was not relayed to {actor}"]
        path = f"/api/v1/items/{item.id}/read"
        status, data = await self.call(actor, "POST", path)
        await self.outsider_answer(actor, item, "POST", path, None, status, data)
        if self.expect(actor, f"marking {item.id} read", status, must_fail):
            item.read_by.add(actor)
        m.check_markers(actor, "the read receipt answer", data)

    async def _request_records(self, actor: str, target: str) -> None:
        m = self.model
        if actor in PARTICIPANTS:
            target, path, must_fail = actor, "/api/v1/me/disclosure-requests", []
        else:
            person = m.people[target]
            path = (
                f"/api/v1/cases/{m.cases[person.case].id}/participants/{person.id}"
                "/disclosure-requests"
            )
            must_fail = [] if m.works_on(actor, person.case) else [f"{actor} is not on the case"]
        status, data = await self.call(actor, "POST", path)
        if self.expect(actor, f"asking for {target}'s records", status, must_fail):
            m.disclosures[data["id"]] = DisclosureModel(data["id"], target)
            self.labels[data["id"]] = f"<records request {len(m.disclosures)}>"
        m.check_markers(actor, "the records request answer", data)

    async def _release(self, actor: str, request: DisclosureModel) -> None:
        """Two people release records: a practitioner on the case approves first; a different
        person (on the case, or a manager) approves second, and that releases them."""
        m = self.model
        case = PARTICIPANTS[request.person][0]
        on_case, manager = m.works_on(actor, case), STAFF.get(actor) == "manager"
        must_fail = []
        if request.released:
            must_fail.append("the records were released already")
        elif not on_case and not manager:
            must_fail.append(f"{actor} is not on case {case}")
        elif request.first_approver is None and not on_case:
            must_fail.append(f"{actor}, a manager, may not give the first approval")
        elif request.first_approver == actor:
            must_fail.append(f"{actor} gave the first approval already")
        path = f"/api/v1/disclosure-requests/{request.id}/release"
        status, data = await self.call(actor, "POST", path)
        if not on_case and not manager:
            await self.same_as_missing(actor, "POST", path, None, status, data, [request.id])
        if self.expect(actor, f"approving {request.person}'s records", status, must_fail):
            if request.first_approver is None:
                request.first_approver = actor
                if data.get("state") != "awaiting_second_approval":
                    raise Leak(f"{actor}'s first approval released the records: {data!r}")
            else:
                request.released = True
                if data.get("state") != "released":
                    raise Leak(f"the second approval by {actor} did not release them: {data!r}")
        m.check_markers(actor, "the release answer", data)

    # -- the invariant ----------------------------------------------------------------------

    @invariant()
    def nothing_is_seen_that_may_not_be(self) -> None:
        """After any change: what was relayed, judged by the rules now, and in turn one more
        way of reading for one more person (see ``PROBES``); the log records always."""
        self.check_logs()
        if not self.dirty:
            self.book.stats["checks without a change"] += 1
            return
        started = time.perf_counter()
        self.run(self.check_after_a_change())
        self.book.seconds["checks"] += time.perf_counter() - started
        self.book.stats["checks"] += 1

    def check_logs(self) -> None:
        """Rule 7 and SECURITY.md: no log record holds a planted text (nor any text)."""
        found = self.book.logs.found
        if found:
            lines = "\n  ".join(found[:5])
            raise Leak(f"the service logged planted text:\n  {lines}")

    async def check_after_a_change(self) -> None:
        """The checks after a step that changed something.

        Refused steps change nothing (tests/test_access_table.py shows every refusal leaves
        the audit log as it was), so the views cannot have moved and are not read again.
        """
        self.checks += 1
        await self.observe_deliveries()
        probe = PROBES[(self.offset + self.checks) % len(PROBES)]
        await getattr(self, probe)(self.offset + 3 * self.checks)

    async def check_at_the_end(self) -> None:
        """The end of a run: both cases' records and the inboxes of everyone who got something
        (and of one more); one more participant's own items; every item as someone of its
        case who may not see it (and as its author once it went out); a member of staff, or a
        participant's pages, in turn; the audit log; the log records."""
        m = self.model
        self.touched = set(CASES)
        self.dirty = True
        people = list(PARTICIPANTS)
        n = self.offset + 3 * self.checks
        await self.observe_deliveries(also=people[n % len(people)])
        await self.check_own_items(people[(n + 2) % len(people)])
        for n, item in enumerate(list(m.items.values())):
            same = participants_of(item.case)
            others = [k for k in same if not m.may_see_item(k, item)]
            if others:
                await self.check_item_as(others[(self.offset + n) % len(others)], item)
            if item.delivered and item.author is not None:
                await self.check_item_as(item.author, item)
        await self.check_packages()
        if n % 3 == 2:
            await self.probe_participant_pages(n // 3)
        else:
            await self.probe_staff(n // 3, overseer=n % 3 == 0)
        status, data = await self.call("max", "GET", "/api/v1/audit/verify", action=False)
        if status != 200 or data.get("ok") is not True:
            raise Leak(f"the audit log does not verify: {status} {data!r} (rule 7)")
        self.check_logs()

    async def observe_deliveries(self, *, also: str | None = None) -> None:
        """Learn what was relayed, judging each new delivery by the rules *now*: so this runs
        after every change (the invariant, and between the actions of ``advance``).

        The leads' lists of the touched cases say who got what; the inboxes of those with
        something new are read and each new entry judged as they see it. At the end of a
        run (``also`` given) every inbox with anything in it is read again, and ``also``'s."""
        m = self.model
        if not self.dirty:
            return {}
        touched, self.touched, self.dirty = self.touched or set(CASES), set(), False
        fresh: set[str] = set()
        for case in sorted(touched):
            fresh |= await self.check_case_record(case)
        if also is not None:
            fresh |= {also} | {k for i in m.items.values() for k in (*i.delivered, *i.listed)}
        for key in sorted(fresh):
            status, data = await self.call(key, "GET", "/api/v1/inbox", action=False)
            assert status == 200, (key, status, data)
            for entry in data["items"]:
                if entry.get("id") not in m.items:
                    raise Leak(f"{key}'s inbox holds {entry.get('id')}, which no one made")
                m.accept_delivery(m.items[entry["id"]], key, entry)
            shown = {entry["id"] for entry in data["items"]}
            gone = {i.id for i in m.items.values() if key in i.delivered} - shown
            if gone:
                raise Leak(f"{key}'s inbox lost items {sorted(gone)} once relayed")
            m.check_markers(key, "GET /api/v1/inbox", data)
        listed_only = {
            f"item {i.id} to {k}"
            for i in m.items.values()
            for k in (i.listed & fresh) - set(i.delivered)
        }
        if listed_only:
            raise Leak(
                "delivered, by the case's record, but not in the inbox: " + "; ".join(listed_only)
            )
        overdue = m.overdue()
        if overdue:
            raise Leak(
                "every rule lets these through, yet they were not relayed (rule 1, API.md "
                "'relayed within the same request'): " + "; ".join(overdue)
            )

    async def check_case_record(self, case: str) -> set[str]:
        """The lead's list: states into the model, every recorded delivery checked; returns
        the recipients of deliveries not seen before."""
        m = self.model
        lead = ROLE_HOLDERS[case]["lead"]
        path = f"/api/v1/cases/{m.cases[case].id}/items"
        status, data = await self.call(lead, "GET", path, action=False)
        assert status == 200, (status, data)
        fresh = set()
        for view in data["items"]:
            item = m.items.get(view["id"])
            if item is None:
                raise Leak(f"case {case} holds item {view['id']}, which no successful request made")
            item.server_state = view["state"]
            for delivery in view["deliveries"]:
                recipient = m.key_of_participant_id.get(delivery["recipient_id"])
                if recipient is None:
                    raise Leak(f"item {item.id} was delivered to a non-participant")
                if recipient not in item.delivered:
                    m.accept_listed_delivery(item, recipient)
                    item.listed.add(recipient)
                    fresh.add(recipient)
        return fresh

    async def check_events(self, case: str) -> None:
        """Rule 7: the case's record holds ids and digests, never text."""
        m = self.model
        lead = ROLE_HOLDERS[case]["lead"]
        path = f"/api/v1/cases/{m.cases[case].id}/events"
        status, events = await self.call(lead, "GET", path, action=False)
        assert status == 200, (status, events)
        found = MARKER.findall(json.dumps(events))
        if found:
            raise Leak(f"case {case}'s events hold text: {[m.describe(t) for t in found]} (rule 7)")

    async def missing_answer(self, who: str, path: str) -> tuple[int, Any]:
        """What ``who`` gets at ``path`` (an API item, or a page, with ``{id}`` in it) for an
        item that does not exist: asked once per run and person."""
        key = (who, path)
        if key not in self.missing:
            status, data = await self.call(who, "GET", path.format(id=uuid.uuid4()), action=False)
            assert status == 404, (who, path, status, data)
            self.missing[key] = (status, error_of(data) if path.startswith("/api/") else None)
        return self.missing[key]

    async def check_item_as(self, who: str, item: ItemModel) -> None:
        """GET /items/{id}: the author's view, the relayed view, or exactly 'not found'."""
        m = self.model
        status, data = await self.call(who, "GET", f"/api/v1/items/{item.id}", action=False)
        where = f"GET /api/v1/items/{item.id}"
        if not m.may_see_item(who, item):
            if (status, error_of(data)) != await self.missing_answer(who, "/api/v1/items/{id}"):
                raise Leak(
                    f"{who} may not see {item.id} but got {status} {data!r}, not what a "
                    "missing item gives (rules 5, 6)"
                )
            return
        if status != 200:
            raise Leak(f"{who} may see {item.id} but got {status} {data!r}")
        if who in PARTICIPANTS and item.author == who:
            hidden = PRACTITIONER_ONLY_KEYS & set(data)
            if hidden:
                raise Leak(f"{who}, the author, sees practitioners' fields {sorted(hidden)}")
            if data["body"] != item.current.body or data["version"] != item.current.number:
                raise Leak(f"{who}'s own item {item.id} shows another text or version")
            for delivery in data.get("deliveries", []):
                reader = m.key_of_participant_id.get(delivery["recipient_id"], "?")
                if delivery.get("read_at") and not (
                    reader in item.read_by and m.people[reader].tell_author_when_read
                ):
                    raise Leak(
                        f"{who} learns that {reader} read {item.id}; {reader} did not allow it"
                    )
        elif who in PARTICIPANTS:
            got = item.delivered.get(who)
            if got is None:
                raise Leak(f"{who} opens {item.id}, relayed to them by no inbox: {data!r}")
            if set(data) - DELIVERY_VIEW_KEYS or data.get("body") != got.body:
                raise Leak(f"{who}, a recipient, sees {item.id} as {data!r}, not as relayed")
        m.check_markers(who, where, data)

    async def check_own_items(self, key: str) -> None:
        """A participant's own items, as the API lists them: theirs, all of them, and without
        the practitioners' fields."""
        m = self.model
        status, data = await self.call(key, "GET", "/api/v1/me/items", action=False)
        assert status == 200, (status, data)
        own = {i.id for i in m.items.values() if i.author == key}
        listed = {view["id"] for view in data["items"]}
        if listed != own:
            raise Leak(f"{key}'s own items are {sorted(listed)}, the model says {sorted(own)}")
        for view in data["items"]:
            hidden = PRACTITIONER_ONLY_KEYS & set(view)
            if hidden:
                raise Leak(f"{key}'s own items show practitioners' fields {sorted(hidden)}")
        m.check_markers(key, "GET /api/v1/me/items", data)

    # -- the probes: one more way of reading after each change, in turn ---------------------

    def rotating_participant(self, n: int) -> str:
        """A participant, in turn; more often one of the touched case's."""
        return list(PARTICIPANTS)[n % len(PARTICIPANTS)]

    async def probe_own_views(self, n: int) -> None:
        """A participant's own items and facts, their session, their records requests, and
        one practitioners' view of their own case (refused)."""
        m = self.model
        key = self.rotating_participant(n)
        person = m.people[key]
        await self.check_own_items(key)
        status, data = await self.call(key, "GET", "/api/v1/me", action=False)
        assert status == 200, (status, data)
        if data["id"] != person.id or data["preferences"]["unwanted_topics"] != person.topics:
            raise Leak(f"{key}'s own facts are not their own: {data!r}")
        m.check_markers(key, "GET /api/v1/me", data)
        for path in ("/api/v1/session", "/api/v1/me/disclosure-requests")[n % 2 :][:1]:
            status, data = await self.call(key, "GET", path, action=False)
            assert status == 200, (path, status, data)
            m.check_markers(key, path, data)
            if path.endswith("requests"):
                mine = {d.id for d in m.disclosures.values() if d.person == key}
                if {r["id"] for r in data["requests"]} != mine:
                    raise Leak(f"{key}'s records requests are {data['requests']!r}")
        others = [k for k in participants_of(person.case) if k != key]
        probes = (*STAFF_VIEWS, "", f"/participants/{m.people[others[0]].id}")
        path = f"/api/v1/cases/{m.cases[person.case].id}{probes[n % len(probes)]}"
        status, data = await self.call(key, "GET", path, action=False)
        if status < 400:
            raise Leak(self.label(f"{key}, a participant, may read {path}: {status}"))
        m.check_markers(key, path, data)

    async def probe_items(self, n: int) -> None:
        """A few items of a participant's case by id, as they may or may not see them."""
        m = self.model
        key = self.rotating_participant(n)
        case = PARTICIPANTS[key][0]
        mine = [i for i in m.items.values() if i.case == case]
        for item in (mine[n % len(mine) :] + mine[: n % len(mine)])[:3] if mine else []:
            await self.check_item_as(key, item)
        foreign = [i for i in m.items.values() if i.case != case]
        if foreign:
            await self.check_item_as(key, foreign[n % len(foreign)])

    async def probe_participant_pages(self, n: int) -> None:
        """The pages: a participant's home, inbox and records pages, an item they may read,
        and the page of an item of their case that is not theirs (not found, as if missing)."""
        m = self.model
        key = self.rotating_participant(n)
        for path in ("/my/inbox", ("/my", "/my/records")[n % 2]):
            status, html = await self.call(key, "GET", path, action=False)
            if status != 200:
                raise Leak(f"{key} cannot open their page {path}: {status}")
            m.check_markers(key, f"the page {path}", html)
        case = PARTICIPANTS[key][0]
        items = [i for i in m.items.values() if i.case == case]
        if not items:
            return
        item = items[n % len(items)]
        for page in ("/my/items/{id}", "/my/inbox/{id}/read")[n // 2 % 2 :][:1]:
            status, html = await self.call(key, "GET", page.format(id=item.id), action=False)
            allowed = item.author == key if page.startswith("/my/items") else key in item.delivered
            if not allowed and status != (await self.missing_answer(key, page))[0]:
                raise Leak(
                    f"{key} gets {status} for the page {page} of {item.id}, not theirs; "
                    "a missing item gives 404 (rule 5)"
                )
            m.check_markers(key, f"the page {page.format(id=item.id)}", html)

    async def probe_staff(self, n: int, *, overseer: bool = False) -> None:
        """A member of staff (in turn; or a manager or an admin): only the cases they work
        on, by the API and the pages; managers no content at all."""
        m = self.model
        if overseer:
            key = OVERSEERS[n % len(OVERSEERS)]
        elif "cole" not in m.cases["A"].team and n % 2:
            key = "cole"  # declared a conflict: must have lost case A
        else:
            workers = [s for s in STAFF if s not in OVERSEERS]
            key = workers[n % len(workers)]
        mine = m.cases_of(key)
        status, data = await self.call(key, "GET", "/api/v1/cases", action=False)
        assert status == 200, (key, status, data)
        listed = {view["id"] for view in data["cases"]}
        if key in OVERSEERS:
            if listed != {c.id for c in m.cases.values()}:
                raise Leak(f"{key}, a {STAFF[key]}, lists cases {listed}")
            for view in data["cases"]:
                content = {"reference", "participants", "practitioners"} & set(view)
                if content:
                    raise Leak(f"{key}, a {STAFF[key]}, sees case content {sorted(content)}")
        elif listed != {m.cases[c].id for c in mine}:
            raise Leak(self.label(f"{key} lists cases {sorted(listed)}, works on {sorted(mine)}"))
        m.check_markers(key, "GET /api/v1/cases", data)
        for case in m.cases.values():
            if case.key in mine:
                continue  # their own case: every view of it is theirs
            path = f"/api/v1/cases/{case.id}"
            status, data = await self.call(key, "GET", path, action=False)
            if key in OVERSEERS:
                assert status == 200, (key, path, status, data)
            else:
                await self.same_as_missing(key, "GET", path, None, status, data, [case.id])
            m.check_markers(key, path, data)
            someone = m.people[participants_of(case.key)[n % 2]]
            inner = (*STAFF_VIEWS, f"/participants/{someone.id}")[n % (len(STAFF_VIEWS) + 1)]
            status, data = await self.call(key, "GET", path + inner, action=False)
            await self.same_as_missing(
                key, "GET", path + inner, None, status, data, [case.id, someone.id]
            )
            m.check_markers(key, path + inner, data)
            status, html = await self.call(key, "GET", f"/cases/{case.id}", action=False)
            if key not in OVERSEERS and status != 404:
                raise Leak(f"{key} opens the page of case {case.key}, not theirs: {status}")
            m.check_markers(key, f"the page of case {case.key}", html)
        if key not in OVERSEERS:
            status, data = await self.call(key, "GET", "/api/v1/queue", action=False)
            assert status == 200, (key, status, data)
            for view in data["items"]:
                if view["id"] not in m.items or m.items[view["id"]].case not in mine:
                    raise Leak(f"{key}'s queue holds {view['id']} from a case they do not work on")
            m.check_markers(key, "GET /api/v1/queue", data)
        strange = [i for i in m.items.values() if i.case not in mine]
        if strange:
            await self.check_item_as(key, strange[n % len(strange)])

    async def probe_records(self, n: int) -> None:
        """A case's record (rule 7), released packages, and a practitioner's live queue
        counts (the only notice the service sends): their own queue's numbers."""
        await self.check_events(CASES[n % 2])
        await self.check_packages()
        key = ("lee", "olga", "cole", "nora", "sue")[n % 5]
        status, data = await self.call(key, "GET", "/api/v1/queue", action=False)
        assert status == 200, (key, status, data)
        assert self.client is not None
        headers = {"Cookie": f"shuttle_session={self.tokens[key]}"}
        async with self.client.get("/queue/live", headers=headers) as stream:
            assert stream.status == 200, stream.status
            line = b""
            while not line.startswith(b"data:"):
                line = await stream.content.readline()
        self.book.stats["check GET /queue/live 200"] += 1
        counts = json.loads(line[5:])
        self.model.check_markers(key, "the live queue counts", counts)
        mine = self.model.cases_of(key)
        waiting = [i for i in self.model.items.values() if i.case in mine]
        if any(isinstance(v, int) and v > len(waiting) for v in counts.values()):
            raise Leak(f"{key}'s live counts {counts} count more items than their cases hold")

    async def check_packages(self) -> None:
        """Each released records package, once: only what its requester may see."""
        m = self.model
        for request in m.disclosures.values():
            if not request.released or request.checked:
                continue
            key, person = request.person, m.people[request.person]
            path = f"/api/v1/disclosure-requests/{request.id}/package"
            status, data = await self.call(key, "GET", path, action=False)
            if status != 200:
                raise Leak(f"{key} cannot download their released records: {status} {data!r}")
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                raw = {name: archive.read(name) for name in archive.namelist()}
            files = {name: body.decode() for name, body in raw.items() if name != "records.pdf"}
            if "records.pdf" in raw:  # the PDF's words, as a reader (or a screen reader) gets them
                files["records.pdf"] = await asyncio.to_thread(pdf_text, raw["records.pdf"])
            for name in ("records.json", "records.html", "records.pdf"):
                if name not in files:
                    raise Leak(f"{key}'s package has no {name}")
            for name, text in files.items():
                m.check_markers(key, f"their records package, {name}", text)
            records = json.loads(files["records.json"])
            if records["you"]["id"] != person.id:
                raise Leak(f"{key}'s package is about {records['you']['id']}")
            wrote = {i["id"] for i in records["items_you_wrote"]}
            got = {i["id"] for i in records["items_relayed_to_you"]}
            if not wrote <= {i.id for i in m.items.values() if i.author == key}:
                raise Leak(f"{key}'s package lists items they did not write: {sorted(wrote)}")
            if not got <= {i.id for i in m.items.values() if key in i.delivered}:
                raise Leak(f"{key}'s package lists items not relayed to them: {sorted(got)}")
            same = [k for k in participants_of(person.case) if k != key]
            others = [
                same[self.checks % len(same)],
                participants_of(other_case(person.case))[self.checks % 2],
                *[s for s in STAFF if not m.works_on(s, person.case)][self.checks % 3 :][:1],
            ]
            for other in others:
                for probe in (path, f"/api/v1/disclosure-requests/{request.id}"):
                    status, data = await self.call(other, "GET", probe, action=False)
                    await self.same_as_missing(
                        other, "GET", probe, None, status, data, [request.id]
                    )
            request.checked = True


# -- the tests ---------------------------------------------------------------------------------


# -- the oracle itself can fail: fabricated leaks ---------------------------------------------


def toy_model() -> tuple[Model, ItemModel]:
    """A model with the whole cast and one letter from rob to sam, approved but not relayed."""
    m = Model()
    for case in CASES:
        m.cases[case] = CaseModel(case, f"case-{case}", False, "")
        m.cases[case].reference = m.plant("ref", case, None, f"reference of {case}")
        m.cases[case].team = dict(TEAMS[case])
    for key, (case, role) in PARTICIPANTS.items():
        name = m.plant("name", case, key, f"{key}'s name")
        shown = m.plant("shown", case, key, f"{key} shown as")
        m.add_person(Person(key, case, role, f"id-{key}", name, shown, consented=True))
    body = m.plant("body", "A", "rob", "rob's letter") + " I am sorry."
    item = ItemModel(
        id="item-1",
        case="A",
        kind="letter",
        author="rob",
        writer="rob",
        assisted=False,
        versions=[Version(1, body, "verbatim", ("sam",), "d1")],
        server_state="held",
        approvals={1: {"lee"}},
    )
    m.items[item.id] = item
    return m, item


def inbox_entry(m: Model, item: ItemModel, body: str, tag: str = "own_words") -> dict[str, Any]:
    """An inbox entry as the server would show it."""
    shown = m.people["rob"].shown_as
    return {
        "id": item.id,
        "kind": item.kind,
        "body": body,
        "attribution": {"tag": tag, "label": f"In {shown}'s own words"},
        "from": shown,
        "response_wanted": "none",
        "relayed_at": "2026-01-01T00:00:00+00:00",
        "read_at": None,
    }


def test_the_checker_sees_another_participants_words() -> None:
    """A view showing sam rob's unrelayed letter, or otto's name, is a leak; sam's own is not."""
    m, item = toy_model()
    m.check_markers("sam", "GET /api/v1/me", {"display_name": m.people["sam"].name})
    m.check_markers("rob", "GET /api/v1/me/items", [{"body": item.current.body}])
    with pytest.raises(Leak, match="rob's letter"):
        m.check_markers("sam", "GET /api/v1/items/item-1", {"body": item.current.body})
    with pytest.raises(Leak, match="otto's name"):
        m.check_markers("sam", "records.html", f"<td>{m.people['otto'].name}</td>".encode())
    with pytest.raises(Leak, match="reference of A"):
        m.check_markers("otto", "GET /api/v1/me", {"case": m.cases["A"].reference})
    with pytest.raises(Leak):
        m.check_markers("max", "GET /api/v1/cases", {"reference": m.cases["B"].reference})
    with pytest.raises(Leak, match="never planted"):
        m.check_markers("sam", "GET /api/v1/inbox", "MARK-body-999-abcdef")
    # Staff: their own cases only.
    m.check_markers("lee", "GET /api/v1/cases/case-A", {"x": item.current.body})
    with pytest.raises(Leak):
        m.check_markers("olga", "GET /api/v1/queue", {"x": item.current.body})


def test_the_checker_refuses_a_relay_the_rules_forbid() -> None:
    """A delivery to an unwilling recipient, of other words, or with the wrong tag, fails."""
    m, item = toy_model()
    with pytest.raises(Leak, match="not willing"):
        m.accept_delivery(item, "sam", inbox_entry(m, item, item.current.body))
    m.people["sam"].receive = "yes"
    with pytest.raises(Leak, match="not what may be relayed"):
        m.accept_delivery(item, "sam", inbox_entry(m, item, "other words"))
    with pytest.raises(Leak, match="rule 4"):
        m.accept_delivery(item, "sam", inbox_entry(m, item, item.current.body, "own_view"))
    m.cases["A"].state = "paused"
    with pytest.raises(Leak, match="paused"):
        m.accept_delivery(item, "sam", inbox_entry(m, item, item.current.body))
    m.cases["A"].state = "open"
    assert m.overdue() == ["item item-1 (verbatim) to sam"]
    m.accept_delivery(item, "sam", inbox_entry(m, item, item.current.body))
    assert m.overdue() == []
    m.check_markers("sam", "GET /api/v1/inbox", [{"body": item.current.body}])
    with pytest.raises(Leak, match="to otto"):
        m.accept_listed_delivery(item, "otto")


def test_the_checker_refuses_original_words_of_a_summary_item() -> None:
    """Rule 3: only an agreed summary may reach the recipient, never the original words."""
    m, item = toy_model()
    m.people["sam"].receive = "yes"
    item.versions[0].scope = "summary"
    summary = m.plant("summary", "A", "rob", "a summary of rob's letter")
    item.summaries.append(Summary(1, summary, "proposed"))
    with pytest.raises(Leak, match="agreed to no summary"):
        m.accept_delivery(item, "sam", inbox_entry(m, item, summary, "facilitator_summary"))
    item.summaries[0].state = "agreed"
    with pytest.raises(Leak, match="not what may be relayed"):
        m.accept_delivery(
            item, "sam", inbox_entry(m, item, item.current.body, "facilitator_summary")
        )
    m.accept_delivery(item, "sam", inbox_entry(m, item, summary, "facilitator_summary"))
    # The recipient has the summary; the original words stay rob's alone.
    with pytest.raises(Leak, match="rob's letter"):
        m.check_markers("sam", "records.json", json.dumps({"body": item.current.body}))
    internal = m.plant("inote", "A", None, "an internal note")
    item.internal_notes.append(internal)
    with pytest.raises(Leak, match="internal note"):
        m.check_markers("rob", "GET /api/v1/items/item-1", {"note": internal})


async def test_a_held_item_cannot_be_submitted_again(client: Any, runtime: Any) -> None:
    """DESIGN.md's item states: submit leads from draft (or a revised returned item) only.

    Found by the state machine (fixed in a0406c9): an author's submit of a ``held`` item (here
    waiting for their answer to the facilitator's summary) answered 200 and put it back in the
    queue.
    """
    scene = await build_case(client, runtime)
    item = await scene.write("rob", "Words to summarise.", scope="summary")
    held = await scene.decide(item["id"], summary="Rob says sorry.")
    assert held["state"] == "held"
    status, data = await scene.api.call(
        "POST", f"/api/v1/items/{item['id']}/submit", scene.people["rob"].token
    )
    assert status == 409, f"submitting a held item answered {status}, state {data.get('state')}"


async def test_a_summary_of_a_practitioners_own_item_relays_the_summary(
    client: Any, runtime: Any
) -> None:
    """Rule 3: a ``summary`` item relays only the agreed summary, never the original words.

    Found by the state machine (fixed in a0406c9): for a practitioner's own item (no
    participant author) the recipient got the original body, whatever the scope.
    """
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    api, lead = scene.api, scene.lead
    _, item = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        lead,
        {
            "kind": "assessment",
            "body": "The facilitator's full private assessment.",
            "sharing": {"scope": "summary", "recipient_ids": [scene.people["sam"].id]},
        },
        expect=201,
    )
    await api.call("POST", f"/api/v1/items/{item['id']}/submit", lead, expect=200)
    await scene.decide(item["id"], by="colleague", summary="A short summary for Sam.")
    await api.call(
        "POST", f"/api/v1/items/{item['id']}/summary-consent", lead, {"agree": True}, expect=200
    )
    bodies = [entry["body"] for entry in await scene.inbox("sam")]
    assert bodies == ["A short summary for Sam."], bodies


def run_machine(book: CastBook, examples: int, steps: int, **extra: Any) -> None:
    """Run the state machine with a cast book."""
    machine = type("LeakMachineRun", (LeakMachine,), {"book": book})
    if os.environ.get("SHUTTLE_TEST_STATEFUL_SHRINK") == "0" and "phases" not in extra:
        extra["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
            ],
            **extra,
        ),
    )


def break_willingness(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 1: relay to recipients who did not say yes."""
    from shuttle import relay

    def ready(recipient: Any, case_id: str) -> bool:
        return (
            recipient is not None and recipient.case_id == case_id and recipient.state == "active"
        )

    monkeypatch.setattr(relay, "recipient_ready", ready)


def break_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 1: a paused case relays anyway."""
    from shuttle import relay

    original = relay.blockers

    async def blockers(tx: Any, item: Any, version: Any) -> list[str]:
        return [b for b in await original(tx, item, version) if b != "case_not_open"]

    monkeypatch.setattr(relay, "blockers", blockers)


def break_two_person_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Section B: one approval is enough in a sensitive case."""
    from shuttle import relay

    original = relay.blockers

    async def blockers(tx: Any, item: Any, version: Any) -> list[str]:
        return [b for b in await original(tx, item, version) if b != "second_approval"]

    monkeypatch.setattr(relay, "blockers", blockers)


def break_summaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 3: a summary item relays its original words."""
    from shuttle import relay

    original = relay._attribution

    async def attribution(tx: Any, item: Any, version: Any) -> tuple[str, str, str]:
        tag, name, _ = await original(tx, item, version)
        cipher = await tx.cipher(item.case_id)
        body = cipher.open(version.body_enc, row=f"item_version:{version.id}", field="body")
        return tag, name, body

    monkeypatch.setattr(relay, "_attribution", attribution)


def break_case_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rules 5 and 6: a supervisor with no place on a case is given any assignment of it (a
    dropped scope check in ``access.assignment``: docs/security.md's broken build)."""
    from sqlmodel import select

    from shuttle import access

    original = access.assignment

    async def assignment(tx: Any, actor: Any, case_id: str) -> Any:
        try:
            return await original(tx, actor, case_id)
        except access.NotFound:
            if actor.role != "supervisor":
                raise
            query = select(access.Assignment).where(access.Assignment.case_id == case_id)
            found = (await tx.session.exec(query)).first()
            if found is None:
                raise
            await tx.lock_case(case_id)
            return found

    monkeypatch.setattr(access, "assignment", assignment)


def break_item_access(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 5: a participant may open any item of their case."""
    from shuttle import access

    original = access.item

    async def item(tx: Any, actor: Any, item_id: str) -> Any:
        try:
            return await original(tx, actor, item_id)
        except access.NotFound:
            found = await tx.session.get(access.Item, item_id)
            if actor.is_participant and found is not None and found.case_id == actor.case_id:
                return access.ItemAccess(found, as_author=True)
            raise

    monkeypatch.setattr(access, "item", item)


def break_manager_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """API.md: managers see states and counts, not content."""
    from shuttle import cases

    original = cases.case_view

    async def case_view(tx: Any, case: Any, *, content: bool) -> dict[str, Any]:
        return await original(tx, case, content=True)

    monkeypatch.setattr(cases, "case_view", case_view)


def break_conflicts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 6: a practitioner keeps the case after declaring a conflict of interest."""
    from sqlmodel import col

    from shuttle import access

    def working_places(user_id: str) -> tuple[Any, ...]:
        return (col(access.Assignment.user_id) == user_id,)

    monkeypatch.setattr(access, "working_places", working_places)


def break_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """3d 8: a records package with every participant of the case in it."""
    from sqlmodel import select

    from shuttle import disclosure
    from shuttle.models import Participant

    original = disclosure.compile_records

    async def compile_records(
        tx: Any, participant: Any, request: Any, **released: Any
    ) -> dict[str, Any]:
        records = await original(tx, participant, request, **released)
        query = select(Participant).where(Participant.case_id == participant.case_id)
        everyone = (await tx.session.exec(query)).all()
        records["everyone"] = [await disclosure.participant_view(tx, p) for p in everyone]
        return records

    monkeypatch.setattr(disclosure, "compile_records", compile_records)


def break_item_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 5 on the pages: a participant's item page opens any item of their case."""
    from shuttle import access, items
    from shuttle.api.http import runtime
    from shuttle.pages.participant import my_items
    from shuttle.pages.web import signed_in

    async def own_item(request: Any, *, editable: bool = False) -> dict[str, Any]:
        actor = await signed_in(request)
        async with runtime(request).read() as tx:
            found = await tx.session.get(access.Item, request.match_info["item_id"])
            if found is None or found.case_id != actor.case_id:
                raise access.NotFound()
            return await items.item_view(tx, actor, access.ItemAccess(found, as_author=True))

    monkeypatch.setattr(my_items, "own_item", own_item)


def break_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule 7 and SECURITY.md: the service logs what people wrote."""
    from shuttle import items

    original = items.create_item

    async def create_item(rt: Any, actor: Any, case_id: str, **fields: Any) -> Any:
        logging.getLogger("shuttle.items").info("new item: %s", fields.get("body"))
        return await original(rt, actor, case_id, **fields)

    monkeypatch.setattr(items, "create_item", create_item)


MUTANTS = {
    f.__name__: f
    for f in (
        break_case_scope,
        break_item_page,
        break_logging,
        break_willingness,
        break_pause,
        break_two_person_rule,
        break_summaries,
        break_item_access,
        break_manager_view,
        break_conflicts,
        break_records,
    )
}


@pytest.mark.skipif(
    not os.environ.get("SHUTTLE_TEST_STATEFUL_MUTANTS"),
    reason="slow: set SHUTTLE_TEST_STATEFUL_MUTANTS=1 to check that the machine finds planted bugs",
)
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_machine_finds_a_planted_bug(
    mutant: str, database_factory: DatabaseFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break one rule in the running server (monkeypatched, nothing in shuttle/ edited): the
    state machine must notice within the runs ``make test`` gives it (``EXAMPLES``)."""
    MUTANTS[mutant](monkeypatch)
    book = CastBook(database_factory, tmp_path)
    try:
        with pytest.raises(Leak) as caught:
            run_machine(book, EXAMPLES, STEPS, database=None, phases=[Phase.generate])
        found = str(caught.value).splitlines()[0]
        print(f"\n{mutant}: caught in run {book.stats['runs']} of {EXAMPLES}: {found}")
    finally:
        book.close()


def test_no_one_sees_what_the_rules_do_not_allow(
    database_factory: DatabaseFactory, tmp_path: Path
) -> None:
    """SECURITY.md "No leak": random actions by random actors; every view checked after each."""
    book = CastBook(database_factory, tmp_path)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        run_machine(book, EXAMPLES, STEPS)
    finally:
        book.close()
        if os.environ.get("SHUTTLE_TEST_STATEFUL_STATS"):
            print(
                f"\n{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU), "
                f"golden casts {book.seconds['golden casts']:.1f} s"
            )
            for key, count in sorted(book.stats.items()):
                print(f"{count:6d}  {key}")
            for key, seconds in sorted(book.seconds.items()):
                print(f"{seconds:6.2f} s  {key}")
