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
# Welsh changes the first letter of a word after certain words (mutation): Caerdydd becomes
# "i Gaerdydd", "yng Nghaerdydd", "a Chaerdydd"; Bangor "ym Mangor". Used for terms of five
# letters or more in letters that read as Welsh (in English, "Bella" would find "fella").
MUTATIONS = {
    "ll": ("l",),
    "rh": ("r",),
    "c": ("g", "ngh", "ch"),
    "p": ("b", "mh", "ph"),
    "t": ("d", "nh", "th"),
    "g": ("", "ng"),
    "b": ("f", "m"),
    "d": ("dd", "n"),
    "m": ("f",),
}
WELSH_WORDS = frozenset(
    {"yn", "yr", "mae", "dw", "dwi", "wedi", "ond", "fy", "dy", "roedd", "oedd", "gyda"}
    | {"hefyd", "nawr", "rwy'n", "dwi'n", "i'n", "ti'n", "ddim", "gen", "sut", "beth", "pan"}
    | {"achos", "mewn", "efo", "hynny", "hwn", "ym", "yng", "bod", "eisiau", "diolch", "rhaid"}
    | {"fod", "yw", "ydw", "wyt", "ydy", "dydy", "doedd", "dyw", "ein", "eich", "nhw", "chi"}
    | {"ti", "fi", "iawn", "gwybod", "meddwl", "dweud", "gwneud", "mynd", "dod", "gweld"}
    | {"wnes", "wnaeth", "heddiw", "dydd", "nos", "yma", "neb", "pawb", "rhywbeth", "pob"}
    | {"gyda'r", "i'r", "o'r", "a'r", "newydd", "lwc", "symud", "clywais", "ces", "plant"}
)
_WELSH_WORD = re.compile(r"[a-z']+")
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


def looks_welsh(folded: str) -> bool:
    """Whether folded text reads as Welsh: enough of its words are common Welsh ones."""
    words = _WELSH_WORD.findall(folded)
    welsh = sum(1 for w in words if w in WELSH_WORDS)
    return welsh >= 2 and welsh * 5 >= len(words)


def term_pattern(term: str, table: Mapping[int, str], *, welsh: bool) -> re.Pattern[str] | None:
    """A pattern for a watch-list term in folded text, or None if it has under three letters.

    It finds the term whatever the case, spacing or punctuation between its letters
    ("L.e.e.d.s"), with look-alike letters folded beforehand, with digits or signs for letters
    ("5h3ff13ld"), and with a plural or possessive "s" after it, but only as whole words. In
    Welsh text (``welsh``) it also finds the term's mutated forms.
    """
    letters = plain_letters(term, table)
    if len(letters) < 3:
        return None
    classes = ["[" + re.escape(LETTER_SWAPS.get(c, c)) + "]" for c in letters]
    heads = [classes[0] + _GAP]
    rest = classes[1:]
    lead = letters[:2] if letters[:2] in MUTATIONS else letters[0]
    if welsh and len(letters) >= 5 and lead in MUTATIONS:
        heads = ["".join(c + _GAP for c in classes[: len(lead)])]
        heads += [m + _GAP if m else "" for m in MUTATIONS[lead]]
        rest = classes[len(lead) :]
    pattern = _START + "(?:" + "|".join(heads) + ")" + _GAP.join(rest) + "s?" + _END
    return re.compile(pattern)


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
    if len(parts) == 2:
        # Two words in either order, a word or two apart: "prison life", "life in prison".
        between = rf"(?:{_WORD_GAP}[0-9a-z']+){{0,2}}{_WORD_GAP}"
        return (
            rf"(?<![0-9a-z'])(?:{parts[0]}{between}{parts[1]}|{parts[1]}{between}{parts[0]}){_END}"
        )
    return r"(?<![0-9a-z'])" + _WORD_GAP.join(parts) + _END
