"""Disclosure: a participant's own records and what was relayed to them, and nothing else.

Guidance 3d 8, fn 15: a participant's own information can be disclosed to them without
disclosing the other party's beyond what that party agreed to share. So the package holds the
requester's own items and consents, what was relayed to them as relayed (with attribution),
and the dates of the process — never another participant's unshared items, wishes or notes,
nor practitioners' internal notes.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import zipfile
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import ColumnElement, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from shuttle import access, audit, case_records, checkpoints
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.case_records import NOTE_KINDS
from shuttle.cases import participant_view
from shuttle.crypto import DataCipher
from shuttle.deadlines import due_by
from shuttle.errors import Conflict, Invalid, NotFound
from shuttle.i18n import N_
from shuttle.models import (
    Assignment,
    AuditEntry,
    CaseEntry,
    Delivery,
    DisclosureDecision,
    DisclosureRequest,
    Item,
    ItemVersion,
    Participant,
    StatusChange,
    Summary,
    User,
)
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx
from shuttle.sharing import SharingConsent

VERIFIER = Path(__file__).with_name("inclusion_verifier.py")
log = logging.getLogger("shuttle.disclosure")

PROCESS_WORDS = {
    "case:participant:add": "You were added to the case",
    "account:invitation:accept": "You created your account",
    "case:consent:record": "Your consent to take part was recorded",
    "case:preferences:update": "Your wishes about receiving letters were recorded",
    "case:participant:opt_out": "You opted out",
    "case:meeting:request": "You asked for a face-to-face meeting",
    "item:item:create": "You started writing an item",
    "item:version:create": "You changed an item",
    "item:item:submit": "An item of yours was sent to your facilitator",
    "item:item:withdraw": "You withdrew an item",
    "item:item:stop": "An item of yours was stopped",
    "item:decision:approve": "Your facilitator approved an item of yours",
    "item:decision:withhold": "Your facilitator decided not to pass on an item of yours",
    "item:decision:return": "Your facilitator returned an item to you",
    "item:decision:escalate": "An item of yours was passed to a supervisor",
    "item:summary:agree": "You agreed to your facilitator's summary",
    "item:summary:decline": "You did not agree to your facilitator's summary",
    "item:relay:deliver": "An item was passed on",
    "item:relay:read": "You read an item",
    "disclosure:request:create": "You asked for your records",
    "disclosure:request:extend": "The time to answer your request for records was extended",
    "disclosure:request:approve": "A first person checked and approved your records",
    "disclosure:request:release": "Your records were released",
}


def _view(request: DisclosureRequest) -> dict[str, Any]:
    extension = None
    if request.extended_at is not None:
        extension = {
            "months": request.extension_months,
            "reason": request.extension_reason,
            "at": request.extended_at.isoformat(),
            "by": request.extended_by,
        }
    return {
        "id": request.id,
        "case_id": request.case_id,
        "participant_id": request.participant_id,
        "state": request.state,
        "received_at": request.received_at.isoformat(),
        "due_by": request.due_by.isoformat(),
        "extension": extension,
        "first_approved_by": request.first_approved_by,
        "first_approved_at": request.first_approved_at.isoformat()
        if request.first_approved_at
        else None,
        "released_at": request.released_at.isoformat() if request.released_at else None,
        "released_by": request.released_by,
        # records.pdf: in the package ("ready"), still being made, or failed.
        "pdf": None
        if request.state != "released"
        else {"pending": "being_made", "failed": "failed"}.get(request.pdf_state or "", "ready"),
    }


async def request_records(
    rt: Runtime, actor: Actor, case_id: str | None = None, participant_id: str | None = None
) -> dict[str, Any]:
    """A request for a participant's records, by them or recorded for them by a practitioner."""
    async with rt.write() as tx:
        if case_id is None:
            participant = await access.own_participant(tx, actor)
        else:
            access.require(tx, actor, "cases:work")
            await access.worked_case(tx, actor, case_id)
            participant = await access.case_participant(tx, case_id, participant_id or "")
        request = DisclosureRequest(
            case_id=participant.case_id,
            participant_id=participant.id,
            requested_by=actor.user_id,
            received_at=tx.now,
            due_by=due_by(tx.now, tx.policies.disclosure),
        )
        tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_REQUEST,
            case_id=participant.case_id,
            subject={"request": request.id, "participant": participant.id},
        )
        return _view(request)


