"""The case record (guidance G 6, fn 17): the incident, the referral source, participants,
safety assessments, contacts with dates, outcomes and feedback; written by the case's
practitioners, read by them and by the service's managers, exported as JSON and CSV for the
service. Through the API and the pages."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from shuttle.runtime import Runtime
from tests.scenario import Scene, add_staff, build_case
from tests.test_bad_input import audit_size

NOT_VISIBLE = ("/record", "/record.csv")


async def _fill(scene: Scene) -> dict[str, str]:
    """One entry of each kind, the incident and the referral, and a letter passed on."""
    api, lead, case = scene.api, scene.lead, f"/api/v1/cases/{scene.case_id}"
    sam, rob = scene.people["sam"].id, scene.people["rob"].id
    await api.call(
        "PUT",
        f"{case}/referral",
        lead,
        {
            "incident": "A burglary at the shop on 3 March.",
            "referral_source": "police",
            "referred_on": "2026-01-05",
        },
        expect=200,
    )
    made = {}
    for key, body in {
        "note": {"kind": "note", "participant_id": sam, "text": "NOTE-ABOUT-SAM"},
        "risk": {
            "kind": "risk_assessment",
            "participant_id": rob,
            "detail": "medium",
            "text": "Rob's risk: contact only through us.",
        },
        "visit": {
            "kind": "contact",
            "participant_id": sam,
            "detail": "visit",
            "happened_on": "2026-01-06",
            "text": "First visit at home.",
        },
        "call": {"kind": "contact", "detail": "call", "happened_on": "2026-01-08"},
        "outcome": {
            "kind": "outcome",
            "detail": "agreed",
            "text": "=Rob writes a letter of apology",
        },
        "feedback": {
            "kind": "feedback",
            "participant_id": sam,
            "detail": "form",
            "text": "It helped to be heard.",
        },
    }.items():
        _, entry = await api.call("POST", f"{case}/entries", lead, body, expect=201)
        made[key] = entry["id"]
    await scene.willing("sam")
    letter = await scene.write("rob", "LETTER-BODY-NEVER-IN-THE-RECORD")
    await scene.decide(letter["id"])
    return made


async def test_the_record_holds_what_the_guidance_lists(client: Any, runtime: Runtime) -> None:
    """Practitioners see everything with their notes; a manager sees the record without the
    notes and without anyone's letters."""
    scene = await build_case(client, runtime)
    made = await _fill(scene)
    api, path = scene.api, f"/api/v1/cases/{scene.case_id}/record"
    _, record = await api.call("GET", path, scene.lead, expect=200)
    case = record["case"]
    assert case["reference"] == "RJ-TEST-1"
    assert case["incident"] == "A burglary at the shop on 3 March."
    assert case["referral_source"] == {"code": "police", "label": "Police"}
    assert case["referred_on"] == "2026-01-05"
    assert [p["name"] for p in record["participants"]] == ["Sam Fullname", "Rob Fullname"]
    assert [a["id"] for a in record["safety_assessments"]] == [made["risk"]]
    assert record["safety_assessments"][0]["detail"] == "medium"
    contacts = [(c["kind"], c["recorded"]) for c in record["contacts"]]
    assert ("visit", True) in contacts and ("call", True) in contacts
    assert ("letter", False) in contacts  # the letter passed on to Sam, by its date
    assert [o["id"] for o in record["outcomes"]] == [made["outcome"]]
    assert [f["id"] for f in record["feedback"]] == [made["feedback"]]
    assert [n["id"] for n in record["notes"]] == [made["note"]]
    assert "LETTER-BODY-NEVER-IN-THE-RECORD" not in json.dumps(record)

    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    manager = await api.sign_in(manager_email)
    _, seen = await api.call("GET", path, manager, expect=200)
    assert "notes" not in seen and "NOTE-ABOUT-SAM" not in json.dumps(seen)
    assert seen["safety_assessments"] == record["safety_assessments"]
    assert seen["case"]["incident"] == case["incident"]
    assert "LETTER-BODY-NEVER-IN-THE-RECORD" not in json.dumps(seen)


