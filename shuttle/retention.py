"""Retention: destroy closed cases past their period, with two people and never under a hold.

The rule of the service (REQUIREMENTS G 7, DESIGN rule 8): a case is destroyed by deleting its
data key and every row that holds its ciphertext; then the master key is rotated and the old
one erased, so that no backup taken before can be read either (docs/records.md says why).
The audit log stays whole: its entries hold ids and digests only.

Who: one admin or manager asks (``request``), a different admin or manager approves
(``approve``); ``run`` destroys only approved cases that are still due and not on hold.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func
from sqlmodel import col, select

from shuttle import audit, keys
from shuttle.accounts import normalise_email
from shuttle.audit import AuditAction
from shuttle.errors import Conflict, Forbidden, Invalid, NotFound
from shuttle.i18n import N_
from shuttle.models import (
    Assignment,
    AuditEntry,
    Case,
    CaseDestruction,
    CaseEntry,
    Claim,
    DataKey,
    Decision,
    Delivery,
    DisclosureDecision,
    DisclosureRequest,
    Invitation,
    Item,
    ItemVersion,
    LegalHold,
    MeetingRequest,
    Participant,
    Reading,
    SessionToken,
    StatusChange,
    Summary,
    User,
)
from shuttle.passwords import verify_or_burn
from shuttle.policies import PolicyError
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx

RECORD_TYPES = ("referral", "case")
KEEPABLE = frozenset({"audit_log", "statistics"})
HOLD_REASONS = ("litigation", "complaint", "investigation", "subject_access_request")
DESTROYERS = frozenset({"admin", "manager"})


@dataclass(frozen=True)
class RetentionPolicy:
    """Days kept after closing, per record type, and what survives destruction."""

    periods: dict[str, int]
    keep: frozenset[str]


def load_policy(policies_dir: Path) -> RetentionPolicy:
    """Read and check ``retention.toml``; PolicyError names the problem."""
    path = policies_dir / "retention.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc}") from exc
    periods = raw.get("periods", {})
    if set(periods) != set(RECORD_TYPES) or not all(
        type(days) is int and days >= 0 for days in periods.values()
    ):
        raise PolicyError(f"retention.toml: [periods] needs whole days for {RECORD_TYPES}")
    keep = frozenset(raw.get("after_destruction", {}).get("keep", []))
    if "audit_log" not in keep or not keep <= KEEPABLE:
        raise PolicyError(f"retention.toml: keep must include audit_log; may hold {KEEPABLE}")
    return RetentionPolicy(dict(periods), keep)


@dataclass(frozen=True)
class Due:
    """A closed case and where it stands under the policy."""

    case_id: str
    record_type: str
    closed_at: datetime
    due_at: datetime
    held: bool
    state: str | None  # its destruction request: requested / approved, or None

    def view(self) -> dict[str, Any]:
        """As JSON for the command line."""
        return {
            "case": self.case_id,
            "record_type": self.record_type,
            "closed_at": self.closed_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "held": self.held,
            "request": self.state,
        }


async def _closed_at(tx: Tx, case_id: str) -> datetime:
    query = (
        select(AuditEntry.entry)
        .where(AuditEntry.case_id == case_id, AuditEntry.action == AuditAction.CASE_CLOSE.value)
        .order_by(col(AuditEntry.seq).desc())
        .limit(1)
    )
    entry = (await tx.session.exec(query)).first()
    if entry is None:  # closed before the log recorded it: count from the case's creation
        case = await tx.session.get(Case, case_id)
        assert case is not None
        return case.created_at
    return datetime.fromisoformat(json.loads(entry)["at"])


async def _held(tx: Tx, case_id: str) -> bool:
    query = select(LegalHold.id).where(
        LegalHold.case_id == case_id, col(LegalHold.lifted_at).is_(None)
    )
    return (await tx.session.exec(query)).first() is not None


async def _open_request(tx: Tx, case_id: str) -> CaseDestruction | None:
    query = select(CaseDestruction).where(
        CaseDestruction.case_id == case_id,
        col(CaseDestruction.state).in_(("requested", "approved")),
    )
    return (await tx.session.exec(query)).first()


async def _due(tx: Tx, policy: RetentionPolicy, case_id: str) -> Due:
    relayed = await tx.session.exec(select(Delivery.id).where(Delivery.case_id == case_id))
    record_type = "case" if relayed.first() is not None else "referral"
    closed_at = await _closed_at(tx, case_id)
    request = await _open_request(tx, case_id)
    return Due(
        case_id,
        record_type,
        closed_at,
        closed_at + timedelta(days=policy.periods[record_type]),
        await _held(tx, case_id),
        request.state if request else None,
    )


async def review(rt: Runtime, policy: RetentionPolicy) -> list[Due]:
    """Every closed case whose period has ended (held ones too, marked held)."""
    async with rt.read() as tx:
        closed = (await tx.session.exec(select(Case.id).where(Case.state == "closed"))).all()
        found = [await _due(tx, policy, case_id) for case_id in closed]
        return sorted((d for d in found if d.due_at <= tx.now), key=lambda d: d.due_at)


async def authenticate(rt: Runtime, email: str, password: str) -> str:
    """The id of the admin or manager with this e-mail and password; Forbidden otherwise."""
    async with rt.read() as tx:
        cipher = await tx.cipher(SERVICE_SLOT)
        lookup = cipher.lookup_hash(normalise_email(email))
        user = (await tx.session.exec(select(User).where(User.email_lookup == lookup))).first()
    ok = await verify_or_burn(password, user.password_hash if user else None)
    if user is None or not ok or not user.active or user.role not in DESTROYERS:
        raise Forbidden("Only an administrator or manager, with their password, may do this.")
    return user.id


async def request(rt: Runtime, policy: RetentionPolicy, user_id: str) -> list[str]:
    """Ask for every due case that is not held and not asked for yet; returns their ids."""
    asked = []
    for due in await review(rt, policy):
        if due.held or due.state is not None:
            continue
        async with rt.write() as tx:
            if await _open_request(tx, due.case_id) is not None:
                continue
            destruction = CaseDestruction(
                case_id=due.case_id,
                record_type=due.record_type,
                due_at=due.due_at,
                requested_by=user_id,
                requested_at=tx.now,
            )
            tx.session.add(destruction)
            await audit.record(
                tx,
                user_id,
                AuditAction.DESTRUCTION_REQUEST,
                case_id=due.case_id,
                subject={"destruction": destruction.id, "record_type": due.record_type},
            )
        asked.append(due.case_id)
    return asked


async def approve(rt: Runtime, user_id: str) -> tuple[list[str], list[str]]:
    """Approve every request made by someone else; returns (approved, left as own requests)."""
    approved, own = [], []
    async with rt.write() as tx:
        query = select(CaseDestruction).where(CaseDestruction.state == "requested")
        for destruction in (await tx.session.exec(query)).all():
            if destruction.requested_by == user_id:
                own.append(destruction.case_id)
                continue
            destruction.state, destruction.approved_by = "approved", user_id
            destruction.approved_at = tx.now
            tx.session.add(destruction)
            await audit.record(
                tx,
                user_id,
                AuditAction.DESTRUCTION_APPROVE,
                case_id=destruction.case_id,
                subject={"destruction": destruction.id},
            )
            approved.append(destruction.case_id)
    return approved, own


async def hold(rt: Runtime, user_id: str, case_id: str, reason: str) -> None:
    """Place a legal hold on a case: nothing of it is destroyed until it is lifted."""
    if reason not in HOLD_REASONS:
        raise Invalid(
            N_("The reason must be one of: %(choices)s."),
            params={"choices": ", ".join(HOLD_REASONS)},
        )
    async with rt.write() as tx:
        if await tx.session.get(Case, case_id) is None:
            raise NotFound()
        if await _held(tx, case_id):
            raise Conflict(N_("This case is already on hold."), code="already_held")
        placed = LegalHold(case_id=case_id, reason=reason, placed_by=user_id, placed_at=tx.now)
        tx.session.add(placed)
        await audit.record(
            tx,
            user_id,
            AuditAction.HOLD_PLACE,
            case_id=case_id,
            subject={"hold": placed.id, "reason": reason},
        )


async def lift(rt: Runtime, user_id: str, case_id: str) -> None:
    """Lift a case's legal hold."""
    async with rt.write() as tx:
        query = select(LegalHold).where(
            LegalHold.case_id == case_id, col(LegalHold.lifted_at).is_(None)
        )
        placed = (await tx.session.exec(query)).first()
        if placed is None:
            raise NotFound()
        placed.lifted_by, placed.lifted_at = user_id, tx.now
        tx.session.add(placed)
        await audit.record(
            tx, user_id, AuditAction.HOLD_LIFT, case_id=case_id, subject={"hold": placed.id}
        )


