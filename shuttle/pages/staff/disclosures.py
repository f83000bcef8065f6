"""Requests for records: list them, record one for a participant, release, download."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases, disclosure
from shuttle.api.http import runtime
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
    return render(
        request,
        "staff/disclosures.html",
        title=_("Requests for records"),
        navigation=navigation(actor, "cases"),
        back_link=f"/cases/{case_id}",
        case=case,
        names={p["id"]: p["display_name"] for p in case.get("participants", [])},
        requests=found,
        notice=request.query.get("notice", ""),
        errors=[],
    )


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


async def release(request: web.Request) -> web.StreamResponse:
    """POST /disclosures/{request_id}/release: build and release the package."""
    actor = await signed_in(request)
    released = await disclosure.release(runtime(request), actor, request.match_info["request_id"])
    raise see_other(f"/cases/{released['case_id']}/disclosures", notice="records_released")


async def package(request: web.Request) -> web.Response:
    """GET /disclosures/{request_id}/package: the released records (a ZIP)."""
    actor = await signed_in(request)
    data = await disclosure.package(runtime(request), actor, request.match_info["request_id"])
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="records.zip"'},
    )
