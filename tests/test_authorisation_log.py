"""Every authorisation decision is logged (ASVS 16.3.2 at Level 3): who, what, which object,
allowed or refused, with ids only."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shuttle.runtime import Runtime
from tests.scenario import build_case


async def test_every_authorisation_decision_is_logged(
    client: Any, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """A practitioner on the case: allowed; one off it and a participant: refused; each logged."""
    scene = await build_case(client, runtime, tag="a")
    other = await build_case(client, runtime, tag="b")
    api, case = scene.api, f"/api/v1/cases/{scene.case_id}"
    caplog.set_level(logging.INFO, logger="shuttle.access")

    def decisions() -> list[str]:
        found = [r.getMessage() for r in caplog.records if r.name == "shuttle.access"]
        caplog.clear()
        return found

    await api.call("GET", case, scene.lead, expect=200)
    allowed = decisions()
    lead = scene.staff_ids["lead"]
    assert f"authorisation allow user={lead} role=practitioner case={scene.case_id}" in allowed
    await api.call("GET", case, other.lead, expect=404)
    refused = decisions()
    outsider = other.staff_ids["lead"]
    assert f"authorisation deny user={outsider} role=practitioner case={scene.case_id}" in refused
    await api.call("GET", "/api/v1/queue", scene.people["sam"].token, expect=403)
    assert any(
        line.startswith("authorisation deny") and "role=participant permission=" in line
        for line in decisions()
    )
    item = await scene.write("rob")
    decisions()
    await api.call("GET", f"/api/v1/items/{item['id']}", scene.people["sam"].token, expect=404)
    assert any("deny user=" in line and f"item={item['id']}" in line for line in decisions())
    # Ids and permission names only: no personal text.
    assert all("Fullname" not in line for line in allowed + refused)