async def approved(rt: Runtime, policy: RetentionPolicy) -> list[Due]:
    """The cases a run would destroy now: approved, still due, not held."""
    return [d for d in await review(rt, policy) if d.state == "approved" and not d.held]


async def _count(tx: Tx, model: Any, where: Any) -> int:
    return int((await tx.session.exec(select(func.count()).select_from(model).where(where))).one())


async def _statistics(tx: Tx, case: Case, closed_at: datetime) -> str:
    counts = {
        "items": await _count(tx, Item, col(Item.case_id) == case.id),
        "relayed": await _count(tx, Delivery, col(Delivery.case_id) == case.id),
        "participants": await _count(tx, Participant, col(Participant.case_id) == case.id),
        "opened": case.created_at.strftime("%Y-%m"),
        "closed": closed_at.strftime("%Y-%m"),
    }
    return json.dumps(counts, sort_keys=True)


async def _delete_rows(tx: Tx, case_id: str) -> None:
    """Every row of the case that holds its ciphertext or names its participants."""
    items = select(Item.id).where(Item.case_id == case_id)
    people = select(Participant.id).where(Participant.case_id == case_id)
    users = list(
        (
            await tx.session.exec(
                select(Participant.user_id).where(
                    Participant.case_id == case_id, col(Participant.user_id).is_not(None)
                )
            )
        ).all()
    )
    statements = [
        *(
            delete(model).where(col(model.item_id).in_(items))
            for model in (Claim, Reading, StatusChange, Decision, Summary, Delivery, ItemVersion)
        ),
        delete(Delivery).where(col(Delivery.case_id) == case_id),
        delete(MeetingRequest).where(col(MeetingRequest.case_id) == case_id),
        delete(DisclosureDecision).where(
            col(DisclosureDecision.request_id).in_(
                select(DisclosureRequest.id).where(DisclosureRequest.case_id == case_id)
            )
        ),
        delete(DisclosureRequest).where(col(DisclosureRequest.case_id) == case_id),
        delete(CaseEntry).where(col(CaseEntry.case_id) == case_id),
        delete(Invitation).where(col(Invitation.participant_id).in_(people)),
        delete(Item).where(col(Item.case_id) == case_id),
        delete(Participant).where(col(Participant.case_id) == case_id),
        delete(SessionToken).where(col(SessionToken.user_id).in_(users)),
        delete(User).where(col(User.id).in_(users)),
        delete(Assignment).where(col(Assignment.case_id) == case_id),
        delete(Case).where(col(Case.id) == case_id),
        delete(DataKey).where(col(DataKey.id) == case_id),
    ]
    for statement in statements:
        await tx.session.exec(statement)


