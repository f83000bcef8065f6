"""Disclosure: a participant's own records and what was relayed to them, and nothing else.

Guidance 3d 8, fn 15: a participant's own information can be disclosed to them without
disclosing the other party's beyond what that party agreed to share. So the package holds the
requester's own items and consents, what was relayed to them as relayed (with attribution),
and the dates of the process — never another participant's unshared items, wishes or notes,
nor practitioners' internal notes.
"""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import col, select

from shuttle import access, audit, checkpoints, relay
from shuttle.access import Actor
from shuttle.audit import AuditAction
from shuttle.cases import participant_view
from shuttle.deadlines import due_by
from shuttle.errors import Conflict, NotFound
from shuttle.i18n import N_
from shuttle.models import (
    AuditEntry,
    Delivery,
    DisclosureRequest,
    Item,
    ItemVersion,
    Participant,
    StatusChange,
    Summary,
)
from shuttle.runtime import Runtime, Tx
from shuttle.sharing import SharingConsent

VERIFIER = Path(__file__).with_name("inclusion_verifier.py")

PROCESS_WORDS = {
    "case:participant:add": "You were added to the case",
    "account:invitation:accept": "You created your account",
    "case:consent:record": "Your consent to take part was recorded",
    "case:preferences:update": "Your wishes about receiving letters were recorded",
    "case:participant:opt_out": "You opted out",
    "case:meeting:request": "You asked for a face-to-face meeting",
    "item:item:create": "You started writing an item",
    "item:version:create": "You changed an item",
    "item:item:submit": "An item of yours was sent to your facilitator",
    "item:item:withdraw": "You withdrew an item",
    "item:item:stop": "An item of yours was stopped",
    "item:decision:approve": "Your facilitator approved an item of yours",
    "item:decision:withhold": "Your facilitator decided not to pass on an item of yours",
    "item:decision:return": "Your facilitator returned an item to you",
    "item:decision:escalate": "An item of yours was passed to a supervisor",
    "item:summary:agree": "You agreed to your facilitator's summary",
    "item:summary:decline": "You did not agree to your facilitator's summary",
    "item:relay:deliver": "An item was passed on",
    "item:relay:read": "You read an item",
    "disclosure:request:create": "You asked for your records",
    "disclosure:request:release": "Your records were released",
}


def _view(request: DisclosureRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "case_id": request.case_id,
        "participant_id": request.participant_id,
        "state": request.state,
        "received_at": request.received_at.isoformat(),
        "due_by": request.due_by.isoformat(),
        "released_at": request.released_at.isoformat() if request.released_at else None,
    }


async def request_records(
    rt: Runtime, actor: Actor, case_id: str | None = None, participant_id: str | None = None
) -> dict[str, Any]:
    """A request for a participant's records, by them or recorded for them by a practitioner."""
    async with rt.write() as tx:
        if case_id is None:
            participant = await access.own_participant(tx, actor)
        else:
            access.require(tx, actor, "cases:work")
            await access.worked_case(tx, actor, case_id)
            participant = await access.case_participant(tx, case_id, participant_id or "")
        request = DisclosureRequest(
            case_id=participant.case_id,
            participant_id=participant.id,
            requested_by=actor.user_id,
            received_at=tx.now,
            due_by=due_by(tx.now, tx.policies.disclosure),
        )
        tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_REQUEST,
            case_id=participant.case_id,
            subject={"request": request.id, "participant": participant.id},
        )
        return _view(request)


async def _request_for(tx: Tx, actor: Actor, request_id: str) -> DisclosureRequest:
    """The request if it is the caller's own, or of a case they work on."""
    request = await tx.session.get(DisclosureRequest, request_id)
    if request is None:
        raise NotFound()
    if actor.is_participant:
        if request.participant_id != actor.participant_id:
            raise NotFound()
    else:
        await access.assignment(tx, actor, request.case_id)
    return request


