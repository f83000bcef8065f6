"""Follow-ups (guidance 3d 12): a writer asked for a response; make sure that wish is followed up.

A relayed item whose author wants a reply or feedback stays open for the facilitator until
the recipient answers it (an item of theirs ``in_reply_to`` it) or says they will not.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from shuttle import access, audit
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.errors import Conflict, NotFound
from shuttle.i18n import N_
from shuttle.models import Delivery, Item
from shuttle.runtime import Runtime

ANSWERED_BY = ("draft", "withdrawn")  # a reply in these states does not meet the wish yet


async def open_follow_ups(rt: Runtime, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """Relayed items whose author wants a response that has not come, oldest first."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        query = (
            select(Delivery, Item)
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .where(
                col(Delivery.case_id) == case_id,
                col(Item.response_wanted).in_(["reply", "feedback"]),
                col(Delivery.response_declined_at).is_(None),
            )
            .order_by(col(Delivery.relayed_at))
        )
        waiting = []
        for delivery, item in (await tx.session.exec(query)).all():
            replies = select(Item.id).where(
                col(Item.in_reply_to) == item.id,
                col(Item.author_participant_id) == delivery.recipient_id,
                col(Item.state).not_in(ANSWERED_BY),
            )
            if (await tx.session.exec(replies)).first() is None:
                waiting.append(
                    {
                        "item_id": item.id,
                        "recipient_id": delivery.recipient_id,
                        "response_wanted": item.response_wanted,
                        "relayed_at": delivery.relayed_at.isoformat(),
                        "read_at": delivery.read_at.isoformat() if delivery.read_at else None,
                    }
                )
        return waiting


async def decline_response(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """The recipient says they will not reply or give feedback; the follow-up closes."""
    async with rt.write() as tx:
        seen = await access.item(tx, actor, item_id)
        delivery = seen.delivery
        if delivery is None:
            raise NotFound()
        if seen.item.response_wanted == "none" or delivery.response_declined_at is not None:
            raise Conflict(N_("There is no response waiting to be declined."), code="wrong_state")
        delivery.response_declined_at = tx.now
        tx.session.add(delivery)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.RESPONSE_DECLINE,
            case_id=delivery.case_id,
            subject={"item": item_id, "delivery": delivery.id},
        )
        return {"item_id": item_id, "response_declined_at": tx.now.isoformat()}
