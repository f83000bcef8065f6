"""3d 12 (a response wanted is followed up) and B 7, 9 (pre-trial cases wait for consultation)."""

from __future__ import annotations

from tests.scenario import build_case


async def test_follow_up_open_until_reply_or_decline(client, runtime) -> None:
    """A relayed item wanting a reply is listed until the recipient replies or declines."""
    scene = await build_case(client, runtime)
    api = scene.api
    await scene.willing("sam")
    rob, sam = scene.people["rob"], scene.people["sam"]
    items = []
    for _ in range(2):
        _, item = await api.call(
            "POST",
            f"/api/v1/cases/{scene.case_id}/items",
            rob.token,
            {
                "kind": "question",
                "body": "Would you tell me how you are?",
                "response_wanted": "reply",
                "sharing": {"scope": "verbatim", "recipient_ids": [sam.id]},
            },
            expect=201,
        )
        await api.call("POST", f"/api/v1/items/{item['id']}/submit", rob.token, expect=200)
        await scene.decide(item["id"])
        items.append(item["id"])
    path = f"/api/v1/cases/{scene.case_id}/follow-ups"
    _, open_ = await api.call("GET", path, scene.lead, expect=200)
    assert [f["item_id"] for f in open_["follow_ups"]] == items
    _, reply = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        sam.token,
        {
            "kind": "answer",
            "body": "I am getting there.",
            "in_reply_to": items[0],
            "sharing": {"scope": "verbatim", "recipient_ids": [rob.id]},
        },
        expect=201,
    )
    _, still = await api.call("GET", path, scene.lead, expect=200)
    assert len(still["follow_ups"]) == 2  # a draft reply does not meet the wish yet
    await api.call("POST", f"/api/v1/items/{reply['id']}/submit", sam.token, expect=200)
    await api.call("POST", f"/api/v1/items/{items[1]}/decline-response", sam.token, expect=200)
    _, done = await api.call("GET", path, scene.lead, expect=200)
    assert done["follow_ups"] == []
    status, _ = await api.call("POST", f"/api/v1/items/{items[1]}/decline-response", rob.token)
    assert status == 404  # only the recipient may decline


async def test_pre_trial_case_relays_only_after_consultation(client, runtime) -> None:
    """B 7, 9: relays of a pre-trial case wait until the consultation is recorded."""
    scene = await build_case(client, runtime)
    api = scene.api
    status, error = await api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/pre-trial-consultation", scene.lead
    )
    assert status == 409 and error["error"]["code"] == "not_pre_trial"
    _, pre_trial = await api.call(
        "POST",
        "/api/v1/cases",
        scene.lead,
        {"reference": "RJ-PT", "pre_trial": True, "supervisor_id": scene.staff_ids["supervisor"]},
        expect=201,
    )
    case_id = pre_trial["id"]
    ids = {}
    for name, role in (("pat", "harmed"), ("ray", "responsible")):
        _, added = await api.call(
            "POST",
            f"/api/v1/cases/{case_id}/participants",
            scene.lead,
            {"role": role, "display_name": name, "shown_to_others_as": name.title()},
            expect=201,
        )
        await api.call(
            "POST",
            f"/api/v1/cases/{case_id}/participants/{added['id']}/consent",
            scene.lead,
            {"information_sheet_version": "1", "method": "phone", "accepts_responsibility": True},
            expect=200,
        )
        await api.call(
            "PUT",
            f"/api/v1/cases/{case_id}/participants/{added['id']}/preferences",
            scene.lead,
            {"receive": "yes"},
            expect=200,
        )
        ids[name] = added["id"]
    _, item = await api.call(
        "POST",
        f"/api/v1/cases/{case_id}/items",
        scene.lead,
        {
            "kind": "letter",
            "body": "Typed from a visit.",
            "on_behalf_of": ids["ray"],
            "sharing": {"scope": "verbatim", "recipient_ids": [ids["pat"]]},
        },
        expect=201,
    )
    await api.call("POST", f"/api/v1/items/{item['id']}/submit", scene.lead, expect=200)
    held = await scene.decide(item["id"])
    assert held["state"] == "held" and held["waiting_for"] == ["pre_trial_consultation"]
    await api.call(
        "POST", f"/api/v1/cases/{case_id}/pre-trial-consultation", scene.lead, expect=200
    )
    _, after = await api.call("GET", f"/api/v1/items/{item['id']}", scene.lead, expect=200)
    assert after["state"] == "relayed"
