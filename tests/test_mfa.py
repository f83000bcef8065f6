"""Multi-factor sign-in for staff (RFC 6238 codes, recovery codes), re-authentication before
sensitive actions, and sessions ended by a password change, sign-out everywhere and disabling."""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import col, select

from shuttle import sessions, totp
from shuttle.models import SessionToken, User
from shuttle.runtime import Runtime
from tests import authenticator
from tests.scenario import PASSWORD, Api, add_staff, build_case
from tests.test_accounts import assert_error, database_text

RFC_6238_KEY = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_codes_match_rfc_6238_test_vectors(unix_time: int, eight_digits: str) -> None:
    """RFC 6238 appendix B (SHA-1): our six digits are the vector's last six."""
    assert totp.code_at(RFC_6238_KEY, unix_time) == eight_digits[-6:]


def test_a_code_is_accepted_once_and_near_now_only() -> None:
    """One step either side of now; a step at or before the last accepted one is refused."""
    secret, now = totp.new_secret(), 1_700_000_000.0
    step = totp.step_at(now)
    for drift in (-1, 0, 1):
        code = totp.code_at(secret, (step + drift) * totp.PERIOD)
        assert totp.accepted_step(secret, code, now, None) == step + drift
        assert totp.accepted_step(secret, code, now, step + drift) is None  # replayed
    assert totp.accepted_step(secret, totp.code_at(secret, now + 90), now, None) is None
    assert totp.accepted_step(secret, "12345", now, None) is None
    assert totp.accepted_step(secret, "abcdef", now, None) is None


@given(
    key=st.binary(min_size=10, max_size=64),
    unix_time=st.integers(min_value=60, max_value=2**34),
    drift=st.integers(min_value=-1, max_value=1),
)
def test_any_code_near_now_is_accepted_exactly_once(key: bytes, unix_time: int, drift: int) -> None:
    """Property: for any secret and time, a code from one step either side is accepted for
    its own step, and never again once that step (or a later one) was used."""
    secret = base64.b32encode(key).decode().rstrip("=")
    step = totp.step_at(unix_time) + drift
    code = totp.code_at(secret, step * totp.PERIOD)
    accepted = totp.accepted_step(secret, code, unix_time, None)
    # Another step in the window may give the same six digits (one chance in a million).
    assert accepted is not None and abs(accepted - totp.step_at(unix_time)) <= 1
    assert totp.accepted_step(secret, code, unix_time, step + 1) is None
    assert totp.accepted_step(secret, code, unix_time, totp.step_at(unix_time) + 1) is None


