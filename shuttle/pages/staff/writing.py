"""Writing on a participant's behalf (assisted mode), with the read-back declaration."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDict

from shuttle import cases, items
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import error_text
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text

ASSISTED_KINDS = ("letter", "message", "question", "answer")
SCOPES = ("verbatim", "summary", "facilitator_only")
RESPONSES = ("reply", "feedback", "none")


async def _page(
    request: web.Request, actor: Actor, posted: MultiDict[str], errors: list[dict[str, str]]
) -> web.Response:
    case_id = request.match_info["case_id"]
    case = await cases.get_case(runtime(request), actor, case_id)
    return render(
        request,
        "staff/write.html",
        status=422 if errors else 200,
        title=_("Write on a participant's behalf"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        case=case,
        active=[p for p in case.get("participants", []) if p["state"] == "active"],
        kinds=ASSISTED_KINDS,
        posted=posted,
        errors=errors,
    )


async def write_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/items/new."""
    actor = await signed_in(request)
    await cases.check_case_work(runtime(request), actor, request.match_info["case_id"])
    return await _page(request, actor, MultiDict(), [])


def _read_back_day(data: MultiDict[str]) -> tuple[str | None, dict[str, str] | None]:
    """The read-back date from the three date fields, or an error for them."""
    try:
        day = date(
            int(text(data, "read_back-year")),
            int(text(data, "read_back-month")),
            int(text(data, "read_back-day")),
        )
    except ValueError:
        return None, {
            "text": _("Enter the date you read it back to them, for example 27 3 2026"),
            "href": "#read_back-day",
        }
    return day.isoformat(), None


def _check(data: MultiDict[str]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    errors = []
    wanted = {
        "author": (text(data, "on_behalf_of"), _("Choose who you are writing for")),
        "kind": (text(data, "kind"), _("Choose what kind of item it is")),
        "body": (data.get("body", "").strip(), _("Write down their words")),
        "scope": (text(data, "scope"), _("Choose how it may be shared")),
        "received_by": (text(data, "received_by"), _("Choose how you received their words")),
    }
    for field, (value, message) in wanted.items():
        if not value:
            errors.append({"text": message, "href": f"#{field}"})
    day, problem = _read_back_day(data)
    if problem:
        errors.append(problem)
    if data.get("declaration") != "yes":
        errors.append(
            {"text": _("Confirm that you read it back to them and they agreed it"),
             "href": "#declaration"}
        )  # fmt: skip
    return {"read_back_on": day}, errors


async def write(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/items/new: save the draft with its read-back declaration."""
    actor = await signed_in(request)
    await cases.check_case_work(runtime(request), actor, request.match_info["case_id"])
    data = await form(request)
    case_id = request.match_info["case_id"]
    checked, errors = _check(data)
    if not errors:
        scope = text(data, "scope")
        day = checked["read_back_on"]
        try:
            await items.create_item(
                runtime(request),
                actor,
                case_id,
                kind=text(data, "kind"),
                body=data.get("body", ""),
                scope=scope,
                recipient_ids=[] if scope == "facilitator_only" else data.getall("recipients", []),
                delivery=None,
                response_wanted=text(data, "response_wanted") or "none",
                in_reply_to=None,
                on_behalf_of=text(data, "on_behalf_of"),
                assisted_declaration=f"I read this back to them on {day} and they agreed it.",
                read_back_on=day,
                received_by=text(data, "received_by"),
            )
        except Invalid as exc:
            field = {
                "invalid_recipients": "recipients",
                "invalid_read_back": "read_back-day",
                "invalid_body": "body",
            }.get(exc.code, "on_behalf_of")
            errors.append({"text": error_text(exc), "href": f"#{field}"})
        else:
            raise see_other(f"/cases/{case_id}", notice="written")
    return await _page(request, actor, data, errors)


async def submit(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/items/{item_id}/submit: send a draft written for them to be checked."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    await items.submit_item(runtime(request), actor, request.match_info["item_id"])
    raise see_other(f"/cases/{case_id}", notice="submitted")
