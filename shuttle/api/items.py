"""Items: read, change, submit, withdraw, decide, agree a summary, mark read."""

from __future__ import annotations

from aiohttp import web

from shuttle import follow_ups, items, relay, vetting
from shuttle.api import schemas
from shuttle.api.http import body, reply, runtime, signed_in


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/items/{item_id}: as far as the caller may see it."""
    actor = await signed_in(request)
    return reply(await items.get_item(runtime(request), actor, request.match_info["item_id"]))


async def change(request: web.Request) -> web.Response:
    """PATCH /api/v1/items/{item_id}: a new version of a draft or returned item."""
    actor = await signed_in(request)
    form = await body(request, schemas.ItemChange)
    revised = await items.revise_item(
        runtime(request),
        actor,
        request.match_info["item_id"],
        body=form.body,
        sharing=form.sharing.model_dump() if form.sharing is not None else None,
        response_wanted=form.response_wanted,
        read_back=items.ReadBack(
            form.assisted_declaration, form.assisted_read_back_on, form.assisted_received_by
        )
        if form.assisted_declaration or form.assisted_read_back_on or form.assisted_received_by
        else None,
    )
    return reply(revised)


async def submit(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/submit."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    return reply(await items.submit_item(runtime(request), actor, request.match_info["item_id"]))


async def withdraw(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/withdraw."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    return reply(await items.withdraw_item(runtime(request), actor, request.match_info["item_id"]))


async def decide(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/decisions."""
    actor = await signed_in(request)
    form = await body(request, schemas.DecisionBody)
    decided = await vetting.decide(
        runtime(request),
        actor,
        request.match_info["item_id"],
        decision=form.decision,
        version_digest=form.version_digest,
        reason=form.reason,
        note=form.note,
        summary=form.summary,
        internal_note=form.internal_note,
    )
    return reply(decided, status=201)


async def summary_consent(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/summary-consent."""
    actor = await signed_in(request)
    form = await body(request, schemas.SummaryConsent)
    answered = await vetting.summary_consent(
        runtime(request), actor, request.match_info["item_id"], agree=form.agree
    )
    return reply(answered)


async def mark_read(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/read."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    return reply(await relay.mark_read(runtime(request), actor, request.match_info["item_id"]))


async def queue(request: web.Request) -> web.Response:
    """GET /api/v1/queue: items waiting for the caller's decision, oldest first."""
    actor = await signed_in(request)
    return reply({"items": await vetting.queue(runtime(request), actor)})


async def decline_response(request: web.Request) -> web.Response:
    """POST /api/v1/items/{item_id}/decline-response: the recipient will not reply."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    item_id = request.match_info["item_id"]
    return reply(await follow_ups.decline_response(runtime(request), actor, item_id))
