"""The whole URL map on one screen. Every route is named; the OpenAPI description is built from it."""

from __future__ import annotations

from aiohttp import web

from shuttle.api import cases, items, me, records, schemas, session
from shuttle.api import openapi as openapi_doc
from shuttle.metrics import metrics
from shuttle.pages import participant, staff
from shuttle.pages import security as security_pages
from shuttle.pages import session as session_pages
from shuttle.pages.web import static_dir
from shuttle.routing import Route
from shuttle.settings import Settings

V1 = "/api/v1"
CASE = V1 + "/cases/{case_id}"
PARTICIPANT = CASE + "/participants/{participant_id}"
ITEM = V1 + "/items/{item_id}"
DISCLOSURE = V1 + "/disclosure-requests/{request_id}"

SIGN_IN_NOTES = (
    'A participant gets `200 {"token", "user"}`. Staff sign in with a second factor: '
    '`200 {"mfa_required": true, "challenge"}`; send the challenge and a code to '
    "`POST /api/v1/session/mfa` within 5 minutes. Staff not yet enrolled get also "
    '`"enrolment_required": true, "totp": {"secret", "uri"}`: a base32 RFC 6238 '
    "secret (SHA-1, 6 digits, 30 s) and its otpauth:// URI for an authenticator app; the first "
    "right code enrols it. Wrong passwords are counted per account and per address: past a few, "
    "`429` with `Retry-After`, growing 1 s, 2 s, 4 s... the same for accounts that exist and "
    "those that do not."
)
SECOND_FACTOR_NOTES = (
    '`{"challenge", "code"}`: the code is the authenticator\'s six digits (each accepted '
    'once) or one of the recovery codes (each accepted once). `200 {"token", "user"}`, '
    'and, the one time an authenticator was enrolled, `"recovery_codes": [str]` (shown '
    "once). `401 invalid_code` for a wrong code; `401 challenge_ended` for an unknown, used or "
    "expired challenge or after 5 wrong codes; `429` while guessing is held back."
)
REAUTHENTICATE_NOTES = (
    '`{"password", "code"?}` (staff give a code) → `200 {"authenticated_at"}`. '
    "Sensitive actions need a sign-in or re-authentication within the last few minutes "
    "(`SHUTTLE_REAUTHENTICATION_MINUTES`, default 10), else `401 reauthentication_required`."
)
CHANGE_NOTES = (
    '`{"current_password", "new_password"}` → `204`; every other session of the caller '
    "ends. New passwords: 12 to 1024 characters, not on the list of common and breached "
    "passwords (`422 weak_password`). A wrong current password is `401` and counts as a failed "
    "sign-in."
)
RECOVERY_NOTES = '`201 {"recovery_codes": [str]}`, shown once. Needs a recent re-authentication.'
SENSITIVE_NOTES = (
    "A sensitive action: `401 reauthentication_required` unless the caller signed in or "
    "re-authenticated (`POST /api/v1/session/reauthenticate`) within the last few minutes."
)
REVIEW_NOTES = (
    '`{"request", "participant", "items_written", "items_relayed", "notes", "other_entries", '
    '"events", "undecided", "may_decide", "exemptions", "extension_reasons", "next_step"}`. '
    "`notes` are the facilitators' notes and risk assessments about the requester, each with "
    "its `decision` (null until decided). `next_step` is one of `decide_notes`, "
    "`first_approval`, `waiting_for_first_approval`, `second_approval`, "
    "`waiting_for_second_approval`, `released`."
)
DECIDE_NOTES = (
    '`{"decision": "disclose"}` or `{"decision": "withhold", "exemption": CODE}` with a code '
    "of policies/disclosure.toml (`third_party`, `serious_harm`, `crime_prevention`, "
    "`legal_privilege`, `child_abuse` as shipped). Changing a decision after the first "
    "approval withdraws that approval (the request goes back to `received`). `404` for an "
    "entry that is not a note about the requester; `409 already_released`."
)
EXTEND_NOTES = (
    '`{"months": 1 or 2, "reason": "complex" | "numerous", "note"?}` → the request with its '
    "new `due_by` and `extension`. Once per request, within the first month, before release "
    "(`409 already_extended`, `409 too_late`, `409 already_released`)."
)
RELEASE_NOTES = (
    "Two people release records. The first call, by a practitioner on the case, records the "
    'first approval: `200 {"state": "awaiting_second_approval", "first_approved_by"}`. The '
    "same call by a different person (another practitioner on the case, its supervisor, or a "
    'service manager) builds the package and releases it: `200 {"state": "released"}`. '
    "`409 same_person` when the first approver calls again (nothing changes); "
    "`409 practitioner_first` when a manager would approve first; `409 review_incomplete` "
    "while a note is not decided; `409 already_released`. " + SENSITIVE_NOTES
)
RECORD_NOTES = (
    '`{"format": "shuttle-case-record/1", "case": {"reference", "incident", '
    '"referral_source", "referred_on", ...}, "practitioners", "participants", '
    '"safety_assessments", "contacts", "outcomes", "feedback"}`; the case\'s practitioners '
    'also get `"notes"`. Contacts are those recorded and every item relayed (as a letter).'
)

