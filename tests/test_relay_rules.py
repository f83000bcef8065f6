"""DESIGN.md rules 1-4: nothing relays unless every condition holds; attribution is fixed."""

from __future__ import annotations

import pytest

from tests.scenario import build_case


async def test_approved_letter_waits_until_recipient_is_willing(client, runtime) -> None:
    """An approved letter is held while the recipient has not said yes (3d 14), then relays."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    decided = await scene.decide(item["id"])
    assert decided["state"] == "held"
    assert decided["waiting_for"] == ["recipient_willing"]
    assert await scene.inbox("sam") == []
    await scene.willing("sam", "ask_first")
    assert await scene.inbox("sam") == []
    await scene.willing("sam", "yes")
    inbox = await scene.inbox("sam")
    assert [i["id"] for i in inbox] == [item["id"]]
    assert inbox[0]["attribution"] == {"tag": "own_words", "label": "In Rob's own words"}
    assert inbox[0]["from"] == "Rob"


async def test_nothing_relays_without_approval(client, runtime) -> None:
    """Submitted but not approved: nothing reaches a willing recipient."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    await scene.write("rob")
    assert await scene.inbox("sam") == []


async def test_facilitator_only_is_never_relayed(client, runtime) -> None:
    """Rule 2: approving a facilitator_only item is refused; it can be kept (withheld)."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    item = await scene.write("rob", to=(), scope="facilitator_only")
    await scene.decide(item["id"], "approve", expect=409)
    kept = await scene.decide(item["id"], "withhold", reason="facilitator_only")
    assert kept["state"] == "withheld"
    assert await scene.inbox("sam") == []


async def test_summary_relays_only_the_agreed_summary(client, runtime) -> None:
    """Rule 3: the original words never reach the recipient; only the agreed summary does."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    item = await scene.write("rob", "My secret original words.", scope="summary")
    await scene.decide(item["id"], expect=422)  # a summary item needs the summary text
    held = await scene.decide(item["id"], summary="Rob says he is sorry.")
    assert held["state"] == "held"
    assert await scene.inbox("sam") == []
    api, rob = scene.api, scene.people["rob"].token
    _, mine = await api.call("GET", f"/api/v1/items/{item['id']}", rob, expect=200)
    assert mine["summary"]["text"] == "Rob says he is sorry."
    _, back = await api.call(
        "POST", f"/api/v1/items/{item['id']}/summary-consent", rob, {"agree": False}, expect=200
    )
    assert back["state"] == "submitted"
    await scene.decide(item["id"], summary="Rob wants Sam to know he is sorry.")
    await api.call(
        "POST", f"/api/v1/items/{item['id']}/summary-consent", rob, {"agree": True}, expect=200
    )
    inbox = await scene.inbox("sam")
    assert len(inbox) == 1
    assert inbox[0]["body"] == "Rob wants Sam to know he is sorry."
    assert inbox[0]["attribution"]["tag"] == "facilitator_summary"
    assert "secret original" not in str(inbox)


async def test_decision_binds_to_the_version_digest(client, runtime) -> None:
    """A decision on an old digest is refused (409) after the author changes the item."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    api, lead = scene.api, scene.lead
    _, seen = await api.call("GET", f"/api/v1/items/{item['id']}", lead, expect=200)
    await scene.decide(item["id"], "return", reason="needs_revision", note="Shorter please.")
    rob = scene.people["rob"].token
    _, revised = await api.call(
        "PATCH", f"/api/v1/items/{item['id']}", rob, {"body": "Sorry."}, expect=200
    )
    assert revised["version"] == 2 and revised["version_digest"] != seen["version_digest"]
    await api.call("POST", f"/api/v1/items/{item['id']}/submit", rob, expect=200)
    stale = {"decision": "approve", "version_digest": seen["version_digest"]}
    status, error = await api.call("POST", f"/api/v1/items/{item['id']}/decisions", lead, stale)
    assert status == 409 and error["error"]["code"] == "stale_version"


async def test_sensitive_case_needs_two_different_approvers(client, runtime) -> None:
    """Section B: a sensitive case relays only after two different practitioners approve."""
    scene = await build_case(client, runtime, sensitive=True)
    await scene.willing("sam")
    item = await scene.write("rob")
    first = await scene.decide(item["id"])
    assert first["state"] == "held" and "second_approval" in first["waiting_for"]
    await scene.decide(item["id"], by="lead", expect=409)
    assert await scene.inbox("sam") == []
    second = await scene.decide(item["id"], by="colleague")
    assert second["state"] == "relayed"
    assert len(await scene.inbox("sam")) == 1


@pytest.mark.parametrize("reason", ["serious_harm"])
async def test_serious_harm_goes_to_the_supervisor(client, runtime, reason: str) -> None:
    """3d 6: withholding for serious harm is the supervisor's decision, not the practitioner's."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    escalated = await scene.decide(item["id"], "withhold", reason=reason)
    assert escalated["state"] == "escalated"
    status, _ = await scene.api.call(
        "POST",
        f"/api/v1/items/{item['id']}/decisions",
        scene.lead,
        {"decision": "approve", "version_digest": escalated["version_digest"]},
    )
    assert status == 403
    withheld = await scene.decide(item["id"], "withhold", by="supervisor", reason=reason)
    assert withheld["state"] == "withheld"


