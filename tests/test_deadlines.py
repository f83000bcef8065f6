"""The one-month right-of-access deadline, as the ICO counts it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shuttle.deadlines import add_months, due_by
from shuttle.policies import DisclosureRules, load_policies
from shuttle.settings import PROJECT_ROOT

RULES = DisclosureRules("Europe/London", 2, frozenset({date(2026, 12, 25), date(2026, 12, 28)}))


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 9, 3, 10, tzinfo=UTC), date(2026, 10, 5)),  # 3 Oct 2026 is a Saturday
        (datetime(2027, 1, 31, 12, tzinfo=UTC), date(2027, 3, 1)),  # no 31 Feb; 28th a Sunday
        (datetime(2028, 1, 31, 12, tzinfo=UTC), date(2028, 2, 29)),  # leap year
        (
            datetime(2026, 11, 25, 9, tzinfo=UTC),
            date(2026, 12, 29),
        ),  # 25th holiday, 26/27 weekend, 28th holiday
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), date(2026, 8, 3)),  # 00:30 on 1 July in London
    ],
)
def test_due_by_examples(received: datetime, due: date) -> None:
    """Day of receipt is day one; corresponding date next month; next working day."""
    deadline = due_by(received, RULES)
    assert deadline.astimezone(UTC).tzinfo is not None
    from zoneinfo import ZoneInfo

    assert deadline.astimezone(ZoneInfo("Europe/London")).date() == due


def test_ico_example_three_september() -> None:
    """The ICO's own example: received 3 September, due 3 October (a working day in 2025)."""
    assert due_by(datetime(2025, 9, 3, 9, tzinfo=UTC), RULES).date() == date(2025, 10, 3)


def test_extension_adds_two_months() -> None:
    """A complex request may be extended by two further months."""
    assert due_by(datetime(2027, 3, 1, tzinfo=UTC), RULES, extended=True).date() == date(2027, 6, 1)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    """Months are added by calendar, clamped to the month's last day."""
    assert add_months(day, months) == expected


def test_shipped_policy_has_holidays() -> None:
    """The shipped policy names England and Wales bank holidays for the coming years."""
    rules = load_policies(PROJECT_ROOT / "policies").disclosure
    assert date(2026, 12, 25) in rules.public_holidays
    assert rules.timezone == "Europe/London"
