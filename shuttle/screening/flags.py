"""The flag: one thing a careful reviewer would look at, where it is, and why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

KINDS = (
    "contact_details",
    "location",
    "watch_list",
    "acrostic",
    "invisible_characters",
    "lookalike_characters",
    "code_like",
    "unwanted_topic",
    "intimidation",
    "minimisation",
    "blaming",
)
SEVERITIES = ("info", "warning", "high")


class ScreeningPolicyError(ValueError):
    """A screening policy file breaks the rules of its format."""


@dataclass(frozen=True)
class Flag:
    """One thing for the reviewer to look at: what, how serious, where, and why.

    ``start`` and ``end`` are character offsets into the body; ``excerpt`` is exactly
    ``body[start:end]``. A flag advises: nothing in the service acts on it by itself.
    """

    kind: str
    severity: str
    start: int
    end: int
    excerpt: str
    reason: str

    def public(self) -> dict[str, object]:
        """The JSON shape of API.md."""
        return asdict(self)


def flag(kind: str, severity: str, body: str, start: int, end: int, reason: str) -> Flag:
    """A flag over ``body[start:end]``; its reason kept to one line whatever it quotes."""
    return Flag(kind, severity, start, end, body[start:end], " ".join(reason.split()))


def overlaps(a: Flag, b: Flag) -> bool:
    """Whether two flags share at least one character."""
    return a.start < b.end and b.start < a.end


FOLDED_WORD = re.compile(r"[0-9a-z']+")
CAPITALISED = re.compile(r"[A-Z][^\W\d_]+")


@dataclass(frozen=True)
class Text:
    """A body read once for every rule: folded, and cut into words with where they start.

    Rules look up words here before running a costly pattern over the whole text.
    """

    body: str
    folded: str
    words: list[tuple[int, int, str]]
    places: Mapping[str, list[int]]
    capitalised: frozenset[str]

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every folded word of the text, apostrophes left out."""
        return frozenset(self.places)


def read_text(body: str, table: Mapping[int, str]) -> Text:
    """``body`` folded with ``table`` and cut into words."""
    folded = body.translate(table)
    words = [
        (m.start(), m.end(), m.group(0).replace("'", "")) for m in FOLDED_WORD.finditer(folded)
    ]
    places: dict[str, list[int]] = {}
    for start, _, word in words:
        places.setdefault(word, []).append(start)
    return Text(body, folded, words, places, frozenset(CAPITALISED.findall(body)))
