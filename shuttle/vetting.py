"""Vetting: the practitioners' queue, decisions bound to a version, escalation, summaries.

Nothing reaches anyone without a practitioner's approval of that exact version (3d 13).
A ``withhold`` for serious harm, and an ``escalate``, go to the case supervisor (3d 6).
Sensitive and complex cases need two different approvers (section B).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from shuttle import access, audit, lifecycle, relay
from shuttle.access import Actor, ItemAccess
from shuttle.audit import AuditAction
from shuttle.cases import unwanted_topics
from shuttle.errors import Conflict, Forbidden, Invalid, NotFound
from shuttle.i18n import N_
from shuttle.items import item_view
from shuttle.lifecycle import ItemState
from shuttle.models import (
    Assignment,
    Case,
    Claim,
    Decision,
    Item,
    ItemVersion,
    Participant,
    Reading,
    Summary,
)
from shuttle.runtime import Runtime, Tx

DECISIONS = ("approve", "withhold", "return", "escalate")
REASON_NEEDED = {
    "withhold": N_("Choose a reason to withhold this item."),
    "return": N_("Choose a reason to return this item."),
}
ACTIONS = {
    "approve": AuditAction.DECISION_APPROVE,
    "withhold": AuditAction.DECISION_WITHHOLD,
    "return": AuditAction.DECISION_RETURN,
    "escalate": AuditAction.DECISION_ESCALATE,
}
MAX_NOTE_CHARS = 5_000


async def _needs_second_approval(tx: Tx, item: Item) -> bool:
    case = await tx.session.get(Case, item.case_id)
    return (
        case is not None
        and case.sensitive_complex
        and item.state == ItemState.HELD
        and 0 < len(await relay.approvers(tx, item)) < 2
    )


async def waiting_items(tx: Tx, actor: Actor) -> list[Item]:
    """The items waiting for the caller's decision, oldest first (the queue, any claims aside).

    Submitted items of the caller's cases; escalated ones for the case's supervisor only;
    approved items of sensitive cases waiting for a second, different approver.
    """
    places = (
        await tx.session.exec(select(Assignment).where(*access.working_places(actor.user_id)))
    ).all()
    roles = {p.case_id: p.role for p in places}
    if not roles:
        return []
    query = (
        select(Item)
        .where(
            col(Item.case_id).in_(list(roles)),
            col(Item.state).in_(["submitted", "escalated", "held"]),
        )
        .order_by(col(Item.submitted_at), col(Item.id))
    )
    waiting = []
    for item in (await tx.session.exec(query)).all():
        if item.state == ItemState.ESCALATED and roles[item.case_id] != "supervisor":
            continue
        if item.state == ItemState.HELD and (
            not await _needs_second_approval(tx, item)
            or actor.user_id in await relay.approvers(tx, item)
        ):
            continue
        waiting.append(item)
    return waiting


async def queue(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """Items waiting for the caller's decision, oldest first, with flags and recipients' wishes."""
    async with rt.read() as tx:
        access.require(tx, actor, "queue:read")
        return [await _queue_entry(tx, actor, item) for item in await waiting_items(tx, actor)]


async def recipients_wishes(tx: Tx, item: Item, version: ItemVersion) -> list[dict[str, Any]]:
    """What each chosen recipient is willing to receive, and the topics they do not want."""
    cipher = await tx.cipher(item.case_id)
    wishes = []
    for recipient_id in relay.recipient_ids(version):
        recipient = await tx.session.get(Participant, recipient_id)
        if recipient is None:
            continue
        wishes.append(
            {
                "participant_id": recipient.id,
                "state": recipient.state,
                "receive": recipient.receive,
                "delivery": recipient.delivery,
                "unwanted_topics": unwanted_topics(cipher, recipient),
            }
        )
    return wishes


async def _queue_entry(tx: Tx, actor: Actor, item: Item) -> dict[str, Any]:
    place = await access.assignment(tx, actor, item.case_id)
    view = await item_view(tx, actor, ItemAccess(item, assignment=place), full=False)
    version = await relay.current_version(tx, item)
    view["recipients_preferences"] = await recipients_wishes(tx, item, version)
    view["needs"] = "second_approval" if item.state == ItemState.HELD else "decision"
    return view


def _reason(tx: Tx, decision: str, reason: str | None) -> str | None:
    if decision not in ("withhold", "return"):
        return reason
    if not reason:
        raise Invalid(REASON_NEEDED[decision], code="reason_required")
    if tx.policies.reason(decision, reason) is None:
        codes = sorted(
            tx.policies.withhold_reasons if decision == "withhold" else tx.policies.return_reasons
        )
        raise Invalid(
            N_("The reason must be one of: %(choices)s."),
            params={"choices": ", ".join(codes)},
            code="invalid_reason",
        )
    return reason


async def decide(
    rt: Runtime,
    actor: Actor,
    item_id: str,
    *,
    decision: str,
    version_digest: str,
    reason: str | None,
    note: str | None,
    summary: str | None,
    internal_note: str | None = None,
) -> dict[str, Any]:
    """Approve, withhold, return or escalate the exact version named by ``version_digest``.

    Raises:
        Conflict: stale version, wrong state, or a ``facilitator_only`` item being approved.
        Invalid: a missing or unknown reason, or a ``summary`` item approved without one.
        Forbidden: an escalated item decided by anyone but the case's supervisor.
    """
    if decision not in DECISIONS:
        raise Invalid(
            N_("decision must be one of: %(choices)s."),
            params={"choices": ", ".join(DECISIONS)},
            code="invalid_decision",
        )
    for text in (note, summary, internal_note):
        if text is not None and len(text) > MAX_NOTE_CHARS:
            raise Invalid(
                N_("Keep notes under %(limit)s characters."),
                params={"limit": MAX_NOTE_CHARS},
                code="invalid_note",
            )
    async with rt.write() as tx:
        access.require(tx, actor, "items:decide")
        seen = await access.item(tx, actor, item_id)
        item, place = seen.item, seen.assignment
        if place is None:
            raise NotFound()
        reason = _reason(tx, decision, reason)
        version = await relay.current_version(tx, item)
        if version_digest != version.digest:
            raise Conflict(
                N_("Someone has changed this item since you opened it."), code="stale_version"
            )
        is_supervisor = place.role == "supervisor"
        await check_may_decide(tx, item, actor, is_supervisor, decision)
        if decision == "approve" and version.scope == "facilitator_only":
            raise Conflict(
                N_("An item kept for the facilitator is never passed on."), code="facilitator_only"
            )
        # A second approver may endorse the summary already proposed instead of writing one.
        needs_summary = version.scope == "summary" and item.state != ItemState.HELD
        if decision == "approve" and needs_summary and not (summary and summary.strip()):
            raise Invalid(N_("Write the summary that will be passed on."), code="summary_required")
        if decision == "escalate" and is_supervisor and item.state == ItemState.ESCALATED:
            raise Invalid(
                N_("You are this case's supervisor: decide it."), code="already_escalated"
            )
        opened = (
            await tx.session.exec(
                select(Reading.at).where(
                    Reading.item_id == item.id,
                    Reading.version == item.version,
                    Reading.user_id == actor.user_id,
                )
            )
        ).first()
        record = Decision(
            item_id=item.id,
            version=item.version,
            version_digest=version.digest,
            decided_by=actor.user_id,
            decision=decision,
            reason=reason,
            full_text_opened_at=opened,
            by_supervisor=is_supervisor,
            at=tx.now,
        )
        cipher = await tx.cipher(item.case_id)
        if note:
            record.note_enc = cipher.seal(note, row=f"decision:{record.id}", field="note")
        if internal_note:
            record.internal_note_enc = cipher.seal(
                internal_note, row=f"decision:{record.id}", field="internal_note"
            )
        tx.session.add(record)
        # A decision ends any claim on the item: whatever comes next is a new piece of work.
        await tx.session.exec(delete(Claim).where(col(Claim.item_id) == item.id))
        await audit.record(
            tx,
            actor.user_id,
            ACTIONS[decision],
            case_id=item.case_id,
            subject={
                "item": item.id,
                "version": item.version,
                "reason": reason,
                "decision": record.id,
                "by_supervisor": is_supervisor,
            },
            digests={"version": version.digest},
        )
        await _apply(tx, actor, item, decision, reason, summary, is_supervisor)
        return await item_view(tx, actor, ItemAccess(item, assignment=place))


async def check_may_decide(
    tx: Tx, item: Item, actor: Actor, is_supervisor: bool, decision: str
) -> None:
    """Raise unless the caller may make ``decision`` on the item in its current state."""
    if item.state == ItemState.SUBMITTED:
        return
    if item.state == ItemState.ESCALATED:
        if not is_supervisor:
            raise Forbidden("Only the case supervisor can decide an escalated item.")
        return
    if item.state == ItemState.HELD and await _needs_second_approval(tx, item):
        if decision == "approve" and actor.user_id in await relay.approvers(tx, item):
            raise Conflict(
                N_("A second, different practitioner must approve this."), code="same_approver"
            )
        return
    raise Conflict(N_("There is nothing to decide on this item now."), code="wrong_state")


async def _apply(
    tx: Tx,
    actor: Actor,
    item: Item,
    decision: str,
    reason: str | None,
    summary: str | None,
    is_supervisor: bool,
) -> None:
    if decision == "approve":
        if summary and summary.strip():
            await _propose_summary(tx, actor, item, summary.strip())
        if item.state != ItemState.HELD:
            await lifecycle.change(tx, item, state=ItemState.HELD)
        await relay.try_relay(tx, actor.user_id, item)
    elif decision == "return":
        await _retire_decisions(tx, item)
        await lifecycle.change(tx, item, state=ItemState.RETURNED)
    elif decision == "escalate" or (
        decision == "withhold" and _for_supervisor(tx, reason) and not is_supervisor
    ):
        await lifecycle.change(tx, item, state=ItemState.ESCALATED)
    else:
        await lifecycle.change(tx, item, state=ItemState.WITHHELD)


def _for_supervisor(tx: Tx, reason: str | None) -> bool:
    """Whether a withholding for this reason is the supervisor's to decide (serious harm)."""
    found = tx.policies.reason("withhold", reason or "")
    return found is not None and found.needs_supervisor


