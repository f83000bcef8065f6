"""The audit log: one entry per state change, in the same transaction, as leaves of a Merkle tree.

Entries hold ids, codes and digests, never message text. Leaves and nodes are hashed as
RFC 9162 says; the tree head (size, root) is signed with the service's Ed25519 key in the
C2SP checkpoint form, so an auditor who keeps a copy can later see that the log only grew.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from shuttle import signed_note
from shuttle.crypto import verify_signature
from shuttle.merkle import Frontier, empty_root, leaf_hash
from shuttle.models import AuditCheckpoint, AuditEntry, AuditHead
from shuttle.runtime import Tx

ORIGIN = "shuttle.audit/v1"
# The signed-note key name: the origin itself, as logs usually do.
KEY_NAME = ORIGIN


class AuditAction(StrEnum):
    """Every kind of recorded change, as ``source:subject:action``."""

    USER_CREATE = "account:user:create"
    SESSION_CREATE = "account:session:create"
    SESSION_REVOKE = "account:session:revoke"
    INVITATION_ACCEPT = "account:invitation:accept"
    SESSION_REAUTHENTICATE = "account:session:reauthenticate"
    SESSIONS_REVOKE_ALL = "account:session:revoke_all"
    MFA_ENROL = "account:mfa:enrol"
    RECOVERY_CODE_USE = "account:recovery_code:use"
    RECOVERY_CODES_RENEW = "account:recovery_code:renew"
    PASSWORD_CHANGE = "account:password:change"  # noqa: S105 (an action name)
    USER_DISABLE = "account:user:disable"
    USER_ENABLE = "account:user:enable"
    CASE_CREATE = "case:case:create"
    CASE_PAUSE = "case:case:pause"
    CASE_RESUME = "case:case:resume"
    CASE_CLOSE = "case:case:close"
    ASSIGNMENT_ADD = "case:assignment:add"
    ASSIGNMENT_CONFLICT = "case:assignment:conflict"
    PARTICIPANT_ADD = "case:participant:add"
    CONSENT_RECORD = "case:consent:record"
    PARTICIPANT_OPT_OUT = "case:participant:opt_out"
    PREFERENCES_UPDATE = "case:preferences:update"
    WATCH_LIST_UPDATE = "case:watch_list:update"
    MEETING_REQUEST = "case:meeting:request"
    PRE_TRIAL_CONSULTATION = "case:pre_trial:consultation"
    RESPONSE_DECLINE = "item:response:decline"
    ITEM_CREATE = "item:item:create"
    ITEM_REVISE = "item:version:create"
    ITEM_SUBMIT = "item:item:submit"
    ITEM_WITHDRAW = "item:item:withdraw"
    ITEM_STOP = "item:item:stop"
    TEXT_OPEN = "item:text:open"
    DECISION_APPROVE = "item:decision:approve"
    DECISION_WITHHOLD = "item:decision:withhold"
    DECISION_RETURN = "item:decision:return"
    DECISION_ESCALATE = "item:decision:escalate"
    CLAIM_TAKE = "item:claim:take"
    CLAIM_RELEASE = "item:claim:release"
    SUMMARY_AGREE = "item:summary:agree"
    SUMMARY_DECLINE = "item:summary:decline"
    RELAY_DELIVER = "item:relay:deliver"
    RELAY_READ = "item:relay:read"
    DISCLOSURE_REQUEST = "disclosure:request:create"
    DISCLOSURE_RELEASE = "disclosure:request:release"
    DISCLOSURE_DOWNLOAD = "disclosure:package:download"
    DISCLOSURE_APPROVE = "disclosure:request:approve"
    DISCLOSURE_EXTEND = "disclosure:request:extend"
    DISCLOSURE_DECIDE = "disclosure:decision:record"
    CASE_REFERRAL = "case:referral:update"
    CASE_ENTRY = "case:entry:create"
    CASE_RECORD_EXPORT = "case:record:export"
    CHECKPOINT_CREATE = "audit:checkpoint:create"
    DESTRUCTION_REQUEST = "records:destruction:request"
    DESTRUCTION_APPROVE = "records:destruction:approve"
    CASE_DESTROY = "records:case:destroy"
    HOLD_PLACE = "records:hold:place"
    HOLD_LIFT = "records:hold:lift"
    KEYS_ROTATE = "records:keys:rotate"


def canonical(value: Any) -> bytes:
    """The one byte form of a JSON value that is hashed and signed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def checkpoint_body(size: int, root: bytes) -> str:
    """The C2SP tlog-checkpoint body: origin, tree size, base64 root hash."""
    return signed_note.checkpoint_body(ORIGIN, size, root)