async def _request_for(
    tx: Tx, actor: Actor, request_id: str, *, overseers: bool = False
) -> tuple[DisclosureRequest, Assignment | None]:
    """The request if it is the caller's own, or of a case they work on (with their place on
    it); with ``overseers``, also any request of the service for its managers (no place)."""
    request = await tx.session.get(DisclosureRequest, request_id)
    if request is None:
        raise NotFound()
    if actor.is_participant:
        if request.participant_id != actor.participant_id:
            raise NotFound()
        return request, None
    if overseers and not actor.is_practitioner:
        _, place = await access.overseen_case(tx, actor, request.case_id)
        return request, place
    return request, await access.assignment(tx, actor, request.case_id)


async def get_request(rt: Runtime, actor: Actor, request_id: str) -> dict[str, Any]:
    """One disclosure request, for its requester, the case's practitioners and managers."""
    async with rt.read() as tx:
        request, _ = await _request_for(tx, actor, request_id, overseers=True)
        return _view(request)


async def my_requests(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """The caller's own disclosure requests."""
    async with rt.read() as tx:
        me = await access.own_participant(tx, actor)
        query = select(DisclosureRequest).where(DisclosureRequest.participant_id == me.id)
        return [_view(r) for r in (await tx.session.exec(query)).all()]


async def case_requests(rt: Runtime, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """Every disclosure request of a case the caller works on (or oversees), oldest first."""
    async with rt.read() as tx:
        if actor.is_practitioner:
            access.require(tx, actor, "cases:work")
        else:
            access.require(tx, actor, "disclosure:release")
        await access.overseen_case(tx, actor, case_id)
        query = (
            select(DisclosureRequest)
            .where(col(DisclosureRequest.case_id) == case_id)
            .order_by(col(DisclosureRequest.received_at))
        )
        return [_view(r) for r in (await tx.session.exec(query)).all()]


# -- the review: every record about the requester, and a decision on each note ---------------


async def _notes_about(tx: Tx, participant_id: str) -> list[CaseEntry]:
    """The facilitators' notes and risk assessments about a participant, oldest first."""
    query = (
        select(CaseEntry)
        .where(
            CaseEntry.participant_id == participant_id,
            col(CaseEntry.kind).in_(NOTE_KINDS),
        )
        .order_by(col(CaseEntry.written_at), col(CaseEntry.id))
    )
    return list((await tx.session.exec(query)).all())


async def _decisions(tx: Tx, request_id: str) -> dict[str, DisclosureDecision]:
    query = select(DisclosureDecision).where(DisclosureDecision.request_id == request_id)
    return {d.entry_id: d for d in (await tx.session.exec(query)).all()}


async def _undecided(tx: Tx, request: DisclosureRequest) -> int:
    decided = await _decisions(tx, request.id)
    return sum(1 for n in await _notes_about(tx, request.participant_id) if n.id not in decided)


def _decision_view(tx: Tx, decision: DisclosureDecision | None) -> dict[str, Any] | None:
    if decision is None:
        return None
    exemption = tx.policies.exemptions.get(decision.exemption or "")
    return {
        "decision": decision.decision,
        "exemption": decision.exemption,
        "exemption_label": exemption.label if exemption else None,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at.isoformat(),
    }


async def review(rt: Runtime, actor: Actor, request_id: str) -> dict[str, Any]:
    """The practitioner's task list for a request: every record about the requester, each
    note or risk assessment with its decision, the time limit and the approvals."""
    async with rt.read() as tx:
        if actor.is_participant:
            raise NotFound()
        access.require(tx, actor, "disclosure:release")
        request, place = await _request_for(tx, actor, request_id, overseers=True)
        participant = await tx.session.get(Participant, request.participant_id)
        assert participant is not None
        items = (
            await tx.session.exec(
                select(Item)
                .where(Item.author_participant_id == participant.id)
                .order_by(col(Item.created_at))
            )
        ).all()
        relayed = (
            await tx.session.exec(
                select(Delivery, Item)
                .join(Item, col(Item.id) == col(Delivery.item_id))
                .where(Delivery.recipient_id == participant.id)
                .order_by(col(Delivery.relayed_at))
            )
        ).all()
        decided = await _decisions(tx, request.id)
        notes = [
            {
                **await case_records.entry_view(tx, note),
                "decision": _decision_view(tx, decided.get(note.id)),
            }
            for note in await _notes_about(tx, participant.id)
        ]
        others = (
            await tx.session.exec(
                select(CaseEntry)
                .where(
                    CaseEntry.participant_id == participant.id,
                    col(CaseEntry.kind).not_in(NOTE_KINDS),
                )
                .order_by(col(CaseEntry.written_at))
            )
        ).all()
        events = await _process(tx, participant, {i.id for i in items}, {d.id for d, _ in relayed})
        undecided = sum(1 for n in notes if n["decision"] is None)
        you = await participant_view(tx, participant)
        staff = {
            request.first_approved_by,
            request.released_by,
            request.extended_by,
            *(n["decision"]["decided_by"] for n in notes if n["decision"]),
        }
        return {
            "staff_names": await _staff_names(tx, {s for s in staff if s}),
            "request": _view(request),
            "participant": {
                "id": participant.id,
                "display_name": you["display_name"],
                "role": participant.role,
            },
            "items_written": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "state": i.state,
                    "versions": i.version,
                    "created_at": i.created_at.isoformat(),
                }
                for i in items
            ],
            "items_relayed": [
                {
                    "id": i.id,
                    "kind": i.kind,
                    "attribution": d.attribution_tag,
                    "relayed_at": d.relayed_at.isoformat(),
                }
                for d, i in relayed
            ],
            "notes": notes,
            "other_entries": [await case_records.entry_view(tx, e) for e in others],
            "events": events,
            "undecided": undecided,
            "may_decide": place is not None and request.state != "released",
            "may_download": place is not None and request.state == "released",
            "exemptions": {c: e.label for c, e in tx.policies.exemptions.items()},
            "extension_reasons": dict(tx.policies.extension_reasons),
            "extension_months": tx.policies.disclosure.extension_months,
            "next_step": _next_step(request, actor, place, undecided),
        }


