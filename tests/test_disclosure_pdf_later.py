"""A big case's records are released at once, and records.pdf follows from a background task.

WeasyPrint needs tens of milliseconds per item, so a package with more items than
``records_pdf_inline_items`` is released without its PDF (its README says so, its view says
``"pdf": "being_made"``); a background task adds it, shortened to ``records_pdf_max_items``
entries a list and saying so. If the service stops first, or making it fails, it is made at the
next start (``make_waiting_pdfs``). Here the limits are 0 and 1, so a small case is "big".
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shuttle import disclosure
from shuttle.api.http import RUNTIME
from shuttle.bootstrap import initialise
from shuttle.runtime import Runtime
from shuttle.settings import Settings
from tests.conftest import make_settings
from tests.scenario import Scene, build_case
from tests.test_leaks_stateful import pdf_text


@pytest.fixture
async def settings(data_dir: Path, database_url: str) -> Settings:
    """Every case counts as big: no PDF during a release, and at most 1 entry a list."""
    made = make_settings(
        data_dir, database_url, records_pdf_inline_items=0, records_pdf_max_items=1
    )
    await initialise(made, migrate=False)
    return made


@pytest.fixture
def pdf_held() -> Iterator[None]:
    """No PDF can be made until the test lets go (render_pdf waits for this lock)."""
    disclosure._pdf_lock.acquire()
    try:
        yield
    finally:
        if disclosure._pdf_lock.locked():
            disclosure._pdf_lock.release()


async def _released(client: Any, runtime: Runtime) -> tuple[Scene, str]:
    scene = await build_case(client, runtime)
    await scene.willing("sam")
    for words in ("I am sorry. I think about that night every day.", "I would like to explain."):
        relayed = await scene.write("rob", words)
        await scene.decide(relayed["id"])
    await scene.write("sam", "I want you to know how it changed my life.", to=("rob",))
    _, request = await scene.api.call(
        "POST", "/api/v1/me/disclosure-requests", scene.people["sam"].token, expect=201
    )
    released = await scene.release(request["id"])
    assert released["pdf"] == "being_made", released
    return scene, request["id"]


async def _package(scene: Scene, request_id: str) -> dict[str, bytes]:
    path = f"/api/v1/disclosure-requests/{request_id}"
    _, data = await scene.api.call("GET", f"{path}/package", scene.people["sam"].token, expect=200)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def _pdf_state(scene: Scene, request_id: str) -> str:
    path = f"/api/v1/disclosure-requests/{request_id}"
    _, view = await scene.api.call("GET", path, scene.people["sam"].token, expect=200)
    return str(view["pdf"])


async def test_released_at_once_then_the_pdf_follows_shortened(
    client: Any, runtime: Runtime, pdf_held: None
) -> None:
    scene, request_id = await _released(client, runtime)
    before = await _package(scene, request_id)
    assert "records.pdf" not in before
    assert "not here yet" in before["README.txt"].decode()
    assert {"records.json", "records.html", "proofs/proofs.json"} <= set(before)
    assert await _pdf_state(scene, request_id) == "being_made"

    disclosure._pdf_lock.release()
    await client.app[RUNTIME].settle()
    after = await _package(scene, request_id)
    assert await _pdf_state(scene, request_id) == "ready"
    assert set(after) == set(before) | {"records.pdf"}
    for name in ("records.json", "records.html", "proofs/proofs.json"):
        assert after[name] == before[name], name  # the same records, now with their PDF
    readme = after["README.txt"].decode()
    assert "not here yet" not in readme and "records.html and records.json have all" in readme
    text = await asyncio.to_thread(pdf_text, after["records.pdf"])
    assert "This copy is shortened" in " ".join(text.split())
    assert "I am sorry" in text  # the first item passed on to Sam
    assert "I would like to explain" not in text  # the second: only in records.html
    assert "I would like to explain" in after["records.html"].decode()


async def test_a_pdf_not_made_before_a_stop_or_failing_is_made_at_the_next_start(
    client: Any, runtime: Runtime, pdf_held: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene, request_id = await _released(client, runtime)
    for task in list(client.app[RUNTIME].background):  # the service stops mid-way
        task.cancel()
    await client.app[RUNTIME].settle()
    disclosure._pdf_lock.release()
    assert await _pdf_state(scene, request_id) == "being_made"

    def broken(html: str) -> bytes:
        raise disclosure.PdfUnavailable("no Pango here")

    monkeypatch.setattr(disclosure, "render_pdf", broken)
    await disclosure.make_waiting_pdfs(runtime)  # a start on a machine without Pango
    assert await _pdf_state(scene, request_id) == "failed"
    assert "records.pdf" not in await _package(scene, request_id)

    monkeypatch.undo()
    await disclosure.make_waiting_pdfs(runtime)  # the next start, Pango installed
    assert await _pdf_state(scene, request_id) == "ready"
    made = await _package(scene, request_id)
    assert made["records.pdf"].startswith(b"%PDF-")
