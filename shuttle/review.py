"""The review sheet: everything a practitioner weighs before deciding on one item.

The item as its recipients would be given it (attribution and words), its version, digest and
sharing consent, the screening flags, the recipients' wishes, the case's other items, any
claim on it and whether the caller may decide it now. Opening it records that the caller read
the full text (``items.get_item``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from shuttle import access, claims, items, relay, vetting
from shuttle.access import Actor, ItemAccess
from shuttle.cases import case_view
from shuttle.errors import ShuttleError
from shuttle.models import Case, Item, Participant
from shuttle.runtime import Runtime, Tx


async def review_sheet(rt: Runtime, actor: Actor, item_id: str) -> dict[str, Any]:
    """The item under review with its case, recipients' wishes, claim and what may be done."""
    view = await items.get_item(rt, actor, item_id)  # records the reading; NotFound if not ours
    async with rt.read() as tx:
        access.require(tx, actor, "queue:read")
        seen = await access.item(tx, actor, item_id)
        item, place = seen.item, seen.assignment
        assert place is not None
        case = await tx.session.get(Case, item.case_id)
        assert case is not None
        version = await relay.current_version(tx, item)
        tag = relay.attribution_tag(item, version)
        name = await relay.shown_name(tx, item)
        try:
            await vetting.check_may_decide(tx, item, actor, place.role == "supervisor", "approve")
            may_decide = item.id in {i.id for i in await vetting.waiting_items(tx, actor)}
        except ShuttleError:
            may_decide = False
        return {
            "item": view,
            "case": await case_view(tx, case, content=True),
            "my_role": place.role,
            "attribution": {
                "tag": tag,
                "name": name,
                "label": tx.policies.attribution_label(tag, name),
            },
            "recipients": await _recipients(tx, item, view),
            "claim": await claims.claim_view(tx, actor, await claims.live_claim(tx, item.id)),
            "may_decide": may_decide,
            "approvals": len(await relay.approvers(tx, item)),
            "approvals_needed": 2 if case.sensitive_complex else 1,
            "other_items": await _other_items(tx, actor, item, seen),
            "withhold_reasons": {c: r.label for c, r in tx.policies.withhold_reasons.items()},
            "return_reasons": {c: r.label for c, r in tx.policies.return_reasons.items()},
        }


async def _recipients(tx: Tx, item: Item, view: dict[str, Any]) -> list[dict[str, Any]]:
    version = await relay.current_version(tx, item)
    cipher = await tx.cipher(item.case_id)
    found = []
    for wish in await vetting.recipients_wishes(tx, item, version):
        person = await tx.session.get(Participant, wish["participant_id"])
        assert person is not None
        wish["name"] = cipher.open(
            person.display_name_enc, row=f"participant:{person.id}", field="name"
        )
        found.append(wish)
    return found


async def _other_items(tx: Tx, actor: Actor, item: Item, seen: ItemAccess) -> list[dict[str, Any]]:
    """The case's other items (no text), oldest first, for the timeline beside the item."""
    query = (
        select(Item)
        .where(col(Item.case_id) == item.case_id, col(Item.id) != item.id)
        .order_by(col(Item.created_at))
    )
    return [
        await items.item_view(tx, actor, ItemAccess(other, assignment=seen.assignment), full=False)
        for other in (await tx.session.exec(query)).all()
    ]
