"""Relay: an approved item reaches its recipients only when every rule allows it (rule 1).

``blockers`` is the one statement of what must hold before anything is passed on; every
path that could release an item (an approval, a summary agreed, a recipient becoming
willing, a case resumed) calls ``try_relay``, which asks it again inside the transaction.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from shuttle import access, audit, lifecycle
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.errors import NotFound
from shuttle.lifecycle import ItemState
from shuttle.models import Case, Decision, Delivery, Item, ItemVersion, Participant, Summary
from shuttle.runtime import Runtime, Tx

WAITING = (ItemState.APPROVED.value, ItemState.HELD.value)


def recipient_ids(version: ItemVersion) -> list[str]:
    """The recipients the author chose for this version."""
    ids: list[str] = json.loads(version.recipient_ids)
    return ids


async def current_version(tx: Tx, item: Item) -> ItemVersion:
    """The item's current version (read once a transaction)."""
    known: ItemVersion | None = tx.versions.get((item.id, item.version))
    if known is None:
        query = select(ItemVersion).where(
            ItemVersion.item_id == item.id, ItemVersion.number == item.version
        )
        known = tx.versions[item.id, item.version] = (await tx.session.exec(query)).one()
    return known


async def approvers(tx: Tx, item: Item) -> set[str]:
    """The distinct practitioners whose approval of the current version still stands."""
    query = select(Decision.decided_by).where(
        Decision.item_id == item.id,
        Decision.version == item.version,
        Decision.decision == "approve",
        col(Decision.current).is_(True),
    )
    return set((await tx.session.exec(query)).all())


async def agreed_summary(tx: Tx, item: Item) -> Summary | None:
    """The facilitator's summary of the current version, if its author agreed to it."""
    query = select(Summary).where(
        Summary.item_id == item.id, Summary.version == item.version, Summary.state == "agreed"
    )
    return (await tx.session.exec(query)).first()


async def blockers(tx: Tx, item: Item, version: ItemVersion) -> list[str]:
    """What stops the item as a whole from being relayed now; empty when nothing does."""
    case = await tx.session.get(Case, item.case_id)
    found = []
    if item.state not in WAITING:
        found.append("not_approved")
    if version.scope == "facilitator_only":
        found.append("facilitator_only")
    needed = 2 if case is not None and case.sensitive_complex else 1
    if len(await approvers(tx, item)) < needed:
        found.append("second_approval")
    if version.scope == "summary" and await agreed_summary(tx, item) is None:
        found.append("summary_agreement")
    if case is None or case.state != "open":
        found.append("case_not_open")
    elif case.pre_trial and case.pre_trial_consultation_at is None:
        found.append("pre_trial_consultation")
    if item.author_participant_id is not None:
        author = await tx.session.get(Participant, item.author_participant_id)
        if author is None or author.state != "active":
            found.append("author_not_active")
    return found


def recipient_ready(recipient: Participant | None, case_id: str) -> bool:
    """A recipient may be given items: in the case, consented, not opted out, willing."""
    return (
        recipient is not None
        and recipient.case_id == case_id
        and recipient.state == "active"
        and recipient.receive == "yes"
    )


async def waiting_for(tx: Tx, item: Item) -> list[str]:
    """Why an approved item is held: the item's blockers and any recipient not ready yet."""
    version = await current_version(tx, item)
    reasons = [b for b in await blockers(tx, item, version) if b != "not_approved"]
    pending = await _still_to_receive(tx, item, version)
    if any(not recipient_ready(recipient, item.case_id) for _, recipient in pending):
        reasons.append("recipient_willing")
    return reasons


async def _still_to_receive(
    tx: Tx, item: Item, version: ItemVersion
) -> list[tuple[str, Participant | None]]:
    """The chosen recipients who have not had the item yet and have not opted out."""
    query = select(Delivery.recipient_id).where(Delivery.item_id == item.id)
    delivered = set((await tx.session.exec(query)).all())
    pending = []
    for recipient_id in recipient_ids(version):
        if recipient_id in delivered:
            continue
        recipient = await tx.session.get(Participant, recipient_id)
        if recipient is None or recipient.state != "opted_out":
            pending.append((recipient_id, recipient))
    return pending


