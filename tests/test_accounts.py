"""Accounts and sessions: sign-in that reveals nothing, strong tokens stored only as digests,
sessions that expire, go idle and can be ended, one-time expiring invitations, password rules."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, update
from sqlalchemy import select as select_rows
from sqlmodel import SQLModel, col, select

import shuttle.models  # noqa: F401  (registers every table on SQLModel.metadata)
from shuttle import accounts
from shuttle.errors import Invalid
from shuttle.models import Invitation, Participant, SessionToken, User, utcnow
from shuttle.runtime import Runtime
from shuttle.settings import Settings
from tests import authenticator
from tests.scenario import PASSWORD, Api, add_staff

SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
ALPHABETS = {  # the smallest alphabet a token's characters fit in, and its size
    re.compile(r"[0-9a-f]+"): 16,
    re.compile(r"[A-Za-z0-9_-]+"): 64,
    re.compile(r"[A-Za-z0-9+/=]+"): 64,
}


def assert_error(data: Any, status: int, expected: int) -> str:
    """The one error shape of API.md with the expected status; returns the code."""
    assert status == expected, f"expected {expected}, got {status}: {data!r}"
    assert isinstance(data, dict) and set(data) == {"error"}, data
    error = data["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "fields"}, data
    assert isinstance(error["code"], str) and SNAKE.fullmatch(error["code"]), data
    assert isinstance(error["message"], str) and error["message"].strip(), data
    return str(error["code"])


def token_bits(token: str) -> float:
    """The most entropy a token of this length and alphabet can carry."""
    for pattern, size in ALPHABETS.items():
        if pattern.fullmatch(token):
            return len(token) * math.log2(size)
    pytest.fail(f"the token uses an unexpected alphabet: {token!r}")


async def database_text(runtime: Runtime) -> str:
    """Every value of every row of every table, as one searchable text."""
    parts = []
    async with runtime.read() as tx:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await tx.session.exec(select_rows(table))).all():
                for value in row:
                    if isinstance(value, bytes):
                        parts.append(value.decode("latin-1"))
                        parts.append(value.hex())
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def sqlite_files(settings: Settings) -> list[Path]:
    """The SQLite database file and its WAL, if this run is on SQLite."""
    if not settings.is_sqlite:
        return []
    database = make_url(settings.effective_database_url).database
    assert database is not None
    base = Path(database)
    return [p for p in (base, base.with_name(base.name + "-wal")) if p.exists()]


async def sign_in(api: Api, email: str, password: str = PASSWORD) -> tuple[int, Any]:
    """The password step, then (staff) the second factor: the last answer."""
    status, first = await api.call(
        "POST", "/api/v1/session", body={"email": email, "password": password}
    )
    if status != 200 or not first.get("mfa_required"):
        return status, first
    answer = authenticator.answer(api.database, email, first)
    status, done = await api.call("POST", "/api/v1/session/mfa", body=answer)
    authenticator.keep_recovery_codes(api.database, email, done)
    return status, done


async def whoami(api: Api, token: str) -> tuple[int, Any]:
    return await api.call("GET", "/api/v1/session", token)


async def test_sign_in_reveals_nothing_about_the_account(client: Any, runtime: Runtime) -> None:
    """Unknown e-mail, wrong password and disabled account: the same status and body."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    status, signed = await sign_in(api, email)
    assert status == 200 and signed["user"]["id"] == user_id
    unknown = await sign_in(api, "nobody@service.example")
    wrong = await sign_in(api, email, "not the right password at all")
    async with runtime.write() as tx:
        await tx.session.exec(update(User).where(col(User.id) == user_id).values(active=False))
    disabled = await sign_in(api, email)
    disabled_wrong = await sign_in(api, email, "not the right password at all")
    assert_error(unknown[1], unknown[0], 401)
    assert unknown == wrong == disabled == disabled_wrong
    # A disabled account's open session ends too.
    status, data = await whoami(api, signed["token"])
    assert_error(data, status, 401)


