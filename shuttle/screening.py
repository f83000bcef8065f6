"""Advisory screening of an item's text for its reviewer (guidance 3d 10: hidden messages).

Flags point at what a careful reviewer would look for and say why; they never approve,
withhold or block anything. This first version covers contact details, the case's watch
list, the recipients' unwanted topics and invisible characters; fuller rules as data in
``policies/`` come with the screening issue.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
UK_PHONE = re.compile(r"(?<!\d)(?:\+44\s?|0)(?:\d[\s.-]?){9,10}(?!\d)")
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,30}\b")
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Flag:
    """One thing for the reviewer to look at: what, how serious, where, and why."""

    kind: str
    severity: str
    start: int
    end: int
    excerpt: str
    reason: str

    def public(self) -> dict[str, object]:
        """The JSON shape of API.md."""
        return asdict(self)


def _matches(pattern: re.Pattern[str], text: str) -> Iterable[re.Match[str]]:
    return pattern.finditer(text)


def _term_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<!\w)" + r"[\s\W_]*".join(words) + r"(?!\w)", re.IGNORECASE)


def screen(
    body: str, *, watch_list: Iterable[str] = (), unwanted_topics: Iterable[str] = ()
) -> list[Flag]:
    """Every flag for ``body``, in order of where they start."""
    flags: list[Flag] = []

    def add(kind: str, severity: str, match: re.Match[str], reason: str) -> None:
        flags.append(Flag(kind, severity, match.start(), match.end(), match.group(0), reason))

    for match in _matches(EMAIL, body):
        add(
            "contact_details",
            "high",
            match,
            "An e-mail address would let the recipient make contact.",
        )
    for match in _matches(LINK, body):
        add("contact_details", "high", match, "A web link can carry contact details or a message.")
    for match in _matches(UK_PHONE, body):
        add("contact_details", "high", match, "This looks like a phone number.")
    for match in _matches(HANDLE, body):
        add("contact_details", "warning", match, "This looks like a social media handle.")
    for match in _matches(UK_POSTCODE, body):
        add("location", "high", match, "This looks like a UK postcode.")
    for term in watch_list:
        for match in _matches(_term_pattern(term), body):
            add("watch_list", "high", match, "A word on this case's watch list.")
    for topic in unwanted_topics:
        for match in _matches(_term_pattern(topic), body):
            add(
                "unwanted_topic",
                "warning",
                match,
                "The recipient said they do not want to hear about this.",
            )
    for match in _matches(INVISIBLE, body):
        name = unicodedata.name(match.group(0), "invisible character")
        add(
            "invisible_characters",
            "warning",
            match,
            f"An invisible character ({name.lower()}) can hide text.",
        )
    return sorted(flags, key=lambda flag: (flag.start, flag.end, flag.kind))
