"""Items: writing, revising, submitting and withdrawing, and how each caller sees an item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from shuttle import access, audit, lifecycle, relay
from shuttle.access import Actor, ItemAccess
from shuttle.audit import AuditAction
from shuttle.cases import unwanted_topics, watch_list
from shuttle.crypto import DataCipher
from shuttle.errors import Conflict, Invalid, NotFound
from shuttle.i18n import N_
from shuttle.lifecycle import EDITABLE, ItemState
from shuttle.models import (
    Case,
    Decision,
    Delivery,
    Item,
    ItemVersion,
    Participant,
    Reading,
    StatusChange,
    Summary,
)
from shuttle.runtime import Runtime, Tx
from shuttle.screening import screen
from shuttle.sharing import RESPONSES, SharingConsent, sharing_consent, version_digest

KINDS = ("letter", "message", "question", "answer", "information", "assessment")
PRACTITIONER_KINDS = ("information", "assessment")
MAX_BODY_CHARS = 50_000
OWN_STOPS = ("author_withdrew", "author_opted_out")
RECEIVED_BY = ("handwritten", "phone", "visit")  # how words written with help came in


@dataclass(frozen=True)
class ReadBack:
    """Assisted mode: the declaration that the words were read back to the author and agreed,
    the day that was done, and how the words were received (``RECEIVED_BY``)."""

    declaration: str | None = None
    read_back_on: str | None = None
    received_by: str | None = None

    def checked(self, today: date) -> tuple[str | None, date | None, str | None]:
        """The declaration, its day and how received, validated (Invalid says what to change)."""
        day = None
        if self.read_back_on:
            try:
                day = date.fromisoformat(self.read_back_on)
            except ValueError:
                raise Invalid(
                    N_("The read-back date must be a real date."), code="invalid_read_back"
                ) from None
            if day > today:
                raise Invalid(
                    N_("The read-back date must be today or in the past."), code="invalid_read_back"
                )
        if self.received_by is not None and self.received_by not in RECEIVED_BY:
            raise Invalid(
                N_("received_by must be one of: %(choices)s."),
                params={"choices": ", ".join(RECEIVED_BY)},
                code="invalid_read_back",
            )
        return self.declaration, day, self.received_by


def _body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise Invalid(
            N_("Write something before saving."), code="invalid_body", fields={"body": "required"}
        )
    if len(body) > MAX_BODY_CHARS:
        raise Invalid(
            N_("Keep it under %(limit)s characters."),
            params={"limit": MAX_BODY_CHARS},
            code="invalid_body",
        )
    return body


def _response(value: str | None) -> str:
    if value is None:
        return "none"
    if value not in RESPONSES:
        raise Invalid(
            N_("response_wanted must be one of: %(choices)s."),
            params={"choices": ", ".join(RESPONSES)},
            code="invalid_response_wanted",
        )
    return value


def _participant_ready(participant: Participant) -> None:
    if participant.state == "opted_out":
        raise Conflict(N_("This participant has opted out."), code="opted_out")
    if participant.state != "active":
        raise Conflict(N_("Informed consent must be recorded first."), code="consent_required")


async def _check_recipients(tx: Tx, case_id: str, sharing: SharingConsent) -> None:
    for recipient_id in sharing.recipient_ids:
        recipient = await tx.session.get(Participant, recipient_id)
        if recipient is None or recipient.case_id != case_id:
            raise Invalid(
                N_("A recipient is not a participant in this case."), code="invalid_recipients"
            )
        if recipient.state == "opted_out":
            raise Invalid(N_("A recipient has opted out."), code="invalid_recipients")


async def _add_version(
    tx: Tx,
    item: Item,
    number: int,
    body: str,
    sharing: SharingConsent,
    consent_by: str,
    read_back: ReadBack | None,
) -> ItemVersion:
    digest = version_digest(
        item_id=item.id,
        number=number,
        kind=item.kind,
        body=body,
        sharing=sharing,
        response_wanted=item.response_wanted,
    )
    version = ItemVersion(
        item_id=item.id,
        number=number,
        body_enc=b"",
        scope=sharing.scope,
        recipient_ids=json.dumps(list(sharing.recipient_ids)),
        delivery=sharing.delivery,
        digest=digest,
        consent_given_by=consent_by,
        created_at=tx.now,
    )
    cipher = await tx.cipher(item.case_id)
    row = f"item_version:{version.id}"
    version.body_enc = cipher.seal(body, row=row, field="body")
    if read_back is not None:
        declaration, version.read_back_on, version.received_by = read_back.checked(tx.now.date())
        if declaration:
            version.assisted_declaration_enc = cipher.seal(
                declaration, row=row, field="declaration"
            )
    tx.session.add(version)
    tx.versions[item.id, number] = version
    return version


async def create_item(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    *,
    kind: str,
    body: str,
    scope: str,
    recipient_ids: list[str],
    delivery: str | None,
    response_wanted: str | None,
    in_reply_to: str | None,
    on_behalf_of: str | None,
    assisted_declaration: str | None = None,
    read_back_on: str | None = None,
    received_by: str | None = None,
) -> dict[str, Any]:
    """Write a new item; it starts as a draft with its author's sharing consent.

    Written on a participant's behalf (assisted), it may carry the read-back declaration:
    its words, the day (``read_back_on``, YYYY-MM-DD) and how the words came in
    (``received_by``: handwritten, phone or visit), kept with the version.
    """
    if kind not in KINDS:
        raise Invalid(
            N_("kind must be one of: %(choices)s."),
            params={"choices": ", ".join(KINDS)},
            code="invalid_kind",
        )
    body = _body(body)
    wanted = _response(response_wanted)
    async with rt.write() as tx:
        author_id, assisted = await _author(tx, actor, case_id, kind, on_behalf_of)
        sharing = sharing_consent(scope, recipient_ids, delivery, author_id=author_id)
        await _check_recipients(tx, case_id, sharing)
        case = await tx.session.get(Case, case_id)
        if case is None:
            raise NotFound()
        if case.state == "closed":
            raise Conflict(N_("This case is closed."), code="case_closed")
        if in_reply_to is not None:
            await _check_reply_to(tx, actor, case_id, in_reply_to)
        item = Item(
            case_id=case_id,
            kind=kind,
            author_participant_id=author_id,
            written_by=actor.user_id,
            assisted=assisted,
            response_wanted=wanted,
            in_reply_to=in_reply_to,
            created_at=tx.now,
            updated_at=tx.now,
        )
        tx.session.add(item)
        tx.session.add(
            StatusChange(
                item_id=item.id, revision=item.revision, state=ItemState.DRAFT.value, at=tx.now
            )
        )
        await tx.session.flush()
        read_back = ReadBack(assisted_declaration, read_back_on, received_by)
        version = await _add_version(tx, item, 1, body, sharing, actor.user_id, read_back)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ITEM_CREATE,
            case_id=case_id,
            subject={
                "item": item.id,
                "kind": kind,
                "author": author_id,
                "assisted": assisted,
                "scope": sharing.scope,
            },
            digests={"version": version.digest},
        )
        return await item_view(
            tx,
            actor,
            ItemAccess(
                item,
                as_author=author_id is not None and actor.participant_id == author_id,
                assignment=None
                if actor.is_participant
                else await access.assignment(tx, actor, case_id),
            ),
        )


async def _author(
    tx: Tx, actor: Actor, case_id: str, kind: str, on_behalf_of: str | None
) -> tuple[str | None, bool]:
    """Who an item is by: the participant themself, a participant helped, or a practitioner."""
    if actor.is_participant:
        access.require(tx, actor, "items:write_own")
        if case_id != actor.case_id or on_behalf_of not in (None, actor.participant_id):
            raise NotFound()
        me = await access.own_participant(tx, actor)
        _participant_ready(me)
        if kind in PRACTITIONER_KINDS:
            raise Invalid(
                N_("Participants write letters, messages, questions and answers."),
                code="invalid_kind",
            )
        return me.id, False
    access.require(tx, actor, "cases:work")
    await access.worked_case(tx, actor, case_id)
    if on_behalf_of is None:
        if kind not in PRACTITIONER_KINDS:
            raise Invalid(
                N_(
                    "A practitioner writes information or assessments,"
                    " or writes on a participant's behalf."
                ),
                code="invalid_kind",
            )
        return None, False
    helped = await tx.session.get(Participant, on_behalf_of)
    if helped is None or helped.case_id != case_id:
        raise Invalid(
            N_("on_behalf_of must be a participant in this case."), code="invalid_on_behalf_of"
        )
    _participant_ready(helped)
    return helped.id, True


async def _check_reply_to(tx: Tx, actor: Actor, case_id: str, item_id: str) -> None:
    try:
        seen = await access.item(tx, actor, item_id)
    except NotFound:
        seen = None
    if seen is None or seen.item.case_id != case_id:
        raise Invalid(
            N_("in_reply_to must be an item you can see in this case."), code="invalid_reply_to"
        )


async def revise_item(
    rt: Runtime,
    actor: Actor,
    item_id: str,
    *,
    body: str | None,
    sharing: dict[str, Any] | None,
    response_wanted: str | None,
    read_back: ReadBack | None = None,
) -> dict[str, Any]:
    """Change a draft or returned item; every change makes a new version with a new digest.

    A read-back declaration belongs to the words read back: a new version carries only the
    one given with it (``read_back``), never an earlier version's.
    """
    async with rt.write() as tx:
        item = await access.authored_item(tx, actor, item_id)
        if item.state not in EDITABLE:
            raise Conflict(
                N_("This item has been sent on or stopped, so it can no longer be changed."),
                code="wrong_state",
            )
        current = await relay.current_version(tx, item)
        cipher = await tx.cipher(item.case_id)
        new_body = (
            _body(body)
            if body is not None
            else cipher.open(current.body_enc, row=f"item_version:{current.id}", field="body")
        )
        if sharing is not None:
            consent = sharing_consent(
                sharing.get("scope", ""),
                list(sharing.get("recipient_ids") or []),
                sharing.get("delivery"),
                author_id=item.author_participant_id,
            )
            await _check_recipients(tx, item.case_id, consent)
        else:
            consent = SharingConsent(
                current.scope, tuple(relay.recipient_ids(current)), current.delivery
            )
        wanted = _response(response_wanted) if response_wanted is not None else item.response_wanted
        await lifecycle.change(tx, item, version=item.version + 1, response_wanted=wanted)
        version = await _add_version(
            tx, item, item.version, new_body, consent, actor.user_id, read_back
        )
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ITEM_REVISE,
            case_id=item.case_id,
            subject={"item": item.id, "version": item.version, "scope": consent.scope},
            digests={"version": version.digest},
        )
        return await item_view(tx, actor, await access.item(tx, actor, item_id))


async def submit_item(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """Send a draft (or a revised returned item) to the practitioners' vetting queue."""
    async with rt.write() as tx:
        item = await access.authored_item(tx, actor, item_id)
        if item.state not in EDITABLE:
            raise Conflict(
                N_("Only drafts and items returned to you can be sent."),
                code="wrong_state",
            )
        if item.author_participant_id is not None:
            author = await tx.session.get(Participant, item.author_participant_id)
            assert author is not None
            _participant_ready(author)
        version = await relay.current_version(tx, item)
        await _screen(tx, item, version)
        await lifecycle.change(tx, item, state=ItemState.SUBMITTED, submitted_at=tx.now)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ITEM_SUBMIT,
            case_id=item.case_id,
            subject={"item": item.id, "version": item.version},
            digests={"version": version.digest},
        )
        return await item_view(tx, actor, await access.item(tx, actor, item_id))


