"""The access table (tests/access_table.py) swept over the running app: every API route and
every page, as every role, aimed at every kind of object. Each refused cell must be refused
with exactly the table's status and change nothing; each allowed GET must get through. A
meta-test fails when a route has no row; another holds the table itself to the rule that what
a role may not see answers exactly as a missing object does.

One world (tests/access_world.py) is built once; then some 1,800 requests, no set-up between.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from shuttle.routes import PAGES, ROUTES
from shuttle.routing import Route
from shuttle.runtime import Runtime
from tests.access_table import ALLOWED, API, OBJECTS, ROLES
from tests.access_table import PAGES as PAGE_TABLE
from tests.access_world import AccessWorld, build_world, csrf_token, request_headers
from tests.test_bad_input import (
    World,
    audit_size,
)

# SHUTTLE_TEST_ACCESS_DISCOVER=<file>: send every request, even the allowed ones, and write
# what each role got as rows for tests/access_table.py into <file> (the run then fails on
# purpose). Allowed requests change things, so read what comes out before pasting it.
DISCOVER = os.environ.get("SHUTTLE_TEST_ACCESS_DISCOVER")
PARTICIPANT_ROLES = ("harmed", "responsible", "supporter")
CASE_STAFF = ("supervisor", "senior_practitioner", "practitioner")
# Routes that change who may see what, or end the caller's sessions: sent last, in this
# order, when discovering (the sweep itself sends no allowed change).
LAST = (
    "case.state",
    "page.staff.case.state",
    "case.participant.opt_out",
    "me.opt_out",
    "page.participant.stop.post",
    "case.practitioner.add",
    "case.practitioner.conflict",
    "session.delete",
    "sessions.delete",
    "me.password",
    "page.sign_out",
    "page.account.password",
    "page.account.sign_out_everywhere",
)
OWNED = ("participant_id", "item_id", "request_id", "entry_id")


def test_every_route_has_a_row() -> None:
    """A new route or page fails this until it is given its row (with every role)."""
    for routes, table in ((ROUTES, API), (PAGES, PAGE_TABLE)):
        names = {route.name for route in routes}
        assert sorted(names - set(table)) == [], "routes without a row in tests/access_table.py"
        assert sorted(set(table) - names) == [], "rows for routes that no longer exist"
        for name, found in table.items():
            assert set(found) == set(ROLES), name
            assert all(len(cells) == len(OBJECTS) for cells in found.values()), name


def hidden_objects(role: str, route: Route) -> list[str]:
    """The objects of ``route`` that ``role`` may not know exist (so they must answer as a
    missing one does): another case's, for everyone but managers and admins (who see every
    case's state); and for a participant, another participant's record, item or request."""
    names = re.findall(r"{(\w+)}", route.path)
    if not any(name in (*OWNED, "case_id", "user_id") for name in names):
        return []
    hidden = [] if role in ("admin", "manager", "anonymous") else ["other_case"]
    if role in PARTICIPANT_ROLES and names and names[-1] in OWNED:
        hidden.append("other_party")
    return hidden


@pytest.mark.parametrize("routes", [ROUTES, PAGES], ids=["api", "pages"])
def test_what_a_role_may_not_see_answers_as_missing(routes: Iterable[Route]) -> None:
    """The rule the table is read against: 404 for what is not theirs (never a 403, never
    anything that tells it exists); anonymous callers are sent to sign in for anything not
    open to anyone."""
    table = API if routes is ROUTES else PAGE_TABLE
    wrong = []
    for route in routes:
        found = table[route.name]
        for role in ROLES:
            cells = dict(zip(OBJECTS, found[role], strict=True))
            for obj in hidden_objects(role, route):
                if cells[obj] != cells["missing"]:
                    wrong.append(f"{route.name} {role} {obj}: {cells[obj]} != {cells['missing']}")
        if not route.who.startswith("anyone") and not route.name.startswith("page.sign"):
            anonymous = set(found["anonymous"])
            if anonymous - {401, 400}:
                wrong.append(f"{route.name} anonymous: {found['anonymous']}")
    assert wrong == []


def outcome(route: Route, status: int, location: str) -> int:
    """A response as a cell of the table."""
    if route.path.startswith("/api/") or route.path.startswith("/invitation"):
        return status if status in (400, 401, 403, 404) else ALLOWED
    if status in (302, 303) and location.startswith("/sign-in"):
        return 401
    return status if status in (400, 401, 403, 404) else ALLOWED


async def send(
    world: AccessWorld, bodies: dict[str, Any], route: Route, role: str, obj: str
) -> tuple[int, str]:
    """One request of the sweep; returns (status, Location)."""
    client = world.a.api.client
    token = world.tokens[role]
    path = world.path(route, role, obj)
    headers = request_headers(route, token)
    if route.path.startswith("/api/"):
        body = bodies.get(route.name)
        data = json.dumps(body).encode() if body is not None else None
        headers["Content-Type"] = "application/json"
        kwargs: dict[str, Any] = {"data": data}
    elif route.method == "POST":
        kwargs = {"data": {"csrf_token": csrf_token(token)} if token else {}}
    else:
        kwargs = {}
    async with client.request(
        route.method, path, headers=headers, allow_redirects=False, **kwargs
    ) as response:
        if response.content_type != "text/event-stream":
            await response.read()
        status, location = response.status, response.headers.get("Location", "")
    assert status < 500, f"{role} {route.method} {path}: {status}"
    return status, location


def as_python(name: str, found: dict[str, list[int]]) -> str:
    """A discovered row, written as tests/access_table.py writes rows."""

    def cell(values: list[int]) -> str:
        shown = ["A" if v == ALLOWED else str(v) for v in values]
        return shown[0] if len(set(shown)) == 1 else f"({', '.join(shown)})"

    cells = ", ".join(cell(found[role]) for role in ROLES)
    return f'    "{name}": row({cells}),'


async def test_the_running_app_follows_the_access_table(client: Any, runtime: Runtime) -> None:
    """Every refused cell refused as the table says, changing nothing; every allowed GET let
    through; API and pages alike."""
    world = await build_world(client, runtime)
    helper = World(world.a.api, world.a)
    bodies = {}
    for route in ROUTES:
        if route.body is not None:
            bodies[route.name] = (await helper.target(route)).valid
    routes = sorted(
        (*ROUTES, *PAGES),
        key=lambda r: (LAST.index(r.name) if r.name in LAST else -1, r.method != "GET"),
    )
    details: list[str] = []
    found: dict[str, dict[str, list[int]]] = {}
    wrong: list[str] = []
    sent = 0
    for route in routes:
        table = API if route in ROUTES else PAGE_TABLE
        for role in ROLES:
            for n, obj in enumerate(OBJECTS):
                expected = None if DISCOVER else table[route.name][role][n]
                if expected == ALLOWED and route.method != "GET":
                    continue  # it would change things: tested feature by feature
                size = None if DISCOVER or expected == ALLOWED else await audit_size(runtime)
                status, location = await send(world, bodies, route, role, obj)
                sent += 1
                # A refusal changes nothing (DESIGN.md rule 7: every change is recorded, so a
                # change shows there). Allowed reads may be recorded (an export, a full text).
                if size is not None and await audit_size(runtime) != size:
                    wrong.append(f"{route.name} {role} {obj}: a refused request changed something")
                got = outcome(route, status, location)
                found.setdefault(route.name, {}).setdefault(role, []).append(got)
                if got == ALLOWED:
                    details.append(f"{route.name} {role} {obj}: {status} {location}")
                if expected is None:
                    continue
                if got != expected:
                    wrong.append(f"{route.name} {role} {obj}: {got} (table: {expected})")
    if DISCOVER:
        lines = [as_python(route.name, found[route.name]) for route in (*ROUTES, *PAGES)]
        report = "\n".join(lines) + "\n\n# allowed, as answered\n# " + "\n# ".join(details)
        await asyncio.to_thread(Path(DISCOVER).write_text, report, encoding="utf-8")
        pytest.fail(f"discovered {sent} cells into {DISCOVER}")
    assert sent > 1000
    assert wrong == [], "\n".join(wrong)
