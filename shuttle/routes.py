"""The whole URL map on one screen. Every route is named; the OpenAPI description is built from it."""

from __future__ import annotations

from aiohttp import web

from shuttle.api import cases, items, me, records, schemas, session
from shuttle.api import openapi as openapi_doc
from shuttle.pages import participant, staff
from shuttle.pages import session as session_pages
from shuttle.pages.web import static_dir
from shuttle.routing import Route
from shuttle.settings import Settings

V1 = "/api/v1"
CASE = V1 + "/cases/{case_id}"
PARTICIPANT = CASE + "/participants/{participant_id}"
ITEM = V1 + "/items/{item_id}"
DISCLOSURE = V1 + "/disclosure-requests/{request_id}"

# fmt: off
ROUTES: tuple[Route, ...] = (
    Route("POST", V1 + "/session", session.sign_in, "session.create", "Sign in", "anyone", schemas.SignIn),
    Route("GET", V1 + "/session", session.current, "session.show", "Who am I"),
    Route("DELETE", V1 + "/session", session.sign_out, "session.delete", "Sign out", "signed in", None, 204),
    Route("POST", V1 + "/invitations/{token}/accept", session.accept_invitation, "invitation.accept", "Accept an invitation", "anyone", schemas.AcceptInvitation, 201),
    Route("POST", V1 + "/cases", cases.create, "case.create", "Open a case", "practitioners, managers", schemas.NewCase, 201),
    Route("GET", V1 + "/cases", cases.index, "case.index", "Cases I work on (managers: all, without content)", "staff"),
    Route("GET", CASE, cases.show, "case.show", "One case", "staff"),
    Route("POST", CASE + "/state", cases.change_state, "case.state", "Pause, resume or close a case", "lead, supervisor", schemas.CaseState),
    Route("POST", CASE + "/practitioners", cases.add_practitioner, "case.practitioner.add", "Put a practitioner on a case", "lead, supervisor, manager", schemas.NewAssignment, 201),
    Route("POST", CASE + "/practitioners/{user_id}/conflict", cases.declare_conflict, "case.practitioner.conflict", "Declare a conflict of interest", "practitioners on the case", schemas.LaterConflict, 204),
    Route("POST", CASE + "/participants", cases.add_participant, "case.participant.add", "Add a participant", "practitioners on the case", schemas.NewParticipant, 201),
    Route("GET", PARTICIPANT, cases.show_participant, "case.participant.show", "One participant", "practitioners on the case"),
    Route("POST", PARTICIPANT + "/invitation", cases.reissue_invitation, "case.participant.invitation", "Issue a new invitation", "practitioners on the case", schemas.Empty, 201),
    Route("POST", PARTICIPANT + "/consent", cases.record_consent, "case.participant.consent", "Record informed consent", "practitioners on the case", schemas.Consent),
    Route("POST", PARTICIPANT + "/opt-out", cases.opt_out, "case.participant.opt_out", "Opt a participant out", "practitioners on the case", schemas.OptOut),
    Route("PUT", PARTICIPANT + "/preferences", cases.set_preferences, "case.participant.preferences", "Record a participant's wishes on their behalf", "practitioners on the case", schemas.Preferences),
    Route("POST", PARTICIPANT + "/disclosure-requests", cases.request_disclosure, "case.participant.disclosure", "Record a request for records", "practitioners on the case", schemas.Empty, 201),
    Route("GET", CASE + "/watch-list", cases.get_watch_list, "case.watch_list.show", "The case's watch list", "practitioners on the case"),
    Route("PUT", CASE + "/watch-list", cases.put_watch_list, "case.watch_list.set", "Set the case's watch list", "practitioners on the case", schemas.WatchList),
    Route("GET", CASE + "/items", cases.list_items, "case.items", "Every item of a case", "practitioners on the case"),
    Route("POST", CASE + "/items", cases.create_item, "item.create", "Write an item (a draft)", "participants, practitioners", schemas.NewItem, 201),
    Route("POST", CASE + "/pre-trial-consultation", cases.pre_trial_consultation, "case.pre_trial", "Record the pre-trial consultation", "practitioners on the case", schemas.Empty),
    Route("GET", CASE + "/follow-ups", cases.list_follow_ups, "case.follow_ups", "Responses asked for and not yet given", "practitioners on the case"),
    Route("GET", CASE + "/events", cases.events, "case.events", "The case's record", "practitioners on the case"),
    Route("GET", ITEM, items.show, "item.show", "One item, as far as the caller may see it"),
    Route("PATCH", ITEM, items.change, "item.change", "Change a draft or returned item", "its author", schemas.ItemChange),
    Route("POST", ITEM + "/submit", items.submit, "item.submit", "Send an item to be checked", "its author", schemas.Empty),
    Route("POST", ITEM + "/withdraw", items.withdraw, "item.withdraw", "Withdraw an item", "its author", schemas.Empty),
    Route("POST", ITEM + "/decisions", items.decide, "item.decide", "Decide on one version", "practitioners on the case", schemas.DecisionBody, 201),
    Route("POST", ITEM + "/summary-consent", items.summary_consent, "item.summary_consent", "Agree or not to the facilitator's summary", "its author", schemas.SummaryConsent),
    Route("POST", ITEM + "/read", items.mark_read, "item.read", "Mark a received item read", "its recipient", schemas.Empty),
    Route("POST", ITEM + "/decline-response", items.decline_response, "item.decline_response", "Say you will not reply", "its recipient", schemas.Empty),
    Route("GET", V1 + "/queue", items.queue, "queue", "Items waiting for my decision", "practitioners"),
    Route("GET", V1 + "/inbox", me.inbox, "inbox", "Items relayed to me", "participants"),
    Route("GET", V1 + "/me", me.show, "me.show", "My own case facts", "participants"),
    Route("GET", V1 + "/me/items", me.my_items, "me.items", "What I wrote", "participants"),
    Route("PUT", V1 + "/me/preferences", me.set_preferences, "me.preferences", "What I am willing to receive", "participants", schemas.Preferences),
    Route("POST", V1 + "/me/opt-out", me.opt_out, "me.opt_out", "Opt out", "participants", schemas.OptOut),
    Route("POST", V1 + "/me/meeting-requests", me.request_meeting, "me.meeting", "Ask for a face-to-face meeting", "participants", schemas.MeetingRequest, 201),
    Route("POST", V1 + "/me/disclosure-requests", me.request_disclosure, "me.disclosure.create", "Ask for my records", "participants", schemas.Empty, 201),
    Route("GET", V1 + "/me/disclosure-requests", me.disclosure_requests, "me.disclosure.index", "My requests for records", "participants"),
    Route("GET", DISCLOSURE, records.show_request, "disclosure.show", "One request for records", "its requester, practitioners on the case"),
    Route("POST", DISCLOSURE + "/release", records.release, "disclosure.release", "Release the records", "practitioners on the case", schemas.Empty),
    Route("GET", DISCLOSURE + "/package", records.package, "disclosure.package", "Download the records (ZIP)", "its requester, practitioners on the case"),
    Route("GET", V1 + "/audit/verify", records.verify_audit, "audit.verify", "Recompute the audit log", "admins, managers"),
)
# fmt: on

