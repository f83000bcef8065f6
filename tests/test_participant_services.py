"""What the participant pages need of the services: giving one's own informed consent through
the portal, and the names of the other people in one's case."""

from __future__ import annotations

import pytest
from sqlmodel import select

from shuttle import accounts, cases
from shuttle.errors import Conflict, Invalid
from shuttle.models import AuditEntry, Participant
from tests.scenario import build_case

SHEET = "portal-2026-1"


async def test_own_consent_with_the_same_rules(client, runtime) -> None:
    """The person responsible must accept responsibility; consent is recorded once, as 'portal',
    audited like a practitioner's record; items waiting for them are then relayed."""
    scene = await build_case(client, runtime, consent=False)
    rob = await accounts.authenticate(runtime, scene.people["rob"].token)
    sam = await accounts.authenticate(runtime, scene.people["sam"].token)
    for refused in (None, False):
        with pytest.raises(Invalid) as error:
            await cases.give_own_consent(
                runtime, rob, information_sheet_version=SHEET, accepts_responsibility=refused
            )
        assert error.value.code == "responsibility_not_accepted"
    async with runtime.read() as tx:
        assert (await tx.session.get(Participant, scene.people["rob"].id)).state == "invited"

    given = await cases.give_own_consent(
        runtime, rob, information_sheet_version=SHEET, accepts_responsibility=True
    )
    assert given["state"] == "active"
    assert given["consent"]["method"] == "portal"
    assert given["consent"]["accepts_responsibility"] is True
    assert given["consent"]["information_sheet_version"] == SHEET
    with pytest.raises(Conflict):
        await cases.give_own_consent(
            runtime, rob, information_sheet_version=SHEET, accepts_responsibility=True
        )
    harmed = await cases.give_own_consent(
        runtime, sam, information_sheet_version=SHEET, accepts_responsibility=None
    )
    assert harmed["state"] == "active"
    async with runtime.read() as tx:
        rows = (
            await tx.session.exec(
                select(AuditEntry).where(AuditEntry.action == "case:consent:record")
            )
        ).all()
    assert len(rows) == 2
    assert all('"method":"portal"' in row.entry for row in rows)


async def test_own_consent_refused_after_opting_out(client, runtime) -> None:
    """Someone who has opted out cannot consent again through the portal."""
    scene = await build_case(client, runtime, consent=False)
    sam = await accounts.authenticate(runtime, scene.people["sam"].token)
    await cases.opt_out(runtime, sam, None, None, None)
    with pytest.raises(Conflict):
        await cases.give_own_consent(
            runtime, sam, information_sheet_version=SHEET, accepts_responsibility=None
        )


async def test_others_in_case_names_only_who_can_be_written_to(client, runtime) -> None:
    """The other participants by the names they chose to be shown as; not oneself, not anyone
    who has opted out, and nothing else about them."""
    scene = await build_case(
        client, runtime, people=(("sam", "harmed"), ("rob", "responsible"), ("ali", "supporter"))
    )
    sam = await accounts.authenticate(runtime, scene.people["sam"].token)
    ali = await accounts.authenticate(runtime, scene.people["ali"].token)
    others = await cases.others_in_case(runtime, sam)
    assert others == [
        {"id": scene.people["rob"].id, "shown_as": "Rob"},
        {"id": scene.people["ali"].id, "shown_as": "Ali"},
    ]
    await cases.opt_out(runtime, ali, None, None, None)
    assert [o["shown_as"] for o in await cases.others_in_case(runtime, sam)] == ["Rob"]
