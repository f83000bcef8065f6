# ruff: noqa: E501  (the table: one route a line, as in shuttle/routes.py)
"""Who may call each route, as data: every API route (``shuttle.routes.ROUTES``) and every page
(``shuttle.routes.PAGES``) by every role by every object → the expected outcome.

Roles: ``admin``, ``manager``, ``supervisor``, ``senior_practitioner``, ``practitioner`` (on
case A: its supervisor, lead and co-worker), ``harmed``, ``responsible``, ``supporter`` (the
participants of case A), ``anonymous``. Objects (tests/access_world.py): ``own``,
``other_party`` (another participant's of the same case), ``other_case`` (case B's),
``missing`` (an id that exists nowhere). A cell is ``A`` (allowed: past every access check,
whatever the answer then is, e.g. 200, 409 or 422) or the refusal's status: 401 (not signed
in; for a page, the redirect to sign in), 403 (signed in, may know the object, may not do
this), 404 (not found or not theirs, alike), 400 (a page's form without a CSRF token).

A row gives each role one outcome for every object, or four, in the order of ``OBJECTS``. The
sweep (tests/test_access_table.py) sends every refused cell and every allowed GET to the
running app; a meta-test fails if a route has no row, and another checks the table against
the rule: whatever a role may not see answers exactly as a missing object does.

The rows were first filled by ``SHUTTLE_TEST_ACCESS_DISCOVER=1`` and then read cell by cell;
what looked odd is explained in ``WHY``.
"""

from __future__ import annotations

ALLOWED = 0
A = ALLOWED
ROLES = (
    "admin",
    "manager",
    "supervisor",
    "senior_practitioner",
    "practitioner",
    "harmed",
    "responsible",
    "supporter",
    "anonymous",
)
OBJECTS = ("own", "other_party", "other_case", "missing")
Cell = int | tuple[int, int, int, int]
Row = dict[str, tuple[int, int, int, int]]


def row(
    admin: Cell,
    manager: Cell,
    supervisor: Cell,
    senior_practitioner: Cell,
    practitioner: Cell,
    harmed: Cell,
    responsible: Cell,
    supporter: Cell,
    anonymous: Cell,
) -> Row:
    """One route's row: each role's outcome, for every object alike or object by object."""
    given = {
        "admin": admin,
        "manager": manager,
        "supervisor": supervisor,
        "senior_practitioner": senior_practitioner,
        "practitioner": practitioner,
        "harmed": harmed,
        "responsible": responsible,
        "supporter": supporter,
        "anonymous": anonymous,
    }
    return {
        role: cell if isinstance(cell, tuple) else (cell, cell, cell, cell)
        for role, cell in given.items()
    }


WHY: dict[str, str] = {
    "case.practitioner.conflict": (
        "A manager may declare a practitioner's conflict of interest on any case (and so take "
        "them off it), as they may put practitioners on any case (case.practitioner.add): "
        "managers staff cases. The details they give are sealed under the case's key and "
        "never shown back to them; a practitioner may declare their own conflict; the lead "
        "or supervisor anyone's on their case."
    ),
    "case.practitioner.add": (
        "An admin gets 404 for every case here, as for everything in a case: admins run "
        "accounts, not cases (the same answer whatever the object, so nothing is revealed)."
    ),
    "participants on staff routes": (
        "A participant gets 403 on a practitioners' route (and a practitioner 403 on a "
        "participants' route) for every object alike, missing ones included: the refusal is "
        "for the role, before any look-up, so it tells nothing about any object."
    ),
    "case.participant.opt_out": (
        "A participant may opt themself out through the case's route too (API.md); anyone "
        "else's record, in their case or not, or a missing one: 403 alike."
    ),
    "me.opt_out": (
        "Staff have no participant record: 403 for managers and admins (no permission), 404 "
        "for practitioners (no record of theirs); neither names an object."
    ),
    "page.staff.review": (
        "A participant opening the review page of their own item gets 403 (it is theirs, "
        "they know it exists, this is not their page); anyone else's or a missing one: 404."
    ),
    "page.staff.write.submit": (
        "The practitioners' 'send a draft to be checked' form leads to the same service as "
        "the participant's own: the author of an item may submit it (409 here: it was "
        "submitted already); everyone else's item: 404."
    ),
    "page.participant.received": (
        "'own' is the participant's own letter, which was not relayed to them: 404. Reading "
        "what was relayed is swept by tests/test_leaks_stateful.py."
    ),
    "session.mfa, invitation.accept, page.sign_in.code": (
        "Open to anyone holding a challenge or an invitation: the token is the object; a "
        "missing or used one answers 401 or 404 for everyone alike."
    ),
}