def head_note(tx: Tx, head: AuditHead) -> str:
    """The signed head as a C2SP checkpoint: its signature is the head's own, unchanged."""
    body = checkpoint_body(head.size, bytes.fromhex(head.root_hash))
    signature = base64.b64decode(head.signature, validate=True)
    return signed_note.note(body, KEY_NAME, tx.keys.signing.public_key_bytes(), signature)


def keep_checkpoint(tx: Tx, head: AuditHead, reason: str) -> AuditCheckpoint:
    """Store the signed head as a checkpoint (``day`` or ``demand``) in this transaction."""
    checkpoint = AuditCheckpoint(
        size=head.size,
        root_hash=head.root_hash,
        note=head_note(tx, head),
        reason=reason,
        created_at=tx.now,
    )
    tx.session.add(checkpoint)
    return checkpoint


async def _first_change_today(tx: Tx) -> bool:
    today = tx.now.date()
    if tx.memo.checkpoint_day == today:
        return False
    # The newest checkpoint is the one with the highest id: one primary-key lookup.
    query = select(AuditCheckpoint.created_at).order_by(col(AuditCheckpoint.id).desc()).limit(1)
    last = (await tx.session.exec(query)).first()
    if last is not None and last.date() == today:
        tx.memo.checkpoint_day = today
        return False
    return True


async def _head(tx: Tx) -> AuditHead:
    # FOR UPDATE serialises appenders on PostgreSQL; on SQLite the single writer already does.
    query = select(AuditHead).where(AuditHead.id == 1).with_for_update()
    head = (await tx.session.exec(query)).one_or_none()
    if head is None:
        raise RuntimeError("the audit log has no head: run `shuttle init`")
    return head


def _sign(tx: Tx, head: AuditHead, root: bytes) -> None:
    head.root_hash = root.hex()
    head.signature = base64.b64encode(
        tx.keys.signing.sign(checkpoint_body(head.size, root).encode())
    ).decode()
    head.signed_at = tx.now


async def ensure_head(tx: Tx) -> bool:
    """Create the empty, signed tree head if the log has none. Returns True if it did."""
    if await tx.session.get(AuditHead, 1) is not None:
        return False
    head = AuditHead(id=1, size=0, frontier=Frontier().to_json(), root_hash="", signature="")
    _sign(tx, head, empty_root())
    tx.session.add(head)
    return True


async def record(
    tx: Tx,
    actor_id: str | None,
    action: AuditAction,
    *,
    case_id: str | None = None,
    subject: dict[str, str | int | bool | None] | None = None,
    digests: dict[str, str] | None = None,
) -> None:
    """Record one entry for a change made in ``tx``; it is appended just before ``tx`` commits.

    Pass ids, codes and digests only: never a body, name, note or any other text.

    Appending last means the log's head is always the last lock a transaction takes, and is
    held only for the moment before commit: two transactions can then never wait on each
    other through it (on PostgreSQL an early lock deadlocked with item row locks).
    """
    if not tx.pending_audit:
        tx.before_commit.append(lambda: _append_pending(tx))
    if case_id is not None:
        tx.changed_cases.add(case_id)  # for live updates, after commit (Runtime.write)
    tx.pending_audit.append(
        {
            "actor": actor_id,
            "action": action.value,
            "case": case_id,
            "subject": subject or {},
            "digests": digests or {},
        }
    )


class AuditIntegrityError(RuntimeError):
    """The log's head does not match its own signature: refuse to append (and so to sign)."""


def head_problems(tx: Tx, head: AuditHead) -> list[str]:
    """What is wrong with the signed head itself: a malformed root or an invalid signature."""
    try:
        root = bytes.fromhex(head.root_hash)
        signature = base64.b64decode(head.signature, validate=True)
    except ValueError:
        return ["the tree head's root or signature is malformed"]
    body = checkpoint_body(head.size, root).encode()
    if not verify_signature(tx.keys.signing.public_key_bytes(), body, signature):
        return ["the tree head's signature does not verify"]
    return []


async def _append_pending(tx: Tx) -> None:
    head = await _head(tx)
    # Never sign on top of a head we did not sign, or of a frontier that disagrees with it:
    # otherwise a rewrite of the log would be signed by the service at its next change.
    try:
        frontier = Frontier.from_json(head.frontier)
    except ValueError as exc:
        raise AuditIntegrityError("the audit log's frontier is malformed") from exc
    # The signature check is skipped only for the very head this process last signed.
    ours = tx.memo.signed_head == (head.size, head.root_hash, head.signature)
    if (not ours and head_problems(tx, head)) or (frontier.size, frontier.root().hex()) != (
        head.size,
        head.root_hash,
    ):
        raise AuditIntegrityError("the audit log's head does not verify; refusing to append")
    at = tx.now.isoformat(timespec="microseconds")
    for pending in tx.pending_audit:
        seq = frontier.size
        entry = canonical({"seq": seq, "at": at, **pending})
        leaf = leaf_hash(entry)
        frontier.append(leaf)
        tx.session.add(
            AuditEntry(
                seq=seq,
                case_id=pending["case"],
                action=pending["action"],
                entry=entry.decode(),
                leaf_hash=leaf.hex(),
            )
        )
    tx.pending_audit.clear()
    head.size = frontier.size
    head.frontier = frontier.to_json()
    _sign(tx, head, frontier.root())
    tx.session.add(head)
    # Signed by us, committed or not: a head that is not in the database never matches it.
    tx.memo.signed_head = (head.size, head.root_hash, head.signature)
    if await _first_change_today(tx):
        keep_checkpoint(tx, head, "day")
        day = tx.now.date()

        async def remember() -> None:  # only once the checkpoint is committed
            tx.memo.checkpoint_day = day

        tx.after_commit.append(remember)


