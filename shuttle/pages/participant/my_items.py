"""A writer's own items: each one's status in words, how it will be handed over, the
facilitator's note when it comes back, and agreeing (or not) to a facilitator's summary."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import cases, items, vetting
from shuttle.api.http import runtime
from shuttle.i18n import N_
from shuttle.i18n import gettext as _
from shuttle.lifecycle import BEFORE_RELAY
from shuttle.pages.participant.frame import (
    HANDOVER,
    RESPONSES,
    SCOPES,
    kind_words,
    names,
    page,
    reference,
    status,
)
from shuttle.pages.participant.writing import own_item
from shuttle.pages.web import form, see_other, signed_in, text

DONE = {
    "agreed": N_("You agreed to the summary. It will be passed on when the other person is ready."),
    "declined": N_("You did not agree to the summary. Your facilitator will look at it again."),
    "withdrawn": N_("You have withdrawn it. It will not be passed on."),
}
# The button on an item's page that takes it back before it is passed on, by kind.
WITHDRAW = {
    "letter": N_("Withdraw this letter"),
    "message": N_("Withdraw this message"),
    "question": N_("Withdraw this question"),
    "answer": N_("Withdraw this answer"),
}


async def show(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}: its status, its choices, the note if returned, and its words."""
    actor = await signed_in(request)
    item = await own_item(request)
    people = await cases.others_in_case(runtime(request), actor)
    done = DONE.get(request.query.get("done", ""))
    return page(
        request,
        "item.html",
        _("Your %(kind)s %(reference)s")
        % {"kind": kind_words(item["kind"]).lower(), "reference": reference(item["id"])},
        item=item,
        tag=status(item),
        to=names(people, item["sharing"]["recipient_ids"]),
        people={p["id"]: p["shown_as"] for p in people},
        scopes=SCOPES,
        responses=RESPONSES,
        handover=HANDOVER,
        done=_(done) if done else None,
        withdraw=_(WITHDRAW.get(item["kind"], WITHDRAW["message"]))
        if item["state"] in BEFORE_RELAY
        else None,
        back_link="/my",
    )


async def withdraw_form(request: web.Request) -> web.StreamResponse:
    """GET /my/items/{item_id}/withdraw: what withdrawing means, and are they sure."""
    item = await own_item(request)
    if item["state"] not in BEFORE_RELAY:
        raise see_other(f"/my/items/{item['id']}")
    return page(
        request,
        "withdraw.html",
        _("Are you sure you want to withdraw it?"),
        item=item,
        back_link=f"/my/items/{item['id']}",
    )


async def withdraw(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/withdraw: take it back (items.withdraw_item); nothing is passed
    on. If it was passed on in the meantime, the service refuses and the error page says so."""
    actor = await signed_in(request)
    item = await own_item(request)
    await items.withdraw_item(runtime(request), actor, item["id"])
    raise see_other(f"/my/items/{item['id']}", done="withdrawn")


async def summary(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/summary: their words and the proposed summary, side by side."""
    item = await own_item(request)
    proposed = item.get("summary") or {}
    if item["state"] != "held" or proposed.get("state") != "proposed":
        raise see_other(f"/my/items/{item['id']}")
    return _summary_page(request, item)


def _summary_page(
    request: web.Request,
    item: dict[str, Any],
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    return page(
        request,
        "summary.html",
        _("Do you agree to this summary?"),
        code=code,
        item=item,
        errors=errors or [],
        back_link=f"/my/items/{item['id']}",
    )


async def answer_summary(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/summary: agree or not (vetting.summary_consent)."""
    actor = await signed_in(request)
    item = await own_item(request)
    answer = text(await form(request), "agree")
    if answer not in ("yes", "no"):
        errors = [{"text": _("Choose if you agree to the summary"), "href": "#agree"}]
        return _summary_page(request, item, code=422, errors=errors)
    await vetting.summary_consent(runtime(request), actor, item["id"], agree=answer == "yes")
    raise see_other(f"/my/items/{item['id']}", done="agreed" if answer == "yes" else "declined")
