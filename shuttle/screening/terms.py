"""Words to look for: the case's watch list, the recipients' unwanted topics, and the phrase
and pattern lists of ``policies/screening`` (threats, minimising, blaming, and a deployment's
own patterns).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shuttle.screening.flags import KINDS, SEVERITIES, Flag, ScreeningPolicyError, Text, flag
from shuttle.screening.fold import fold, phrase_pattern, plain_letters, topic_pattern

MAX_VARIANTS = 16
# Words in front of a topic that say nothing about it: "my brother" is about "brother".
TOPIC_LEAD_WORDS = frozenset(
    {"the", "a", "an", "my", "his", "her", "their", "our", "your", "about", "any", "anything"}
    | {"of", "on", "mention", "talk", "hearing"}
)


@dataclass(frozen=True)
class PhraseRule:
    """One block of ``[[phrases]]``: what to look for, for whose writing, and what to say."""

    kind: str
    severity: str
    reason: str
    authors: frozenset[str] | None
    by_first_word: Mapping[str, re.Pattern[str]]
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class PatternRule:
    """One block of ``[[patterns]]``: a regular expression run on the text as written."""

    kind: str
    severity: str
    reason: str
    regex: re.Pattern[str]


def _described(block: Mapping[str, Any], where: str) -> tuple[str, str, str]:
    kind, severity, reason = block.get("kind"), block.get("severity"), block.get("reason")
    if kind not in KINDS:
        raise ScreeningPolicyError(f"screening {where}: unknown kind {kind!r}")
    if severity not in SEVERITIES:
        raise ScreeningPolicyError(f"screening {where}: severity must be one of {SEVERITIES}")
    if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
        raise ScreeningPolicyError(f"screening {where}: reason must be one line of text")
    return str(kind), str(severity), reason.strip()


def _regex(source: Any, where: str) -> re.Pattern[str]:
    if not isinstance(source, str):
        raise ScreeningPolicyError(f"screening {where}: a pattern must be a string")
    try:
        return re.compile(source)
    except re.error as exc:
        raise ScreeningPolicyError(f"screening {where}: bad regular expression: {exc}") from exc


def _swaps(contractions: Mapping[str, str]) -> list[tuple[re.Pattern[str], str]]:
    """Each full form with its contraction, and each contraction with its full form."""
    swaps = []
    for full, short in contractions.items():
        for old, new in ((full, short), (short, full)):
            swaps.append((re.compile(rf"(?<![a-z']){re.escape(old)}(?![a-z'])"), new))
    return swaps


def _variants(phrase: str, swaps: list[tuple[re.Pattern[str], str]]) -> set[str]:
    """``phrase`` in every mix of full and contracted forms ("i will" / "i'll")."""
    variants = {phrase}
    for pattern, new in swaps:
        for variant in list(variants):
            if len(variants) < MAX_VARIANTS and pattern.search(variant):
                variants.add(pattern.sub(new, variant))
    return variants


def compile_phrases(raw: Mapping[str, Any], table: Mapping[int, str]) -> tuple[PhraseRule, ...]:
    """The ``[[phrases]]`` blocks, each indexed by the first word of its phrases."""
    swaps = _swaps(
        {fold(k, table): fold(str(v), table) for k, v in dict(raw.get("contractions", {})).items()}
    )
    rules = []
    for number, block in enumerate(raw.get("phrases", []), start=1):
        where = f"[[phrases]] block {number}"
        kind, severity, reason = _described(block, where)
        phrases = block.get("phrases", [])
        if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
            raise ScreeningPolicyError(f"screening {where}: phrases must be a list of strings")
        grouped: dict[str, list[str]] = {}
        for phrase in phrases:
            for variant in _variants(" ".join(fold(phrase, table).split()), swaps):
                first = variant.split()[0].replace("'", "")
                grouped.setdefault(first, []).append(variant)
        authors = block.get("authors")
        rules.append(
            PhraseRule(
                kind=kind,
                severity=severity,
                reason=reason,
                authors=frozenset(authors) if authors is not None else None,
                by_first_word={
                    word: re.compile(phrase_pattern(group, table))
                    for word, group in grouped.items()
                },
                patterns=tuple(_regex(p, where) for p in block.get("patterns", [])),
            )
        )
    return tuple(rules)


def compile_patterns(raw: Mapping[str, Any]) -> tuple[PatternRule, ...]:
    """The ``[[patterns]]`` blocks."""
    rules = []
    for number, block in enumerate(raw.get("patterns", []), start=1):
        where = f"[[patterns]] block {number}"
        kind, severity, reason = _described(block, where)
        rules.append(PatternRule(kind, severity, reason, _regex(block.get("regex"), where)))
    return tuple(rules)


def phrase_flags(
    rules: Iterable[PhraseRule], text: Text, author_role: str | None
) -> Iterator[Flag]:
    """Every phrase of the lists found in the text (matched in its folded form)."""
    for rule in rules:
        if rule.authors is not None and author_role is not None and author_role not in rule.authors:
            continue
        wildcard = rule.by_first_word.get("*")
        if wildcard is None:
            firsts = rule.by_first_word.keys() & text.places.keys()
            starts = sorted((start, word) for word in firsts for start in text.places[word])
        else:
            starts = [(start, word) for start, _, word in text.words]
        for start, word in starts:
            for pattern in (rule.by_first_word.get(word), wildcard):
                match = pattern.match(text.folded, start) if pattern is not None else None
                if match is not None:
                    yield flag(rule.kind, rule.severity, text.body, start, match.end(), rule.reason)
                    break
        for pattern in rule.patterns:
            for match in pattern.finditer(text.folded):
                yield flag(rule.kind, rule.severity, text.body, *match.span(), rule.reason)


def pattern_flags(rules: Iterable[PatternRule], body: str) -> Iterator[Flag]:
    """Every match of a deployment's extra patterns."""
    for rule in rules:
        for match in rule.regex.finditer(body):
            if match.end() > match.start():
                yield flag(rule.kind, rule.severity, body, *match.span(), rule.reason)


def _disguised(excerpt: str, term: str) -> bool:
    written = " ".join(excerpt.lower().split())
    plain = " ".join(term.lower().split())
    return written not in (plain, plain + "s", plain + "'s", plain + "\u2019s")


def watch_list_flags(
    patterns: Mapping[str, re.Pattern[str] | None], body: str, folded: str
) -> Iterator[Flag]:
    """Each place a watch-list term appears, however it is spelled or spaced."""
    for term, pattern in patterns.items():
        if pattern is None:
            continue
        for match in pattern.finditer(folded):
            excerpt = body[match.start() : match.end()]
            if _disguised(excerpt, term):
                reason = f"“{term}” from this case's watch list, written in a disguised way."
            else:
                reason = f"“{term}” is on this case's watch list."
            yield flag("watch_list", "high", body, *match.span(), reason)


def topic_flags(
    topics: Iterable[str], table: Mapping[int, str], body: str, folded: str
) -> Iterator[Flag]:
    """Each mention of a topic a recipient asked not to hear about."""
    for topic in dict.fromkeys(topics):
        source = topic_pattern(topic, table, TOPIC_LEAD_WORDS)
        if source is None:
            continue
        for match in re.finditer(source, folded):
            reason = f"A recipient asked not to hear about “{topic}”."
            yield flag("unwanted_topic", "warning", body, *match.span(), reason)


def watch_letters(terms: Iterable[str], table: Mapping[int, str]) -> dict[str, str]:
    """Each watch-list term with only its plain letters, for acrostics: "St Ives" -> "stives"."""
    return {term: "".join(c for c in plain_letters(term, table) if c.isalpha()) for term in terms}
