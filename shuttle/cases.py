"""Cases, the practitioners on them, participants, informed consent, opt-out, preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from shuttle import access, audit, relay
from shuttle.access import Actor
from shuttle.accounts import issue_invitation
from shuttle.audit import AuditAction
from shuttle.crypto import DataCipher
from shuttle.errors import Conflict, Forbidden, Invalid, NotFound
from shuttle.i18n import N_
from shuttle.lifecycle import BEFORE_RELAY
from shuttle.models import (
    Assignment,
    Case,
    Item,
    ItemVersion,
    MeetingRequest,
    Participant,
    User,
)
from shuttle.policies import PRACTITIONER_ROLES
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx
from shuttle.sharing import DELIVERIES

PARTICIPANT_ROLES = ("harmed", "responsible", "supporter", "other")
CONSENT_METHODS = ("in_person", "phone", "written", "portal")
RECEIVE_CHOICES = ("yes", "no", "ask_first")
CASE_STATES = ("open", "paused", "closed")
SUPERVISOR_ROLES = frozenset({"supervisor"})
SENSITIVE_LEAD_ROLES = frozenset({"senior_practitioner"})
NOT_A_SUPERVISOR = N_("The supervisor must be an active case supervisor.")
NOT_A_PRACTITIONER = N_("Choose an active practitioner.")
NOT_A_LEAD = N_("The lead must be an active practitioner.")
NOT_A_SENSITIVE_LEAD = N_("A sensitive or complex case must be led by a senior practitioner.")


def _text(value: Any, what: str, *, limit: int = 200, code: str = "invalid") -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(
            N_("Give the %(what)s."), params={"what": what}, code=code, fields={what: "required"}
        )
    if len(value) > limit:
        raise Invalid(
            N_("The %(what)s is longer than %(limit)s characters."),
            params={"what": what, "limit": limit},
            code=code,
        )
    return value.strip()


def _lead_rule(*, sensitive_complex: bool) -> dict[str, Any]:
    """Who may lead a case: a senior practitioner for a sensitive or complex one."""
    if sensitive_complex:
        return {"roles": SENSITIVE_LEAD_ROLES, "refusal": NOT_A_SENSITIVE_LEAD}
    return {"roles": PRACTITIONER_ROLES, "refusal": NOT_A_LEAD}


async def _staff(
    tx: Tx, user_id: str, *, roles: frozenset[str], refusal: str, field: str = "user_id"
) -> User:
    """The active staff member ``user_id`` if their role is one of ``roles``; else ``refusal``
    (naming ``field``, the one to correct)."""
    user = await tx.session.get(User, user_id)
    if user is None or not user.active or user.role not in roles:
        raise Invalid(refusal, code="invalid_user", fields={field: "invalid"})
    return user


async def case_view(tx: Tx, case: Case, *, content: bool) -> dict[str, Any]:
    """A case for a practitioner on it (``content``) or for a manager (states and counts only)."""
    states = (
        await tx.session.exec(
            select(Item.state, func.count()).where(Item.case_id == case.id).group_by(Item.state)
        )
    ).all()
    participants = (
        await tx.session.exec(
            select(Participant)
            .where(Participant.case_id == case.id)
            .order_by(col(Participant.created_at))
        )
    ).all()
    view: dict[str, Any] = {
        "id": case.id,
        "state": case.state,
        "sensitive_complex": case.sensitive_complex,
        "pre_trial": case.pre_trial,
        "pre_trial_consultation_at": case.pre_trial_consultation_at.isoformat()
        if case.pre_trial_consultation_at
        else None,
        "created_at": case.created_at.isoformat(),
        "counts": {"participants": len(participants), "items": dict(states)},
    }
    if not content:
        return view
    cipher = await tx.cipher(case.id)
    view["reference"] = cipher.open(case.reference_enc, row=f"case:{case.id}", field="reference")
    assignments = (
        await tx.session.exec(select(Assignment).where(Assignment.case_id == case.id))
    ).all()
    service = await tx.cipher(SERVICE_SLOT)
    team = []
    for place in assignments:
        user = await tx.session.get(User, place.user_id)
        if user is None or not place.active:
            continue
        name = service.open(user.name_enc, row=f"user:{user.id}", field="name")
        team.append({"user_id": user.id, "role": place.role, "name": name})
    view["practitioners"] = team
    view["participants"] = [await participant_view(tx, p) for p in participants]
    view["meeting_requests"] = await meeting_requests(tx, case.id)
    return view


async def participant_view(tx: Tx, participant: Participant) -> dict[str, Any]:
    """A participant as their practitioners see them."""
    cipher = await tx.cipher(participant.case_id)
    row = f"participant:{participant.id}"
    consent = None
    if participant.consented_at is not None:
        consent = {
            "information_sheet_version": participant.consent_sheet_version,
            "method": participant.consent_method,
            "accepts_responsibility": participant.accepts_responsibility,
            "court_ordered": participant.court_ordered,
            "recorded_at": participant.consented_at.isoformat(),
        }
    return {
        "id": participant.id,
        "case_id": participant.case_id,
        "role": participant.role,
        "state": participant.state,
        "display_name": cipher.open(participant.display_name_enc, row=row, field="name"),
        "shown_to_others_as": cipher.open(
            participant.shown_to_others_as_enc, row=row, field="shown_as"
        ),
        "has_account": participant.user_id is not None,
        "consent": consent,
        "opted_out_at": participant.opted_out_at.isoformat() if participant.opted_out_at else None,
        "preferences": preferences_view(unwanted_topics(cipher, participant), participant),
    }


def unwanted_topics(cipher: DataCipher, participant: Participant) -> list[str]:
    """The topics a participant does not want to hear about, decrypted."""
    if participant.unwanted_topics_enc is None:
        return []
    row = f"participant:{participant.id}"
    topics: list[str] = cipher.open_json(
        participant.unwanted_topics_enc, row=row, field="unwanted_topics"
    )
    return topics


def preferences_view(topics: list[str], participant: Participant) -> dict[str, Any]:
    """What a participant is willing to receive, and how."""
    return {
        "receive": participant.receive,
        "unwanted_topics": topics,
        "delivery": participant.delivery,
        "tell_author_when_read": participant.tell_author_when_read,
    }


async def create_case(
    rt: Runtime,
    actor: Actor,
    *,
    reference: str,
    sensitive_complex: bool,
    lead_practitioner_id: str | None,
    supervisor_id: str | None,
    pre_trial: bool = False,
) -> dict[str, Any]:
    """Open a case. The creator leads it unless another lead is named (then they co-work)."""
    reference = _text(reference, "reference", limit=100, code="invalid_reference")
    async with rt.write() as tx:
        access.require(tx, actor, "cases:create")
        lead_id = lead_practitioner_id or (actor.user_id if actor.is_practitioner else None)
        if lead_id is None:
            raise Invalid(
                N_("Name the lead practitioner."),
                code="lead_required",
                fields={"lead_practitioner_id": "required"},
            )
        lead_rule = _lead_rule(sensitive_complex=sensitive_complex)
        await _staff(tx, lead_id, **lead_rule, field="lead_practitioner_id")
        if supervisor_id is not None:
            await _staff(
                tx,
                supervisor_id,
                roles=SUPERVISOR_ROLES,
                refusal=NOT_A_SUPERVISOR,
                field="supervisor_id",
            )
            if supervisor_id == lead_id:
                raise Invalid(
                    N_("The supervisor must be someone other than the lead."),
                    code="invalid_user",
                    fields={"supervisor_id": "invalid"},
                )
        case = Case(
            reference_enc=b"",
            sensitive_complex=sensitive_complex,
            pre_trial=pre_trial,
            created_by=actor.user_id,
            created_at=tx.now,
        )
        cipher = await tx.new_slot(case.id)
        case.reference_enc = cipher.seal(reference, row=f"case:{case.id}", field="reference")
        tx.session.add(case)
        await tx.session.flush()
        team = {lead_id: "lead"}
        if supervisor_id:
            team[supervisor_id] = "supervisor"
        if actor.is_practitioner and actor.user_id not in team:
            team[actor.user_id] = "co_worker"
        for user_id, role in team.items():
            tx.session.add(
                Assignment(case_id=case.id, user_id=user_id, role=role, created_at=tx.now)
            )
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.CASE_CREATE,
            case_id=case.id,
            subject={
                "case": case.id,
                "sensitive_complex": sensitive_complex,
                "lead": lead_id,
                "supervisor": supervisor_id,
            },
        )
        await tx.session.flush()
        return await case_view(tx, case, content=True)


async def supervisors(rt: Runtime, actor: Actor) -> list[dict[str, str]]:
    """The active case supervisors, by name, for someone opening a case to choose from."""
    return await _staff_to_choose(rt, actor, SUPERVISOR_ROLES)


async def lead_practitioners(rt: Runtime, actor: Actor) -> list[dict[str, str]]:
    """The active practitioners (with their role), by name, for someone opening a case who
    does not lead it themselves (a manager) to choose its lead from."""
    return await _staff_to_choose(rt, actor, PRACTITIONER_ROLES)


async def _staff_to_choose(
    rt: Runtime, actor: Actor, roles: frozenset[str]
) -> list[dict[str, str]]:
    async with rt.read() as tx:
        access.require(tx, actor, "cases:create")
        service = await tx.cipher(SERVICE_SLOT)
        query = select(User).where(col(User.role).in_(roles), col(User.active).is_(True))
        found = [
            {
                "user_id": u.id,
                "name": service.open(u.name_enc, row=f"user:{u.id}", field="name"),
                "role": u.role,
            }
            for u in (await tx.session.exec(query)).all()
            if u.id != actor.user_id
        ]
        return sorted(found, key=lambda s: s["name"].casefold())


async def list_cases(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """The cases the caller works on; for managers and admins, every case without content."""
    async with rt.read() as tx:
        if tx.policies.can(actor.role, "cases:overview"):
            cases = (await tx.session.exec(select(Case).order_by(col(Case.created_at)))).all()
            return [await case_view(tx, case, content=False) for case in cases]
        access.require(tx, actor, "cases:work")
        query = (
            select(Case)
            .join(Assignment, col(Assignment.case_id) == col(Case.id))
            .where(*access.working_places(actor.user_id))
            .order_by(col(Case.created_at))
        )
        return [
            await case_view(tx, case, content=True) for case in (await tx.session.exec(query)).all()
        ]


async def get_case(rt: Runtime, actor: Actor, case_id: str) -> dict[str, Any]:
    """One case, as far as the caller may see it."""
    async with rt.read() as tx:
        if tx.policies.can(actor.role, "cases:overview"):
            case = await tx.session.get(Case, case_id)
            if case is None:
                raise NotFound()
            return await case_view(tx, case, content=False)
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        return await case_view(tx, case, content=True)


async def check_case_work(
    rt: Runtime, actor: Actor, case_id: str, *, lead_or_supervisor: bool = False
) -> None:
    """Refuse as a change to the case would, before a page reads its form: Forbidden without
    the right to work on cases (or, with ``lead_or_supervisor``, for a team member who is
    neither), NotFound for a case the caller does not work on."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        _, place = await access.worked_case(tx, actor, case_id)
        if lead_or_supervisor and place.role not in ("lead", "supervisor"):
            raise Forbidden("Only the case's lead or supervisor can change its state.")


