"""The case record the guidance asks for (G 6, fn 17), for the service and its managers.

The incident, the referral source, the participants, safety (risk) assessments, the process
(contacts: visits, calls, letters, meetings, with dates), outcomes and feedback. Practitioners
on the case add to it; they and the service's managers read it and export it (JSON or CSV).
Facilitators' notes are entries too, but only the case's practitioners see them; what a
participant may be given of notes about them is decided per request for records
(``shuttle.disclosure``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import col, select

from shuttle import access, audit
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.errors import Invalid, NotFound
from shuttle.i18n import N_
from shuttle.models import Assignment, Case, CaseEntry, Delivery, Item, Participant, User
from shuttle.runtime import SERVICE_SLOT, Runtime, Tx

ENTRY_KINDS = ("note", "risk_assessment", "contact", "outcome", "feedback")
# What ``detail`` holds, per kind, and whether it must be given.
DETAILS: dict[str, tuple[tuple[str, ...], bool]] = {
    "note": ((), False),
    "risk_assessment": (("low", "medium", "high"), True),
    "contact": (("visit", "call", "letter", "meeting", "video", "other"), True),
    "outcome": (("agreed", "completed", "partly_completed", "not_completed"), True),
    "feedback": (("form", "phone", "in_person", "portal"), False),
}
TEXT_REQUIRED = frozenset({"note", "risk_assessment", "outcome", "feedback"})
DATE_REQUIRED = frozenset({"contact"})
NOTE_KINDS = ("note", "risk_assessment")  # a facilitator's view of a person: decided per request
MAX_TEXT = 10_000
MAX_INCIDENT = 5_000
CSV_COLUMNS = ("section", "date", "kind", "participant", "detail", "text")


def _day(value: str | None, what: str, today: date) -> date | None:
    if value is None or value == "":
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(
            N_("The %(what)s must be a real date (YYYY-MM-DD)."),
            code="invalid_date",
            params={"what": what},
        ) from None
    if day > today:
        raise Invalid(
            N_("The %(what)s must be today or in the past."),
            code="invalid_date",
            params={"what": what},
        )
    return day


def entry_row(entry: CaseEntry) -> str:
    """The associated-data row name of an entry's text."""
    return f"case_entry:{entry.id}"


async def entry_text(tx: Tx, entry: CaseEntry) -> str | None:
    """An entry's text, decrypted."""
    if entry.text_enc is None:
        return None
    cipher = await tx.cipher(entry.case_id)
    return cipher.open(entry.text_enc, row=entry_row(entry), field="text")


async def entry_view(tx: Tx, entry: CaseEntry) -> dict[str, Any]:
    """One entry, as the case's practitioners (and, but for notes, its managers) see it."""
    return {
        "id": entry.id,
        "kind": entry.kind,
        "participant_id": entry.participant_id,
        "detail": entry.detail,
        "happened_on": entry.happened_on.isoformat() if entry.happened_on else None,
        "text": await entry_text(tx, entry),
        "written_by": entry.written_by,
        "written_at": entry.written_at.isoformat(),
    }


async def add_entry(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    *,
    kind: str,
    participant_id: str | None,
    detail: str | None,
    happened_on: str | None,
    text: str | None,
) -> dict[str, Any]:
    """Add a note, a risk assessment, a contact, an outcome or feedback to the case record."""
    if kind not in ENTRY_KINDS:
        raise Invalid(
            N_("kind must be one of: %(choices)s."),
            code="invalid_kind",
            params={"choices": ", ".join(ENTRY_KINDS)},
        )
    allowed, required = DETAILS[kind]
    if detail is not None and detail not in allowed:
        choices = ", ".join(allowed) or "nothing"
        raise Invalid(
            N_("For a %(kind)s, detail must be one of: %(choices)s."),
            code="invalid_detail",
            params={"kind": kind, "choices": choices},
        )
    if required and detail is None:
        raise Invalid(
            N_("For a %(kind)s, give the detail: one of %(choices)s."),
            code="invalid_detail",
            params={"kind": kind, "choices": ", ".join(allowed)},
        )
    words = (text or "").strip()
    if kind in TEXT_REQUIRED and not words:
        raise Invalid(
            N_("Write the text of the entry."), code="invalid_text", fields={"text": "required"}
        )
    if len(words) > MAX_TEXT:
        raise Invalid(
            N_("Keep it under %(limit)s characters."),
            code="invalid_text",
            params={"limit": MAX_TEXT},
        )
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        day = _day(happened_on, "date", tx.now.date())
        if kind in DATE_REQUIRED and day is None:
            raise Invalid(N_("Give the date of the contact."), code="invalid_date")
        if participant_id is not None:
            try:
                await access.case_participant(tx, case_id, participant_id)
            except NotFound:
                raise Invalid(
                    N_("participant_id must be a participant in this case."),
                    code="invalid_participant",
                ) from None
        entry = CaseEntry(
            case_id=case_id,
            kind=kind,
            participant_id=participant_id,
            detail=detail,
            happened_on=day,
            written_by=actor.user_id,
            written_at=tx.now,
        )
        if words:
            cipher = await tx.cipher(case_id)
            entry.text_enc = cipher.seal(words, row=entry_row(entry), field="text")
        tx.session.add(entry)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.CASE_ENTRY,
            case_id=case_id,
            subject={"entry": entry.id, "kind": kind, "participant": participant_id},
        )
        return await entry_view(tx, entry)


