"""Racing changes to one item: exactly one wins, the rest get 409; nothing relays twice or late."""

from __future__ import annotations

import asyncio

from tests.scenario import build_case


async def test_concurrent_decisions_have_one_winner(client, runtime) -> None:
    """Several practitioners deciding the same version at once: one decision stands."""
    scene = await build_case(
        client, runtime, extra_staff=(("colleague", "practitioner"), ("third", "practitioner"))
    )
    await scene.willing("sam")
    for _ in range(3):
        item = await scene.write("rob")
        api = scene.api
        digests = {}
        for who in ("lead", "colleague", "third"):
            _, seen = await api.call(
                "GET", f"/api/v1/items/{item['id']}", scene.staff[who], expect=200
            )
            digests[who] = seen["version_digest"]
        decisions = [("lead", "approve"), ("colleague", "withhold"), ("third", "return")]
        results = await asyncio.gather(
            *(
                api.call(
                    "POST",
                    f"/api/v1/items/{item['id']}/decisions",
                    scene.staff[who],
                    {
                        "decision": d,
                        "version_digest": digests[who],
                        "reason": None if d == "approve" else "other",
                    },
                )
                for who, d in decisions
            )
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [201, 409, 409], results
        _, final = await api.call("GET", f"/api/v1/items/{item['id']}", scene.lead, expect=200)
        current = [d for d in final["decisions"]]
        assert len(current) == 1
        relayed = [i for i in await scene.inbox("sam") if i["id"] == item["id"]]
        assert len(relayed) == (1 if current[0]["decision"] == "approve" else 0)


async def test_withdrawal_racing_approval_never_relays_after_withdrawal(client, runtime) -> None:
    """SECURITY.md: a withdrawal that commits first stops the relay; a version relays once."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    api, rob = scene.api, scene.people["rob"].token
    outcomes = set()
    for _ in range(6):
        item = await scene.write("rob")
        _, seen = await api.call("GET", f"/api/v1/items/{item['id']}", scene.lead, expect=200)
        approve, withdraw = await asyncio.gather(
            api.call(
                "POST",
                f"/api/v1/items/{item['id']}/decisions",
                scene.lead,
                {"decision": "approve", "version_digest": seen["version_digest"]},
            ),
            api.call("POST", f"/api/v1/items/{item['id']}/withdraw", rob),
        )
        _, final = await api.call("GET", f"/api/v1/items/{item['id']}", rob, expect=200)
        delivered = [i for i in await scene.inbox("sam") if i["id"] == item["id"]]
        if withdraw[0] == 200:
            assert final["state"] == "withdrawn" and approve[0] == 409 and delivered == []
        else:
            assert approve[0] == 201 and withdraw[0] == 409
            assert final["state"] == "relayed" and len(delivered) == 1
        outcomes.add(final["state"])
    assert outcomes <= {"withdrawn", "relayed"}


async def test_willingness_and_approval_together_relay_once(client, runtime) -> None:
    """Becoming willing while an approval commits: the item reaches the recipient exactly once."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    _, seen = await scene.api.call("GET", f"/api/v1/items/{item['id']}", scene.lead, expect=200)
    await asyncio.gather(
        scene.api.call(
            "POST",
            f"/api/v1/items/{item['id']}/decisions",
            scene.lead,
            {"decision": "approve", "version_digest": seen["version_digest"]},
            expect=201,
        ),
        scene.willing("sam"),
    )
    assert [i["id"] for i in await scene.inbox("sam")] == [item["id"]]