async def _managed_case(tx: Tx, actor: Actor, case_id: str) -> Case:
    """A case whose team the caller may change: its lead or supervisor, or a manager."""
    if tx.policies.can(actor.role, "cases:overview") and actor.role == "manager":
        case = await tx.session.get(Case, case_id)
        if case is None:
            raise NotFound()
        return case
    case, place = await access.worked_case(tx, actor, case_id)
    if place.role not in ("lead", "supervisor"):
        raise Forbidden("Only the case's lead or supervisor can change who works on it.")
    return case


async def add_practitioner(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    *,
    user_id: str,
    role: str,
    conflict_declared: bool,
    conflict_details: str | None,
) -> dict[str, Any]:
    """Put a practitioner on a case. A declared conflict of interest blocks it (G 11-13)."""
    if role not in ("lead", "co_worker", "supervisor"):
        raise Invalid(N_("The role must be lead, co_worker or supervisor."), code="invalid_role")
    async with rt.write() as tx:
        case = await _managed_case(tx, actor, case_id)
        if role == "supervisor":
            await _staff(tx, user_id, roles=SUPERVISOR_ROLES, refusal=NOT_A_SUPERVISOR)
        elif role == "lead":
            await _staff(tx, user_id, **_lead_rule(sensitive_complex=case.sensitive_complex))
        else:
            await _staff(tx, user_id, roles=PRACTITIONER_ROLES, refusal=NOT_A_PRACTITIONER)
        if conflict_declared:
            raise Conflict(
                N_("A practitioner with a conflict of interest cannot work on this case."),
                code="conflict_of_interest",
            )
        existing = (
            await tx.session.exec(
                select(Assignment).where(
                    Assignment.case_id == case_id, Assignment.user_id == user_id
                )
            )
        ).one_or_none()
        if existing is not None and existing.conflict_declared:
            raise Conflict(
                N_("This practitioner has declared a conflict of interest on this case."),
                code="conflict_of_interest",
            )
        if role in ("lead", "supervisor"):
            for other in (
                await tx.session.exec(
                    select(Assignment).where(
                        Assignment.case_id == case_id,
                        Assignment.role == role,
                        Assignment.user_id != user_id,
                    )
                )
            ).all():
                other.role = "co_worker" if role == "lead" else other.role
                other.active = other.active if role == "lead" else False
                tx.session.add(other)
        place = existing or Assignment(
            case_id=case_id, user_id=user_id, role=role, created_at=tx.now
        )
        place.role, place.active = role, True
        tx.session.add(place)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ASSIGNMENT_ADD,
            case_id=case_id,
            subject={"user": user_id, "role": role},
        )
        return {"case_id": case_id, "user_id": user_id, "role": role}


