"""Reading what was passed on: the inbox (no preview of content), a "before you read" step,
the item with whose words it is shown in words above it, then a reply or a "no"."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from shuttle import follow_ups, items, relay
from shuttle.accounts import authenticate
from shuttle.api.http import runtime
from shuttle.errors import NotFound, ShuttleError
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import KINDS, kind_words, page
from shuttle.pages.streams import STREAM_SECONDS, changed_or_gone, event_stream
from shuttle.pages.web import see_other, session_token, signed_in

# What the inbox's live stream ever says: the event's name, and no data beyond it.
CHANGED_EVENT = "changed"


async def inbox(request: web.Request) -> web.Response:
    """GET /my/inbox: who each item is from, when, and New or Read; never the words."""
    actor = await signed_in(request)
    rt = runtime(request)
    received = [_named(item) for item in await relay.inbox(rt, actor)]
    return page(
        request,
        "inbox.html",
        _("Letters and messages for you"),
        received=received,
        kinds=KINDS,
        inbox_state=await relay.inbox_state(rt, actor),
    )


def _named(item: dict[str, Any]) -> dict[str, Any]:
    """Who it is from, in the reader's language: ``from`` to start a sentence with, and
    ``from_in_sentence`` for the middle of one (the service names a facilitator in English)."""
    if item["attribution"]["tag"] == "facilitator_assessment":
        return {**item, "from": _("Your facilitator"), "from_in_sentence": _("your facilitator")}
    return {**item, "from_in_sentence": item["from"]}


async def live(request: web.Request) -> web.StreamResponse:
    """GET /my/live?seen=STATE: an event "changed" each time something is passed on to the
    caller (first at once if it already has since the page showed STATE); nothing else.

    The page then offers to refresh itself, and the refreshed page shows what the caller may
    see: no id, count or word of what arrived ever travels in the stream.
    """
    actor = await signed_in(request)
    rt = runtime(request)
    now = await relay.inbox_state(rt, actor)  # refuses anyone but a participant, before
    seen = request.query.get("seen", "")[:64] or now  # the stream opens
    token = session_token(request) or ""
    async with event_stream(request) as stream, rt.notifier.listen() as listener:
        gone = asyncio.ensure_future(stream.wait())  # ends when the browser goes
        try:
            async with asyncio.timeout(STREAM_SECONDS):
                changed: set[str] | None = set()
                while changed is not None:
                    if not changed or actor.case_id in changed:
                        actor = await authenticate(rt, token)
                        state = await relay.inbox_state(rt, actor)
                        if state != seen:
                            await stream.send("{}", event=CHANGED_EVENT)
                            seen = state
                    changed = await changed_or_gone(listener, gone)
        except (TimeoutError, ShuttleError, ConnectionResetError):
            pass  # the session ended or the participant's access changed: the stream ends
        finally:
            gone.cancel()
    return stream


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
