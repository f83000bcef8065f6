"""Cases, their practitioners and participants, watch lists and events (practitioners)."""

from __future__ import annotations

from aiohttp import web

from shuttle import cases, disclosure, follow_ups, items, records
from shuttle.api import schemas
from shuttle.api.http import body, reply, runtime, signed_in


async def create(request: web.Request) -> web.Response:
    """POST /api/v1/cases."""
    actor = await signed_in(request)
    form = await body(request, schemas.NewCase)
    case = await cases.create_case(
        runtime(request),
        actor,
        reference=form.reference,
        sensitive_complex=form.sensitive_complex,
        lead_practitioner_id=form.lead_practitioner_id,
        supervisor_id=form.supervisor_id,
        pre_trial=form.pre_trial,
    )
    return reply(case, status=201)


async def index(request: web.Request) -> web.Response:
    """GET /api/v1/cases."""
    actor = await signed_in(request)
    return reply({"cases": await cases.list_cases(runtime(request), actor)})


async def show(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}."""
    actor = await signed_in(request)
    return reply(await cases.get_case(runtime(request), actor, request.match_info["case_id"]))


async def change_state(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/state: pause, resume or close."""
    actor = await signed_in(request)
    form = await body(request, schemas.CaseState)
    case_id = request.match_info["case_id"]
    return reply(await cases.set_case_state(runtime(request), actor, case_id, form.state))


async def add_practitioner(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/practitioners."""
    actor = await signed_in(request)
    form = await body(request, schemas.NewAssignment)
    placed = await cases.add_practitioner(
        runtime(request),
        actor,
        request.match_info["case_id"],
        user_id=form.user_id,
        role=form.role,
        conflict_declared=form.conflict_of_interest.declared,
        conflict_details=form.conflict_of_interest.details,
    )
    return reply(placed, status=201)


async def declare_conflict(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/practitioners/{user_id}/conflict."""
    actor = await signed_in(request)
    form = await body(request, schemas.LaterConflict)
    await cases.declare_conflict(
        runtime(request),
        actor,
        request.match_info["case_id"],
        request.match_info["user_id"],
        form.details,
    )
    return web.Response(status=204)


async def add_participant(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/participants."""
    actor = await signed_in(request)
    form = await body(request, schemas.NewParticipant)
    participant = await cases.add_participant(
        runtime(request),
        actor,
        request.match_info["case_id"],
        role=form.role,
        display_name=form.display_name,
        shown_to_others_as=form.shown_to_others_as,
    )
    return reply(participant, status=201)


async def show_participant(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/participants/{participant_id}."""
    actor = await signed_in(request)
    return reply(
        await cases.get_participant(
            runtime(request),
            actor,
            request.match_info["case_id"],
            request.match_info["participant_id"],
        )
    )


async def reissue_invitation(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/participants/{participant_id}/invitation."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    token = await cases.reissue_invitation(
        runtime(request), actor, request.match_info["case_id"], request.match_info["participant_id"]
    )
    return reply({"invitation_token": token}, status=201)


async def record_consent(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/participants/{participant_id}/consent."""
    actor = await signed_in(request)
    form = await body(request, schemas.Consent)
    participant = await cases.record_consent(
        runtime(request),
        actor,
        request.match_info["case_id"],
        request.match_info["participant_id"],
        information_sheet_version=form.information_sheet_version,
        method=form.method,
        accepts_responsibility=form.accepts_responsibility,
        court_ordered=form.court_ordered,
    )
    return reply(participant)


async def opt_out(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/participants/{participant_id}/opt-out."""
    actor = await signed_in(request)
    form = await body(request, schemas.OptOut)
    participant = await cases.opt_out(
        runtime(request),
        actor,
        request.match_info["case_id"],
        request.match_info["participant_id"],
        form.reason,
    )
    return reply(participant)


async def set_preferences(request: web.Request) -> web.Response:
    """PUT /api/v1/cases/{case_id}/participants/{participant_id}/preferences (on their behalf)."""
    actor = await signed_in(request)
    form = await body(request, schemas.Preferences)
    stored = await cases.set_preferences(
        runtime(request),
        actor,
        request.match_info["case_id"],
        request.match_info["participant_id"],
        receive=form.receive,
        unwanted_topics=form.unwanted_topics,
        delivery=form.delivery,
        tell_author_when_read=form.tell_author_when_read,
    )
    return reply(stored)


async def request_disclosure(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/participants/{participant_id}/disclosure-requests."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    made = await disclosure.request_records(
        runtime(request), actor, request.match_info["case_id"], request.match_info["participant_id"]
    )
    return reply(made, status=201)


async def get_watch_list(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/watch-list."""
    actor = await signed_in(request)
    terms = await cases.get_watch_list(runtime(request), actor, request.match_info["case_id"])
    return reply({"terms": terms})


async def put_watch_list(request: web.Request) -> web.Response:
    """PUT /api/v1/cases/{case_id}/watch-list."""
    actor = await signed_in(request)
    form = await body(request, schemas.WatchList)
    terms = await cases.set_watch_list(
        runtime(request), actor, request.match_info["case_id"], form.terms
    )
    return reply({"terms": terms})


async def list_items(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/items: every item of the case (practitioners)."""
    actor = await signed_in(request)
    found = await items.case_items(runtime(request), actor, request.match_info["case_id"])
    return reply({"items": found})


async def create_item(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/items."""
    actor = await signed_in(request)
    form = await body(request, schemas.NewItem)
    item = await items.create_item(
        runtime(request),
        actor,
        request.match_info["case_id"],
        kind=form.kind,
        body=form.body,
        scope=form.sharing.scope,
        recipient_ids=form.sharing.recipient_ids,
        delivery=form.sharing.delivery,
        response_wanted=form.response_wanted,
        in_reply_to=form.in_reply_to,
        on_behalf_of=form.on_behalf_of,
        assisted_declaration=form.assisted_declaration,
        read_back_on=form.assisted_read_back_on,
        received_by=form.assisted_received_by,
    )
    return reply(item, status=201)


async def events(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/events: the case's record."""
    actor = await signed_in(request)
    found = await records.case_events(runtime(request), actor, request.match_info["case_id"])
    return reply({"events": found})


async def pre_trial_consultation(request: web.Request) -> web.Response:
    """POST /api/v1/cases/{case_id}/pre-trial-consultation."""
    actor = await signed_in(request)
    await body(request, schemas.Empty)
    case_id = request.match_info["case_id"]
    return reply(await cases.record_pre_trial_consultation(runtime(request), actor, case_id))


async def list_follow_ups(request: web.Request) -> web.Response:
    """GET /api/v1/cases/{case_id}/follow-ups: responses asked for and not yet given."""
    actor = await signed_in(request)
    found = await follow_ups.open_follow_ups(runtime(request), actor, request.match_info["case_id"])
    return reply({"follow_ups": found})