async def declare_conflict(
    rt: Runtime, actor: Actor, case_id: str, user_id: str, details: str | None
) -> None:
    """A conflict of interest found later: the practitioner loses access to the case at once."""
    async with rt.write() as tx:
        if actor.user_id == user_id:
            await access.worked_case(tx, actor, case_id)
        else:
            await _managed_case(tx, actor, case_id)
        place = (
            await tx.session.exec(
                select(Assignment).where(
                    Assignment.case_id == case_id,
                    Assignment.user_id == user_id,
                    col(Assignment.active).is_(True),
                )
            )
        ).one_or_none()
        if place is None:
            raise NotFound()
        place.conflict_declared, place.active = True, False
        if details:
            cipher = await tx.cipher(case_id)
            place.conflict_details_enc = cipher.seal(
                details, row=f"assignment:{place.id}", field="conflict"
            )
        tx.session.add(place)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ASSIGNMENT_CONFLICT,
            case_id=case_id,
            subject={"user": user_id},
        )


async def add_participant(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    *,
    role: str,
    display_name: str,
    shown_to_others_as: str,
) -> dict[str, Any]:
    """Add a person to the case and issue their one-time invitation."""
    if role not in PARTICIPANT_ROLES:
        raise Invalid(
            N_("The role must be one of: %(choices)s."),
            params={"choices": ", ".join(PARTICIPANT_ROLES)},
            code="invalid_role",
        )
    display_name = _text(display_name, "display_name", limit=100)
    shown_to_others_as = _text(shown_to_others_as, "shown_to_others_as", limit=100)
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        if case.state == "closed":
            raise Conflict(N_("This case is closed."), code="case_closed")
        participant = Participant(
            case_id=case_id,
            role=role,
            display_name_enc=b"",
            shown_to_others_as_enc=b"",
            created_at=tx.now,
        )
        cipher = await tx.cipher(case_id)
        row = f"participant:{participant.id}"
        participant.display_name_enc = cipher.seal(display_name, row=row, field="name")
        participant.shown_to_others_as_enc = cipher.seal(
            shown_to_others_as, row=row, field="shown_as"
        )
        tx.session.add(participant)
        await tx.session.flush()
        token = await issue_invitation(tx, participant)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.PARTICIPANT_ADD,
            case_id=case_id,
            subject={"participant": participant.id, "role": role},
        )
        view = await participant_view(tx, participant)
        view["invitation_token"] = token
        return view


