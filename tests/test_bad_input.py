"""Every body validated; the error format and status codes of API.md; bodies over a limit → 413;
nothing changed by a refused request.

Each route that takes a body (read from ``shuttle.routes.ROUTES``) is aimed at a real object
that a valid body would change, by a caller who may change it; then it is sent bodies that are
not JSON, not an object, with an unknown field, a wrong type, a missing field, or too large.
Every answer must be the standard error with the right status, and the database must be
exactly as it was. Last, the valid body is sent and succeeds, which shows that the refused
requests could have changed something. Hypothesis then fuzzes three key routes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlmodel import SQLModel

import shuttle.models  # noqa: F401  (registers every table on SQLModel.metadata)
from shuttle.models import AuditHead
from shuttle.routes import ROUTES, Route
from shuttle.runtime import Runtime
from tests import authenticator
from tests.scenario import PASSWORD, Api, Scene, build_case

BODY_ROUTES = [route for route in ROUTES if route.body is not None]
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
NOT_JSON = [b"{not json", b"{'single': 'quotes'}", b'{"a": 1', b"\xff\xfe\x00", b"NaN-ish"]
NOT_AN_OBJECT = [b"[]", b"[{}]", b"42", b"-1.5", b'"a string"', b"true", b"null"]
WRONG_VALUES: list[Any] = [12345, 1.5, "text", True, None, [1], {"a": 1}]


def assert_error(data: Any, status: int, expected: int) -> str:
    """The one error shape of API.md, with the expected status; returns the code."""
    assert status == expected, f"expected {expected}, got {status}: {data!r}"
    assert isinstance(data, dict) and set(data) == {"error"}, data
    error = data["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error), data
    assert set(error) <= {"code", "message", "fields"}, data
    assert isinstance(error["code"], str) and SNAKE.fullmatch(error["code"]), data
    assert isinstance(error["message"], str) and error["message"].strip(), data
    return str(error["code"])


async def audit_size(runtime: Runtime) -> int:
    """The audit log's size: every state change appends to it (DESIGN.md rule 7)."""
    async with runtime.read() as tx:
        head = await tx.session.get(AuditHead, 1)
        assert head is not None
        return head.size


