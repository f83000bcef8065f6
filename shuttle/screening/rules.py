"""Screening rules as data: every ``*.toml`` in ``policies/screening``, joined and compiled once.

Files are read in name order. A list that appears in several files is joined, a table is
merged, and a single value is taken from the last file that gives it: so a deployment adds its
own words, phrases and patterns by adding a file beside ours, without editing ours.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuttle.screening.acrostics import AcrosticRules, compile_acrostics
from shuttle.screening.contact import ContactRules, compile_contact
from shuttle.screening.flags import ScreeningPolicyError
from shuttle.screening.fold import fold_table, term_pattern
from shuttle.screening.terms import PatternRule, PhraseRule, compile_patterns, compile_phrases

KNOWN_KEYS = frozenset(
    {
        "top_level_domains",
        "mail_providers",
        "social_platforms",
        "street_types",
        "street_types_alone",
        "street_types_before",
        "street_types_before_alone",
        "number_words",
        "number_modifiers",
        "lookalikes",
        "contractions",
        "phrases",
        "patterns",
        "word_files",
        "short_words",
        "function_words",
        "signal_words",
        "min_lines",
        "min_sentences",
        "min_letters_lines",
        "min_letters_sentences",
        "min_letters_signal",
        "min_letters_words",
    }
)
TERM_CACHE_SIZE = 4096


@dataclass(frozen=True)
class ScreeningRules:
    """Everything screening needs, validated and compiled at start-up."""

    fold_table: Mapping[int, str]
    contact: ContactRules
    acrostics: AcrosticRules
    phrases: tuple[PhraseRule, ...]
    patterns: tuple[PatternRule, ...]
    _term_cache: dict[tuple[str, bool], re.Pattern[str] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def term_pattern(self, term: str, *, welsh: bool) -> re.Pattern[str] | None:
        """The compiled pattern for a watch-list term (kept: the same terms come back)."""
        key = (term, welsh)
        if key not in self._term_cache:
            if len(self._term_cache) >= TERM_CACHE_SIZE:
                self._term_cache.clear()
            self._term_cache[key] = term_pattern(term, self.fold_table, welsh=welsh)
        return self._term_cache[key]


def _merge(into: dict[str, Any], more: Mapping[str, Any], where: Path) -> None:
    for key, value in more.items():
        if key not in KNOWN_KEYS:
            raise ScreeningPolicyError(f"screening policy {where.name}: unknown setting {key!r}")
        if isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            merged = dict(into[key])
            for name, entry in value.items():
                old = merged.get(name)
                merged[name] = old + entry if isinstance(old, list) else entry
            into[key] = merged
        else:
            into[key] = value


def load_screening_rules(directory: Path) -> ScreeningRules:
    """Read, validate and compile every screening policy file in ``directory``.

    Raises:
        ScreeningPolicyError: naming the file or setting and what is wrong with it.
    """
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise ScreeningPolicyError(f"screening policy folder {directory} has no .toml files")
    raw: dict[str, Any] = {}
    for path in files:
        try:
            with path.open("rb") as handle:
                _merge(raw, tomllib.load(handle), path)
        except tomllib.TOMLDecodeError as exc:
            raise ScreeningPolicyError(
                f"screening policy {path.name} is not valid TOML: {exc}"
            ) from exc
    lookalikes = dict(raw.get("lookalikes", {}))
    if any(len(k) != 1 or not ("a" <= k <= "z") for k in lookalikes):
        raise ScreeningPolicyError("screening: lookalikes keys must be single letters a to z")
    table = fold_table({k: str(v) for k, v in lookalikes.items()})
    return ScreeningRules(
        fold_table=table,
        contact=compile_contact(raw),
        acrostics=compile_acrostics(raw, directory),
        phrases=compile_phrases(raw, table),
        patterns=compile_patterns(raw),
    )
