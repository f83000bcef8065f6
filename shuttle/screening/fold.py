"""Folding text so that look-alike spellings compare equal, one character for one character.

Folding never changes the length of the text, so an offset into the folded text is an offset
into the original: that is what lets every flag point at the exact characters written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from itertools import chain

# Scripts whose characters Unicode's compatibility folding turns into plain letters: Latin
# with accents, Greek and Cyrillic, letter-like symbols, circled and full-width letters and
# the "mathematical" alphabets people paste from font generators.
_FOLDED_RANGES = (
    range(0x00C0, 0x0250),
    range(0x0370, 0x0530),
    range(0x1E00, 0x1F00),
    range(0x2100, 0x2190),
    range(0x2460, 0x2500),
    range(0xFF01, 0xFF5F),
    range(0x1D400, 0x1D800),
)
_PUNCTUATION = {"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "`": "'"}
_PUNCTUATION |= {"\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u00a0": " "}

# Digits and signs written for letters ("5h3ff13ld"): each letter of a term also matches these.
LETTER_SWAPS = {
    "a": "a4@",
    "b": "b8",
    "e": "e3",
    "g": "g96",
    "i": "i1l!|",
    "l": "l1i|",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
    "z": "z2",
}
# Between the letters of a term: spaces, dots, dashes, invisible characters, at most three.
_GAP = r"[^0-9a-z]{0,3}"
_WORD_GAP = r"[^0-9a-z']{1,4}"
_START = r"(?<![0-9a-z])"
_END = r"(?![0-9a-z])"


def fold_table(lookalikes: Mapping[str, str]) -> dict[int, str]:
    """The table for ``str.translate`` that folds text: lower case, plain letters, plain quotes.

    Args:
        lookalikes: each plain lower-case letter, with the characters that pass for it.
    """
    table: dict[int, str] = {code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)}
    for code in chain.from_iterable(_FOLDED_RANGES):
        char = chr(code)
        plain = unicodedata.normalize("NFKD", char)
        plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
        if len(plain) == 1 and plain.isascii() and plain.isalnum():
            table[code] = plain
    for letter, chars in lookalikes.items():
        for char in chars:
            for variant in {char, char.lower(), char.upper()}:
                if len(variant) == 1 and not variant.isascii():
                    table[ord(variant)] = letter
    table.update({ord(k): v for k, v in _PUNCTUATION.items()})
    return table


def fold(text: str, table: Mapping[int, str]) -> str:
    """``text`` folded with ``table``: the same length, so offsets carry over."""
    return text.translate(table)


def plain_letters(term: str, table: Mapping[int, str]) -> str:
    """Only the letters and digits of ``term``, folded: "St. Mary's" -> "stmarys"."""
    return "".join(c for c in fold(term, table) if c.isascii() and c.isalnum())


def term_pattern(term: str, table: Mapping[int, str]) -> re.Pattern[str] | None:
    """A pattern for a watch-list term in folded text, or None if it has under three letters.

    It finds the term whatever the case, spacing or punctuation between its letters
    ("L.e.e.d.s"), with look-alike letters folded beforehand, with digits or signs for letters
    ("5h3ff13ld"), and with a plural or possessive "s" after it, but only as whole words.
    """
    letters = plain_letters(term, table)
    if len(letters) < 3:
        return None
    classes = ["[" + re.escape(LETTER_SWAPS.get(c, c)) + "]" for c in letters]
    return re.compile(_START + _GAP.join(classes) + "s?" + _END)


def phrase_pattern(phrases: list[str], table: Mapping[int, str]) -> str:
    """A regular expression (for folded text) matching any of ``phrases`` as whole words.

    In a phrase, ``*`` stands for one word and an apostrophe may be left out.
    """
    alternatives = []
    for phrase in phrases:
        words = fold(phrase, table).split()
        parts = []
        for word in words:
            if word == "*":
                parts.append(r"[0-9a-z']+")
            else:
                parts.append("'?".join(re.escape(piece) for piece in word.split("'")))
        alternatives.append(_WORD_GAP.join(parts))
    alternatives.sort(key=len, reverse=True)
    return r"(?<![0-9a-z'])(?:" + "|".join(alternatives) + ")" + _END


def topic_pattern(topic: str, table: Mapping[int, str], skip: frozenset[str]) -> str | None:
    """A regular expression for an unwanted topic: its words in order, with simple endings.

    Leading words in ``skip`` ("the", "my", "about") are dropped: "my brother" finds
    "brother" and "brothers".
    """
    words = [w for w in re.split(r"[^0-9a-z']+", fold(topic, table)) if w]
    while words and words[0] in skip:
        words.pop(0)
    if not words or len("".join(words)) < 3:
        return None
    parts = [re.escape(w) + r"(?:s|es|'s|ing|ed|d)?" for w in words]
    return r"(?<![0-9a-z'])" + _WORD_GAP.join(parts) + _END
