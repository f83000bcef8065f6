"""The second factor: finishing a staff sign-in with a code, enrolling an authenticator,
recovery codes, and re-authentication before sensitive actions.

A code is an authenticator's six digits (RFC 6238, each time step accepted once) or one of
the account's recovery codes (each accepted once). A wrong code counts against the account's
and the address's sign-in throttle, and a challenge dies after a few wrong codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, delete, select

from shuttle import audit, throttle, totp
from shuttle.access import Actor, require_recent_authentication
from shuttle.accounts import (
    SignedIn,
    _user_view,
    check_password_throttled,
    needs_second_factor,
    open_session,
)
from shuttle.audit import AuditAction
from shuttle.errors import Forbidden, NotSignedIn
from shuttle.models import RecoveryCode, SessionToken, SignInChallenge, User
from shuttle.passwords import token_digest
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx

MAX_CODE_FAILURES = 5
WRONG_CODE = "That code is not right. Enter the code your authenticator app shows now."
CHALLENGE_ENDED = "Your sign-in has timed out. Sign in again."


@dataclass(frozen=True)
class _Outcome:
    """What a code check decided, carried out of the transaction that recorded it."""

    signed_in: SignedIn | None = None
    failure: NotSignedIn | None = None


async def _use_code(tx: Tx, user: User, secret: str, code: str) -> str | None:
    """Accept ``code`` once for ``user``: the audit action it earns, or None if wrong."""
    step = totp.accepted_step(secret, code, tx.now.timestamp(), user.totp_last_step)
    if step is not None:
        # Conditional: two requests racing with one code cannot both win.
        result = await tx.session.exec(
            update(User)
            .where(col(User.id) == user.id)
            .where(or_(col(User.totp_last_step).is_(None), col(User.totp_last_step) < step))
            .values(totp_last_step=step)
        )
        return "totp" if result.rowcount == 1 else None
    if totp.looks_like_recovery_code(code):
        result = await tx.session.exec(
            update(RecoveryCode)
            .where(col(RecoveryCode.user_id) == user.id)
            .where(col(RecoveryCode.code_digest) == totp.recovery_digest(code))
            .where(col(RecoveryCode.used_at).is_(None))
            .values(used_at=tx.now)
        )
        if result.rowcount == 1:
            await audit.record(
                tx, user.id, AuditAction.RECOVERY_CODE_USE, subject={"user": user.id}
            )
            return "recovery_code"
    return None


async def _store_recovery_codes(tx: Tx, user: User) -> tuple[str, ...]:
    """Fresh recovery codes for ``user`` (the old ones stop working); returned once."""
    await tx.session.exec(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user.id))
    codes = totp.new_recovery_codes()
    for code in codes:
        tx.session.add(
            RecoveryCode(user_id=user.id, code_digest=totp.recovery_digest(code), created_at=tx.now)
        )
    return tuple(codes)


async def _enrol(tx: Tx, user: User, secret: str, code: str) -> tuple[str, ...] | None:
    """Enrol ``secret`` if ``code`` proves the authenticator has it; the new recovery codes."""
    step = totp.accepted_step(secret, code, tx.now.timestamp(), None)
    if step is None:
        return None
    cipher = await tx.cipher(SERVICE_SLOT)
    user.totp_secret_enc = cipher.seal(secret, row=f"user:{user.id}", field="totp_secret")
    user.totp_last_step = step
    user.mfa_enrolled_at = tx.now
    tx.session.add(user)
    await audit.record(tx, user.id, AuditAction.MFA_ENROL, subject={"user": user.id})
    return await _store_recovery_codes(tx, user)


async def _check_challenge(
    tx: Tx, challenge: SignInChallenge, code: str, address: str | None
) -> _Outcome:
    user = await tx.session.get(User, challenge.user_id)
    if user is None or not user.active:
        return _Outcome(failure=NotSignedIn(CHALLENGE_ENDED, code="challenge_ended"))
    cipher = await tx.cipher(SERVICE_SLOT)
    codes: tuple[str, ...] | None = ()
    if challenge.enrolment_secret_enc is not None:
        secret = cipher.open(
            challenge.enrolment_secret_enc, row=f"challenge:{challenge.id}", field="totp_secret"
        )
        codes = await _enrol(tx, user, secret, code)
        accepted = codes is not None
    elif user.totp_secret_enc is not None:
        secret = cipher.open(user.totp_secret_enc, row=f"user:{user.id}", field="totp_secret")
        accepted = await _use_code(tx, user, secret, code) is not None
    else:
        accepted = False
    if not accepted:
        challenge.failures += 1
        tx.session.add(challenge)
        await throttle.failed(tx, await _keys(tx, user, address))
        return _Outcome(failure=NotSignedIn(WRONG_CODE, code="invalid_code"))
    challenge.used_at = tx.now
    tx.session.add(challenge)
    token = await open_session(tx, user)
    return _Outcome(signed_in=SignedIn(token, await _user_view(tx, user), codes or ()))


async def _keys(tx: Tx, user: User, address: str | None) -> list[str]:
    return await throttle.keys_for(tx, user.email_lookup, address)


async def pending_enrolment(rt: Runtime, challenge: str) -> tuple[str, str] | None:
    """The secret (and its URI) a live challenge offers for enrolment, to show again."""
    async with rt.read() as tx:
        row = (
            await tx.session.exec(
                select(SignInChallenge).where(
                    SignInChallenge.token_digest == token_digest(challenge)
                )
            )
        ).one_or_none()
        if row is None or row.enrolment_secret_enc is None or row.used_at is not None:
            return None
        cipher = await tx.cipher(SERVICE_SLOT)
        user = await tx.session.get(User, row.user_id)
        if user is None:
            return None
        secret = cipher.open(
            row.enrolment_secret_enc, row=f"challenge:{row.id}", field="totp_secret"
        )
        email = cipher.open(user.email_enc, row=f"user:{user.id}", field="email")
        return secret, totp.provisioning_uri(secret, email)


async def complete_sign_in(
    rt: Runtime, challenge: str, code: str, *, address: str | None = None
) -> SignedIn:
    """Answer a sign-in challenge with a code: a session, or NotSignedIn.

    Raises:
        NotSignedIn: ``invalid_code`` for a wrong code; ``challenge_ended`` for an unknown,
            used or expired challenge, or one with too many wrong codes.
        RateLimited: while guessing is held back for the account or the address.
    """
    async with rt.write() as tx:
        row = (
            await tx.session.exec(
                select(SignInChallenge).where(
                    SignInChallenge.token_digest == token_digest(challenge)
                )
            )
        ).one_or_none()
        if (
            row is None
            or row.used_at is not None
            or row.expires_at <= tx.now
            or row.failures >= MAX_CODE_FAILURES
        ):
            raise NotSignedIn(CHALLENGE_ENDED, code="challenge_ended")
        user = await tx.session.get(User, row.user_id)
        if user is not None:
            await throttle.check(tx, await _keys(tx, user, address))
        outcome = await _check_challenge(tx, row, code, address)
    # Raised after the commit, so that the failure is counted.
    if outcome.failure is not None:
        raise outcome.failure
    assert outcome.signed_in is not None
    return outcome.signed_in


async def reauthenticate(
    rt: Runtime,
    actor: Actor,
    *,
    password: str,
    code: str | None,
    address: str | None = None,
) -> datetime:
    """Prove it is still you: password (and, for staff, a code); returns the time recorded.

    The session's recent-authentication time is what sensitive actions check.
    """
    async with rt.read() as tx:
        user = await tx.session.get(User, actor.user_id)
        if user is None or actor.session_id is None:
            raise NotSignedIn("Sign in first.", code="not_signed_in")
        email = (await tx.cipher(SERVICE_SLOT)).open(
            user.email_enc, row=f"user:{user.id}", field="email"
        )
    await check_password_throttled(rt, email, password, address)
    async with rt.write() as tx:
        user = await tx.session.get(User, actor.user_id)
        assert user is not None
        failure = None
        if needs_second_factor(user):
            cipher = await tx.cipher(SERVICE_SLOT)
            secret = (
                cipher.open(user.totp_secret_enc, row=f"user:{user.id}", field="totp_secret")
                if user.totp_secret_enc is not None
                else None
            )
            if secret is None or not code or await _use_code(tx, user, secret, code) is None:
                await throttle.failed(tx, await _keys(tx, user, address))
                failure = NotSignedIn(WRONG_CODE, code="invalid_code")
        if failure is None:
            session = await tx.session.get(SessionToken, actor.session_id)
            assert session is not None
            session.authenticated_at = tx.now
            tx.session.add(session)
            await audit.record(
                tx,
                actor.user_id,
                AuditAction.SESSION_REAUTHENTICATE,
                subject={"session": session.id},
            )
        now = tx.now
    if failure is not None:
        raise failure
    return now


async def renew_recovery_codes(rt: Runtime, actor: Actor) -> tuple[str, ...]:
    """New recovery codes for the caller (staff; after a recent re-authentication)."""
    async with rt.write() as tx:
        require_recent_authentication(tx, actor)
        user = await tx.session.get(User, actor.user_id)
        if user is None or not needs_second_factor(user) or user.totp_secret_enc is None:
            raise Forbidden("Only staff have recovery codes.")
        codes = await _store_recovery_codes(tx, user)
        await audit.record(tx, user.id, AuditAction.RECOVERY_CODES_RENEW, subject={"user": user.id})
    return codes
