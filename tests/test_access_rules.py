"""DESIGN.md rules 5 and 6: each person sees only what is theirs; 404 for everything else."""

from __future__ import annotations

import uuid

from tests.scenario import add_staff, build_case


async def test_participant_sees_only_own_and_relayed_items(client, runtime) -> None:
    """Rule 5: the other side's unrelayed item is 404, exactly like an item that does not exist."""
    scene = await build_case(
        client, runtime, people=(("sam", "harmed"), ("rob", "responsible"), ("sue", "supporter"))
    )
    await scene.willing("sam")
    api = scene.api
    pending = await scene.write("rob", "Not yet approved.")
    relayed = await scene.write("rob", "Approved words.")
    await scene.decide(relayed["id"])
    missing = str(uuid.uuid4())
    sam, sue = scene.people["sam"].token, scene.people["sue"].token
    s1, b1 = await api.call("GET", f"/api/v1/items/{pending['id']}", sam)
    s2, b2 = await api.call("GET", f"/api/v1/items/{missing}", sam)
    assert (s1, b1) == (s2, b2) == (404, b2)
    status, seen = await api.call("GET", f"/api/v1/items/{relayed['id']}", sam, expect=200)
    assert seen["body"] == "Approved words." and "sharing" not in seen and "decisions" not in seen
    # A supporter in the same case who is not a recipient sees neither.
    for item in (pending, relayed):
        assert (await api.call("GET", f"/api/v1/items/{item['id']}", sue))[0] == 404
    # Acting on someone else's item is 404 too, never 403.
    for action in ("submit", "withdraw", "read"):
        status, _ = await api.call("POST", f"/api/v1/items/{pending['id']}/{action}", sam)
        assert status == 404, action
    status, _ = await api.call("PATCH", f"/api/v1/items/{pending['id']}", sam, {"body": "x"})
    assert status == 404


