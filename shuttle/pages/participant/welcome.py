"""The information a participant reads first, and their informed consent (guidance 2b, G 3)."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import gettext as _
from shuttle.pages.participant.frame import INFORMATION_SHEET, page
from shuttle.pages.web import form, see_other, signed_in


async def welcome(request: web.Request) -> web.Response:
    """GET /my/welcome: what Shuttle is, what is recorded, the duty to report, how to stop."""
    actor = await signed_in(request)
    me = await cases.my_case(runtime(request), actor)
    return page(request, "welcome.html", _("Before you start"), me=me)


async def consent_form(request: web.Request) -> web.Response:
    """GET /my/consent: agree to take part (the person responsible also accepts responsibility)."""
    actor = await signed_in(request)
    me = await cases.my_case(runtime(request), actor)
    if me["state"] != "invited":
        raise see_other("/my")
    return page(request, "consent.html", _("Do you agree to take part?"), me=me, ticked=[])


async def give_consent(request: web.Request) -> web.StreamResponse:
    """POST /my/consent: record the participant's own consent, then their home page."""
    actor = await signed_in(request)
    data = await form(request)
    ticked = data.getall("agree", [])
    errors = []
    if "understood" not in ticked:
        errors.append(
            {"text": _("Tick the box to say you have read and understood"), "href": "#agree"}
        )
    else:
        try:
            await cases.give_own_consent(
                runtime(request),
                actor,
                information_sheet_version=INFORMATION_SHEET,
                accepts_responsibility=True if "responsibility" in ticked else None,
            )
        except Invalid as error:
            if error.code != "responsibility_not_accepted":
                raise
            errors.append(
                {
                    "text": _("Tick the box to say you accept responsibility for the harm caused"),
                    "href": "#agree",
                }
            )
        else:
            raise see_other("/my", done="consent")
    me = await cases.my_case(runtime(request), actor)
    return page(
        request,
        "consent.html",
        _("Do you agree to take part?"),
        code=422,
        me=me,
        errors=errors,
        ticked=ticked,
    )