async def get_participant(
    rt: Runtime, actor: Actor, case_id: str, participant_id: str
) -> dict[str, Any]:
    """One participant of a case the caller works on."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        return await participant_view(
            tx, await access.case_participant(tx, case_id, participant_id)
        )


async def reissue_invitation(rt: Runtime, actor: Actor, case_id: str, participant_id: str) -> str:
    """A new invitation for a participant who has no account yet; older ones stop working."""
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        participant = await access.case_participant(tx, case_id, participant_id)
        if participant.user_id is not None or participant.state == "opted_out":
            raise Conflict(N_("This participant cannot be invited again."), code="already_joined")
        token = await issue_invitation(tx, participant)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.PARTICIPANT_ADD,
            case_id=case_id,
            subject={"participant": participant.id, "invitation": "reissued"},
        )
        return token


async def record_consent(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    participant_id: str,
    *,
    information_sheet_version: str,
    method: str,
    accepts_responsibility: bool | None,
    court_ordered: bool | None,
) -> dict[str, Any]:
    """Record informed consent; the participant becomes active (guidance 2b, G 3)."""
    sheet = _text(information_sheet_version, "information_sheet_version", limit=64)
    if method not in CONSENT_METHODS:
        raise Invalid(
            N_("The method must be one of: %(choices)s."),
            params={"choices": ", ".join(CONSENT_METHODS)},
            code="invalid_method",
        )
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        participant = await access.case_participant(tx, case_id, participant_id)
        await _consent(
            tx,
            actor,
            participant,
            sheet=sheet,
            method=method,
            accepts_responsibility=accepts_responsibility,
            court_ordered=bool(court_ordered),
        )
        return await participant_view(tx, participant)


async def give_own_consent(
    rt: Runtime,
    actor: Actor,
    *,
    information_sheet_version: str,
    accepts_responsibility: bool | None,
) -> dict[str, Any]:
    """A participant gives their own informed consent through the portal, after reading the
    information (guidance 2b, G 3, G 14-15). The same rules as ``record_consent``: the person
    responsible must accept responsibility. Whether taking part is court-ordered is for the
    practitioner to record and is left as it was.

    Raises:
        Invalid: the person responsible has not accepted responsibility.
        Conflict: they have opted out, or their consent is already recorded.
    """
    sheet = _text(information_sheet_version, "information_sheet_version", limit=64)
    async with rt.write() as tx:
        participant = await access.own_participant(tx, actor)
        if participant.state == "active":
            raise Conflict(N_("Your consent is already recorded."), code="already_consented")
        await _consent(
            tx,
            actor,
            participant,
            sheet=sheet,
            method="portal",
            accepts_responsibility=accepts_responsibility,
            court_ordered=bool(participant.court_ordered),
        )
        return await participant_view(tx, participant)


async def _consent(
    tx: Tx,
    actor: Actor,
    participant: Participant,
    *,
    sheet: str,
    method: str,
    accepts_responsibility: bool | None,
    court_ordered: bool,
) -> None:
    """Check and record a participant's consent, audit it, and relay what waited for it."""
    if participant.role == "responsible" and accepts_responsibility is not True:
        raise Invalid(
            N_("The person responsible must accept responsibility before taking part."),
            code="responsibility_not_accepted",
        )
    if participant.state == "opted_out":
        raise Conflict(N_("This participant has opted out."), code="opted_out")
    participant.consent_sheet_version = sheet
    participant.consent_method = method
    participant.accepts_responsibility = accepts_responsibility
    participant.court_ordered = court_ordered
    participant.consented_at = tx.now
    participant.consent_recorded_by = actor.user_id
    participant.state = "active"
    tx.session.add(participant)
    await audit.record(
        tx,
        actor.user_id,
        AuditAction.CONSENT_RECORD,
        case_id=participant.case_id,
        subject={
            "participant": participant.id,
            "method": method,
            "court_ordered": court_ordered,
        },
    )
    await relay.release_held(tx, actor.user_id, participant.case_id)


