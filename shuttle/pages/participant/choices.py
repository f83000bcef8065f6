"""The writer's choices for one item: who may receive it, how it is shared, and what response
they would like (guidance 3d 4-5, 3d 12). The services check every choice."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from shuttle import cases, items
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import names, page
from shuttle.pages.participant.writing import _then, own_item
from shuttle.pages.web import form, see_other, signed_in, text

FACILITATOR = "facilitator"


async def who(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/who: the other people in the case, or only the facilitator."""
    item = await own_item(request, editable=True)
    people = await cases.others_in_case(runtime(request), await signed_in(request))
    ticked = list(item["sharing"]["recipient_ids"])
    if item["sharing"]["scope"] == "facilitator_only" and item["version"] > 1:
        ticked = [FACILITATOR]
    return _who_page(request, item, people, ticked)


def _who_page(
    request: web.Request,
    item: dict[str, Any],
    people: list[dict[str, str]],
    ticked: list[str],
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    return page(
        request,
        "who.html",
        _("Who may receive it?"),
        code=code,
        item=item,
        people=people,
        ticked=ticked,
        errors=errors or [],
        then=request.query.get("then", ""),
        back_link=f"/my/items/{item['id']}/words",
    )


async def chose_who(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/who: 'only my facilitator' is saved at once; people chosen go
    on to how it is shared (saved there, as one sharing consent)."""
    actor = await signed_in(request)
    item = await own_item(request, editable=True)
    data = await form(request)
    chosen = data.getall("to", [])
    if chosen == [FACILITATOR]:
        await items.revise_item(
            runtime(request),
            actor,
            item["id"],
            body=None,
            sharing={"scope": "facilitator_only", "recipient_ids": []},
            response_wanted="none",
        )
        raise see_other(f"/my/items/{item['id']}/check")
    people = await cases.others_in_case(runtime(request), actor)
    known = {p["id"] for p in people}
    if FACILITATOR in chosen or not chosen or not set(chosen) <= known:
        message = (
            _("Choose the people who may receive it, or only your facilitator")
            if chosen
            else _("Choose who may receive it")
        )
        errors = [{"text": message, "href": "#to"}]
        return _who_page(request, item, people, chosen, code=422, errors=errors)
    query = [("to", c) for c in chosen]
    if text(data, "then") == "check":
        query.append(("then", "check"))
    raise see_other(f"/my/items/{item['id']}/how?{urlencode(query)}")


async def how(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/how: word for word, a summary, or only for the facilitator."""
    item = await own_item(request, editable=True)
    to = request.query.getall("to", []) or item["sharing"]["recipient_ids"]
    if not to:
        raise see_other(f"/my/items/{item['id']}/who")
    scope = item["sharing"]["scope"] if item["version"] > 1 else ""
    return await _how_page(request, item, to, scope)


async def _how_page(
    request: web.Request,
    item: dict[str, Any],
    to: list[str],
    scope: str,
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    people = await cases.others_in_case(runtime(request), await signed_in(request))
    return page(
        request,
        "how.html",
        _("How may it be shared?"),
        code=code,
        item=item,
        to=to,
        names=names(people, to),
        scope=scope,
        errors=errors or [],
        then=request.query.get("then", ""),
        back_link=f"/my/items/{item['id']}/who",
    )


async def chose_how(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/how: save who may receive it and how, as one sharing consent."""
    actor = await signed_in(request)
    item = await own_item(request, editable=True)
    data = await form(request)
    scope, to = text(data, "scope"), data.getall("to", [])
    if scope not in ("verbatim", "summary", "facilitator_only"):
        errors = [{"text": _("Choose how it may be shared"), "href": "#scope"}]
        return await _how_page(request, item, to, "", code=422, errors=errors)
    recipients = [] if scope == "facilitator_only" else to
    try:
        await items.revise_item(
            runtime(request),
            actor,
            item["id"],
            body=None,
            sharing={"scope": scope, "recipient_ids": recipients},
            response_wanted="none" if scope == "facilitator_only" else None,
        )
    except Invalid as error:
        if error.code != "invalid_recipients":
            raise
        raise see_other(f"/my/items/{item['id']}/who") from None
    if scope == "facilitator_only":
        raise see_other(f"/my/items/{item['id']}/check")
    raise see_other(_then(request, data, "response", item["id"]))


async def response(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/response: a reply, feedback, or nothing."""
    item = await own_item(request, editable=True)
    # No answer is chosen for them: a first visit shows none picked (GOV.UK radios).
    chosen = item["response_wanted"] if item["response_wanted"] != "none" else ""
    return _response_page(request, item, chosen)


def _response_page(
    request: web.Request,
    item: dict[str, Any],
    chosen: str,
    *,
    code: int = 200,
    errors: list[dict[str, str]] | None = None,
) -> web.Response:
    return page(
        request,
        "response.html",
        _("What response would you like?"),
        code=code,
        item=item,
        chosen=chosen,
        errors=errors or [],
        back_link=f"/my/items/{item['id']}/how",
    )


async def chose_response(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/response."""
    actor = await signed_in(request)
    item = await own_item(request, editable=True)
    data = await form(request)
    wanted = text(data, "response")
    if wanted not in ("reply", "feedback", "none"):
        errors = [{"text": _("Choose what response you would like"), "href": "#response"}]
        return _response_page(request, item, "", code=422, errors=errors)
    if wanted != item["response_wanted"]:
        await items.revise_item(
            runtime(request), actor, item["id"], body=None, sharing=None, response_wanted=wanted
        )
    raise see_other(f"/my/items/{item['id']}/check")