async def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (but a session's last-use time, which reads may touch)."""
    dump: dict[str, list[tuple[Any, ...]]] = {}
    async with runtime.read() as tx:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_at"]
            rows = (await tx.session.exec(select(*columns))).all()
            dump[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return dump


@dataclass
class Target:
    """A route aimed at a real object: who calls, the path, and a body that would succeed."""

    token: str | None
    path: str
    valid: dict[str, Any]
    status: int


@dataclass
class World:
    """A case with staff and participants, and the objects routes act on, made on demand."""

    api: Api
    scene: Scene
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def case(self) -> str:
        return f"/api/v1/cases/{self.scene.case_id}"

    async def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self.cache:
            self.cache[key] = await make()
        return self.cache[key]

    async def invited(self) -> dict[str, Any]:
        """A participant who has not accepted their invitation nor consented."""

        async def make() -> dict[str, Any]:
            _, added = await self.api.call(
                "POST",
                f"{self.case}/participants",
                self.scene.lead,
                {"role": "other", "display_name": "Pat Fullname", "shown_to_others_as": "Pat"},
                expect=201,
            )
            return added  # type: ignore[no-any-return]

        return await self.once("invited", make)  # type: ignore[no-any-return]

    async def draft(self) -> dict[str, Any]:
        """Rob's draft letter to Sam."""
        return await self.once("draft", lambda: self.scene.write("rob", submit=False))  # type: ignore[no-any-return]

    async def submitted(self) -> dict[str, Any]:
        """Rob's submitted letter, opened by the lead (so its digest is known)."""

        async def make() -> dict[str, Any]:
            item = await self.scene.write("rob")
            _, seen = await self.api.call(
                "GET", f"/api/v1/items/{item['id']}", self.scene.lead, expect=200
            )
            return seen  # type: ignore[no-any-return]

        return await self.once("submitted", make)  # type: ignore[no-any-return]

    async def summary_held(self) -> dict[str, Any]:
        """Rob's summary-scope item, approved with a summary that waits for his answer."""

        async def make() -> dict[str, Any]:
            item = await self.scene.write("rob", scope="summary")
            return await self.scene.decide(item["id"], summary="Rob says sorry.")

        return await self.once("summary", make)  # type: ignore[no-any-return]

    async def relayed(self) -> dict[str, Any]:
        """An item relayed to Sam, not read yet."""

        async def make() -> dict[str, Any]:
            await self.scene.willing("sam")
            sharing = {"scope": "verbatim", "recipient_ids": [self.scene.people["sam"].id]}
            body = {"kind": "question", "body": "Why?", "sharing": sharing}
            _, item = await self.api.call(
                "POST",
                f"{self.case}/items",
                self.people("rob"),
                {**body, "response_wanted": "reply"},
                expect=201,
            )
            await self.api.call(
                "POST", f"/api/v1/items/{item['id']}/submit", self.people("rob"), expect=200
            )
            return await self.scene.decide(item["id"])

        return await self.once("relayed", make)  # type: ignore[no-any-return]

    async def disclosure(self) -> dict[str, Any]:
        """Sam's request for her records."""

        async def make() -> dict[str, Any]:
            _, made = await self.api.call(
                "POST", "/api/v1/me/disclosure-requests", self.people("sam"), expect=201
            )
            return made  # type: ignore[no-any-return]

        return await self.once("disclosure", make)  # type: ignore[no-any-return]

    async def note(self) -> dict[str, Any]:
        """A facilitator's note about Sam, to decide on for her request for records."""

        async def make() -> dict[str, Any]:
            body = {"kind": "note", "participant_id": self.scene.people["sam"].id, "text": "Calm."}
            _, made = await self.api.call(
                "POST", f"{self.case}/entries", self.scene.lead, body, expect=201
            )
            return made  # type: ignore[no-any-return]

        return await self.once("note", make)  # type: ignore[no-any-return]

    def people(self, name: str) -> str:
        return self.scene.people[name].token

    async def target(self, route: Route) -> Target:
        """The route aimed at a real object, with a body that would succeed."""
        lead, sam, rob = self.scene.lead, self.people("sam"), self.people("rob")
        sam_id = self.scene.people["sam"].id
        case, status = self.case, route.status
        preferences = {
            "receive": "no",
            "unwanted_topics": ["work"],
            "delivery": "printed",
            "tell_author_when_read": True,
        }
        match route.name:
            case "session.create":
                email = "sam@people.example"  # a participant: a session at once
                return Target(None, route.path, {"email": email, "password": PASSWORD}, status)
            case "session.mfa":
                email = "lee.lead@service.example"
                _, first = await self.api.call(
                    "POST",
                    "/api/v1/session",
                    body={"email": email, "password": PASSWORD},
                    expect=200,
                )
                answer = authenticator.answer(self.api.database, email, first)
                return Target(None, route.path, answer, status)
            case "session.reauthenticate":
                app = authenticator.app_for(self.api.database, "lee.lead@service.example")
                assert app is not None
                return Target(lead, route.path, {"password": PASSWORD, "code": app.code()}, status)
            case "me.password":
                body = {"current_password": PASSWORD, "new_password": "another long passphrase"}
                return Target(sam, route.path, body, status)
            case "me.recovery_codes":
                return Target(lead, route.path, {}, status)
            case "invitation.accept":
                token = (await self.invited())["invitation_token"]
                path = route.path.format(token=token)
                return Target(None, path, {"email": "pat@x.example", "password": PASSWORD}, status)
            case "case.create":
                return Target(lead, route.path, {"reference": "RJ-NEW"}, status)
            case "case.state":
                return Target(lead, f"{case}/state", {"state": "paused"}, status)
            case "case.practitioner.add":
                body = {
                    "user_id": self.scene.staff_ids["colleague"],
                    "role": "co_worker",
                    "conflict_of_interest": {"declared": False},
                }
                return Target(lead, f"{case}/practitioners", body, status)
            case "case.practitioner.conflict":
                colleague = self.scene.staff_ids["colleague"]
                path = f"{case}/practitioners/{colleague}/conflict"
                return Target(lead, path, {"details": "Lives next door."}, status)
            case "case.participant.add":
                body = {"role": "supporter", "display_name": "Sid", "shown_to_others_as": "Sid"}
                return Target(lead, f"{case}/participants", body, status)
            case "case.participant.invitation":
                path = f"{case}/participants/{(await self.invited())['id']}/invitation"
                return Target(lead, path, {}, status)
            case "case.participant.consent":
                path = f"{case}/participants/{(await self.invited())['id']}/consent"
                body = {"information_sheet_version": "2026-1", "method": "phone"}
                return Target(lead, path, body, status)
            case "case.participant.opt_out":
                path = f"{case}/participants/{sam_id}/opt-out"
                return Target(lead, path, {"reason": "She asked."}, status)
            case "case.participant.preferences":
                return Target(
                    lead, f"{case}/participants/{sam_id}/preferences", preferences, status
                )
            case "case.participant.disclosure":
                return Target(lead, f"{case}/participants/{sam_id}/disclosure-requests", {}, status)
            case "case.watch_list.set":
                return Target(lead, f"{case}/watch-list", {"terms": ["Millbrook"]}, status)
            case "item.create":
                body = {
                    "kind": "letter",
                    "body": "Hello.",
                    "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
                }
                return Target(rob, f"{case}/items", body, status)
            case "item.change":
                path = f"/api/v1/items/{(await self.draft())['id']}"
                return Target(rob, path, {"body": "Changed."}, status)
            case "item.submit" | "item.withdraw":
                action = route.path.rsplit("/", 1)[1]
                path = f"/api/v1/items/{(await self.draft())['id']}/{action}"
                return Target(rob, path, {}, status)
            case "item.decide":
                item = await self.submitted()
                body = {"decision": "approve", "version_digest": item["version_digest"]}
                return Target(lead, f"/api/v1/items/{item['id']}/decisions", body, status)
            case "item.summary_consent":
                path = f"/api/v1/items/{(await self.summary_held())['id']}/summary-consent"
                return Target(rob, path, {"agree": True}, status)
            case "item.read" | "item.decline_response":
                action = route.path.rsplit("/", 1)[1]
                path = f"/api/v1/items/{(await self.relayed())['id']}/{action}"
                return Target(sam, path, {}, status)
            case "case.pre_trial":
                _, pre_trial = await self.api.call(
                    "POST",
                    "/api/v1/cases",
                    lead,
                    {"reference": "RJ-PRE", "sensitive_complex": False, "pre_trial": True},
                    expect=201,
                )
                path = f"/api/v1/cases/{pre_trial['id']}/pre-trial-consultation"
                return Target(lead, path, {}, status)
            case "me.preferences":
                return Target(sam, route.path, preferences, status)
            case "me.opt_out":
                return Target(sam, route.path, {"reason": "Enough."}, status)
            case "me.meeting":
                return Target(sam, route.path, {"note": "I would like to meet."}, status)
            case "me.disclosure.create":
                return Target(sam, route.path, {}, status)
            case "disclosure.decide":
                request_id, note_id = (await self.disclosure())["id"], (await self.note())["id"]
                path = f"/api/v1/disclosure-requests/{request_id}/decisions/{note_id}"
                return Target(lead, path, {"decision": "disclose"}, status)
            case "disclosure.extend":
                path = f"/api/v1/disclosure-requests/{(await self.disclosure())['id']}/extension"
                return Target(lead, path, {"months": 1, "reason": "complex"}, status)
            case "case.entry.add":
                body = {"kind": "note", "participant_id": sam_id, "text": "Calm on the phone."}
                return Target(lead, f"{case}/entries", body, status)
            case "case.referral":
                body = {"incident": "A burglary.", "referral_source": "police"}
                return Target(lead, f"{case}/referral", body, status)
            case "disclosure.release":
                path = f"/api/v1/disclosure-requests/{(await self.disclosure())['id']}/release"
                return Target(lead, path, {}, status)
        pytest.fail(f"{route.name} takes a body: aim it at a real object in World.target")


@pytest.fixture
async def world(client: Any, runtime: Runtime) -> World:
    """A case with a lead, a supervisor, a colleague, Sam (harmed) and Rob (responsible)."""
    scene = await build_case(client, runtime)
    return World(scene.api, scene)


async def send(
    api: Api, method: str, path: str, token: str | None, raw: bytes
) -> tuple[int, Any, str]:
    """Send raw bytes as a JSON body; returns (status, parsed answer, content type)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await api.client.request(method, path, data=raw, headers=headers)
    text = await response.read()
    data = json.loads(text) if response.content_type == "application/json" else text
    return response.status, data, response.content_type


def mutations(model: type[BaseModel], valid: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Unknown fields, wrong types and missing required fields, each refused by ``model``."""
    out: list[tuple[str, dict[str, Any]]] = [
        ("unknown field", {**valid, "unexpected_field": 1}),
        ("unknown field (null)", {**valid, "isAdmin": None}),
    ]
    for name, info in model.model_fields.items():
        for wrong in WRONG_VALUES:
            out.append((f"{name}={wrong!r}", {**valid, name: wrong}))
        if info.is_required():
            out.append((f"missing {name}", {k: v for k, v in valid.items() if k != name}))
        nested = valid.get(name)
        annotation = info.annotation
        if isinstance(nested, dict) and isinstance(annotation, type):
            for label, inner in mutations(annotation, nested):
                out.append((f"{name}.{label}", {**valid, name: inner}))
    refused = []
    for label, body in out:
        try:
            model.model_validate(body)
        except ValidationError:
            refused.append((label, body))
    return refused


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[r.name for r in BODY_ROUTES])
async def test_every_body_is_validated(world: World, runtime: Runtime, route: Route) -> None:
    """Not JSON → 400; not an object → 400; unknown field, wrong type, missing → 422;
    over the limit → 413; each in the standard shape, and nothing changes."""
    assert route.body is not None
    target = await world.target(route)
    route.body.model_validate(target.valid)  # the control body is valid
    api, method = world.api, route.method
    before, size = await snapshot(runtime), await audit_size(runtime)

    async def refused(raw: bytes, status: int, what: str) -> None:
        got, data, content_type = await send(api, method, target.path, target.token, raw)
        assert content_type == "application/json", f"{what}: {content_type}"
        try:
            assert_error(data, got, status)
        except AssertionError as exc:
            raise AssertionError(f"{method} {route.path} with {what}: {exc}") from None
        assert await audit_size(runtime) == size, f"{what} changed the audit log"

    for raw in NOT_JSON + NOT_AN_OBJECT:
        await refused(raw, 400, f"body {raw!r}")
    for label, body in mutations(route.body, target.valid):
        await refused(json.dumps(body).encode(), 422, label)
    if any(info.is_required() for info in route.body.model_fields.values()):
        await refused(b"", 422, "no body")
        await refused(b"{}", 422, "an empty object")
    limit = runtime.settings.max_body_bytes
    huge = json.dumps({**target.valid, "padding": "x" * limit}).encode()
    await refused(huge, 413, f"a body of {len(huge)} bytes")
    assert await snapshot(runtime) == before, "a refused request changed the database"

    # The control: the same request with a valid body succeeds and is recorded.
    got, data, _ = await send(
        api, method, target.path, target.token, json.dumps(target.valid).encode()
    )
    assert got == target.status, f"the valid body was refused: {got} {data!r}"
    assert await audit_size(runtime) > size


async def test_unknown_route_is_404_json(client: Any) -> None:
    """A path that is not in the URL map answers 404 in the standard shape."""
    for path in ("/api/v1/nothing-here", "/api/v2/cases", "/api/v1/items/x/y/z"):
        response = await client.get(path)
        assert response.content_type == "application/json", path
        assert assert_error(await response.json(), response.status, 404) == "not_found"


async def test_wrong_method_is_405_json(client: Any) -> None:
    """A known path with a method it does not take answers 405 in the standard shape,
    with the ``Allow`` header that RFC 9110 (15.5.6) requires of every 405."""
    for method, path in (
        ("DELETE", "/api/v1/cases"),
        ("PUT", "/api/v1/session"),
        ("POST", "/api/v1/inbox"),
    ):
        response = await client.request(method, path)
        assert response.content_type == "application/json", (method, path)
        assert_error(await response.json(), response.status, 405)
        assert "Allow" in response.headers, f"{method} {path}: 405 without an Allow header"


# --- Fuzzing a few key routes with random JSON. ---

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


Spec = dict[str, "st.SearchStrategy[Any] | Spec"]


def shaped(spec: Spec, required: frozenset[str], *, noisy: bool) -> st.SearchStrategy[Any]:
    """Objects with the route's own field names: the required ones always there, the others
    sometimes; values plausible, or (``noisy``) sometimes any JSON at all."""

    def value(name: str) -> st.SearchStrategy[Any]:
        inner = spec[name]
        made = shaped(inner, frozenset(), noisy=noisy) if isinstance(inner, dict) else inner
        return made | JSON_VALUES if noisy else made

    return st.fixed_dictionaries(
        {name: value(name) for name in spec if name in required},
        optional={name: value(name) for name in spec if name not in required},
    )


def fuzz_bodies(world: World, route: str) -> st.SearchStrategy[Any]:
    """Any JSON; objects with the route's fields holding any JSON; plausible objects."""
    sam_id, rob_id = world.scene.people["sam"].id, world.scene.people["rob"].id
    ids = st.sampled_from([sam_id, rob_id, "", "x" * 40])
    digest = world.cache.get("submitted", {}).get("version_digest", "a")
    plausible: dict[str, Spec] = {
        "item.create": {
            "kind": st.sampled_from(["letter", "message", "assessment", "poem"]),
            "body": st.text(max_size=50),
            "sharing": {
                "scope": st.sampled_from(
                    ["verbatim", "verbatim", "summary", "facilitator_only", "x"]
                ),
                "recipient_ids": st.just([sam_id]) | st.lists(ids, max_size=3),
                "delivery": st.sampled_from(["portal", "read_out", "pigeon"]),
            },
            "response_wanted": st.sampled_from(["reply", "none", "maybe"]),
            "in_reply_to": ids,
            "on_behalf_of": st.sampled_from([rob_id, sam_id, ""]),
        },
        "item.decide": {
            "decision": st.sampled_from(["approve", "withhold", "return", "escalate", "ignore"]),
            "version_digest": st.sampled_from([digest, digest, "0" * 64, ""]),
            "reason": st.sampled_from(["serious_harm", "needs_revision", "other", "nope", ""]),
            "note": st.text(max_size=20),
            "summary": st.text(max_size=20),
        },
        "me.preferences": {
            "receive": st.sampled_from(["yes", "no", "ask_first", "maybe"]),
            "unwanted_topics": st.lists(st.text(max_size=10), max_size=3),
            "delivery": st.sampled_from(["portal", "read_out", "printed", "fax"]),
            "tell_author_when_read": st.booleans(),
        },
    }
    model = next(r for r in ROUTES if r.name == route).body
    assert model is not None
    required = frozenset(n for n, f in model.model_fields.items() if f.is_required())
    spec = plausible[route]
    return st.one_of(
        JSON_VALUES,
        shaped(spec, required, noisy=True),
        shaped(spec, required, noisy=False),
    )


@pytest.mark.parametrize("name", ["item.create", "item.decide", "me.preferences"])
@settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_bodies_never_5xx_nor_change_anything_when_refused(
    world: World, runtime: Runtime, name: str, data: st.DataObject
) -> None:
    """Random JSON never gives a 5xx, and changes nothing unless it is answered 2xx.

    The fixtures (one case, one database) are shared by every example of a run.
    """
    route = next(r for r in ROUTES if r.name == name)
    target = await world.target(route)
    if "snapshot" not in world.cache:
        world.cache["snapshot"] = await snapshot(runtime)
    body = data.draw(fuzz_bodies(world, name), label="body")
    raw = json.dumps(body).encode()
    got, answer, _ = await send(world.api, route.method, target.path, target.token, raw)
    assert got < 500, f"{got} {answer!r}"
    event(f"status {got}")
    after = await snapshot(runtime)
    if got < 300:
        world.cache["snapshot"] = after
        return
    assert_error(answer, got, got)
    assert got in (400, 404, 409, 413, 422), f"{got} {answer!r}"
    assert after == world.cache["snapshot"], f"refused ({got}) but changed something"
