"""Disclosure, first version: the requester's own records and what was relayed to them only."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

from shuttle.deadlines import due_by
from shuttle.models import DisclosureRequest
from shuttle.runtime import Runtime
from tests.scenario import add_staff, build_case
from tests.test_bad_input import audit_size
from tests.test_mfa import age_sessions


def _unzip(data: bytes) -> tuple[dict, str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert set(archive.namelist()) == {
        "records.json",
        "records.html",
        "records.pdf",
        "README.txt",
        "proofs/proofs.json",
        "proofs/verify.py",
    }
    return json.loads(archive.read("records.json")), archive.read("records.html").decode()


async def test_package_holds_own_and_relayed_and_nothing_else(client, runtime) -> None:
    """3d 8, fn 15: nothing of the other participant's beyond what was relayed to the requester."""
    scene = await build_case(client, runtime)
    api = scene.api
    await scene.willing("sam", unwanted_topics=["SAM-TOPIC-SECRET"])
    await api.call(
        "PUT",
        "/api/v1/me/preferences",
        scene.people["rob"].token,
        {"receive": "no", "unwanted_topics": ["ROB-TOPIC-SECRET"], "delivery": "printed"},
        expect=200,
    )
    relayed = await scene.write("rob", "ROB-RELAYED-WORDS <b>bold</b>")
    await scene.decide(relayed["id"], internal_note="INTERNAL-NOTE-SECRET")
    unrelayed = await scene.write("rob", "ROB-UNRELAYED-WORDS")
    await scene.write("rob", "ROB-FACILITATOR-ONLY", to=(), scope="facilitator_only")
    summary_item = await scene.write("rob", "ROB-SUMMARISED-ORIGINAL", scope="summary")
    await scene.decide(summary_item["id"], summary="ROB-PROPOSED-SUMMARY")  # never agreed
    own = await scene.write("sam", "SAM-OWN-WORDS", to=("rob",))
    await scene.decide(own["id"], "return", reason="needs_revision", note="SAM-RETURN-NOTE")
    sam = scene.people["sam"].token
    _, request = await api.call("POST", "/api/v1/me/disclosure-requests", sam, expect=201)
    assert request["state"] == "received" and request["due_by"]
    status, _ = await api.call("GET", f"/api/v1/disclosure-requests/{request['id']}/package", sam)
    assert status == 409
    rob = scene.people["rob"].token
    assert (await api.call("GET", f"/api/v1/disclosure-requests/{request['id']}", rob))[0] == 404
    await api.call(
        "POST", f"/api/v1/disclosure-requests/{request['id']}/release", scene.lead, expect=200
    )
    status, _ = await api.call(
        "POST", f"/api/v1/disclosure-requests/{request['id']}/release", scene.lead
    )
    assert status == 409
    await api.call(
        "POST",
        f"/api/v1/disclosure-requests/{request['id']}/release",
        scene.staff["colleague"],
        expect=200,
    )
    assert (await api.call("GET", f"/api/v1/disclosure-requests/{request['id']}/package", rob))[
        0
    ] == 404
    _, data = await api.call(
        "GET", f"/api/v1/disclosure-requests/{request['id']}/package", sam, expect=200
    )
    records, html = _unzip(data)
    text = json.dumps(records) + html
    assert "SAM-OWN-WORDS" in text and "SAM-TOPIC-SECRET" in text
    assert "ROB-RELAYED-WORDS" in text
    for secret in (
        "ROB-UNRELAYED-WORDS",
        "ROB-FACILITATOR-ONLY",
        "ROB-SUMMARISED-ORIGINAL",
        "ROB-PROPOSED-SUMMARY",
        "ROB-TOPIC-SECRET",
        "INTERNAL-NOTE-SECRET",
        "Rob Fullname",
    ):
        assert secret not in text, secret
    [received] = records["items_relayed_to_you"]
    assert received["attribution"]["tag"] == "own_words"
    assert received["id"] == relayed["id"] and unrelayed["id"] not in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    actions = [event["action"] for event in records["process"]]
    assert "case:consent:record" in actions and "item:relay:deliver" in actions


