"""A case with staff and participants, driven through the real HTTP API, for tests to build on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

from shuttle import accounts
from shuttle.api.http import SETTINGS
from shuttle.runtime import Runtime
from tests import authenticator

PASSWORD = "a long enough test password"


class Api:
    """The JSON API over real HTTP, with each caller's bearer token."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        *,
        expect: int | None = None,
    ) -> tuple[int, Any]:
        """One request; returns (status, JSON or bytes). Fails the test on an unexpected status."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.request(method, path, json=body, headers=headers)
        if response.content_type == "application/json":
            data: Any = await response.json()
        else:
            data = await response.read()
        if expect is not None:
            assert response.status == expect, f"{method} {path}: {response.status} {data!r}"
        return response.status, data

    @property
    def database(self) -> str:
        """The URL of the database the app under test uses (to keep its staff's apps apart)."""
        return self.client.server.app[SETTINGS].effective_database_url

    async def sign_in(self, email: str, password: str = PASSWORD) -> str:
        """A fresh bearer token; staff answer the second-factor challenge (enrolling at first)."""

        async def call(method: str, path: str, body: Any) -> Any:
            return (await self.call(method, path, body=body, expect=200))[1]

        signed = await authenticator.sign_in(call, self.database, email, password)
        token: str = signed["token"]
        return token


@dataclass
class Person:
    """A participant: their record id, account token and the name others see."""

    id: str
    token: str
    shown_as: str


@dataclass
class Scene:
    """One case: its practitioners' and participants' ids and tokens."""

    api: Api
    case_id: str
    staff: dict[str, str] = field(default_factory=dict)
    staff_ids: dict[str, str] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def lead(self) -> str:
        """The lead practitioner's token."""
        return self.staff["lead"]

    async def write(
        self,
        author: str,
        body: str = "I am sorry for what I did.",
        *,
        to: tuple[str, ...] = ("sam",),
        scope: str = "verbatim",
        kind: str = "letter",
        submit: bool = True,
    ) -> dict[str, Any]:
        """A participant writes (and by default submits) an item to others in the case."""
        person = self.people[author]
        sharing = {"scope": scope, "recipient_ids": [self.people[n].id for n in to]}
        _, item = await self.api.call(
            "POST",
            f"/api/v1/cases/{self.case_id}/items",
            person.token,
            {"kind": kind, "body": body, "sharing": sharing},
            expect=201,
        )
        if submit:
            _, item = await self.api.call(
                "POST", f"/api/v1/items/{item['id']}/submit", person.token, expect=200
            )
        return item  # type: ignore[no-any-return]

    async def decide(
        self,
        item_id: str,
        decision: str = "approve",
        *,
        by: str = "lead",
        expect: int = 201,
        **extra: Any,
    ) -> dict[str, Any]:
        """A practitioner opens the item and decides on its current version."""
        token = self.staff[by]
        _, seen = await self.api.call("GET", f"/api/v1/items/{item_id}", token, expect=200)
        body = {"decision": decision, "version_digest": seen["version_digest"], **extra}
        _, decided = await self.api.call(
            "POST", f"/api/v1/items/{item_id}/decisions", token, body, expect=expect
        )
        return decided  # type: ignore[no-any-return]

    async def release(
        self, request_id: str, first: str = "lead", second: str = "colleague"
    ) -> dict[str, Any]:
        """Two people release a request for records: a first approval, then a second."""
        path = f"/api/v1/disclosure-requests/{request_id}/release"
        _, approved = await self.api.call("POST", path, self.staff[first], expect=200)
        assert approved["state"] == "awaiting_second_approval", approved
        _, released = await self.api.call("POST", path, self.staff[second], expect=200)
        assert released["state"] == "released", released
        return released  # type: ignore[no-any-return]

    async def willing(self, name: str, receive: str = "yes", **extra: Any) -> None:
        """A participant says what they are willing to receive."""
        body = {"receive": receive, "unwanted_topics": [], "delivery": "portal", **extra}
        await self.api.call(
            "PUT", "/api/v1/me/preferences", self.people[name].token, body, expect=200
        )

    async def inbox(self, name: str) -> list[dict[str, Any]]:
        """What has been relayed to a participant."""
        _, data = await self.api.call("GET", "/api/v1/inbox", self.people[name].token, expect=200)
        return data["items"]  # type: ignore[no-any-return]


async def add_staff(runtime: Runtime, role: str, name: str) -> tuple[str, str]:
    """A staff account made as the command line makes it; returns (id, e-mail)."""
    email = f"{name.lower().replace(' ', '.')}@service.example"
    user_id = await accounts.add_user(runtime, role=role, email=email, name=name, password=PASSWORD)
    return user_id, email


async def build_case(
    client: TestClient[Any, Any],
    runtime: Runtime,
    *,
    sensitive: bool = False,
    people: tuple[tuple[str, str], ...] = (("sam", "harmed"), ("rob", "responsible")),
    consent: bool = True,
    extra_staff: tuple[tuple[str, str], ...] = (("colleague", "practitioner"),),
    tag: str = "",
) -> Scene:
    """A case led by a practitioner (a senior one if ``sensitive``), with a supervisor,
    another practitioner on the team, and participants who have accepted their invitations
    and (by default) consented. ``tag`` keeps a second case's accounts apart from the first's."""
    api = Api(client)
    lead_role = "senior_practitioner" if sensitive else "practitioner"
    lead_id, lead_email = await add_staff(runtime, lead_role, f"Lee Lead{tag}")
    sup_id, sup_email = await add_staff(runtime, "supervisor", f"Sue Supervisor{tag}")
    lead = await api.sign_in(lead_email)
    _, case = await api.call(
        "POST",
        "/api/v1/cases",
        lead,
        {"reference": "RJ-TEST-1", "sensitive_complex": sensitive, "supervisor_id": sup_id},
        expect=201,
    )
    scene = Scene(api, case["id"])
    scene.staff = {"lead": lead, "supervisor": await api.sign_in(sup_email)}
    scene.staff_ids = {"lead": lead_id, "supervisor": sup_id}
    for name, role in extra_staff:
        user_id, email = await add_staff(runtime, role, f"{name.title()} Staff{tag}")
        await api.call(
            "POST",
            f"/api/v1/cases/{case['id']}/practitioners",
            lead,
            {"user_id": user_id, "role": "co_worker", "conflict_of_interest": {"declared": False}},
            expect=201,
        )
        scene.staff[name], scene.staff_ids[name] = await api.sign_in(email), user_id
    for name, role in people:
        shown = name.title()
        _, added = await api.call(
            "POST",
            f"/api/v1/cases/{case['id']}/participants",
            lead,
            {"role": role, "display_name": f"{shown} Fullname", "shown_to_others_as": shown},
            expect=201,
        )
        if consent:
            await api.call(
                "POST",
                f"/api/v1/cases/{case['id']}/participants/{added['id']}/consent",
                lead,
                {
                    "information_sheet_version": "2026-1",
                    "method": "in_person",
                    "accepts_responsibility": role == "responsible",
                },
                expect=200,
            )
        email = f"{name}{tag}@people.example"
        await api.call(
            "POST",
            f"/api/v1/invitations/{added['invitation_token']}/accept",
            None,
            {"email": email, "password": PASSWORD},
            expect=201,
        )
        scene.people[name] = Person(added["id"], await api.sign_in(email), shown)
    return scene
