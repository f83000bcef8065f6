"""Checkpoints for auditors, and proofs from them: the log only grew; this entry is in it.

A checkpoint is the signed tree head in the C2SP tlog-checkpoint form (see
``shuttle.signed_note``). The service keeps one for the first change of each day (written by
the audit append path) and one whenever asked; an auditor keeps copies elsewhere. Later,
``verify_against`` proves with an RFC 9162 consistency proof that today's log extends the
auditor's copy, and ``inclusion_proofs`` gives a participant proofs that their entries are in
the log that the checkpoint commits to.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import col, select

from shuttle import audit, signed_note
from shuttle.audit import AuditAction
from shuttle.merkle import (
    ProofError,
    consistency_proof,
    empty_root,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
)
from shuttle.models import AuditCheckpoint, AuditEntry, AuditHead
from shuttle.runtime import Runtime, Tx

T = TypeVar("T")


def public_key(tx: Tx) -> str:
    """The service's checkpoint key in the signed-note verifier form, to publish."""
    return signed_note.verifier_key(audit.KEY_NAME, tx.keys.signing.public_key_bytes())


async def take(rt: Runtime) -> str:
    """Record a checkpoint entry, sign the head that includes it, keep it; return its note.

    The entry's own time is then inside the signed tree, so the checkpoint carries a time that
    nobody can change later without breaking the root.
    """
    notes: list[str] = []
    async with rt.write() as tx:
        await audit.record(tx, None, AuditAction.CHECKPOINT_CREATE)

        async def keep() -> None:
            head = await tx.session.get(AuditHead, 1)
            assert head is not None
            same = select(AuditCheckpoint).where(AuditCheckpoint.size == head.size)
            kept = (await tx.session.exec(same)).first()
            notes.append(kept.note if kept else audit.keep_checkpoint(tx, head, "demand").note)

        tx.before_commit.append(keep)  # after the append hook that record() registered
    return notes[0]


async def latest(rt: Runtime) -> str | None:
    """The newest kept checkpoint's note, if any."""
    async with rt.read() as tx:
        query = select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)
        newest = (await tx.session.exec(query)).first()
        return newest.note if newest else None


async def _leaves(tx: Tx, size: int | None = None) -> list[bytes]:
    """Every leaf hash, recomputed from the stored entries, in order."""
    query = select(AuditEntry.entry).order_by(col(AuditEntry.seq))
    if size is not None:
        query = query.where(col(AuditEntry.seq) < size)
    return [leaf_hash(entry.encode()) for entry in (await tx.session.exec(query)).all()]


@dataclass
class Extension:
    """What ``verify_against`` found: the log's own check, and the proof from the checkpoint."""

    verification: audit.Verification
    checkpoint_size: int
    proof_hashes: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        """The log verifies and extends the checkpoint."""
        return self.verification.ok and not self.problems


async def verify_against(rt: Runtime, text: str) -> Extension:
    """Check the whole log, then prove it extends the checkpoint ``text`` (RFC 9162 2.1.4).

    Raises:
        signed_note.NoteError: the checkpoint is malformed or not signed by this service.
    """
    async with rt.read() as tx:
        checkpoint = signed_note.parse_checkpoint(
            text,
            origin=audit.ORIGIN,
            name=audit.KEY_NAME,
            public_key=tx.keys.signing.public_key_bytes(),
        )
        verification = await audit.verify(tx)
        leaves = await _leaves(tx)
    size, root = len(leaves), root_from_leaves(leaves)
    problems, proof = [], []
    if checkpoint.size > size:
        problems.append(
            f"the checkpoint covers {checkpoint.size} entries but the log has {size}: "
            "entries were removed, or an older copy of the database was restored"
        )
    elif checkpoint.size == 0:
        pass  # every log extends the empty one
    else:
        proof = consistency_proof(checkpoint.size, leaves)
        try:
            verify_consistency(checkpoint.size, size, checkpoint.root, root, proof)
        except ProofError as exc:
            problems.append(f"the log does not extend the checkpoint: {exc}")
    return Extension(verification, checkpoint.size, len(proof), problems)


def tree_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The Merkle tree's levels, leaves first, the root alone last (RFC 9162's tree: a
    level's odd last node is promoted unchanged)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        levels.append(paired)
    return levels


def paths_in(levels: Sequence[Sequence[T]], indices: Iterable[int]) -> dict[int, list[T]]:
    """Inclusion paths read off a tree's levels: a node's sibling at each level where it has
    one. The levels may hold the nodes written out (as base64, say): each is written once."""
    paths = {}
    for index in indices:
        path, i = [], index
        for level in levels[:-1]:
            if i ^ 1 < len(level):
                path.append(level[i ^ 1])
            i >>= 1
        paths[index] = path
    return paths


def inclusion_paths(leaves: Sequence[bytes], indices: Iterable[int]) -> dict[int, list[bytes]]:
    """RFC 9162 inclusion paths for many leaves at once, building the tree's levels once."""
    return paths_in(tree_levels(leaves), indices)


async def inclusion_proofs(tx: Tx, seqs: Sequence[int]) -> dict[str, Any]:
    """The signed checkpoint now, and for each entry its text and inclusion proof.

    Raises:
        audit.AuditIntegrityError: the stored entries do not give the signed head's root.
    """
    head = await tx.session.get(AuditHead, 1)
    if head is None:
        raise audit.AuditIntegrityError("the audit log has no head")
    rows = (
        await tx.session.exec(
            select(AuditEntry.seq, AuditEntry.entry)
            .where(col(AuditEntry.seq) < head.size)
            .order_by(col(AuditEntry.seq))
        )
    ).all()
    leaves = [leaf_hash(entry.encode()) for _, entry in rows]
    levels = tree_levels(leaves)
    root = levels[-1][0] if leaves else empty_root()
    in_order = all(seq == i for i, (seq, _) in enumerate(rows))
    if not in_order or root.hex() != head.root_hash or audit.head_problems(tx, head):
        raise audit.AuditIntegrityError("the audit log does not verify; no proofs can be given")
    wanted = sorted({s for s in seqs if 0 <= s < head.size})
    # Paths share their upper nodes: each node is written out once, not once per path (a
    # big case has tens of thousands of entries with a path of about sixteen nodes each).
    written = [[base64.b64encode(node).decode() for node in level] for level in levels]
    paths = paths_in(written, wanted)
    return {
        "format": "shuttle-inclusion-proofs/1",
        "checkpoint": audit.head_note(tx, head),
        "log_key": public_key(tx),
        "entries": [{"index": seq, "entry": rows[seq][1], "proof": paths[seq]} for seq in wanted],
    }
