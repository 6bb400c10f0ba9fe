"""EventBridge Scheduler expressions: next firing in the schedule's timezone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kaeri_ops.local.cron import ScheduleExpression, ScheduleExpressionError, next_occurrence


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "timezone", "after", "expected"),
    [
        # daily 09:00 Tokyo = 00:00 UTC
        ("cron(0 9 * * ? *)", "Asia/Tokyo", utc(2025, 1, 6, 0, 0), utc(2025, 1, 7, 0, 0)),
        ("cron(0 9 * * ? *)", "Asia/Tokyo", utc(2025, 1, 5, 23, 59), utc(2025, 1, 6, 0, 0)),
        # every 15 minutes
        ("cron(0/15 * * * ? *)", "UTC", utc(2025, 1, 6, 10, 7), utc(2025, 1, 6, 10, 15)),
        # weekdays (MON-FRI) at 10:30 UTC; 2025-01-10 is a Friday
        ("cron(30 10 ? * MON-FRI *)", "UTC", utc(2025, 1, 10, 11, 0), utc(2025, 1, 13, 10, 30)),
        # numeric day of week: 2 = MONDAY
        ("cron(0 0 ? * 2 *)", "UTC", utc(2025, 1, 6, 0, 0), utc(2025, 1, 13, 0, 0)),
        # first of the month, named months
        ("cron(0 3 1 JAN,JUL ? *)", "UTC", utc(2025, 1, 2), utc(2025, 7, 1, 3, 0)),
        # last day of the month (February 2024 is a leap year)
        ("cron(0 0 L * ? *)", "UTC", utc(2024, 2, 1), utc(2024, 2, 29)),
        # second Tuesday
        ("cron(0 12 ? * 3#2 *)", "UTC", utc(2025, 1, 1), utc(2025, 1, 14, 12, 0)),
        # last Friday of the month
        ("cron(0 12 ? * 6L *)", "UTC", utc(2025, 1, 1), utc(2025, 1, 31, 12, 0)),
        # weekday nearest the 1st: 2025-02-01 is a Saturday -> Monday the 3rd
        ("cron(0 0 1W * ? *)", "UTC", utc(2025, 1, 2), utc(2025, 2, 3)),
        # a year field
        ("cron(0 0 1 1 ? 2027)", "UTC", utc(2025, 1, 1), utc(2027, 1, 1)),
        # DST: 02:30 does not exist in New York on 2025-03-09, so the next firing is the day after
        ("cron(30 2 * * ? *)", "America/New_York", utc(2025, 3, 8, 8, 0), utc(2025, 3, 10, 6, 30)),
        ("rate(5 minutes)", "UTC", utc(2025, 1, 6, 9, 0), utc(2025, 1, 6, 9, 5)),
        ("at(2025-01-06T18:00:00)", "Asia/Tokyo", utc(2025, 1, 6), utc(2025, 1, 6, 9, 0)),
        ("at(2025-01-06T18:00:00)", "Asia/Tokyo", utc(2025, 1, 7), None),
    ],
)
def test_next_occurrence(expression, timezone, after, expected):
    assert next_occurrence(expression, after, timezone) == expected


def test_rate_counts_whole_periods_from_its_anchor():
    rate = ScheduleExpression.parse("rate(2 hours)")
    anchor = utc(2025, 1, 6, 9, 10)
    assert rate.next_after(utc(2025, 1, 6, 12, 0), "UTC", anchor=anchor) == utc(2025, 1, 6, 13, 10)


def test_no_future_firing_returns_none():
    assert next_occurrence("cron(0 0 1 1 ? 2024)", utc(2025, 1, 1)) is None


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 * * *)",  # five fields
        "cron(0 9 * * * *)",  # neither day field is '?'
        "cron(61 9 * * ? *)",
        "cron(0 9 ? * FOO *)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "at(tomorrow)",
        "every day",
    ],
)
def test_invalid_expressions_are_rejected_with_a_reason(expression):
    with pytest.raises(ScheduleExpressionError):
        ScheduleExpression.parse(expression)