async def _propose_summary(tx: Tx, actor: Actor, item: Item, text: str) -> None:
    """A new summary replaces any earlier proposal; the author must agree to this text."""
    await tx.session.exec(
        update(Summary)
        .where(col(Summary.item_id) == item.id, col(Summary.state) == "proposed")
        .values(state="superseded", answered_at=tx.now)
    )
    summary = Summary(
        item_id=item.id,
        version=item.version,
        text_enc=b"",
        proposed_by=actor.user_id,
        proposed_at=tx.now,
    )
    cipher = await tx.cipher(item.case_id)
    summary.text_enc = cipher.seal(text, row=f"summary:{summary.id}", field="text")
    tx.session.add(summary)


async def _retire_decisions(tx: Tx, item: Item) -> None:
    """Earlier approvals no longer count (the item goes back for another look)."""
    await tx.session.exec(
        update(Decision)
        .where(col(Decision.item_id) == item.id, col(Decision.current).is_(True))
        .values(current=False)
    )


async def summary_consent(
    rt: Runtime, actor: Actor, item_id: str, *, agree: bool
) -> dict[str, Any]:
    """The author agrees, or not, to the facilitator's summary of their item (3d 5)."""
    async with rt.write() as tx:
        item = await access.authored_item(tx, actor, item_id)
        query = select(Summary).where(
            Summary.item_id == item.id, Summary.version == item.version, Summary.state == "proposed"
        )
        summary = (await tx.session.exec(query)).first()
        if summary is None or item.state != ItemState.HELD:
            raise Conflict(N_("There is no summary waiting for your answer."), code="no_summary")
        summary.state = "agreed" if agree else "declined"
        summary.answered_at = tx.now
        tx.session.add(summary)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.SUMMARY_AGREE if agree else AuditAction.SUMMARY_DECLINE,
            case_id=item.case_id,
            subject={"item": item.id, "version": item.version, "summary": summary.id},
        )
        if agree:
            await relay.try_relay(tx, actor.user_id, item)
        else:
            await _retire_decisions(tx, item)
            await lifecycle.change(tx, item, state=ItemState.SUBMITTED)
        return await item_view(tx, actor, await access.item(tx, actor, item_id))
