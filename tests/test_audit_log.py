"""DESIGN.md rule 7 and SECURITY.md "Audit log": one entry per change, no text, tamper-evident.

* Each state change through the API appends exactly one entry (a decision that also relays
  appends the decision and one delivery per recipient); reads and refused requests append none.
* Entries hold ids, codes and digests: markers planted in every text field never appear.
* ``GET /api/v1/audit/verify`` and ``shuttle.audit.verify`` pass on an untouched log, whose head
  is signed by the key in the signing key file and whose root is the RFC 9162 root of the
  stored leaves.
* Any change made straight to the database is caught: entries altered (a byte, a field, the
  indexed columns), deleted (first, middle, last), reordered, inserted or forged, leaf hashes
  changed, the head's size, root or signature changed, or the whole log rewritten without the
  signing key. A table of cases, then Hypothesis: 250 random tamperings, each on a fresh copy
  of the database (SQLite) or inside a transaction that is rolled back (PostgreSQL); then a
  seeded loop of 1,000 more, each in a savepoint rolled back after verifying.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import random
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import make_url, text
from sqlmodel.ext.asyncio.session import AsyncSession

from shuttle import accounts, audit
from shuttle.crypto import SIGNING_KEY_FILE, verify_signature
from shuttle.db import Database
from shuttle.merkle import (
    Frontier,
    consistency_proof,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
)
from shuttle.models import utcnow
from shuttle.runtime import Runtime, Tx
from shuttle.settings import Settings
from tests import authenticator
from tests.scenario import PASSWORD, Api, Person, Scene, build_case

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CODE = re.compile(r"[a-z_]{1,40}")
HEX64 = re.compile(r"[0-9a-f]{64}")
ENTRY_KEYS = {"seq", "at", "actor", "action", "case", "subject", "digests"}


# --- reading the log ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One stored entry."""

    seq: int
    case_id: str | None
    action: str
    entry: str
    leaf_hash: str


@dataclass(frozen=True)
class Head:
    """The stored tree head."""

    size: int
    root_hash: str
    frontier: str
    signature: str


async def sql(tx: Tx, statement: str, **params: Any) -> Any:
    """Run raw SQL in the transaction (the way someone with the database file would)."""
    connection = await tx.session.connection()
    return await connection.execute(text(statement), params)


async def read_log(tx: Tx) -> tuple[list[Row], Head]:
    """Every entry in order, and the head."""
    rows = await sql(
        tx, "SELECT seq, case_id, action, entry, leaf_hash FROM audit_entry ORDER BY seq"
    )
    entries = [Row(*r) for r in rows.all()]
    head = await sql(tx, "SELECT size, root_hash, frontier, signature FROM audit_head")
    return entries, Head(*head.one())


async def log_of(runtime: Runtime) -> tuple[list[Row], Head]:
    """The committed log."""
    async with runtime.read() as tx:
        return await read_log(tx)


# --- one entry per change ----------------------------------------------------------------


