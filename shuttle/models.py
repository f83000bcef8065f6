"""The tables. Personal fields end in ``_enc``: ciphertext under the case's data key.

Nothing here decides anything; services do. Columns that hold ciphertext are named for what
they hold so that a reviewer can see at a glance that no plaintext personal data is stored.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def new_id() -> str:
    """A fresh opaque id (random UUID4, as text)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(nullable: bool = False) -> Any:
    """A UTC timestamp column; a required one defaults to now."""
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def secret(nullable: bool = False) -> Any:
    """A ciphertext column (nonce || AES-256-GCM ciphertext)."""
    if nullable:
        return Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    return Field(sa_column=Column(LargeBinary(), nullable=False))


class DataKey(SQLModel, table=True):
    """A wrapped data key: one per case, one (``service``) for accounts. Deleting it destroys."""

    __tablename__ = "data_key"
    id: str = Field(primary_key=True, max_length=64)
    wrapped: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    master_key_id: str = Field(max_length=32)
    created_at: datetime = when()


class User(SQLModel, table=True):
    """An account: a member of staff, or a participant who accepted an invitation."""

    __tablename__ = "user_account"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    role: str = Field(max_length=32)
    email_lookup: str = Field(max_length=64, unique=True)
    email_enc: bytes = secret()
    name_enc: bytes = secret()
    password_hash: str = Field(max_length=256)
    active: bool = True
    created_at: datetime = when()
    # Multi-factor sign-in (RFC 6238): the shared secret, sealed like a name; the last time
    # step accepted, so that no code is accepted twice.
    totp_secret_enc: bytes | None = secret(nullable=True)
    totp_last_step: int | None = None
    mfa_enrolled_at: datetime | None = when(nullable=True)


