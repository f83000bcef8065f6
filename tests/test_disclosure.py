"""Disclosure, first version: the requester's own records and what was relayed to them only."""

from __future__ import annotations

import io
import json
import zipfile

from tests.scenario import build_case


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