class Counter:
    """Checks what a step appended to the log."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def step(self, expected: list[str], action: Awaitable[Any], actor: str | None) -> Any:
        """Run ``action``; exactly the ``expected`` entries must follow, by ``actor``."""
        before, _ = await log_of(self.runtime)
        result = await action
        after, head = await log_of(self.runtime)
        new = after[len(before) :]
        assert after[: len(before)] == before, "earlier entries changed"
        assert [r.action for r in new] == expected
        assert head.size == len(after) == after[-1].seq + 1
        for row in new:
            entry = json.loads(row.entry)
            assert entry["seq"] == row.seq and entry["action"] == row.action
            if actor is not None:
                assert entry["actor"] == actor
        return result


async def test_each_change_appends_exactly_one_entry(client: Any, runtime: Runtime) -> None:
    """Every change adds its own entry; reads and refused requests add nothing."""
    scene = await build_case(client, runtime)
    api, lead, c = scene.api, scene.lead, f"/api/v1/cases/{scene.case_id}"
    lead_id, sup_id = scene.staff_ids["lead"], scene.staff_ids["supervisor"]
    sam, rob = scene.people["sam"], scene.people["rob"]
    sam_user = await user_of(api, sam.token)
    rob_user = await user_of(api, rob.token)
    count = Counter(runtime).step
    call = api.call

    staff_id = await count(
        ["account:user:create"],
        accounts.add_user(
            runtime, role="practitioner", email="x@service.example", name="X", password=PASSWORD
        ),
        None,
    )
    await count(
        ["account:mfa:enrol", "account:session:create"], api.sign_in("x@service.example"), staff_id
    )
    x_token = await count(["account:session:create"], api.sign_in("x@service.example"), staff_id)
    app = authenticator.app_for(api.database, "x@service.example")
    assert app is not None
    await count(
        ["account:recovery_code:use", "account:session:reauthenticate"],
        call(
            "POST",
            "/api/v1/session/reauthenticate",
            x_token,
            {"password": PASSWORD, "code": app.recovery_codes[0]},
            expect=200,
        ),
        staff_id,
    )
    await count(
        ["account:recovery_code:renew"],
        call("POST", "/api/v1/me/recovery-codes", x_token, expect=201),
        staff_id,
    )
    await count(
        ["account:password:change"],
        call(
            "PUT",
            "/api/v1/me/password",
            x_token,
            {"current_password": PASSWORD, "new_password": PASSWORD + " changed"},
            expect=204,
        ),
        staff_id,
    )
    await count(
        ["account:session:revoke_all"],
        call("DELETE", "/api/v1/sessions", x_token, expect=204),
        staff_id,
    )
    await count(
        ["case:assignment:add"],
        call(
            "POST",
            f"{c}/practitioners",
            lead,
            {"user_id": staff_id, "role": "co_worker", "conflict_of_interest": {"declared": False}},
            expect=201,
        ),
        lead_id,
    )
    _, added = await count(
        ["case:participant:add"],
        call(
            "POST",
            f"{c}/participants",
            lead,
            {"role": "supporter", "display_name": "Sue S", "shown_to_others_as": "Sue"},
            expect=201,
        ),
        lead_id,
    )
    await count(
        ["case:participant:add"],
        call("POST", f"{c}/participants/{added['id']}/invitation", lead, expect=201),
        lead_id,
    )
    consent = {"information_sheet_version": "2026-1", "method": "phone"}
    await count(
        ["case:consent:record"],
        call("POST", f"{c}/participants/{added['id']}/consent", lead, consent, expect=200),
        lead_id,
    )
    await count(
        ["case:watch_list:update"],
        call("PUT", f"{c}/watch-list", lead, {"terms": ["x"]}, expect=200),
        lead_id,
    )
    prefs = {"receive": "ask_first", "unwanted_topics": [], "delivery": "portal"}
    await count(
        ["case:preferences:update"],
        call("PUT", "/api/v1/me/preferences", sam.token, prefs, expect=200),
        sam_user,
    )
    item = await count(["item:item:create"], scene.write("rob", submit=False), rob_user)
    i = f"/api/v1/items/{item['id']}"
    await count(
        ["item:version:create"],
        call("PATCH", i, rob.token, {"body": "Changed."}, expect=200),
        rob_user,
    )
    await count(["item:item:submit"], call("POST", f"{i}/submit", rob.token, expect=200), rob_user)
    # A practitioner's first look at a version is recorded; a second look is not.
    _, seen = await count(["item:text:open"], call("GET", i, lead, expect=200), lead_id)
    await count([], call("GET", i, lead, expect=200), lead_id)
    approve = {"decision": "approve", "version_digest": seen["version_digest"]}
    await count(
        ["item:decision:approve"],
        call("POST", f"{i}/decisions", lead, approve, expect=201),
        lead_id,
    )
    # Refused: nothing is recorded.
    await count([], call("POST", f"{i}/decisions", lead, approve, expect=409), None)
    await count([], call("POST", f"{i}/decisions", lead, {"decision": "x"}, expect=422), None)
    await count([], call("GET", f"/api/v1/items/{secrets.token_hex(8)}", lead, expect=404), None)
    # Sam becoming willing relays the held item: the change, then the delivery.
    await count(
        ["case:preferences:update", "item:relay:deliver"],
        scene.willing("sam"),
        sam_user,
    )
    await count(["item:relay:read"], call("POST", f"{i}/read", sam.token, expect=200), sam_user)
    await count([], call("POST", f"{i}/read", sam.token, expect=200), sam_user)
    await count([], scene.inbox("sam"), None)
    await count([], call("GET", "/api/v1/me", sam.token, expect=200), None)
    await count([], call("GET", f"{c}/events", lead, expect=200), None)

    other = await count(["item:item:create"], scene.write("rob", submit=False), rob_user)
    await count(
        ["item:item:withdraw"],
        call("POST", f"/api/v1/items/{other['id']}/withdraw", rob.token, expect=200),
        rob_user,
    )
    for decision, action, extra in (
        ("return", "item:decision:return", {"reason": "needs_revision", "note": "Shorter."}),
        ("escalate", "item:decision:escalate", {}),
    ):
        written = await scene.write("rob")
        await count(
            ["item:text:open", action], scene.decide(written["id"], decision, **extra), lead_id
        )
    summary_item = await scene.write("rob", scope="summary")
    await count(
        ["item:text:open", "item:decision:approve"],
        scene.decide(summary_item["id"], summary="He is sorry."),
        lead_id,
    )
    s = f"/api/v1/items/{summary_item['id']}/summary-consent"
    await count(
        ["item:summary:decline"], call("POST", s, rob.token, {"agree": False}, expect=200), rob_user
    )
    # The same version again: already opened, so only the decision.
    await count(
        ["item:decision:approve"],
        scene.decide(summary_item["id"], summary="He is very sorry."),
        lead_id,
    )
    await count(
        ["item:summary:agree", "item:relay:deliver"],
        call("POST", s, rob.token, {"agree": True}, expect=200),
        rob_user,
    )
    for state, action in (("paused", "case:case:pause"), ("open", "case:case:resume")):
        await count(
            [action],
            call("POST", f"{c}/state", lead, {"state": state}, expect=200),
            lead_id,
        )
    await count(
        ["case:meeting:request"],
        call("POST", "/api/v1/me/meeting-requests", sam.token, {"note": "Yes."}, expect=201),
        sam_user,
    )
    _, request = await count(
        ["disclosure:request:create"],
        call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201),
        sam_user,
    )
    r = f"/api/v1/disclosure-requests/{request['id']}"
    await count(
        ["case:referral:update"],
        call("PUT", f"{c}/referral", lead, {"referral_source": "police"}, expect=200),
        lead_id,
    )
    note = {"kind": "note", "participant_id": sam.id, "text": "Calm on the phone."}
    made = await count(
        ["case:entry:create"], call("POST", f"{c}/entries", lead, note, expect=201), lead_id
    )
    await count(
        ["disclosure:decision:record"],
        call("PUT", f"{r}/decisions/{made[1]['id']}", lead, {"decision": "disclose"}, expect=200),
        lead_id,
    )
    await count(
        ["disclosure:request:extend"],
        call("POST", f"{r}/extension", lead, {"months": 1, "reason": "complex"}, expect=200),
        lead_id,
    )
    await count(["case:record:export"], call("GET", f"{c}/record.csv", lead, expect=200), lead_id)
    await count([], call("GET", f"{c}/record", lead, expect=200), lead_id)
    await count([], call("GET", f"{r}/review", lead, expect=200), lead_id)
    await count(
        ["disclosure:request:approve"], call("POST", f"{r}/release", lead, expect=200), lead_id
    )
    await count([], call("POST", f"{r}/release", lead, expect=409), lead_id)
    await count(
        ["disclosure:request:release"],
        call("POST", f"{r}/release", scene.staff["supervisor"], expect=200),
        sup_id,
    )
    await count(
        ["disclosure:package:download"],
        call("GET", f"{r}/package", sam.token, expect=200),
        sam_user,
    )
    await count(
        ["case:assignment:conflict"],
        call("POST", f"{c}/practitioners/{staff_id}/conflict", lead, {"details": "x"}, expect=204),
        lead_id,
    )
    await count(
        ["case:participant:opt_out"],
        call("POST", f"{c}/participants/{added['id']}/opt-out", lead, {}, expect=200),
        lead_id,
    )
    await count(
        ["account:session:revoke"],
        call("DELETE", "/api/v1/session", scene.staff["supervisor"], expect=204),
        sup_id,
    )
    entries, head = await log_of(runtime)
    assert [r.seq for r in entries] == list(range(head.size))


async def user_of(api: Api, token: str) -> str:
    """The user id behind a token."""
    _, who = await api.call("GET", "/api/v1/session", token, expect=200)
    return str(who["user"]["id"])


# --- a log with markers in every text field ----------------------------------------------


async def marked_log(client: Any, runtime: Runtime) -> tuple[Scene, list[str]]:
    """A case whose every text field holds a marker, and a few dozen entries; and the markers."""
    markers: list[str] = []

    def mark(name: str) -> str:
        markers.append(f"MARKER-{name}-{secrets.token_hex(6)}")
        return markers[-1]

    api = Api(client)
    names = {"lead": mark("lead_name"), "supervisor": mark("supervisor_name")}
    ids = {}
    for key, role in (("lead", "practitioner"), ("supervisor", "supervisor")):
        email = f"marker-{key}-{secrets.token_hex(6)}@service.example"
        markers.append(email.split("@")[0])
        ids[key] = await accounts.add_user(
            runtime, role=role, email=email, name=names[key], password=PASSWORD
        )
        ids[key + "_token"] = await api.sign_in(email)
    lead = ids["lead_token"]
    _, case = await api.call(
        "POST",
        "/api/v1/cases",
        lead,
        {"reference": mark("reference"), "supervisor_id": ids["supervisor"]},
        expect=201,
    )
    scene = Scene(api, case["id"], staff={"lead": lead, "supervisor": ids["supervisor_token"]})
    c = f"/api/v1/cases/{case['id']}"
    for key, role in (("sam", "harmed"), ("rob", "responsible")):
        _, added = await api.call(
            "POST",
            f"{c}/participants",
            lead,
            {"role": role, "display_name": mark(key), "shown_to_others_as": mark(key + "_shown")},
            expect=201,
        )
        await api.call(
            "POST",
            f"{c}/participants/{added['id']}/consent",
            lead,
            {"information_sheet_version": "2026-1", "method": "written"}
            | ({"accepts_responsibility": True} if role == "responsible" else {}),
            expect=200,
        )
        email = f"marker-{key}-{secrets.token_hex(6)}@people.example"
        markers.append(email.split("@")[0])
        await api.call(
            "POST",
            f"/api/v1/invitations/{added['invitation_token']}/accept",
            None,
            {"email": email, "password": PASSWORD},
            expect=201,
        )
        scene.people[key] = Person(added["id"], await api.sign_in(email), key)
    await api.call("PUT", f"{c}/watch-list", lead, {"terms": [mark("watch")]}, expect=200)
    await scene.willing("sam", unwanted_topics=[mark("topic")])
    first = await scene.write("rob", mark("body_v1"))
    await scene.decide(
        first["id"], "return", reason="needs_revision", note=mark("note"), internal_note=mark("in")
    )
    i = f"/api/v1/items/{first['id']}"
    rob = scene.people["rob"].token
    await api.call("PATCH", i, rob, {"body": mark("body_v2")}, expect=200)
    await api.call("POST", f"{i}/submit", rob, expect=200)
    await scene.decide(first["id"], note=mark("approve_note"))
    summary = await scene.write("rob", mark("summary_body"), scope="summary")
    await scene.decide(summary["id"], summary=mark("summary"))
    await api.call(
        "POST", f"/api/v1/items/{summary['id']}/summary-consent", rob, {"agree": True}, expect=200
    )
    withheld = await scene.write("sam", mark("sam_body"), to=("rob",))
    await scene.decide(withheld["id"], "withhold", reason="serious_harm", note=mark("harm"))
    await api.call(
        "POST", "/api/v1/me/meeting-requests", rob, {"note": mark("meeting")}, expect=201
    )
    await api.call(
        "POST",
        f"{c}/practitioners/{ids['lead']}/conflict",
        lead,
        {"details": mark("conflict")},
        expect=204,
    )
    await api.call("POST", "/api/v1/me/opt-out", rob, {"reason": mark("opt_out")}, expect=200)
    return scene, markers


async def test_entries_hold_ids_and_digests_never_text(client: Any, runtime: Runtime) -> None:
    """No planted marker is in any entry; every entry is ids, codes, numbers and digests."""
    _, markers = await marked_log(client, runtime)
    entries, head = await log_of(runtime)
    assert len(entries) == head.size >= 30
    stored = "\n".join(f"{r.seq} {r.case_id} {r.action} {r.entry} {r.leaf_hash}" for r in entries)
    stored += f"\n{head}"
    assert not [m for m in markers if m in stored or m.lower() in stored.lower()]
    for row in entries:
        entry = json.loads(row.entry)
        assert set(entry) == ENTRY_KEYS
        assert entry["actor"] is None or UUID.fullmatch(entry["actor"])
        assert entry["case"] is None or UUID.fullmatch(entry["case"])
        assert all(HEX64.fullmatch(d) for d in entry["digests"].values())
        for key, value in entry["subject"].items():
            assert CODE.fullmatch(key)
            if isinstance(value, str) and key != "sheet":
                # Ids, or codes from the policies (reasons, roles, methods, attribution tags).
                assert UUID.fullmatch(value) or CODE.fullmatch(value), (row.action, key, value)
            else:
                # The information sheet's version label is the one caller-chosen string.
                assert value is None or isinstance(value, bool | int | str)


# --- verifying an untouched log ----------------------------------------------------------


async def test_untouched_log_verifies_with_the_key_file_and_the_stored_leaves(
    client: Any, runtime: Runtime, settings: Settings
) -> None:
    """API and service agree: ok; the head is signed by the key file's key over the leaves' root."""
    scene, _ = await marked_log(client, runtime)
    manager_email = "manager@service.example"
    await accounts.add_user(
        runtime, role="manager", email=manager_email, name="M", password=PASSWORD
    )
    manager = await scene.api.sign_in(manager_email)
    _, answer = await scene.api.call("GET", "/api/v1/audit/verify", manager, expect=200)
    status, _ = await scene.api.call("GET", "/api/v1/audit/verify", scene.lead)
    assert status == 403

    async with runtime.read() as tx:
        result = await audit.verify(tx)
    entries, head = await log_of(runtime)
    assert result.ok and not result.problems
    assert answer == {"ok": True, "size": head.size, "root": head.root_hash, "problems": []}
    assert (result.size, result.root) == (head.size, head.root_hash) == (len(entries), result.root)
    assert all(leaf_hash(r.entry.encode()).hex() == r.leaf_hash for r in entries)
    leaves = [bytes.fromhex(r.leaf_hash) for r in entries]
    assert root_from_leaves(leaves).hex() == result.root
    assert Frontier.from_json(head.frontier).root().hex() == result.root

    seed = (settings.data_dir / SIGNING_KEY_FILE).read_bytes()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    body = audit.checkpoint_body(head.size, bytes.fromhex(head.root_hash)).encode()
    signature = base64.b64decode(head.signature, validate=True)
    assert verify_signature(public, body, signature)
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert not verify_signature(other, body, signature)
    assert not verify_signature(
        public, audit.checkpoint_body(head.size - 1, leaves[0]).encode(), signature
    )

    # An auditor's earlier checkpoint is consistent with today's (the log only grew).
    for old_size in (1, head.size // 3, head.size - 1):
        old_root = root_from_leaves(leaves[:old_size])
        proof = consistency_proof(old_size, leaves)
        verify_consistency(old_size, head.size, old_root, bytes.fromhex(head.root_hash), proof)


# --- tampering ---------------------------------------------------------------------------


def _flip_hex(value: str, at: int) -> str:
    at %= len(value)
    return value[:at] + ("0" if value[at] != "0" else "1") + value[at + 1 :]


def _other_char(value: str, at: int, shift: int) -> str:
    at %= len(value)
    # Entries are ASCII JSON (ensure_ascii): move within the printable range, never to itself.
    changed = chr((ord(value[at]) - 32 + 1 + shift % 94) % 95 + 32)
    return value[:at] + changed + value[at + 1 :]


def _canonical(entry: dict[str, Any]) -> str:
    return audit.canonical(entry).decode()


async def _set_entry(tx: Tx, seq: int, entry: str, *, rehash: bool = True) -> None:
    params: dict[str, Any] = {"seq": seq, "entry": entry}
    if rehash:
        params["leaf"] = leaf_hash(entry.encode()).hex()
        await sql(
            tx,
            "UPDATE audit_entry SET entry = :entry, leaf_hash = :leaf WHERE seq = :seq",
            **params,
        )
    else:
        await sql(tx, "UPDATE audit_entry SET entry = :entry WHERE seq = :seq", **params)


async def _rewrite_head(tx: Tx, *, sign_with: Ed25519PrivateKey | None = None) -> None:
    """Recompute the head over the tampered entries, as an attacker without the key would."""
    entries, head = await read_log(tx)
    frontier = Frontier()
    for row in entries:
        frontier.append(bytes.fromhex(row.leaf_hash))
    root = frontier.root()
    signature = head.signature
    if sign_with is not None:
        body = audit.checkpoint_body(frontier.size, root).encode()
        signature = base64.b64encode(sign_with.sign(body)).decode()
    await sql(
        tx,
        "UPDATE audit_head SET size = :size, root_hash = :root, frontier = :frontier,"
        " signature = :signature",
        size=frontier.size,
        root=root.hex(),
        frontier=frontier.to_json(),
        signature=signature,
    )


async def _shift_from(tx: Tx, seq: int) -> None:
    """Move entries from ``seq`` on one place later (two steps: seq is the primary key)."""
    await sql(tx, "UPDATE audit_entry SET seq = -seq - 1 WHERE seq >= :seq", seq=seq)
    await sql(tx, "UPDATE audit_entry SET seq = -seq WHERE seq < 0")


@dataclass(frozen=True)
class Tamper:
    """One change to the stored log: a kind and the positions/values it uses."""

    kind: str
    i: int = 0
    j: int = 1
    k: int = 0

    async def apply(self, tx: Tx, log: list[Row], head: Head) -> None:
        """Make the change through raw SQL in ``tx``."""
        await TAMPERS[self.kind](self, tx, log, head)


Apply = Callable[[Tamper, Tx, list[Row], Head], Awaitable[None]]
TAMPERS: dict[str, Apply] = {}


def tamper(kind: str) -> Callable[[Apply], Apply]:
    """Register a kind of tampering."""

    def register(function: Apply) -> Apply:
        TAMPERS[kind] = function
        return function

    return register


@tamper("edit one byte")
async def _edit_byte(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    await _set_entry(tx, row.seq, _other_char(row.entry, t.j, t.k), rehash=False)


@tamper("edit one byte and its leaf hash")
async def _edit_byte_rehash(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    await _set_entry(tx, row.seq, _other_char(row.entry, t.j, t.k))


@tamper("edit one field, canonically, with its leaf hash")
async def _edit_field(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    entry = json.loads(row.entry)
    name = ("at", "actor", "subject", "digests")[t.j % 4]
    entry[name] = {
        "at": "2000-01-01T00:00:00.000000+00:00",
        "actor": "00000000-0000-4000-8000-000000000000",
        "subject": {**entry["subject"], "forged": True},
        "digests": {"version": "0" * 64},
    }[name]
    await _set_entry(tx, row.seq, _canonical(entry))


@tamper("edit the indexed columns")
async def _edit_columns(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    column, value = (("action", "item:decision:approve"), ("case_id", None))[t.j % 2]
    if column == "action" and row.action == value:
        value = "item:decision:withhold"
    if column == "case_id" and row.case_id is None:
        value = "00000000-0000-4000-8000-000000000000"
    await sql(
        tx,
        f"UPDATE audit_entry SET {column} = :value WHERE seq = :seq",  # noqa: S608
        value=value,
        seq=row.seq,
    )


@tamper("delete an entry")
async def _delete(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await sql(tx, "DELETE FROM audit_entry WHERE seq = :seq", seq=log[t.i % len(log)].seq)


@tamper("delete an entry and renumber the rest")
async def _delete_renumber(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    at = t.i % len(log)
    await sql(tx, "DELETE FROM audit_entry WHERE seq = :seq", seq=at)
    for row in log[at + 1 :]:
        entry = json.loads(row.entry)
        entry["seq"] = row.seq - 1
        await sql(
            tx, "UPDATE audit_entry SET seq = :new WHERE seq = :old", new=row.seq - 1, old=row.seq
        )
        await _set_entry(tx, row.seq - 1, _canonical(entry))
    await _rewrite_head(tx)


@tamper("truncate the tail and rewrite the head")
async def _truncate(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await sql(tx, "DELETE FROM audit_entry WHERE seq >= :seq", seq=max(1, t.i % len(log)))
    await _rewrite_head(tx)


@tamper("swap two entries")
async def _swap_entries(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    a, b = log[t.i % len(log)], log[(t.i + 1 + t.j % (len(log) - 1)) % len(log)]
    await _set_entry(tx, a.seq, b.entry)
    await _set_entry(tx, b.seq, a.entry)
    await sql(
        tx,
        "UPDATE audit_entry SET action = :action, case_id = :case WHERE seq = :seq",
        action=b.action,
        case=b.case_id,
        seq=a.seq,
    )
    await sql(
        tx,
        "UPDATE audit_entry SET action = :action, case_id = :case WHERE seq = :seq",
        action=a.action,
        case=a.case_id,
        seq=b.seq,
    )


@tamper("swap two sequence numbers")
async def _swap_seq(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    a, b = log[t.i % len(log)].seq, log[(t.i + 1 + t.j % (len(log) - 1)) % len(log)].seq
    await sql(tx, "UPDATE audit_entry SET seq = -1 WHERE seq = :a", a=a)
    await sql(tx, "UPDATE audit_entry SET seq = :a WHERE seq = :b", a=a, b=b)
    await sql(tx, "UPDATE audit_entry SET seq = :b WHERE seq = -1", b=b)


@tamper("swap two entries, renumbered and rehashed, head rewritten")
async def _swap_rewrite(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    a, b = log[t.i % len(log)], log[(t.i + 1 + t.j % (len(log) - 1)) % len(log)]
    for target, source in ((a, b), (b, a)):
        entry = json.loads(source.entry)
        entry["seq"] = target.seq
        await _set_entry(tx, target.seq, _canonical(entry))
        await sql(
            tx,
            "UPDATE audit_entry SET action = :action, case_id = :case WHERE seq = :seq",
            action=source.action,
            case=source.case_id,
            seq=target.seq,
        )
    await _rewrite_head(tx)


def _forged(seq: int, log: list[Row]) -> dict[str, Any]:
    model = json.loads(log[-1].entry)
    return {**model, "seq": seq, "subject": {"forged": True}, "action": "case:case:close"}


async def _insert(tx: Tx, seq: int, entry: dict[str, Any]) -> None:
    text_ = _canonical(entry)
    await sql(
        tx,
        "INSERT INTO audit_entry (seq, case_id, action, entry, leaf_hash)"
        " VALUES (:seq, :case, :action, :entry, :leaf)",
        seq=seq,
        case=entry["case"],
        action=entry["action"],
        entry=text_,
        leaf=leaf_hash(text_.encode()).hex(),
    )


@tamper("append a forged entry")
async def _append(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await _insert(tx, len(log), _forged(len(log), log))


@tamper("append a forged entry and rewrite the head")
async def _append_rewrite(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await _insert(tx, len(log), _forged(len(log), log))
    await _rewrite_head(tx)


@tamper("insert a forged entry in the middle, renumbered, head rewritten")
async def _insert_middle(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    at = t.i % len(log)
    await _shift_from(tx, at)
    for row in log[at:]:
        entry = json.loads(row.entry)
        entry["seq"] = row.seq + 1
        await _set_entry(tx, row.seq + 1, _canonical(entry))
    await _insert(tx, at, _forged(at, log))
    await _rewrite_head(tx)


@tamper("change a stored leaf hash")
async def _leaf(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    await sql(
        tx,
        "UPDATE audit_entry SET leaf_hash = :leaf WHERE seq = :seq",
        leaf=_flip_hex(row.leaf_hash, t.j),
        seq=row.seq,
    )


@tamper("change the head's size")
async def _head_size(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    size = head.size + (1 + t.k % 5) * (1 if t.j % 2 else -1)
    await sql(tx, "UPDATE audit_head SET size = :size", size=max(0, size))


@tamper("change the head's root")
async def _head_root(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await sql(tx, "UPDATE audit_head SET root_hash = :root", root=_flip_hex(head.root_hash, t.j))


@tamper("change the head's signature")
async def _head_signature(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    raw = bytearray(base64.b64decode(head.signature))
    raw[t.j % len(raw)] ^= 1 << (t.k % 8)
    await sql(tx, "UPDATE audit_head SET signature = :s", s=base64.b64encode(raw).decode())


@tamper("re-sign the rewritten log with another key")
async def _resign(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    entry = json.loads(row.entry)
    entry["subject"] = {**entry["subject"], "forged": True}
    await _set_entry(tx, row.seq, _canonical(entry))
    await _rewrite_head(tx, sign_with=Ed25519PrivateKey.generate())


@tamper("rewrite an entry, every hash and the head, keeping the old signature")
async def _rewrite_all(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    row = log[t.i % len(log)]
    entry = json.loads(row.entry)
    entry["actor"] = "00000000-0000-4000-8000-000000000000"
    await _set_entry(tx, row.seq, _canonical(entry))
    await _rewrite_head(tx)


@tamper("delete the head")
async def _no_head(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    await sql(tx, "DELETE FROM audit_head")


@tamper("replay an older signed head")
async def _old_head(t: Tamper, tx: Tx, log: list[Row], head: Head) -> None:
    # The head as it was signed at an earlier size, with the entries after it removed: the
    # signature is genuine, so only an auditor's later checkpoint could catch this. Here
    # the entries after it are kept, so the log no longer matches the head.
    await sql(tx, "UPDATE audit_head SET size = :size", size=head.size - 1 - t.i % 3)


# --- running a tampering on a throwaway copy ---------------------------------------------


@dataclass
class Log:
    """The finished log to tamper with: the runtime for it, its rows and head."""

    runtime: Runtime
    settings: Settings
    entries: list[Row]
    head: Head
    template: Path | None  # SQLite: a closed copy of the database to copy from


async def finished_log(client: Any, runtime: Runtime, settings: Settings, tmp: Path) -> Log:
    """A few dozen entries; on SQLite the database is closed and kept as a template file."""
    await marked_log(client, runtime)
    entries, head = await log_of(runtime)
    template = None
    if settings.is_sqlite:
        await client.close()
        await runtime.db.dispose()
        database = make_url(settings.effective_database_url).database
        assert database
        template = tmp / "audit-template.db"
        shutil.copyfile(database, template)
    return Log(runtime, settings, entries, head, template)


def remove_database_file(path: Path) -> None:
    """Delete a SQLite database file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@asynccontextmanager
