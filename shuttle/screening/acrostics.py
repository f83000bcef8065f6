"""Acrostics: words spelled by the first letters of lines, of sentences, or of words.

The first letters of each unit are read as one string. A stretch of it that spells a
watch-list term or a signal word ("HELP", "KILLYOU") is flagged high; over lines and sentences
a stretch that reads as ordinary words, at least one of them a real word of four letters or
more, is flagged as a warning. Only signal words are looked for over words, where chance
spells short common words in any long letter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shuttle.screening.flags import Flag, ScreeningPolicyError, flag

LETTER = re.compile(r"[^\W\d_]")
LINE = re.compile(r"[^\n]+")
SENTENCE_START = re.compile(r"(?:\A|[.!?…]+[\"'”\u2019)\]]*\s+|\n)[^\w\n]*([^\W\d_])")
WORD_START = re.compile(r"(?<![\w'\u2019])[^\W\d_]")
LONGEST_READING = 30


@dataclass(frozen=True)
class AcrosticRules:
    """Word lists and thresholds for acrostics, from ``policies/screening/acrostics.toml``."""

    words: frozenset[str]
    short_words: frozenset[str]
    function_words: frozenset[str]
    signal_words: frozenset[str]
    longest_word: int
    min_lines: int
    min_sentences: int
    min_letters_lines: int
    min_letters_sentences: int
    min_letters_signal: int
    min_letters_words: int


def _word_file(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScreeningPolicyError(f"screening: cannot read word list {path}: {exc}") from exc
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [word.lower() for line in lines for word in line.split()]


def compile_acrostics(raw: Mapping[str, Any], directory: Path) -> AcrosticRules:
    """The acrostic rules, reading the word files named in the policy."""
    words = {w for name in raw.get("word_files", []) for w in _word_file(directory / name)}
    signal = {str(w).lower() for w in raw.get("signal_words", [])}
    numbers = {}
    for key in (
        "min_lines",
        "min_sentences",
        "min_letters_lines",
        "min_letters_sentences",
        "min_letters_signal",
        "min_letters_words",
    ):
        value = raw.get(key)
        if not isinstance(value, int) or not 2 <= value <= 20:
            raise ScreeningPolicyError(f"screening: {key} must be a whole number from 2 to 20")
        numbers[key] = value
    if not words or any(not w.isalpha() or not w.isascii() for w in words | signal):
        raise ScreeningPolicyError("screening: acrostic words must be plain letters a to z")
    vocabulary = {w for w in words | signal if len(w) >= 4}
    return AcrosticRules(
        words=frozenset(vocabulary),
        short_words=frozenset(str(w).lower() for w in raw.get("short_words", [])),
        function_words=frozenset(str(w).lower() for w in raw.get("function_words", [])),
        signal_words=frozenset(signal),
        longest_word=max(len(w) for w in vocabulary),
        **numbers,
    )


@dataclass(frozen=True)
class _Initials:
    unit: str
    letters: str
    offsets: list[int]


def _initials(unit: str, matches: list[tuple[str, int]], table: Mapping[int, str]) -> _Initials:
    folded = "".join(c for c, _ in matches).translate(table)
    letters = "".join(c if "a" <= c <= "z" else "?" for c in folded)
    return _Initials(unit, letters, [offset for _, offset in matches])


def _lines(body: str) -> list[tuple[str, int]]:
    found = []
    for line in LINE.finditer(body):
        letter = LETTER.search(body, line.start(), line.end())
        if letter is not None:
            found.append((letter.group(0), letter.start()))
    return found


def _readings(rules: AcrosticRules, letters: str) -> list[int]:
    """For each start, the farthest end of a reading as words with a content word, or -1."""
    n = len(letters)
    far_any = list(range(n + 1))
    far_content = [-1] * (n + 1)
    for i in range(n - 1, -1, -1):
        for length in range(1, min(rules.longest_word, n - i) + 1):
            piece = letters[i : i + length]
            content = piece in rules.words and piece not in rules.function_words
            if not (content or piece in rules.words or piece in rules.short_words):
                continue
            far_any[i] = max(far_any[i], far_any[i + length])
            far_content[i] = max(
                far_content[i], far_any[i + length] if content else far_content[i + length]
            )
    return far_content


def _long_letters(rules: AcrosticRules, piece: str) -> int:
    """How many letters of ``piece`` its best reading puts in words of four letters or more.

    Chains of "a", "i", "at", "it" read as words too; a reading mostly made of them is chance.
    """
    best = [0] + [-1] * len(piece)
    for k in range(len(piece)):
        if best[k] < 0:
            continue
        for length in range(1, min(rules.longest_word, len(piece) - k) + 1):
            word = piece[k : k + length]
            if word in rules.words:
                best[k + length] = max(best[k + length], best[k] + length)
            elif word in rules.short_words:
                best[k + length] = max(best[k + length], best[k])
    return max(best[-1], 0)


def _spelled(letters: str, wanted: Mapping[str, str], shortest: int) -> list[tuple[int, int, str]]:
    found = []
    for label, word in wanted.items():
        if len(word) < shortest:
            continue
        at = letters.find(word)
        while at >= 0:
            found.append((at, at + len(word), label))
            at = letters.find(word, at + 1)
    return found


def _letters_only(body: str, start: int, end: int, count: int) -> bool:
    return sum(c.isalpha() for c in body[start:end]) == count


def _describe(initials: _Initials, start: int, end: int, what: str) -> str:
    unit = {"line": "lines", "sentence": "sentences", "word": "words"}[initials.unit]
    spelled = initials.letters[start:end].upper()
    return f"The first letters of {end - start} {unit} spell “{spelled}”{what}."


def _hits(
    rules: AcrosticRules, initials: _Initials, watch: Mapping[str, str]
) -> list[tuple[int, int, str, str]]:
    letters, unit = initials.letters, initials.unit
    hits = []
    shortest_term = 4 if unit == "word" else 3
    for start, end, term in _spelled(letters, watch, shortest_term):
        hits.append((start, end, "high", f", which is “{term}” on this case's watch list"))
    shortest_signal = rules.min_letters_words if unit == "word" else rules.min_letters_signal
    signals = {w: w for w in rules.signal_words}
    for start, end, _ in _spelled(letters, signals, shortest_signal):
        hits.append((start, end, "high", ""))
    if unit == "word":
        return hits
    shortest = rules.min_letters_lines if unit == "line" else rules.min_letters_sentences
    far = _readings(rules, letters)
    readings = []
    i = 0
    while i < len(letters):
        end = min(far[i], i + LONGEST_READING)
        if end - i >= shortest and 2 * _long_letters(rules, letters[i:end]) >= end - i:
            readings.append((i, end))
            i = end
        else:
            i += 1
    # A reading that holds a watch-list term or signal word is reported whole, as high:
    # "IWILLFINDYOU" says more than "FINDYOU".
    for start, end in readings:
        inside = [h for h in hits if start <= h[0] and h[1] <= end]
        hits = [h for h in hits if h not in inside]
        hits.append((start, end, "high" if inside else "warning", inside[0][3] if inside else ""))
    return hits


def _units(rules: AcrosticRules, body: str, table: Mapping[int, str]) -> list[_Initials]:
    """The first letters of the lines, the sentences and the words, where there are enough."""
    units = []
    lines = _lines(body)
    if len(lines) >= rules.min_lines:
        units.append(_initials("line", lines, table))
    sentences = [(m.group(1), m.start(1)) for m in SENTENCE_START.finditer(body)]
    if len(sentences) >= rules.min_sentences:
        units.append(_initials("sentence", sentences, table))
    words = [(m.group(0), m.start()) for m in WORD_START.finditer(body)]
    units.append(_initials("word", words, table))
    return units


def acrostic_flags(
    rules: AcrosticRules, body: str, table: Mapping[int, str], watch: Mapping[str, str]
) -> list[Flag]:
    """Acrostics over lines, then sentences, then words; each stretch of text flagged once.

    Args:
        watch: each watch-list term with its plain letters (see ``terms.watch_letters``).
    """
    kept: list[tuple[Flag, str]] = []
    for initials in _units(rules, body, table):
        hits = sorted(_hits(rules, initials, watch), key=lambda h: (h[2] != "high", h[0], -h[1]))
        for start, end, severity, what in hits:
            spelled = initials.letters[start:end]
            first, last = initials.offsets[start], initials.offsets[end - 1] + 1
            if initials.unit == "word" and _letters_only(body, first, last, end - start):
                continue  # spaced-out letters ("M E E T"): a code, flagged as one elsewhere
            if any(
                first < other.end
                and other.start < last
                and (spelled in letters or letters in spelled)
                for other, letters in kept
            ):
                continue
            reason = _describe(initials, start, end, what)
            kept.append((flag("acrostic", severity, body, first, last, reason), spelled))
    return [found for found, _ in kept]
