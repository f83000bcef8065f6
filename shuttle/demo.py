"""A demonstration case: staff, a person harmed and a person responsible, one letter relayed."""

from __future__ import annotations

import secrets

from sqlmodel import select

from shuttle import accounts, cases, items, vetting
from shuttle.access import Actor
from shuttle.bootstrap import open_runtime
from shuttle.models import User
from shuttle.settings import Settings

LETTER = (
    "I have thought a lot about what happened that night. I am sorry for the fear I caused you.\n"
    "I would like to answer any questions you have, if you want to ask them."
)


async def seed(settings: Settings, password: str) -> list[str]:
    """Create the demo and return the lines to print."""
    runtime = open_runtime(settings)
    suffix = secrets.token_hex(3)
    try:
        async with runtime.read() as tx:
            staff_count = len((await tx.session.exec(select(User.id))).all())
        ids = {}
        for role, name in (
            ("practitioner", "Priya Practitioner"),
            ("supervisor", "Sol Supervisor"),
            ("manager", "Morgan Manager"),
        ):
            email = f"{role}-{suffix}@demo.example"
            ids[role] = await accounts.add_user(
                runtime, role=role, email=email, name=name, password=password
            )
        practitioner = Actor(ids["practitioner"], "practitioner")
        case = await cases.create_case(
            runtime,
            practitioner,
            reference=f"DEMO-{suffix.upper()}",
            sensitive_complex=False,
            lead_practitioner_id=None,
            supervisor_id=ids["supervisor"],
        )
        people = {}
        for role, name, shown in (
            ("harmed", "Sam Taylor", "Sam"),
            ("responsible", "Rob Jones", "Rob"),
        ):
            added = await cases.add_participant(
                runtime,
                practitioner,
                case["id"],
                role=role,
                display_name=name,
                shown_to_others_as=shown,
            )
            await cases.record_consent(
                runtime,
                practitioner,
                case["id"],
                added["id"],
                information_sheet_version="2026-1",
                method="in_person",
                accepts_responsibility=True if role == "responsible" else None,
                court_ordered=False,
            )
            email = f"{shown.lower()}-{suffix}@demo.example"
            user = await accounts.accept_invitation(
                runtime, added["invitation_token"], email=email, password=password
            )
            people[role] = (added["id"], user.id, email)
        harmed_id, harmed_user, _ = people["harmed"]
        rob_id, rob_user, _ = people["responsible"]
        rob = Actor(rob_user, "participant", rob_id, case["id"])
        sam = Actor(harmed_user, "participant", harmed_id, case["id"])
        await cases.set_preferences(
            runtime,
            sam,
            None,
            None,
            receive="yes",
            unwanted_topics=[],
            delivery="portal",
            tell_author_when_read=True,
        )
        letter = await items.create_item(
            runtime,
            rob,
            case["id"],
            kind="letter",
            body=LETTER,
            scope="verbatim",
            recipient_ids=[harmed_id],
            delivery="portal",
            response_wanted="reply",
            in_reply_to=None,
            on_behalf_of=None,
        )
        await items.submit_item(runtime, rob, letter["id"])
        opened = await items.get_item(runtime, practitioner, letter["id"])
        await vetting.decide(
            runtime,
            practitioner,
            letter["id"],
            decision="approve",
            version_digest=opened["version_digest"],
            reason=None,
            note=None,
            summary=None,
        )
    finally:
        await runtime.close()
    lines = [
        "Demonstration case seeded" + (" (beside the existing accounts)." if staff_count else "."),
        f"Every account's password: {password}",
        "",
        "Staff (sign in with POST /api/v1/session):",
        *(
            f"  {role:<13} {role}-{suffix}@demo.example"
            for role in ("practitioner", "supervisor", "manager")
        ),
        "Participants:",
        f"  person harmed       {people['harmed'][2]}  (has one letter from Rob in the inbox)",
        f"  person responsible  {people['responsible'][2]}",
        "",
        "Try it:",
        "  curl -s -X POST http://127.0.0.1:8080/api/v1/session \\",
        "       -H 'Content-Type: application/json' \\",
        f'       -d \'{{"email": "{people["harmed"][2]}", "password": "{password}"}}\'',
        "  curl -s http://127.0.0.1:8080/api/v1/inbox \\",
        "       -H 'Authorization: Bearer <the token from above>'",
    ]
    return lines
