"""The disclosure property (guidance 3d 8, fn 15): over random cases, a participant's records
package holds nothing of another participant's beyond what that participant consented to
share with the requester AND was relayed to the requester, and no note withheld from them.

Each example is a random case built through the services on a real database with real
encryption: 2 to 4 participants with random wishes, letters with random sharing consents
(word for word, a summary, for the facilitator only; random recipients), random decisions
(approve, withhold, return, or none; summaries agreed or not), facilitators' assessments,
notes and risk assessments about random people (or the case) with random decisions for the
request, contacts, outcomes and feedback. Every text is a unique marker; the oracle below
decides on its own, from the plan, which markers the requester may be given. The package is
released by two people and every file in it (records.json, records.html, and the words of
records.pdf, by pdftotext) is searched for markers: any marker not allowed is a leak.

The test is shown to fail: ``test_the_property_finds_a_broken_compile_records`` runs it
against three deliberately broken versions of ``compile_records`` and each is caught.
``SHUTTLE_TEST_DISCLOSURE_EXAMPLES`` sets the effort (default 25 cases).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import zipfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from shuttle import accounts, case_records, cases, disclosure, items, vetting
from shuttle.access import Actor
from shuttle.bootstrap import initialise, open_runtime
from shuttle.models import utcnow
from shuttle.runtime import Runtime
from tests.conftest import DatabaseFactory, make_settings
from tests.test_leaks_stateful import pdf_text

T = TypeVar("T")
EXAMPLES = int(os.environ.get("SHUTTLE_TEST_DISCLOSURE_EXAMPLES", "25"))
MARKER = re.compile(r"MARK[a-z]+\d{6}")
ROLES = ("harmed", "responsible", "supporter", "other")
_counter = itertools.count(1)


def mark(kind: str) -> str:
    """A unique marker text: letters then digits, so that no line break can split it."""
    return f"MARK{kind}{next(_counter):06d}"


# -- the plan of a random case -----------------------------------------------------------------


@dataclass(frozen=True)
class PersonPlan:
    role: str
    receive: str  # yes, no, ask_first


@dataclass(frozen=True)
class ItemPlan:
    author: int | None  # a participant's index, or None for the facilitator's assessment
    scope: str
    recipients: tuple[int, ...]
    decision: str  # approve, withhold, return, none
    summary_agreed: bool


@dataclass(frozen=True)
class EntryPlan:
    about: int | None
    kind: str
    decision: str  # for notes and risk assessments about the requester: disclose / withhold


@dataclass(frozen=True)
class CasePlan:
    people: tuple[PersonPlan, ...]
    items: tuple[ItemPlan, ...]
    entries: tuple[EntryPlan, ...]
    requester: int


@st.composite
def case_plans(draw: st.DrawFn) -> CasePlan:
    size = draw(st.integers(2, 4))
    people = tuple(
        PersonPlan(
            draw(st.sampled_from(ROLES)),
            draw(st.sampled_from(("yes", "yes", "no", "ask_first"))),
        )
        for _ in range(size)
    )
    plans = []
    for _ in range(draw(st.integers(0, 7))):
        author = draw(st.one_of(st.none(), st.integers(0, size - 1)))
        others = [i for i in range(size) if i != author]
        scope = draw(st.sampled_from(("verbatim", "verbatim", "summary", "facilitator_only")))
        if author is None:
            scope = "verbatim"  # the facilitator's own assessment, word for word
        recipients: tuple[int, ...] = ()
        if scope != "facilitator_only":
            recipients = tuple(
                draw(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
            )
        decision = draw(st.sampled_from(("approve", "approve", "withhold", "return", "none")))
        plans.append(ItemPlan(author, scope, recipients, decision, draw(st.booleans())))
    entries = tuple(
        EntryPlan(
            draw(st.one_of(st.none(), st.integers(0, size - 1))),
            draw(st.sampled_from(case_records.ENTRY_KINDS)),
            draw(st.sampled_from(("disclose", "withhold"))),
        )
        for _ in range(draw(st.integers(0, 6)))
    )
    return CasePlan(people, tuple(plans), entries, draw(st.integers(0, size - 1)))


# -- one world: a database, two practitioners, an event loop of its own ------------------------


class World:
    """One database for every example of a run (each example is a new case in it)."""

    def __init__(self, factory: DatabaseFactory, folder: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.factory = factory
        data_dir = folder / "var"
        data_dir.mkdir(parents=True)
        self.url = self.run(factory.new_database(data_dir))
        settings_ = make_settings(data_dir=data_dir, database_url=self.url)
        self.run(initialise(settings_, migrate=False))
        self.rt: Runtime = open_runtime(settings_)
        self.lead = self.run(self._staff("practitioner", "Lee Lead"))
        self.colleague = self.run(self._staff("practitioner", "Cole Colleague"))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def _staff(self, role: str, name: str) -> str:
        email = f"{name.lower().replace(' ', '.')}@service.example"
        return await accounts.add_user(
            self.rt, role=role, email=email, name=name, password="a long enough password"
        )

    def actor(self, user_id: str) -> Actor:
        """A practitioner who signed in just now (releases need a recent sign-in)."""
        return Actor(user_id=user_id, role="practitioner", authenticated_at=utcnow())

    def close(self) -> None:
        try:
            self.run(self.rt.db.dispose())
            self.run(self.factory.drop_database(self.url))
        finally:
            self.loop.close()


@pytest.fixture
def world(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[World]:
    made = World(database_factory, tmp_path)
    try:
        yield made
    finally:
        made.close()


# -- building the case, and the oracle -------------------------------------------------------


@dataclass
class Built:
    """What was made, and which markers the requester may be given."""

    allowed: set[str] = field(default_factory=set)
    must_have: set[str] = field(default_factory=set)
    planted: set[str] = field(default_factory=set)

    def plant(self, kind: str, *, allowed: bool = False, required: bool = False) -> str:
        text = mark(kind)
        self.planted.add(text)
        if allowed or required:
            self.allowed.add(text)
        if required:
            self.must_have.add(text)
        return text


async def build(world: World, plan: CasePlan) -> tuple[Built, str]:
    """The case of ``plan``, a request by its requester, decided and released by two people;
    returns the oracle and the package."""
    rt, lead, colleague = world.rt, world.actor(world.lead), world.actor(world.colleague)
    built, me = Built(), plan.requester
    case = await cases.create_case(
        rt,
        lead,
        reference=built.plant("reference"),
        sensitive_complex=False,
        lead_practitioner_id=None,
        supervisor_id=None,
    )
    case_id = case["id"]
    await cases.add_practitioner(
        rt,
        lead,
        case_id,
        user_id=world.colleague,
        role="co_worker",
        conflict_declared=False,
        conflict_details=None,
    )
    ids, shown = [], []
    for index, person in enumerate(plan.people):
        mine = index == me
        name = built.plant("name", required=mine)
        shown_as = built.plant("shown", required=mine)
        added = await cases.add_participant(
            rt,
            lead,
            case_id,
            role=person.role,
            display_name=name,
            shown_to_others_as=shown_as,
        )
        ids.append(added["id"])
        shown.append(shown_as)
        await cases.record_consent(
            rt,
            lead,
            case_id,
            added["id"],
            information_sheet_version="2026-1",
            method="in_person",
            accepts_responsibility=True if person.role == "responsible" else None,
            court_ordered=False,
        )
        await cases.set_preferences(
            rt,
            lead,
            case_id,
            added["id"],
            receive=person.receive,
            unwanted_topics=[built.plant("topic", required=mine)],
            delivery="portal",
            tell_author_when_read=False,
        )
    for item in plan.items:
        await _item(world, built, plan, item, case_id, ids, shown)
    notes = []
    for entry in plan.entries:
        about = entry.about
        mine = about == me
        decided_kind = entry.kind in case_records.NOTE_KINDS
        text = built.plant(
            entry.kind.replace("_", ""),
            # notes: only those about the requester that are disclosed; contacts: never their
            # words (dates only); outcomes and feedback: those about the requester.
            required=mine
            and (
                (decided_kind and entry.decision == "disclose")
                or entry.kind in ("outcome", "feedback")
            ),
        )
        details = {
            "risk_assessment": "high",
            "contact": "visit",
            "outcome": "agreed",
            "feedback": None,
            "note": None,
        }
        made = await case_records.add_entry(
            rt,
            lead,
            case_id,
            kind=entry.kind,
            participant_id=None if about is None else ids[about],
            detail=details[entry.kind],
            happened_on="2026-01-06" if entry.kind == "contact" else None,
            text=text,
        )
        if mine and decided_kind:
            notes.append((made["id"], entry.decision))
    request = await disclosure.request_records(rt, lead, case_id, ids[me])
    for entry_id, decision in notes:
        await disclosure.decide(
            rt,
            lead,
            request["id"],
            entry_id,
            decision=decision,
            exemption="third_party" if decision == "withhold" else None,
        )
    first = await disclosure.release(rt, lead, request["id"])
    assert first["state"] == "awaiting_second_approval"
    released = await disclosure.release(rt, colleague, request["id"])
    assert released["state"] == "released"
    package = await disclosure.package(rt, lead, request["id"])
    return built, await asyncio.to_thread(_package_text, package)


async def _item(
    world: World,
    built: Built,
    plan: CasePlan,
    item: ItemPlan,
    case_id: str,
    ids: list[str],
    shown: list[str],
) -> None:
    """One item written, submitted and decided as planned; the oracle learns what may reach
    the requester."""
    rt, lead, me = world.rt, world.actor(world.lead), plan.requester
    own = item.author == me
    ready = {i for i, p in enumerate(plan.people) if p.receive == "yes"}
    decision = item.decision
    if decision == "approve" and item.scope == "facilitator_only":
        decision = "withhold"
    approved = decision == "approve"
    relayed_to_me = (
        approved
        and me in item.recipients
        and me in ready
        and (item.scope != "summary" or item.summary_agreed)
    )
    body = built.plant("body", required=own or (relayed_to_me and item.scope == "verbatim"))
    made = await items.create_item(
        rt,
        lead,
        case_id,
        kind="letter" if item.author is not None else "assessment",
        body=body,
        scope=item.scope,
        recipient_ids=[ids[r] for r in item.recipients],
        delivery=None,
        response_wanted=None,
        in_reply_to=None,
        on_behalf_of=None if item.author is None else ids[item.author],
    )
    if relayed_to_me and item.author is not None:
        built.allowed.add(shown[item.author])  # the relayed item says whose words they are
    await items.submit_item(rt, lead, made["id"])
    if decision == "none":
        return
    seen = await items.get_item(rt, lead, made["id"])
    summary = None
    if approved and item.scope == "summary":
        summary = built.plant("summary", allowed=own, required=relayed_to_me)
    await vetting.decide(
        rt,
        lead,
        made["id"],
        decision=decision,
        version_digest=seen["version_digest"],
        reason={"withhold": "risk_of_harm", "return": "needs_revision"}.get(decision),
        note=built.plant("returnnote", allowed=own) if decision == "return" else None,
        summary=summary,
        internal_note=built.plant("internal"),
    )
    if summary is not None:
        await vetting.summary_consent(rt, lead, made["id"], agree=item.summary_agreed)


def _package_text(package: bytes) -> str:
    """Every file of the package as text; the PDF as the words a reader gets from it."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = archive.namelist()
        assert {"records.json", "records.html", "records.pdf"} <= set(names), names
        parts = [archive.read(name).decode() for name in names if name != "records.pdf"]
        parts.append(pdf_text(archive.read("records.pdf")))
    return "\n".join(parts)