async def _staff_names(tx: Tx, user_ids: set[str]) -> dict[str, str]:
    """The names of staff who took part in a review, by user id."""
    service = await tx.cipher(SERVICE_SLOT)
    users = (await tx.session.exec(select(User).where(col(User.id).in_(user_ids)))).all()
    return {u.id: service.open(u.name_enc, row=f"user:{u.id}", field="name") for u in users}


def _next_step(
    request: DisclosureRequest, actor: Actor, place: Assignment | None, undecided: int
) -> str:
    """What the caller can do next about the release, as a code for pages and clients."""
    if request.state == "released":
        return "released"
    if undecided:
        return "decide_notes"
    if request.state == "received":
        return "first_approval" if place is not None else "waiting_for_first_approval"
    if request.first_approved_by == actor.user_id:
        return "waiting_for_second_approval"
    return "second_approval"


async def decide(
    rt: Runtime,
    actor: Actor,
    request_id: str,
    entry_id: str,
    *,
    decision: str,
    exemption: str | None,
) -> dict[str, Any]:
    """Disclose one note or risk assessment, or withhold it with an exemption from the policy.

    A changed decision after the first approval withdraws that approval: the release needs
    two people's approval of the same decisions.
    """
    if decision not in ("disclose", "withhold"):
        raise Invalid(N_("decision must be disclose or withhold."), code="invalid_decision")
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        access.require(tx, actor, "disclosure:release")
        request, _ = await _request_for(tx, actor, request_id)
        if actor.is_participant:
            raise NotFound()
        if decision == "withhold" and exemption not in tx.policies.exemptions:
            choices = ", ".join(tx.policies.exemptions)
            raise Invalid(
                N_("To withhold, give the exemption: one of %(choices)s."),
                code="invalid_exemption",
                params={"choices": choices},
            )
        if decision == "disclose" and exemption is not None:
            raise Invalid(N_("Give an exemption only to withhold."), code="invalid_exemption")
        entry = await tx.session.get(CaseEntry, entry_id)
        if (
            entry is None
            or entry.participant_id != request.participant_id
            or entry.kind not in NOTE_KINDS
        ):
            raise NotFound()
        if request.state == "released":
            raise Conflict(N_("These records have already been released."), code="already_released")
        found = (
            await tx.session.exec(
                select(DisclosureDecision).where(
                    DisclosureDecision.request_id == request.id,
                    DisclosureDecision.entry_id == entry.id,
                )
            )
        ).one_or_none()
        changed = found is None or (found.decision, found.exemption) != (decision, exemption)
        record = found or DisclosureDecision(
            request_id=request.id, entry_id=entry.id, decision=decision, decided_by=actor.user_id
        )
        record.decision, record.exemption = decision, exemption
        record.decided_by, record.decided_at = actor.user_id, tx.now
        tx.session.add(record)
        withdrawn = changed and request.state == "awaiting_second_approval"
        if withdrawn:
            request.state, request.first_approved_by, request.first_approved_at = (
                "received",
                None,
                None,
            )
            tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_DECIDE,
            case_id=request.case_id,
            subject={
                "request": request.id,
                "entry": entry.id,
                "decision": decision,
                "exemption": exemption,
                "approval_withdrawn": withdrawn,
            },
        )
        await tx.session.flush()
        return {
            "entry_id": entry.id,
            **(_decision_view(tx, record) or {}),
            "request": _view(request),
        }


