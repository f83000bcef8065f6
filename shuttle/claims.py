"""Claims on queue items: "I am reviewing this one", so that two practitioners do not both.

A claim lasts ``settings.claim_minutes`` and then lapses by itself; it is a courtesy, not a
lock: anyone who may decide an item still may (the review page warns them). Claiming and
releasing are recorded like every other change. On PostgreSQL, claims on one case are taken
one after the other under the case's row lock (``access.assignment``), so of two practitioners
claiming the same item at once exactly one gets it; on SQLite the single writer does the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from shuttle import access, audit, vetting
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.errors import Conflict, Forbidden
from shuttle.i18n import N_
from shuttle.models import Claim, Item, User
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx


async def live_claim(tx: Tx, item_id: str) -> Claim | None:
    """The item's claim if it has not lapsed."""
    found = await tx.session.get(Claim, item_id)
    if found is None or found.expires_at <= tx.now:
        return None
    return found


async def claims_on(tx: Tx, item_ids: list[str]) -> dict[str, Claim]:
    """The live claims on these items, by item id."""
    if not item_ids:
        return {}
    query = select(Claim).where(col(Claim.item_id).in_(item_ids), col(Claim.expires_at) > tx.now)
    return {c.item_id: c for c in (await tx.session.exec(query)).all()}


async def claim_view(tx: Tx, actor: Actor, claim: Claim | None) -> dict[str, Any] | None:
    """A claim as practitioners see it: whose, until when, and whether it is the caller's."""
    if claim is None:
        return None
    user = await tx.session.get(User, claim.user_id)
    service = await tx.cipher(SERVICE_SLOT)
    name = service.open(user.name_enc, row=f"user:{user.id}", field="name") if user else ""
    return {
        "user_id": claim.user_id,
        "name": name,
        "mine": claim.user_id == actor.user_id,
        "claimed_at": claim.claimed_at.isoformat(),
        "expires_at": claim.expires_at.isoformat(),
    }


async def _decidable(tx: Tx, actor: Actor, item: Item) -> None:
    """Raise Conflict unless the item waits for the caller's decision."""
    place = await access.assignment(tx, actor, item.case_id)
    try:
        await vetting.check_may_decide(tx, item, actor, place.role == "supervisor", "claim")
    except Forbidden:
        raise Conflict(
            N_("Only the case supervisor can take an escalated item."), code="not_yours"
        ) from None


async def _take(tx: Tx, actor: Actor, item: Item) -> Claim:
    """Claim ``item`` for the caller (renewing their own claim); Conflict if another holds it."""
    current = await tx.session.get(Claim, item.id)
    held = current is not None and current.expires_at > tx.now
    if current is not None and held and current.user_id != actor.user_id:
        raise Conflict(N_("Someone else is reviewing this item."), code="claimed")
    expires = tx.now + timedelta(minutes=tx.settings.claim_minutes)
    claim = current or Claim(item_id=item.id, user_id=actor.user_id)
    claim.user_id, claim.claimed_at, claim.expires_at = actor.user_id, tx.now, expires
    tx.session.add(claim)
    await audit.record(
        tx,
        actor.user_id,
        AuditAction.CLAIM_TAKE,
        case_id=item.case_id,
        subject={"item": item.id, "version": item.version},
    )
    return claim


async def claim(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """Claim an item waiting for the caller's decision.

    Raises:
        NotFound: not an item of the caller's cases.
        Conflict: someone else holds a live claim, or there is nothing to decide.
    """
    async with rt.write() as tx:
        access.require(tx, actor, "queue:read")
        item = (await access.item(tx, actor, item_id)).item
        await _decidable(tx, actor, item)
        taken = await _take(tx, actor, item)
        view = await claim_view(tx, actor, taken)
        assert view is not None
        return view


async def release(rt: Runtime, actor: Actor, item_id: str) -> None:
    """Give up the caller's own claim on an item (Conflict if they hold none)."""
    async with rt.write() as tx:
        access.require(tx, actor, "queue:read")
        item = (await access.item(tx, actor, item_id)).item
        current = await live_claim(tx, item.id)
        if current is None or current.user_id != actor.user_id:
            raise Conflict(N_("You are not reviewing this item."), code="not_claimed")
        await tx.session.delete(current)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.CLAIM_RELEASE,
            case_id=item.case_id,
            subject={"item": item.id},
        )


async def claim_next(rt: Runtime, actor: Actor) -> str | None:
    """Claim the oldest item waiting for the caller's decision that nobody has claimed.

    Returns its id, or None when there is none. An item someone else claims meanwhile is
    passed over (the case lock makes the check and the claim one step).
    """
    async with rt.write() as tx:
        access.require(tx, actor, "queue:read")
        for item in await vetting.waiting_items(tx, actor):
            await tx.lock_case(item.case_id)
            await tx.session.refresh(item)
            if await live_claim(tx, item.id) is not None:
                continue
            try:
                await _decidable(tx, actor, item)
            except Conflict:
                continue
            await _take(tx, actor, item)
            return item.id
        return None
