"""A test walks the whole of API.md as an integrator would, over real HTTP.

The real server runs as a subprocess (``shuttle serve``) on this test's own database; the staff
accounts are made with the real command line (``shuttle users add ... --password-stdin``); and
then every endpoint and rule of ``../shared/API.md`` is driven with ``aiohttp.ClientSession``,
in the order an integrator would meet them. Every error provoked on the way is checked for the
one error shape of API.md.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import secrets
import sys
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shuttle.settings import Settings
from tests import authenticator
from tests.served import Server, serving

SHUTTLE = str(Path(sys.executable).with_name("shuttle"))
PASSWORD = "a long enough walkthrough password"
NOBODY = object()

# What API.md promises, path parameters written as {}.
API_MD_ROUTES = {
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/api/v1/invitations/{}/accept"),
    ("POST", "/api/v1/cases"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/{}"),
    ("POST", "/api/v1/cases/{}/practitioners"),
    ("POST", "/api/v1/cases/{}/participants"),
    ("POST", "/api/v1/cases/{}/participants/{}/consent"),
    ("POST", "/api/v1/cases/{}/participants/{}/opt-out"),
    ("PUT", "/api/v1/me/preferences"),
    ("PUT", "/api/v1/cases/{}/participants/{}/preferences"),
    ("POST", "/api/v1/cases/{}/items"),
    ("PATCH", "/api/v1/items/{}"),
    ("GET", "/api/v1/items/{}"),
    ("POST", "/api/v1/items/{}/submit"),
    ("POST", "/api/v1/items/{}/withdraw"),
    ("GET", "/api/v1/queue"),
    ("POST", "/api/v1/items/{}/decisions"),
    ("POST", "/api/v1/items/{}/summary-consent"),
    ("PUT", "/api/v1/cases/{}/watch-list"),
    ("GET", "/api/v1/cases/{}/watch-list"),
    ("GET", "/api/v1/inbox"),
    ("POST", "/api/v1/items/{}/read"),
    ("GET", "/api/v1/cases/{}/events"),
    ("POST", "/api/v1/me/disclosure-requests"),
    ("POST", "/api/v1/cases/{}/participants/{}/disclosure-requests"),
    ("POST", "/api/v1/disclosure-requests/{}/release"),
    ("GET", "/api/v1/disclosure-requests/{}/package"),
    ("GET", "/api/v1/audit/verify"),
}
INBOX_FIELDS = {"id", "kind", "body", "attribution", "from", "relayed_at", "read_at"}
FLAG_FIELDS = {"kind", "severity", "start", "end", "excerpt", "reason"}
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

STAFF = {
    "admin": ("admin", "Ada Admin"),
    "manager": ("manager", "Max Manager"),
    "supervisor": ("supervisor", "Sue Supervisor"),
    "lead": ("practitioner", "Lee Lead"),
    "colleague": ("practitioner", "Cal Colleague"),
    "outsider": ("practitioner", "Oli Outsider"),
}

# Words that must never reach the other participant, each free of characters HTML escapes.
ROB_FULL_NAME = "Robert Quinton Jones"
SAM_FULL_NAME = "Samantha Ellery Taylor"
A_FIRST = "I am sorry for what happened."
A_SECOND = "I am truly sorry for what happened on the bus."
F_FIRST = (
    "\N{SLIGHTLY SMILING FACE} Meet me near Millbrook school. "
    "Email rob.r@example.com or ring 07700 900123."
)
F_SECOND = "I hope you are doing well and I think about meeting you."
W_BODY = "A message I changed my mind about sending."
X_BODY = "Only for my facilitator: I had been drinking that night."
S_ORIGINAL = "My original words: the night of the attack still keeps me awake."
S_DECLINED = "Sam says she struggles to sleep."
S_AGREED = "Sam wants Rob to know that the night still affects her."
RETURN_NOTE = "Please take out the school and the contact details."
INTERNAL_NOTE = "Internal only: discussed with the supervisor by phone."
ROB_TOPIC = "football results"


def assert_error(data: Any, status: int) -> None:
    """The one error shape of API.md: {"error": {"code": snake_case, "message": text}}."""
    assert isinstance(data, dict), f"{status}: error body is not a JSON object: {data!r}"
    assert set(data) == {"error"}, f"{status}: error body has other keys: {data!r}"
    error = data["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error), data
    assert set(error) <= {"code", "message", "fields"}, f"unexpected error fields: {data!r}"
    assert isinstance(error["code"], str) and SNAKE.fullmatch(error["code"]), data
    assert isinstance(error["message"], str) and error["message"].strip(), data


def assert_time(value: Any) -> datetime:
    """An RFC 3339 UTC time."""
    assert isinstance(value, str) and RFC3339_UTC.fullmatch(value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    return parsed


@dataclass
class Http:
    """The JSON API over real HTTP; checks the status and, for errors, the error shape."""

    session: aiohttp.ClientSession
    base: str
    errors: list[tuple[str, str, int, str]] = field(default_factory=list)

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = NOBODY,
        *,
        expect: int,
        code: str | None = None,
    ) -> Any:
        """One request; returns the JSON answer (or the raw bytes of anything else)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {} if body is NOBODY else {"json": body}
        async with self.session.request(
            method, self.base + path, headers=headers, **kwargs
        ) as response:
            raw = await response.read()
            content_type = response.content_type
            status = response.status
        data: Any = json.loads(raw) if content_type == "application/json" else raw
        assert status == expect, f"{method} {path}: expected {expect}, got {status}: {data!r}"
        if status >= 400:
            assert content_type == "application/json", f"{method} {path}: {content_type}"
            assert_error(data, status)
            if code is not None:
                assert data["error"]["code"] == code, f"{method} {path}: {data!r}"
            self.errors.append((method, path, status, data["error"]["code"]))
        return data

    async def download(self, path: str, token: str) -> tuple[str, bytes]:
        """A non-JSON answer: its content type and bytes (200 expected)."""
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.get(self.base + path, headers=headers) as response:
            raw = await response.read()
            assert response.status == 200, f"GET {path}: {response.status} {raw[:300]!r}"
            return response.content_type, raw


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    """``shuttle serve --port <free port>``, stopped at the end whatever happens."""
    with serving(settings, tmp_path) as running:
        yield running


