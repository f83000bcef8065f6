"""Every word a page can show has a Welsh translation, and the translations keep their
placeholders. (The browser tests check the Welsh pages themselves.)"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from shuttle import i18n
from shuttle.settings import PROJECT_ROOT

PO = PROJECT_ROOT / "web/locale/cy/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _extracted() -> set[str]:
    """Every message the code and templates ask to translate (as `make translations` finds)."""
    found: set[str] = set()
    method_map = [("shuttle/**.py", "python"), ("web/templates/**.html", "jinja2")]
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "silent": "false"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue() -> dict[str, str | tuple[str, ...]]:
    with Path(PO).open("rb") as handle:
        catalogue = read_po(handle, locale="cy")
    return {
        (m.id[0] if isinstance(m.id, tuple) else m.id): m.string
        for m in catalogue
        if m.id and "fuzzy" not in m.flags
    }


def _translated(value: str | tuple[str, ...] | None) -> bool:
    if isinstance(value, str):
        return bool(value)
    return bool(value) and all(value)


def test_every_message_has_a_welsh_translation() -> None:
    """Run `make translations`, translate what is new (scripts/translate), and this passes."""
    welsh = _catalogue()
    untranslated = sorted(m for m in _extracted() if not _translated(welsh.get(m)))
    assert not untranslated, "no Welsh for:\n" + "\n".join(untranslated)


def test_translations_keep_their_placeholders() -> None:
    """A translation names the same placeholders as its English."""
    for english, welsh in _catalogue().items():
        forms = (welsh,) if isinstance(welsh, str) else welsh
        for form in forms:
            if form:
                assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(english)), (
                    f"{english!r} -> {form!r}"
                )


def test_welsh_is_served_in_welsh() -> None:
    """The catalogue loads, and a known message comes back in Welsh."""
    i18n.load(PROJECT_ROOT / "web/locale")
    with i18n.speaking("cy"):
        assert i18n.gettext("Sign in") == "Mewngofnodi"
    assert i18n.gettext("Sign in") == "Sign in"
