"""Screening measured against the labelled corpus in ``tests/screening/corpus``.

A produced flag is right when a label of the same kind covers at least one of its characters;
a label is found when a flag of its kind overlaps it. Precision and recall are counted per
kind; "ordinary" letters are those with no labels at all, and the share of them with any flag
is the false-alarm rate a reviewer would feel. Used by ``tests/test_screening_corpus.py`` and
by ``scripts/screening-report`` (``make screening-report``).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from shuttle.screening import KINDS, Flag, ScreeningRules, screen

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Label:
    """A flag a careful reviewer would want: its kind and the stretch of text it covers."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Letter:
    """One letter or message of the corpus with what screening should find in it."""

    id: str
    lang: str
    author: str
    body: str
    watch_list: tuple[str, ...]
    unwanted_topics: tuple[str, ...]
    labels: tuple[Label, ...]


@dataclass
class Tally:
    """Counts for one kind of flag."""

    flags: int = 0
    right_flags: int = 0
    labels: int = 0
    found_labels: int = 0
    missed: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.right_flags / self.flags if self.flags else None

    @property
    def recall(self) -> float | None:
        return self.found_labels / self.labels if self.labels else None


@dataclass
class Report:
    """The whole measurement: per kind, and over the ordinary letters."""

    letters: int
    welsh: int
    tallies: dict[str, Tally]
    ordinary: int
    ordinary_flagged: list[str]

    @property
    def ordinary_flagged_share(self) -> float:
        return len(self.ordinary_flagged) / self.ordinary if self.ordinary else 0.0


def _label(letter_id: str, body: str, entry: dict[str, object]) -> Label:
    kind, text = str(entry["kind"]), str(entry["text"])
    if kind not in KINDS:
        raise ValueError(f"{letter_id}: unknown kind {kind!r}")
    start = body.find(text)
    if start < 0:
        raise ValueError(f"{letter_id}: labelled text {text!r} is not in the body")
    end = start + len(text)
    if "through" in entry:
        last = str(entry["through"])
        if body.find(last, start) < 0:
            raise ValueError(f"{letter_id}: labelled text {last!r} is not in the body")
        end = body.find(last, start) + len(last)
    return Label(kind, start, end)


def load_corpus(folder: Path = CORPUS) -> list[Letter]:
    """Every letter of the corpus, its labels placed in its body."""
    letters = []
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as handle:
            entries = tomllib.load(handle)["letter"]
        for entry in entries:
            body = entry["body"]
            letters.append(
                Letter(
                    id=entry["id"],
                    lang=entry["lang"],
                    author=entry["author"],
                    body=body,
                    watch_list=tuple(entry.get("watch_list", ())),
                    unwanted_topics=tuple(entry.get("unwanted_topics", ())),
                    labels=tuple(_label(entry["id"], body, e) for e in entry["expect"]),
                )
            )
    ids = [letter.id for letter in letters]
    if len(ids) != len(set(ids)):
        raise ValueError("corpus ids must be unique")
    return letters


def flags_for(rules: ScreeningRules, letter: Letter) -> list[Flag]:
    """What screening says about ``letter``, given its case's watch list and wishes."""
    return screen(
        letter.body,
        rules,
        watch_list=letter.watch_list,
        unwanted_topics=letter.unwanted_topics,
        author_role=letter.author,
    )


def _overlap(flag: Flag, label: Label) -> bool:
    return flag.kind == label.kind and flag.start < label.end and label.start < flag.end


def evaluate(rules: ScreeningRules, letters: list[Letter]) -> Report:
    """Screen every letter and count right and wrong flags, found and missed labels."""
    tallies = {kind: Tally() for kind in KINDS}
    ordinary, ordinary_flagged = 0, []
    for letter in letters:
        flags = flags_for(rules, letter)
        if not letter.labels:
            ordinary += 1
            if flags:
                ordinary_flagged.append(letter.id)
        for flag in flags:
            tally = tallies[flag.kind]
            tally.flags += 1
            if any(_overlap(flag, label) for label in letter.labels):
                tally.right_flags += 1
            else:
                tally.wrong.append(f"{letter.id}: {flag.excerpt!r}")
        for label in letter.labels:
            tally = tallies[label.kind]
            tally.labels += 1
            if any(_overlap(flag, label) for flag in flags):
                tally.found_labels += 1
            else:
                tally.missed.append(f"{letter.id}: {letter.body[label.start : label.end]!r}")
    welsh = sum(1 for letter in letters if letter.lang == "cy")
    return Report(len(letters), welsh, tallies, ordinary, ordinary_flagged)


def _ratio(value: float | None) -> str:
    return "   -" if value is None else f"{value:.2f}"


def render(report: Report, *, details: bool = True) -> str:
    """The report as text for a terminal."""
    lines = [
        f"Screening corpus: {report.letters} letters ({report.welsh} in Welsh), "
        f"{report.ordinary} ordinary.",
        "",
        f"{'kind':<22}{'labels':>7}{'flags':>7}{'precision':>11}{'recall':>8}",
    ]
    for kind, tally in report.tallies.items():
        lines.append(
            f"{kind:<22}{tally.labels:>7}{tally.flags:>7}"
            f"{_ratio(tally.precision):>11}{_ratio(tally.recall):>8}"
        )
    share = report.ordinary_flagged_share
    lines += [
        "",
        f"Ordinary letters flagged at all: {len(report.ordinary_flagged)} of {report.ordinary} "
        f"({share:.1%}; the bar is at most 1 in 20, 5.0%).",
    ]
    if details:
        for kind, tally in report.tallies.items():
            for missed in tally.missed:
                lines.append(f"  missed {kind}: {missed}")
            for wrong in tally.wrong:
                lines.append(f"  wrong  {kind}: {wrong}")
        for letter_id in report.ordinary_flagged:
            lines.append(f"  ordinary letter flagged: {letter_id}")
    return "\n".join(lines)