async def extend(
    rt: Runtime, actor: Actor, request_id: str, *, months: int, reason: str, note: str | None
) -> dict[str, Any]:
    """Extend the time limit by one or two further months, for a complex request or one of
    many (ICO: "How long do we have to comply?"), with the reason; within the first month,
    once, before the release."""
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        access.require(tx, actor, "disclosure:release")
        request, _ = await _request_for(tx, actor, request_id)
        if actor.is_participant:
            raise NotFound()
        rules = tx.policies.disclosure
        if not 1 <= months <= rules.extension_months:
            raise Invalid(
                N_("Extend by 1 to %(months)s months."),
                code="invalid_months",
                params={"months": rules.extension_months},
            )
        if reason not in tx.policies.extension_reasons:
            choices = ", ".join(tx.policies.extension_reasons)
            raise Invalid(
                N_("reason must be one of: %(choices)s."),
                code="invalid_reason",
                params={"choices": choices},
            )
        if request.state == "released":
            raise Conflict(N_("These records have already been released."), code="already_released")
        if request.extended_at is not None:
            raise Conflict(N_("The time limit has already been extended."), code="already_extended")
        if tx.now > request.due_by:
            raise Conflict(
                N_("The time limit can only be extended within the first month."), code="too_late"
            )
        request.due_by = due_by(request.received_at, rules, extra_months=months)
        request.extended_at, request.extended_by = tx.now, actor.user_id
        request.extension_months, request.extension_reason = months, reason
        if note and note.strip():
            cipher = await tx.cipher(request.case_id)
            request.extension_note_enc = cipher.seal(
                note.strip()[:2000], row=f"disclosure:{request.id}", field="extension_note"
            )
        tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_EXTEND,
            case_id=request.case_id,
            subject={
                "request": request.id,
                "participant": request.participant_id,
                "months": months,
                "reason": reason,
            },
        )
        return _view(request)


# -- two-person release ------------------------------------------------------------------------


async def _releasable(
    tx: Tx, actor: Actor, request_id: str
) -> tuple[DisclosureRequest, Assignment | None]:
    """The request, if the caller may approve it now; otherwise the error that says why.

    The first approval is a practitioner's on the case; the second is a different person's:
    another practitioner on the case, its supervisor, or a service manager. Both must have
    signed in or re-authenticated recently, and every note must be decided.
    """
    if actor.is_participant:
        access.require(tx, actor, "disclosure:release")  # Forbidden: participants never can
    access.require(tx, actor, "disclosure:release")
    request, place = await _request_for(tx, actor, request_id, overseers=True)
    access.require_recent_authentication(tx, actor)
    if request.state == "released":
        raise Conflict(N_("These records have already been released."), code="already_released")
    if request.state == "awaiting_second_approval" and request.first_approved_by == actor.user_id:
        raise Conflict(
            N_("You gave the first approval: a different person must give the second."),
            code="same_person",
        )
    if request.state == "received" and place is None:
        raise Conflict(
            N_("A practitioner on the case must approve these records first."),
            code="practitioner_first",
        )
    undecided = await _undecided(tx, request)
    if undecided:
        raise Conflict(
            N_("Decide on every note first: %(count)s not decided yet."),
            code="review_incomplete",
            params={"count": undecided},
        )
    return request, place


async def _case_mark(tx: Tx, case_id: str) -> int:
    """The newest audit entry of the case: any change to it since moves this mark."""
    query = select(func.max(AuditEntry.seq)).where(AuditEntry.case_id == case_id)
    return int((await tx.session.exec(query)).one() or 0)