@dataclass
class Verification:
    """What ``verify`` found: ok, the size and root it recomputed, and any problems."""

    ok: bool
    size: int
    root: str
    problems: list[str] = field(default_factory=list)


async def verify(tx: Tx, *, batch: int = 2000) -> Verification:
    """Recompute every leaf and the root from the stored entries and check the signed head.

    Catches an altered, deleted, inserted or reordered entry, and a head that does not match.
    """
    problems: list[str] = []
    frontier = Frontier()
    kept = (await tx.session.exec(select(AuditCheckpoint))).all()
    roots_at = {c.size: b"" for c in kept}
    if 0 in roots_at:
        roots_at[0] = empty_root()
    stream = await tx.session.stream_scalars(
        sa_select(AuditEntry).order_by(col(AuditEntry.seq)).execution_options(yield_per=batch)
    )
    async for row in stream:
        expected = frontier.size
        if len(problems) < 20:
            problems.extend(_check_entry(row, expected))
        frontier.append(leaf_hash(row.entry.encode()))
        if frontier.size in roots_at:
            roots_at[frontier.size] = frontier.root()
    root = frontier.root()
    problems.extend(_checkpoint_problems(tx, kept, roots_at))
    head = await tx.session.get(AuditHead, 1)
    if head is None:
        problems.append("the signed tree head is missing")
    else:
        if head.size != frontier.size:
            problems.append(f"the signed head says {head.size} entries; {frontier.size} found")
        if head.root_hash != root.hex():
            problems.append("the recomputed root does not match the signed head")
        problems.extend(head_problems(tx, head))
        try:
            stored = Frontier.from_json(head.frontier)
        except ValueError:
            problems.append("the head's frontier is malformed")
        else:
            if stored.size != frontier.size or stored.root() != root:
                problems.append("the head's frontier does not match the entries")
    return Verification(ok=not problems, size=frontier.size, root=root.hex(), problems=problems)


def _checkpoint_problems(
    tx: Tx, kept: Sequence[AuditCheckpoint], roots_at: dict[int, bytes]
) -> list[str]:
    """Each stored checkpoint must be genuine and the log must extend it."""
    public_key = tx.keys.signing.public_key_bytes()
    problems = []
    for checkpoint in kept:
        try:
            note = signed_note.parse_checkpoint(
                checkpoint.note, origin=ORIGIN, name=KEY_NAME, public_key=public_key
            )
        except signed_note.NoteError as exc:
            problems.append(f"checkpoint {checkpoint.id}: {exc}")
            continue
        if (note.size, note.root.hex()) != (checkpoint.size, checkpoint.root_hash):
            problems.append(f"checkpoint {checkpoint.id}'s columns disagree with its note")
        elif not roots_at.get(note.size):
            problems.append(
                f"checkpoint {checkpoint.id} covers {note.size} entries; the log is shorter"
            )
        elif roots_at[note.size] != note.root:
            problems.append(f"the log does not extend checkpoint {checkpoint.id}")
    return problems[:20]


def _check_entry(row: AuditEntry, expected_seq: int) -> list[str]:
    problems = []
    if row.seq != expected_seq:
        problems.append(f"entry {expected_seq} is missing or out of order (found {row.seq})")
    if leaf_hash(row.entry.encode()).hex() != row.leaf_hash:
        problems.append(f"entry {row.seq} does not match its stored leaf hash")
    try:
        parsed = json.loads(row.entry)
    except ValueError:
        return [*problems, f"entry {row.seq} is not valid JSON"]
    if not isinstance(parsed, dict) or parsed.get("seq") != row.seq:
        problems.append(f"entry {row.seq} names another position in the log")
    elif canonical(parsed).decode() != row.entry:
        problems.append(f"entry {row.seq} is not in canonical form")
    elif parsed.get("action") != row.action or parsed.get("case") != row.case_id:
        problems.append(f"entry {row.seq}'s indexed columns disagree with the entry")
    return problems
