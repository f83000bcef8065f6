"""Every word a page can show has a Welsh translation, and the translations keep their
placeholders. (The browser tests check the Welsh pages themselves.)"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from shuttle import i18n
from shuttle.errors import Invalid
from shuttle.i18n import N_, error_text
from shuttle.settings import PROJECT_ROOT

PO = PROJECT_ROOT / "web/locale/cy/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _extracted() -> set[str]:
    """Every message the code, templates and policies ask to translate (babel.cfg, as
    `make translations` finds them)."""
    found: set[str] = set()
    with (PROJECT_ROOT / "babel.cfg").open() as config:
        method_map, options = parse_mapping_cfg(config, "babel.cfg")
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


# Errors whose message a page shows (middleware and the pages' own forms): every one is marked
# for translation where it is raised. NotFound and Forbidden pages say the same thing whatever
# the cause; NotSignedIn sends people to sign in.
SHOWN_ERRORS = {"Invalid", "Conflict", "Malformed", "TooLarge", "RateLimited"}


def test_every_error_a_page_can_show_is_marked_for_translation() -> None:
    """No service raises an error a page shows with words left out of the catalogue: each
    message is ``N_("...")`` (numbers and names as ``%(name)s`` in ``params=``), or a name
    given to words marked where they are defined."""
    unmarked = []
    for path in sorted((PROJECT_ROOT / "shuttle").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in SHOWN_ERRORS
                and node.args
            ):
                continue
            words = node.args[0]
            marked = (
                isinstance(words, ast.Call)
                and isinstance(words.func, ast.Name)
                and words.func.id == "N_"
                and isinstance(words.args[0], ast.Constant)
            )
            if not marked and not isinstance(words, ast.Name | ast.Subscript):
                where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                unmarked.append(f"{where}: {ast.unparse(words)[:80]}")
    assert not unmarked, "mark these for translation with N_():\n" + "\n".join(unmarked)


def test_a_service_error_is_shown_in_welsh() -> None:
    """What a page shows of a service's error: in Welsh, with its numbers filled in."""
    i18n.load(PROJECT_ROOT / "web/locale")
    error = Invalid(N_("Keep it under %(limit)s characters."), params={"limit": 50_000})
    assert error.message == "Keep it under 50000 characters."  # the API's words
    with i18n.speaking("cy"):
        assert error_text(error) == "Cadwch ef o dan 50000 nod."