async def test_practitioner_records_a_request_for_a_participant(client, runtime) -> None:
    """A request can be recorded on a participant's behalf; it is theirs to download."""
    scene = await build_case(client, runtime)
    api, sam = scene.api, scene.people["sam"]
    _, request = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/participants/{sam.id}/disclosure-requests",
        scene.lead,
        expect=201,
    )
    _, mine = await api.call("GET", "/api/v1/me/disclosure-requests", sam.token, expect=200)
    assert [r["id"] for r in mine["requests"]] == [request["id"]]
    await scene.release(request["id"])
    _, data = await api.call(
        "GET", f"/api/v1/disclosure-requests/{request['id']}/package", sam.token, expect=200
    )
    records, _ = _unzip(data)
    assert records["you"]["id"] == sam.id
    assert sam.token not in json.dumps(records)


# --- the review: every record about the requester, a decision on each note ------------------


async def _entry(scene: Any, about: str | None, kind: str, text: str, **extra: Any) -> str:
    body = {"kind": kind, "text": text, **extra}
    if about:
        body["participant_id"] = scene.people[about].id
    _, made = await scene.api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/entries", scene.lead, body, expect=201
    )
    return str(made["id"])


async def test_review_lists_every_record_and_the_package_honours_each_decision(
    client: Any, runtime: Runtime
) -> None:
    """Notes and risk assessments about the requester are listed and decided; the package has
    the disclosed ones, never the withheld ones nor anything about someone else."""
    scene = await build_case(client, runtime)
    api, sam = scene.api, scene.people["sam"]
    given = await _entry(scene, "sam", "note", "SAM-NOTE-GIVEN")
    kept = await _entry(scene, "sam", "risk_assessment", "SAM-RISK-WITHHELD", detail="high")
    await _entry(scene, "rob", "note", "ROB-NOTE-NEVER")
    await _entry(scene, None, "note", "CASE-NOTE-NEVER")
    await _entry(
        scene, "sam", "contact", "SAM-CONTACT-NOTE", detail="visit", happened_on="2026-01-06"
    )
    await _entry(
        scene, "rob", "contact", "ROB-CONTACT-NOTE", detail="call", happened_on="2026-01-07"
    )
    await _entry(scene, "sam", "feedback", "SAM-FEEDBACK-WORDS", detail="form")
    await _entry(scene, "rob", "feedback", "ROB-FEEDBACK-WORDS")
    await _entry(scene, "sam", "outcome", "SAM-OUTCOME-AGREED", detail="agreed")
    own = await scene.write("sam", "SAM-LETTER", to=("rob",))
    _, request = await api.call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201)
    path = f"/api/v1/disclosure-requests/{request['id']}"

    _, review = await api.call("GET", f"{path}/review", scene.lead, expect=200)
    assert [n["id"] for n in review["notes"]] == [given, kept]
    assert all(n["decision"] is None for n in review["notes"])
    assert review["undecided"] == 2 and review["next_step"] == "decide_notes"
    assert [i["id"] for i in review["items_written"]] == [own["id"]]
    assert {e["kind"] for e in review["other_entries"]} == {"contact", "feedback", "outcome"}
    assert "ROB" not in json.dumps(review)
    assert set(review["exemptions"]) >= {"third_party", "serious_harm", "crime_prevention"}

    # Nobody approves while a note waits for its decision; nothing changes.
    status, data = await api.call("POST", f"{path}/release", scene.lead)
    assert status == 409 and data["error"]["code"] == "review_incomplete"
    # Withholding needs an exemption from the policy; a note about someone else is not theirs.
    for body in (
        {"decision": "withhold"},
        {"decision": "withhold", "exemption": "made_up"},
        {"decision": "disclose", "exemption": "third_party"},
    ):
        status, _ = await api.call("PUT", f"{path}/decisions/{kept}", scene.lead, body)
        assert status == 422, body
    rob_note = next(
        e["id"]
        for e in (await api.call("GET", f"/api/v1/cases/{scene.case_id}/record", scene.lead))[1][
            "notes"
        ]
        if e["text"] == "ROB-NOTE-NEVER"
    )
    status, _ = await api.call(
        "PUT", f"{path}/decisions/{rob_note}", scene.lead, {"decision": "disclose"}
    )
    assert status == 404
    # Participants and practitioners of other cases see none of it.
    for token in (sam.token, scene.people["rob"].token):
        assert (await api.call("GET", f"{path}/review", token))[0] == 404
        status, _ = await api.call(
            "PUT", f"{path}/decisions/{given}", token, {"decision": "disclose"}
        )
        assert status in (403, 404)

    await api.call(
        "PUT", f"{path}/decisions/{given}", scene.lead, {"decision": "disclose"}, expect=200
    )
    await api.call(
        "PUT",
        f"{path}/decisions/{kept}",
        scene.lead,
        {"decision": "withhold", "exemption": "serious_harm"},
        expect=200,
    )
    _, review = await api.call("GET", f"{path}/review", scene.lead, expect=200)
    assert review["next_step"] == "first_approval"
    assert review["notes"][1]["decision"]["exemption"] == "serious_harm"

    # A changed decision after the first approval withdraws it.
    _, first = await api.call("POST", f"{path}/release", scene.lead, expect=200)
    assert first["state"] == "awaiting_second_approval"
    _, changed = await api.call(
        "PUT",
        f"{path}/decisions/{kept}",
        scene.lead,
        {"decision": "withhold", "exemption": "third_party"},
        expect=200,
    )
    assert changed["request"]["state"] == "received"
    assert changed["request"]["first_approved_by"] is None
    await scene.release(request["id"])

    _, data = await api.call("GET", f"{path}/package", sam.token, expect=200)
    records, html = _unzip(data)
    text = json.dumps(records) + html
    for present in ("SAM-NOTE-GIVEN", "SAM-LETTER", "SAM-FEEDBACK-WORDS", "SAM-OUTCOME-AGREED"):
        assert present in text, present
    for absent in (
        "SAM-RISK-WITHHELD",
        "ROB-NOTE-NEVER",
        "CASE-NOTE-NEVER",
        "SAM-CONTACT-NOTE",
        "ROB-CONTACT-NOTE",
        "ROB-FEEDBACK-WORDS",
        "Rob Fullname",
    ):
        assert absent not in text, absent
    assert records["notes_about_you"] == [
        {
            "kind": "note",
            "risk_level": None,
            "written_at": records["notes_about_you"][0]["written_at"],
            "text": "SAM-NOTE-GIVEN",
        }
    ]
    assert records["contacts_with_you"] == [{"kind": "visit", "on": "2026-01-06"}]
    # The withheld note's existence is not given away by the process dates either.
    assert "case:entry:create" not in {e["action"] for e in records["process"]}


