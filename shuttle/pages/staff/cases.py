"""Cases: the list, opening one, the case page, its state and its watch list."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import cases, disclosure, follow_ups, items, records
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import error_text
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text

MAX_EVENTS = 60


async def case_list(request: web.Request) -> web.Response:
    """GET /cases: the caller's cases (managers: every case, states and counts only)."""
    actor = await signed_in(request)
    found = await cases.list_cases(runtime(request), actor)
    return render(
        request,
        "staff/cases.html",
        title=_("Cases"),
        navigation=navigation(actor, "cases"),
        cases=found,
        may_create=runtime(request).policies.can(actor.role, "cases:create"),
    )


async def _new_case_page(
    request: web.Request, actor: Actor, status: int = 200, **context: Any
) -> web.Response:
    rt = runtime(request)
    return render(
        request,
        "staff/case_new.html",
        status=status,
        title=_("Open a case"),
        navigation=navigation(actor, "cases"),
        back_link="/cases",
        supervisors=await cases.supervisors(rt, actor),
        # Someone who cannot lead a case (a manager) names its lead; a practitioner leads it.
        leads=None if actor.is_practitioner else await cases.lead_practitioners(rt, actor),
        **context,
    )


async def new_case_form(request: web.Request) -> web.Response:
    """GET /cases/new."""
    actor = await signed_in(request)
    return await _new_case_page(request, actor, posted={})


# Where on the form a refusal from cases.create_case is corrected, by the field it names.
FIELD_OF = {"reference": "reference", "lead_practitioner_id": "lead", "supervisor_id": "supervisor"}


async def create_case(request: web.Request) -> web.StreamResponse:
    """POST /cases/new: open the case and go to it. A practitioner leads it; a manager names
    its lead."""
    actor = await signed_in(request)
    data = await form(request)
    errors = []
    reference = text(data, "reference")
    lead = None if actor.is_practitioner else text(data, "lead") or None
    if not reference:
        errors.append({"text": _("Enter the case reference"), "href": "#reference"})
    if not actor.is_practitioner and not lead:
        errors.append({"text": _("Choose who will lead the case"), "href": "#lead"})
    if not errors:
        try:
            case = await cases.create_case(
                runtime(request),
                actor,
                reference=reference,
                sensitive_complex=data.get("sensitive") == "yes",
                lead_practitioner_id=lead,
                supervisor_id=text(data, "supervisor") or None,
                pre_trial=data.get("pre_trial") == "yes",
            )
        except Invalid as exc:
            field = next((FIELD_OF[f] for f in exc.fields if f in FIELD_OF), "reference")
            if field == "lead" and actor.is_practitioner:
                field = "sensitive"  # they lead it themselves: the sensitive case needs a senior
            errors.append({"text": error_text(exc), "href": f"#{field}"})
        else:
            raise see_other(f"/cases/{case['id']}", notice="created")
    return await _new_case_page(request, actor, status=422, errors=errors, posted=data)


async def case_page(request: web.Request) -> web.Response:
    """GET /cases/{case_id}: participants, items, follow-ups and the record, on one page."""
    actor = await signed_in(request)
    rt = runtime(request)
    case_id = request.match_info["case_id"]
    case = await cases.get_case(rt, actor, case_id)
    context: dict[str, Any] = {}
    if "reference" in case:  # a practitioner on the case; managers see states and counts
        context = {
            "items": await items.case_items(rt, actor, case_id),
            "events": list(reversed(await records.case_events(rt, actor, case_id)))[:MAX_EVENTS],
            "follow_ups": await follow_ups.open_follow_ups(rt, actor, case_id),
            "watch_list": await cases.get_watch_list(rt, actor, case_id),
            "disclosures": await disclosure.case_requests(rt, actor, case_id),
        }
    me = next((p for p in case.get("practitioners", []) if p["user_id"] == actor.user_id), None)
    return render(
        request,
        "staff/case.html",
        title=case.get("reference") or _("Case"),
        navigation=navigation(actor, "cases"),
        back_link="/cases",
        case=case,
        my_role=me["role"] if me else None,
        names=_names(case),
        notice=request.query.get("notice", ""),
        **context,
    )


def _names(case: dict[str, Any]) -> dict[str, str]:
    """Everyone named on the case page, by user id and participant id."""
    names = {p["user_id"]: p["name"] for p in case.get("practitioners", [])}
    names.update({p["id"]: p["display_name"] for p in case.get("participants", [])})
    return names


async def change_state(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/state: pause, resume or close the case."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    await cases.check_case_work(runtime(request), actor, case_id, lead_or_supervisor=True)
    data = await form(request)
    state = text(data, "state")
    if state not in cases.CASE_STATES:
        raise see_other(f"/cases/{case_id}")
    await cases.set_case_state(runtime(request), actor, case_id, state)
    raise see_other(f"/cases/{case_id}", notice=f"state_{state}")


async def watch_list_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/watch-list: the words to screen for, one a line."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    terms = await cases.get_watch_list(runtime(request), actor, case_id)
    return _watch_list_page(request, actor, case_id, "\n".join(terms))


def _watch_list_page(
    request: web.Request, actor: Actor, case_id: str, terms: str, **context: Any
) -> web.Response:
    return render(
        request,
        "staff/watch_list.html",
        status=422 if context.get("errors") else 200,
        title=_("Change the watch list"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        case_id=case_id,
        terms=terms,
        **context,
    )


async def set_watch_list(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/watch-list."""
    actor = await signed_in(request)
    data = await form(request)
    case_id = request.match_info["case_id"]
    raw = data.get("terms", "")
    terms = [line.strip() for line in raw.splitlines() if line.strip()]
    try:
        await cases.set_watch_list(runtime(request), actor, case_id, terms)
    except Invalid:
        errors = [
            {"text": _("List at most 500 words, each under 200 characters"), "href": "#terms"}
        ]
        return _watch_list_page(request, actor, case_id, raw, errors=errors)
    raise see_other(f"/cases/{case_id}", notice="watch_list")