@pytest.fixture
async def http(server: Server) -> AsyncIterator[Http]:
    """A client session for the server."""
    async with aiohttp.ClientSession() as session:
        yield Http(session, server.base)


def _template(path: str) -> str:
    return re.sub(r"{\w+}", "{}", path)


async def test_walk_through_api_md(server: Server, http: Http, settings: Settings) -> None:
    """Everything API.md promises, in the order an integrator meets it."""
    call = http.call

    # --- Running it: the server starts; the command line makes the staff accounts. ---
    async def add_staff(key: str) -> tuple[str, str]:
        role, name = STAFF[key]
        email = f"{key}@service.example"
        out = await server.cli(
            "users",
            "add",
            "--role",
            role,
            "--email",
            email,
            "--name",
            name,
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        lines = out.strip().splitlines()
        assert len(lines) == 1 and re.fullmatch(r"[\w-]{8,}", lines[0]), out
        return lines[0], email

    made, _ = await asyncio.gather(
        asyncio.gather(*(add_staff(key) for key in STAFF)), server.ready()
    )
    staff_ids = {key: user_id for key, (user_id, _) in zip(STAFF, made, strict=True)}
    emails = {key: email for key, (_, email) in zip(STAFF, made, strict=True)}

    # --- The OpenAPI description lists every path of API.md. ---
    document = await call("GET", "/api/openapi.json", expect=200)
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), _template(path))
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert API_MD_ROUTES - documented == set(), "API.md paths missing from the OpenAPI document"

    # --- Accounts and sessions. ---
    await call("GET", "/api/v1/cases", expect=401)
    await call("GET", "/api/v1/cases", "not-a-real-token", expect=401)
    await call(
        "POST",
        "/api/v1/session",
        body={"email": emails["lead"], "password": "not the password at all"},
        expect=401,
    )
    # Staff sign in with a second factor: the password gives a challenge and, the first
    # time, a secret to enrol in an authenticator app; the app's code gives the token and,
    # once, the recovery codes.
    tokens: dict[str, str] = {}
    for key in STAFF:
        challenge = await call(
            "POST",
            "/api/v1/session",
            body={"email": emails[key], "password": PASSWORD},
            expect=200,
        )
        assert challenge["mfa_required"] is True and challenge["enrolment_required"] is True
        assert set(challenge) == {"mfa_required", "enrolment_required", "challenge", "totp"}
        assert challenge["totp"]["uri"].startswith("otpauth://totp/")
        await call(
            "POST",
            "/api/v1/session/mfa",
            body={"challenge": challenge["challenge"], "code": "000000x"},
            expect=401,
            code="invalid_code",
        )
        answer = authenticator.answer(settings.effective_database_url, emails[key], challenge)
        signed = await call("POST", "/api/v1/session/mfa", body=answer, expect=200)
        assert len(signed.pop("recovery_codes")) == 10
        assert set(signed) == {"token", "user"}
        assert signed["user"] == {
            "id": staff_ids[key],
            "role": STAFF[key][0],
            "name": STAFF[key][1],
        }
        tokens[key] = signed["token"]
    lead, colleague, outsider = tokens["lead"], tokens["colleague"], tokens["outsider"]
    supervisor, manager, admin = tokens["supervisor"], tokens["manager"], tokens["admin"]

    # --- Cases; need to know. ---
    case = await call(
        "POST",
        "/api/v1/cases",
        lead,
        {
            "reference": "RJ-2026-0042",
            "sensitive_complex": False,
            "supervisor_id": staff_ids["supervisor"],
        },
        expect=201,
    )
    assert {"id", "reference", "state", "sensitive_complex"} <= set(case)
    assert case["reference"] == "RJ-2026-0042" and case["state"] == "open"
    assert case["sensitive_complex"] is False
    case_id = case["id"]
    c = f"/api/v1/cases/{case_id}"
    for who in (lead, supervisor):
        seen = await call("GET", c, who, expect=200)
        assert seen["reference"] == "RJ-2026-0042"
        assert case_id in [
            k["id"] for k in (await call("GET", "/api/v1/cases", who, expect=200))["cases"]
        ]
    await call("GET", c, outsider, expect=404)
    await call("GET", f"/api/v1/cases/{secrets.token_hex(8)}", outsider, expect=404)
    assert (await call("GET", "/api/v1/cases", outsider, expect=200))["cases"] == []
    overview = await call("GET", c, manager, expect=200)
    assert overview["state"] == "open" and "counts" in overview
    assert "reference" not in overview and "participants" not in overview
    assert "RJ-2026-0042" not in json.dumps(overview)
    listed = (await call("GET", "/api/v1/cases", manager, expect=200))["cases"]
    assert [k["id"] for k in listed] == [case_id]
    assert "RJ-2026-0042" not in json.dumps(listed)

    # --- Practitioners on the case: a declared conflict is refused. ---
    await call(
        "POST",
        f"{c}/practitioners",
        lead,
        {
            "user_id": staff_ids["outsider"],
            "role": "co_worker",
            "conflict_of_interest": {"declared": True, "details": "Knows the family."},
        },
        expect=409,
    )
    await call("GET", c, outsider, expect=404)
    placed = await call(
        "POST",
        f"{c}/practitioners",
        lead,
        {
            "user_id": staff_ids["colleague"],
            "role": "co_worker",
            "conflict_of_interest": {"declared": False},
        },
        expect=201,
    )
    assert placed["user_id"] == staff_ids["colleague"]
    await call("GET", c, colleague, expect=200)

    # --- Participants and their one-time invitations. ---
    async def add_person(role: str, full_name: str, shown: str) -> dict[str, Any]:
        added = await call(
            "POST",
            f"{c}/participants",
            lead,
            {"role": role, "display_name": full_name, "shown_to_others_as": shown},
            expect=201,
        )
        assert {"id", "role", "state", "invitation_token"} <= set(added)
        assert added["role"] == role and added["state"] == "invited"
        assert isinstance(added["invitation_token"], str) and len(added["invitation_token"]) >= 22
        return added

    sam_rec = await add_person("harmed", SAM_FULL_NAME, "Sam")
    rob_rec = await add_person("responsible", ROB_FULL_NAME, "Rob")
    await call(
        "POST",
        f"{c}/participants",
        outsider,
        {
            "role": "other",
            "display_name": "X",
            "shown_to_others_as": "X",
        },
        expect=404,
    )
    sam_id, rob_id = sam_rec["id"], rob_rec["id"]

    def accept(token: str, email: str, expect: int = 201) -> Any:
        return call(
            "POST",
            f"/api/v1/invitations/{token}/accept",
            body={"email": email, "password": PASSWORD},
            expect=expect,
        )

    joined = await accept(sam_rec["invitation_token"], "sam@people.example")
    assert set(joined) == {"user"} and joined["user"]["role"] == "participant"
    used = await accept(sam_rec["invitation_token"], "sam2@people.example", 404)
    reissued = await call("POST", f"{c}/participants/{rob_id}/invitation", lead, expect=201)
    expired = await accept(rob_rec["invitation_token"], "rob0@people.example", 404)
    unknown = await accept(secrets.token_urlsafe(32), "nobody@people.example", 404)
    assert used == expired == unknown, "used, expired and unknown invitations answer differently"
    await accept(reissued["invitation_token"], "rob@people.example")

    async def sign_in(email: str) -> str:
        signed = await call(
            "POST", "/api/v1/session", body={"email": email, "password": PASSWORD}, expect=200
        )
        return str(signed["token"])

    sam, rob = await sign_in("sam@people.example"), await sign_in("rob@people.example")

    # --- Informed consent: the person responsible must accept responsibility. ---
    consent = {"information_sheet_version": "2026-1", "method": "in_person"}
    await call("POST", f"{c}/participants/{rob_id}/consent", lead, consent, expect=422)
    await call(
        "POST",
        f"{c}/participants/{rob_id}/consent",
        lead,
        {**consent, "accepts_responsibility": False},
        expect=422,
    )
    consented = await call("POST", f"{c}/participants/{sam_id}/consent", lead, consent, expect=200)
    assert consented["state"] == "active"
    await call("POST", f"{c}/participants/{sam_id}/consent", outsider, consent, expect=404)

    # Before their consent a participant can neither create nor submit items.
    letter_to_sam = {
        "kind": "letter",
        "body": A_FIRST,
        "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
    }
    await call("POST", f"{c}/items", rob, letter_to_sam, expect=409, code="consent_required")
    await call(
        "POST",
        f"{c}/items",
        lead,
        {**letter_to_sam, "on_behalf_of": rob_id},
        expect=409,
        code="consent_required",
    )

    # --- Preferences: the default is ask_first; the practitioner's endpoint records them. ---
    me = await call("GET", "/api/v1/me", sam, expect=200)
    assert me["preferences"]["receive"] == "ask_first"
    rob_wishes = {
        "receive": "yes",
        "unwanted_topics": [ROB_TOPIC],
        "delivery": "portal",
        "tell_author_when_read": False,
    }
    stored = await call(
        "PUT", f"{c}/participants/{rob_id}/preferences", lead, rob_wishes, expect=200
    )
    assert stored == rob_wishes
    await call("PUT", f"{c}/participants/{rob_id}/preferences", outsider, rob_wishes, expect=404)

    # Nothing is relayed to someone who has not consented, however willing they are.
    question = await call(
        "POST",
        f"{c}/items",
        sam,
        {
            "kind": "question",
            "body": "Why did you choose me that night?",
            "sharing": {"scope": "verbatim", "recipient_ids": [rob_id]},
            "response_wanted": "reply",
        },
        expect=201,
    )
    await call("POST", f"/api/v1/items/{question['id']}/submit", sam, expect=200)
    opened = await call("GET", f"/api/v1/items/{question['id']}", lead, expect=200)
    held = await call(
        "POST",
        f"/api/v1/items/{question['id']}/decisions",
        lead,
        {"decision": "approve", "version_digest": opened["version_digest"]},
        expect=201,
    )
    assert held["state"] == "held" and "recipient_willing" in held["waiting_for"]
    assert (await call("GET", "/api/v1/inbox", rob, expect=200))["items"] == []
    consented = await call(
        "POST",
        f"{c}/participants/{rob_id}/consent",
        lead,
        {**consent, "accepts_responsibility": True, "court_ordered": False},
        expect=200,
    )
    assert consented["state"] == "active"
    rob_inbox = (await call("GET", "/api/v1/inbox", rob, expect=200))["items"]
    assert [i["id"] for i in rob_inbox] == [question["id"]]

    # --- Items: create, change (a new version), the facilitator_only rule, withdraw, submit. ---
    draft = await call("POST", f"{c}/items", rob, letter_to_sam, expect=201)
    assert draft["state"] == "draft" and draft["version"] == 1 and draft["body"] == A_FIRST
    assert {
        "id",
        "case_id",
        "kind",
        "state",
        "version",
        "version_digest",
        "body",
        "sharing",
        "author",
    } <= set(draft)
    assert draft["case_id"] == case_id and draft["sharing"]["recipient_ids"] == [sam_id]
    a_id, first_digest = draft["id"], draft["version_digest"]
    changed = await call("PATCH", f"/api/v1/items/{a_id}", rob, {"body": A_SECOND}, expect=200)
    assert changed["version"] == 2 and changed["body"] == A_SECOND
    assert changed["version_digest"] != first_digest and changed["state"] == "draft"
    await call("PATCH", f"/api/v1/items/{a_id}", sam, {"body": "Not mine."}, expect=404)
    await call(
        "POST",
        f"{c}/items",
        rob,
        {
            "kind": "letter",
            "body": X_BODY,
            "sharing": {"scope": "facilitator_only", "recipient_ids": [sam_id]},
        },
        expect=422,
    )
    await call(
        "POST",
        f"{c}/items",
        lead,
        {**letter_to_sam, "body": "A practitioner letter in nobody's name."},
        expect=422,
    )
    withdrawn_item = await call(
        "POST", f"{c}/items", rob, {**letter_to_sam, "body": W_BODY}, expect=201
    )
    withdrawn = await call(
        "POST", f"/api/v1/items/{withdrawn_item['id']}/withdraw", rob, expect=200
    )
    assert withdrawn["state"] == "withdrawn"
    await call("POST", f"/api/v1/items/{withdrawn_item['id']}/submit", rob, expect=409)
    submitted = await call("POST", f"/api/v1/items/{a_id}/submit", rob, expect=200)
    assert submitted["state"] == "submitted"
    await call("PATCH", f"/api/v1/items/{a_id}", rob, {"body": "Too late."}, expect=409)

    # GET an item as its author, a would-be recipient, an outsider and a practitioner.
    mine = await call("GET", f"/api/v1/items/{a_id}", rob, expect=200)
    assert mine["body"] == A_SECOND and mine["state"] == "submitted" and "flags" not in mine
    for who in (sam, outsider, manager):
        await call("GET", f"/api/v1/items/{a_id}", who, expect=404)
    await call("GET", f"/api/v1/items/{secrets.token_hex(8)}", lead, expect=404)
    vetted = await call("GET", f"/api/v1/items/{a_id}", lead, expect=200)
    assert vetted["body"] == A_SECOND and vetted["flags"] == []

    # --- Screening: the watch list, and flags whose offsets point into the body. ---
    await call("GET", f"{c}/watch-list", outsider, expect=404)
    terms = {"terms": ["Millbrook", "Oak Street"]}
    assert await call("PUT", f"{c}/watch-list", lead, terms, expect=200) == terms
    assert await call("GET", f"{c}/watch-list", colleague, expect=200) == terms
    flagged = await call(
        "POST",
        f"{c}/items",
        rob,
        {
            "kind": "message",
            "body": F_FIRST,
            "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
        },
        expect=201,
    )
    f_id = flagged["id"]
    await call("POST", f"/api/v1/items/{f_id}/submit", rob, expect=200)
    f_view = await call("GET", f"/api/v1/items/{f_id}", lead, expect=200)
    flags = f_view["flags"]
    kinds = [flag["kind"] for flag in flags]
    assert "watch_list" in kinds and kinds.count("contact_details") >= 2, flags
    for flag in flags:
        assert set(flag) == FLAG_FIELDS, flag
        assert flag["severity"] in ("info", "warning", "high")
        assert F_FIRST[flag["start"] : flag["end"]] == flag["excerpt"], flag
    excerpts = {flag["excerpt"] for flag in flags}
    assert {"Millbrook", "rob.r@example.com"} <= excerpts
    assert any("07700" in e and "900123" in e for e in excerpts), excerpts

    # --- Vetting: the queue, oldest first, with flags and the recipients' wishes. ---
    queue = (await call("GET", "/api/v1/queue", lead, expect=200))["items"]
    assert [i["id"] for i in queue] == [a_id, f_id]
    for entry in queue:
        assert "flags" in entry and "recipients_preferences" in entry
        (wish,) = entry["recipients_preferences"]
        assert wish["participant_id"] == sam_id and wish["receive"] == "ask_first"
    assert queue[1]["flags"] == flags
    assert (await call("GET", "/api/v1/queue", outsider, expect=200))["items"] == []
    await call("GET", "/api/v1/queue", sam, expect=403)

    decisions = f"/api/v1/items/{a_id}/decisions"
    digest = vetted["version_digest"]
    await call(
        "POST",
        decisions,
        lead,
        {"decision": "approve", "version_digest": first_digest},
        expect=409,
        code="stale_version",
    )
    for decision in ("withhold", "return"):
        await call(
            "POST", decisions, lead, {"decision": decision, "version_digest": digest}, expect=422
        )
    await call(
        "POST", decisions, outsider, {"decision": "approve", "version_digest": digest}, expect=404
    )
    await call(
        "POST", decisions, rob, {"decision": "approve", "version_digest": digest}, expect=403
    )
    approved = await call(
        "POST", decisions, lead, {"decision": "approve", "version_digest": digest}, expect=201
    )
    assert approved["state"] == "held" and approved["waiting_for"] == ["recipient_willing"]
    assert (await call("GET", "/api/v1/inbox", sam, expect=200))["items"] == []

    # Saying yes relays what was held, so the very next inbox read shows it.
    sam_wishes = {
        "receive": "yes",
        "unwanted_topics": [],
        "delivery": "portal",
        "tell_author_when_read": True,
    }
    assert await call("PUT", "/api/v1/me/preferences", sam, sam_wishes, expect=200) == sam_wishes
    inbox = (await call("GET", "/api/v1/inbox", sam, expect=200))["items"]
    assert [i["id"] for i in inbox] == [a_id]
    received = inbox[0]
    assert received["body"] == A_SECOND and received["kind"] == "letter"
    assert received["attribution"] == {"tag": "own_words", "label": "In Rob's own words"}
    assert received["from"] == "Rob" and received["read_at"] is None
    assert_time(received["relayed_at"])
    inbox_extras = set(received) - INBOX_FIELDS
    await call("POST", f"/api/v1/items/{a_id}/withdraw", rob, expect=409)  # relayed: too late

    # Mark read.
    await call("POST", f"/api/v1/items/{a_id}/read", rob, expect=404)  # the author is no recipient
    read = await call("POST", f"/api/v1/items/{a_id}/read", sam, expect=200)
    assert_time(read["read_at"])
    again = (await call("GET", "/api/v1/inbox", sam, expect=200))["items"][0]
    assert again["read_at"] == read["read_at"]
    as_recipient = await call("GET", f"/api/v1/items/{a_id}", sam, expect=200)
    assert as_recipient["body"] == A_SECOND and "version_digest" not in as_recipient

    # Return with a reason; the author revises and resubmits; serious harm goes up.
    f_decisions = f"/api/v1/items/{f_id}/decisions"
    returned = await call(
        "POST",
        f_decisions,
        lead,
        {
            "decision": "return",
            "version_digest": f_view["version_digest"],
            "reason": "identifying_details",
            "note": RETURN_NOTE,
            "internal_note": INTERNAL_NOTE,
        },
        expect=201,
    )
    assert returned["state"] == "returned"
    as_author = await call("GET", f"/api/v1/items/{f_id}", rob, expect=200)
    assert as_author["return_note"]["reason"] == "identifying_details"
    assert as_author["return_note"]["note"] == RETURN_NOTE
    assert INTERNAL_NOTE not in json.dumps(as_author)
    await call("PATCH", f"/api/v1/items/{f_id}", rob, {"body": F_SECOND}, expect=200)
    await call("POST", f"/api/v1/items/{f_id}/submit", rob, expect=200)
    f_view = await call("GET", f"/api/v1/items/{f_id}", lead, expect=200)
    escalated = await call(
        "POST",
        f_decisions,
        lead,
        {
            "decision": "withhold",
            "version_digest": f_view["version_digest"],
            "reason": "serious_harm",
        },
        expect=201,
    )
    assert escalated["state"] == "escalated"
    for who in (lead, colleague):
        await call(
            "POST",
            f_decisions,
            who,
            {"decision": "approve", "version_digest": f_view["version_digest"]},
            expect=403,
        )
    assert f_id not in [
        i["id"] for i in (await call("GET", "/api/v1/queue", lead, expect=200))["items"]
    ]
    sup_queue = (await call("GET", "/api/v1/queue", supervisor, expect=200))["items"]
    assert f_id in [i["id"] for i in sup_queue]
    withheld = await call(
        "POST",
        f_decisions,
        supervisor,
        {
            "decision": "withhold",
            "version_digest": f_view["version_digest"],
            "reason": "risk_of_harm",
        },
        expect=201,
    )
    assert withheld["state"] == "withheld"

    # An explicit escalate; the supervisor approves.
    e_item = await call(
        "POST", f"{c}/items", rob, {**letter_to_sam, "body": "Could we meet one day?"}, expect=201
    )
    await call("POST", f"/api/v1/items/{e_item['id']}/submit", rob, expect=200)
    e_view = await call("GET", f"/api/v1/items/{e_item['id']}", colleague, expect=200)
    e_decisions = f"/api/v1/items/{e_item['id']}/decisions"
    up = await call(
        "POST",
        e_decisions,
        colleague,
        {"decision": "escalate", "version_digest": e_view["version_digest"]},
        expect=201,
    )
    assert up["state"] == "escalated"
    done = await call(
        "POST",
        e_decisions,
        supervisor,
        {"decision": "approve", "version_digest": e_view["version_digest"]},
        expect=201,
    )
    assert done["state"] == "relayed"

    # A summary: its author agrees, or not, before anything is relayed.
    summary_item = await call(
        "POST",
        f"{c}/items",
        sam,
        {
            "kind": "letter",
            "body": S_ORIGINAL,
            "sharing": {"scope": "summary", "recipient_ids": [rob_id]},
        },
        expect=201,
    )
    s_id = summary_item["id"]
    await call("POST", f"/api/v1/items/{s_id}/submit", sam, expect=200)
    s_view = await call("GET", f"/api/v1/items/{s_id}", lead, expect=200)
    s_decide = {"decision": "approve", "version_digest": s_view["version_digest"]}
    s_decisions = f"/api/v1/items/{s_id}/decisions"
    await call("POST", s_decisions, lead, s_decide, expect=422)
    proposed = await call(
        "POST", s_decisions, lead, {**s_decide, "summary": S_DECLINED}, expect=201
    )
    assert proposed["state"] == "held"
    assert (await call("GET", f"/api/v1/items/{s_id}", sam, expect=200))["summary"][
        "text"
    ] == S_DECLINED
    await call("POST", f"/api/v1/items/{s_id}/summary-consent", rob, {"agree": True}, expect=404)
    declined = await call(
        "POST", f"/api/v1/items/{s_id}/summary-consent", sam, {"agree": False}, expect=200
    )
    assert declined["state"] == "submitted"
    await call("POST", s_decisions, lead, {**s_decide, "summary": S_AGREED}, expect=201)
    agreed = await call(
        "POST", f"/api/v1/items/{s_id}/summary-consent", sam, {"agree": True}, expect=200
    )
    assert agreed["state"] == "relayed"
    rob_inbox = (await call("GET", "/api/v1/inbox", rob, expect=200))["items"]
    from_sam = {i["id"]: i for i in rob_inbox}
    assert from_sam[s_id]["body"] == S_AGREED
    assert from_sam[s_id]["attribution"]["tag"] == "facilitator_summary"
    assert S_ORIGINAL not in json.dumps(rob_inbox) and S_DECLINED not in json.dumps(rob_inbox)

    # facilitator_only: never relayed, approving it is a conflict.
    kept = await call(
        "POST",
        f"{c}/items",
        rob,
        {"kind": "message", "body": X_BODY, "sharing": {"scope": "facilitator_only"}},
        expect=201,
    )
    await call("POST", f"/api/v1/items/{kept['id']}/submit", rob, expect=200)
    k_view = await call("GET", f"/api/v1/items/{kept['id']}", lead, expect=200)
    k_decisions = f"/api/v1/items/{kept['id']}/decisions"
    k_decide = {"decision": "approve", "version_digest": k_view["version_digest"]}
    await call("POST", k_decisions, lead, k_decide, expect=409)
    await call(
        "POST",
        k_decisions,
        lead,
        {**k_decide, "decision": "withhold", "reason": "facilitator_only"},
        expect=201,
    )

    # A practitioner's own information item, and one written on a participant's behalf.
    info = await call(
        "POST",
        f"{c}/items",
        lead,
        {
            "kind": "information",
            "body": "The next contact will be on Monday.",
            "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
        },
        expect=201,
    )
    await call("POST", f"/api/v1/items/{info['id']}/submit", lead, expect=200)
    i_view = await call("GET", f"/api/v1/items/{info['id']}", colleague, expect=200)
    await call(
        "POST",
        f"/api/v1/items/{info['id']}/decisions",
        colleague,
        {"decision": "approve", "version_digest": i_view["version_digest"]},
        expect=201,
    )
    helped = await call(
        "POST",
        f"{c}/items",
        lead,
        {
            **letter_to_sam,
            "body": "Typed from the letter Rob wrote by hand.",
            "on_behalf_of": rob_id,
        },
        expect=201,
    )
    await call("POST", f"/api/v1/items/{helped['id']}/submit", lead, expect=200)
    h_view = await call("GET", f"/api/v1/items/{helped['id']}", colleague, expect=200)
    await call(
        "POST",
        f"/api/v1/items/{helped['id']}/decisions",
        colleague,
        {"decision": "approve", "version_digest": h_view["version_digest"]},
        expect=201,
    )
    sam_inbox = (await call("GET", "/api/v1/inbox", sam, expect=200))["items"]
    tags = {i["id"]: i["attribution"]["tag"] for i in sam_inbox}
    assert tags == {
        a_id: "own_words",
        e_item["id"]: "own_words",
        info["id"]: "facilitator_assessment",
        helped["id"]: "written_with_help",
    }
    relayed_to_sam = json.dumps(sam_inbox)
    for secret in (A_FIRST, F_FIRST, F_SECOND, W_BODY, X_BODY, ROB_FULL_NAME, "Millbrook"):
        assert secret not in relayed_to_sam
    shapes = [set(i) for i in sam_inbox]

    # --- Records: the case's events. ---
    events = (await call("GET", f"{c}/events", lead, expect=200))["events"]
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    actions = {e["action"] for e in events}
    assert {"item:decision:approve", "item:decision:withhold", "item:relay:deliver"} <= actions
    text_of_events = json.dumps(events)
    for secret in (A_SECOND, F_FIRST, X_BODY, S_ORIGINAL, ROB_FULL_NAME, RETURN_NOTE):
        assert secret not in text_of_events, "message text in the audit log"
    await call("GET", f"{c}/events", outsider, expect=404)

    # --- Disclosure: by the participant, and recorded by a practitioner on their behalf. ---
    sams_request = await call("POST", "/api/v1/me/disclosure-requests", sam, expect=201)
    robs_request = await call(
        "POST", f"{c}/participants/{rob_id}/disclosure-requests", lead, expect=201
    )
    for made_request in (sams_request, robs_request):
        assert {"id", "state", "due_by"} <= set(made_request)
        assert made_request["state"] == "received"
        assert assert_time(made_request["due_by"]) > datetime.now(UTC)
    await call("POST", f"{c}/participants/{rob_id}/disclosure-requests", outsider, expect=404)
    sam_pkg = f"/api/v1/disclosure-requests/{sams_request['id']}"
    rob_pkg = f"/api/v1/disclosure-requests/{robs_request['id']}"
    await call("GET", f"{sam_pkg}/package", sam, expect=409)
    await call("POST", f"{sam_pkg}/release", outsider, expect=404)
    await call("GET", f"{sam_pkg}/package", rob, expect=404)
    await call("POST", f"{sam_pkg}/release", sam, expect=403)
    # Two people release: a first approval, then a different person's.
    approved = await call("POST", f"{sam_pkg}/release", lead, expect=200)
    assert approved["state"] == "awaiting_second_approval"
    await call("POST", f"{sam_pkg}/release", lead, expect=409)
    released = await call("POST", f"{sam_pkg}/release", colleague, expect=200)
    assert released["state"] == "released"
    await call("POST", f"{sam_pkg}/release", lead, expect=409)
    await call("POST", f"{rob_pkg}/release", colleague, expect=200)
    await call("POST", f"{rob_pkg}/release", lead, expect=200)

    def unzip(data: bytes) -> dict[str, str]:
        """The package's text files (records.pdf, binary, is checked elsewhere)."""
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.read("records.pdf").startswith(b"%PDF-")
            return {
                name: archive.read(name).decode()
                for name in archive.namelist()
                if name != "records.pdf"
            }

    content_type, data = await http.download(f"{sam_pkg}/package", sam)
    assert content_type == "application/zip"
    files = unzip(data)
    assert {"records.json", "records.html"} <= set(files)
    records = json.loads(files["records.json"])
    relayed_ids = {i["id"] for i in records["items_relayed_to_you"]}
    assert relayed_ids == set(tags)
    everything = "\n".join(files.values())
    assert A_SECOND in everything and S_ORIGINAL in everything  # what is hers is there
    for secret in (
        A_FIRST,
        F_FIRST,
        F_SECOND,
        W_BODY,
        X_BODY,
        ROB_FULL_NAME,
        ROB_TOPIC,
        RETURN_NOTE,
        INTERNAL_NOTE,
        "Millbrook",
        "rob@people.example",
    ):
        assert secret not in everything, f"Sam's records hold {secret!r} of Rob's"

    _, data = await http.download(f"{rob_pkg}/package", rob)
    files = unzip(data)
    everything = "\n".join(files.values())
    assert S_AGREED in everything and A_SECOND in everything
    for secret in (S_ORIGINAL, S_DECLINED, SAM_FULL_NAME, "sam@people.example"):
        assert secret not in everything, f"Rob's records hold {secret!r} of Sam's"
    await http.download(f"{rob_pkg}/package", lead)  # the requester

    # --- The audit log verifies, for admins and managers only. ---
    for who in (admin, manager):
        verified = await call("GET", "/api/v1/audit/verify", who, expect=200)
        assert {"ok", "size", "root"} <= set(verified)
        assert verified["ok"] is True and verified["size"] > len(events)
        assert re.fullmatch(r"[0-9a-f]{64}", verified["root"])
    for who in (lead, supervisor, sam):
        await call("GET", "/api/v1/audit/verify", who, expect=403)
    out = await server.cli("audit", "verify")
    assert out.startswith("ok: "), out

    # --- Opting out: by a practitioner, and by the participant themself. ---
    pending = await call(
        "POST",
        f"{c}/items",
        sam,
        {
            "kind": "message",
            "body": "Still waiting.",
            "sharing": {"scope": "verbatim", "recipient_ids": [rob_id]},
        },
        expect=201,
    )
    await call("POST", f"{c}/participants/{rob_id}/opt-out", outsider, {}, expect=404)
    out_rob = await call(
        "POST", f"{c}/participants/{rob_id}/opt-out", lead, {"reason": "He asked us."}, expect=200
    )
    assert out_rob["state"] == "opted_out"
    out_sam = await call(
        "POST",
        f"{c}/participants/{sam_id}/opt-out",
        sam,
        {"reason": "I need a break."},
        expect=200,
    )
    assert out_sam["state"] == "opted_out"
    await call("POST", f"{c}/participants/{sam_id}/opt-out", sam, {}, expect=409)
    stopped = await call("GET", f"/api/v1/items/{pending['id']}", sam, expect=200)
    assert stopped["state"] == "withdrawn"
    await call(
        "POST",
        f"{c}/items",
        sam,
        {
            "kind": "message",
            "body": "Another.",
            "sharing": {"scope": "verbatim", "recipient_ids": [rob_id]},
        },
        expect=409,
    )

    # --- Signing out ends the token on the server. ---
    await call("GET", "/api/v1/session", sam, expect=200)
    await call("DELETE", "/api/v1/session", sam, expect=204)
    await call("GET", "/api/v1/session", sam, expect=401)
    await call("GET", "/api/v1/inbox", sam, expect=401)
    await call("DELETE", "/api/v1/session", sam, expect=401)

    # Every status of API.md but 413 and 429 was met, each with the one error shape.
    assert {status for _, _, status, _ in http.errors} >= {401, 403, 404, 409, 422}
    # API.md: an inbox item is these fields, "Nothing else".
    assert inbox_extras == set() and all(s == INBOX_FIELDS for s in shapes), (
        f"inbox items carry fields API.md does not list: {sorted(inbox_extras)}"
    )
