"""Ways of hiding a message in plain sight: invisible or direction-changing characters,
letters borrowed from other alphabets, and runs of digits or letters that read like a code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from itertools import pairwise

from shuttle.screening.flags import Flag, flag

# Characters that show nothing, or that change the direction the text is shown in. Tag
# characters (U+E0000 block) can spell out a whole hidden sentence.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]+"
)
DIRECTION = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
OPENERS = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")
CLOSER = re.compile("[\u202c\u2069\n]")
GROUP_GAP = 24
TAGS = range(0xE0000, 0xE0080)
BLACK_FLAG = "\U0001f3f4"
ZERO_WIDTH_JOINER = "\u200d"
# Words with a letter from another alphabet, or styled ("mathematical", full-width) letters.
OTHER_ALPHABET = re.compile(
    "[\u0370-\u052f\u1d00-\u1dbf\u2100-\u214f\uff21-\uff5a\U0001d400-\U0001d7ff]"
)
WORD = re.compile(r"[^\W\d_]+")

DIGIT_RUN = re.compile(r"(?<![\d£$€.,])\d{6,}(?![\d%])")
MIXED = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{5,}(?![A-Za-z0-9])")
UNITS = re.compile(
    r"\d+(?:st|nd|rd|th|s|am|pm|k|m|mph|kg|km|ml|mg|cm|mm|ft|yrs?|hrs?|mins?|x\d+)"
    r"|[a-z]{1,6}\d{1,2}|[a-z]\d[a-z]?",
    re.IGNORECASE,
)
CAPITALS = re.compile(r"(?<![\w])[A-Z]{6,}(?![\w])")
BASE64 = re.compile(
    r"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])"
)
LETTER_NUMBERS = re.compile(
    r"(?<![\d.,:/£$€])(?:[1-9]|1\d|2[0-6])(?:[ ,\-]{1,2}(?:[1-9]|1\d|2[0-6])){3,}(?!\d|[.,:/]\d|%)"
)
SPACED = re.compile(r"(?<![\w.'\u2019])(?:[A-Za-z][ .\-_]{1,2}){4,}[A-Za-z](?![\w'\u2019])")


def _is_emoji_joiner(body: str, start: int, end: int) -> bool:
    """A zero-width joiner between two pictures is how many emoji are made, not a trick."""
    if body[start:end] != ZERO_WIDTH_JOINER or start == 0 or end >= len(body):
        return False
    before = body[start - 1] if body[start - 1] != "\ufe0f" else body[max(start - 2, 0)]
    return unicodedata.category(before) in ("So", "Sk") and unicodedata.category(body[end]) in (
        "So",
        "Sk",
    )


def _is_flag_tags(body: str, start: int, end: int) -> bool:
    """Tag characters after a black flag spell a region's flag (Wales: "gbwls")."""
    return start > 0 and body[start - 1] == BLACK_FLAG and body[end - 1] == "\U000e007f"


def _invisible_runs(body: str) -> list[tuple[int, int]]:
    """Runs of invisible characters, a direction change reaching to where it is undone, and
    runs close together joined: what they hide lies between them."""
    runs: list[tuple[int, int]] = []
    for match in INVISIBLE.finditer(body):
        start, end = match.span()
        if _is_emoji_joiner(body, start, end) or _is_flag_tags(body, start, end):
            continue
        if any(c in OPENERS for c in match.group(0)):
            closer = CLOSER.search(body, end)
            end = closer.end() if closer is not None else len(body)
        if runs and start - runs[-1][1] <= GROUP_GAP:
            runs[-1] = (runs[-1][0], max(end, runs[-1][1]))
        else:
            runs.append((start, end))
    return runs


def invisible_flags(body: str) -> Iterator[Flag]:
    """Invisible or direction-changing characters, with what they hide where it can be read."""
    for start, end in _invisible_runs(body):
        chars = "".join(INVISIBLE.findall(body, start, end))
        tagged = "".join(chr(ord(c) - 0xE0000) for c in chars if ord(c) in TAGS).strip()
        if tagged:
            reason = f"Invisible tag characters hide the text “{tagged}”."
            yield flag("invisible_characters", "high", body, start, end, reason)
        elif any(c in DIRECTION for c in chars):
            reason = "Characters that change the direction of text can hide or reorder words."
            yield flag("invisible_characters", "high", body, start, end, reason)
        else:
            name = unicodedata.name(chars[0], "invisible character").lower()
            what = f"{len(chars)} invisible characters" if len(chars) > 1 else "An invisible"
            reason = f"{what} ({name}) can hide a message or break up a word."
            yield flag("invisible_characters", "warning", body, start, end, reason)


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ")[0] if name else ""


