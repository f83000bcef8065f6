"""Reading what was passed on: the inbox (no preview of content), a "before you read" step,
the item with whose words it is shown in words above it, then a reply or a "no"."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import follow_ups, items, relay
from shuttle.api.http import runtime
from shuttle.errors import NotFound
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import KINDS, kind_words, page
from shuttle.pages.web import see_other, signed_in


async def inbox(request: web.Request) -> web.Response:
    """GET /my/inbox: who each item is from, when, and New or Read; never the words."""
    actor = await signed_in(request)
    received = [_named(item) for item in await relay.inbox(runtime(request), actor)]
    return page(
        request, "inbox.html", _("Letters and messages for you"), received=received, kinds=KINDS
    )


def _named(item: dict[str, Any]) -> dict[str, Any]:
    """Who it is from, in the reader's language: ``from`` to start a sentence with, and
    ``from_in_sentence`` for the middle of one (the service names a facilitator in English)."""
    if item["attribution"]["tag"] == "facilitator_assessment":
        return {**item, "from": _("Your facilitator"), "from_in_sentence": _("your facilitator")}
    return {**item, "from_in_sentence": item["from"]}


async def _received(request: web.Request) -> dict[str, Any]:
    """The item in the path as relayed to the caller (NotFound for anything else)."""
    actor = await signed_in(request)
    item = await items.get_item(runtime(request), actor, request.match_info["item_id"])
    if "attribution" not in item:
        raise NotFound()
    return _named(item)


async def before(request: web.Request) -> web.Response:
    """GET /my/inbox/{item_id}: who it is from, that it was checked, that it may upset, help."""
    item = await _received(request)
    return page(
        request,
        "before.html",
        _("Before you read"),
        item=item,
        kinds=KINDS,
        back_link="/my/inbox",
    )


async def read_now(request: web.Request) -> web.StreamResponse:
    """POST /my/inbox/{item_id}: "Read it now" marks it read, then shows it."""
    actor = await signed_in(request)
    await relay.mark_read(runtime(request), actor, request.match_info["item_id"])
    raise see_other(f"/my/inbox/{request.match_info['item_id']}/read")


async def letter(request: web.Request) -> web.StreamResponse:
    """GET /my/inbox/{item_id}/read: the words, with whose words they are above them."""
    item = await _received(request)
    if not item["read_at"]:
        raise see_other(f"/my/inbox/{item['id']}")
    declined = request.query.get("done") == "declined"
    return page(
        request,
        "letter.html",
        _("%(kind)s from %(name)s")
        % {"kind": kind_words(item["kind"]), "name": item["from_in_sentence"]},
        item=item,
        declined=declined,
        back_link="/my/inbox",
    )


async def decline(request: web.Request) -> web.StreamResponse:
    """POST /my/inbox/{item_id}/no-reply: say they will not reply or give feedback."""
    actor = await signed_in(request)
    item_id = request.match_info["item_id"]
    await follow_ups.decline_response(runtime(request), actor, item_id)
    raise see_other(f"/my/inbox/{item_id}/read", done="declined")