def check(world: World, plan: CasePlan) -> None:
    """The property, for one plan."""
    built, text = world.run(build(world, plan))
    found = set(MARKER.findall(text))
    unknown = found - built.planted
    leaked = (found & built.planted) - built.allowed
    assert not leaked and not unknown, (
        f"leaked into the records of participant {plan.requester}: "
        f"{sorted(leaked | unknown)}\nplan: {plan}"
    )
    missing = built.must_have - found
    assert not missing, f"the records lack what is theirs: {sorted(missing)}\nplan: {plan}"


# Cases that every run tries first: a summary relayed to the requester (its original words
# must stay out), a note withheld from them, an assessment passed on to someone else only.
EXPLICIT = (
    CasePlan(
        people=(PersonPlan("harmed", "yes"), PersonPlan("responsible", "yes")),
        items=(ItemPlan(1, "summary", (0,), "approve", True),),
        entries=(EntryPlan(0, "risk_assessment", "withhold"),),
        requester=0,
    ),
    CasePlan(
        people=(PersonPlan("harmed", "yes"), PersonPlan("responsible", "yes")),
        items=(ItemPlan(None, "verbatim", (1,), "approve", False),),
        entries=(EntryPlan(0, "note", "disclose"),),
        requester=0,
    ),
)


def with_examples(test: Callable[[CasePlan], None]) -> Callable[[CasePlan], None]:
    """The test with every plan of EXPLICIT as an explicit example."""
    for plan in EXPLICIT:
        test = example(plan=plan)(test)
    return test


