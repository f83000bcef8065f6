"""Who may see or do what: the ONLY place that decides visibility.

Every lookup answers with the object or raises ``NotFound``; the same answer for something
that does not exist and for something the caller may not know exists (rule 5).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from shuttle.errors import Forbidden, NotFound, ReauthenticationRequired
from shuttle.models import Assignment, Case, Delivery, Item, Participant
from shuttle.policies import PRACTITIONER_ROLES
from shuttle.runtime import Tx

# Every authorisation decision, allowed or refused (ASVS 16.3.2 at Level 3): who, what, which
# object, and the outcome. Ids and names of permissions only, never personal text.
log = logging.getLogger("shuttle.access")


def _decided(actor: Actor, what: str, target: str | None, allowed: bool) -> None:
    log.info(
        "authorisation %s user=%s role=%s %s=%s",
        "allow" if allowed else "deny",
        actor.user_id,
        actor.role,
        what,
        target or "-",
    )


@dataclass(frozen=True)
class Actor:
    """The signed-in caller: their account, role and, for a participant, their case record."""

    user_id: str
    role: str
    participant_id: str | None = None
    case_id: str | None = None
    session_id: str | None = None
    authenticated_at: datetime | None = None

    @property
    def is_practitioner(self) -> bool:
        """Facilitators of every grade, and case supervisors."""
        return self.role in PRACTITIONER_ROLES

    @property
    def is_participant(self) -> bool:
        """A person harmed, a person responsible, a supporter or another participant."""
        return self.role == "participant" and self.participant_id is not None


def working_places(user_id: str) -> tuple[ColumnElement[bool], ...]:
    """The conditions for a user's active, conflict-free places on cases (rule 6)."""
    return (
        col(Assignment.user_id) == user_id,
        col(Assignment.active).is_(True),
        col(Assignment.conflict_declared).is_(False),
    )


def require(tx: Tx, actor: Actor, permission: str) -> None:
    """Raise ``Forbidden`` unless the actor's role may attempt ``permission`` at all."""
    allowed = tx.policies.can(actor.role, permission)
    _decided(actor, "permission", permission, allowed)
    if not allowed:
        raise Forbidden("Your account cannot do this.")


def require_recent_authentication(tx: Tx, actor: Actor) -> None:
    """Raise ``ReauthenticationRequired`` unless the caller proved who they are recently.

    Sensitive actions (releasing records, and later changing roles, destroying data, rotating
    keys) need a sign-in or re-authentication within ``settings.reauthentication_minutes``.
    """
    window = timedelta(minutes=tx.settings.reauthentication_minutes)
    recent = actor.authenticated_at is not None and actor.authenticated_at + window > tx.now
    _decided(actor, "recent_authentication", actor.session_id, recent)
    if not recent:
        raise ReauthenticationRequired(
            "Confirm it is you: enter your password again.", code="reauthentication_required"
        )


async def assignment(tx: Tx, actor: Actor, case_id: str) -> Assignment:
    """The caller's active, conflict-free place on the case (rule 6), or NotFound."""
    found = None
    if actor.is_practitioner:
        query = select(Assignment).where(
            Assignment.case_id == case_id, *working_places(actor.user_id)
        )
        found = (await tx.session.exec(query)).one_or_none()
    _decided(actor, "case", case_id, found is not None)
    if found is None:
        raise NotFound()
    await tx.lock_case(case_id)
    return found


async def worked_case(tx: Tx, actor: Actor, case_id: str) -> tuple[Case, Assignment]:
    """A case the caller works on, with their assignment; NotFound for any other."""
    place = await assignment(tx, actor, case_id)
    case = await tx.session.get(Case, case_id)
    if case is None:
        raise NotFound()
    return case, place


async def overseen_case(tx: Tx, actor: Actor, case_id: str) -> tuple[Case, Assignment | None]:
    """A case whose record the caller may read: one they work on (with their assignment), or,
    for a service manager (``cases:overview``), any case of the service (no assignment).
    NotFound for any other, the same as for a case that does not exist."""
    if actor.is_practitioner:
        return await worked_case(tx, actor, case_id)
    found = None
    if tx.policies.can(actor.role, "cases:overview"):
        found = await tx.session.get(Case, case_id)
    _decided(actor, "overseen_case", case_id, found is not None)
    if found is None:
        raise NotFound()
    await tx.lock_case(case_id)
    return found, None


async def own_participant(tx: Tx, actor: Actor) -> Participant:
    """The caller's own participant record."""
    if not actor.is_participant:
        _decided(actor, "own_participant", None, False)
        raise Forbidden("Only participants have this.")
    participant = await tx.session.get(Participant, actor.participant_id)
    _decided(actor, "own_participant", actor.participant_id, participant is not None)
    if participant is None:
        raise NotFound()
    await tx.lock_case(participant.case_id)
    return participant


async def case_participant(tx: Tx, case_id: str, participant_id: str) -> Participant:
    """A participant of ``case_id`` (the caller's right to the case is checked before)."""
    participant = await tx.session.get(Participant, participant_id)
    if participant is None or participant.case_id != case_id:
        log.info("authorisation deny participant=%s case=%s", participant_id, case_id)
        raise NotFound()
    return participant


@dataclass(frozen=True)
class ItemAccess:
    """How the caller may see an item: as its author, its recipient, or its practitioner."""

    item: Item
    as_author: bool = False
    delivery: Delivery | None = None
    assignment: Assignment | None = None


async def item(tx: Tx, actor: Actor, item_id: str) -> ItemAccess:
    """The item as the caller may see it, or NotFound."""
    found = await tx.session.get(Item, item_id)
    if found is None:
        _decided(actor, "item", item_id, False)
        raise NotFound()
    if actor.is_participant:
        if found.author_participant_id == actor.participant_id:
            _decided(actor, "item", item_id, True)
            await tx.lock_case(found.case_id)
            return ItemAccess(found, as_author=True)
        query = select(Delivery).where(
            Delivery.item_id == item_id, Delivery.recipient_id == actor.participant_id
        )
        delivery = (await tx.session.exec(query)).one_or_none()
        _decided(actor, "item", item_id, delivery is not None)
        if delivery is not None:
            await tx.lock_case(found.case_id)
            return ItemAccess(found, delivery=delivery)
        raise NotFound()
    if actor.is_practitioner:
        return ItemAccess(found, assignment=await assignment(tx, actor, found.case_id))
    _decided(actor, "item", item_id, False)
    raise NotFound()


async def authored_item(tx: Tx, actor: Actor, item_id: str) -> Item:
    """An item the caller may change as its author (or wrote for a participant), or NotFound.

    A practitioner who wrote an item on a participant's behalf keeps it while they remain on
    the case; the participant themself always may.
    """
    access = await item(tx, actor, item_id)
    if access.as_author:
        return access.item
    if access.assignment is not None and access.item.written_by == actor.user_id:
        return access.item
    _decided(actor, "authored_item", item_id, False)
    raise NotFound()
