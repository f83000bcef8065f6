"""Every template autoescaped: XSS payloads put into every free-text field the API takes, then
every GET page of ``shuttle.routes.PAGES`` rendered through the running app, as each kind of
person, and the records package opened; no payload may come back unescaped.

The sweep finds pages from the route table, so pages added later are swept too; a page whose
path has a parameter this test cannot fill fails it, until the parameter is added to ``fill``.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from shuttle import accounts
from shuttle.routes import PAGES
from shuttle.runtime import Runtime
from tests.scenario import PASSWORD, Scene, build_case

PAYLOADS = (
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert(2)>',
    "'><svg/onload=alert(3)>",
    "</title><script>alert(4)</script>",
    '<a href="javascript:alert(5)">x5</a>',
    '<iframe srcdoc="<script>alert(6)</script>"></iframe>',
    "<style>@import'//x7'</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(8)>",
)


def payload(room: int, start: int = 0) -> str:
    """As many payloads as fit in ``room`` characters, starting from the ``start``th."""
    text = ""
    for n in range(len(PAYLOADS)):
        candidate = PAYLOADS[(start + n) % len(PAYLOADS)]
        if len(text) + len(candidate) > room:
            break
        text += candidate
    assert text, f"no payload fits in {room} characters"
    return text


def unescaped(html: str) -> list[str]:
    """The payloads found as they were sent (that is, not escaped)."""
    return [p for p in PAYLOADS if p in html]


async def fill_every_field(client: Any, runtime: Runtime) -> tuple[Scene, dict[str, str]]:
    """A case whose every free-text field holds payloads; returns it and the ids to visit."""
    scene = await build_case(
        client, runtime, people=(("sam", "harmed"), ("rob", "responsible"), ("sue", "supporter"))
    )
    api, lead, case = scene.api, scene.lead, f"/api/v1/cases/{scene.case_id}"
    sam, rob = scene.people["sam"], scene.people["rob"]
    # Staff names, and a conflict of interest's details.
    named = await accounts.add_user(
        runtime,
        role="practitioner",
        email="xss@service.example",
        name=payload(100),
        password=PASSWORD,
    )
    conflict = {"declared": False, "details": payload(2000, 1)}
    await api.call(
        "POST",
        f"{case}/practitioners",
        lead,
        {"user_id": named, "role": "co_worker", "conflict_of_interest": conflict},
        expect=201,
    )
    # A case reference, participant names.
    _, other = await api.call(
        "POST", "/api/v1/cases", lead, {"reference": payload(100, 2)}, expect=201
    )
    body = {"role": "other", "display_name": payload(100, 3), "shown_to_others_as": payload(100, 4)}
    _, person = await api.call("POST", f"{case}/participants", lead, body, expect=201)
    # Watch list, unwanted topics, wishes.
    await api.call("PUT", f"{case}/watch-list", lead, {"terms": list(PAYLOADS)}, expect=200)
    await scene.willing("sam", unwanted_topics=list(PAYLOADS))
    await scene.willing("rob")
    # Items: bodies, notes, summaries, internal notes; an item written with help.
    letter = await scene.write("rob", "Dear Sam, " + payload(50_000), to=("sam",))
    await scene.decide(letter["id"], note=payload(5000, 1), internal_note=payload(5000, 2))
    summary = await scene.write("rob", payload(50_000, 3), to=("sam",), scope="summary")
    await scene.decide(summary["id"], summary=payload(20_000, 4))
    returned = await scene.write("sam", payload(50_000, 5), to=("rob",))
    await scene.decide(returned["id"], "return", reason="other", note=payload(5000, 6))
    helped = {
        "kind": "letter",
        "body": payload(50_000, 7),
        "sharing": {"scope": "verbatim", "recipient_ids": [sam.id]},
        "on_behalf_of": rob.id,
        "assisted_declaration": payload(2000),
    }
    await api.call("POST", f"{case}/items", lead, helped, expect=201)
    # A meeting request, opt-out reasons, a disclosure request released to Sam.
    await api.call(
        "POST", "/api/v1/me/meeting-requests", sam.token, {"note": payload(2000, 1)}, expect=201
    )
    await api.call(
        "POST",
        f"{case}/participants/{scene.people['sue'].id}/opt-out",
        lead,
        {"reason": payload(2000, 2)},
        expect=200,
    )
    # The case record: the incident, an entry of each kind, notes about Sam decided for her
    # request (given, so they reach her package), the extension's note.
    await api.call(
        "PUT",
        f"{case}/referral",
        lead,
        {"incident": payload(5000, 3), "referral_source": "police"},
        expect=200,
    )
    entries = []
    for n, (kind, detail, day) in enumerate(
        (
            ("note", None, None),
            ("risk_assessment", "high", None),
            ("contact", "visit", "2026-01-06"),
            ("outcome", "agreed", None),
            ("feedback", "form", None),
        )
    ):
        body = {
            "kind": kind,
            "participant_id": sam.id,
            "detail": detail,
            "happened_on": day,
            "text": payload(10_000, n),
        }
        _, entry = await api.call("POST", f"{case}/entries", lead, body, expect=201)
        entries.append(entry["id"])
    _, request = await api.call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201)
    path = f"/api/v1/disclosure-requests/{request['id']}"
    for entry_id in entries[:2]:
        await api.call(
            "PUT", f"{path}/decisions/{entry_id}", lead, {"decision": "disclose"}, expect=200
        )
    await api.call(
        "POST",
        f"{path}/extension",
        lead,
        {"months": 1, "reason": "complex", "note": payload(2000, 4)},
        expect=200,
    )
    await scene.release(request["id"])
    ids = {
        "case_id": scene.case_id,
        "other_case_id": other["id"],
        "participant_id": person["id"],
        "item_id": letter["id"],
        "request_id": request["id"],
        "entry_id": entries[0],
        "token": person["invitation_token"],
        "user_id": named,
        "code": "en",
        "wish": "topics",  # the wish page that shows the participant's own words
    }
    return scene, ids


def fill(path: str, ids: dict[str, str]) -> str:
    """The page's path with its parameters filled from ``ids``; fails on an unknown one."""
    missing = [name for name in re.findall(r"{(\w+)}", path) if name not in ids]
    assert not missing, f"{path}: teach the XSS sweep to fill {missing}"
    return re.sub(r"{(\w+)}", lambda m: ids[m[1]], path)


