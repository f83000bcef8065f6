"""The one-month right-of-access deadline, counted as the UK regulator (ICO) describes."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shuttle.policies import DisclosureRules


def add_months(day: date, months: int) -> date:
    """The corresponding date ``months`` later, or that month's last day if there is none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_working_day(day: date, holidays: frozenset[date]) -> date:
    """``day`` itself if it is a working day, else the next one."""
    while day.weekday() >= 5 or day in holidays:
        day += timedelta(days=1)
    return day


def decision_due(submitted: datetime, rules: DisclosureRules, working_days: int) -> datetime:
    """When an item sent for checking should be decided: the end of the ``working_days``-th
    working day after the day it was sent (policies/vetting.toml), in UTC."""
    zone = ZoneInfo(rules.timezone)
    day = submitted.astimezone(zone).date()
    for _ in range(working_days):
        day = next_working_day(day + timedelta(days=1), rules.public_holidays)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
    return end.astimezone(ZoneInfo("UTC"))


def local_day(moment: datetime, rules: DisclosureRules) -> date:
    """The calendar day of ``moment`` in the service's time zone."""
    return moment.astimezone(ZoneInfo(rules.timezone)).date()


def due_by(
    received: datetime,
    rules: DisclosureRules,
    *,
    extended: bool = False,
    extra_months: int | None = None,
) -> datetime:
    """The end of the last day to respond, in UTC.

    The day of receipt counts as day one (in the service's time zone, whatever the hour);
    the answer is due on the corresponding date of the next month (plus the extension, if
    the request is complex or one of many: ``extra_months``, or with ``extended`` the most
    the policy allows), moved to the next working day if that is a weekend or holiday.
    """
    zone = ZoneInfo(rules.timezone)
    local_day = received.astimezone(zone).date()
    if extra_months is None:
        extra_months = rules.extension_months if extended else 0
    months = 1 + extra_months
    last = next_working_day(add_months(local_day, months), rules.public_holidays)
    end = datetime.combine(last, time(23, 59, 59), tzinfo=zone)
    return end.astimezone(ZoneInfo("UTC"))