async def test_nobody_else_sees_the_record(client: Any, runtime: Runtime) -> None:
    """A practitioner of another case and any case that is not there: 404, as for a case
    that does not exist (a manager of another service knows no case of this one); a
    participant or an admin: 403."""
    scene = await build_case(client, runtime)
    other = await build_case(
        scene.api.client, runtime, people=(("ann", "harmed"),), extra_staff=(), tag="other"
    )
    api = scene.api
    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    _, admin_email = await add_staff(runtime, "admin", "Ada Admin")
    manager, admin = await api.sign_in(manager_email), await api.sign_in(admin_email)
    case = f"/api/v1/cases/{scene.case_id}"
    for suffix in NOT_VISIBLE:
        assert (await api.call("GET", case + suffix, other.lead))[0] == 404
        assert (await api.call("GET", f"/api/v1/cases/not-a-case{suffix}", manager))[0] == 404
        for token in (scene.people["sam"].token, admin):
            assert (await api.call("GET", case + suffix, token))[0] == 403
    size = await audit_size(runtime)
    for token in (manager, other.lead, scene.people["sam"].token):
        status, _ = await api.call(
            "POST", f"{case}/entries", token, {"kind": "note", "text": "Not mine to write."}
        )
        assert status in (403, 404)
        status, _ = await api.call("PUT", f"{case}/referral", token, {"incident": "No."})
        assert status in (403, 404)
    assert await audit_size(runtime) == size


async def test_entries_are_checked_and_refusals_change_nothing(
    client: Any, runtime: Runtime
) -> None:
    """Each kind's detail, its date and its text; a participant of another case; the policy's
    referral sources. Every refusal is 422 and records nothing."""
    scene = await build_case(client, runtime)
    other = await build_case(
        scene.api.client, runtime, people=(("ann", "harmed"),), extra_staff=(), tag="other"
    )
    api, lead, case = scene.api, scene.lead, f"/api/v1/cases/{scene.case_id}"
    size = await audit_size(runtime)
    for body in (
        {"kind": "risk_assessment", "text": "No level."},
        {"kind": "risk_assessment", "detail": "extreme", "text": "Unknown level."},
        {"kind": "contact", "detail": "visit"},  # no date
        {"kind": "contact", "detail": "visit", "happened_on": "2026-02-30"},
        {"kind": "contact", "detail": "visit", "happened_on": "2999-01-01"},
        {"kind": "note"},
        {"kind": "note", "text": "   "},
        {"kind": "note", "detail": "low", "text": "A note has no detail."},
        {"kind": "outcome", "detail": "agreed"},
        {"kind": "note", "text": "Wrong case.", "participant_id": other.people["ann"].id},
        {"kind": "diary", "text": "Not a kind."},
    ):
        status, data = await api.call("POST", f"{case}/entries", lead, body)
        assert status == 422, (body, data)
    for body in (
        {"referral_source": "neighbour"},
        {"referred_on": "2999-01-01"},
        {"incident": "x" * 5001},
    ):
        status, data = await api.call("PUT", f"{case}/referral", lead, body)
        assert status == 422, (body, data)
    assert await audit_size(runtime) == size