async def test_recipient_never_sees_the_authors_consent_or_history(client, runtime) -> None:
    """Rule 5: a recipient gets the relayed words and attribution, not the author's records."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    item = await scene.write("rob")
    await scene.decide(item["id"], internal_note="Internal only.")
    _, seen = await scene.api.call(
        "GET", f"/api/v1/items/{item['id']}", scene.people["sam"].token, expect=200
    )
    assert set(seen) == {
        "id",
        "kind",
        "body",
        "attribution",
        "from",
        "response_wanted",
        "relayed_at",
        "read_at",
    }


async def test_author_does_not_learn_the_recipients_wishes(client, runtime) -> None:
    """An author sees their item is held, not why (that would reveal the other side's wishes)."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    await scene.decide(item["id"])
    _, mine = await scene.api.call(
        "GET", f"/api/v1/items/{item['id']}", scene.people["rob"].token, expect=200
    )
    assert mine["state"] == "held"
    assert "waiting_for" not in mine and "flags" not in mine and "decisions" not in mine


async def test_read_receipt_shown_to_author_only_if_recipient_allows(client, runtime) -> None:
    """6: the author sees each status change, but never the reading unless the recipient allows."""
    scene = await build_case(client, runtime)
    api, rob, sam = scene.api, scene.people["rob"].token, scene.people["sam"].token
    for allow in (False, True):
        await scene.willing("sam", tell_author_when_read=allow)
        item = await scene.write("rob")
        await scene.decide(item["id"])
        await api.call("POST", f"/api/v1/items/{item['id']}/read", sam, expect=200)
        _, mine = await api.call("GET", f"/api/v1/items/{item['id']}", rob, expect=200)
        assert [h["state"] for h in mine["status_history"]][-1] == "relayed"
        assert (mine["deliveries"][0]["read_at"] is not None) is allow


async def test_practitioner_not_on_case_gets_404(client, runtime) -> None:
    """Rule 6: need to know. Another practitioner, even a supervisor, sees nothing of the case."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob")
    api = scene.api
    _, outsider_email = await add_staff(runtime, "practitioner", "Out Sider")
    _, other_sup_email = await add_staff(runtime, "supervisor", "Other Supervisor")
    for email in (outsider_email, other_sup_email):
        token = await api.sign_in(email)
        for path in (
            f"/api/v1/cases/{scene.case_id}",
            f"/api/v1/items/{item['id']}",
            f"/api/v1/cases/{scene.case_id}/events",
        ):
            assert (await api.call("GET", path, token))[0] == 404, path
        _, listed = await api.call("GET", "/api/v1/cases", token, expect=200)
        assert listed["cases"] == []
        _, queue = await api.call("GET", "/api/v1/queue", token, expect=200)
        assert queue["items"] == []


async def test_manager_sees_states_and_counts_not_content(client, runtime) -> None:
    """API.md: managers and admins see case states and counts, not content."""
    scene = await build_case(client, runtime)
    item = await scene.write("rob", "Private words.")
    _, email = await add_staff(runtime, "manager", "Mo Manager")
    token = await scene.api.sign_in(email)
    _, listed = await scene.api.call("GET", "/api/v1/cases", token, expect=200)
    assert listed["cases"][0]["counts"]["items"] == {"submitted": 1}
    assert "reference" not in listed["cases"][0] and "participants" not in listed["cases"][0]
    assert "Private" not in str(listed) and "Fullname" not in str(listed)
    assert (await scene.api.call("GET", f"/api/v1/items/{item['id']}", token))[0] == 404


async def test_declared_conflict_blocks_and_removes_access(client, runtime) -> None:
    """G 11-13: a declared conflict blocks the assignment; one declared later removes access."""
    scene = await build_case(client, runtime)
    api = scene.api
    user_id, email = await add_staff(runtime, "practitioner", "Con Flicted")
    body = {
        "user_id": user_id,
        "role": "co_worker",
        "conflict_of_interest": {"declared": True, "details": "Knows Sam."},
    }
    status, error = await api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/practitioners", scene.lead, body
    )
    assert status == 409 and error["error"]["code"] == "conflict_of_interest"
    token = await api.sign_in(email)
    assert (await api.call("GET", f"/api/v1/cases/{scene.case_id}", token))[0] == 404
    colleague = scene.staff["colleague"]
    assert (await api.call("GET", f"/api/v1/cases/{scene.case_id}", colleague))[0] == 200
    await api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/practitioners/{scene.staff_ids['colleague']}/conflict",
        colleague,
        {"details": "Turns out I know Rob."},
        expect=204,
    )
    assert (await api.call("GET", f"/api/v1/cases/{scene.case_id}", colleague))[0] == 404


async def test_participant_cannot_use_practitioner_endpoints(client, runtime) -> None:
    """Role-level refusals are 403 whatever the id, so they reveal nothing."""
    scene = await build_case(client, runtime)
    sam = scene.people["sam"].token
    assert (await scene.api.call("GET", "/api/v1/queue", sam))[0] == 403
    assert (await scene.api.call("GET", "/api/v1/audit/verify", sam))[0] == 403
    for case_id in (scene.case_id, str(uuid.uuid4())):
        status, _ = await scene.api.call("GET", f"/api/v1/cases/{case_id}", sam)
        assert status == 403


async def test_participant_of_another_case_sees_nothing(client, runtime) -> None:
    """Rule 5 across cases: a participant cannot write into, or read from, another case."""
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    item = await scene.write("rob")
    await scene.decide(item["id"])
    other = await build_case(
        client, runtime, people=(("ann", "harmed"), ("bob", "responsible")), extra_staff=(), tag="2"
    )
    ann = other.people["ann"].token
    assert (await other.api.call("GET", f"/api/v1/items/{item['id']}", ann))[0] == 404
    status, _ = await other.api.call(
        "POST",
        f"/api/v1/cases/{scene.case_id}/items",
        ann,
        {
            "kind": "letter",
            "body": "x",
            "sharing": {"scope": "verbatim", "recipient_ids": [scene.people["sam"].id]},
        },
    )
    assert status == 404
    assert await other.inbox("ann") == []
