"""Request bodies, validated strictly at the edge: unknown fields and wrong types are refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _optional_text() -> Any:
    return Field(default=None, max_length=2000)


class Body(BaseModel):
    """Every request body: no unknown fields, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Empty(Body):
    """An action that takes no fields (an empty object or no body at all)."""


class SignIn(Body):
    """E-mail and password."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class SecondFactor(Body):
    """The challenge from the password step and a code: six digits from the authenticator
    app, or one of the recovery codes."""

    challenge: str = Field(min_length=1, max_length=128)
    code: str = Field(min_length=1, max_length=64)


class Reauthenticate(Body):
    """The password again and, for staff, a code from the authenticator (or a recovery code)."""

    password: str = Field(max_length=1024)
    code: str | None = Field(default=None, max_length=64)


class PasswordChange(Body):
    """The current password and the new one."""

    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class AcceptInvitation(Body):
    """The e-mail the participant will sign in with, and their new password."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class NewCase(Body):
    """A new case."""

    reference: str = Field(max_length=100)
    sensitive_complex: bool = False
    lead_practitioner_id: str | None = Field(default=None, max_length=64)
    supervisor_id: str | None = Field(default=None, max_length=64)
    pre_trial: bool = False


class CaseState(Body):
    """Pause, resume (open) or close a case."""

    state: Literal["open", "paused", "closed"]


class ConflictOfInterest(Body):
    """A practitioner's declaration of any conflict of interest (guidance G 11-13)."""

    declared: bool
    details: str | None = _optional_text()


class NewAssignment(Body):
    """A practitioner joining a case."""

    user_id: str = Field(min_length=1, max_length=64)
    role: Literal["lead", "co_worker", "supervisor"]
    conflict_of_interest: ConflictOfInterest


class LaterConflict(Body):
    """A conflict of interest that came to light after assignment."""

    details: str | None = _optional_text()


class NewParticipant(Body):
    """A person joining a case."""

    role: Literal["harmed", "responsible", "supporter", "other"]
    display_name: str = Field(max_length=100)
    shown_to_others_as: str = Field(max_length=100)


class Consent(Body):
    """Informed consent, as recorded by the practitioner."""

    information_sheet_version: str = Field(max_length=64)
    method: Literal["in_person", "phone", "written", "portal"]
    accepts_responsibility: bool | None = None
    court_ordered: bool | None = None


class OptOut(Body):
    """Opting out, with an optional reason."""

    reason: str | None = _optional_text()


class Preferences(Body):
    """What a participant is willing to receive, and how."""

    receive: Literal["yes", "no", "ask_first"]
    unwanted_topics: list[str] = Field(default_factory=list, max_length=50)
    delivery: Literal["portal", "read_out", "printed"] = "portal"
    tell_author_when_read: bool = False


class WatchList(Body):
    """Words that must never reach the other side."""

    terms: list[str] = Field(max_length=500)


class Sharing(Body):
    """The author's sharing consent for one item."""

    scope: Literal["verbatim", "summary", "facilitator_only"]
    recipient_ids: list[str] = Field(default_factory=list, max_length=20)
    delivery: Literal["portal", "read_out", "printed"] | None = None


Kind = Literal["letter", "message", "question", "answer", "information", "assessment"]
Response = Literal["reply", "feedback", "none"]


class NewItem(Body):
    """A new item (a draft)."""

    kind: Kind
    body: str = Field(max_length=50_000)
    sharing: Sharing
    response_wanted: Response | None = None
    in_reply_to: str | None = Field(default=None, max_length=64)
    on_behalf_of: str | None = Field(default=None, max_length=64)
    assisted_declaration: str | None = _optional_text()
    assisted_read_back_on: str | None = Field(
        default=None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="Assisted items: the day the words were read back to the author and "
        "agreed (YYYY-MM-DD).",
    )
    assisted_received_by: Literal["handwritten", "phone", "visit"] | None = Field(
        default=None,
        description="Assisted items: how the words came in (a handwritten letter typed up, "
        "by phone, or at a visit).",
    )


class ItemChange(Body):
    """A change to a draft or returned item."""

    body: str | None = Field(default=None, max_length=50_000)
    sharing: Sharing | None = None
    response_wanted: Response | None = None
    assisted_declaration: str | None = Field(
        default=None,
        max_length=2000,
        description="Assisted items: the read-back declaration for this new version.",
    )
    assisted_read_back_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    assisted_received_by: Literal["handwritten", "phone", "visit"] | None = None


class DecisionBody(Body):
    """A practitioner's decision on one exact version."""

    decision: Literal["approve", "withhold", "return", "escalate"]
    version_digest: str = Field(min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=5000)
    summary: str | None = Field(default=None, max_length=20_000)
    internal_note: str | None = Field(default=None, max_length=5000)


class SummaryConsent(Body):
    """The author's answer to the facilitator's summary."""

    agree: bool


class MeetingRequest(Body):
    """A participant asking for a face-to-face meeting."""

    note: str | None = _optional_text()


class NoteDecision(Body):
    """Disclose a note or risk assessment to the requester, or withhold it with an exemption
    (a code from policies/disclosure.toml)."""

    decision: Literal["disclose", "withhold"]
    exemption: str | None = Field(default=None, max_length=32)


class Extension(Body):
    """Extend the time limit of a request for records by one or two further months."""

    months: int = Field(ge=1, le=2)
    reason: str = Field(min_length=1, max_length=32, description="complex or numerous")
    note: str | None = _optional_text()


class CaseEntry(Body):
    """An entry of the case record."""

    kind: Literal["note", "risk_assessment", "contact", "outcome", "feedback"]
    participant_id: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(
        default=None,
        max_length=32,
        description="risk_assessment: low, medium or high; contact: visit, call, letter, "
        "meeting, video or other; outcome: agreed, completed, partly_completed or "
        "not_completed; feedback (optional): form, phone, in_person or portal.",
    )
    happened_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    text: str | None = Field(default=None, max_length=10_000)


class Referral(Body):
    """The incident, who referred the case (a code from policies/case_record.toml) and when."""

    incident: str | None = Field(default=None, max_length=5000)
    referral_source: str | None = Field(default=None, max_length=32)
    referred_on: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
