"""Writing a letter or message, one question per page: what it is, the words (saved as a draft),
who may receive it, how it is shared, what response is wanted, check answers, send."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import cases, items
from shuttle.api.http import runtime
from shuttle.errors import Invalid, NotFound
from shuttle.i18n import gettext as _
from shuttle.lifecycle import EDITABLE
from shuttle.pages.participant.frame import (
    HANDOVER,
    KINDS,
    RESPONSES,
    SCOPES,
    names,
    page,
    reference,
)
from shuttle.pages.web import form, see_other, signed_in, signed_in_participant, text

WRITABLE_KINDS = ("letter", "message")


async def own_item(request: web.Request, *, editable: bool = False) -> dict[str, Any]:
    """The caller's own item named in the path (NotFound for anything else); with ``editable``,
    an item no longer open to change sends them to its status page instead."""
    actor = await signed_in(request)
    item = await items.get_item(runtime(request), actor, request.match_info["item_id"])
    if item.get("author", {}).get("participant_id") != actor.participant_id:
        raise NotFound()
    if editable and item["state"] not in EDITABLE:
        raise see_other(f"/my/items/{item['id']}")
    return item


def _then(request: web.Request, data: Any, step: str, item_id: str) -> str:
    """Where to go after a step: back to Check answers if that is where they came from."""
    if data.get("then") == "check" or request.query.get("then") == "check":
        return f"/my/items/{item_id}/check"
    return f"/my/items/{item_id}/{step}"


async def choose_kind(request: web.Request) -> web.Response:
    """GET /my/write: a letter or a message (a reply carries what it answers)."""
    await signed_in_participant(request)
    reply_to = request.query.get("reply_to", "")
    return page(request, "write_kind.html", _("What do you want to write?"), reply_to=reply_to)


async def chose_kind(request: web.Request) -> web.StreamResponse:
    """POST /my/write."""
    await signed_in_participant(request)
    data = await form(request)
    kind, reply_to = text(data, "kind"), text(data, "reply_to")
    if kind in WRITABLE_KINDS:
        query = {"kind": kind, **({"reply_to": reply_to} if reply_to else {})}
        raise see_other("/my/write/words", **query)
    errors = [{"text": _("Choose a letter or a message"), "href": "#kind"}]
    return page(
        request,
        "write_kind.html",
        _("What do you want to write?"),
        code=422,
        errors=errors,
        reply_to=reply_to,
    )


async def _replying_to(request: web.Request, reply_to: str) -> dict[str, Any] | None:
    """The received item being answered, if any (NotFound if it is not the caller's)."""
    if not reply_to:
        return None
    actor = await signed_in(request)
    return await items.get_item(runtime(request), actor, reply_to)


async def new_words(request: web.Request) -> web.Response:
    """GET /my/write/words: write the words of a new letter or message."""
    await signed_in_participant(request)
    kind = request.query.get("kind", "letter")
    kind = kind if kind in WRITABLE_KINDS else "letter"
    reply_to = request.query.get("reply_to", "")
    answering = await _replying_to(request, reply_to)
    return _words_page(request, kind=kind, body="", reply_to=reply_to, answering=answering)


def _words_page(request: web.Request, *, code: int = 200, **context: Any) -> web.Response:
    title = _("Write your message") if context["kind"] == "message" else _("Write your letter")
    context.setdefault("errors", [])
    context.setdefault("item", None)
    return page(
        request, "write_words.html", title, code=code, max_chars=items.MAX_BODY_CHARS, **context
    )


def _body_error(error: Invalid) -> dict[str, str]:
    if error.code != "invalid_body":
        raise error
    if error.fields.get("body") == "required":
        return {"text": _("Write something before you save it"), "href": "#body"}
    return {"text": _("What you wrote is too long. Make it shorter."), "href": "#body"}


async def save_new_words(request: web.Request) -> web.StreamResponse:
    """POST /my/write/words: the first save makes a draft, kept only for the facilitator until
    the writer chooses who may receive it."""
    actor = await signed_in_participant(request)
    data = await form(request)
    kind = text(data, "kind") if text(data, "kind") in WRITABLE_KINDS else "letter"
    body, reply_to = data.get("body", ""), text(data, "reply_to")
    try:
        made = await items.create_item(
            runtime(request),
            actor,
            actor.case_id or "",
            kind=kind,
            body=body,
            scope="facilitator_only",
            recipient_ids=[],
            delivery=None,
            response_wanted=None,
            in_reply_to=reply_to or None,
            on_behalf_of=None,
        )
    except Invalid as error:
        answering = await _replying_to(request, reply_to)
        return _words_page(
            request,
            code=422,
            kind=kind,
            body=body,
            reply_to=reply_to,
            answering=answering,
            errors=[_body_error(error)],
        )
    if data.get("action") == "draft":
        raise see_other("/my", done="draft")
    raise see_other(f"/my/items/{made['id']}/who")


async def words(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/words: change the words of a draft or a returned item."""
    item = await own_item(request, editable=True)
    return _words_page(
        request,
        kind=item["kind"],
        body=item["body"],
        item=item,
        reply_to="",
        answering=None,
        then=request.query.get("then", ""),
    )


async def save_words(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/words: a new version with the changed words."""
    actor = await signed_in(request)
    item = await own_item(request, editable=True)
    data = await form(request)
    body = data.get("body", "")
    try:
        await items.revise_item(
            runtime(request), actor, item["id"], body=body, sharing=None, response_wanted=None
        )
    except Invalid as error:
        return _words_page(
            request,
            code=422,
            kind=item["kind"],
            body=body,
            item=item,
            reply_to="",
            answering=None,
            then=text(data, "then"),
            errors=[_body_error(error)],
        )
    if data.get("action") == "draft":
        raise see_other("/my", done="draft")
    raise see_other(_then(request, data, "who", item["id"]))


async def resume(request: web.Request) -> web.StreamResponse:
    """GET /my/items/{item_id}/continue: a draft only written so far goes on to who may receive
    it; one already further along goes to Check answers."""
    item = await own_item(request, editable=True)
    step = "who" if item["version"] == 1 else "check"
    raise see_other(f"/my/items/{item['id']}/{step}")


async def check(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/check: Check answers, with the attribution the recipient will see."""
    actor = await signed_in(request)
    item = await own_item(request, editable=True)
    rt = runtime(request)
    me = await cases.my_case(rt, actor)
    people = await cases.others_in_case(rt, actor)
    return page(
        request,
        "check.html",
        _("Check your answers before you send it"),
        item=item,
        me=me,
        to=names(people, item["sharing"]["recipient_ids"]),
        kinds=KINDS,
        scopes=SCOPES,
        responses=RESPONSES,
        handover=HANDOVER,
    )


async def submit(request: web.Request) -> web.StreamResponse:
    """POST /my/items/{item_id}/submit: send it to the facilitator to be checked."""
    actor = await signed_in(request)
    item = await own_item(request)
    await items.submit_item(runtime(request), actor, item["id"])
    raise see_other(f"/my/items/{item['id']}/sent")


async def sent(request: web.Request) -> web.Response:
    """GET /my/items/{item_id}/sent: the confirmation, with a reference and what happens next."""
    item = await own_item(request)
    return page(
        request,
        "sent.html",
        _("Sent to your facilitator"),
        item=item,
        reference=reference(item["id"]),
    )
