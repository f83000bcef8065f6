"""A participant's own things: case facts, items, inbox, wishes, opting out, records."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases, disclosure, items, relay
from shuttle.api import schemas
from shuttle.api.http import body, reply, runtime, signed_in


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/me: the participant's own case facts."""
    actor = await signed_in(request)
    return reply(await cases.my_case(runtime(request), actor))


async def my_items(request: web.Request) -> web.Response:
    """GET /api/v1/me/items: what the participant wrote."""
    actor = await signed_in(request)
    return reply({"items": await items.my_items(runtime(request), actor)})


async def inbox(request: web.Request) -> web.Response:
    """GET /api/v1/inbox: the items relayed to the caller, and nothing else."""
    actor = await signed_in(request)
    return reply({"items": await relay.inbox(runtime(request), actor)})


async def set_preferences(request: web.Request) -> web.Response:
    """PUT /api/v1/me/preferences."""
    actor = await signed_in(request)
    form = await body(request, schemas.Preferences)
    stored = await cases.set_preferences(
        runtime(request),
        actor,
        None,
        None,
        receive=form.receive,
        unwanted_topics=form.unwanted_topics,
        delivery=form.delivery,
        tell_author_when_read=form.tell_author_when_read,
    )
    return reply(stored)


async def opt_out(request: web.Request) -> web.Response:
    """POST /api/v1/me/opt-out."""
    actor = await signed_in(request)
    form = await body(request, schemas.OptOut)
    return reply(await cases.opt_out(runtime(request), actor, None, None, form.reason))


async def request_meeting(request: web.Request) -> web.Response:
    """POST /api/v1/me/meeting-requests: ask for a face-to-face meeting."""
    actor = await signed_in(request)
    form = await body(request, schemas.MeetingRequest)
    return reply(await cases.request_meeting(runtime(request), actor, form.note), status=201)


async def request_disclosure(request: web.Request) -> web.Response:
    """POST /api/v1/me/disclosure-requests."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    return reply(await disclosure.request_records(runtime(request), actor), status=201)


async def disclosure_requests(request: web.Request) -> web.Response:
    """GET /api/v1/me/disclosure-requests."""
    actor = await signed_in(request)
    return reply({"requests": await disclosure.my_requests(runtime(request), actor)})