async def throwaway(log: Log) -> AsyncIterator[Tx]:
    """A transaction on a copy of the log that nothing else will see.

    SQLite: a fresh copy of the template file, its changes committed there. PostgreSQL: the
    test's own database, in a transaction that is always rolled back.
    """
    rt = log.runtime
    if log.template is not None:
        copy = log.template.with_name(f"copy-{secrets.token_hex(6)}.db")
        shutil.copyfile(log.template, copy)
        database = Database(f"sqlite+aiosqlite:///{copy}")
        try:
            async with database.writing() as session:
                yield Tx(session, rt.keys, rt.policies, rt.settings, utcnow())
        finally:
            await database.dispose()
            remove_database_file(copy)
        return
    async with rt.db.writer.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, expire_on_commit=False)
        try:
            yield Tx(session, rt.keys, rt.policies, rt.settings, utcnow())
        finally:
            await session.close()
            await transaction.rollback()


async def verify_tampered(log: Log, change: Tamper) -> audit.Verification:
    """Make the change on a throwaway copy and verify it there."""
    async with throwaway(log) as tx:
        await change.apply(tx, log.entries, log.head)
        await tx.session.flush()
        return await audit.verify(tx)


async def assert_untouched(log: Log) -> None:
    """A throwaway copy with no change verifies, and so does the log itself."""
    async with throwaway(log) as tx:
        assert (await audit.verify(tx)).ok
    if log.template is None:
        async with log.runtime.read() as tx:
            assert (await audit.verify(tx)).ok


