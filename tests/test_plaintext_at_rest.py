"""SECURITY.md "Nothing in plaintext at rest" and DESIGN.md rule 8.

One test drives the whole shuttle loop through the real HTTP API with a unique marker text in
every personal or sensitive field the service accepts, then looks for those markers everywhere
they could have been left in clear:

* the database: on SQLite the raw bytes of the database file, its ``-wal`` and its ``-shm``,
  while the service runs and again after it is closed (the WAL is checkpointed into the file
  on close); on PostgreSQL a ``pg_dump`` of the test's database and, where the server's files
  are readable (a local server run as the same user), the database's files and the WAL
  segments written during the test, after a CHECKPOINT; on both, every value of every column
  of every table read back through SQLAlchemy;
* every log record of every logger at DEBUG (message, arguments, exception text, extras),
  with the request log written by ``shuttle.middleware``, and the same records formatted
  into two log files on disk: plain text, and JSON lines as ``shuttle serve`` writes them
  (``shuttle.logs``), each of which must be a JSON object, with a request id on every line
  of the request log;
* every file under the test's temporary folder (data dir with its key files, the log file);
* error answers to requests that carried a marker.

Each marker is searched for in UTF-8, lower-cased, UTF-16 (LE and BE), hex and base64.

So that the test can fail, it also proves every marker was really stored: each one comes back
decrypted through the API, or (for the few fields the API never shows again) by decrypting
the stored column with the case's key. The negative controls at the end plant a marker
without encryption, in each encoding, and check the same sweep finds it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import secrets
import shutil
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import inspect, make_url, text
from sqlmodel import col, select

from shuttle import accounts
from shuttle.crypto import NONCE_SIZE, TAG_SIZE, DataCipher
from shuttle.logs import dress
from shuttle.models import Assignment, DisclosureRequest, ItemVersion, Participant, User
from shuttle.runtime import SERVICE_SLOT, Runtime
from shuttle.settings import Settings
from tests.scenario import PASSWORD, Api

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# --- markers and how they are searched for -----------------------------------------------


class Markers:
    """One unique marker text per field, remembered by the field's name."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        """A fresh marker for the field ``name``."""
        assert name not in self.values, name
        value = f"MARKER-{name}-{secrets.token_hex(8)}"
        self.values[name] = value
        return value

    def email(self, name: str, domain: str = "people.example") -> str:
        """An e-mail address whose local part is a fresh marker (lower case: it is normalised)."""
        assert name not in self.values, name
        local = f"marker-{name}-{secrets.token_hex(8)}"
        self.values[name] = local
        return f"{local}@{domain}"


