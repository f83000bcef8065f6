"""records.pdf in a released package: an accessible tagged PDF (PDF/UA-1, made by WeasyPrint)
with its language, title and headings, checked with poppler's pdfinfo; a picture of its first
page is kept in test-artifacts/screenshots/disclosure-pdf-page-1.png (pdftoppm).

poppler-utils and Pango come from Debian (scripts/install-pdf-tools, run by ``make setup``);
without them these tests fail, saying what to install, rather than pass unchecked.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import re
import shutil
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from shuttle import disclosure
from shuttle.runtime import Runtime
from tests.scenario import build_case

SCREENSHOTS = Path("test-artifacts/screenshots")
INSTALL = "install Debian's poppler-utils: scripts/install-pdf-tools (make setup does)"


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: {INSTALL}"
    return found


def _objects(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream (object streams too) decompressed."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


async def _released_pdf(client: Any, runtime: Runtime) -> bytes:
    scene = await build_case(client, runtime)
    api, sam = scene.api, scene.people["sam"]
    await scene.willing("sam")
    relayed = await scene.write("rob", "I am sorry. I think about that night every day.")
    await scene.decide(relayed["id"])
    await scene.write("sam", "I want you to know how it changed my life.", to=("rob",))
    note = {
        "kind": "note",
        "participant_id": sam.id,
        "text": "Sam asked for letters to be read to her first.",
    }
    _, made = await api.call(
        "POST", f"/api/v1/cases/{scene.case_id}/entries", scene.lead, note, expect=201
    )
    _, request = await api.call("POST", "/api/v1/me/disclosure-requests", sam.token, expect=201)
    path = f"/api/v1/disclosure-requests/{request['id']}"
    await api.call(
        "PUT", f"{path}/decisions/{made['id']}", scene.lead, {"decision": "disclose"}, expect=200
    )
    await scene.release(request["id"])
    _, data = await api.call("GET", f"{path}/package", sam.token, expect=200)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("records.pdf")


async def test_records_pdf_is_tagged_with_language_title_and_headings(
    client: Any, runtime: Runtime, tmp_path: Path
) -> None:
    """pdfinfo: Tagged yes, the title, PDF/UA; the structure has H1, H2 and tables; the
    catalogue names the language; page 1 is drawn to a PNG and kept."""
    pdf = await _released_pdf(client, runtime)
    await asyncio.to_thread(check_pdf, pdf, tmp_path / "records.pdf")


def check_pdf(pdf: bytes, path: Path) -> None:
    """The checks on one records.pdf, with poppler's tools; keeps a PNG of page 1."""
    pdfinfo, pdftoppm = _tool("pdfinfo"), _tool("pdftoppm")
    assert pdf.startswith(b"%PDF-")
    path.write_bytes(pdf)

    def run(*args: str) -> str:
        done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
        return done.stdout

    info = run(pdfinfo, str(path))
    fields = {
        key.strip(): value.strip()
        for key, _, value in (line.partition(":") for line in info.splitlines())
    }
    assert fields["Tagged"] == "yes", info
    assert fields["Title"] == "Your records", info
    meta = run(pdfinfo, "-meta", str(path))
    assert 'pdfuaid:part="1"' in meta, meta
    structure = run(pdfinfo, "-struct", str(path))
    tags = [line.split()[0] for line in structure.splitlines() if line.strip()]
    assert tags[0] == "Document" and tags.count("H1") == 1, structure
    assert "H2" in tags and "Table" in tags and "TH" in tags, structure
    objects = _objects(pdf)
    assert b"/Lang (en)" in objects
    assert b"/DisplayDocTitle true" in objects

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "disclosure-pdf-page-1"
    run(pdftoppm, "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(path), str(target))
    png = target.with_suffix(".png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5_000


def test_a_missing_pango_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Pango, WeasyPrint cannot load: the error says what to install."""
    real_import = builtins.__import__

    def no_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0': no such file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pango)
    with pytest.raises(disclosure.PdfUnavailable, match=r"apt-get install libpango-1\.0-0"):
        disclosure.render_pdf("<html lang='en'><title>x</title><h1>x</h1></html>")