CASES = [
    Tamper(kind, i, j, k)
    for kind in TAMPERS
    for i, j, k in ((0, 1, 0), (17, 5, 3), (-1, 2, 7))  # first, middle, last
]


@pytest.fixture
async def log(client: Any, runtime: Runtime, settings: Settings, tmp_path: Path) -> Log:
    """The finished log of this test's database."""
    return await finished_log(client, runtime, settings, tmp_path)


async def test_verify_catches_each_kind_of_tampering(log: Log) -> None:
    """Every kind of change, at the first, a middle and the last entry, is reported."""
    assert len(log.entries) >= 30
    await assert_untouched(log)
    missed = []
    for change in CASES:
        result = await verify_tampered(log, change)
        if result.ok or not result.problems:
            missed.append(change)
    assert not missed
    await assert_untouched(log)


@pytest.mark.parametrize(
    "change",
    [
        Tamper("edit one byte", 0, 40, 1),
        Tamper("delete an entry", 0),
        Tamper("delete an entry", 20),
        Tamper("delete an entry", -1),
        Tamper("swap two sequence numbers", 3, 4),
        Tamper("append a forged entry"),
        Tamper("change a stored leaf hash", 9, 9),
        Tamper("change the head's signature", 0, 10, 2),
        Tamper("rewrite an entry, every hash and the head, keeping the old signature", 5),
    ],
    ids=lambda change: f"{change.kind} at {change.i}",
)
async def test_api_and_service_report_tampering_of_the_live_log(
    client: Any, runtime: Runtime, change: Tamper
) -> None:
    """On the test's own database, changed for good: the API and the service both say not ok."""
    scene = await build_case(client, runtime)
    email = "auditor@service.example"
    await accounts.add_user(runtime, role="admin", email=email, name="A", password=PASSWORD)
    admin = await scene.api.sign_in(email)
    _, before = await scene.api.call("GET", "/api/v1/audit/verify", admin, expect=200)
    assert before["ok"] is True
    entries, head = await log_of(runtime)
    async with runtime.write() as tx:
        await change.apply(tx, entries, head)
    _, after = await scene.api.call("GET", "/api/v1/audit/verify", admin, expect=200)
    assert after["ok"] is False and after["problems"]
    async with runtime.read() as tx:
        result = await audit.verify(tx)
    assert not result.ok and result.problems == after["problems"]


