"""The practitioners' queue as a work list: counts by state, tabs, filters and due dates.

``vetting.waiting_items`` says what waits for the caller's decision; this module sorts it
into the tabs of the queue page (nobody's yet, the caller's own claims, colleagues' claims,
escalated) beside the caller's cases' returned and finished items, and says when each is due
(policies/vetting.toml). Counts are what the live updates carry: numbers only, never an id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from shuttle import access, claims, relay, vetting
from shuttle.access import Actor
from shuttle.deadlines import decision_due, local_day
from shuttle.models import Assignment, Case, Claim, Item, Participant
from shuttle.runtime import Runtime, Tx

TABS = ("unclaimed", "mine", "others", "escalated", "returned", "done")
DONE_STATES = ("approved", "held", "relayed", "withheld")
DONE_SHOWN = 50


@dataclass(frozen=True)
class Filters:
    """What the queue is narrowed to: part of a case reference, an item kind, flagged only."""

    reference: str = ""
    kind: str = ""
    flagged_only: bool = False


async def _my_cases(tx: Tx, actor: Actor) -> list[str]:
    query = select(Assignment.case_id).where(*access.working_places(actor.user_id))
    return list((await tx.session.exec(query)).all())


async def _sorted(tx: Tx, actor: Actor) -> dict[str, list[Item]]:
    """Every item the queue can show the caller, by tab (oldest first; done newest first)."""
    tabs: dict[str, list[Item]] = {tab: [] for tab in TABS}
    waiting = await vetting.waiting_items(tx, actor)
    held = await claims.claims_on(tx, [i.id for i in waiting])
    for item in waiting:
        if item.state == "escalated":
            tabs["escalated"].append(item)
        elif item.id not in held:
            tabs["unclaimed"].append(item)
        elif held[item.id].user_id == actor.user_id:
            tabs["mine"].append(item)
        else:
            tabs["others"].append(item)
    cases = await _my_cases(tx, actor)
    if not cases:
        return tabs
    in_cases = col(Item.case_id).in_(cases)
    # Every escalated item of the caller's cases: the supervisor's to decide, the others'
    # to see that it is with the supervisor.
    query = select(Item).where(in_cases, col(Item.state) == "escalated")
    tabs["escalated"] = list(
        (await tx.session.exec(query.order_by(col(Item.submitted_at), col(Item.id)))).all()
    )
    query = select(Item).where(in_cases, col(Item.state) == "returned")
    tabs["returned"] = list((await tx.session.exec(query.order_by(col(Item.updated_at)))).all())
    waiting_ids = {i.id for i in waiting}
    query = (
        select(Item)
        .where(in_cases, col(Item.state).in_(DONE_STATES))
        .order_by(col(Item.updated_at).desc())
    )
    tabs["done"] = [i for i in (await tx.session.exec(query)).all() if i.id not in waiting_ids]
    return tabs


async def counts(rt: Runtime, actor: Actor) -> dict[str, int]:
    """How many items each tab of the caller's queue holds (what live updates carry)."""
    async with rt.read() as tx:
        access.require(tx, actor, "queue:read")
        return {tab: len(found) for tab, found in (await _sorted(tx, actor)).items()}


async def board(
    rt: Runtime, actor: Actor, tab: str, filters: Filters = Filters()
) -> dict[str, Any]:
    """The queue page: counts of every tab, and the chosen tab's items as rows (filtered)."""
    tab = tab if tab in TABS else "unclaimed"
    async with rt.read() as tx:
        access.require(tx, actor, "queue:read")
        tabs = await _sorted(tx, actor)
        found = tabs[tab][:DONE_SHOWN] if tab == "done" else tabs[tab]
        held = await claims.claims_on(tx, [i.id for i in found])
        decidable = {i.id for i in await vetting.waiting_items(tx, actor)}
        rows = []
        for item in found:
            row = await _row(tx, actor, item, held.get(item.id))
            row["may_decide"] = item.id in decidable
            if _wanted(row, filters):
                rows.append(row)
        return {
            "tab": tab,
            "counts": {name: len(items) for name, items in tabs.items()},
            "rows": rows,
        }


def _wanted(row: dict[str, Any], filters: Filters) -> bool:
    if filters.reference and filters.reference.casefold() not in row["reference"].casefold():
        return False
    if filters.kind and row["kind"] != filters.kind:
        return False
    return not (filters.flagged_only and not row["flags"])


async def _row(tx: Tx, actor: Actor, item: Item, claim: Claim | None) -> dict[str, Any]:
    """One queue row: the case, the item's kind and author, its age, due date and flags."""
    cipher = await tx.cipher(item.case_id)
    case = await tx.session.get(Case, item.case_id)
    assert case is not None
    version = await relay.current_version(tx, item)
    flags = (
        cipher.open_json(version.flags_enc, row=f"item_version:{version.id}", field="flags")
        if version.flags_enc
        else []
    )
    author = None
    if item.author_participant_id is not None:
        person = await tx.session.get(Participant, item.author_participant_id)
        if person is not None:
            author = cipher.open(
                person.display_name_enc, row=f"participant:{person.id}", field="name"
            )
    since = item.submitted_at or item.updated_at
    rules = tx.policies.disclosure
    due = decision_due(since, rules, tx.policies.vetting.working_days)
    waiting = item.state in ("submitted", "escalated") or (
        item.state == "held" and "second_approval" in await relay.waiting_for(tx, item)
    )
    due_state = None
    if waiting:
        today, due_day = local_day(tx.now, rules), local_day(due, rules)
        due_state = "overdue" if today > due_day else "due_today" if today == due_day else None
    return {
        "id": item.id,
        "case_id": item.case_id,
        "reference": cipher.open(case.reference_enc, row=f"case:{case.id}", field="reference"),
        "kind": item.kind,
        "state": item.state,
        "author": author,
        "assisted": item.assisted,
        "version": item.version,
        "since": since.isoformat(),
        "age_days": (local_day(tx.now, rules) - local_day(since, rules)).days,
        "due_by": due.isoformat() if waiting else None,
        "due_state": due_state,
        "flags": len(flags),
        "high_flags": sum(1 for f in flags if f.get("severity") == "high"),
        "claim": await claims.claim_view(tx, actor, claim),
        "sensitive_complex": case.sensitive_complex,
    }
