"""Accounts: staff users, sign-in and bearer tokens, participants' one-time invitations."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from shuttle import audit, throttle, totp
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.errors import Conflict, Invalid, NotFound, NotSignedIn
from shuttle.i18n import N_
from shuttle.models import Invitation, Participant, SessionToken, SignInChallenge, User
from shuttle.passwords import (
    hash_password_async,
    new_token,
    password_rule_broken,
    token_digest,
    verify_or_burn,
)
from shuttle.policies import ROLES
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx

STAFF_ROLES = tuple(role for role in ROLES if role != "participant")
BAD_SIGN_IN = "The e-mail address or password is not right."
# How stale a token's last use may be before we write the new time: a write per request
# would put every read behind the single writer for no gain in security.
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)
# How long a password sign-in waits for its second factor.
CHALLENGE_LIFETIME = timedelta(minutes=5)


def normalise_email(email: str) -> str:
    """The form of an e-mail address that is compared and stored."""
    return email.strip().lower()


def _check_email(email: str) -> str:
    normal = normalise_email(email)
    local, at, domain = normal.partition("@")
    if not at or not local or "." not in domain or len(normal) > 254 or " " in normal:
        raise Invalid(N_("Enter an e-mail address like name@example.org."), code="invalid_email")
    return normal


def _check_password(password: str) -> None:
    broken = password_rule_broken(password)
    if broken:
        words, numbers = broken
        raise Invalid(
            words, code="weak_password", params=numbers, fields={"password": words % numbers}
        )


@dataclass(frozen=True)
class UserView:
    """A user as shown to themself: id, role and name."""

    id: str
    role: str
    name: str

    def public(self) -> dict[str, str]:
        """The JSON shape of API.md."""
        return {"id": self.id, "role": self.role, "name": self.name}


async def _user_view(tx: Tx, user: User) -> UserView:
    if user.role == "participant":
        participant = (
            await tx.session.exec(select(Participant).where(Participant.user_id == user.id))
        ).one_or_none()
        name = ""
        if participant is not None:
            cipher = await tx.cipher(participant.case_id)
            name = cipher.open(
                participant.display_name_enc, row=f"participant:{participant.id}", field="name"
            )
        return UserView(user.id, "participant", name)
    cipher = await tx.cipher(SERVICE_SLOT)
    return UserView(
        user.id, user.role, cipher.open(user.name_enc, row=f"user:{user.id}", field="name")
    )


async def _new_user(tx: Tx, *, role: str, email: str, name: str, password_hash: str) -> User:
    cipher = await tx.cipher(SERVICE_SLOT)
    lookup = cipher.lookup_hash(email)
    if (await tx.session.exec(select(User).where(User.email_lookup == lookup))).first():
        raise Conflict(N_("That e-mail address cannot be used."), code="email_unavailable")
    user = User(
        role=role, email_lookup=lookup, email_enc=b"", name_enc=b"", password_hash=password_hash
    )
    user.email_enc = cipher.seal(email, row=f"user:{user.id}", field="email")
    user.name_enc = cipher.seal(name, row=f"user:{user.id}", field="name")
    user.created_at = tx.now
    tx.session.add(user)
    return user


async def add_user(rt: Runtime, *, role: str, email: str, name: str, password: str) -> str:
    """Create a staff account (from the command line). Returns the new user's id."""
    if role not in STAFF_ROLES:
        raise Invalid(
            N_("The role must be one of: %(choices)s."),
            params={"choices": ", ".join(STAFF_ROLES)},
            code="invalid_role",
        )
    if not name.strip():
        raise Invalid(N_("Give the person's name."), code="invalid_name")
    normal = _check_email(email)
    _check_password(password)
    password_hash = await hash_password_async(password)
    try:
        async with rt.write() as tx:
            user = await _new_user(
                tx, role=role, email=normal, name=name.strip(), password_hash=password_hash
            )
            await audit.record(
                tx, None, AuditAction.USER_CREATE, subject={"user": user.id, "role": role}
            )
    except IntegrityError as exc:
        raise Conflict(N_("That e-mail address cannot be used."), code="email_unavailable") from exc
    return user.id


@dataclass(frozen=True)
class SignedIn:
    """A new session: the bearer token (shown once) and who it is for."""

    token: str
    user: UserView
    # Shown once, when this sign-in completed enrolment in multi-factor sign-in.
    recovery_codes: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        """The JSON shape of API.md (and the recovery codes, the one time there are some)."""
        shown: dict[str, Any] = {"token": self.token, "user": self.user.public()}
        if self.recovery_codes:
            shown["recovery_codes"] = list(self.recovery_codes)
        return shown