async def password_step(api: Api, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """POST /session with a right password: the challenge (asserts 200)."""
    _, data = await api.call(
        "POST", "/api/v1/session", body={"email": email, "password": password}, expect=200
    )
    return data  # type: ignore[no-any-return]


async def test_staff_enrol_at_first_sign_in_and_get_no_token_before(
    client: Any, runtime: Runtime
) -> None:
    """The password alone gives a challenge, never a session; the first right code enrols."""
    api = Api(client)
    _, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    first = await password_step(api, email)
    assert set(first) == {"mfa_required", "enrolment_required", "challenge", "totp"}
    assert first["totp"]["uri"].startswith("otpauth://totp/Shuttle%3A")
    status, data = await api.call("GET", "/api/v1/session", first["challenge"])
    assert_error(data, status, 401)  # a challenge is not a bearer token
    secret = first["totp"]["secret"]
    step = totp.step_at(time.time())
    code = totp.code_at(secret, step * totp.PERIOD)
    body = {"challenge": first["challenge"], "code": code}
    _, signed = await api.call("POST", "/api/v1/session/mfa", body=body, expect=200)
    assert (
        set(signed) == {"token", "user", "recovery_codes"} and len(signed["recovery_codes"]) == 10
    )
    # The challenge is spent; the secret is stored sealed, never in clear.
    status, data = await api.call("POST", "/api/v1/session/mfa", body=body)
    assert assert_error(data, status, 401) == "challenge_ended"
    stored = await database_text(runtime)
    assert secret not in stored and secret.lower() not in stored
    assert not any(code in stored for code in signed["recovery_codes"])
    # Enrolled: the next sign-in asks for a code, offers no new secret, and refuses a replay.
    again = await password_step(api, email)
    assert set(again) == {"mfa_required", "challenge"}
    replay = {"challenge": again["challenge"], "code": code}
    status, data = await api.call("POST", "/api/v1/session/mfa", body=replay)
    assert assert_error(data, status, 401) == "invalid_code"
    fresh = totp.code_at(secret, (step + 1) * totp.PERIOD)
    body = {"challenge": again["challenge"], "code": fresh}
    _, signed_again = await api.call("POST", "/api/v1/session/mfa", body=body, expect=200)
    assert set(signed_again) == {"token", "user"}


async def test_recovery_codes_work_once_each(client: Any, runtime: Runtime) -> None:
    """A recovery code stands in for the app's code, once."""
    api = Api(client)
    _, email = await add_staff(runtime, "supervisor", "Sue Supervisor")
    await api.sign_in(email)
    app = authenticator.app_for(api.database, email)
    assert app is not None and len(app.recovery_codes) == 10
    code = app.recovery_codes.pop()
    for expected in (200, 401):
        challenge = await password_step(api, email)
        body = {"challenge": challenge["challenge"], "code": code.upper()}
        status, data = await api.call("POST", "/api/v1/session/mfa", body=body)
        assert status == expected, data


async def test_a_challenge_dies_after_five_wrong_codes(client: Any, runtime: Runtime) -> None:
    """Guessing codes: five wrong ones end the challenge, even for the right code after."""
    api = Api(client)
    _, email = await add_staff(runtime, "manager", "Max Manager")
    first = await password_step(api, email)
    for _ in range(5):
        body = {"challenge": first["challenge"], "code": "000000"}
        status, data = await api.call("POST", "/api/v1/session/mfa", body=body)
        assert assert_error(data, status, 401) == "invalid_code"
    right = totp.code_at(first["totp"]["secret"], time.time())
    body = {"challenge": first["challenge"], "code": right}
    status, data = await api.call("POST", "/api/v1/session/mfa", body=body)
    assert assert_error(data, status, 401) == "challenge_ended"


async def test_participants_sign_in_with_a_password_alone(client: Any, runtime: Runtime) -> None:
    """API.md's answer for participants is unchanged: {token, user}."""
    scene = await build_case(client, runtime, people=(("sam", "harmed"),))
    _, data = await scene.api.call(
        "POST",
        "/api/v1/session",
        body={"email": "sam@people.example", "password": PASSWORD},
        expect=200,
    )
    assert set(data) == {"token", "user"}


async def age_sessions(runtime: Runtime, minutes: float) -> None:
    """Make every session's last proof of identity ``minutes`` old."""
    async with runtime.write() as tx:
        await tx.session.exec(
            update(SessionToken).values(authenticated_at=tx.now - timedelta(minutes=minutes))
        )


async def test_releasing_records_needs_a_recent_authentication(
    client: Any, runtime: Runtime
) -> None:
    """Past the window, release answers 401 reauthentication_required; re-authenticating
    (password and a code) opens it again; a wrong code does not."""
    scene = await build_case(client, runtime, people=(("sam", "harmed"),))
    api = scene.api
    _, made = await api.call(
        "POST", "/api/v1/me/disclosure-requests", scene.people["sam"].token, expect=201
    )
    release = f"/api/v1/disclosure-requests/{made['id']}/release"
    await age_sessions(runtime, 11)
    status, data = await api.call("POST", release, scene.lead)
    assert assert_error(data, status, 401) == "reauthentication_required"
    # Still signed in for everything else.
    await api.call("GET", "/api/v1/session", scene.lead, expect=200)
    wrong = {"password": PASSWORD, "code": "000000"}
    status, data = await api.call("POST", "/api/v1/session/reauthenticate", scene.lead, wrong)
    assert assert_error(data, status, 401) == "invalid_code"
    status, data = await api.call(
        "POST", "/api/v1/session/reauthenticate", scene.lead, {"password": "wrong password!"}
    )
    assert assert_error(data, status, 401) == "invalid_credentials"
    app = authenticator.app_for(api.database, "lee.lead@service.example")
    assert app is not None
    right = {"password": PASSWORD, "code": app.code()}
    _, done = await api.call(
        "POST", "/api/v1/session/reauthenticate", scene.lead, right, expect=200
    )
    assert done["authenticated_at"].endswith("Z")
    await api.call("POST", release, scene.lead, expect=200)


async def live_sessions(runtime: Runtime, user_id: str) -> int:
    async with runtime.read() as tx:
        rows = (
            await tx.session.exec(
                select(SessionToken).where(
                    SessionToken.user_id == user_id, col(SessionToken.revoked_at).is_(None)
                )
            )
        ).all()
    return len(rows)


async def test_password_change_ends_every_other_session(client: Any, runtime: Runtime) -> None:
    """The session that changed it lives on; the others end; the old password stops working;
    a common password is refused; a wrong current password is 401."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    here, elsewhere = await api.sign_in(email), await api.sign_in(email)
    common = {"current_password": PASSWORD, "new_password": "Password2026!"}
    status, data = await api.call("PUT", "/api/v1/me/password", here, common)
    assert assert_error(data, status, 422) == "weak_password"
    wrong = {"current_password": "not my password", "new_password": "a new long passphrase"}
    status, data = await api.call("PUT", "/api/v1/me/password", here, wrong)
    assert_error(data, status, 401)
    body = {"current_password": PASSWORD, "new_password": "a new long passphrase"}
    await api.call("PUT", "/api/v1/me/password", here, body, expect=204)
    await api.call("GET", "/api/v1/session", here, expect=200)
    await api.call("GET", "/api/v1/session", elsewhere, expect=401)
    assert await live_sessions(runtime, user_id) == 1
    status, data = await api.call(
        "POST", "/api/v1/session", body={"email": email, "password": PASSWORD}
    )
    assert_error(data, status, 401)
    await password_step(api, email, "a new long passphrase")


async def test_sign_out_everywhere_ends_every_session(client: Any, runtime: Runtime) -> None:
    """DELETE /api/v1/sessions: this session and every other one end on the server."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    tokens = [await api.sign_in(email) for _ in range(3)]
    await api.call("DELETE", "/api/v1/sessions", tokens[0], expect=204)
    for token in tokens:
        await api.call("GET", "/api/v1/session", token, expect=401)
    assert await live_sessions(runtime, user_id) == 0


async def test_disabling_an_account_ends_its_sessions(client: Any, runtime: Runtime) -> None:
    """Disabled: every session revoked on the server, sign-in refused like a wrong password."""
    api = Api(client)
    user_id, email = await add_staff(runtime, "practitioner", "Pat Practitioner")
    token = await api.sign_in(email)
    assert await sessions.set_active(runtime, email, active=False) == user_id
    assert await live_sessions(runtime, user_id) == 0
    await api.call("GET", "/api/v1/session", token, expect=401)
    status, data = await api.call(
        "POST", "/api/v1/session", body={"email": email, "password": PASSWORD}
    )
    assert assert_error(data, status, 401) == "invalid_credentials"
    async with runtime.read() as tx:
        user = await tx.session.get(User, user_id)
    assert user is not None and not user.active