PROFILE = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_no_package_holds_what_its_requester_may_not_have(world: World) -> None:
    """Random cases, zero leaks, and everything that is the requester's is there."""

    @settings(PROFILE, max_examples=EXAMPLES)
    @given(plan=case_plans())
    @with_examples
    def property_holds(plan: CasePlan) -> None:
        check(world, plan)

    property_holds()


# -- the property finds planted bugs ---------------------------------------------------------


def every_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken: every item relayed in the case, to anyone, is listed as relayed to them."""
    from sqlmodel import col, select

    from shuttle import relay
    from shuttle.models import Delivery, Item

    original = disclosure.compile_records

    async def compile_records(tx: Any, participant: Any, request: Any, **kw: Any) -> Any:
        records = await original(tx, participant, request, **kw)
        rows = (
            await tx.session.exec(
                select(Delivery, Item)
                .join(Item, col(Item.id) == col(Delivery.item_id))
                .where(Delivery.case_id == participant.case_id)
            )
        ).all()
        records["items_relayed_to_you"] = [await relay.delivery_view(tx, d, i) for d, i in rows]
        return records

    monkeypatch.setattr(disclosure, "compile_records", compile_records)


def decisions_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken: notes withheld with an exemption are given all the same."""
    original = disclosure.compile_records

    async def compile_records(tx: Any, participant: Any, request: Any, **kw: Any) -> Any:
        records = await original(tx, participant, request, **kw)
        records["notes_about_you"] = [
            {"kind": note.kind, "text": await case_records.entry_text(tx, note)}
            for note in await disclosure._notes_about(tx, participant.id)
        ]
        return records

    monkeypatch.setattr(disclosure, "compile_records", compile_records)


