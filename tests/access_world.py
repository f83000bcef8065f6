"""The world the access table (tests/access_table.py) is swept in: two cases, a holder of
every role, and for every path parameter the four objects of the table (own, the other
party's, the other case's, missing), per role.

Case A (sensitive) has a senior practitioner as its lead, a practitioner as co-worker, a
supervisor, and Sam (harmed), Rob (responsible) and Sid (supporter), each with a submitted
letter and a records request, and an invited participant who has not accepted yet. Case B has
its own lead, supervisor, Ann (harmed) and Abe (responsible), with the same. A manager and an
admin work on no case.

Objects, for a participant: *own* is theirs (their case, their record, their item, their
request); *other party's* is the same thing of another participant of their case (an item not
relayed to them); *other case's* is case B's; *missing* is an id that exists nowhere. For
staff the same objects are used with Sam in Sam's place. In a nested path (a participant of a
case, a practitioner of a case, an item of a case) *other case's* takes every id from case B,
and *missing* makes every id one that exists nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

from shuttle.routing import Route
from shuttle.runtime import Runtime
from tests.access_table import OBJECTS, ROLES
from tests.scenario import Scene, add_staff, build_case

PARTICIPANT_OF = {"harmed": "sam", "responsible": "rob", "supporter": "sid"}
OTHER_PARTY = {"sam": "rob", "rob": "sam", "sid": "sam"}
STAFF_OF = {
    "senior_practitioner": "lead",
    "practitioner": "colleague",
    "supervisor": "supervisor",
}
# Path parameters that are not objects: always the same, real value.
FIXED = {"code": "en", "wish": "topics"}
ID_PARAMETER = re.compile(r"{(\w+)}")


@dataclass
class AccessWorld:
    """Two cases and every role's token; the objects each role's requests aim at."""

    a: Scene
    b: Scene
    tokens: dict[str, str | None] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)  # participant key -> their letter
    requests: dict[str, str] = field(default_factory=dict)  # participant key -> records request
    entries: dict[str, str] = field(default_factory=dict)  # participant key -> a note about them
    invitations: dict[str, str] = field(default_factory=dict)  # "A"/"B" -> an unused token

    def person(self, role: str) -> str:
        """The participant standing in for ``role`` in case A (Sam for staff)."""
        return PARTICIPANT_OF.get(role, "sam")

    def participant_id(self, key: str) -> str:
        scene = self.b if key in ("ann", "abe") else self.a
        return scene.people[key].id

    def ids(self, role: str, obj: str) -> dict[str, str]:
        """Every path parameter's value for ``role`` aiming at object ``obj`` (``missing``
        is applied by :meth:`path`)."""
        me = self.person(role)
        if obj == "other_case":
            key, case = "ann", self.b.case_id
            user = self.b.staff_ids["lead"]
            token = self.invitations["B"]
        else:
            key = me if obj == "own" else OTHER_PARTY[me]
            case = self.a.case_id
            own_user = self.user_ids.get(role, self.a.staff_ids["colleague"])
            other_user = (
                self.a.staff_ids["lead"]
                if own_user == self.a.staff_ids["colleague"]
                else self.a.staff_ids["colleague"]
            )
            user = own_user if obj in ("own", "missing") else other_user
            token = self.invitations["A"]
        return {
            "case_id": case,
            "participant_id": self.participant_id(key),
            "item_id": self.items[key],
            "request_id": self.requests[key],
            "entry_id": self.entries[key],
            "user_id": user,
            "token": token,
            **FIXED,
        }

    def path(self, route: Route, role: str, obj: str) -> str:
        """The route's path for ``role`` aimed at ``obj``."""
        ids = self.ids(role, obj if obj != "missing" else "own")
        if obj == "missing":
            for name in ids:
                if name not in FIXED:
                    ids[name] = str(uuid.uuid4()) if name != "token" else "no-such-token"
        unknown = [n for n in ID_PARAMETER.findall(route.path) if n not in ids]
        assert not unknown, f"{route.path}: teach tests/access_world.py to fill {unknown}"
        return ID_PARAMETER.sub(lambda m: ids[m[1]], route.path)


def csrf_token(session_token: str) -> str:
    """The CSRF token the pages give a signed-in person (shuttle.pages.web.csrf_token)."""
    return hmac.new(session_token.encode(), b"shuttle csrf v1", hashlib.sha256).hexdigest()


def request_headers(route: Route, token: str | None) -> dict[str, str]:
    """How a caller presents their session: a bearer token to the API, a cookie to pages."""
    if not token:
        return {}
    if route.path.startswith("/api/"):
        return {"Authorization": f"Bearer {token}"}
    return {"Cookie": f"shuttle_session={token}"}


async def build_world(client: TestClient[Any, Any], runtime: Runtime) -> AccessWorld:
    """The two cases, every role's holder, and their objects, through the real API."""
    a = await build_case(
        client,
        runtime,
        sensitive=True,
        people=(("sam", "harmed"), ("rob", "responsible"), ("sid", "supporter")),
    )
    b = await build_case(
        client,
        runtime,
        people=(("ann", "harmed"), ("abe", "responsible")),
        extra_staff=(),
        tag="b",
    )
    world = AccessWorld(a, b)
    api = a.api
    for role in ("manager", "admin"):
        world.user_ids[role], email = await add_staff(runtime, role, f"The {role.title()}")
        world.tokens[role] = await api.sign_in(email)
    for role, holder in STAFF_OF.items():
        world.tokens[role] = a.staff[holder]
        world.user_ids[role] = a.staff_ids[holder]
    for role, key in PARTICIPANT_OF.items():
        world.tokens[role] = a.people[key].token
    world.tokens["anonymous"] = None
    for scene, writers in ((a, ("sam", "rob", "sid")), (b, ("ann", "abe"))):
        for key in writers:
            to = ("rob",) if key in ("sam", "sid") else ("sam",)
            if scene is b:
                to = ("abe",) if key == "ann" else ("ann",)
            item = await scene.write(key, f"A letter from {key}.", to=to)
            world.items[key] = item["id"]
            _, made = await api.call(
                "POST", "/api/v1/me/disclosure-requests", scene.people[key].token, expect=201
            )
            world.requests[key] = made["id"]
            _, entry = await api.call(
                "POST",
                f"/api/v1/cases/{scene.case_id}/entries",
                scene.lead,
                {"kind": "note", "participant_id": scene.people[key].id, "text": f"About {key}."},
                expect=201,
            )
            world.entries[key] = entry["id"]
        _, invited = await api.call(
            "POST",
            f"/api/v1/cases/{scene.case_id}/participants",
            scene.lead,
            {"role": "other", "display_name": "Pat Invited", "shown_to_others_as": "Pat"},
            expect=201,
        )
        world.invitations["A" if scene is a else "B"] = invited["invitation_token"]
    assert set(world.tokens) == set(ROLES)
    assert len(OBJECTS) == 4
    return world