async def release(rt: Runtime, actor: Actor, request_id: str) -> dict[str, Any]:
    """Approve the release: the first call (a practitioner on the case) records the first
    approval; the call of a different eligible person releases the records.

    The package (JSON, HTML, the tagged PDF, proofs) is built outside the write transaction,
    which is then taken only to check that nothing changed and to seal and store it. A big
    package is released without its PDF, which a background task adds (``make_pdf``):
    WeasyPrint needs tens of milliseconds per item.
    """
    async with rt.read() as tx:
        request, _ = await _releasable(tx, actor, request_id)
        first = request.state == "received"
    if first:
        async with rt.write() as tx:
            request, _ = await _releasable(tx, actor, request_id)
            if request.state == "received":
                request.state = "awaiting_second_approval"
                request.first_approved_by, request.first_approved_at = actor.user_id, tx.now
                tx.session.add(request)
                await audit.record(
                    tx,
                    actor.user_id,
                    AuditAction.DISCLOSURE_APPROVE,
                    case_id=request.case_id,
                    subject={"request": request.id, "participant": request.participant_id},
                )
                return _view(request)
    for _ in range(3):
        async with rt.read() as tx:
            request, _ = await _releasable(tx, actor, request_id)
            participant = await tx.session.get(Participant, request.participant_id)
            assert participant is not None
            mark = await _case_mark(tx, request.case_id)
            released_at = tx.now
            records = await compile_records(tx, participant, request, released=(actor, tx.now))
            proofs = await checkpoints.inclusion_proofs(
                tx, [event["seq"] for event in records["process"]]
            )
            web_dir = tx.settings.web_dir
        settings = rt.settings
        items = len(records["items_you_wrote"]) + len(records["items_relayed_to_you"])
        pdf_now = items <= settings.records_pdf_inline_items
        built = await asyncio.to_thread(
            build_package, records, web_dir, proofs, pdf=pdf_now,
            pdf_items=settings.records_pdf_max_items,
        )  # fmt: skip
        async with rt.write() as tx:
            request, _ = await _releasable(tx, actor, request_id)
            if request.state != "awaiting_second_approval":
                raise Conflict(N_("The first approval was withdrawn."), code="approval_withdrawn")
            if await _case_mark(tx, request.case_id) != mark:
                continue  # the case changed while the package was built: build it again
            cipher = await tx.cipher(request.case_id)
            request.package_enc = cipher.seal(
                built.hex(), row=f"disclosure:{request.id}", field="package"
            )
            request.state, request.released_at, request.released_by = (
                "released",
                released_at,
                actor.user_id,
            )
            request.pdf_state = None if pdf_now else "pending"
            tx.session.add(request)
            if not pdf_now:
                tx.after_commit.append(_pdf_later(rt, request.id))
            await audit.record(
                tx,
                actor.user_id,
                AuditAction.DISCLOSURE_RELEASE,
                case_id=request.case_id,
                subject={"request": request.id, "participant": participant.id},
            )
            return _view(request)
    raise Conflict(
        N_("The case kept changing while the records were prepared: try again."),
        code="case_changed",
    )


async def package(rt: Runtime, actor: Actor, request_id: str) -> bytes:
    """The released package (a ZIP), for its requester or the case's practitioners."""
    async with rt.write() as tx:
        request, _ = await _request_for(tx, actor, request_id)
        if request.state != "released" or request.package_enc is None:
            raise Conflict(N_("These records have not been released yet."), code="not_released")
        cipher = await tx.cipher(request.case_id)
        data = bytes.fromhex(
            cipher.open(request.package_enc, row=f"disclosure:{request.id}", field="package")
        )
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_DOWNLOAD,
            case_id=request.case_id,
            subject={"request": request.id},
        )
        return data


# -- the package -------------------------------------------------------------------------------


def _grouped(rows: Sequence[Any], key: str) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        found[getattr(row, key)].append(row)
    return found


