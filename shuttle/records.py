"""The case's record for its practitioners, and the audit log's verification."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import col, select

from shuttle import access, audit
from shuttle.access import Actor
from shuttle.models import AuditEntry
from shuttle.runtime import Runtime


async def case_events(rt: Runtime, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """Every recorded change in the case, in order: who, what, when, and which ids."""
    async with rt.read() as tx:
        access.require(tx, actor, "cases:work")
        await access.worked_case(tx, actor, case_id)
        query = (
            select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(col(AuditEntry.seq))
        )
        events = []
        for row in (await tx.session.exec(query)).all():
            entry = json.loads(row.entry)
            events.append(
                {
                    "seq": row.seq,
                    "at": entry["at"],
                    "actor": entry["actor"],
                    "action": row.action,
                    "subject": entry["subject"],
                    "digests": entry["digests"],
                }
            )
        return events


async def verify_audit(rt: Runtime, actor: Actor) -> audit.Verification:
    """Recompute the audit log (admins and managers)."""
    async with rt.read() as tx:
        access.require(tx, actor, "audit:verify")
        return await audit.verify(tx)