RANDOM_EXAMPLES = 250


async def test_random_tampering_is_always_caught(log: Log) -> None:
    """Hypothesis: 250 random changes, each on a fresh copy; verify never says ok."""
    loop = asyncio.get_running_loop()
    tried: list[Tamper] = []

    def check(change: Tamper) -> None:
        tried.append(change)
        future = asyncio.run_coroutine_threadsafe(verify_tampered(log, change), loop)
        result = future.result(timeout=60)
        assert not result.ok, change
        assert result.problems, change

    test = given(
        st.builds(
            Tamper,
            kind=st.sampled_from(sorted(TAMPERS)),
            i=st.integers(-len(log.entries), 2 * len(log.entries)),
            j=st.integers(0, 10_000),
            k=st.integers(0, 10_000),
        )
    )(check)
    for kind in TAMPERS:  # every kind at least once, whatever Hypothesis draws
        test = example(Tamper(kind, 7, 3, 5))(test)
    test = hypothesis_settings(
        max_examples=RANDOM_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )(test)

    # Hypothesis drives a synchronous test: run it in a thread and send each tampering back
    # to this event loop, where the database connections live.
    await asyncio.to_thread(test)
    assert len(tried) >= RANDOM_EXAMPLES
    assert {t.kind for t in tried} == set(TAMPERS)
    await assert_untouched(log)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("signature", "not base64!"),
        ("signature", ""),
        ("root_hash", "not hex"),
        ("root_hash", ""),
    ],
)
async def test_malformed_head_is_reported_not_raised(
    runtime: Runtime, column: str, value: str
) -> None:
    """A head whose signature or root is not even well-formed is "not ok", not a crash."""
    async with runtime.write() as tx:
        await sql(tx, f"UPDATE audit_head SET {column} = :value", value=value)  # noqa: S608
    async with runtime.read() as tx:
        result = await audit.verify(tx)
    assert not result.ok and result.problems


