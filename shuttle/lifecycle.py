"""The item state machine of DESIGN.md, in one place.

Every change to an item row goes through ``change``: a conditional update on the row's
``revision``, so that of two racing changes exactly one wins and the other gets Conflict.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from shuttle.errors import Conflict
from shuttle.i18n import N_
from shuttle.models import Item, StatusChange
from shuttle.runtime import Tx


class ItemState(StrEnum):
    """The states an item can be in."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ESCALATED = "escalated"
    APPROVED = "approved"
    HELD = "held"
    RELAYED = "relayed"
    WITHHELD = "withheld"
    WITHDRAWN = "withdrawn"


S = ItemState
TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset(
        {S.APPROVED, S.HELD, S.RELAYED, S.WITHHELD, S.RETURNED, S.ESCALATED, S.WITHDRAWN}
    ),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.ESCALATED: frozenset({S.APPROVED, S.HELD, S.RELAYED, S.WITHHELD, S.RETURNED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.HELD, S.RELAYED, S.WITHDRAWN}),
    S.HELD: frozenset({S.HELD, S.RELAYED, S.SUBMITTED, S.RETURNED, S.WITHHELD, S.WITHDRAWN}),
    S.RELAYED: frozenset(),
    S.WITHHELD: frozenset(),
    S.WITHDRAWN: frozenset(),
}
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
BEFORE_RELAY = frozenset(state for state, nexts in TRANSITIONS.items() if S.WITHDRAWN in nexts)
FINAL = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)


def can_move(current: str, target: ItemState) -> bool:
    """Whether the state machine allows ``current -> target``."""
    return target in TRANSITIONS[ItemState(current)]


async def change(tx: Tx, item: Item, *, state: ItemState | None = None, **values: Any) -> None:
    """Change an item row, conditionally on nobody having changed it since it was read.

    Raises:
        Conflict: the transition is not allowed, or the item changed under us.
    """
    if state is not None:
        if not can_move(item.state, state):
            raise Conflict(
                N_("This item has already moved on, so that cannot be done now."),
                code="wrong_state",
            )
        values["state"] = state.value
    values["revision"] = item.revision + 1
    values["updated_at"] = tx.now
    result = await tx.session.exec(
        update(Item)
        .where(col(Item.id) == item.id, col(Item.revision) == item.revision)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(N_("Someone else has changed this item. Reload it."), code="stale")
    for name, value in values.items():
        set_committed_value(item, name, value)
    if state is not None:
        tx.session.add(
            StatusChange(item_id=item.id, revision=item.revision, state=state.value, at=tx.now)
        )