def _base64_needles(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The base64 characters that depend only on ``data``, for each of its 3 alignments."""
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + data)
        first = (pad * 8 + 5) // 6  # characters touched by the unknown bytes before
        last = ((pad + len(data)) * 8) // 6  # characters made only of known bits
        yield f"base64/{pad}", encoded[first:last]


def encodings(marker: str) -> Iterator[tuple[str, bytes]]:
    """Every byte form in which ``marker`` is looked for.

    Hex matters beyond the obvious: ``pg_dump`` writes bytea columns as hex.
    """
    for case, value in (("", marker), ("lower ", marker.lower())):
        for codec in ("utf-8", "utf-16-le", "utf-16-be"):
            raw = value.encode(codec)
            yield case + codec, raw
            yield case + codec + " hex", raw.hex().encode()
            yield case + codec + " HEX", raw.hex().upper().encode()
        for name, needle in _base64_needles(value.encode()):
            yield case + name, needle


class Needles:
    """All markers in all encodings, found in bytes by a prefix scan (fast on large files)."""

    PREFIX = 6

    def __init__(self, markers: dict[str, str]) -> None:
        self.by_prefix: dict[bytes, list[tuple[str, bytes]]] = {}
        for name, marker in markers.items():
            for how, needle in encodings(marker):
                assert len(needle) >= 2 * self.PREFIX, (name, how)
                label = f"{name} ({how})"
                self.by_prefix.setdefault(needle[: self.PREFIX], []).append((label, needle))

    def find(self, data: bytes) -> set[str]:
        """The labels ("field (encoding)") of every marker found in ``data``."""
        found: set[str] = set()
        for prefix, candidates in self.by_prefix.items():
            at = data.find(prefix)
            while at != -1:
                for label, needle in candidates:
                    if data.startswith(needle, at):
                        found.add(label)
                at = data.find(prefix, at + 1)
        return found


@dataclass
class Findings:
    """Where markers were found: source -> labels."""

    hits: dict[str, set[str]] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)

    def search(self, needles: Needles, source: str, data: bytes) -> None:
        """Search one source and remember what was found there."""
        self.searched.append(f"{source} ({len(data)} bytes)")
        found = needles.find(data)
        if found:
            self.hits.setdefault(source, set()).update(found)

    def report(self) -> str:
        """A readable list of every hit."""
        return "\n".join(f"{source}: {sorted(labels)}" for source, labels in self.hits.items())


# --- where markers could be left ---------------------------------------------------------


def sqlite_path(settings: Settings) -> Path:
    """The database file of a SQLite settings."""
    database = make_url(settings.effective_database_url).database
    assert database
    return Path(database)


def sqlite_files(settings: Settings) -> list[Path]:
    """The database file with its WAL and shared-memory files, where they exist."""
    db = sqlite_path(settings)
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def sweep_files(
    needles: Needles, findings: Findings, paths: Iterable[Path], tag: str, *, gone_ok: bool = False
) -> None:
    """Search the raw bytes of each file (``gone_ok``: a file removed meanwhile is skipped)."""
    for path in paths:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not gone_ok:
                raise
            continue  # a WAL segment the server recycled after it was listed
        findings.search(needles, f"{tag}:{path.name}", data)


def file_size(path: Path) -> int:
    """The size of a file in bytes."""
    return path.stat().st_size


def sweep_tree(needles: Needles, findings: Findings, folder: Path, tag: str) -> None:
    """Search every file under ``folder``."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            findings.search(needles, f"{tag}:{path.relative_to(folder)}", path.read_bytes())


def _as_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogatepass")


async def table_dump(runtime: Runtime) -> dict[str, bytes]:
    """Every value of every column of every table, by table (bytea/BLOB as raw bytes)."""
    dumps: dict[str, bytes] = {}
    async with runtime.db.writer.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for table in tables:
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
            dumps[table] = b"\x1f".join(
                _as_bytes(value) for row in result.all() for value in (*row, "\x1e")
            )
    return dumps


async def sweep_tables(runtime: Runtime, needles: Needles, findings: Findings) -> dict[str, bytes]:
    """Search every column of every table; returns the dump for sanity checks."""
    dumps = await table_dump(runtime)
    for table, data in dumps.items():
        findings.search(needles, f"table:{table}", data)
    return dumps


def _libpq_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def pg_dump(database_url: str) -> bytes:
    """A plain-text ``pg_dump`` of the database (schema and data)."""
    executable = shutil.which("pg_dump")
    assert executable, "pg_dump is needed for the PostgreSQL sweep"
    process = await asyncio.create_subprocess_exec(
        executable,
        "--no-owner",
        "--no-privileges",
        "--dbname",
        _libpq_url(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out


async def postgres_server_files(runtime: Runtime, since: float) -> tuple[list[Path], str | None]:
    """After a CHECKPOINT: this database's files and the WAL segments written since ``since``.

    Returns ([], why) when the server's files cannot be read from here (a remote server, or
    one run as another user).
    """
    async with runtime.db.writer.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            data_directory = (await auto.exec_driver_sql("SHOW data_directory")).scalar_one()
            oid = (
                await auto.exec_driver_sql(
                    "SELECT oid FROM pg_database WHERE datname = current_database()"
                )
            ).scalar_one()
            await auto.exec_driver_sql("CHECKPOINT")
        except Exception as exc:  # not a superuser: nothing more to do from here
            return [], f"cannot locate or flush the server's files: {exc}"
    root = Path(data_directory)
    database_dir, wal_dir = root / "base" / str(oid), root / "pg_wal"
    if not (os.access(database_dir, os.R_OK) and os.access(wal_dir, os.R_OK)):
        return [], f"the server's files under {root} are not readable here"
    files = [p for p in database_dir.iterdir() if p.is_file()]
    files += [p for p in wal_dir.iterdir() if p.is_file() and p.stat().st_mtime >= since - 1]
    return files, None


def log_text(records: Iterable[logging.LogRecord]) -> bytes:
    """Everything a log record carries: message, arguments, exception, stack and extras."""
    formatter = logging.Formatter(LOG_FORMAT)
    standard = set(vars(logging.makeLogRecord({})))
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(str(record.msg))
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        parts.append(record.exc_text or "")
        parts.append(record.stack_info or "")
        parts.extend(repr(v) for k, v in vars(record).items() if k not in standard)
    return "\n".join(parts).encode("utf-8", "surrogatepass")


def debug_everything(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every logger at DEBUG, including those that set a level of their own."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        # SQLAlchemy sets its own root logger to WARNING on import; lift that too.
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            caplog.set_level(logging.DEBUG, logger=name)


def json_log(log_file: Path) -> Path:
    """The JSON lines twin of ``log_file`` (shuttle.logs' format, as ``shuttle serve`` writes)."""
    return log_file.with_suffix(".jsonl")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every log record of every logger, formatted into files as a deployment would write them:
    plain text in the returned file, and JSON lines beside it (``json_log``)."""
    path = tmp_path / "logs" / "shuttle.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    as_json = dress(logging.FileHandler(json_log(path), encoding="utf-8"), as_json=True)
    handlers = (handler, as_json)
    root = logging.getLogger()
    # Loggers that do not propagate would bypass both caplog and these files.
    quiet = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for each in handlers:
        each.setLevel(logging.DEBUG)
        root.addHandler(each)
        for logger in quiet:
            logger.addHandler(each)
    try:
        yield path
    finally:
        for each in handlers:
            for logger in quiet:
                logger.removeHandler(each)
            root.removeHandler(each)
            each.close()


def request_log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSON log file, parsed (each must be one JSON object); returns those
    of the request log."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, f"{path} is empty"
    parsed = [json.loads(line) for line in lines]
    assert all(
        isinstance(p, dict) and {"time", "level", "logger", "message"} <= set(p) for p in parsed
    )
    return [p for p in parsed if p["logger"] == "shuttle.request"]


# --- the API, remembering everything it answered ------------------------------------------


class RecordingApi(Api):
    """The JSON API, keeping the text of every answer (and every file in every ZIP)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.answers: list[str] = []
        self.calls = 0

    async def call(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        """One request, as ``Api.call``; the answer is remembered."""
        status, data = await super().call(*args, **kwargs)
        self.calls += 1
        if isinstance(data, bytes) and data.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                self.answers += [
                    archive.read(n).decode() for n in archive.namelist() if n != "records.pdf"
                ]
        elif isinstance(data, bytes):
            self.answers.append(data.decode("utf-8", "replace"))
        else:
            self.answers.append(json.dumps(data, ensure_ascii=False))
        return status, data

    def said(self) -> str:
        """Everything answered so far."""
        return "\n".join(self.answers)


# --- the whole loop, with a marker in every sensitive field -------------------------------


@dataclass
class Loop:
    """The loop with a marker in every field, driven step by step through the API.

    Besides the markers it remembers which fields have no way back through the API (checked
    by decrypting their column instead) and which the service accepts but never stores.
    """

    runtime: Runtime
    api: RecordingApi
    m: Markers = field(default_factory=Markers)
    case_id: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    decrypt_only: set[str] = field(default_factory=set)
    not_stored: set[str] = field(default_factory=set)
    sam_inbox: dict[str, str] = field(default_factory=dict)  # item id -> body relayed
    item_ids: list[str] = field(default_factory=list)

    @property
    def case(self) -> str:
        """The case's API path."""
        return f"/api/v1/cases/{self.case_id}"

    async def call(
        self, method: str, path: str, who: str | None, body: Any = None, expect: int | None = 200
    ) -> Any:
        """One request as ``who`` (a key of ``tokens``); returns the answer's data."""
        token = self.tokens[who] if who else None
        _, data = await self.api.call(method, path, token, body, expect=expect)
        return data

    async def staff(self) -> None:
        """Staff made as the command line makes them: names and e-mail addresses."""
        for key, role in (
            ("lead", "practitioner"),
            ("supervisor", "supervisor"),
            ("colleague", "practitioner"),
            ("refused", "practitioner"),
        ):
            email = self.m.email(f"{key}_email", "service.example")
            self.ids[key] = await accounts.add_user(
                self.runtime, role=role, email=email, name=self.m(f"{key}_name"), password=PASSWORD
            )
            self.tokens[key] = await self.api.sign_in(email)
            self.decrypt_only.add(f"{key}_email")  # never shown again by the API

    async def open_case(self) -> None:
        """The case and its team; a conflict of interest refused at assignment."""
        m = self.m
        body = {"reference": m("case_reference"), "supervisor_id": self.ids["supervisor"]}
        self.case_id = (await self.call("POST", "/api/v1/cases", "lead", body, 201))["id"]
        for key, declared, expect in (("colleague", False, 201), ("refused", True, 409)):
            conflict = {"declared": declared, "details": m(f"coi_{key}_at_assignment")}
            body = {"user_id": self.ids[key], "role": "co_worker", "conflict_of_interest": conflict}
            await self.call("POST", f"{self.case}/practitioners", "lead", body, expect)
            self.not_stored.add(f"coi_{key}_at_assignment")

    async def participants(self) -> None:
        """People with names, names shown to others, and e-mail addresses of their own."""
        for key, role in (("sam", "harmed"), ("rob", "responsible"), ("sue", "supporter")):
            body = {
                "role": role,
                "display_name": self.m(f"{key}_display_name"),
                "shown_to_others_as": self.m(f"{key}_shown_as"),
            }
            added = await self.call("POST", f"{self.case}/participants", "lead", body, 201)
            self.ids[key] = added["id"]
            consent = {
                "information_sheet_version": "2026-1",
                "method": "in_person",
                "accepts_responsibility": role == "responsible",
            }
            await self.call(
                "POST", f"{self.case}/participants/{added['id']}/consent", "lead", consent
            )
            email = self.m.email(f"{key}_email")
            path = f"/api/v1/invitations/{added['invitation_token']}/accept"
            await self.call("POST", path, None, {"email": email, "password": PASSWORD}, 201)
            self.tokens[key] = await self.api.sign_in(email)
            self.decrypt_only.add(f"{key}_email")

    async def wishes(self) -> None:
        """The watch list, and unwanted topics (Sam's own; Rob's recorded by the lead)."""
        m = self.m
        await self.call("PUT", f"{self.case}/watch-list", "lead", {"terms": [m("watch_term")]})
        mine = {
            "receive": "yes",
            "unwanted_topics": [m("sam_topic")],
            "tell_author_when_read": True,
        }
        await self.call("PUT", "/api/v1/me/preferences", "sam", mine)
        for_rob = {"receive": "yes", "unwanted_topics": [m("rob_topic")], "delivery": "portal"}
        await self.call(
            "PUT", f"{self.case}/participants/{self.ids['rob']}/preferences", "lead", for_rob
        )

    async def write(self, who: str, body: str, to: tuple[str, ...], **extra: Any) -> str:
        """A new item, submitted unless ``submit=False``; returns its id."""
        submit = extra.pop("submit", True)
        sharing = {
            "scope": extra.pop("scope", "verbatim"),
            "recipient_ids": [self.ids[n] for n in to],
        }
        new = {"kind": extra.pop("kind", "letter"), "body": body, "sharing": sharing, **extra}
        item_id = str((await self.call("POST", f"{self.case}/items", who, new, 201))["id"])
        self.item_ids.append(item_id)
        if submit:
            await self.call("POST", f"/api/v1/items/{item_id}/submit", who)
        return item_id

    async def decide(self, who: str, item_id: str, decision: str, **extra: Any) -> Any:
        """A practitioner opens the item and decides on its current version."""
        seen = await self.call("GET", f"/api/v1/items/{item_id}", who)
        body = {"decision": decision, "version_digest": seen["version_digest"], **extra}
        return await self.call("POST", f"/api/v1/items/{item_id}/decisions", who, body, 201)

    async def letter_in_three_versions(self) -> None:
        """Rob to Sam. Version 1 trips every screening rule that quotes text (contact details,
        the watch list, Sam's unwanted topic) and is returned with notes; version 3 relays."""
        m = self.m
        contact = m.email("a_contact_in_body", "mail.example")
        body = f"{m('a_body_v1')} Write to {contact} about {m.values['watch_term']}"
        item = await self.write(
            "rob", f"{body} and {m.values['sam_topic']}.", ("sam",), response_wanted="reply"
        )
        flags = (await self.call("GET", f"/api/v1/items/{item}", "lead"))["flags"]
        assert {(f["kind"], f["excerpt"]) for f in flags} >= {
            ("contact_details", contact),
            ("watch_list", m.values["watch_term"]),
            ("unwanted_topic", m.values["sam_topic"]),
        }
        await self.decide(
            "lead",
            item,
            "return",
            reason="needs_revision",
            note=m("a_return_note"),
            internal_note=m("a_return_internal_note"),
        )
        returned = await self.call("GET", f"/api/v1/items/{item}", "rob")
        assert returned["return_note"]["note"] == m.values["a_return_note"]
        await self.call("PATCH", f"/api/v1/items/{item}", "rob", {"body": m("a_body_v2")})
        last = f"{m('a_body_v3')} or call {m.email('a_contact_v3', 'mail.example')}"
        await self.call("PATCH", f"/api/v1/items/{item}", "rob", {"body": last})
        await self.call("POST", f"/api/v1/items/{item}/submit", "rob")
        relayed = await self.decide(
            "lead",
            item,
            "approve",
            note=m("a_approve_note"),
            internal_note=m("a_approve_internal_note"),
        )
        assert relayed["state"] == "relayed"
        self.sam_inbox[item] = last
        await self.call("POST", f"/api/v1/items/{item}/read", "sam")

    async def summary_and_helped_items(self) -> None:
        """A summary (one declined, one agreed), a letter written with help, an assessment."""
        m = self.m
        item = await self.write("rob", m("b_body"), ("sam",), scope="summary")
        consent = f"/api/v1/items/{item}/summary-consent"
        await self.decide("lead", item, "approve", summary=m("b_summary_declined"))
        await self.call("POST", consent, "rob", {"agree": False})
        await self.decide("lead", item, "approve", summary=m("b_summary_agreed"))
        await self.call("POST", consent, "rob", {"agree": True})
        self.sam_inbox[item] = m.values["b_summary_agreed"]
        helped = await self.write(
            "lead",
            m("c_body"),
            ("sam",),
            on_behalf_of=self.ids["rob"],
            assisted_declaration=m("c_assisted_declaration"),
        )
        self.decrypt_only.add("c_assisted_declaration")
        await self.decide("lead", helped, "approve")
        self.sam_inbox[helped] = m.values["c_body"]
        own = await self.write("lead", m("d_body"), ("sam",), kind="assessment")
        await self.decide("colleague", own, "approve", note=m("d_approve_note"))
        self.sam_inbox[own] = m.values["d_body"]

    async def items_that_stop(self) -> None:
        """Withheld after escalation, kept for the facilitator, and withdrawn."""
        m = self.m
        item = await self.write("sam", m("e_body"), ("rob",))
        escalated = await self.decide(
            "lead", item, "withhold", reason="serious_harm", note=m("e_lead_note")
        )
        assert escalated["state"] == "escalated"
        await self.decide(
            "supervisor",
            item,
            "withhold",
            reason="serious_harm",
            note=m("e_supervisor_note"),
            internal_note=m("e_supervisor_internal_note"),
        )
        kept = await self.write("sam", m("f_body"), (), scope="facilitator_only")
        await self.decide("lead", kept, "withhold", reason="facilitator_only")
        draft = await self.write("sam", m("g_body"), ("rob",), submit=False)
        await self.call("POST", f"/api/v1/items/{draft}/withdraw", "sam")

    async def conflict_meeting_and_disclosure(self) -> None:
        """A conflict declared later, a meeting request, and two released record packages."""
        m = self.m
        path = f"{self.case}/practitioners/{self.ids['colleague']}/conflict"
        await self.call("POST", path, "colleague", {"details": m("coi_details")}, 204)
        self.decrypt_only.add("coi_details")
        await self.call(
            "POST", "/api/v1/me/meeting-requests", "sam", {"note": m("meeting_note")}, 201
        )
        # Sam asks; the lead records Rob's request. Both released and downloaded, so sealed
        # packages holding every version and every summary are written too.
        sams = await self.call("POST", "/api/v1/me/disclosure-requests", "sam", None, 201)
        robs = await self.call(
            "POST",
            f"{self.case}/participants/{self.ids['rob']}/disclosure-requests",
            "lead",
            None,
            201,
        )
        # The case record: the incident, and an entry of each kind about Sam (her note
        # disclosed to her, so it is sealed into her package too).
        await self.call(
            "PUT",
            f"{self.case}/referral",
            "lead",
            {"incident": m("incident"), "referral_source": "police", "referred_on": "2026-01-05"},
        )
        for kind, detail, day in (
            ("note", None, None),
            ("risk_assessment", "low", None),
            ("contact", "visit", "2026-01-06"),
            ("outcome", "agreed", None),
            ("feedback", "form", None),
        ):
            body = {
                "kind": kind,
                "participant_id": self.ids["sam"],
                "detail": detail,
                "happened_on": day,
                "text": m(f"entry_{kind}"),
            }
            made = await self.call("POST", f"{self.case}/entries", "lead", body, 201)
            assert made["text"] == m.values[f"entry_{kind}"]
        risk = await self.call("GET", f"/api/v1/cases/{self.case_id}/record", "lead")
        await self.call("GET", f"/api/v1/cases/{self.case_id}/record.csv", "lead")
        sams_path = f"/api/v1/disclosure-requests/{sams['id']}"
        for entry in [*risk["notes"], *risk["safety_assessments"]]:
            await self.call(
                "PUT", f"{sams_path}/decisions/{entry['id']}", "lead", {"decision": "disclose"}
            )
        await self.call(
            "POST",
            f"{sams_path}/extension",
            "lead",
            {"months": 2, "reason": "complex", "note": m("extension_note")},
        )
        self.decrypt_only.add("extension_note")
        for request, reader in ((sams, "sam"), (robs, "lead")):
            path = f"/api/v1/disclosure-requests/{request['id']}"
            await self.call("POST", f"{path}/release", "lead")
            await self.call("POST", f"{path}/release", "supervisor")
            await self.call("GET", f"{path}/package", reader)

    async def read_everything(self) -> None:
        """Every view, by those who may see it, while they still can."""
        items = [f"/api/v1/items/{i}" for i in self.item_ids]
        for path, who in (
            *(
                (p, "lead")
                for p in (
                    self.case,
                    f"{self.case}/participants/{self.ids['sue']}",
                    f"{self.case}/watch-list",
                    f"{self.case}/items",
                    f"{self.case}/events",
                    "/api/v1/queue",
                    *items,
                )
            ),
            *((p, "sam") for p in ("/api/v1/me", "/api/v1/me/items")),
            ("/api/v1/me/items", "rob"),
            *(("/api/v1/session", who) for who in self.tokens),
        ):
            await self.call("GET", path, who)
        inbox = (await self.call("GET", "/api/v1/inbox", "sam"))["items"]
        assert {i["id"]: i["body"] for i in inbox} == self.sam_inbox
        assert {i["from"] for i in inbox} == {self.m.values["rob_shown_as"], "Your facilitator"}

    async def opt_outs_and_refusals(self) -> None:
        """Opting out with reasons; refused requests carrying markers; a sign-out."""
        m = self.m
        await self.call(
            "POST",
            f"{self.case}/participants/{self.ids['sue']}/opt-out",
            "lead",
            {"reason": m("sue_opt_out_reason")},
        )
        await self.call("POST", "/api/v1/me/opt-out", "rob", {"reason": m("rob_opt_out_reason")})
        self.decrypt_only |= {"sue_opt_out_reason", "rob_opt_out_reason"}
        too_long = {"reference": m("refused_reference") + "x" * 100}
        await self.call("POST", "/api/v1/cases", "lead", too_long, 422)
        for email, password in (
            (m.email("unknown_email"), m("wrong_password")),
            (m.email("wrong_password_email"), PASSWORD),
        ):
            await self.call(
                "POST", "/api/v1/session", None, {"email": email, "password": password}, 401
            )
        self.not_stored |= {
            "refused_reference",
            "unknown_email",
            "wrong_password",
            "wrong_password_email",
        }
        await self.call("DELETE", "/api/v1/session", "colleague", None, 204)


async def drive_loop(client: Any, runtime: Runtime) -> Loop:
    """Every sensitive field filled with a marker, and every record that copies text made."""
    loop = Loop(runtime, RecordingApi(client))
    for step in (
        loop.staff,
        loop.open_case,
        loop.participants,
        loop.wishes,
        loop.letter_in_three_versions,
        loop.summary_and_helped_items,
        loop.items_that_stop,
        loop.conflict_meeting_and_disclosure,
        loop.read_everything,
        loop.opt_outs_and_refusals,
    ):
        await step()
    return loop


async def decrypt_stored(runtime: Runtime, loop: Loop) -> dict[str, str]:
    """The fields the API never shows again, decrypted from their columns: name -> text."""
    out: dict[str, str] = {}
    ids = loop.ids
    async with runtime.read() as tx:
        service = await tx.cipher(SERVICE_SLOT)
        case = await tx.cipher(loop.case_id)
        for key in ("lead", "supervisor", "colleague", "refused"):
            user = await tx.session.get(User, ids[key])
            assert user is not None
            out[f"{key}_email"] = service.open(user.email_enc, row=f"user:{user.id}", field="email")
        for key in ("sam", "rob", "sue"):
            participant = await tx.session.get(Participant, ids[key])
            assert participant is not None and participant.user_id is not None
            user = await tx.session.get(User, participant.user_id)
            assert user is not None
            out[f"{key}_email"] = service.open(user.email_enc, row=f"user:{user.id}", field="email")
            if participant.opt_out_reason_enc is not None:
                out[f"{key}_opt_out_reason"] = case.open(
                    participant.opt_out_reason_enc,
                    row=f"participant:{participant.id}",
                    field="opt_out_reason",
                )
        place = (
            await tx.session.exec(
                select(Assignment).where(
                    Assignment.case_id == loop.case_id, Assignment.user_id == ids["colleague"]
                )
            )
        ).one()
        assert place.conflict_details_enc is not None
        out["coi_details"] = case.open(
            place.conflict_details_enc, row=f"assignment:{place.id}", field="conflict"
        )
        declared = (
            await tx.session.exec(
                select(ItemVersion).where(col(ItemVersion.assisted_declaration_enc).is_not(None))
            )
        ).all()
        assert len(declared) == 1
        extended = (
            await tx.session.exec(
                select(DisclosureRequest).where(
                    col(DisclosureRequest.extension_note_enc).is_not(None)
                )
            )
        ).one()
        out["extension_note"] = case.open(
            extended.extension_note_enc or b"",
            row=f"disclosure:{extended.id}",
            field="extension_note",
        )
        out["c_assisted_declaration"] = case.open(
            declared[0].assisted_declaration_enc or b"",
            row=f"item_version:{declared[0].id}",
            field="declaration",
        )
    return out


async def sweep_database(
    runtime: Runtime,
    settings: Settings,
    needles: Needles,
    findings: Findings,
    since: float | None = None,
) -> dict[str, bytes]:
    """Search the database as stored, while the service is running.

    On PostgreSQL, ``since`` (a time) also searches the server's own files written since then.
    """
    dumps = await sweep_tables(runtime, needles, findings)
    if settings.is_sqlite:
        files = sqlite_files(settings)
        assert {p.name for p in files} >= {"shuttle.db", "shuttle.db-wal"}, files
        sweep_files(needles, findings, files, "running")
    else:
        findings.search(needles, "pg_dump", await pg_dump(settings.effective_database_url))
        if since is not None:
            files, why = await postgres_server_files(runtime, since)
            if why:
                findings.searched.append(f"server files skipped: {why}")
            sweep_files(needles, findings, files, "server", gone_ok=True)
    return dumps


# --- the tests ---------------------------------------------------------------------------


async def test_no_marker_at_rest_in_database_wal_logs_or_files(
    aiohttp_client: Any,
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    log_file: Path,
) -> None:
    """Markers in every sensitive field: found through the API, nowhere at rest in clear."""
    from shuttle.app import create_app

    since = time.time()
    debug_everything(caplog)
    client = await aiohttp_client(TestServer(create_app(settings)))
    loop = await drive_loop(client, runtime)
    m, said = loop.m, loop.api.said()

    # The markers were stored: each comes back decrypted, through the API where it has a
    # way back, otherwise from its column with the case's (or the service's) key.
    stored = set(m.values) - loop.not_stored
    from_api = stored - loop.decrypt_only
    assert not [name for name in from_api if m.values[name] not in said]
    decrypted = await decrypt_stored(runtime, loop)
    assert set(decrypted) == loop.decrypt_only
    assert not [name for name in loop.decrypt_only if m.values[name] not in decrypted[name]]
    # Refused requests do not echo what was sent (error answers are not a place for it).
    assert not [name for name in loop.not_stored if m.values[name] in said]

    needles = Needles(m.values)
    findings = Findings()

    # While the service runs: the database (SQLite: file, WAL, shm; PostgreSQL: pg_dump,
    # server files) and every column of every table.
    dumps = await sweep_database(runtime, settings, needles, findings, since)
    # The sweep reads the real rows: the audit entries' own words are there in clear.
    assert b"item:relay:deliver" in dumps["audit_entry"]
    assert len(dumps["delivery"]) > 0 and len(dumps["item_version"]) > 0

    # The logs: every record of every logger, with the request log in use.
    records = list(caplog.records)
    assert any(r.name == "shuttle.request" and "item.decide" in r.getMessage() for r in records)
    names = {r.name for r in records}
    assert {"shuttle.request", "sqlalchemy.engine.Engine"} <= names, names
    assert any(r.levelno == logging.DEBUG for r in records)
    findings.search(needles, "log records", log_text(records))

    # Closed: the WAL is checkpointed into the file; then every file left behind.
    await client.close()
    await runtime.db.dispose()
    if settings.is_sqlite:
        sweep_files(needles, findings, sqlite_files(settings), "closed")
    else:
        findings.search(needles, "pg_dump after close", await pg_dump(settings.database_url or ""))
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert file_size(log_file) > 0
    # The JSON log: one object a line; each request's line has its id, route name, status
    # and time, and the caller's role once signed in (the marker sweep below reads it too).
    requests = request_log_lines(json_log(log_file))
    assert len(requests) == loop.api.calls
    assert all(
        r["request_id"] and r["route"] and r["status"] and r["duration_ms"] >= 0 for r in requests
    )
    assert len({r["request_id"] for r in requests}) == len(requests)
    assert {"item.decide", "inbox", "item.read"} <= {r["route"] for r in requests}
    assert any(r["route"] == "item.decide" and r.get("role") == "practitioner" for r in requests)
    sweep_tree(needles, findings, tmp_path, "files")
    findings.search(needles, "log records after close", log_text(caplog.records))

    assert not findings.hits, "markers found in clear:\n" + findings.report()


# --- negative controls: the same sweep finds a marker that is left in clear ---------------


PLANTS = {
    # kind: (column holding it, how the marker is written there)
    "utf-8 in a text column": ("password_hash", lambda s: s),
    "utf-8 in a ciphertext column": ("email_enc", lambda s: s.encode()),
    "utf-16-le in a ciphertext column": ("email_enc", lambda s: s.encode("utf-16-le")),
    "lower-cased in a text column": ("password_hash", lambda s: s.lower()),
    "hex in a text column": ("password_hash", lambda s: s.encode().hex()),
    "base64 in a text column": ("password_hash", lambda s: base64.b64encode(b"xy" + s.encode())),
}


@pytest.mark.parametrize("kind", list(PLANTS))
async def test_sweep_finds_a_marker_planted_in_clear(
    runtime: Runtime, settings: Settings, kind: str
) -> None:
    """A marker written without encryption, straight into a column, is found by the sweep."""
    column, form = PLANTS[kind]
    m = Markers()
    user_id = await accounts.add_user(
        runtime, role="practitioner", email="plant@service.example", name="P", password=PASSWORD
    )
    value = form(m("planted"))
    if isinstance(value, bytes) and column == "password_hash":
        value = value.decode()
    async with runtime.db.writer.begin() as conn:
        await conn.execute(
            text(f"UPDATE user_account SET {column} = :value WHERE id = :id"),  # noqa: S608
            {"value": value, "id": user_id},
        )
    needles = Needles(m.values)
    findings = Findings()
    await sweep_database(runtime, settings, needles, findings)
    sources = set(findings.hits)
    assert "table:user_account" in sources
    if settings.is_sqlite:
        # Committed, so in the WAL now; after close, checkpointed into the file.
        assert "running:shuttle.db-wal" in sources, findings.report()
        await runtime.db.dispose()
        closed = Findings()
        sweep_files(needles, closed, sqlite_files(settings), "closed")
        assert "closed:shuttle.db" in closed.hits, closed.report()
    else:
        assert "pg_dump" in sources, findings.report()


def _seal_in_clear(self: DataCipher, plaintext: str, *, row: str, field: str) -> bytes:
    return bytes(NONCE_SIZE) + plaintext.encode() + bytes(TAG_SIZE)


def _open_in_clear(self: DataCipher, blob: bytes, *, row: str, field: str) -> str:
    return bytes(blob)[NONCE_SIZE:-TAG_SIZE].decode()


async def test_sweep_finds_every_field_when_encryption_is_switched_off(
    aiohttp_client: Any, runtime: Runtime, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same loop with a cipher that does not encrypt: every stored marker is found.

    This shows the sweep reaches every field the main test fills: were any of them written
    without encryption, the main test would fail.
    """
    from shuttle.app import create_app

    since = time.time()
    monkeypatch.setattr(DataCipher, "seal", _seal_in_clear)
    monkeypatch.setattr(DataCipher, "open", _open_in_clear)
    client = await aiohttp_client(create_app(settings))
    loop = await drive_loop(client, runtime)
    stored = set(loop.m.values) - loop.not_stored
    findings = Findings()
    await sweep_database(runtime, settings, Needles(loop.m.values), findings, since)
    by_source = {
        source: {label.split(" ")[0] for label in labels}
        for source, labels in findings.hits.items()
    }
    tables = set().union(*(v for k, v in by_source.items() if k.startswith("table:")))
    assert tables >= stored, sorted(stored - tables)
    raw = "running:" if settings.is_sqlite else "pg_dump"
    stored_raw = set().union(*(v for k, v in by_source.items() if k.startswith(raw)))
    assert stored_raw >= stored, sorted(stored - stored_raw)
    if not settings.is_sqlite and not any("skipped" in s for s in findings.searched):
        # The server's files (table files after a checkpoint, and the WAL) are searched too.
        server = set().union(*(v for k, v in by_source.items() if k.startswith("server:")))
        assert server >= stored, sorted(stored - server)
    # What the service never keeps is not found even so.
    assert not (tables | stored_raw) & loop.not_stored


async def test_sweep_finds_a_marker_in_the_logs(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, log_file: Path
) -> None:
    """A marker logged as an argument, in an extra or in an exception is found."""
    caplog.set_level(logging.DEBUG)
    m = Markers()
    log = logging.getLogger("shuttle.test_plaintext")
    log.debug("argument %s", m("in_argument"))
    log.info("extra", extra={"detail": m("in_extra")})
    try:
        raise ValueError(m("in_exception"))
    except ValueError:
        log.exception("exception")
    found = Needles(m.values).find(log_text(caplog.records))
    assert {label.split(" ")[0] for label in found} == set(m.values)
    for handler in logging.getLogger().handlers:
        handler.flush()
    findings = Findings()
    sweep_tree(Needles(m.values), findings, tmp_path, "files")
    assert "files:logs/shuttle.log" in findings.hits
    # The JSON log keeps the message and the exception (and drops extras it does not know).
    in_json = {label.split(" ")[0] for label in findings.hits["files:logs/shuttle.jsonl"]}
    assert in_json == {"in_argument", "in_exception"}


def test_needles_cover_every_encoding() -> None:
    """Each encoding of a marker is found inside other bytes, at any alignment."""
    m = Markers()
    marker = m("probe")
    needles = Needles(m.values)
    forms = 0
    for case in (str, str.lower):
        value = case(marker)
        for pad in range(3):
            noise = secrets.token_bytes(7 + pad)
            for codec in ("utf-8", "utf-16-le", "utf-16-be"):
                raw = value.encode(codec)
                for data in (raw, raw.hex().encode(), raw.hex().upper().encode()):
                    assert needles.find(noise + data + noise), (value, codec, pad)
                    forms += 1
            wrapped = base64.b64encode(noise[:pad] + value.encode())
            assert needles.find(noise + wrapped + noise), (value, "base64", pad)
            forms += 1
    assert forms == 2 * 3 * 10
    assert not needles.find(secrets.token_bytes(1 << 16))