async def opt_out(
    rt: Runtime, actor: Actor, case_id: str | None, participant_id: str | None, reason: str | None
) -> dict[str, Any]:
    """Opt a participant out: everything pending to and from them stops at once (2b 8)."""
    async with rt.write() as tx:
        if (
            actor.is_participant
            and participant_id in (None, actor.participant_id)
            and case_id in (None, actor.case_id)
        ):
            participant = await access.own_participant(tx, actor)
        else:
            access.require(tx, actor, "cases:work")
            if case_id is None or participant_id is None:
                raise NotFound()
            await access.worked_case(tx, actor, case_id)
            participant = await access.case_participant(tx, case_id, participant_id)
        if participant.state == "opted_out":
            raise Conflict(N_("This participant has already opted out."), code="opted_out")
        participant.state = "opted_out"
        participant.opted_out_at = tx.now
        if reason:
            cipher = await tx.cipher(participant.case_id)
            participant.opt_out_reason_enc = cipher.seal(
                reason[:2000], row=f"participant:{participant.id}", field="opt_out_reason"
            )
        tx.session.add(participant)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.PARTICIPANT_OPT_OUT,
            case_id=participant.case_id,
            subject={"participant": participant.id},
        )
        await _stop_pending(tx, actor.user_id, participant)
        return await participant_view(tx, participant)


