"""Requests for records: list them, record one, the review task list (a decision on each note,
the extension), the two approvals, and the download."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import case_records, cases, disclosure
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Conflict, Invalid
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text


async def disclosures_page(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/disclosures: the case's requests for records."""
    actor = await signed_in(request)
    rt = runtime(request)
    case_id = request.match_info["case_id"]
    case = await cases.get_case(rt, actor, case_id)
    found = await disclosure.case_requests(rt, actor, case_id)
    names = {p["id"]: p["display_name"] for p in case.get("participants", [])}
    if "participants" not in case:  # a manager: the names from the case record
        names = {p["id"]: p["name"] for p in await _record_people(request, actor, case_id)}
    return render(
        request,
        "staff/disclosures.html",
        title=_("Requests for records"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        case=case,
        names=names,
        requests=found,
        notice=request.query.get("notice", ""),
        errors=[],
    )


async def _record_people(request: web.Request, actor: Actor, case_id: str) -> list[Any]:
    record = await case_records.case_record(runtime(request), actor, case_id)
    people: list[Any] = record["participants"]
    return people


async def record_request(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/disclosures: a participant asked for their records."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    await cases.check_case_work(runtime(request), actor, case_id)
    data = await form(request)
    participant_id = text(data, "participant")
    if not participant_id:
        raise see_other(f"/cases/{case_id}/disclosures", notice="choose")
    await disclosure.request_records(runtime(request), actor, case_id, participant_id)
    raise see_other(f"/cases/{case_id}/disclosures", notice="recorded")


async def review_page(request: web.Request) -> web.Response:
    """GET /disclosures/{request_id}: the task list for one request."""
    actor = await signed_in(request)
    found = await disclosure.review(runtime(request), actor, request.match_info["request_id"])
    return _review(request, actor, found)


def _review(
    request: web.Request, actor: Actor, found: dict[str, Any], status: int = 200, **context: Any
) -> web.Response:
    return render(
        request,
        "staff/disclosure_review.html",
        status=status,
        title=_("Review the records of %(name)s") % {"name": found["participant"]["display_name"]},
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{found['request']['case_id']}/disclosures",
        review=found,
        notice=context.pop("notice", request.query.get("notice", "")),
        **context,
    )


def _note(found: dict[str, Any], entry_id: str) -> dict[str, Any]:
    for note in found["notes"]:
        if note["id"] == entry_id:
            return note  # type: ignore[no-any-return]
    raise web.HTTPNotFound()


def _decision_page(
    request: web.Request,
    actor: Actor,
    found: dict[str, Any],
    note: dict[str, Any],
    status: int = 200,
    **context: Any,
) -> web.Response:
    return render(
        request,
        "staff/disclosure_decision.html",
        status=status,
        title=_("Give this note or withhold it?"),
        navigation=navigation(actor, "cases"),
        back_link=f"/disclosures/{found['request']['id']}",
        review=found,
        note=note,
        **context,
    )


async def decision_form(request: web.Request) -> web.Response:
    """GET /disclosures/{request_id}/notes/{entry_id}: disclose or withhold one note."""
    actor = await signed_in(request)
    found = await disclosure.review(runtime(request), actor, request.match_info["request_id"])
    note = _note(found, request.match_info["entry_id"])
    decided = note["decision"] or {}
    posted = {"decision": decided.get("decision", ""), "exemption": decided.get("exemption", "")}
    return _decision_page(request, actor, found, note, posted=posted, errors=[])


async def decide(request: web.Request) -> web.StreamResponse:
    """POST /disclosures/{request_id}/notes/{entry_id}."""
    actor = await signed_in(request)
    data = await form(request)
    request_id, entry_id = request.match_info["request_id"], request.match_info["entry_id"]
    choice, exemption = text(data, "decision"), text(data, "exemption")
    errors = []
    if choice not in ("disclose", "withhold"):
        errors.append({"text": _("Choose whether to give it or withhold it"), "href": "#decision"})
    elif choice == "withhold" and not exemption:
        errors.append({"text": _("Choose the reason the law allows"), "href": "#exemption"})
    if not errors:
        try:
            await disclosure.decide(
                runtime(request),
                actor,
                request_id,
                entry_id,
                decision=choice,
                exemption=exemption if choice == "withhold" else None,
            )
        except Invalid:
            errors.append({"text": _("Choose the reason the law allows"), "href": "#exemption"})
        else:
            raise see_other(f"/disclosures/{request_id}", notice="note_decided")
    found = await disclosure.review(runtime(request), actor, request_id)
    note = _note(found, entry_id)
    return _decision_page(request, actor, found, note, status=422, posted=data, errors=errors)


def _extension_page(
    request: web.Request, actor: Actor, found: dict[str, Any], status: int = 200, **context: Any
) -> web.Response:
    return render(
        request,
        "staff/disclosure_extension.html",
        status=status,
        title=_("Extend the time limit"),
        navigation=navigation(actor, "cases"),
        back_link=f"/disclosures/{found['request']['id']}",
        review=found,
        **context,
    )


async def extension_form(request: web.Request) -> web.Response:
    """GET /disclosures/{request_id}/extension."""
    actor = await signed_in(request)
    found = await disclosure.review(runtime(request), actor, request.match_info["request_id"])
    return _extension_page(request, actor, found, posted={}, errors=[])


async def extend(request: web.Request) -> web.StreamResponse:
    """POST /disclosures/{request_id}/extension: by one or two months, with the reason."""
    actor = await signed_in(request)
    data = await form(request)
    request_id = request.match_info["request_id"]
    months, reason = text(data, "months"), text(data, "reason")
    errors = []
    if months not in ("1", "2"):
        errors.append({"text": _("Choose how many months to add"), "href": "#months"})
    if not reason:
        errors.append({"text": _("Choose why the request needs longer"), "href": "#reason"})
    if not errors:
        try:
            await disclosure.extend(
                runtime(request),
                actor,
                request_id,
                months=int(months),
                reason=reason,
                note=text(data, "note") or None,
            )
        except Invalid as exc:
            if exc.code == "invalid_months":
                errors.append({"text": _("Choose how many months to add"), "href": "#months"})
            else:
                errors.append({"text": _("Choose why the request needs longer"), "href": "#reason"})
        except Conflict as exc:
            words = {
                "already_extended": _("The time limit has already been extended."),
                "too_late": _("The time limit can only be extended within the first month."),
            }
            text_ = words.get(exc.code, _("These records have already been released."))
            errors.append({"text": text_, "href": "#months"})
        else:
            raise see_other(f"/disclosures/{request_id}", notice="extended")
    found = await disclosure.review(runtime(request), actor, request_id)
    return _extension_page(request, actor, found, status=422, posted=data, errors=errors)


async def release(request: web.Request) -> web.StreamResponse:
    """POST /disclosures/{request_id}/release: the first approval, or the second (release)."""
    actor = await signed_in(request)
    request_id = request.match_info["request_id"]
    rt = runtime(request)
    try:
        done = await disclosure.release(rt, actor, request_id)
    except Conflict as exc:
        found = await disclosure.review(rt, actor, request_id)
        errors = [{"text": _release_refusal(exc.code), "href": "#approve"}]
        return _review(request, actor, found, status=409, errors=errors, notice="")
    notice = "records_released" if done["state"] == "released" else "first_approval"
    raise see_other(f"/disclosures/{request_id}", notice=notice)


def _release_refusal(code: str) -> str:
    """Why an approval was refused, in words for the page."""
    words = {
        "same_person": _(
            "You gave the first approval. A different person must give the second approval."
        ),
        "practitioner_first": _("A practitioner on the case must approve these records first."),
        "review_incomplete": _("Decide on every note and risk assessment first."),
        "already_released": _("These records have already been released."),
        "approval_withdrawn": _("The first approval was withdrawn: a decision changed."),
        "case_changed": _("The case kept changing while the records were prepared. Try again."),
    }
    return words.get(code, _("The records could not be released. Try again."))


async def package(request: web.Request) -> web.Response:
    """GET /disclosures/{request_id}/package: the released records (a ZIP)."""
    actor = await signed_in(request)
    data = await disclosure.package(runtime(request), actor, request.match_info["request_id"])
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="records.zip"'},
    )