def lookalike_flags(body: str, table: Mapping[int, str]) -> Iterator[Flag]:
    """Words that borrow letters from another alphabet, or use styled letters."""
    if OTHER_ALPHABET.search(body) is None:
        return
    latin = sum(1 for c in body if "a" <= c.lower() <= "z")
    for match in WORD.finditer(body):
        word = match.group(0)
        if OTHER_ALPHABET.search(word) is None:
            continue
        scripts = {_script(c) for c in word}
        passes = all(ord(c) in table or c.isascii() for c in word)
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"}:
            reason = "This word mixes letters from different alphabets that look alike."
            yield flag("lookalike_characters", "high", body, *match.span(), reason)
        elif scripts <= {"CYRILLIC", "GREEK"} and passes and latin > 4 * len(word):
            reason = "This word is written in look-alike letters from another alphabet."
            yield flag("lookalike_characters", "high", body, *match.span(), reason)
        elif scripts & {"MATHEMATICAL", "FULLWIDTH", "SCRIPT", "DOUBLE-STRUCK", "BLACK-LETTER"}:
            reason = "Styled letters pass for ordinary ones and can slip past word checks."
            yield flag("lookalike_characters", "warning", body, *match.span(), reason)


def _switches(token: str) -> int:
    return sum(1 for a, b in pairwise(token) if a.isdigit() != b.isdigit())


def _case_switches(token: str) -> int:
    letters = [c for c in token if c.isalpha()]
    return sum(1 for a, b in pairwise(letters) if a.isupper() != b.isupper())


def _letter_numbers(text: str) -> str | None:
    """The letters small numbers stand for (1 = A), unless they simply count up or down."""
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    steps = {b - a for a, b in pairwise(numbers)}
    if steps <= {1} or steps <= {-1} or len(set(numbers)) == 1:
        return None
    return "".join(chr(ord("A") + n - 1) for n in numbers)


def code_flags(body: str) -> Iterator[Flag]:
    """Long runs of digits, letters mixed with digits, consonant strings, spaced-out letters."""
    yield from _number_codes(body)
    yield from _letter_codes(body)


def _number_codes(body: str) -> Iterator[Flag]:
    for match in DIGIT_RUN.finditer(body):
        reason = "A long run of digits can be a code, an account or a phone number."
        yield flag("code_like", "warning", body, *match.span(), reason)
    for match in LETTER_NUMBERS.finditer(body):
        letters = _letter_numbers(match.group(0))
        if letters is not None:
            reason = f"Small numbers in a row can stand for letters (1 = A): “{letters}”."
            yield flag("code_like", "warning", body, *match.span(), reason)
    for match in MIXED.finditer(body):
        token = match.group(0)
        if UNITS.fullmatch(token) or _switches(token) < 3:
            continue
        reason = "Letters mixed with digits like this can be a code or a disguised word."
        yield flag("code_like", "warning", body, *match.span(), reason)
    for match in BASE64.finditer(body):
        if _case_switches(match.group(0)) >= 4 and _switches(match.group(0)) >= 1:
            reason = "This string reads like encoded text (such as base64) that can hide words."
            yield flag("code_like", "warning", body, *match.span(), reason)


def _letter_codes(body: str) -> Iterator[Flag]:
    for match in CAPITALS.finditer(body):
        token = match.group(0)
        if sum(c in "AEIOUYW" for c in token) <= len(token) // 6:
            reason = "A string of capitals with hardly a vowel reads like a code."
            yield flag("code_like", "warning", body, *match.span(), reason)
    for match in SPACED.finditer(body):
        letters = "".join(c for c in match.group(0) if c.isalpha()).upper()
        reason = f"Letters written one at a time spell “{letters}”."
        yield flag("code_like", "warning", body, *match.span(), reason)