async def test_a_rewrite_is_not_laundered_by_the_next_append(client: Any, runtime: Runtime) -> None:
    """Rewritten entries plus a matching frontier must not be signed into a valid head.

    Someone with the database but not the signing key rewrites an entry, rehashes it, and
    stores the frontier of the rewritten log in the head (root and signature untouched).
    Verify catches that at once; it must still catch it after the service's next append,
    which must not sign a root computed from a frontier that disagrees with the signed head.
    """
    await build_case(client, runtime)
    entries, _ = await log_of(runtime)
    async with runtime.write() as tx:
        forged = json.loads(entries[3].entry)
        forged["actor"] = "00000000-0000-4000-8000-000000000000"
        await _set_entry(tx, 3, _canonical(forged))
        rewritten, _ = await read_log(tx)
        frontier = Frontier()
        for row in rewritten:
            frontier.append(bytes.fromhex(row.leaf_hash))
        await sql(tx, "UPDATE audit_head SET frontier = :f", f=frontier.to_json())
    async with runtime.read() as tx:
        assert not (await audit.verify(tx)).ok
    # Any ordinary change would append an entry through the service: it refuses to sign on top
    # of a head that disagrees with its frontier, and the change is not made.
    with pytest.raises(audit.AuditIntegrityError):
        await accounts.add_user(
            runtime, role="practitioner", email="next@service.example", name="N", password=PASSWORD
        )
    async with runtime.read() as tx:
        result = await audit.verify(tx)
    assert not result.ok, "the forged entry is now covered by the service's own signature"