async def compile_records(
    tx: Tx,
    participant: Participant,
    request: DisclosureRequest,
    released: tuple[Actor, datetime] | None = None,
) -> dict[str, Any]:
    """Everything the requester is entitled to, as one JSON-ready value.

    A fixed number of queries whatever the number of items (no query per item), so a case
    of 10,000 items compiles in about a second.
    """
    cipher = await tx.cipher(participant.case_id)
    you = await participant_view(tx, participant)
    you.pop("has_account", None)
    # Plain rows, not ORM objects: a big case has tens of thousands of them.
    mine = col(Item.author_participant_id) == participant.id
    own_items = await _rows(
        tx,
        sa_select(
            *_cols(
                Item.id, Item.kind, Item.state, Item.assisted, Item.response_wanted, Item.created_at
            )
        )
        .where(mine)
        .order_by(col(Item.created_at)),
    )
    versions = _grouped(
        await _rows(
            tx,
            sa_select(
                *_cols(
                    ItemVersion.id,
                    ItemVersion.item_id,
                    ItemVersion.number,
                    ItemVersion.body_enc,
                    ItemVersion.scope,
                    ItemVersion.recipient_ids,
                    ItemVersion.delivery,
                    ItemVersion.digest,
                    ItemVersion.created_at,
                )
            )
            .join(Item, col(Item.id) == col(ItemVersion.item_id))
            .where(mine)
            .order_by(col(ItemVersion.number)),
        ),
        "item_id",
    )
    summaries = _grouped(
        await _rows(
            tx,
            sa_select(
                *_cols(
                    Summary.id,
                    Summary.item_id,
                    Summary.text_enc,
                    Summary.state,
                    Summary.proposed_at,
                )
            )
            .join(Item, col(Item.id) == col(Summary.item_id))
            .where(mine)
            .order_by(col(Summary.proposed_at)),
        ),
        "item_id",
    )
    history = _grouped(
        await _rows(
            tx,
            sa_select(*_cols(StatusChange.item_id, StatusChange.state, StatusChange.at))
            .join(Item, col(Item.id) == col(StatusChange.item_id))
            .where(mine)
            .order_by(col(StatusChange.revision)),
        ),
        "item_id",
    )
    written = [
        {
            "id": item.id,
            "kind": item.kind,
            "state": item.state,
            "assisted": item.assisted,
            "response_wanted": item.response_wanted,
            "created_at": item.created_at.isoformat(),
            "versions": [
                {
                    "number": v.number,
                    "body": cipher.open(v.body_enc, row=f"item_version:{v.id}", field="body"),
                    "sharing": SharingConsent(
                        v.scope, tuple(orjson.loads(v.recipient_ids)), v.delivery
                    ).public(),
                    "digest": v.digest,
                    "created_at": v.created_at.isoformat(),
                }
                for v in versions[item.id]
            ],
            "summaries": [
                {
                    "text": cipher.open(s.text_enc, row=f"summary:{s.id}", field="text"),
                    "state": s.state,
                    "proposed_at": s.proposed_at.isoformat(),
                }
                for s in summaries[item.id]
            ],
            "status_history": [
                {"state": c.state, "at": c.at.isoformat()} for c in history[item.id]
            ],
        }
        for item in own_items
    ]
    deliveries = await _rows(
        tx,
        sa_select(
            *_cols(
                Delivery.id,
                Delivery.body_enc,
                Delivery.attribution_tag,
                Delivery.label_enc,
                Delivery.from_enc,
                Delivery.relayed_at,
                Delivery.read_at,
                col(Item.id).label("item_id"),
                Item.kind,
            )
        )
        .join(Item, col(Item.id) == col(Delivery.item_id))
        .where(col(Delivery.recipient_id) == participant.id)
        .order_by(col(Delivery.relayed_at)),
    )
    received = [_delivered(cipher, d) for d in deliveries]
    decided = await _decisions(tx, request.id)
    notes = []
    for note in await _notes_about(tx, participant.id):
        decision = decided.get(note.id)
        if decision is not None and decision.decision == "disclose":
            notes.append(
                {
                    "kind": note.kind,
                    "risk_level": note.detail if note.kind == "risk_assessment" else None,
                    "written_at": note.written_at.isoformat(),
                    "text": await case_records.entry_text(tx, note),
                }
            )
    about = _grouped(
        (
            await tx.session.exec(
                select(CaseEntry)
                .where(
                    CaseEntry.participant_id == participant.id,
                    col(CaseEntry.kind).in_(("contact", "outcome", "feedback")),
                )
                .order_by(col(CaseEntry.written_at), col(CaseEntry.id))
            )
        ).all(),
        "kind",
    )
    view = _view(request)
    if released is not None:
        view.update(
            state="released", released_at=released[1].isoformat(), released_by=released[0].user_id
        )
    return {
        "format": "shuttle-disclosure/1",
        "language": "en",
        "generated_at": tx.now.isoformat(),
        "request": view,
        "you": you,
        "items_you_wrote": written,
        "items_relayed_to_you": received,
        "notes_about_you": notes,
        "contacts_with_you": [
            {"kind": c.detail, "on": c.happened_on.isoformat() if c.happened_on else None}
            for c in about["contact"]
        ],
        "outcomes": [
            {
                "state": o.detail,
                "on": o.happened_on.isoformat() if o.happened_on else None,
                "text": await case_records.entry_text(tx, o),
            }
            for o in about["outcome"]
        ],
        "feedback_you_gave": [
            {
                "how": f.detail,
                "on": (f.happened_on or f.written_at.date()).isoformat(),
                "text": await case_records.entry_text(tx, f),
            }
            for f in about["feedback"]
        ],
        "process": await _process(
            tx, participant, {i.id for i in own_items}, {d.id for d in deliveries}
        ),
    }


def _cols(*fields: Any) -> list[Any]:
    """Model fields as columns (labelled columns as they are), for a Core select."""
    return [field if isinstance(field, ColumnElement) else col(field) for field in fields]