async def try_relay(tx: Tx, actor_id: str | None, item: Item) -> None:
    """Deliver the item to every recipient who may now have it; mark it relayed when done."""
    if item.state not in WAITING:
        return
    version = await current_version(tx, item)
    if await blockers(tx, item, version):
        if item.state != ItemState.HELD:
            await lifecycle.change(tx, item, state=ItemState.HELD)
        return
    outstanding = False
    for recipient_id, recipient in await _still_to_receive(tx, item, version):
        if not recipient_ready(recipient, item.case_id):
            outstanding = True
            continue
        await _deliver(tx, actor_id, item, version, recipient_id)
    target = ItemState.HELD if outstanding else ItemState.RELAYED
    if item.state != target:
        await lifecycle.change(tx, item, state=target)


async def _attribution(tx: Tx, item: Item, version: ItemVersion) -> tuple[str, str, str]:
    """(tag, whose name to show, text) for the version being relayed (rule 3, rule 4).

    The text is the agreed summary for every ``summary`` item, whoever wrote it: the
    original words of a summarised item never reach anyone.
    """
    cipher = await tx.cipher(item.case_id)
    if version.scope == "summary":
        summary = await agreed_summary(tx, item)
        if summary is None:
            raise RuntimeError("a summary item reached relay without an agreed summary")
        text = cipher.open(summary.text_enc, row=f"summary:{summary.id}", field="text")
    else:
        text = cipher.open(version.body_enc, row=f"item_version:{version.id}", field="body")
    return attribution_tag(item, version), await shown_name(tx, item), text


def attribution_tag(item: Item, version: ItemVersion) -> str:
    """Whose words a recipient is given: the one rule behind every attribution (rule 4)."""
    if item.author_participant_id is None:
        return "facilitator_assessment"
    if version.scope == "summary":
        return "facilitator_summary"
    return "written_with_help" if item.assisted else "own_words"


async def shown_name(tx: Tx, item: Item) -> str:
    """How the item's author is named to the other side ("Your facilitator" for staff)."""
    if item.author_participant_id is None:
        return "Your facilitator"
    author = await tx.session.get(Participant, item.author_participant_id)
    assert author is not None
    cipher = await tx.cipher(item.case_id)
    return cipher.open(
        author.shown_to_others_as_enc, row=f"participant:{author.id}", field="shown_as"
    )


async def _deliver(
    tx: Tx, actor_id: str | None, item: Item, version: ItemVersion, recipient_id: str
) -> None:
    tag, name, text = await _attribution(tx, item, version)
    cipher = await tx.cipher(item.case_id)
    delivery = Delivery(
        item_id=item.id,
        case_id=item.case_id,
        recipient_id=recipient_id,
        version=version.number,
        version_digest=version.digest,
        attribution_tag=tag,
        label_enc=b"",
        from_enc=b"",
        body_enc=b"",
        relayed_at=tx.now,
    )
    row = f"delivery:{delivery.id}"
    delivery.label_enc = cipher.seal(
        tx.policies.attribution_label(tag, name), row=row, field="label"
    )
    delivery.from_enc = cipher.seal(name, row=row, field="from")
    delivery.body_enc = cipher.seal(text, row=row, field="body")
    tx.session.add(delivery)
    await audit.record(
        tx,
        actor_id,
        AuditAction.RELAY_DELIVER,
        case_id=item.case_id,
        subject={
            "item": item.id,
            "delivery": delivery.id,
            "recipient": recipient_id,
            "version": version.number,
            "attribution": tag,
        },
        digests={"version": version.digest},
    )