async def test_paused_case_holds_and_resume_relays(client, runtime) -> None:
    """Rule 1: a paused case relays nothing; resuming it releases what was held."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    api = scene.api
    await api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/state", scene.lead, {"state": "paused"}, expect=200
    )
    item = await scene.write("rob")
    held = await scene.decide(item["id"])
    assert held["state"] == "held" and "case_not_open" in held["waiting_for"]
    assert await scene.inbox("sam") == []
    await api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/state", scene.lead, {"state": "open"}, expect=200
    )
    assert len(await scene.inbox("sam")) == 1


async def test_opt_out_stops_everything_pending(client, runtime) -> None:
    """2b 8: opting out withdraws the person's own pending items and stops items to them."""
    scene = await build_case(client, runtime)
    to_sam = await scene.write("rob")
    from_sam = await scene.write("sam", "From Sam.", to=("rob",))
    await scene.decide(to_sam["id"])
    api, sam = scene.api, scene.people["sam"].token
    await api.call("POST", "/api/v1/me/opt-out", sam, {"reason": "I want to stop."}, expect=200)
    _, own = await api.call("GET", f"/api/v1/items/{from_sam['id']}", sam, expect=200)
    assert own["state"] == "withdrawn" and own["stop_reason"] == "author_opted_out"
    _, rob_item = await api.call(
        "GET", f"/api/v1/items/{to_sam['id']}", scene.people["rob"].token, expect=200
    )
    assert rob_item["state"] == "withdrawn"
    status, error = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        sam,
        {
            "kind": "letter",
            "body": "x",
            "sharing": {"scope": "verbatim", "recipient_ids": [scene.people["rob"].id]},
        },
    )
    assert status == 409 and error["error"]["code"] == "opted_out"


async def test_no_consent_no_items(client, runtime) -> None:
    """2b: before informed consent a participant can neither write nor receive."""
    scene = await build_case(client, runtime, consent=False)
    status, error = await scene.api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        scene.people["rob"].token,
        {
            "kind": "letter",
            "body": "x",
            "sharing": {"scope": "verbatim", "recipient_ids": [scene.people["sam"].id]},
        },
    )
    assert status == 409 and error["error"]["code"] == "consent_required"


async def test_attribution_for_assisted_and_facilitator_items(client, runtime) -> None:
    """Rule 4: written-with-help and the facilitator's own view are labelled as such."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    api, lead = scene.api, scene.lead
    sam_id, rob_id = scene.people["sam"].id, scene.people["rob"].id
    _, helped = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        lead,
        {
            "kind": "letter",
            "body": "Typed up from Rob's handwriting.",
            "on_behalf_of": rob_id,
            "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
            "assisted_declaration": "Read back to Rob on a visit; he agreed it.",
        },
        expect=201,
    )
    _, view = await api.call("POST", f"/api/v1/items/{helped['id']}/submit", lead, expect=200)
    assert view["assisted"] is True
    await scene.decide(helped["id"])
    _, own = await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        lead,
        {
            "kind": "assessment",
            "body": "Rob has engaged well.",
            "sharing": {"scope": "verbatim", "recipient_ids": [sam_id]},
        },
        expect=201,
    )
    await api.call("POST", f"/api/v1/items/{own['id']}/submit", lead, expect=200)
    await scene.decide(own["id"], by="colleague")
    tags = {
        i["body"]: (i["attribution"]["tag"], i["attribution"]["label"], i["from"])
        for i in await scene.inbox("sam")
    }
    assert tags["Typed up from Rob's handwriting."][0] == "written_with_help"
    assert "Rob" in tags["Typed up from Rob's handwriting."][1]
    assert tags["Rob has engaged well."] == (
        "facilitator_assessment",
        "Your facilitator's own view",
        "Your facilitator",
    )