async def _rows(tx: Tx, statement: Any) -> Sequence[Any]:
    """Plain rows (named tuples) of a Core select, in the transaction: no ORM objects."""
    return await tx.session.run_sync(lambda session: session.connection().execute(statement).all())


def _delivered(cipher: DataCipher, row: Any) -> dict[str, Any]:
    """A delivery as its recipient sees it (``relay.delivery_view``'s shape), from a row."""
    name = f"delivery:{row.id}"
    return {
        "id": row.item_id,
        "kind": row.kind,
        "body": cipher.open(row.body_enc, row=name, field="body"),
        "attribution": {
            "tag": row.attribution_tag,
            "label": cipher.open(row.label_enc, row=name, field="label"),
        },
        "from": cipher.open(row.from_enc, row=name, field="from"),
        "relayed_at": row.relayed_at.isoformat(),
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


async def _process(
    tx: Tx, participant: Participant, own_items: set[str], own_deliveries: set[str]
) -> list[dict[str, Any]]:
    """Dates of the process that concern the requester: their record, items and deliveries."""
    entries = (
        await tx.session.exec(
            select(AuditEntry.seq, AuditEntry.action, AuditEntry.entry)
            .where(AuditEntry.case_id == participant.case_id)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    events = []
    for seq, action, text in entries:
        if action not in PROCESS_WORDS:
            continue
        entry = orjson.loads(text)
        subject = entry.get("subject", {})
        mine = (
            subject.get("participant") == participant.id
            or subject.get("item") in own_items
            or subject.get("delivery") in own_deliveries
        )
        if mine:
            events.append(
                {"seq": seq, "at": entry["at"], "action": action, "what": PROCESS_WORDS[action]}
            )
    return events


MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _when(value: str | None) -> str:
    """An ISO time or day in words: "24 November 2026, 12:51 UTC" or "6 January 2026"."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    day = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    return day if len(value) == 10 else f"{day}, {moment.hour:02d}:{moment.minute:02d} UTC"


class _RecordsEnvironment(Environment):
    """The records are plain dicts: ``item.kind`` looks the key up first (Jinja's own order,
    attribute first, costs several times as much, and a big case has a million lookups)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@cache
def _templates(web_dir: Path) -> Environment:
    environment = _RecordsEnvironment(
        loader=FileSystemLoader(web_dir / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    environment.filters["when"] = _when
    return environment


PROOFS_README = """
proofs/proofs.json - proofs that the entries of the service's audit log about you (the
                     "process" dates) are in its signed log, as it stood when this package
                     was made. Nobody can change those entries later without it showing.
proofs/verify.py   - checks them. It needs Python 3 and nothing else:

    python3 proofs/verify.py --key 'THE LOG KEY YOUR SERVICE PUBLISHED'

  Without --key it uses the key written inside proofs.json, which shows the proofs hold
  together but not that the service made them: ask the service (or its commissioner) for
  its log key. An auditor who keeps the service's checkpoints can also compare the
  checkpoint in proofs.json with theirs.
"""


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the Pango library it needs, is not installed: no records.pdf."""


_pdf_lock = threading.Lock()


def render_pdf(html: str) -> bytes:
    """An accessible, tagged PDF (PDF/UA-1) of the records page, with its language and title.

    Raises:
        PdfUnavailable: WeasyPrint or Debian's Pango is missing; the message says what to install.
    """
    try:
        import weasyprint  # type: ignore[import-untyped]  # here: it loads Pango
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            "records.pdf is made with WeasyPrint, which needs Debian's Pango "
            "(apt-get install libpango-1.0-0 libpangoft2-1.0-0; scripts/install-pdf-tools): "
            f"{exc}"
        ) from exc
    with _pdf_lock:  # Pango and fontconfig are not safe to use from two threads at once
        pdf: bytes = weasyprint.HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
    return pdf


def build_package(
    records: dict[str, Any],
    web_dir: Path,
    proofs: dict[str, Any] | None = None,
    *,
    pdf: bool = True,
    pdf_items: int = 200,
) -> bytes:
    """The ZIP: records.json, a readable records.html and records.pdf (or, with ``pdf`` false,
    a README saying it is being made), a README, the proofs."""
    html = _templates(web_dir).get_template("disclosure/records.html").render(records=records)
    files: dict[str, str | bytes] = {
        "records.json": orjson.dumps(records, option=orjson.OPT_INDENT_2),
        "records.html": html,
    }
    if pdf:
        files["records.pdf"] = render_pdf(_pdf_html(records, web_dir, pdf_items))
    if proofs is not None:
        files["proofs/proofs.json"] = orjson.dumps(proofs, option=orjson.OPT_INDENT_2)
        files["proofs/verify.py"] = VERIFIER.read_text(encoding="utf-8")
    return _zipped(files, _shortened(records, pdf_items) if pdf else None)


def add_pdf(package: bytes, web_dir: Path, pdf_items: int) -> bytes:
    """The same package with its records.pdf, made from its own records.json."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        files: dict[str, str | bytes] = {
            name: archive.read(name) for name in archive.namelist() if name != "README.txt"
        }
    records = orjson.loads(files["records.json"])
    files["records.pdf"] = render_pdf(_pdf_html(records, web_dir, pdf_items))
    return _zipped(files, _shortened(records, pdf_items))


PDF_LISTS = ("items_you_wrote", "items_relayed_to_you", "process")


def _shortened(records: dict[str, Any], pdf_items: int) -> str | None:
    """What the PDF leaves out of a very big case, in words; None when it has everything."""
    cut = [name for name in PDF_LISTS if len(records[name]) > pdf_items]
    if not cut:
        return None
    return (
        f"records.pdf shows the first {pdf_items} entries of each list; records.html and "
        "records.json have all of them."
    )


def _pdf_html(records: dict[str, Any], web_dir: Path, pdf_items: int) -> str:
    """records.html as the PDF shows it: each list cut to ``pdf_items``, saying so."""
    note = _shortened(records, pdf_items)
    if note is not None:
        records = {**records, **{name: records[name][:pdf_items] for name in PDF_LISTS}}
    template = _templates(web_dir).get_template("disclosure/records.html")
    return template.render(records=records, shortened=pdf_items if note else None)


def _zipped(files: dict[str, str | bytes], shortened: str | None) -> bytes:
    """The files, and a README that says what each is, as one ZIP."""
    if "records.pdf" in files:
        pdf_line = "records.pdf   - your records to read or print (an accessible PDF).\n"
        if shortened:
            pdf_line += f"                {shortened}\n"
    else:
        pdf_line = (
            "records.pdf   - not here yet: it is still being made. Download your records\n"
            "                again later to get it.\n"
        )
    readme = (
        "Your records from the restorative justice service.\n\n"
        + pdf_line
        + "records.html  - the same, to open in a web browser.\n"
        "records.json  - the same records in a form computers can read.\n"
        + (PROOFS_README if "proofs/proofs.json" in files else "")
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        archive.writestr("README.txt", readme)
    return buffer.getvalue()


def _pdf_later(rt: Runtime, request_id: str) -> Callable[[], Awaitable[None]]:
    async def start() -> None:
        rt.spawn(make_pdf(rt, request_id), name=f"records-pdf:{request_id}")

    return start


async def make_pdf(rt: Runtime, request_id: str) -> None:
    """Add records.pdf to a package released without it (``pdf_state`` pending or failed).

    The PDF is made outside any transaction; the package is replaced only if nobody did it
    meanwhile (another process, at its start) and it was not destroyed.
    """
    async with rt.read() as tx:
        request = await tx.session.get(DisclosureRequest, request_id)
        if request is None or request.package_enc is None or request.pdf_state is None:
            return
        sealed = request.package_enc
        cipher = await tx.cipher(request.case_id)
        package = bytes.fromhex(
            cipher.open(sealed, row=f"disclosure:{request.id}", field="package")
        )
    settings = rt.settings
    try:
        built: bytes | None = await asyncio.to_thread(
            add_pdf, package, settings.web_dir, settings.records_pdf_max_items
        )
    except Exception as exc:  # Pango missing, or WeasyPrint failing: say so, keep the rest
        log.error("records.pdf could not be made for a released package: %s", type(exc).__name__)
        built = None
    async with rt.write() as tx:
        request = await tx.session.get(DisclosureRequest, request_id)
        if request is None or request.pdf_state is None or request.package_enc != sealed:
            return
        if built is not None:
            cipher = await tx.cipher(request.case_id)
            request.package_enc = cipher.seal(
                built.hex(), row=f"disclosure:{request.id}", field="package"
            )
        request.pdf_state = None if built is not None else "failed"
        tx.session.add(request)


async def make_waiting_pdfs(rt: Runtime) -> None:
    """At start: the PDFs still to make (the service stopped while making them, or they
    failed), one after the other."""
    async with rt.read() as tx:
        waiting = (
            await tx.session.exec(
                select(DisclosureRequest.id).where(col(DisclosureRequest.pdf_state).is_not(None))
            )
        ).all()
    for request_id in waiting:
        await make_pdf(rt, request_id)
