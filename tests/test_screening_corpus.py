"""Screening against the labelled corpus (tests/screening): the bars of the screening issue.

``make screening-report`` prints the same measurement in full.
"""

from __future__ import annotations

import pytest

from shuttle.screening import load_screening_rules
from shuttle.settings import PROJECT_ROOT
from tests.screening.evaluate import Report, evaluate, load_corpus, render

MUST_FIND = ("contact_details", "location", "watch_list", "acrostic")


@pytest.fixture(scope="module")
def report() -> Report:
    """The corpus screened with the shipped rules."""
    rules = load_screening_rules(PROJECT_ROOT / "policies" / "screening")
    return evaluate(rules, load_corpus())


def test_corpus_is_big_and_bilingual(report: Report) -> None:
    """At least 150 letters, 20 of them in Welsh, and every kind of flag labelled somewhere."""
    assert report.letters >= 150 and report.welsh >= 20
    assert report.ordinary >= 60
    assert all(tally.labels for tally in report.tallies.values())


@pytest.mark.parametrize("kind", MUST_FIND)
def test_recall_of_what_must_be_found(report: Report, kind: str) -> None:
    """Contact details, places, watch-list terms and acrostics: recall at least 0.95."""
    recall = report.tallies[kind].recall
    assert recall is not None and recall >= 0.95, render(report)


def test_ordinary_letters_are_left_alone(report: Report) -> None:
    """No more than 1 in 20 ordinary letters gets any flag at all."""
    assert report.ordinary_flagged_share <= 1 / 20, render(report)
