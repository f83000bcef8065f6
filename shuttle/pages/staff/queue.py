"""The vetting queue: tabs with counts, filters, claims, "review next item", live counts."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from shuttle import claims, worklist
from shuttle.accounts import authenticate
from shuttle.api.http import runtime
from shuttle.errors import ShuttleError
from shuttle.i18n import gettext as _
from shuttle.items import KINDS
from shuttle.pages.staff.frame import navigation
from shuttle.pages.streams import STREAM_SECONDS, changed_or_gone, event_stream
from shuttle.pages.web import form, render, safe_next, see_other, session_token, signed_in, text


def _filters(request: web.Request) -> worklist.Filters:
    query = request.query
    kind = query.get("kind", "")
    return worklist.Filters(
        reference=query.get("reference", "").strip()[:100],
        kind=kind if kind in KINDS else "",
        flagged_only=query.get("flagged") == "yes",
    )


async def queue_page(request: web.Request) -> web.Response:
    """GET /queue: one tab of the queue, filtered, with every tab's count."""
    actor = await signed_in(request)
    filters = _filters(request)
    board = await worklist.board(
        runtime(request), actor, request.query.get("tab", "unclaimed"), filters
    )
    current = (
        "escalations" if board["tab"] == "escalated" and actor.role == "supervisor" else "queue"
    )
    return render(
        request,
        "staff/queue.html",
        title=_("Vetting queue"),
        navigation=navigation(actor, current),
        board=board,
        filters=filters,
        kinds=KINDS,
        notice=request.query.get("notice", ""),
    )


async def review_next(request: web.Request) -> web.StreamResponse:
    """POST /queue/next: claim the oldest unclaimed item and open it."""
    actor = await signed_in(request)
    item_id = await claims.claim_next(runtime(request), actor)
    if item_id is None:
        raise see_other("/queue", notice="none_left")
    raise see_other(f"/queue/items/{item_id}")


async def claim(request: web.Request) -> web.StreamResponse:
    """POST /queue/items/{item_id}/claim: "I am reviewing this one"."""
    actor = await signed_in(request)
    data = await form(request)
    item_id = request.match_info["item_id"]
    await claims.claim(runtime(request), actor, item_id)
    raise see_other(safe_next(text(data, "next") or f"/queue/items/{item_id}"))


async def release(request: web.Request) -> web.StreamResponse:
    """POST /queue/items/{item_id}/release: give the item back to the queue."""
    actor = await signed_in(request)
    data = await form(request)
    await claims.release(runtime(request), actor, request.match_info["item_id"])
    raise see_other(safe_next(text(data, "next") or "/queue"), notice="released")


async def live_counts(request: web.Request) -> web.StreamResponse:
    """GET /queue/live: the caller's queue counts as server-sent events, when they change.

    Only numbers for the caller's own queue are ever sent; a change anywhere makes the
    stream ask ``worklist.counts`` again as the caller (whose session is checked each time).
    """
    actor = await signed_in(request)
    rt = runtime(request)
    sent = await worklist.counts(rt, actor)
    token = session_token(request) or ""
    async with event_stream(request) as stream, rt.notifier.listen() as listener:
        await stream.send(json.dumps(sent), event="counts")
        gone = asyncio.ensure_future(stream.wait())  # ends when the browser goes
        try:
            async with asyncio.timeout(STREAM_SECONDS):
                while await changed_or_gone(listener, gone) is not None:
                    actor = await authenticate(rt, token)
                    counts = await worklist.counts(rt, actor)
                    if counts != sent:
                        await stream.send(json.dumps(counts), event="counts")
                        sent = counts
        except (TimeoutError, ShuttleError, ConnectionResetError):
            pass
        finally:
            gone.cancel()
    return stream