async def test_no_payload_comes_back_unescaped_on_any_page(client: Any, runtime: Runtime) -> None:
    """Every GET page, as nobody, a participant and a practitioner: payloads stay escaped."""
    scene, ids = await fill_every_field(client, runtime)
    visitors = {
        "nobody": None,
        "participant": scene.people["sam"].token,
        "practitioner": scene.lead,
        "colleague": scene.staff["colleague"],
    }
    pages = [route for route in PAGES if route.method == "GET"]
    assert len(pages) >= 5
    swept = 0
    for route in pages:
        path = fill(route.path, ids)
        for who, token in visitors.items():
            headers = {"Cookie": f"shuttle_session={token}"} if token else {}
            for query in ("", "?next=" + PAYLOADS[1], "?q=" + PAYLOADS[0]):
                response = await client.get(path + query, headers=headers)
                assert response.status < 500, f"{who} {path}: {response.status}"
                swept += 1
                if response.content_type in (
                    "application/zip",
                    "text/event-stream",
                    "application/json",
                    "text/csv",
                ):
                    # A records package (swept below), the live counts, or the case record's
                    # downloads (data, never shown as a page; the CSV's cells are defused).
                    response.close()
                    continue
                assert response.content_type == "text/html", f"{path}: {response.content_type}"
                html = await response.text()
                assert not unescaped(html), f"{who} {route.name}: {unescaped(html)}"
    assert swept >= len(pages) * len(visitors) * 3


async def test_no_payload_comes_back_unescaped_in_the_records_package(
    client: Any, runtime: Runtime
) -> None:
    """The disclosure package's HTML (its own template environment) escapes them too."""
    scene, ids = await fill_every_field(client, runtime)
    response = await client.get(
        f"/api/v1/disclosure-requests/{ids['request_id']}/package",
        headers={"Authorization": f"Bearer {scene.people['sam'].token}"},
    )
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(await response.read())) as package:
        pages = [name for name in package.namelist() if name.endswith(".html")]
        assert pages, package.namelist()
        for name in pages:
            html = package.read(name).decode("utf-8")
            assert "&lt;script&gt;" in html or "&lt;" in html  # the payloads are there, escaped
            assert not unescaped(html), f"{name}: {unescaped(html)}"
