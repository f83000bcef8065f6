"""Flags advise and never decide: flagged items go to the queue like any other, and only a
practitioner's decision approves, withholds or returns them (guidance 3d 10, 3d 13)."""

from __future__ import annotations

from typing import Any

from tests.scenario import Scene, build_case

FLAGGED = (
    "Lately I think of you.\nEvery day.\nEach night.\nDo you remember?\nSorry.\n"
    "I know where you live. Ring 07700 900 123 or write to j.smith at gmail dot com."
)
PLAIN = "I am sorry for what I did. I will never do it again."


async def _view(scene: Scene, item_id: str) -> dict[str, Any]:
    _, view = await scene.api.call("GET", f"/api/v1/items/{item_id}", scene.lead, expect=200)
    return view  # type: ignore[no-any-return]


async def _queue(scene: Scene) -> list[dict[str, Any]]:
    _, queue = await scene.api.call("GET", "/api/v1/queue", scene.lead, expect=200)
    return queue["items"]  # type: ignore[no-any-return]


async def test_queue_carries_flags_with_spans(client, runtime) -> None:
    """The queue shows each flag with kind, severity, span, excerpt and reason, as stored."""
    scene = await build_case(client, runtime)
    await scene.api.call(
        "PUT", f"/api/v1/cases/{scene.case_id}/watch-list", scene.lead, {"terms": ["Leeds"]}
    )
    item = await scene.write("rob", FLAGGED)
    (entry,) = await _queue(scene)
    assert entry["id"] == item["id"] and entry["state"] == "submitted"
    kinds = {flag["kind"] for flag in entry["flags"]}
    assert {"acrostic", "intimidation", "contact_details"} <= kinds
    for flag in entry["flags"]:
        assert set(flag) == {"kind", "severity", "start", "end", "excerpt", "reason"}
        assert FLAGGED[flag["start"] : flag["end"]] == flag["excerpt"]
    assert entry["flags"] == (await _view(scene, item["id"]))["flags"]


async def test_flags_neither_block_nor_approve(client, runtime) -> None:
    """A flagged item waits in the queue like a plain one; the practitioner's decision alone
    approves one and withholds the other, whatever their flags."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    flagged = await scene.write("rob", FLAGGED)
    plain = await scene.write("rob", PLAIN)
    assert flagged["state"] == plain["state"] == "submitted"
    assert (await _view(scene, flagged["id"]))["flags"]
    assert (await _view(scene, plain["id"]))["flags"] == []
    assert [e["id"] for e in await _queue(scene)] == [flagged["id"], plain["id"]]
    assert await scene.inbox("sam") == []

    approved = await scene.decide(flagged["id"], "approve")
    withheld = await scene.decide(plain["id"], "withhold", reason="other")
    assert approved["state"] == "relayed" and withheld["state"] == "withheld"
    assert [i["body"] for i in await scene.inbox("sam")] == [FLAGGED]
    assert await _queue(scene) == []


async def test_flags_stay_with_the_practitioners(client, runtime) -> None:
    """The author and the recipient never see the flags on an item."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    item = await scene.write("rob", FLAGGED)
    _, mine = await scene.api.call(
        "GET", f"/api/v1/items/{item['id']}", scene.people["rob"].token, expect=200
    )
    assert "flags" not in mine
    await scene.decide(item["id"], "approve")
    (received,) = await scene.inbox("sam")
    assert "flags" not in received