async def get_request(rt: Runtime, actor: Actor, request_id: str) -> dict[str, Any]:
    """One disclosure request, for its requester or the case's practitioners."""
    async with rt.read() as tx:
        return _view(await _request_for(tx, actor, request_id))


async def my_requests(rt: Runtime, actor: Actor) -> list[dict[str, Any]]:
    """The caller's own disclosure requests."""
    async with rt.read() as tx:
        me = await access.own_participant(tx, actor)
        query = select(DisclosureRequest).where(DisclosureRequest.participant_id == me.id)
        return [_view(r) for r in (await tx.session.exec(query)).all()]


async def case_requests(rt: Runtime, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """Every disclosure request of a case the caller works on, oldest first."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        query = (
            select(DisclosureRequest)
            .where(col(DisclosureRequest.case_id) == case_id)
            .order_by(col(DisclosureRequest.received_at))
        )
        return [_view(r) for r in (await tx.session.exec(query)).all()]


async def release(rt: Runtime, actor: Actor, request_id: str) -> dict[str, Any]:
    """A practitioner reviews and releases the package; it is built and sealed now."""
    async with rt.write() as tx:
        access.require(tx, actor, "disclosure:release")
        access.require_recent_authentication(tx, actor)
        request = await _request_for(tx, actor, request_id)
        if actor.is_participant:
            raise NotFound()
        if request.state != "received":
            raise Conflict(N_("These records have already been released."), code="already_released")
        participant = await tx.session.get(Participant, request.participant_id)
        assert participant is not None
        request.state, request.released_at, request.released_by = "released", tx.now, actor.user_id
        records = await compile_records(tx, participant, request)
        seqs = [event["seq"] for event in records["process"]]
        proofs = await checkpoints.inclusion_proofs(tx, seqs)
        package = build_package(records, tx.settings.web_dir, proofs)
        cipher = await tx.cipher(request.case_id)
        request.package_enc = cipher.seal(
            package.hex(), row=f"disclosure:{request.id}", field="package"
        )
        tx.session.add(request)
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_RELEASE,
            case_id=request.case_id,
            subject={"request": request.id, "participant": participant.id},
        )
        return _view(request)


async def package(rt: Runtime, actor: Actor, request_id: str) -> bytes:
    """The released package (a ZIP), for its requester or the case's practitioners."""
    async with rt.write() as tx:
        request = await _request_for(tx, actor, request_id)
        if request.state != "released" or request.package_enc is None:
            raise Conflict(N_("These records have not been released yet."), code="not_released")
        cipher = await tx.cipher(request.case_id)
        data = bytes.fromhex(
            cipher.open(request.package_enc, row=f"disclosure:{request.id}", field="package")
        )
        await audit.record(
            tx,
            actor.user_id,
            AuditAction.DISCLOSURE_DOWNLOAD,
            case_id=request.case_id,
            subject={"request": request.id},
        )
        return data


async def compile_records(
    tx: Tx, participant: Participant, request: DisclosureRequest
) -> dict[str, Any]:
    """Everything the requester is entitled to, as one JSON-ready value."""
    cipher = await tx.cipher(participant.case_id)
    you = await participant_view(tx, participant)
    you.pop("has_account", None)
    written = []
    own_items = (
        await tx.session.exec(
            select(Item)
            .where(Item.author_participant_id == participant.id)
            .order_by(col(Item.created_at))
        )
    ).all()
    for item in own_items:
        versions = (
            await tx.session.exec(
                select(ItemVersion)
                .where(ItemVersion.item_id == item.id)
                .order_by(col(ItemVersion.number))
            )
        ).all()
        summaries = (
            await tx.session.exec(
                select(Summary).where(Summary.item_id == item.id).order_by(col(Summary.proposed_at))
            )
        ).all()
        history = (
            await tx.session.exec(
                select(StatusChange)
                .where(StatusChange.item_id == item.id)
                .order_by(col(StatusChange.revision))
            )
        ).all()
        written.append(
            {
                "id": item.id,
                "kind": item.kind,
                "state": item.state,
                "assisted": item.assisted,
                "response_wanted": item.response_wanted,
                "created_at": item.created_at.isoformat(),
                "versions": [
                    {
                        "number": v.number,
                        "body": cipher.open(v.body_enc, row=f"item_version:{v.id}", field="body"),
                        "sharing": SharingConsent(
                            v.scope, tuple(relay.recipient_ids(v)), v.delivery
                        ).public(),
                        "digest": v.digest,
                        "created_at": v.created_at.isoformat(),
                    }
                    for v in versions
                ],
                "summaries": [
                    {
                        "text": cipher.open(s.text_enc, row=f"summary:{s.id}", field="text"),
                        "state": s.state,
                        "proposed_at": s.proposed_at.isoformat(),
                    }
                    for s in summaries
                ],
                "status_history": [{"state": c.state, "at": c.at.isoformat()} for c in history],
            }
        )
    deliveries = (
        await tx.session.exec(
            select(Delivery, Item)
            .join(Item, col(Item.id) == col(Delivery.item_id))
            .where(Delivery.recipient_id == participant.id)
            .order_by(col(Delivery.relayed_at))
        )
    ).all()
    received = [await relay.delivery_view(tx, d, i) for d, i in deliveries]
    return {
        "format": "shuttle-disclosure/1",
        "generated_at": tx.now.isoformat(),
        "request": _view(request),
        "you": you,
        "items_you_wrote": written,
        "items_relayed_to_you": received,
        "process": await _process(
            tx, participant, {i.id for i in own_items}, {d.id for d, _ in deliveries}
        ),
    }


async def _process(
    tx: Tx, participant: Participant, own_items: set[str], own_deliveries: set[str]
) -> list[dict[str, Any]]:
    """Dates of the process that concern the requester: their record, items and deliveries."""
    entries = (
        await tx.session.exec(
            select(AuditEntry)
            .where(AuditEntry.case_id == participant.case_id)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    events = []
    for row in entries:
        entry = json.loads(row.entry)
        subject = entry.get("subject", {})
        mine = (
            subject.get("participant") == participant.id
            or (subject.get("item") in own_items and row.action != "item:text:open")
            or subject.get("delivery") in own_deliveries
        )
        if mine and row.action in PROCESS_WORDS:
            events.append(
                {
                    "seq": row.seq,
                    "at": entry["at"],
                    "action": row.action,
                    "what": PROCESS_WORDS[row.action],
                }
            )
    return events


@cache
def _templates(web_dir: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(web_dir / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


PROOFS_README = """
proofs/proofs.json - proofs that the entries of the service's audit log about you (the
                     "process" dates) are in its signed log, as it stood when this package
                     was made. Nobody can change those entries later without it showing.
proofs/verify.py   - checks them. It needs Python 3 and nothing else:

    python3 proofs/verify.py --key 'THE LOG KEY YOUR SERVICE PUBLISHED'

  Without --key it uses the key written inside proofs.json, which shows the proofs hold
  together but not that the service made them: ask the service (or its commissioner) for
  its log key. An auditor who keeps the service's checkpoints can also compare the
  checkpoint in proofs.json with theirs.
"""


def build_package(
    records: dict[str, Any], web_dir: Path, proofs: dict[str, Any] | None = None
) -> bytes:
    """The ZIP: records.json, a readable records.html, a README, and the audit proofs."""
    html = _templates(web_dir).get_template("disclosure/records.html").render(records=records)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("records.json", json.dumps(records, indent=2, ensure_ascii=False))
        archive.writestr("records.html", html)
        archive.writestr(
            "README.txt",
            "Your records from the restorative justice service.\n\n"
            "records.html  - open this in a web browser to read them.\n"
            "records.json  - the same records in a form computers can read.\n"
            + (PROOFS_README if proofs is not None else ""),
        )
        if proofs is not None:
            archive.writestr("proofs/proofs.json", json.dumps(proofs, indent=2))
            archive.writestr("proofs/verify.py", VERIFIER.read_text(encoding="utf-8"))
    return buffer.getvalue()