async def test_a_forged_head_is_not_signed_over_by_the_process_that_signed_the_last(
    client: Any, runtime: Runtime
) -> None:
    """The service skips re-checking the signature of the head it signed itself last
    (``Memo.signed_head``): a head rewritten whole (entry, frontier, root) without the key must
    still be refused, in that same running process, before anything is signed on top of it."""
    await build_case(client, runtime)  # this runtime has just signed the head
    entries, _ = await log_of(runtime)
    async with runtime.write() as tx:
        forged = json.loads(entries[3].entry)
        forged["actor"] = "00000000-0000-4000-8000-000000000000"
        await _set_entry(tx, 3, _canonical(forged))
        rewritten, _ = await read_log(tx)
        frontier = Frontier()
        for row in rewritten:
            frontier.append(bytes.fromhex(row.leaf_hash))
        await sql(
            tx,
            "UPDATE audit_head SET frontier = :f, root_hash = :r",
            f=frontier.to_json(),
            r=frontier.root().hex(),
        )
    with pytest.raises(audit.AuditIntegrityError):
        await accounts.add_user(
            runtime, role="practitioner", email="next@service.example", name="N", password=PASSWORD
        )
    async with runtime.read() as tx:
        assert not (await audit.verify(tx)).ok


SEEDED_TAMPERINGS = 1000


