"""The oracle behind tests/test_leaks_stateful.py: who may see which planted text, and the checks.

Every text the state machine plants (bodies, summaries, decision notes, names, unwanted topics,
watch-list terms, case references, opt-out reasons) is or contains a unique marker
``MARK-<kind>-<n>-<hex>``. The model is kept in step with the server's *successful* answers
only, and decides independently of the server which markers each person may see:

* a participant: their own personal facts, their case's reference and the names the others of
  their case chose to be shown as (to choose whom to write to); everything of the items
  they author (every version, every summary proposed to them, notes addressed to them); and of
  an item relayed to them only the text that may be relayed to them (the body of the approved
  version, or for ``summary`` scope a summary its author agreed to), accepted as relayed only
  if, in the model, every condition of DESIGN.md rules 1-3 held when it happened;
* a practitioner: everything of the cases they work on (active, no conflict), nothing else;
* a manager or an admin: no marker at all.

Nothing here does I/O, so the checks can be tested with fabricated views (see the tests at the
end of tests/test_leaks_stateful.py).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

MARKER = re.compile(r"MARK-[a-z]+-\d+-[0-9a-f]{6}")

CASES = ("A", "B")
# participant -> (case, role in the case)
PARTICIPANTS: dict[str, tuple[str, str]] = {
    "sam": ("A", "harmed"),
    "rob": ("A", "responsible"),
    "sid": ("A", "supporter"),
    "otto": ("B", "harmed"),
    "oona": ("B", "responsible"),
}
# staff -> account role
STAFF: dict[str, str] = {
    "lee": "senior_practitioner",
    "cole": "practitioner",
    "sue": "supervisor",
    "olga": "practitioner",
    "stan": "supervisor",
    "nora": "practitioner",
    "max": "manager",
    "ada": "admin",
}
# who works on which case at the start, and as what
TEAMS: dict[str, dict[str, str]] = {
    "A": {"lee": "lead", "cole": "co_worker", "sue": "supervisor"},
    "B": {"olga": "lead", "stan": "supervisor"},
}
OVERSEERS = ("max", "ada")
PRACTITIONER_KINDS = ("information", "assessment")
ATTRIBUTION_TAGS = frozenset(
    {"own_words", "facilitator_summary", "facilitator_assessment", "written_with_help"}
)
# Keys of an item view that only practitioners may get (flags can quote the recipient's
# unwanted topics; waiting_for and recipients' preferences reveal the other side's wishes).
PRACTITIONER_ONLY_KEYS = frozenset({"flags", "decisions", "waiting_for", "recipients_preferences"})
DELIVERY_VIEW_KEYS = frozenset(
    {"id", "kind", "body", "attribution", "from", "response_wanted", "relayed_at", "read_at"}
)
PERSONAL_KINDS = frozenset({"name", "shown", "topic", "optout", "meeting"})


class Leak(AssertionError):
    """A view shows something the rules do not allow, or the server broke a rule."""


@dataclass(frozen=True)
class Marker:
    """One planted text: what it is, in which case, and whose it is."""

    text: str
    kind: str
    case: str
    owner: str | None
    about: str


@dataclass
class Person:
    """A participant as the model knows them."""

    key: str
    case: str
    role: str
    id: str
    name: str  # display name (a marker): for themself and their practitioners only
    shown_as: str  # how others see them (a marker): for the others of their case
    consented: bool = False
    opted_out: bool = False
    receive: str = "ask_first"
    tell_author_when_read: bool = False
    topics: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Consent recorded and not opted out."""
        return self.consented and not self.opted_out


@dataclass
class Version:
    """One version of an item, as its author wrote it."""

    number: int
    body: str
    scope: str
    recipients: tuple[str, ...]
    digest: str


@dataclass
class Summary:
    """A facilitator's summary of one version, and the author's answer."""

    version: int
    text: str
    state: str  # proposed, agreed, declined, superseded


@dataclass
class Delivered:
    """What reached one recipient, as first seen in their inbox."""

    version: int
    body: str
    tag: str
    label: str
    sender: str