async def release_held(
    tx: Tx, actor_id: str | None, case_id: str, *, recipient_id: str | None = None
) -> None:
    """Try again every held item of the case (for one recipient, if named)."""
    query = select(Item).where(Item.case_id == case_id, col(Item.state).in_(WAITING))
    for item in (await tx.session.exec(query.order_by(col(Item.submitted_at)))).all():
        if recipient_id is not None:
            version = await current_version(tx, item)
            if recipient_id not in recipient_ids(version):
                continue
        await try_relay(tx, actor_id, item)


async def stop(tx: Tx, actor_id: str | None, item: Item, reason: str) -> None:
    """Stop an unrelayed item for good (its author withdrew or opted out, or nobody is left)."""
    await lifecycle.change(tx, item, state=ItemState.WITHDRAWN, stop_reason=reason)
    await audit.record(
        tx,
        actor_id,
        AuditAction.ITEM_STOP,
        case_id=item.case_id,
        subject={"item": item.id, "reason": reason},
    )


async def drop_recipient(tx: Tx, actor_id: str | None, item: Item, version: ItemVersion) -> None:
    """A recipient opted out: stop the item if nobody else is left to receive it."""
    remaining = []
    for recipient_id in recipient_ids(version):
        recipient = await tx.session.get(Participant, recipient_id)
        if recipient is not None and recipient.state != "opted_out":
            remaining.append(recipient_id)
    if not remaining:
        await stop(tx, actor_id, item, "recipient_opted_out")
    elif item.state in WAITING:
        await try_relay(tx, actor_id, item)


async def delivery_view(tx: Tx, delivery: Delivery, item: Item) -> dict[str, Any]:
    """An item as its recipient sees it: the words as relayed, and whose words they are."""
    cipher = await tx.cipher(delivery.case_id)
    row = f"delivery:{delivery.id}"
    return {
        "id": item.id,
        "kind": item.kind,
        "body": cipher.open(delivery.body_enc, row=row, field="body"),
        "attribution": {
            "tag": delivery.attribution_tag,
            "label": cipher.open(delivery.label_enc, row=row, field="label"),
        },
        "from": cipher.open(delivery.from_enc, row=row, field="from"),
        "relayed_at": delivery.relayed_at.isoformat(),
        "read_at": delivery.read_at.isoformat() if delivery.read_at else None,
    }


async def inbox(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """Everything relayed to the caller, newest first; nothing else."""
    async with rt.read() as tx:
        access.require(tx, actor, "inbox:read")
        me = await access.own_participant(tx, actor)
        query = (
            select(Delivery, Item)
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .where(Delivery.recipient_id == me.id)
            .order_by(col(Delivery.relayed_at).desc())
        )
        return [await delivery_view(tx, d, i) for d, i in (await tx.session.exec(query)).all()]


async def inbox_state(rt: Runtime, actor: Actor) -> str:
    """An opaque digest of the caller's inbox (how many items, the newest): it changes
    whenever something is passed on to them, and says nothing itself. The inbox's live
    stream compares it, and tells the page only that something changed."""
    async with rt.read() as tx:
        access.require(tx, actor, "inbox:read")
        me = await access.own_participant(tx, actor)
        query = select(func.count(), func.max(col(Delivery.relayed_at))).where(
            Delivery.recipient_id == me.id
        )
        total, newest = (await tx.session.exec(query)).one()
    seen = f"{total}|{newest.isoformat() if newest else ''}"
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


async def mark_read(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """The recipient has read an item (a read receipt; its author learns only if allowed)."""
    async with rt.write() as tx:
        found = await access.item(tx, actor, item_id)
        if found.delivery is None:
            raise NotFound()
        delivery = found.delivery
        if delivery.read_at is None:
            delivery.read_at = tx.now
            tx.session.add(delivery)
            await audit.record(
                tx,
                actor.user_id,
                AuditAction.RELAY_READ,
                case_id=delivery.case_id,
                subject={"item": item_id, "delivery": delivery.id},
            )
        return await delivery_view(tx, delivery, found.item)