async def _stop_pending(tx: Tx, actor_id: str, participant: Participant) -> None:
    """Withdraw the opted-out person's unrelayed items and stop items waiting for them."""
    pending = (
        await tx.session.exec(
            select(Item).where(
                Item.case_id == participant.case_id,
                col(Item.state).in_([s.value for s in BEFORE_RELAY]),
            )
        )
    ).all()
    for item in pending:
        if item.author_participant_id == participant.id:
            await relay.stop(tx, actor_id, item, "author_opted_out")
            continue
        version = (
            await tx.session.exec(
                select(ItemVersion).where(
                    ItemVersion.item_id == item.id, ItemVersion.number == item.version
                )
            )
        ).one()
        if participant.id in relay.recipient_ids(version):
            await relay.drop_recipient(tx, actor_id, item, version)


async def set_preferences(
    rt: Runtime,
    actor: Actor,
    case_id: str | None,
    participant_id: str | None,
    *,
    receive: str,
    unwanted_topics: list[str],
    delivery: str,
    tell_author_when_read: bool,
) -> dict[str, Any]:
    """Record what a participant is willing to receive; at ``yes``, relay what waits for them."""
    if receive not in RECEIVE_CHOICES:
        raise Invalid(
            N_("receive must be one of: %(choices)s."),
            params={"choices": ", ".join(RECEIVE_CHOICES)},
            code="invalid_receive",
        )
    if delivery not in DELIVERIES:
        raise Invalid(
            N_("delivery must be one of: %(choices)s."),
            params={"choices": ", ".join(DELIVERIES)},
            code="invalid_delivery",
        )
    if len(unwanted_topics) > 50 or any(
        not isinstance(t, str) or len(t) > 200 for t in unwanted_topics
    ):
        raise Invalid(
            N_("List at most 50 topics, each under 200 characters."), code="invalid_topics"
        )
    topics = [t.strip() for t in unwanted_topics if t.strip()]
    async with rt.write() as tx:
        if case_id is None:
            participant = await access.own_participant(tx, actor)
        else:
            access.require(tx, actor, "cases:work")
            await access.worked_case(tx, actor, case_id)
            participant = await access.case_participant(tx, case_id, participant_id or "")
        cipher = await tx.cipher(participant.case_id)
        participant.receive = receive
        participant.delivery = delivery
        participant.tell_author_when_read = tell_author_when_read
        participant.unwanted_topics_enc = cipher.seal_json(
            topics, row=f"participant:{participant.id}", field="unwanted_topics"
        )
        participant.preferences_set_at = tx.now
        tx.session.add(participant)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.PREFERENCES_UPDATE,
            case_id=participant.case_id,
            subject={
                "participant": participant.id,
                "receive": receive,
                "on_behalf": case_id is not None,
            },
        )
        if receive == "yes":
            await relay.release_held(
                tx, actor.user_id, participant.case_id, recipient_id=participant.id
            )
        return preferences_view(topics, participant)


async def my_case(rt: Runtime, actor: Actor) -> dict[str, Any]:
    """A participant's own case facts: their record, consent and preferences."""
    async with rt.read() as tx:
        participant = await access.own_participant(tx, actor)
        view = await participant_view(tx, participant)
        case = await tx.session.get(Case, participant.case_id)
        view["case_state"] = case.state if case else None
        return view


async def others_in_case(rt: Runtime, actor: Actor) -> list[dict[str, str]]:
    """The other participants of the caller's case who can still be written to: each one's
    id and the name they chose to be shown to others as, and nothing more."""
    async with rt.read() as tx:
        me = await access.own_participant(tx, actor)
        cipher = await tx.cipher(me.case_id)
        query = (
            select(Participant)
            .where(
                Participant.case_id == me.case_id,
                Participant.id != me.id,
                Participant.state != "opted_out",
            )
            .order_by(col(Participant.created_at))
        )
        return [
            {
                "id": p.id,
                "shown_as": cipher.open(
                    p.shown_to_others_as_enc, row=f"participant:{p.id}", field="shown_as"
                ),
            }
            for p in (await tx.session.exec(query)).all()
        ]