async def set_referral(
    rt: Runtime,
    actor: Actor,
    case_id: str,
    *,
    incident: str | None,
    referral_source: str | None,
    referred_on: str | None,
) -> dict[str, Any]:
    """Record what happened (the incident), who referred the case and when."""
    words = (incident or "").strip()
    if len(words) > MAX_INCIDENT:
        raise Invalid(
            N_("Keep the incident under %(limit)s characters."),
            code="invalid_text",
            params={"limit": MAX_INCIDENT},
        )
    async with rt.write() as tx:
        access.require(tx, actor, "cases:work")
        case, _ = await access.worked_case(tx, actor, case_id)
        if referral_source is not None and referral_source not in tx.policies.referral_sources:
            choices = ", ".join(tx.policies.referral_sources)
            raise Invalid(
                N_("referral_source must be one of: %(choices)s."),
                code="invalid_referral_source",
                params={"choices": choices},
            )
        day = _day(referred_on, "referral date", tx.now.date())
        cipher = await tx.cipher(case_id)
        case.incident_enc = (
            cipher.seal(words, row=f"case:{case.id}", field="incident") if words else None
        )
        case.referral_source, case.referred_on = referral_source, day
        tx.session.add(case)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.CASE_REFERRAL,
            case_id=case_id,
            subject={"case": case_id, "referral_source": referral_source},
        )
        return await _facts(tx, case)


async def _facts(tx: Tx, case: Case) -> dict[str, Any]:
    cipher = await tx.cipher(case.id)
    source = case.referral_source
    return {
        "id": case.id,
        "reference": cipher.open(case.reference_enc, row=f"case:{case.id}", field="reference"),
        "state": case.state,
        "sensitive_complex": case.sensitive_complex,
        "pre_trial": case.pre_trial,
        "opened_at": case.created_at.isoformat(),
        "incident": cipher.open(case.incident_enc, row=f"case:{case.id}", field="incident")
        if case.incident_enc
        else None,
        "referral_source": {
            "code": source,
            "label": tx.policies.referral_sources.get(source, source),
        }
        if source
        else None,
        "referred_on": case.referred_on.isoformat() if case.referred_on else None,
    }