class SessionToken(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "session_token"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    token_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = when()
    expires_at: datetime = when()
    last_used_at: datetime = when()
    revoked_at: datetime | None = when(nullable=True)
    # When the person last proved who they are (sign-in or re-authentication).
    authenticated_at: datetime | None = when(nullable=True)


class RecoveryCode(SQLModel, table=True):
    """A one-time code for signing in without the authenticator, kept as its SHA-256 digest."""

    __tablename__ = "recovery_code"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    code_digest: str = Field(max_length=64, unique=True)
    created_at: datetime = when()
    used_at: datetime | None = when(nullable=True)


class SignInChallenge(SQLModel, table=True):
    """A password accepted, waiting for the second factor (or for enrolment in one)."""

    __tablename__ = "sign_in_challenge"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    token_digest: str = Field(max_length=64, unique=True)
    # A secret offered for enrolment, sealed; None when the account is enrolled already.
    enrolment_secret_enc: bytes | None = secret(nullable=True)
    failures: int = 0
    created_at: datetime = when()
    expires_at: datetime = when()
    used_at: datetime | None = when(nullable=True)


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per account and per address, keyed by a keyed hash of either."""

    __tablename__ = "sign_in_throttle"
    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    last_failure_at: datetime = when()
    blocked_until: datetime | None = when(nullable=True)


class Case(SQLModel, table=True):
    """A restorative case: the people in it, and the items passed between them."""

    __tablename__ = "case_record"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    reference_enc: bytes = secret()
    state: str = Field(default="open", max_length=16)
    sensitive_complex: bool = False
    pre_trial: bool = False
    pre_trial_consultation_at: datetime | None = when(nullable=True)
    watch_list_enc: bytes | None = secret(nullable=True)
    # The case record (guidance G 6): what happened, and who referred the case, and when.
    incident_enc: bytes | None = secret(nullable=True)
    referral_source: str | None = Field(default=None, max_length=32)
    referred_on: date | None = None
    created_by: str = Field(foreign_key="user_account.id", max_length=36)
    created_at: datetime = when()


class Assignment(SQLModel, table=True):
    """A practitioner's place on a case: lead, co-worker or supervisor."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    role: str = Field(max_length=16)
    active: bool = True
    conflict_declared: bool = False
    conflict_details_enc: bytes | None = secret(nullable=True)
    created_at: datetime = when()


class Participant(SQLModel, table=True):
    """A person in a case, with their informed consent and what they are willing to receive."""

    __tablename__ = "participant"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    user_id: str | None = Field(
        default=None, foreign_key="user_account.id", index=True, unique=True, max_length=36
    )
    role: str = Field(max_length=16)
    state: str = Field(default="invited", max_length=16)
    display_name_enc: bytes = secret()
    shown_to_others_as_enc: bytes = secret()
    consent_sheet_version: str | None = Field(default=None, max_length=64)
    consent_method: str | None = Field(default=None, max_length=16)
    accepts_responsibility: bool | None = None
    court_ordered: bool | None = None
    consented_at: datetime | None = when(nullable=True)
    consent_recorded_by: str | None = Field(default=None, max_length=36)
    opted_out_at: datetime | None = when(nullable=True)
    opt_out_reason_enc: bytes | None = secret(nullable=True)
    receive: str = Field(default="ask_first", max_length=16)
    unwanted_topics_enc: bytes | None = secret(nullable=True)
    delivery: str = Field(default="portal", max_length=16)
    tell_author_when_read: bool = False
    preferences_set_at: datetime | None = when(nullable=True)
    created_at: datetime = when()


class Invitation(SQLModel, table=True):
    """A one-time, expiring invitation for a participant to create their account."""

    __tablename__ = "invitation"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    participant_id: str = Field(foreign_key="participant.id", index=True, max_length=36)
    token_digest: str = Field(max_length=64, unique=True)
    expires_at: datetime = when()
    used_at: datetime | None = when(nullable=True)
    created_at: datetime = when()


class Item(SQLModel, table=True):
    """A letter, message, question, answer, information or assessment, across its versions.

    ``revision`` changes on every state change so that racing changes are settled by a
    conditional update: exactly one wins.
    """

    __tablename__ = "item"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    kind: str = Field(max_length=16)
    state: str = Field(default="draft", max_length=16, index=True)
    revision: int = 1
    version: int = 1
    author_participant_id: str | None = Field(
        default=None, foreign_key="participant.id", index=True, max_length=36
    )
    written_by: str = Field(foreign_key="user_account.id", max_length=36)
    assisted: bool = False
    response_wanted: str = Field(default="none", max_length=16)
    in_reply_to: str | None = Field(default=None, max_length=36)
    stop_reason: str | None = Field(default=None, max_length=32)
    created_at: datetime = when()
    submitted_at: datetime | None = when(nullable=True)
    updated_at: datetime = when()


class ItemVersion(SQLModel, table=True):
    """One version of an item: its text, its author's sharing consent, and their digest."""

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "number"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    number: int
    body_enc: bytes = secret()
    scope: str = Field(max_length=20)
    recipient_ids: str = Field(default="[]", max_length=4000)
    delivery: str = Field(default="portal", max_length=16)
    digest: str = Field(max_length=64)
    consent_given_by: str = Field(max_length=36)
    assisted_declaration_enc: bytes | None = secret(nullable=True)
    # Assisted mode: the day the words were read back to the author, and how they came in.
    read_back_on: date | None = None
    received_by: str | None = Field(default=None, max_length=16)
    flags_enc: bytes | None = secret(nullable=True)
    created_at: datetime = when()


class StatusChange(SQLModel, table=True):
    """Each state an item entered, for its author to follow (3d 11)."""

    __tablename__ = "status_change"
    __table_args__ = (UniqueConstraint("item_id", "revision"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    revision: int
    state: str = Field(max_length=16)
    at: datetime = when()


class Decision(SQLModel, table=True):
    """A practitioner's decision on one exact version of an item."""

    __tablename__ = "decision"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    version: int
    version_digest: str = Field(max_length=64)
    decided_by: str = Field(foreign_key="user_account.id", max_length=36)
    decision: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=32)
    note_enc: bytes | None = secret(nullable=True)
    internal_note_enc: bytes | None = secret(nullable=True)
    full_text_opened_at: datetime | None = when(nullable=True)
    by_supervisor: bool = False
    current: bool = True
    at: datetime = when()


class Claim(SQLModel, table=True):
    """A practitioner's claim on an item in the queue: theirs to review until it expires."""

    __tablename__ = "claim"
    item_id: str = Field(foreign_key="item.id", primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user_account.id", index=True, max_length=36)
    claimed_at: datetime = when()
    expires_at: datetime = when()


class Summary(SQLModel, table=True):
    """A facilitator's summary of a ``summary``-scope item, waiting for or given its author's OK."""

    __tablename__ = "summary"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    version: int
    text_enc: bytes = secret()
    proposed_by: str = Field(foreign_key="user_account.id", max_length=36)
    state: str = Field(default="proposed", max_length=16)
    proposed_at: datetime = when()
    answered_at: datetime | None = when(nullable=True)


class Reading(SQLModel, table=True):
    """That a practitioner opened the full text of a version (never handed over sealed)."""

    __tablename__ = "reading"
    __table_args__ = (UniqueConstraint("item_id", "version", "user_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    version: int
    user_id: str = Field(foreign_key="user_account.id", max_length=36)
    at: datetime = when()


class Delivery(SQLModel, table=True):
    """An item relayed to one recipient: the words as relayed and whose words they are."""

    __tablename__ = "delivery"
    __table_args__ = (UniqueConstraint("item_id", "recipient_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    item_id: str = Field(foreign_key="item.id", index=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    recipient_id: str = Field(foreign_key="participant.id", index=True, max_length=36)
    version: int
    version_digest: str = Field(max_length=64)
    attribution_tag: str = Field(max_length=32)
    label_enc: bytes = secret()
    from_enc: bytes = secret()
    body_enc: bytes = secret()
    relayed_at: datetime = when()
    read_at: datetime | None = when(nullable=True)
    response_declined_at: datetime | None = when(nullable=True)


class MeetingRequest(SQLModel, table=True):
    """A participant asking for a face-to-face meeting (guidance 3d 3), for the facilitator."""

    __tablename__ = "meeting_request"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    participant_id: str = Field(foreign_key="participant.id", index=True, max_length=36)
    note_enc: bytes | None = secret(nullable=True)
    requested_at: datetime = when()


class DisclosureRequest(SQLModel, table=True):
    """A participant's request for their own records (guidance G 5; UK right of access)."""

    __tablename__ = "disclosure_request"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    participant_id: str = Field(foreign_key="participant.id", index=True, max_length=36)
    requested_by: str = Field(foreign_key="user_account.id", max_length=36)
    state: str = Field(default="received", max_length=32)
    received_at: datetime = when()
    due_by: datetime = when()
    released_at: datetime | None = when(nullable=True)
    released_by: str | None = Field(default=None, max_length=36)
    package_enc: bytes | None = secret(nullable=True)
    # records.pdf of a big package is made after the release: "pending", then None once it is
    # in the package, or "failed" (retried when the service starts).
    pdf_state: str | None = Field(default=None, max_length=16)
    # Two-person release: the first approval, by a practitioner on the case.
    first_approved_by: str | None = Field(default=None, max_length=36)
    first_approved_at: datetime | None = when(nullable=True)
    # The extension of the time limit (complex or numerous requests), with its reason.
    extended_at: datetime | None = when(nullable=True)
    extended_by: str | None = Field(default=None, max_length=36)
    extension_months: int | None = None
    extension_reason: str | None = Field(default=None, max_length=32)
    extension_note_enc: bytes | None = secret(nullable=True)


class CaseEntry(SQLModel, table=True):
    """One entry of the case record: a facilitator's note or risk assessment (about a
    participant, or the case), a contact (visit, call, letter, meeting), an outcome, feedback.

    ``detail`` is a code whose meaning depends on ``kind``: the risk level, the kind of
    contact, the outcome's state, or how feedback was given.
    """

    __tablename__ = "case_entry"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_record.id", index=True, max_length=36)
    kind: str = Field(max_length=16)
    participant_id: str | None = Field(
        default=None, foreign_key="participant.id", index=True, max_length=36
    )
    detail: str | None = Field(default=None, max_length=32)
    happened_on: date | None = None
    text_enc: bytes | None = secret(nullable=True)
    written_by: str = Field(foreign_key="user_account.id", max_length=36)
    written_at: datetime = when()


class DisclosureDecision(SQLModel, table=True):
    """A practitioner's decision on one note or risk assessment for one request for records:
    disclose it, or withhold it with an exemption (policies/disclosure.toml)."""

    __tablename__ = "disclosure_decision"
    __table_args__ = (UniqueConstraint("request_id", "entry_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="disclosure_request.id", index=True, max_length=36)
    entry_id: str = Field(foreign_key="case_entry.id", index=True, max_length=36)
    decision: str = Field(max_length=16)
    exemption: str | None = Field(default=None, max_length=32)
    decided_by: str = Field(foreign_key="user_account.id", max_length=36)
    decided_at: datetime = when()


class AuditEntry(SQLModel, table=True):
    """One leaf of the audit log. ``entry`` is canonical JSON of ids and digests, never text."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_case", "case_id", "seq"),)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    case_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=64)
    entry: str = Field(max_length=8000)
    leaf_hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The log's current signed tree head and the frontier needed to append in O(log n)."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    size: int = 0
    root_hash: str = Field(max_length=64)
    frontier: str = Field(max_length=8000)
    signature: str = Field(max_length=200)
    signed_at: datetime = when()


class AuditCheckpoint(SQLModel, table=True):
    """A signed tree head kept for good: one on the first change of each day, and on demand.

    ``note`` is the C2SP tlog-checkpoint (a signed note) exactly as exported to auditors.
    """

    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    size: int
    root_hash: str = Field(max_length=64)
    note: str = Field(max_length=2000)
    reason: str = Field(max_length=16)
    created_at: datetime = when()


class CaseDestruction(SQLModel, table=True):
    """A case's destruction under the retention policy: asked by one person, approved by another.

    No foreign key to the case: this record outlives it. ``statistics`` holds counts only
    (never names or text), kept if the retention policy says so.
    """

    __tablename__ = "case_destruction"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(index=True, max_length=36)
    record_type: str = Field(max_length=32)
    due_at: datetime = when()
    state: str = Field(default="requested", max_length=16)
    requested_by: str = Field(max_length=36)
    requested_at: datetime = when()
    approved_by: str | None = Field(default=None, max_length=36)
    approved_at: datetime | None = when(nullable=True)
    destroyed_at: datetime | None = when(nullable=True)
    statistics: str | None = Field(default=None, max_length=2000)


class LegalHold(SQLModel, table=True):
    """A legal hold: while it stands, nothing of the case is destroyed."""

    __tablename__ = "legal_hold"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(index=True, max_length=36)
    reason: str = Field(max_length=32)
    placed_by: str = Field(max_length=36)
    placed_at: datetime = when()
    lifted_by: str | None = Field(default=None, max_length=36)
    lifted_at: datetime | None = when(nullable=True)
