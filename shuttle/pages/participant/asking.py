"""Asking for things: a face-to-face meeting (3d 3), to stop taking part (2b 8), and one's own
records (G 5), with their due dates and the download once released."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases, disclosure
from shuttle.api.http import runtime
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import page
from shuttle.pages.web import form, see_other, signed_in, signed_in_participant, text


async def meeting_form(request: web.Request) -> web.Response:
    """GET /my/meeting: what a meeting is, and an optional note for the facilitator."""
    await signed_in_participant(request)
    return page(request, "meeting.html", _("Ask for a face-to-face meeting"), back_link="/my")


async def ask_for_meeting(request: web.Request) -> web.StreamResponse:
    """POST /my/meeting: recorded and raised to the facilitator."""
    actor = await signed_in(request)
    note = text(await form(request), "note")
    await cases.request_meeting(runtime(request), actor, note or None)
    raise see_other("/my", done="meeting")


async def stop_form(request: web.Request) -> web.Response:
    """GET /my/stop: are you sure? What stopping means, before anything changes."""
    actor = await signed_in(request)
    me = await cases.my_case(runtime(request), actor)
    if me["state"] == "opted_out":
        raise see_other("/my/stopped")
    return page(
        request, "stop.html", _("Are you sure you want to stop taking part?"), back_link="/my"
    )


async def stop(request: web.Request) -> web.StreamResponse:
    """POST /my/stop: opt out; everything pending to and from them stops at once."""
    actor = await signed_in(request)
    reason = text(await form(request), "reason")
    await cases.opt_out(runtime(request), actor, None, None, reason or None)
    raise see_other("/my/stopped")


async def stopped(request: web.Request) -> web.Response:
    """GET /my/stopped: what has happened, and what they can still do."""
    await signed_in_participant(request)
    return page(request, "stopped.html", _("You have stopped taking part"))


async def records(request: web.Request) -> web.Response:
    """GET /my/records: their requests with due dates, a download once released, and a button."""
    actor = await signed_in(request)
    asked = await disclosure.my_requests(runtime(request), actor)
    asked.sort(key=lambda r: str(r["received_at"]), reverse=True)
    return page(
        request,
        "records.html",
        _("Your records"),
        asked=asked,
        done=request.query.get("done") == "asked",
        back_link="/my",
    )


async def ask_for_records(request: web.Request) -> web.StreamResponse:
    """POST /my/records: a new request for their records."""
    actor = await signed_in(request)
    await disclosure.request_records(runtime(request), actor)
    raise see_other("/my/records", done="asked")


async def download(request: web.Request) -> web.Response:
    """GET /my/records/{request_id}/download: the released records (a ZIP)."""
    actor = await signed_in(request)
    data = await disclosure.package(runtime(request), actor, request.match_info["request_id"])
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="my-records.zip"'},
    )