async def _screen(tx: Tx, item: Item, version: ItemVersion) -> None:
    cipher = await tx.cipher(item.case_id)
    body = cipher.open(version.body_enc, row=f"item_version:{version.id}", field="body")
    case = await tx.session.get(Case, item.case_id)
    assert case is not None
    topics: list[str] = []
    for recipient_id in relay.recipient_ids(version):
        recipient = await tx.session.get(Participant, recipient_id)
        if recipient is not None:
            topics += unwanted_topics(cipher, recipient)
    author = (
        await tx.session.get(Participant, item.author_participant_id)
        if item.author_participant_id is not None
        else None
    )
    flags = screen(
        body,
        tx.policies.screening,
        watch_list=await watch_list(tx, case),
        unwanted_topics=topics,
        author_role=author.role if author is not None else None,
    )
    version.flags_enc = cipher.seal_json(
        [f.public() for f in flags], row=f"item_version:{version.id}", field="flags"
    )
    tx.session.add(version)


async def withdraw_item(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """The author takes an item back, at any time before it is relayed."""
    async with rt.write() as tx:
        item = await access.authored_item(tx, actor, item_id)
        await lifecycle.change(tx, item, state=ItemState.WITHDRAWN, stop_reason="author_withdrew")
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.ITEM_WITHDRAW,
            case_id=item.case_id,
            subject={"item": item.id},
        )
        return await item_view(tx, actor, await access.item(tx, actor, item_id))