async def compile_case_record(tx: Tx, case: Case, *, with_notes: bool) -> dict[str, Any]:
    """The whole record of one case: a handful of queries, whatever its size."""
    cipher = await tx.cipher(case.id)
    people = (
        await tx.session.exec(
            select(Participant)
            .where(Participant.case_id == case.id)
            .order_by(col(Participant.created_at))
        )
    ).all()
    participants = [
        {
            "id": p.id,
            "role": p.role,
            "name": cipher.open(p.display_name_enc, row=f"participant:{p.id}", field="name"),
            "state": p.state,
            "consented_at": p.consented_at.isoformat() if p.consented_at else None,
            "opted_out_at": p.opted_out_at.isoformat() if p.opted_out_at else None,
        }
        for p in people
    ]
    service = await tx.cipher(SERVICE_SLOT)
    team = (
        await tx.session.exec(
            select(Assignment, User)
            .join(User, col(User.id) == col(Assignment.user_id))
            .where(Assignment.case_id == case.id, col(Assignment.active).is_(True))
        )
    ).all()
    practitioners = [
        {
            "user_id": user.id,
            "role": place.role,
            "name": service.open(user.name_enc, row=f"user:{user.id}", field="name"),
        }
        for place, user in team
    ]
    entries = (
        await tx.session.exec(
            select(CaseEntry)
            .where(CaseEntry.case_id == case.id)
            .order_by(col(CaseEntry.written_at), col(CaseEntry.id))
        )
    ).all()
    by_kind: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ENTRY_KINDS}
    for entry in entries:
        by_kind[entry.kind].append(await entry_view(tx, entry))
    relayed = (
        await tx.session.exec(
            select(
                Delivery.recipient_id, Delivery.relayed_at, Item.kind, Item.author_participant_id
            )
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .where(Delivery.case_id == case.id)
            .order_by(col(Delivery.relayed_at))
        )
    ).all()
    contacts = [
        {
            "kind": entry["detail"],
            "on": entry["happened_on"],
            "participant_id": entry["participant_id"],
            "note": entry["text"],
            "recorded": True,
        }
        for entry in by_kind["contact"]
    ]
    contacts += [
        {
            "kind": "letter",
            "on": at.date().isoformat(),
            "participant_id": recipient,
            "note": None,
            "recorded": False,
            "item_kind": kind,
            "from_participant_id": author,
        }
        for recipient, at, kind, author in relayed
    ]
    contacts.sort(key=lambda c: c["on"] or "")
    record: dict[str, Any] = {
        "format": "shuttle-case-record/1",
        "generated_at": tx.now.isoformat(),
        "case": await _facts(tx, case),
        "practitioners": practitioners,
        "participants": participants,
        "safety_assessments": by_kind["risk_assessment"],
        "contacts": contacts,
        "outcomes": by_kind["outcome"],
        "feedback": by_kind["feedback"],
    }
    if with_notes:
        record["notes"] = by_kind["note"]
    return record


async def case_record(rt: Runtime, actor: Actor, case_id: str) -> dict[str, Any]:
    """The case record for its practitioners (with their notes) or the service's managers."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:record")
        case, place = await access.overseen_case(tx, actor, case_id)
        return await compile_case_record(tx, case, with_notes=place is not None)


async def export_record(rt: Runtime, actor: Actor, case_id: str, form: str) -> bytes:
    """The case record as a file for the service (``json`` or ``csv``); the export is audited."""
    if form not in ("json", "csv"):
        raise Invalid(N_("The format must be json or csv."), code="invalid_format")
    async with rt.write() as tx:
        access.require(tx, actor, "cases:record")
        case, place = await access.overseen_case(tx, actor, case_id)
        record = await compile_case_record(tx, case, with_notes=place is not None)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.CASE_RECORD_EXPORT,
            case_id=case_id,
            subject={"case": case_id, "format": form},
        )
    if form == "json":
        return json.dumps(record, indent=2, ensure_ascii=False).encode()
    return record_csv(record)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _rows(record: dict[str, Any]) -> Iterable[tuple[Any, ...]]:
    names = {p["id"]: p["name"] for p in record["participants"]}
    case = record["case"]
    yield ("case", case["opened_at"][:10], "reference", "", case["state"], case["reference"])
    yield ("case", "", "incident", "", "", case["incident"])
    source = case["referral_source"]
    yield ("case", case["referred_on"], "referral", "", source["label"] if source else "", "")
    for p in record["participants"]:
        yield ("participant", (p["consented_at"] or "")[:10], p["role"], p["name"], p["state"], "")
    for a in record["safety_assessments"]:
        who = names.get(a["participant_id"], "")
        yield ("safety_assessment", a["written_at"][:10], "risk", who, a["detail"], a["text"])
    for c in record["contacts"]:
        who = names.get(c["participant_id"], "")
        yield ("contact", c["on"], c["kind"], who, "" if c["recorded"] else "relayed", c["note"])
    for o in record["outcomes"]:
        who = names.get(o["participant_id"], "")
        yield (
            "outcome",
            o["happened_on"] or o["written_at"][:10],
            "outcome",
            who,
            o["detail"],
            o["text"],
        )
    for f in record["feedback"]:
        who = names.get(f["participant_id"], "")
        yield (
            "feedback",
            f["happened_on"] or f["written_at"][:10],
            "feedback",
            who,
            f["detail"],
            f["text"],
        )
    for n in record.get("notes", []):
        who = names.get(n["participant_id"], "")
        yield ("note", n["written_at"][:10], "note", who, "", n["text"])


def record_csv(record: dict[str, Any]) -> bytes:
    """The record as CSV: one line per fact, in the order of the guidance's list."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _rows(record):
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")