@dataclass
class ItemModel:
    """An item as the model knows it."""

    id: str
    case: str
    kind: str
    author: str | None  # participant key, None for a practitioner's own item
    writer: str  # actor key of whoever created it
    assisted: bool
    versions: list[Version]
    server_state: str
    approvals: dict[int, set[str]] = field(default_factory=dict)
    summaries: list[Summary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # decision notes: for the author
    internal_notes: list[str] = field(default_factory=list)  # for practitioners only
    stopped: str | None = None  # withdrawn by its author, or withheld
    delivered: dict[str, Delivered] = field(default_factory=dict)
    listed: set[str] = field(default_factory=set)  # recipients the case's record names
    read_by: set[str] = field(default_factory=set)

    @property
    def current(self) -> Version:
        """The current version."""
        return self.versions[-1]

    def texts_for_author(self) -> set[str]:
        """Every text of the item its author may see."""
        return {v.body for v in self.versions} | {s.text for s in self.summaries} | set(self.notes)

    def retire_approvals(self) -> None:
        """A return or a declined summary: earlier approvals no longer count."""
        self.approvals.clear()


@dataclass
class CaseModel:
    """A case as the model knows it."""

    key: str
    id: str
    sensitive: bool
    reference: str
    state: str = "open"
    team: dict[str, str] = field(default_factory=dict)  # staff key -> role (active only)


@dataclass
class DisclosureModel:
    """A request for records."""

    id: str
    person: str
    first_approver: str | None = None  # two people release: the first approval's giver
    released: bool = False
    checked: bool = False


class Model:
    """Everything the state machine has planted and learnt from successful answers."""

    def __init__(self) -> None:
        self.markers: dict[str, Marker] = {}
        self.people: dict[str, Person] = {}
        self.cases: dict[str, CaseModel] = {}
        self.items: dict[str, ItemModel] = {}
        self.disclosures: dict[str, DisclosureModel] = {}
        self.sent: dict[str, set[str]] = {}
        self.key_of_participant_id: dict[str, str] = {}
        self._count = 0

    # -- planting ----------------------------------------------------------------------------

    def plant(self, kind: str, case: str, owner: str | None, about: str, text: str = "") -> str:
        """A new unique marker (or ``text`` registered as one); returns it."""
        if not text:
            self._count += 1
            text = f"MARK-{kind}-{self._count}-{secrets.token_hex(3)}"
        assert MARKER.fullmatch(text), text
        self.markers[text] = Marker(text, kind, case, owner, about)
        return text

    def note_sent(self, actor: str, text: str) -> None:
        """An actor typed a text into a request: they know it, whatever the server said."""
        self.sent.setdefault(actor, set()).update(MARKER.findall(text))

    def add_person(self, person: Person) -> None:
        """A participant of the cast."""
        self.people[person.key] = person
        self.key_of_participant_id[person.id] = person.key

    # -- who is who --------------------------------------------------------------------------

    def works_on(self, staff: str, case: str) -> bool:
        """Rule 6: an active, conflict-free place on the case."""
        return staff in self.cases[case].team

    def cases_of(self, staff: str) -> set[str]:
        """The cases a staff member works on."""
        return {c for c in CASES if self.works_on(staff, c)}

    def may_author(self, actor: str, item: ItemModel) -> bool:
        """Whether ``actor`` may change the item as its author (or the practitioner who wrote
        it, while on the case)."""
        if actor in PARTICIPANTS:
            return item.author == actor
        return item.writer == actor and self.works_on(actor, item.case)

    def may_see_item(self, actor: str, item: ItemModel) -> bool:
        """Rule 5 and 6: who may open the item at all."""
        if actor in PARTICIPANTS:
            return item.author == actor or actor in item.delivered
        return self.works_on(actor, item.case)

    # -- what each may see -------------------------------------------------------------------

    def allowed(self, actor: str) -> set[str]:
        """The markers ``actor`` may see anywhere."""
        allowed = set(self.sent.get(actor, set()))
        if actor in OVERSEERS:
            return allowed
        if actor in STAFF:
            mine = self.cases_of(actor)
            allowed |= {m.text for m in self.markers.values() if m.case in mine}
            return allowed
        person = self.people[actor]
        for marker in self.markers.values():
            mine = marker.kind in PERSONAL_KINDS and marker.owner == actor
            # The case's reference, and the names the others of the case chose to be shown
            # as (the pages list them to choose recipients: cases.others_in_case).
            public = marker.kind in ("ref", "shown") and marker.case == person.case
            if mine or public:
                allowed.add(marker.text)
        for item in self.items.values():
            if item.author == actor:
                allowed |= item.texts_for_author()
            got = item.delivered.get(actor)
            if got is not None:
                allowed.add(got.body)
                if item.author is not None:
                    allowed.add(self.people[item.author].shown_as)
        # A text may hold several markers (never, today, but keep the rule exact).
        return {m for text in allowed for m in MARKER.findall(text)} | allowed

    def describe(self, text: str) -> str:
        """A marker, said in words, for a failure message."""
        marker = self.markers.get(text)
        if marker is None:
            return f"{text} (a marker this model never planted)"
        owner = f" of {marker.owner}" if marker.owner else ""
        return f"{text} ({marker.kind}{owner}, case {marker.case}: {marker.about})"

    def check_markers(self, actor: str, where: str, view: Any) -> None:
        """Raise Leak if ``view`` shows ``actor`` a marker they may not see."""
        if isinstance(view, bytes):
            view = view.decode("utf-8", "replace")
        text = view if isinstance(view, str) else json.dumps(view, ensure_ascii=False)
        found = set(MARKER.findall(text))
        if not found:
            return
        bad = found - self.allowed(actor)
        if bad:
            said = "; ".join(self.describe(m) for m in sorted(bad))
            raise Leak(f"{actor} can see, in {where}: {said}")

    # -- relaying (rules 1-4) ----------------------------------------------------------------

    def needed_approvals(self, item: ItemModel) -> int:
        """Section B: two different approvers in a sensitive case."""
        return 2 if self.cases[item.case].sensitive else 1

    def relay_faults(self, item: ItemModel, recipient: str) -> list[str]:
        """Why the item may not reach ``recipient`` now (empty: it may, and it should)."""
        faults = []
        version = item.current
        person = self.people[recipient]
        case = self.cases[item.case]
        if item.stopped:
            faults.append(f"the item was {item.stopped}")
        if item.server_state not in ("approved", "held", "relayed"):
            # The server's own word, so only ever stricter: e.g. an approved item its author
            # submitted again waits in the queue, not for its recipients.
            faults.append(f"the item is {item.server_state}, not approved")
        if version.scope == "facilitator_only":
            faults.append("it is facilitator_only (rule 2)")
        if recipient not in version.recipients:
            faults.append(f"{recipient} is not a recipient of version {version.number}")
        if person.case != item.case:
            faults.append(f"{recipient} is in another case")
        if not person.consented:
            faults.append(f"{recipient}'s consent was never recorded")
        if person.opted_out:
            faults.append(f"{recipient} opted out")
        if person.receive != "yes":
            faults.append(f"{recipient} is not willing to receive (receive={person.receive})")
        if case.state != "open":
            faults.append(f"the case is {case.state}")
        approvers = item.approvals.get(version.number, set())
        if len(approvers) < self.needed_approvals(item):
            faults.append(
                f"version {version.number} has {len(approvers)} standing approval(s) "
                f"{sorted(approvers)}, {self.needed_approvals(item)} needed"
            )
        if item.author is not None and not self.people[item.author].active:
            faults.append(f"its author {item.author} is not active")
        if version.scope == "summary" and not self.agreed_summaries(item):
            faults.append("its author has agreed to no summary of this version (rule 3)")
        return faults

    def agreed_summaries(self, item: ItemModel) -> set[str]:
        """Summaries of the current version its author agreed to."""
        number = item.current.number
        return {s.text for s in item.summaries if s.version == number and s.state == "agreed"}

    def relayable_texts(self, item: ItemModel) -> set[str]:
        """What may reach a recipient: the approved body, or a summary the author agreed to."""
        if item.current.scope == "summary":
            return self.agreed_summaries(item)
        return {item.current.body}

    def expected_attribution(self, item: ItemModel) -> tuple[str, str]:
        """Rule 4: (tag, "from") for a relayed item."""
        if item.author is None:
            return "facilitator_assessment", "Your facilitator"
        sender = self.people[item.author].shown_as
        if item.current.scope == "summary":
            return "facilitator_summary", sender
        return ("written_with_help" if item.assisted else "own_words"), sender

    def accept_delivery(self, item: ItemModel, recipient: str, entry: dict[str, Any]) -> None:
        """An inbox entry: check it against the rules; remember it the first time."""
        where = f"{recipient}'s inbox entry for item {item.id}"
        attribution = entry.get("attribution") or {}
        tag, label = attribution.get("tag"), attribution.get("label")
        if tag not in ATTRIBUTION_TAGS or not isinstance(label, str) or not label.strip():
            raise Leak(f"{where}: attribution {attribution!r} is not a tag with a label (rule 4)")
        extra = set(entry) - DELIVERY_VIEW_KEYS
        if extra:
            raise Leak(f"{where}: carries fields {sorted(extra)} beyond the relayed view")
        seen = item.delivered.get(recipient)
        if seen is not None:
            now = (entry.get("body"), tag, label, entry.get("from"))
            if now != (seen.body, seen.tag, seen.label, seen.sender):
                raise Leak(f"{where}: changed after relay from {seen!r} to {now!r} (rule 4)")
            return
        faults = self.relay_faults(item, recipient)
        if faults:
            raise Leak(f"{where}: relayed although " + "; ".join(faults))
        body = entry.get("body")
        allowed = self.relayable_texts(item)
        if body not in allowed:
            said = self.describe(body) if isinstance(body, str) and body in self.markers else body
            raise Leak(f"{where}: body {said!r} is not what may be relayed {sorted(allowed)}")
        want_tag, want_from = self.expected_attribution(item)
        if tag != want_tag or entry.get("from") != want_from:
            raise Leak(
                f"{where}: attribution {tag!r} from {entry.get('from')!r}, "
                f"expected {want_tag!r} from {want_from!r} (rule 4)"
            )
        if item.author is not None and self.people[item.author].shown_as not in label:
            raise Leak(f"{where}: label {label!r} does not name the author")
        item.delivered[recipient] = Delivered(item.current.number, body, tag, label, want_from)

    def accept_listed_delivery(self, item: ItemModel, recipient: str) -> None:
        """A delivery the server records (practitioners' view): it must have been allowed."""
        if recipient in item.delivered:
            return
        faults = self.relay_faults(item, recipient)
        if faults:
            raise Leak(f"item {item.id} was delivered to {recipient} although " + "; ".join(faults))

    def overdue(self) -> list[str]:
        """Items every rule lets through to a recipient who still has not got them."""
        late = []
        for item in self.items.values():
            for recipient in item.current.recipients:
                if recipient in item.delivered or recipient not in self.people:
                    continue
                if not self.relay_faults(item, recipient):
                    late.append(f"item {item.id} ({item.current.scope}) to {recipient}")
        return late