# fmt: off
API: dict[str, Row] = {
    "session.create": row(A, A, A, A, A, A, A, A, A),
    "session.mfa": row(A, A, A, A, A, A, A, A, A),
    "session.reauthenticate": row(A, A, A, A, A, A, A, A, 401),
    "session.show": row(A, A, A, A, A, A, A, A, 401),
    "session.delete": row(A, A, A, A, A, A, A, A, 401),
    "sessions.delete": row(A, A, A, A, A, A, A, A, 401),
    "me.password": row(A, A, A, A, A, A, A, A, 401),
    "me.recovery_codes": row(A, A, A, A, A, 403, 403, 403, 401),
    "invitation.accept": row((A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404), (A, A, A, 404)),
    "case.create": row(403, A, A, A, A, 403, 403, 403, 401),
    "case.index": row(A, A, A, A, A, 403, 403, 403, 401),
    "case.show": row((A, A, A, 404), (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.state": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (403, 403, 404, 404), 403, 403, 403, 401),
    "case.practitioner.add": row(404, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (403, 403, 404, 404), 404, 404, 404, 401),
    "case.practitioner.conflict": row(404, (404, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 403, 404, 404), 404, 404, 404, 401),
    "case.participant.add": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.participant.show": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.participant.invitation": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.participant.consent": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.participant.opt_out": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 403, 403, 403), (A, 403, 403, 403), (A, 403, 403, 403), 401),
    "case.participant.preferences": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.participant.disclosure": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.watch_list.show": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.watch_list.set": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.items": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "item.create": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 401),
    "case.pre_trial": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.follow_ups": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.events": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "item.show": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "item.change": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "item.submit": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "item.withdraw": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "item.decide": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "item.summary_consent": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "item.read": row(404, 404, 404, 404, 404, 404, 404, 404, 401),
    "item.decline_response": row(404, 404, 404, 404, 404, 404, 404, 404, 401),
    "queue": row(403, 403, A, A, A, 403, 403, 403, 401),
    "inbox": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.show": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.items": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.preferences": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.opt_out": row(403, 403, 404, 404, 404, A, A, A, 401),
    "me.meeting": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.disclosure.create": row(403, 403, 403, 403, 403, A, A, A, 401),
    "me.disclosure.index": row(403, 403, 403, 403, 403, A, A, A, 401),
    "disclosure.show": row((A, A, A, 404), (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "disclosure.release": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "disclosure.package": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "audit.verify": row(A, A, 403, 403, 403, 403, 403, 403, 401),
    # Case records and the disclosure review (issue 6); withdrawing and the inbox stream
    # (pages). Managers oversee every case of the service: they read case records and
    # requests for records and may give the second approval (never write to a record).
    "case.record": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.record.csv": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.entry.add": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "case.referral": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "disclosure.review": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 401),
    "disclosure.decide": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "disclosure.extend": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
}

