"""Claims on queue items, the queue's tabs and counts, and live notices (both backends)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from shuttle import claims, live, vetting, worklist
from shuttle.accounts import authenticate
from shuttle.errors import Conflict
from shuttle.models import AuditEntry, Claim
from tests.scenario import build_case


async def _actors(runtime, scene, *names):
    return [await authenticate(runtime, scene.staff[n]) for n in names]


async def test_review_next_claims_the_oldest_unclaimed(client, runtime) -> None:
    """ "Review next item" takes the oldest item nobody holds; the next call the one after."""
    scene = await build_case(client, runtime)
    first, second = await scene.write("rob"), await scene.write("rob", "A second letter.")
    lee, cole = await _actors(runtime, scene, "lead", "colleague")
    assert await claims.claim_next(runtime, lee) == first["id"]
    assert await claims.claim_next(runtime, cole) == second["id"]
    assert await claims.claim_next(runtime, cole) is None
    counts = await worklist.counts(runtime, lee)
    assert (counts["unclaimed"], counts["mine"], counts["others"]) == (0, 1, 1)
    board = await worklist.board(runtime, lee, "others")
    assert [r["id"] for r in board["rows"]] == [second["id"]]
    assert board["rows"][0]["claim"]["name"] == "Colleague Staff"


async def test_a_claim_held_by_another_is_refused_until_it_lapses(client, runtime) -> None:
    """Someone else's live claim refuses a claim; once it lapses anyone may claim."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    lee, cole = await _actors(runtime, scene, "lead", "colleague")
    await claims.claim(runtime, lee, item["id"])
    with pytest.raises(Conflict):
        await claims.claim(runtime, cole, item["id"])
    async with runtime.write() as tx:
        await tx.session.exec(
            update(Claim).values(expires_at=tx.now - timedelta(seconds=1))  # type: ignore[call-overload]
        )
    assert (await worklist.counts(runtime, lee))["unclaimed"] == 1
    taken = await claims.claim(runtime, cole, item["id"])
    assert taken["mine"] and taken["name"] == "Colleague Staff"


async def test_claims_last_the_configured_time(client, runtime) -> None:
    """A claim expires claim_minutes after it is taken."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    (lee,) = await _actors(runtime, scene, "lead")
    short = runtime.__class__(
        settings=runtime.settings.model_copy(update={"claim_minutes": 5}),
        db=runtime.db,
        keys=runtime.keys,
        policies=runtime.policies,
    )
    taken = await claims.claim(short, lee, item["id"])
    from datetime import datetime

    held = datetime.fromisoformat(taken["expires_at"]) - datetime.fromisoformat(taken["claimed_at"])
    assert held == timedelta(minutes=5)


async def test_release_and_decide_end_a_claim_and_are_recorded(client, runtime) -> None:
    """Giving an item back and deciding it both end the claim; claiming is audited."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    lee, cole = await _actors(runtime, scene, "lead", "colleague")
    await claims.claim(runtime, lee, item["id"])
    with pytest.raises(Conflict):
        await claims.release(runtime, cole, item["id"])
    await claims.release(runtime, lee, item["id"])
    await claims.claim(runtime, lee, item["id"])
    # A decision by someone other than the claimant is allowed (the page warns them).
    await scene.decide(item["id"], "return", by="colleague", reason="needs_revision")
    async with runtime.read() as tx:
        assert await tx.session.get(Claim, item["id"]) is None
        actions = [
            row.action
            for row in (await tx.session.exec(AuditEntry.__table__.select())).all()  # type: ignore[attr-defined]
        ]
    assert actions.count("item:claim:take") == 2
    assert actions.count("item:claim:release") == 1
    assert (await worklist.counts(runtime, lee))["returned"] == 1


async def test_concurrent_claims_have_one_winner(client, runtime) -> None:
    """Several practitioners claiming the same item at once: exactly one holds it."""
    scene = await build_case(
        client, runtime, extra_staff=(("colleague", "practitioner"), ("third", "practitioner"))
    )
    people = await _actors(runtime, scene, "lead", "colleague", "third")
    for _ in range(3):
        item = await scene.write("rob")
        results = await asyncio.gather(
            *(claims.claim(runtime, who, item["id"]) for who in people), return_exceptions=True
        )
        won = [r for r in results if isinstance(r, dict)]
        assert len(won) == 1, results
        assert all(isinstance(r, Conflict) for r in results if not isinstance(r, dict))
        nexts = await asyncio.gather(*(claims.claim_next(runtime, who) for who in people))
        assert nexts.count(None) == 3  # nothing left unclaimed
        for who in people:  # the API's queue is unchanged by claims
            assert [i["id"] for i in await vetting.queue(runtime, who)] == [item["id"]]
        await scene.decide(item["id"], "withhold", reason="other")


async def test_concurrent_review_next_gives_different_items(client, runtime) -> None:
    """Two people pressing "Review next item" together get two different items."""
    scene = await build_case(client, runtime)
    first, second = await scene.write("rob"), await scene.write("rob", "Another.")
    lee, cole = await _actors(runtime, scene, "lead", "colleague")
    got = await asyncio.gather(claims.claim_next(runtime, lee), claims.claim_next(runtime, cole))
    assert sorted(got) == sorted([first["id"], second["id"]])


async def test_escalated_items_are_the_supervisors_to_claim(client, runtime) -> None:
    """An escalated item shows in everyone's Escalated tab; only the supervisor may claim it."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    await scene.decide(item["id"], "escalate")
    lee, sue = await _actors(runtime, scene, "lead", "supervisor")
    assert (await worklist.counts(runtime, lee))["escalated"] == 1
    with pytest.raises(Conflict):
        await claims.claim(runtime, lee, item["id"])
    board = await worklist.board(runtime, sue, "escalated")
    assert [(r["id"], r["may_decide"]) for r in board["rows"]] == [(item["id"], True)]
    assert await claims.claim_next(runtime, sue) == item["id"]


async def test_changes_tell_the_notifier_after_commit(client, runtime) -> None:
    """A committed change names its case to listeners; nothing else is said.

    On PostgreSQL the notice goes through LISTEN/NOTIFY (shuttle.live.PostgresNotifier),
    whose listener is first woken with no case named as it starts listening (ask again).
    """
    scene = await build_case(client, runtime)
    notifier = runtime.notifier
    expected = live.LocalNotifier if runtime.settings.is_sqlite else live.PostgresNotifier
    assert isinstance(notifier, expected)
    item = await scene.write("rob")
    (lee,) = await _actors(runtime, scene, "lead")
    async with notifier.listen() as listener:
        await claims.claim(runtime, lee, item["id"])
        async with asyncio.timeout(5):
            changed = await listener.changed()
            while not changed:
                changed = await listener.changed()
    assert changed == {scene.case_id}