async def set_case_state(rt: Runtime, actor: Actor, case_id: str, state: str) -> dict[str, Any]:
    """Pause, resume or close a case. A paused or closed case relays nothing."""
    actions = {
        "paused": AuditAction.CASE_PAUSE,
        "open": AuditAction.CASE_RESUME,
        "closed": AuditAction.CASE_CLOSE,
    }
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        case, place = await access.worked_case(tx, actor, case_id)
        if place.role not in ("lead", "supervisor"):
            raise Forbidden("Only the case's lead or supervisor can change its state.")
        if case.state == "closed" or case.state == state:
            raise Conflict(
                N_("Nothing has changed: the case is already in that state."), code="wrong_state"
            )
        case.state = state
        tx.session.add(case)
        await audit.record(
            tx, actor.user_id, actions[state], case_id=case_id, subject={"case": case_id}
        )
        if state == "open":
            await relay.release_held(tx, actor.user_id, case_id)
        return await case_view(tx, case, content=True)


async def record_pre_trial_consultation(rt: Runtime, actor: Actor, case_id: str) -> dict[str, Any]:
    """Before legal proceedings end (B 7, 9): the investigating officer was consulted and the
    participants told of the impact. Relays of a pre-trial case wait for this record."""
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        if not case.pre_trial:
            raise Conflict(N_("This case is not marked as pre-trial."), code="not_pre_trial")
        if case.pre_trial_consultation_at is not None:
            raise Conflict(N_("The consultation is already recorded."), code="already_recorded")
        case.pre_trial_consultation_at = tx.now
        tx.session.add(case)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.PRE_TRIAL_CONSULTATION,
            case_id=case_id,
            subject={"case": case_id},
        )
        await relay.release_held(tx, actor.user_id, case_id)
        return await case_view(tx, case, content=True)


async def set_watch_list(rt: Runtime, actor: Actor, case_id: str, terms: list[str]) -> list[str]:
    """The case's watch list: words that must never reach the other side (screened for)."""
    if len(terms) > 500 or any(
        not isinstance(t, str) or not t.strip() or len(t) > 200 for t in terms
    ):
        raise Invalid(N_("List at most 500 terms, each 1 to 200 characters."), code="invalid_terms")
    clean = list(dict.fromkeys(t.strip() for t in terms))
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        cipher = await tx.cipher(case_id)
        case.watch_list_enc = cipher.seal_json(clean, row=f"case:{case_id}", field="watch_list")
        tx.session.add(case)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.WATCH_LIST_UPDATE,
            case_id=case_id,
            subject={"terms": len(clean)},
        )
        return clean


async def watch_list(tx: Tx, case: Case) -> list[str]:
    """The case's watch list, decrypted."""
    if case.watch_list_enc is None:
        return []
    cipher = await tx.cipher(case.id)
    terms: list[str] = cipher.open_json(
        case.watch_list_enc, row=f"case:{case.id}", field="watch_list"
    )
    return terms


async def get_watch_list(rt: Runtime, actor: Actor, case_id: str) -> list[str]:
    """The case's watch list, for its practitioners."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        return await watch_list(tx, case)


async def request_meeting(rt: Runtime, actor: Actor, note: str | None) -> dict[str, Any]:
    """A participant asks for a face-to-face meeting, recorded for the facilitator (3d 3)."""
    async with rt.write() as tx:
        participant = await access.own_participant(tx, actor)
        request = MeetingRequest(
            case_id=participant.case_id, participant_id=participant.id, requested_at=tx.now
        )
        if note and note.strip():
            cipher = await tx.cipher(participant.case_id)
            request.note_enc = cipher.seal(note.strip(), row=f"meeting:{request.id}", field="note")
        tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.MEETING_REQUEST,
            case_id=participant.case_id,
            subject={"participant": participant.id, "meeting_request": request.id},
        )
        return {"id": request.id, "requested_at": tx.now.isoformat(), "state": "requested"}


async def meeting_requests(tx: Tx, case_id: str) -> list[dict[str, Any]]:
    """Every face-to-face meeting asked for in the case, for its practitioners."""
    cipher = await tx.cipher(case_id)
    query = (
        select(MeetingRequest)
        .where(col(MeetingRequest.case_id) == case_id)
        .order_by(col(MeetingRequest.requested_at))
    )
    return [
        {
            "id": m.id,
            "participant_id": m.participant_id,
            "requested_at": m.requested_at.isoformat(),
            "note": cipher.open(m.note_enc, row=f"meeting:{m.id}", field="note")
            if m.note_enc
            else None,
        }
        for m in (await tx.session.exec(query)).all()
    ]
