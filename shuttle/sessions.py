"""Sessions ended on the server: sign out everywhere, a password change, a disabled account."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from shuttle import audit
from shuttle.access import Actor
from shuttle.accounts import _check_password, check_password_throttled, normalise_email
from shuttle.audit import AuditAction
from shuttle.errors import NotFound
from shuttle.models import SessionToken, SignInChallenge, User
from shuttle.passwords import hash_password_async
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx


async def revoke_sessions(tx: Tx, user_id: str, *, keep: str | None = None) -> int:
    """End every live session of ``user_id`` (but ``keep``), and pending sign-ins; how many."""
    query = (
        update(SessionToken)
        .where(col(SessionToken.user_id) == user_id, col(SessionToken.revoked_at).is_(None))
        .values(revoked_at=tx.now)
    )
    if keep is not None:
        query = query.where(col(SessionToken.id) != keep)
    ended = (await tx.session.exec(query)).rowcount
    await tx.session.exec(
        update(SignInChallenge)
        .where(col(SignInChallenge.user_id) == user_id, col(SignInChallenge.used_at).is_(None))
        .values(used_at=tx.now)
    )
    return int(ended)


async def sign_out_everywhere(rt: Runtime, actor: Actor) -> None:
    """End every session of the caller, this one included."""
    async with rt.write() as tx:
        ended = await revoke_sessions(tx, actor.user_id)
        await audit.record(
            tx, actor.user_id, AuditAction.SESSIONS_REVOKE_ALL, subject={"sessions": ended}
        )


async def change_password(
    rt: Runtime, actor: Actor, current: str, new: str, *, address: str | None = None
) -> None:
    """Change the caller's password; every other session of theirs ends.

    Raises:
        NotSignedIn: the current password is wrong (counted as a failed sign-in).
        Invalid: the new password breaks the rules (too short, too long, too common).
    """
    async with rt.read() as tx:
        user = await tx.session.get(User, actor.user_id)
        if user is None:
            raise NotFound()
        email = (await tx.cipher(SERVICE_SLOT)).open(
            user.email_enc, row=f"user:{user.id}", field="email"
        )
    await check_password_throttled(rt, email, current, address)
    _check_password(new)
    password_hash = await hash_password_async(new)
    async with rt.write() as tx:
        user = await tx.session.get(User, actor.user_id)
        if user is None:
            raise NotFound()
        user.password_hash = password_hash
        tx.session.add(user)
        ended = await revoke_sessions(tx, user.id, keep=actor.session_id)
        await audit.record(
            tx, user.id, AuditAction.PASSWORD_CHANGE, subject={"user": user.id, "sessions": ended}
        )


async def set_active(rt: Runtime, email: str, *, active: bool) -> str:
    """Disable (or enable again) the account with this e-mail address; disabling ends every
    session at once. From the command line. Returns the account's id."""
    async with rt.write() as tx:
        lookup = (await tx.cipher(SERVICE_SLOT)).lookup_hash(normalise_email(email))
        user = (await tx.session.exec(select(User).where(User.email_lookup == lookup))).first()
        if user is None:
            raise NotFound("No account has that e-mail address.")
        user.active = active
        tx.session.add(user)
        ended = 0 if active else await revoke_sessions(tx, user.id)
        action = AuditAction.USER_ENABLE if active else AuditAction.USER_DISABLE
        await audit.record(tx, None, action, subject={"user": user.id, "sessions": ended})
        return user.id
