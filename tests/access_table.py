"""Who may call each API route, as data: for every route in ``shuttle.routes.ROUTES``, the
status each kind of caller gets when they must be refused, or ``ALLOWED``.

Callers: ``anonymous`` (no token), ``outsider`` (a practitioner on another case only),
``stranger`` (a participant of another case), ``manager`` (sees states and counts, and the
case record and requests for records, never what participants wrote). The allowed callers'
own behaviour is tested feature by feature; here the sweep checks that every refusal is the
right one and changes nothing (tests/test_access_table.py).
Later: the practitioners on the case, its participants, and the pages.
"""

from __future__ import annotations

ALLOWED = 0
CALLERS = ("anonymous", "outsider", "stranger", "manager")
A = ALLOWED


def row(anonymous: int, outsider: int, stranger: int, manager: int) -> dict[str, int]:
    """One route's row: the status each caller gets, or ALLOWED."""
    return {"anonymous": anonymous, "outsider": outsider, "stranger": stranger, "manager": manager}


# fmt: off
# Each row: row(anonymous, outsider, stranger, manager).
TABLE: dict[str, dict[str, int]] = {
    "session.create": row(A, A, A, A),
    "session.mfa": row(A, A, A, A),
    "session.reauthenticate": row(401, A, A, A),
    "session.show": row(401, A, A, A),
    "session.delete": row(401, A, A, A),
    "sessions.delete": row(401, A, A, A),
    "me.password": row(401, A, A, A),
    "me.recovery_codes": row(401, A, 403, A),
    "invitation.accept": row(A, A, A, A),
    "case.create": row(401, A, 403, A),
    "case.index": row(401, A, 403, A),
    "case.show": row(401, 404, 403, A),
    "case.state": row(401, 404, 403, 403),
    "case.practitioner.add": row(401, 404, 404, A),
    "case.practitioner.conflict": row(401, 404, 404, A),
    "case.participant.add": row(401, 404, 403, 403),
    "case.participant.show": row(401, 404, 403, 403),
    "case.participant.invitation": row(401, 404, 403, 403),
    "case.participant.consent": row(401, 404, 403, 403),
    "case.participant.opt_out": row(401, 404, 403, 403),
    "case.participant.preferences": row(401, 404, 403, 403),
    "case.participant.disclosure": row(401, 404, 403, 403),
    "case.watch_list.show": row(401, 404, 403, 403),
    "case.watch_list.set": row(401, 404, 403, 403),
    "case.items": row(401, 404, 403, 403),
    "item.create": row(401, 404, 404, 403),
    "case.pre_trial": row(401, 404, 403, 403),
    "case.follow_ups": row(401, 404, 403, 403),
    "case.events": row(401, 404, 403, 403),
    "case.record": row(401, 404, 403, A),
    "case.record.csv": row(401, 404, 403, A),
    "case.entry.add": row(401, 404, 403, 403),
    "case.referral": row(401, 404, 403, 403),
    "item.show": row(401, 404, 404, 404),
    "item.change": row(401, 404, 404, 404),
    "item.submit": row(401, 404, 404, 404),
    "item.withdraw": row(401, 404, 404, 404),
    "item.decide": row(401, 404, 403, 403),
    "item.summary_consent": row(401, 404, 404, 404),
    "item.read": row(401, 404, 404, 404),
    "item.decline_response": row(401, 404, 404, 404),
    "queue": row(401, A, 403, 403),
    "inbox": row(401, 403, A, 403),
    "me.show": row(401, 403, A, 403),
    "me.items": row(401, 403, A, 403),
    "me.preferences": row(401, 403, A, 403),
    "me.opt_out": row(401, 404, A, 403),
    "me.meeting": row(401, 403, A, 403),
    "me.disclosure.create": row(401, 403, A, 403),
    "me.disclosure.index": row(401, 403, A, 403),
    "disclosure.show": row(401, 404, 404, A),
    "disclosure.review": row(401, 404, 404, A),
    "disclosure.decide": row(401, 404, 403, 403),
    "disclosure.extend": row(401, 404, 403, 403),
    # A manager may give the second approval, never the first (409 practitioner_first).
    "disclosure.release": row(401, 404, 403, 409),
    "disclosure.package": row(401, 404, 404, 404),
    "audit.verify": row(401, 403, 403, A),
}
# fmt: on

# The pages' live streams (server-sent events), swept with the session cookie: a caller who
# must be refused gets the status here (303: to the sign-in page) before any stream opens.
# fmt: off
STREAMS: dict[str, dict[str, int]] = {
    "page.staff.queue.live": row(303, A, 403, 403),
    "page.participant.live": row(303, 403, A, 403),
}
# fmt: on

# Routes outside the API and the pages, and who may call them.
# "metrics" is decided by the caller's address or a bearer token, not by who is signed in:
# loopback (SHUTTLE_METRICS_ALLOWED_NETWORKS) or SHUTTLE_METRICS_TOKEN, else 403
# (tests/test_observability.py::test_metrics_refuse_other_addresses_without_the_token).
OUTSIDE = {
    "health": "anyone",
    "openapi": "anyone",
    "static": "anyone",
    "metrics": "allowed networks, or the metrics bearer token",
}
