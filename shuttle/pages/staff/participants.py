"""Participants of a case: adding one (with their invitation link), a new link, consent."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import cases
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import error_text
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text

INFORMATION_SHEET = "2026-1"  # the information sheet version offered by default


def _page(
    request: web.Request, actor: Actor, template: str, title: str, status: int = 200, **context: Any
) -> web.Response:
    case_id = request.match_info["case_id"]
    return render(
        request,
        template,
        status=status,
        title=title,
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        case_id=case_id,
        **context,
    )


async def new_participant_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/participants/new."""
    actor = await signed_in(request)
    await cases.check_case_work(runtime(request), actor, request.match_info["case_id"])
    return _page(
        request, actor, "staff/participant_new.html", _("Add a participant"), posted={}, errors=[]
    )


async def add_participant(request: web.Request) -> web.Response:
    """POST /cases/{case_id}/participants/new: add them and show their invitation link once."""
    actor = await signed_in(request)
    await cases.check_case_work(runtime(request), actor, request.match_info["case_id"])
    data = await form(request)
    errors = []
    if text(data, "role") not in cases.PARTICIPANT_ROLES:
        errors.append({"text": _("Choose the person's part in the case"), "href": "#role"})
    if not text(data, "display_name"):
        errors.append({"text": _("Enter the person's name"), "href": "#display_name"})
    if not text(data, "shown_to_others_as"):
        errors.append(
            {"text": _("Enter how the others will see them named"), "href": "#shown_to_others_as"}
        )
    if not errors:
        try:
            added = await cases.add_participant(
                runtime(request),
                actor,
                request.match_info["case_id"],
                role=text(data, "role"),
                display_name=text(data, "display_name"),
                shown_to_others_as=text(data, "shown_to_others_as"),
            )
        except Invalid as exc:
            errors.append({"text": error_text(exc), "href": "#display_name"})
        else:
            return _invitation(request, actor, added["display_name"], added["invitation_token"])
    return _page(
        request,
        actor,
        "staff/participant_new.html",
        _("Add a participant"),
        status=422,
        posted=data,
        errors=errors,
    )


def _invitation(request: web.Request, actor: Actor, name: str, token: str) -> web.Response:
    """The one time the invitation link is shown: it is stored only as a digest."""
    link = f"{request.scheme}://{request.host}/invitation/{token}"
    return _page(
        request, actor, "staff/invitation.html", _("Give them their invitation"), name=name,
        link=link,
    )  # fmt: skip


async def reissue_invitation(request: web.Request) -> web.Response:
    """POST /cases/{case_id}/participants/{participant_id}/invitation: a new link."""
    actor = await signed_in(request)
    rt = runtime(request)
    case_id, participant_id = request.match_info["case_id"], request.match_info["participant_id"]
    token = await cases.reissue_invitation(rt, actor, case_id, participant_id)
    person = await cases.get_participant(rt, actor, case_id, participant_id)
    return _invitation(request, actor, person["display_name"], token)


async def consent_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/participants/{participant_id}/consent."""
    actor = await signed_in(request)
    person = await cases.get_participant(
        runtime(request),
        actor,
        request.match_info["case_id"],
        request.match_info["participant_id"],
    )
    return _page(
        request,
        actor,
        "staff/consent.html",
        _("Record consent"),
        person=person,
        posted={"sheet": INFORMATION_SHEET},
        errors=[],
    )


async def record_consent(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/participants/{participant_id}/consent: on the person's behalf."""
    actor = await signed_in(request)
    data = await form(request)
    rt = runtime(request)
    case_id, participant_id = request.match_info["case_id"], request.match_info["participant_id"]
    errors = []
    if not text(data, "sheet"):
        errors.append({"text": _("Enter the information sheet version"), "href": "#sheet"})
    if text(data, "method") not in cases.CONSENT_METHODS:
        errors.append({"text": _("Choose how they gave their consent"), "href": "#method"})
    if not errors:
        accepts = {"yes": True, "no": False}.get(text(data, "accepts_responsibility"))
        try:
            await cases.record_consent(
                rt,
                actor,
                case_id,
                participant_id,
                information_sheet_version=text(data, "sheet"),
                method=text(data, "method"),
                accepts_responsibility=accepts,
                court_ordered=data.get("court_ordered") == "yes",
            )
        except Invalid as exc:
            field = (
                "accepts_responsibility" if exc.code == "responsibility_not_accepted" else "sheet"
            )
            errors.append({"text": error_text(exc), "href": f"#{field}"})
        else:
            raise see_other(f"/cases/{case_id}", notice="consent")
    person = await cases.get_participant(rt, actor, case_id, participant_id)
    return _page(
        request,
        actor,
        "staff/consent.html",
        _("Record consent"),
        status=422,
        person=person,
        posted=data,
        errors=errors,
    )
