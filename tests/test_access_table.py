"""The route-by-caller access table (tests/access_table.py), swept over every API route: the
callers who must be refused are refused with exactly the status the table says, and the
refusal changes nothing. A meta-test fails when a route has no row."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from shuttle.routes import PAGES, ROUTES
from shuttle.runtime import Runtime
from tests.access_table import ALLOWED, CALLERS, OUTSIDE, STREAMS, TABLE
from tests.scenario import add_staff, build_case
from tests.test_bad_input import (
    World,
    audit_size,
    cheap_password_hashing,  # noqa: F401  (autouse: fast hashing)
)

# SHUTTLE_TEST_ACCESS_DISCOVER=1: send every request, even the allowed ones, and print what
# each caller got, to review when filling a new row (the run then fails on purpose).
DISCOVER = os.environ.get("SHUTTLE_TEST_ACCESS_DISCOVER") == "1"


@pytest.fixture
async def world(client: Any, runtime: Runtime) -> World:
    """A case with a lead, a supervisor, a colleague, Sam (harmed) and Rob (responsible)."""
    scene = await build_case(client, runtime)
    return World(scene.api, scene)


def test_every_api_route_has_a_row() -> None:
    """A new route fails this until it is given its row (and each row has every caller)."""
    names = {route.name for route in ROUTES}
    assert sorted(names - set(TABLE)) == [], "routes without a row in tests/access_table.py"
    assert sorted(set(TABLE) - names) == [], "rows for routes that no longer exist"
    for name, row in TABLE.items():
        assert set(row) == set(CALLERS), name


async def _path_and_body(world: World, route: Any) -> tuple[str, Any]:
    """The route aimed at real objects of the world's case, with a body that would succeed."""
    if route.body is not None:
        target = await world.target(route)
        return target.path, target.valid
    scene = world.scene
    ids = {
        "case_id": scene.case_id,
        "participant_id": scene.people["sam"].id,
        "item_id": (await world.draft())["id"],
        "request_id": (await world.disclosure())["id"],
        "user_id": scene.staff_ids["colleague"],
        "token": (await world.invited())["invitation_token"],
    }
    return route.path.format(**ids), None


async def test_refusals_follow_the_access_table(world: World, runtime: Runtime) -> None:
    """Nobody signed in, a practitioner of another case, a participant of another case and a
    manager: each refused as the table says, and nothing recorded."""
    api = world.api
    other = await build_case(
        api.client, runtime, people=(("ann", "harmed"),), extra_staff=(), tag="other"
    )
    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    tokens = {
        "anonymous": None,
        "outsider": other.lead,
        "stranger": other.people["ann"].token,
        "manager": await api.sign_in(manager_email),
    }
    found: dict[str, dict[str, int]] = {}
    for route in ROUTES:
        path, body = await _path_and_body(world, route)
        for caller in CALLERS:
            expected = TABLE[route.name][caller]
            if expected == ALLOWED:
                continue
            size = await audit_size(runtime)
            token = tokens[caller]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            raw = json.dumps(body).encode() if body is not None else None
            response = await api.client.request(
                route.method,
                path,
                data=raw,
                headers={**headers, "Content-Type": "application/json"},
            )
            found.setdefault(route.name, {})[caller] = response.status
            if DISCOVER:
                continue
            assert await audit_size(runtime) == size, f"{caller} {route.name} changed the log"
    if DISCOVER:
        print(json.dumps(found, indent=1))
    wrong = {
        name: {c: s for c, s in row.items() if s != TABLE[name][c]} for name, row in found.items()
    }
    wrong = {name: row for name, row in wrong.items() if row}
    if wrong:
        pytest.fail("not as tests/access_table.py says:\n" + json.dumps(wrong, indent=1))


def test_every_stream_and_outside_route_has_a_row(client: Any) -> None:
    """The live streams have rows; so does every route that is neither API nor page."""
    streams = {route.name for route in PAGES if route.name.endswith(".live")}
    assert streams == set(STREAMS)
    named = {
        resource.name
        for resource in client.server.app.router.resources()
        if resource.name is not None
    }
    pages_and_api = {route.name for route in (*ROUTES, *PAGES)}
    assert named - pages_and_api == set(OUTSIDE)


async def test_stream_refusals_follow_the_access_table(world: World, runtime: Runtime) -> None:
    """The live streams, opened by each caller who must be refused, refuse as the table says."""
    api = world.api
    other = await build_case(
        api.client, runtime, people=(("ann", "harmed"),), extra_staff=(), tag="other"
    )
    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    tokens = {
        "anonymous": None,
        "outsider": other.lead,
        "stranger": other.people["ann"].token,
        "manager": await api.sign_in(manager_email),
    }
    paths = {route.name: route.path for route in PAGES}
    found = {}
    for name, row in STREAMS.items():
        for caller, expected in row.items():
            if expected == ALLOWED:
                continue
            token = tokens[caller]
            headers = {"Cookie": f"shuttle_session={token}"} if token else {}
            path = paths[name] + "?seen=0123456789abcdef"  # as the page opens it
            response = await api.client.get(path, headers=headers, allow_redirects=False)
            found[(name, caller)] = (response.status, expected)
            response.close()
    assert all(status == expected for status, expected in found.values()), found