PAGES: dict[str, Row] = {
    "page.start": row(A, A, A, A, A, A, A, A, 401),
    "page.sign_in": row(A, A, A, A, A, A, A, A, A),
    "page.sign_in.post": row(A, A, A, A, A, A, A, A, 400),
    "page.sign_in.code": row(401, 401, 401, 401, 401, 401, 401, 401, 400),
    "page.reauthenticate": row(A, A, A, A, A, A, A, A, 401),
    "page.reauthenticate.post": row(A, A, A, A, A, A, A, A, 400),
    "page.account": row(A, A, A, A, A, A, A, A, 401),
    "page.account.password": row(A, A, A, A, A, A, A, A, 400),
    "page.account.sign_out_everywhere": row(A, A, A, A, A, A, A, A, 400),
    "page.sign_out": row(A, A, A, A, A, A, A, A, 400),
    "page.signed_out": row(A, A, A, A, A, A, A, A, A),
    "page.language": row(A, A, A, A, A, A, A, A, A),
    "page.invitation": row(A, A, A, A, A, A, A, A, A),
    "page.invitation.post": row(A, A, A, A, A, A, A, A, 400),
    "page.participant.home": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.welcome": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.consent": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.consent.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.write": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.write.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.write.words": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.write.words.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.item": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.resume": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.words": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.words.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.item.who": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.who.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.item.how": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.how.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.item.response": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.response.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.item.check": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.submit": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.item.sent": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.summary": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.summary.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.inbox": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.received": row(404, 404, 404, 404, 404, 404, 404, 404, 401),
    "page.participant.received.post": row(404, 404, 404, 404, 404, 404, 404, 404, 400),
    "page.participant.received.read": row(404, 404, 404, 404, 404, 404, 404, 404, 401),
    "page.participant.received.decline": row(404, 404, 404, 404, 404, 404, 404, 404, 400),
    "page.participant.wishes": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.wish": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.wish.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.meeting": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.meeting.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.stop": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.stop.post": row(403, 403, 404, 404, 404, A, A, A, 400),
    "page.participant.stopped": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.records": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.participant.records.post": row(403, 403, 403, 403, 403, A, A, A, 400),
    "page.participant.records.download": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.staff.queue": row(403, 403, A, A, A, 403, 403, 403, 401),
    "page.staff.queue.next": row(403, 403, A, A, A, 403, 403, 403, 400),
    "page.staff.queue.live": row(403, 403, A, A, A, 403, 403, 403, 401),
    "page.staff.review": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (403, 404, 404, 404), (403, 404, 404, 404), (403, 404, 404, 404), 401),
    "page.staff.review.decide": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (403, 404, 404, 404), (403, 404, 404, 404), (403, 404, 404, 404), 400),
    "page.staff.claim": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.release": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.cases": row(A, A, A, A, A, 403, 403, 403, 401),
    "page.staff.case.new": row(403, A, A, A, A, 403, 403, 403, 401),
    "page.staff.case.create": row(403, A, A, A, A, 403, 403, 403, 400),
    "page.staff.case": row((A, A, A, 404), (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.case.state": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (403, 403, 404, 404), 403, 403, 403, 400),
    "page.staff.watch_list": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.watch_list.set": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.participant.new": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.participant.add": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.participant.invitation": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.consent": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.consent.record": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.write": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.write.save": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.write.submit": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.staff.disclosures": row((403, 403, 403, 404), (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.disclosure.record": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.disclosure.release": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.disclosure.package": row(404, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    # Case records and the disclosure review (issue 6); withdrawing and the inbox stream
    # (pages). Managers oversee every case of the service: they read case records and
    # requests for records and may give the second approval (never write to a record).
    "page.participant.item.withdraw": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 401),
    "page.participant.item.withdraw.post": row(404, 404, 404, 404, 404, (A, 404, 404, 404), (A, 404, 404, 404), (A, 404, 404, 404), 400),
    "page.participant.live": row(403, 403, 403, 403, 403, A, A, A, 401),
    "page.staff.record": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.record.json": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.record.csv": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.record.new": row(403, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.record.add": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.referral": row(403, 404, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 401),
    "page.staff.referral.set": row(403, 403, (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 403, 403, 403, 400),
    "page.staff.disclosure.review": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 401),
    "page.staff.disclosure.note": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 401),
    "page.staff.disclosure.note.decide": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 400),
    "page.staff.disclosure.extension": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 401),
    "page.staff.disclosure.extend": row(403, (A, A, A, 404), (A, A, 404, 404), (A, A, 404, 404), (A, A, 404, 404), 404, 404, 404, 400),
}
# fmt: on