async def test_two_people_release_the_records(client: Any, runtime: Runtime) -> None:
    """The first approval is a practitioner's on the case; the same person again is refused
    and changes nothing; a manager may not approve first but may approve second; a
    supervisor or another practitioner on the case may too."""
    scene = await build_case(client, runtime)
    api, sam = scene.api, scene.people["sam"]
    _, manager_email = await add_staff(runtime, "manager", "Max Manager")
    manager = await api.sign_in(manager_email)

    async def asked() -> str:
        _, made = await api.call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201)
        return f"/api/v1/disclosure-requests/{made['id']}"

    path = await asked()
    size = await audit_size(runtime)
    status, data = await api.call("POST", f"{path}/release", manager)
    assert status == 409 and data["error"]["code"] == "practitioner_first"
    assert await audit_size(runtime) == size
    _, first = await api.call("POST", f"{path}/release", scene.lead, expect=200)
    assert first["state"] == "awaiting_second_approval"
    assert first["first_approved_by"] == scene.staff_ids["lead"]
    size = await audit_size(runtime)
    status, data = await api.call("POST", f"{path}/release", scene.lead)
    assert status == 409 and data["error"]["code"] == "same_person"
    assert await audit_size(runtime) == size
    _, still = await api.call("GET", path, scene.lead, expect=200)
    assert still["state"] == "awaiting_second_approval"
    assert (await api.call("GET", f"{path}/package", sam.token))[0] == 409
    _, review = await api.call("GET", f"{path}/review", manager, expect=200)
    assert review["next_step"] == "second_approval"
    _, released = await api.call("POST", f"{path}/release", manager, expect=200)
    assert released["state"] == "released"
    assert released["released_by"] != released["first_approved_by"]
    # The manager approved, but the package is the participant's and the case's practitioners'.
    assert (await api.call("GET", f"{path}/package", manager))[0] == 404
    await api.call("GET", f"{path}/package", sam.token, expect=200)

    for second in ("supervisor", "colleague"):
        path = await asked()
        await api.call("POST", f"{path}/release", scene.lead, expect=200)
        _, done = await api.call("POST", f"{path}/release", scene.staff[second], expect=200)
        assert done["state"] == "released" and done["released_by"] == scene.staff_ids[second]

    # The second approver must have proved who they are recently too.
    path = await asked()
    await api.call("POST", f"{path}/release", scene.lead, expect=200)
    await age_sessions(runtime, 11)
    status, data = await api.call("POST", f"{path}/release", scene.staff["colleague"])
    assert status == 401 and data["error"]["code"] == "reauthentication_required"
    _, still = await api.call("GET", path, scene.lead, expect=200)
    assert still["state"] == "awaiting_second_approval"