# The pages (HTML). Forms are POSTs checked for a CSRF token by the page middleware.
# fmt: off
PAGES: tuple[Route, ...] = (
    Route("GET", "/", session_pages.start, "page.start", "Start: where each person begins", "anyone"),
    Route("GET", "/sign-in", session_pages.sign_in_form, "page.sign_in", "Sign in", "anyone"),
    Route("POST", "/sign-in", session_pages.sign_in, "page.sign_in.post", "Sign in", "anyone"),
    Route("POST", "/sign-out", session_pages.sign_out, "page.sign_out", "Sign out", "anyone"),
    Route("GET", "/signed-out", session_pages.signed_out, "page.signed_out", "Signed out", "anyone"),
    Route("GET", "/language/{code}", session_pages.choose_language, "page.language", "Choose English or Welsh", "anyone"),
    Route("GET", "/invitation/{token}", session_pages.invitation_form, "page.invitation", "Set up an account from an invitation", "anyone"),
    Route("POST", "/invitation/{token}", session_pages.accept_invitation, "page.invitation.post", "Set up an account from an invitation", "anyone"),
    *participant.PAGES,
    *staff.PAGES,
)
# fmt: on


async def openapi(request: web.Request) -> web.Response:
    """GET /api/openapi.json."""
    return web.json_response(openapi_doc.document(ROUTES))


async def health(request: web.Request) -> web.Response:
    """GET /healthz: the process is up."""
    return web.json_response({"ok": True})


def add_routes(app: web.Application, settings: Settings) -> None:
    """Register every route and page under its name, and the built assets under /static/."""
    for route in (*ROUTES, *PAGES):
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    static = static_dir(settings)
    if static.is_dir():
        app.router.add_static("/static/", static, name="static", append_version=False)
    app.router.add_get("/api/openapi.json", openapi, name="openapi")
    app.router.add_get("/healthz", health, name="health")