# fmt: off
ROUTES: tuple[Route, ...] = (
    Route("POST", V1 + "/session", session.sign_in, "session.create", "Sign in", "anyone", schemas.SignIn, notes=SIGN_IN_NOTES),
    Route("POST", V1 + "/session/mfa", session.second_factor, "session.mfa", "Sign in: the second factor", "anyone holding a challenge", schemas.SecondFactor, notes=SECOND_FACTOR_NOTES),
    Route("POST", V1 + "/session/reauthenticate", session.reauthenticate, "session.reauthenticate", "Prove it is you again, before a sensitive action", "signed in", schemas.Reauthenticate, notes=REAUTHENTICATE_NOTES),
    Route("GET", V1 + "/session", session.current, "session.show", "Who am I"),
    Route("DELETE", V1 + "/session", session.sign_out, "session.delete", "Sign out", "signed in", None, 204),
    Route("DELETE", V1 + "/sessions", session.sign_out_everywhere, "sessions.delete", "Sign out everywhere: every session of mine ends", "signed in", None, 204),
    Route("PUT", V1 + "/me/password", session.change_password, "me.password", "Change my password (my other sessions end)", "signed in", schemas.PasswordChange, 204, notes=CHANGE_NOTES),
    Route("POST", V1 + "/me/recovery-codes", session.renew_recovery_codes, "me.recovery_codes", "New recovery codes (the old ones stop working)", "staff, re-authenticated recently", schemas.Empty, 201, notes=RECOVERY_NOTES),
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
    Route("GET", CASE + "/events", cases.events, "case.events", "The case's audit events", "practitioners on the case"),
    Route("GET", CASE + "/record", records.case_record, "case.record", "The case record (guidance G 6)", "practitioners on the case, managers", notes=RECORD_NOTES),
    Route("GET", CASE + "/record.csv", records.case_record_csv, "case.record.csv", "The case record as CSV, for the service (the export is recorded)", "practitioners on the case, managers"),
    Route("POST", CASE + "/entries", records.add_entry, "case.entry.add", "Add a note, risk assessment, contact, outcome or feedback to the case record", "practitioners on the case", schemas.CaseEntry, 201),
    Route("PUT", CASE + "/referral", records.set_referral, "case.referral", "Record the incident and the referral", "practitioners on the case", schemas.Referral),
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
    Route("GET", DISCLOSURE + "/review", records.review, "disclosure.review", "The review task list: every record about the requester, each note's decision", "practitioners on the case, managers", notes=REVIEW_NOTES),
    Route("PUT", DISCLOSURE + "/decisions/{entry_id}", records.decide, "disclosure.decide", "Disclose or withhold one note or risk assessment", "practitioners on the case", schemas.NoteDecision, notes=DECIDE_NOTES),
    Route("POST", DISCLOSURE + "/extension", records.extend, "disclosure.extend", "Extend the time limit (complex or numerous requests)", "practitioners on the case", schemas.Extension, notes=EXTEND_NOTES),
    Route("POST", DISCLOSURE + "/release", records.release, "disclosure.release", "Approve the release: first approval, then a second person's releases the records", "practitioners on the case (first); another practitioner on the case, its supervisor or a manager (second); re-authenticated recently", schemas.Empty, notes=RELEASE_NOTES),
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
    Route("POST", "/sign-in/code", security_pages.sign_in_code, "page.sign_in.code", "Sign in: the code from the authenticator app", "anyone holding a challenge"),
    Route("GET", "/reauthenticate", security_pages.reauthenticate_form, "page.reauthenticate", "Confirm it is you", "signed in"),
    Route("POST", "/reauthenticate", security_pages.reauthenticate, "page.reauthenticate.post", "Confirm it is you", "signed in"),
    Route("GET", "/account", security_pages.account, "page.account", "Your account: password, sign out everywhere", "signed in"),
    Route("POST", "/account/password", security_pages.change_password, "page.account.password", "Change your password", "signed in"),
    Route("POST", "/account/sign-out-everywhere", security_pages.sign_out_everywhere, "page.account.sign_out_everywhere", "Sign out everywhere", "signed in"),
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
    app.router.add_get("/metrics", metrics, name="metrics")