async def test_the_time_limit_is_extended_once_with_a_reason(client: Any, runtime: Runtime) -> None:
    """One or two more months, for a complex request or one of many, within the first month."""
    scene = await build_case(client, runtime)
    api = scene.api
    _, made = await api.call(
        "POST", "/api/v1/me/disclosure-requests", scene.people["sam"].token, expect=201
    )
    path = f"/api/v1/disclosure-requests/{made['id']}"
    for body, status in (
        ({"months": 3, "reason": "complex"}, 422),
        ({"months": 2, "reason": "busy"}, 422),
        ({"months": 0, "reason": "complex"}, 422),
    ):
        assert (await api.call("POST", f"{path}/extension", scene.lead, body))[0] == status
    rob = scene.people["rob"].token
    extend = {"months": 1, "reason": "complex"}
    assert (await api.call("POST", f"{path}/extension", rob, extend))[0] == 403
    _, extended = await api.call(
        "POST",
        f"{path}/extension",
        scene.lead,
        {"months": 2, "reason": "numerous", "note": "Told her by phone."},
        expect=200,
    )
    received = datetime.fromisoformat(made["received_at"])
    assert (
        extended["due_by"]
        == due_by(received, runtime.policies.disclosure, extra_months=2).isoformat()
    )
    assert extended["due_by"] > made["due_by"]
    assert extended["extension"]["reason"] == "numerous" and extended["extension"]["months"] == 2
    status, data = await api.call(
        "POST", f"{path}/extension", scene.lead, {"months": 1, "reason": "complex"}
    )
    assert status == 409 and data["error"]["code"] == "already_extended"
    # Past the first month it is too late to extend.
    _, late = await api.call(
        "POST", "/api/v1/me/disclosure-requests", scene.people["sam"].token, expect=201
    )
    async with runtime.write() as tx:
        row = await tx.session.get(DisclosureRequest, late["id"])
        assert row is not None
        row.due_by = tx.now - timedelta(days=1)
        tx.session.add(row)
    status, data = await api.call(
        "POST",
        f"/api/v1/disclosure-requests/{late['id']}/extension",
        scene.lead,
        {"months": 1, "reason": "complex"},
    )
    assert status == 409 and data["error"]["code"] == "too_late"
    # The participant sees the new date, and the process dates say it was extended.
    _, mine = await api.call(
        "GET", "/api/v1/me/disclosure-requests", scene.people["sam"].token, expect=200
    )
    assert {r["id"]: r["due_by"] for r in mine["requests"]}[made["id"]] == extended["due_by"]