async def test_the_export_is_csv_for_the_service_and_recorded(
    client: Any, runtime: Runtime
) -> None:
    """One line per fact in the guidance's order; a cell that a spreadsheet would run as a
    formula is quoted; every export is an audit entry."""
    scene = await build_case(client, runtime)
    await _fill(scene)
    api = scene.api
    size = await audit_size(runtime)
    response = await api.client.get(
        f"/api/v1/cases/{scene.case_id}/record.csv",
        headers={"Authorization": f"Bearer {scene.lead}"},
    )
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert rows[0] == ["section", "date", "kind", "participant", "detail", "text"]
    sections = [r[0] for r in rows[1:]]
    order = ["case", "participant", "safety_assessment", "contact", "outcome", "feedback", "note"]
    assert sorted(set(sections), key=order.index) == [s for s in order if s in sections]
    assert [s for s in dict.fromkeys(sections)] == order
    outcome = next(r for r in rows if r[0] == "outcome")
    assert outcome[5] == "'=Rob writes a letter of apology"
    assert not [r for r in rows if r[5].startswith(("=", "+", "-", "@"))]
    assert "LETTER-BODY-NEVER-IN-THE-RECORD" not in json.dumps(rows)
    assert await audit_size(runtime) == size + 1


async def test_the_record_pages(client: Any, runtime: Runtime) -> None:
    """The record page for the lead (with the forms) and a manager (read only), its downloads,
    adding an entry and the referral through the forms; another practitioner gets 404."""
    scene = await build_case(client, runtime)
    await _fill(scene)
    other = await build_case(
        scene.api.client, runtime, people=(("ann", "harmed"),), extra_staff=(), tag="other"
    )
    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    manager = await scene.api.sign_in(manager_email)
    base = f"/cases/{scene.case_id}"

    async def get(token: str, path: str) -> tuple[int, str, str]:
        response = await client.get(path, headers={"Cookie": f"shuttle_session={token}"})
        return response.status, await response.text(), response.content_type

    status, html, _ = await get(scene.lead, f"{base}/record")
    assert status == 200 and "NOTE-ABOUT-SAM" in html and 'id="add-entry"' in html
    assert "A burglary at the shop" in html and "Police" in html
    status, html, _ = await get(manager, f"{base}/record")
    assert status == 200 and "NOTE-ABOUT-SAM" not in html and 'id="add-entry"' not in html
    assert "It helped to be heard." in html and "LETTER-BODY" not in html
    status, html, _ = await get(manager, base)
    assert status == 200 and f'href="{base}/record"' in html
    for suffix, kind in (("/record.json", "application/json"), ("/record.csv", "text/csv")):
        status, _, content_type = await get(manager, base + suffix)
        assert status == 200 and content_type == kind
    for path in (f"{base}/record", f"{base}/record.csv", f"{base}/record/new", f"{base}/referral"):
        assert (await get(other.lead, path))[0] == 404, path
    for path in (f"{base}/record/new", f"{base}/referral"):
        assert (await get(manager, path))[0] == 404, path

    # The lead adds a risk assessment and changes the referral through the forms.
    client.session.cookie_jar.update_cookies({"shuttle_session": scene.lead})
    form = await client.get(f"{base}/record/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    assert token is not None
    response = await client.post(
        f"{base}/record/new",
        data={"csrf_token": token[1], "kind": "risk_assessment", "participant": ""},
        allow_redirects=False,
    )
    assert response.status == 422 and "Choose one of the options" in await response.text()
    response = await client.post(
        f"{base}/record/new",
        data={
            "csrf_token": token[1],
            "kind": "risk_assessment",
            "detail_risk_assessment": "high",
            "participant": scene.people["rob"].id,
            "text": "PAGE-RISK-ASSESSMENT",
        },
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"].endswith("entry_added")
    response = await client.post(
        f"{base}/referral",
        data={
            "csrf_token": token[1],
            "incident": "PAGE-INCIDENT",
            "referral_source": "probation",
            "day-day": "9",
            "day-month": "1",
            "day-year": "2026",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    _, record = await scene.api.call(
        "GET", f"/api/v1/cases/{scene.case_id}/record", scene.lead, expect=200
    )
    assert record["case"]["incident"] == "PAGE-INCIDENT"
    assert record["case"]["referred_on"] == "2026-01-09"
    assert any(a["text"] == "PAGE-RISK-ASSESSMENT" for a in record["safety_assessments"])