async def get_item(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """An item as the caller may see it. A practitioner's first look at a version is recorded."""
    async with rt.read() as tx:
        seen = await access.item(tx, actor, item_id)
        if seen.assignment is None or await _has_read(tx, actor, seen.item):
            return await item_view(tx, actor, seen)
    async with rt.write() as tx:
        seen = await access.item(tx, actor, item_id)
        if not await _has_read(tx, actor, seen.item):
            tx.session.add(
                Reading(
                    item_id=item_id, version=seen.item.version, user_id=actor.user_id, at=tx.now
                )
            )
            await audit.record(
                tx,
                actor.user_id,
                AuditAction.TEXT_OPEN,
                case_id=seen.item.case_id,
                subject={"item": item_id, "version": seen.item.version},
            )
        return await item_view(tx, actor, seen)


async def _has_read(tx: Tx, actor: Actor, item: Item) -> bool:
    query = select(Reading.id).where(
        Reading.item_id == item.id,
        Reading.version == item.version,
        Reading.user_id == actor.user_id,
    )
    return (await tx.session.exec(query)).first() is not None


async def my_items(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """The caller's own items (as author), newest first."""
    async with rt.read() as tx:
        me = await access.own_participant(tx, actor)
        query = (
            select(Item)
            .where(Item.author_participant_id == me.id)
            .order_by(col(Item.created_at).desc())
        )
        return [
            await item_view(tx, actor, ItemAccess(i, as_author=True))
            for i in (await tx.session.exec(query)).all()
        ]


async def case_items(rt: Runtime, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """Every item of a case, for its practitioners, oldest first."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        _, place = await access.worked_case(tx, actor, case_id)
        query = select(Item).where(Item.case_id == case_id).order_by(col(Item.created_at))
        return [
            await item_view(tx, actor, ItemAccess(i, assignment=place), full=False)
            for i in (await tx.session.exec(query)).all()
        ]


async def item_view(tx: Tx, actor: Actor, seen: ItemAccess, *, full: bool = True) -> dict[str, Any]:
    """The item as ``seen`` allows: the recipient's, the author's or the practitioner's view."""
    item = seen.item
    if seen.delivery is not None:
        # The inbox entry of API.md, plus what response its writer hopes for (3d 12).
        received = await relay.delivery_view(tx, seen.delivery, item)
        received["response_wanted"] = item.response_wanted
        return received
    cipher = await tx.cipher(item.case_id)
    version = await relay.current_version(tx, item)
    view: dict[str, Any] = {
        "id": item.id,
        "case_id": item.case_id,
        "kind": item.kind,
        "state": item.state,
        "version": item.version,
        "version_digest": version.digest,
        "sharing": SharingConsent(
            version.scope, tuple(relay.recipient_ids(version)), version.delivery
        ).public(),
        "response_wanted": item.response_wanted,
        "in_reply_to": item.in_reply_to,
        "assisted": item.assisted,
        "author": await _author_view(tx, item),
        "created_at": item.created_at.isoformat(),
        "submitted_at": item.submitted_at.isoformat() if item.submitted_at else None,
        "updated_at": item.updated_at.isoformat(),
        "stop_reason": item.stop_reason
        if seen.assignment or item.stop_reason in OWN_STOPS
        else None,
    }
    if full:
        view["body"] = cipher.open(version.body_enc, row=f"item_version:{version.id}", field="body")
    view["status_history"] = await _history(tx, item)
    view["deliveries"] = await _deliveries(tx, item, practitioner=seen.assignment is not None)
    view["summary"] = await _summary_view(tx, item)
    view["return_note"] = await _return_note(tx, item)
    if seen.assignment is not None:
        # Why an item is held can reveal the recipient's wishes: practitioners only.
        if item.state in relay.WAITING:
            view["waiting_for"] = await relay.waiting_for(tx, item)
        view["flags"] = (
            cipher.open_json(version.flags_enc, row=f"item_version:{version.id}", field="flags")
            if version.flags_enc
            else []
        )
        view["decisions"] = await _decisions(tx, item)
        view["read_back"] = _read_back_view(cipher, version) if item.assisted else None
    return view


def _read_back_view(cipher: DataCipher, version: ItemVersion) -> dict[str, Any] | None:
    """The assisted version's read-back declaration, for practitioners."""
    if version.assisted_declaration_enc is None and version.read_back_on is None:
        return None
    declaration = (
        cipher.open(
            version.assisted_declaration_enc,
            row=f"item_version:{version.id}",
            field="declaration",
        )
        if version.assisted_declaration_enc
        else None
    )
    return {
        "declaration": declaration,
        "read_back_on": version.read_back_on.isoformat() if version.read_back_on else None,
        "received_by": version.received_by,
    }


async def _author_view(tx: Tx, item: Item) -> dict[str, Any]:
    if item.author_participant_id is None:
        return {"participant_id": None, "name": "Your facilitator", "written_by": item.written_by}
    author = await tx.session.get(Participant, item.author_participant_id)
    assert author is not None
    cipher = await tx.cipher(item.case_id)
    name = cipher.open(author.display_name_enc, row=f"participant:{author.id}", field="name")
    return {"participant_id": author.id, "name": name, "written_by": item.written_by}


async def _history(tx: Tx, item: Item) -> list[dict[str, str]]:
    query = (
        select(StatusChange)
        .where(StatusChange.item_id == item.id)
        .order_by(col(StatusChange.revision))
    )
    return [
        {"state": c.state, "at": c.at.isoformat()} for c in (await tx.session.exec(query)).all()
    ]


async def _deliveries(tx: Tx, item: Item, *, practitioner: bool) -> list[dict[str, Any]]:
    """When the item reached each recipient; reading shown only where the recipient allows."""
    out = []
    for delivery in (
        await tx.session.exec(select(Delivery).where(Delivery.item_id == item.id))
    ).all():
        recipient = await tx.session.get(Participant, delivery.recipient_id)
        show_read = practitioner or (recipient is not None and recipient.tell_author_when_read)
        out.append(
            {
                "recipient_id": delivery.recipient_id,
                "attribution": delivery.attribution_tag,
                "relayed_at": delivery.relayed_at.isoformat(),
                "read_at": delivery.read_at.isoformat() if show_read and delivery.read_at else None,
            }
        )
    return out


async def _summary_view(tx: Tx, item: Item) -> dict[str, Any] | None:
    query = (
        select(Summary)
        .where(Summary.item_id == item.id, Summary.version == item.version)
        .order_by(col(Summary.proposed_at).desc())
    )
    summary = (await tx.session.exec(query)).first()
    if summary is None:
        return None
    cipher = await tx.cipher(item.case_id)
    return {
        "text": cipher.open(summary.text_enc, row=f"summary:{summary.id}", field="text"),
        "state": summary.state,
        "proposed_at": summary.proposed_at.isoformat(),
    }


async def _return_note(tx: Tx, item: Item) -> dict[str, Any] | None:
    """The last return's reason and note, which the author is meant to see."""
    query = (
        select(Decision)
        .where(Decision.item_id == item.id, Decision.decision == "return")
        .order_by(col(Decision.at).desc())
    )
    decision = (await tx.session.exec(query)).first()
    if decision is None:
        return None
    reason = tx.policies.reason("return", decision.reason or "other")
    cipher = await tx.cipher(item.case_id)
    note = (
        cipher.open(decision.note_enc, row=f"decision:{decision.id}", field="note")
        if decision.note_enc
        else None
    )
    return {
        "reason": decision.reason,
        "explanation": reason.author_label if reason else None,
        "note": note,
        "version": decision.version,
    }


async def _decisions(tx: Tx, item: Item) -> list[dict[str, Any]]:
    cipher = await tx.cipher(item.case_id)
    query = select(Decision).where(Decision.item_id == item.id).order_by(col(Decision.at))

    def opened(blob: bytes | None, row: str, field: str) -> str | None:
        return cipher.open(blob, row=row, field=field) if blob else None

    out = []
    for d in (await tx.session.exec(query)).all():
        out.append(
            {
                "decision": d.decision,
                "version": d.version,
                "version_digest": d.version_digest,
                "reason": d.reason,
                "note": opened(d.note_enc, f"decision:{d.id}", "note"),
                "internal_note": opened(d.internal_note_enc, f"decision:{d.id}", "internal_note"),
                "decided_by": d.decided_by,
                "by_supervisor": d.by_supervisor,
                "full_text_opened_at": d.full_text_opened_at.isoformat()
                if d.full_text_opened_at
                else None,
                "current": d.current,
                "at": d.at.isoformat(),
            }
        )
    return out