def all_versions_of_relayed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken: for an item relayed to them, the author's original words (every version) too,
    which a summary-scope author never agreed to share."""
    from sqlmodel import select

    from shuttle.models import Delivery, ItemVersion

    original = disclosure.compile_records

    async def compile_records(tx: Any, participant: Any, request: Any, **kw: Any) -> Any:
        records = await original(tx, participant, request, **kw)
        cipher = await tx.cipher(participant.case_id)
        rows = (
            await tx.session.exec(
                select(ItemVersion)
                .join(Delivery, Delivery.item_id == ItemVersion.item_id)
                .where(Delivery.recipient_id == participant.id)
            )
        ).all()
        records["originals"] = [
            cipher.open(v.body_enc, row=f"item_version:{v.id}", field="body") for v in rows
        ]
        return records

    monkeypatch.setattr(disclosure, "compile_records", compile_records)


BROKEN: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    f.__name__: f for f in (every_delivery, decisions_ignored, all_versions_of_relayed)
}


@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_the_property_finds_a_broken_compile_records(
    world: World, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    """Each broken compile_records is caught (by the explicit cases, or the random ones)."""
    BROKEN[broken](monkeypatch)

    @settings(PROFILE, max_examples=EXAMPLES, phases=[Phase.explicit, Phase.generate])
    @given(plan=case_plans())
    @with_examples
    def property_holds(plan: CasePlan) -> None:
        check(world, plan)

    with pytest.raises(AssertionError, match="leaked into the records"):
        property_holds()


def test_the_oracle_is_not_empty(world: World) -> None:
    """A fixed case in which something of another's was relayed and a note was given: the
    package has them, so the property is not passing on empty packages."""
    plan = CasePlan(
        people=(PersonPlan("harmed", "yes"), PersonPlan("responsible", "yes")),
        items=(
            ItemPlan(1, "verbatim", (0,), "approve", False),
            ItemPlan(1, "summary", (0,), "approve", True),
            ItemPlan(1, "verbatim", (0,), "withhold", False),
            ItemPlan(0, "verbatim", (1,), "return", False),
        ),
        entries=(EntryPlan(0, "note", "disclose"), EntryPlan(0, "risk_assessment", "withhold")),
        requester=0,
    )
    built, text = world.run(build(world, plan))
    found = set(MARKER.findall(text))
    assert built.must_have <= found
    # Her name, how she is shown, her topic, her letter, the body and the summary relayed to
    # her, the note given to her; and how the other is shown, on what was relayed from him.
    assert len(built.must_have) == 7
    assert not (found - built.allowed) and found - built.must_have
