"""Records: disclosure requests and packages, and the audit log's verification."""

from __future__ import annotations

from aiohttp import web

from shuttle import case_records, disclosure, records
from shuttle.api import schemas
from shuttle.api.http import body, reply, runtime, signed_in


async def show_request(request: web.Request) -> web.Response:
    """GET /api/v1/disclosure-requests/{request_id}."""
    actor = await signed_in(request)
    found = await disclosure.get_request(runtime(request), actor, request.match_info["request_id"])
    return reply(found)


async def release(request: web.Request) -> web.Response:
    """POST /api/v1/disclosure-requests/{request_id}/release."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    released = await disclosure.release(runtime(request), actor, request.match_info["request_id"])
    return reply(released)


async def review(request: web.Request) -> web.Response:
    """GET /api/v1/disclosure-requests/{request_id}/review: the task list."""
    actor = await signed_in(request)
    found = await disclosure.review(runtime(request), actor, request.match_info["request_id"])
    return reply(found)


async def decide(request: web.Request) -> web.Response:
    """PUT /api/v1/disclosure-requests/{request_id}/decisions/{entry_id}."""
    actor = await signed_in(request)
    form = await body(request, schemas.NoteDecision)
    decided = await disclosure.decide(
        runtime(request),
        actor,
        request.match_info["request_id"],
        request.match_info["entry_id"],
        decision=form.decision,
        exemption=form.exemption,
    )
    return reply(decided)


async def extend(request: web.Request) -> web.Response:
    """POST /api/v1/disclosure-requests/{request_id}/extension."""
    actor = await signed_in(request)
    form = await body(request, schemas.Extension)
    extended = await disclosure.extend(
        runtime(request),
        actor,
        request.match_info["request_id"],
        months=form.months,
        reason=form.reason,
        note=form.note,
    )
    return reply(extended)


async def package(request: web.Request) -> web.Response:
    """GET /api/v1/disclosure-requests/{request_id}/package: the ZIP."""
    actor = await signed_in(request)
    data = await disclosure.package(runtime(request), actor, request.match_info["request_id"])
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="records.zip"'},
    )


async def verify_audit(request: web.Request) -> web.Response:
    """GET /api/v1/audit/verify: recompute the whole log."""
    actor = await signed_in(request)
    result = await records.verify_audit(runtime(request), actor)
    return reply(
        {"ok": result.ok, "size": result.size, "root": result.root, "problems": result.problems}
    )


async def add_entry(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/entries: a note, risk assessment, contact, outcome, feedback."""
    actor = await signed_in(request)
    form = await body(request, schemas.CaseEntry)
    made = await case_records.add_entry(
        runtime(request),
        actor,
        request.match_info["case_id"],
        kind=form.kind,
        participant_id=form.participant_id,
        detail=form.detail,
        happened_on=form.happened_on,
        text=form.text,
    )
    return reply(made, status=201)


async def set_referral(request: web.Request) -> web.Response:
    """PUT /api/v1/cases/{case_id}/referral."""
    actor = await signed_in(request)
    form = await body(request, schemas.Referral)
    facts = await case_records.set_referral(
        runtime(request),
        actor,
        request.match_info["case_id"],
        incident=form.incident,
        referral_source=form.referral_source,
        referred_on=form.referred_on,
    )
    return reply(facts)


async def case_record(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/record."""
    actor = await signed_in(request)
    found = await case_records.case_record(runtime(request), actor, request.match_info["case_id"])
    return reply(found)


async def case_record_csv(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/record.csv: the export, for the service (audited)."""
    actor = await signed_in(request)
    data = await case_records.export_record(
        runtime(request), actor, request.match_info["case_id"], "csv"
    )
    return web.Response(
        body=data,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="case-record.csv"'},
    )
