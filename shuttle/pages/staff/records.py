"""The case record (guidance G 6) for the case's practitioners and the service's managers:
the page, its downloads (JSON, CSV), adding an entry, and the incident and referral."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shuttle import case_records
from shuttle.access import Actor
from shuttle.api.http import runtime
from shuttle.errors import Invalid
from shuttle.i18n import gettext as _
from shuttle.pages.staff.frame import navigation
from shuttle.pages.web import form, render, see_other, signed_in, text


async def record_page(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/record: the whole record on one page."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    record = await case_records.case_record(runtime(request), actor, case_id)
    return render(
        request,
        "staff/case_record.html",
        title=_("Case record"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        record=record,
        names={p["id"]: p["name"] for p in record["participants"]},
        staff={p["user_id"]: p["name"] for p in record["practitioners"]},
        practitioner="notes" in record,
        notice=request.query.get("notice", ""),
    )


async def _download(request: web.Request, form_: str) -> web.Response:
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    data = await case_records.export_record(runtime(request), actor, case_id, form_)
    types = {"json": "application/json", "csv": "text/csv"}
    return web.Response(
        body=data,
        content_type=types[form_],
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="case-record.{form_}"'},
    )


async def record_json(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/record.json: the export, for the service."""
    return await _download(request, "json")


async def record_csv(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/record.csv: the export, for the service (spreadsheets)."""
    return await _download(request, "csv")


def _entry_page(
    request: web.Request, actor: Actor, record: dict[str, Any], status: int = 200, **context: Any
) -> web.Response:
    case_id = request.match_info["case_id"]
    return render(
        request,
        "staff/case_entry_new.html",
        status=status,
        title=_("Add to the case record"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}/record",
        record=record,
        details={kind: allowed for kind, (allowed, _required) in case_records.DETAILS.items()},
        **context,
    )


async def entry_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/record/new."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    record = await case_records.case_record(runtime(request), actor, case_id)
    if "notes" not in record:  # managers read the record; its practitioners write it
        raise web.HTTPNotFound()
    return _entry_page(request, actor, record, posted={}, errors=[])


async def add_entry(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/record/new: a note, risk assessment, contact, outcome, feedback."""
    actor = await signed_in(request)
    data = await form(request)
    case_id = request.match_info["case_id"]
    kind = text(data, "kind")
    errors = []
    if kind not in case_records.ENTRY_KINDS:
        errors.append({"text": _("Choose what to add"), "href": "#kind"})
    else:
        detail = text(data, f"detail_{kind}") or None
        day = "-".join(
            text(data, f"day-{part}").zfill(width)
            for part, width in (("year", 4), ("month", 2), ("day", 2))
        )
        try:
            await case_records.add_entry(
                runtime(request),
                actor,
                case_id,
                kind=kind,
                participant_id=text(data, "participant") or None,
                detail=detail,
                happened_on=None if day == "0000-00-00" else day,
                text=text(data, "text") or None,
            )
        except Invalid as exc:
            words = {
                "invalid_detail": (_("Choose one of the options"), f"#detail_{kind}"),
                "invalid_text": (_("Write the text, in under 10,000 characters"), "#text"),
                "invalid_date": (_("Enter a real date, today or in the past"), "#day"),
                "invalid_participant": (_("Choose who it is about"), "#participant"),
            }
            message, href = words.get(exc.code, (_("Check what you entered"), "#kind"))
            errors.append({"text": message, "href": href})
        else:
            raise see_other(f"/cases/{case_id}/record", notice="entry_added")
    record = await case_records.case_record(runtime(request), actor, case_id)
    return _entry_page(request, actor, record, status=422, posted=data, errors=errors)


def _referral_page(
    request: web.Request, actor: Actor, record: dict[str, Any], status: int = 200, **context: Any
) -> web.Response:
    case_id = request.match_info["case_id"]
    return render(
        request,
        "staff/case_referral.html",
        status=status,
        title=_("The incident and the referral"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}/record",
        record=record,
        sources=dict(runtime(request).policies.referral_sources),
        **context,
    )


async def referral_form(request: web.Request) -> web.Response:
    """GET /cases/{case_id}/referral."""
    actor = await signed_in(request)
    case_id = request.match_info["case_id"]
    record = await case_records.case_record(runtime(request), actor, case_id)
    if "notes" not in record:
        raise web.HTTPNotFound()
    case = record["case"]
    day = (case["referred_on"] or "--").split("-")
    posted = {
        "incident": case["incident"] or "",
        "referral_source": (case["referral_source"] or {}).get("code", ""),
        "day-year": day[0],
        "day-month": day[1].lstrip("0"),
        "day-day": day[2].lstrip("0"),
    }
    return _referral_page(request, actor, record, posted=posted, errors=[])


async def set_referral(request: web.Request) -> web.StreamResponse:
    """POST /cases/{case_id}/referral."""
    actor = await signed_in(request)
    data = await form(request)
    case_id = request.match_info["case_id"]
    parts = [text(data, f"day-{p}") for p in ("year", "month", "day")]
    day = None
    if any(parts):
        day = f"{parts[0].zfill(4)}-{parts[1].zfill(2)}-{parts[2].zfill(2)}"
    errors = []
    try:
        await case_records.set_referral(
            runtime(request),
            actor,
            case_id,
            incident=text(data, "incident") or None,
            referral_source=text(data, "referral_source") or None,
            referred_on=day,
        )
    except Invalid as exc:
        words = {
            "invalid_date": (_("Enter a real date, today or in the past"), "#day"),
            "invalid_referral_source": (_("Choose who referred the case"), "#referral_source"),
        }
        message, href = words.get(exc.code, (_("Keep it under 5,000 characters"), "#incident"))
        errors.append({"text": message, "href": href})
    else:
        raise see_other(f"/cases/{case_id}/record", notice="referral_saved")
    record = await case_records.case_record(runtime(request), actor, case_id)
    return _referral_page(request, actor, record, status=422, posted=data, errors=errors)