@dataclass(frozen=True)
class SecondFactorNeeded:
    """The password was right; a code from the authenticator is needed (or enrolment in one)."""

    challenge: str
    enrolment_secret: str | None = None
    enrolment_uri: str | None = None

    def public(self) -> dict[str, Any]:
        """The JSON answer: the challenge to send back with the code, and what to enrol."""
        shown: dict[str, Any] = {"mfa_required": True, "challenge": self.challenge}
        if self.enrolment_secret is not None:
            shown["enrolment_required"] = True
            shown["totp"] = {"secret": self.enrolment_secret, "uri": self.enrolment_uri}
        return shown


def needs_second_factor(user: User) -> bool:
    """Every member of staff signs in with a second factor; participants with a password."""
    return user.role != "participant"


async def _account_lookup(rt: Runtime, email: str) -> tuple[str, User | None]:
    async with rt.read() as tx:
        cipher = await tx.cipher(SERVICE_SLOT)
        lookup = cipher.lookup_hash(normalise_email(email))
        user = (await tx.session.exec(select(User).where(User.email_lookup == lookup))).first()
    return lookup, user


async def check_password_throttled(
    rt: Runtime, email: str, password: str, address: str | None
) -> User:
    """The active account with this e-mail and password; NotSignedIn otherwise, RateLimited
    while guessing is held back. Every failure counts against the account and the address.

    Unknown account, wrong password and disabled account give the same answer, after the
    same amount of work.
    """
    lookup, user = await _account_lookup(rt, email)
    async with rt.read() as tx:
        keys = await throttle.keys_for(tx, lookup, address)
        await throttle.check(tx, keys)
    ok = await verify_or_burn(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        async with rt.write() as tx:
            await throttle.failed(tx, keys)
        raise NotSignedIn(BAD_SIGN_IN, code="invalid_credentials")
    return user


async def open_session(tx: Tx, user: User) -> str:
    """A new session for ``user`` (a new random id at every sign-in); returns its token."""
    token = new_token()
    lifetime = timedelta(hours=tx.settings.token_lifetime_hours)
    session = SessionToken(
        user_id=user.id,
        token_digest=token_digest(token),
        created_at=tx.now,
        expires_at=tx.now + lifetime,
        last_used_at=tx.now,
        authenticated_at=tx.now,
    )
    tx.session.add(session)
    await throttle.succeeded(tx, f"account:{user.email_lookup}")
    await audit.record(tx, user.id, AuditAction.SESSION_CREATE, subject={"session": session.id})
    return token


async def _open_challenge(rt: Runtime, user: User) -> SecondFactorNeeded:
    """A challenge for the second factor; with a new secret to enrol when there is none yet."""
    challenge = new_token()
    async with rt.write() as tx:
        cipher = await tx.cipher(SERVICE_SLOT)
        row = SignInChallenge(
            user_id=user.id,
            token_digest=token_digest(challenge),
            created_at=tx.now,
            expires_at=tx.now + CHALLENGE_LIFETIME,
        )
        if user.totp_secret_enc is None:
            secret = totp.new_secret()
            row.enrolment_secret_enc = cipher.seal(
                secret, row=f"challenge:{row.id}", field="totp_secret"
            )
            email = cipher.open(user.email_enc, row=f"user:{user.id}", field="email")
            tx.session.add(row)
            return SecondFactorNeeded(challenge, secret, totp.provisioning_uri(secret, email))
        tx.session.add(row)
    return SecondFactorNeeded(challenge)


async def sign_in(
    rt: Runtime, email: str, password: str, *, address: str | None = None
) -> SignedIn | SecondFactorNeeded:
    """Check an e-mail and password: a session for a participant; for staff, a challenge to
    answer with a code from their authenticator (``mfa.complete_sign_in``)."""
    user = await check_password_throttled(rt, email, password, address)
    if needs_second_factor(user):
        return await _open_challenge(rt, user)
    async with rt.write() as tx:
        token = await open_session(tx, user)
        view = await _user_view(tx, user)
    return SignedIn(token, view)


async def authenticate(rt: Runtime, token: str) -> Actor:
    """The actor a bearer token stands for; NotSignedIn if it is unknown, expired or idle."""
    digest = token_digest(token)
    async with rt.read() as tx:
        # One query for every request: the session, its user and (a participant's) place.
        found = (
            await tx.session.exec(
                select(SessionToken, User, Participant.id, Participant.case_id)
                .join(User, col(User.id) == col(SessionToken.user_id))
                .outerjoin(Participant, col(Participant.user_id) == col(User.id))
                .where(SessionToken.token_digest == digest)
            )
        ).one_or_none()
        if found is None:
            raise NotSignedIn("Sign in first.", code="not_signed_in")
        session, user, participant_id, case_id = found
        idle = timedelta(minutes=tx.settings.token_idle_minutes)
        if (
            session.revoked_at is not None
            or session.expires_at <= tx.now
            or session.last_used_at + idle <= tx.now
            or not user.active
        ):
            raise NotSignedIn("Your session has ended. Sign in again.", code="session_ended")
        if user.role == "participant" and participant_id is not None:
            actor = Actor(user.id, user.role, participant_id, case_id)
        else:
            actor = Actor(user.id, user.role)
        actor = replace(
            actor,
            session_id=session.id,
            authenticated_at=session.authenticated_at or session.created_at,
        )
        stale = session.last_used_at + min(TOKEN_TOUCH_INTERVAL, idle / 2) <= tx.now
    if stale:
        async with rt.write() as tx:
            row = await tx.session.get(SessionToken, session.id)
            if row is not None:
                row.last_used_at = tx.now
    return actor


async def whoami(rt: Runtime, actor: Actor) -> UserView:
    """The signed-in user's id, role and name."""
    async with rt.read() as tx:
        user = await tx.session.get(User, actor.user_id)
        if user is None:
            raise NotSignedIn("Sign in first.")
        return await _user_view(tx, user)


async def sign_out(rt: Runtime, actor: Actor, token: str) -> None:
    """Revoke the session of ``token`` on the server."""
    async with rt.write() as tx:
        session = (
            await tx.session.exec(
                select(SessionToken).where(SessionToken.token_digest == token_digest(token))
            )
        ).one_or_none()
        if session is None or session.user_id != actor.user_id or session.revoked_at:
            return
        session.revoked_at = tx.now
        tx.session.add(session)
        await audit.record(
            tx, actor.user_id, AuditAction.SESSION_REVOKE, subject={"session": session.id}
        )


async def issue_invitation(tx: Tx, participant: Participant) -> str:
    """A fresh one-time invitation for ``participant``; earlier unused ones stop working."""
    for old in (
        await tx.session.exec(
            select(Invitation).where(
                Invitation.participant_id == participant.id,
                col(Invitation.used_at).is_(None),
            )
        )
    ).all():
        old.expires_at = tx.now
        tx.session.add(old)
    token = new_token()
    tx.session.add(
        Invitation(
            participant_id=participant.id,
            token_digest=token_digest(token),
            expires_at=tx.now + timedelta(days=tx.settings.invitation_lifetime_days),
            created_at=tx.now,
        )
    )
    return token


async def accept_invitation(rt: Runtime, token: str, *, email: str, password: str) -> UserView:
    """Create a participant's account from their invitation; a used or expired one is NotFound."""
    normal = _check_email(email)
    _check_password(password)
    password_hash = await hash_password_async(password)
    try:
        async with rt.write() as tx:
            invitation = (
                await tx.session.exec(
                    select(Invitation).where(Invitation.token_digest == token_digest(token))
                )
            ).one_or_none()
            if (
                invitation is None
                or invitation.used_at is not None
                or invitation.expires_at <= tx.now
            ):
                raise NotFound("That invitation is not valid. Ask your facilitator for a new one.")
            participant = await tx.session.get(Participant, invitation.participant_id)
            if (
                participant is None
                or participant.user_id is not None
                or participant.state == "opted_out"
            ):
                raise NotFound("That invitation is not valid. Ask your facilitator for a new one.")
            user = await _new_user(
                tx, role="participant", email=normal, name="", password_hash=password_hash
            )
            await tx.session.flush()
            invitation.used_at = tx.now
            participant.user_id = user.id
            tx.session.add_all([invitation, participant])
            await audit.record(
                tx,
                user.id,
                AuditAction.INVITATION_ACCEPT,
                case_id=participant.case_id,
                subject={"participant": participant.id, "user": user.id},
            )
            return await _user_view(tx, user)
    except IntegrityError as exc:
        raise Conflict(N_("That e-mail address cannot be used."), code="email_unavailable") from exc