async def destroy(rt: Runtime, policy: RetentionPolicy, due: Due) -> bool:
    """Destroy one approved case in one transaction; False if it is no longer destroyable."""
    async with rt.write() as tx:
        await tx.lock_case(due.case_id)
        destruction = await _open_request(tx, due.case_id)
        case = await tx.session.get(Case, due.case_id)
        if (
            destruction is None
            or destruction.state != "approved"
            or case is None
            or case.state != "closed"
            or await _held(tx, due.case_id)
        ):
            return False
        if "statistics" in policy.keep:
            destruction.statistics = await _statistics(tx, case, due.closed_at)
        await _delete_rows(tx, due.case_id)
        destruction.state, destruction.destroyed_at = "destroyed", tx.now
        tx.session.add(destruction)
        await audit.record(
            tx,
            None,
            AuditAction.CASE_DESTROY,
            case_id=due.case_id,
            subject={"destruction": destruction.id, "record_type": due.record_type},
        )

        async def forget() -> None:
            rt.keys.forget(due.case_id)

        tx.after_commit.append(forget)
    return True


@dataclass
class RunResult:
    """What a run destroyed, and the key rotation that followed."""

    destroyed: list[str]
    rotation: keys.Rotation | None


async def run(
    rt: Runtime,
    policy: RetentionPolicy,
    *,
    on_case: Callable[[str], None] | None = None,
    on_keys: keys.Progress | None = None,
    settle_seconds: float = 2.0,
) -> RunResult:
    """Destroy every approved case, then rotate the master key and erase the old one."""
    destroyed = []
    for due in await approved(rt, policy):
        if await destroy(rt, policy, due):
            destroyed.append(due.case_id)
        if on_case is not None:
            on_case(due.case_id)
    rotation = None
    if destroyed:
        rotation = await keys.rotate(rt, progress=on_keys, settle_seconds=settle_seconds)
    return RunResult(destroyed, rotation)