async def test_tokens_are_strong_and_stored_only_as_digests(
    client: Any, runtime: Runtime, settings: Settings
) -> None:
    """At least 128 bits each, all different, and only their SHA-256 digests are kept."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    tokens = []
    for _ in range(3):
        status, signed = await sign_in(api, email)
        assert status == 200
        tokens.append(signed["token"])
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert token_bits(token) >= 128, f"{token!r} carries under 128 bits"
    assert len(set("".join(tokens))) >= 24, "the tokens use suspiciously few characters"
    async with runtime.read() as tx:
        rows = (
            await tx.session.exec(select(SessionToken).where(SessionToken.user_id == user_id))
        ).all()
    assert {row.token_digest for row in rows} == {
        hashlib.sha256(token.encode()).hexdigest() for token in tokens
    }
    stored = await database_text(runtime)
    assert rows[0].token_digest in stored  # the search does see the table
    raw_files = b"".join(path.read_bytes() for path in sqlite_files(settings))
    for token in tokens:
        assert token not in stored, "a raw token is stored in the database"
        assert token.encode() not in raw_files, "a raw token is in the database file"


async def test_expired_token_is_refused(
    aiohttp_client: Any, settings: Settings, runtime: Runtime
) -> None:
    """A token past its lifetime answers 401, whatever its use."""
    from shuttle.app import create_app

    short = settings.model_copy(update={"token_lifetime_hours": 1 / 3600})  # one second
    api = Api(await aiohttp_client(create_app(short)))
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    _, signed = await sign_in(api, email)
    assert (await whoami(api, signed["token"]))[0] == 200
    await asyncio.sleep(1.2)
    status, data = await whoami(api, signed["token"])
    assert_error(data, status, 401)
    status, data = await api.call("GET", "/api/v1/cases", signed["token"])
    assert_error(data, status, 401)


async def test_token_lifetime_follows_the_setting(client: Any, runtime: Runtime) -> None:
    """The stored expiry is the configured lifetime after sign-in; past it, 401."""
    api = Api(client)
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    _, signed = await sign_in(api, email)
    digest = hashlib.sha256(signed["token"].encode()).hexdigest()
    async with runtime.write() as tx:
        row = (
            await tx.session.exec(select(SessionToken).where(SessionToken.token_digest == digest))
        ).one()
        lifetime = timedelta(hours=runtime.settings.token_lifetime_hours)
        assert abs(row.expires_at - row.created_at - lifetime) < timedelta(seconds=1)
        row.expires_at = utcnow() - timedelta(seconds=1)
        tx.session.add(row)
    status, data = await whoami(api, signed["token"])
    assert_error(data, status, 401)


async def test_idle_token_is_refused_and_use_keeps_it_alive(client: Any, runtime: Runtime) -> None:
    """Unused for longer than the idle limit → 401; used within it → it stays alive."""
    api = Api(client)
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    _, idle = await sign_in(api, email)
    _, busy = await sign_in(api, email)
    limit = timedelta(minutes=runtime.settings.token_idle_minutes)

    async def last_used(token: str, shift: timedelta | None = None) -> Any:
        digest = hashlib.sha256(token.encode()).hexdigest()
        async with runtime.write() as tx:
            row = (
                await tx.session.exec(
                    select(SessionToken).where(SessionToken.token_digest == digest)
                )
            ).one()
            if shift is not None:
                row.last_used_at = utcnow() - shift
                tx.session.add(row)
            return row.last_used_at

    await last_used(idle["token"], limit + timedelta(minutes=1))
    status, data = await whoami(api, idle["token"])
    assert_error(data, status, 401)
    before = await last_used(busy["token"], limit - timedelta(minutes=5))
    assert (await whoami(api, busy["token"]))[0] == 200
    assert await last_used(busy["token"]) > before, "using a token does not reset its idle time"
    assert (await whoami(api, busy["token"]))[0] == 200


async def test_sign_out_revokes_the_token_on_the_server(client: Any, runtime: Runtime) -> None:
    """DELETE /session ends that token (only that one), recorded on the server."""
    api = Api(client)
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    _, first = await sign_in(api, email)
    _, second = await sign_in(api, email)
    status, data = await api.call("DELETE", "/api/v1/session")
    assert_error(data, status, 401)
    status, _ = await api.call("DELETE", "/api/v1/session", first["token"])
    assert status == 204
    for method, path in (("GET", "/api/v1/session"), ("DELETE", "/api/v1/session")):
        status, data = await api.call(method, path, first["token"])
        assert_error(data, status, 401)
    assert (await whoami(api, second["token"]))[0] == 200
    async with runtime.read() as tx:
        rows = {
            row.token_digest: row for row in (await tx.session.exec(select(SessionToken))).all()
        }
    assert rows[hashlib.sha256(first["token"].encode()).hexdigest()].revoked_at is not None
    assert rows[hashlib.sha256(second["token"].encode()).hexdigest()].revoked_at is None


async def _case_with_invitations(
    api: Api, runtime: Runtime, count: int
) -> tuple[str, str, list[dict[str, Any]]]:
    """A case led by a practitioner, with ``count`` invited participants."""
    _, email = await add_staff(runtime, "practitioner", "Lee Lead")
    _, signed = await sign_in(api, email)
    lead = signed["token"]
    _, case = await api.call(
        "POST", "/api/v1/cases", lead, {"reference": "RJ-1", "sensitive_complex": False}, expect=201
    )
    people = []
    for n in range(count):
        _, added = await api.call(
            "POST",
            f"/api/v1/cases/{case['id']}/participants",
            lead,
            {"role": "other", "display_name": f"Person {n}", "shown_to_others_as": f"P{n}"},
            expect=201,
        )
        people.append(added)
    return lead, case["id"], people


async def accept(api: Api, token: str, email: str, password: str = PASSWORD) -> tuple[int, Any]:
    return await api.call(
        "POST",
        f"/api/v1/invitations/{token}/accept",
        body={"email": email, "password": password},
    )


async def test_invitation_is_one_time_and_expires(client: Any, runtime: Runtime) -> None:
    """Used, expired, replaced and unknown invitations all answer the same 404."""
    api = Api(client)
    lead, case_id, (used, expired, replaced) = await _case_with_invitations(api, runtime, 3)
    status, joined = await accept(api, used["invitation_token"], "used@people.example")
    assert status == 201 and joined["user"]["role"] == "participant"
    async with runtime.write() as tx:
        await tx.session.exec(
            update(Invitation)
            .where(col(Invitation.participant_id) == expired["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    _, fresh = await api.call(
        "POST",
        f"/api/v1/cases/{case_id}/participants/{replaced['id']}/invitation",
        lead,
        expect=201,
    )
    answers = [
        await accept(api, used["invitation_token"], "used@people.example"),
        await accept(api, used["invitation_token"], "other@people.example"),
        await accept(api, expired["invitation_token"], "expired@people.example"),
        await accept(api, replaced["invitation_token"], "replaced@people.example"),
        await accept(api, secrets.token_urlsafe(32), "unknown@people.example"),
        await accept(api, "x", "short@people.example"),
    ]
    assert_error(answers[0][1], answers[0][0], 404)
    assert all(answer == answers[0] for answer in answers), answers
    async with runtime.read() as tx:
        for person in (expired, replaced):
            participant = await tx.session.get(Participant, person["id"])
            assert participant is not None and participant.user_id is None
    status, _ = await accept(api, fresh["invitation_token"], "replaced@people.example")
    assert status == 201


async def test_invitation_tokens_are_stored_only_as_digests(client: Any, runtime: Runtime) -> None:
    """An invitation is a strong token whose raw form the database never holds."""
    api = Api(client)
    _, _, people = await _case_with_invitations(api, runtime, 2)
    tokens = [person["invitation_token"] for person in people]
    for token in tokens:
        assert token_bits(token) >= 128
    async with runtime.read() as tx:
        digests = {row.token_digest for row in (await tx.session.exec(select(Invitation))).all()}
    assert digests == {hashlib.sha256(token.encode()).hexdigest() for token in tokens}
    stored = await database_text(runtime)
    assert all(digest in stored for digest in digests)
    assert not any(token in stored for token in tokens)


WEAK_PASSWORDS = ["short", "elevenchars", "a" * 20, "x" * 300, " " * 16]


async def test_weak_password_is_refused(client: Any, runtime: Runtime) -> None:
    """A weak password → 422, the invitation still unused; the command line refuses it too."""
    api = Api(client)
    _, _, (person,) = await _case_with_invitations(api, runtime, 1)
    for password in WEAK_PASSWORDS:
        status, data = await accept(api, person["invitation_token"], "p@people.example", password)
        assert assert_error(data, status, 422) == "weak_password", password
        with pytest.raises(Invalid):
            await accounts.add_user(
                runtime, role="practitioner", email="w@service.example", name="W", password=password
            )
    status, _ = await accept(api, person["invitation_token"], "p@people.example")
    assert status == 201