async def test_a_thousand_seeded_tamperings_are_all_caught(log: Log) -> None:
    """1,000 seeded alterations, deletions, reorderings and insertions; verify catches each.

    All on one copy of the database (SQLite) or the test's own (PostgreSQL), each inside a
    savepoint rolled back after verifying, so each starts from the untouched log.
    """
    generator = random.Random(9162)
    kinds = sorted(TAMPERS)
    size = len(log.entries)
    missed, tried = [], collections.Counter[str]()
    async with throwaway(log) as tx:
        for n in range(SEEDED_TAMPERINGS):
            change = Tamper(
                kinds[n % len(kinds)] if n < len(kinds) else generator.choice(kinds),
                generator.randrange(-size, 2 * size),
                generator.randrange(10_000),
                generator.randrange(10_000),
            )
            if n % 100 == 0:  # the untouched copy still verifies between changes
                assert (await audit.verify(tx)).ok
            savepoint = await tx.session.begin_nested()
            try:
                await change.apply(tx, log.entries, log.head)
                await tx.session.flush()
                tx.session.expunge_all()  # read what is stored, not what the session holds
                result = await audit.verify(tx)
            finally:
                await savepoint.rollback()
                tx.session.expunge_all()
            tried[change.kind] += 1
            if result.ok or not result.problems:
                missed.append(change)
        assert (await audit.verify(tx)).ok  # and the copy itself is untouched
    assert not missed
    assert sum(tried.values()) == SEEDED_TAMPERINGS and set(tried) == set(TAMPERS)
