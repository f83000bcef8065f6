"""English and Welsh: the catalogues, and the language of the request being served.

The jinja2 environment is shared by every request, so translations are installed into it once,
as callables that look up the language of the *current* request in a context variable (UX.md:
installing a catalogue per request would mix languages between concurrent requests). Python
code uses ``gettext``/``ngettext`` from here for the same reason.

Catalogues are ``web/locale/<lang>/LC_MESSAGES/messages.po``, read with Babel at start-up (no
compiled ``.mo`` files to forget to rebuild). ``make translations`` extracts and updates them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from shuttle.errors import ShuttleError

DEFAULT = "en"
# The languages offered, each named in its own language (for the switch in the header).
LANGUAGES = {"en": "English", "cy": "Cymraeg"}

_current: ContextVar[str] = ContextVar("shuttle_language", default=DEFAULT)
_catalogues: dict[str, NullTranslations] = {DEFAULT: NullTranslations()}


def load(locale_dir: Path) -> None:
    """Read every language's catalogue from ``locale_dir`` (missing ones fall back to English)."""
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        po = locale_dir / language / "LC_MESSAGES" / "messages.po"
        if not po.is_file():
            continue
        with po.open("rb") as source:
            catalogue = read_po(source, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue, use_fuzzy=False)
        compiled.seek(0)
        _catalogues[language] = Translations(compiled)


def current() -> str:
    """The language of the request being served."""
    return _current.get()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Serve the enclosed code in ``language`` (English if it is not offered)."""
    token = _current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: str) -> None:
    """Serve the rest of this task in ``language`` (used by the page middleware)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


def _translations() -> NullTranslations:
    return _catalogues.get(_current.get(), _catalogues[DEFAULT])


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The right plural form of a message for ``n`` in the current language (Welsh has 6)."""
    return _translations().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, told apart from the same words elsewhere."""
    return str(_translations().pgettext(context, message))


def error_text(error: ShuttleError) -> str:
    """A service's error message in the current language (its numbers and names filled in)."""
    words = gettext(error.template)
    return words % error.params if error.params else words


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is defined; translate it where it is shown."""
    return message


_ = gettext
