"""EventBridge Scheduler cron expressions: the one validator (the scenario model, the CLI and the
local scheduler all parse through Cron.parse) and their evaluation in a timezone.

AWS cron has six fields: minutes hours day-of-month month day-of-week year. Day-of-week runs 1-7 for
SUN-SAT (names allowed); one of day-of-month and day-of-week must be '?'. Supported: '*', ',', '-',
'/', '?', 'L' (last day of month; 'nL' last weekday n of month), 'n#k' (k-th weekday n), 'nW'
(weekday nearest day n), month and day names.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
MAX_YEARS = 8  # how far ahead to look before deciding an expression never fires again


class ScheduleExpressionError(ValueError):
    """A cron (or rate/at) expression EventBridge Scheduler would refuse; the message says why."""


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None, what: str = "") -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, raw_step = part.split("/", 1)
            if not raw_step.isdigit() or int(raw_step) == 0:
                raise ScheduleExpressionError(f"bad step in {what} field: {field!r}")
            step = int(raw_step)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _number(a, names, what), _number(b, names, what)
        else:
            start = _number(part, names, what)
            end = high if step > 1 else start
        if not (low <= start <= high and low <= end <= high):
            raise ScheduleExpressionError(f"{what} field {field!r} is out of range {low}-{high}")
        if start <= end:
            out.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            span = list(range(start, high + 1)) + list(range(low, end + 1))
            out.update(span[::step])
    return out


def _number(text: str, names: dict[str, int] | None, what: str) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleExpressionError(
            f"{what} field: {text!r} is not a number" + (" or name" if names else "")
        )
    return int(text)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str
    months: frozenset[int]
    dow: str
    years: frozenset[int] | None

    @classmethod
    def parse(cls, body: str) -> Cron:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(
                f"'{body}' needs 6 fields: minutes hours day-of-month month day-of-week year (got {len(fields)})"
            )
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError("one of day-of-month and day-of-week must be '?' (exactly one)")
        cron = cls(
            frozenset(_values(minute, 0, 59, what="minutes")),
            frozenset(_values(hour, 0, 23, what="hours")),
            dom.upper(),
            frozenset(_values(month, 1, 12, MONTHS, "month")),
            dow.upper(),
            None if year == "*" else frozenset(_values(year, 1970, 2199, what="year")),
        )
        cron.day_matches(date(2025, 1, 1))  # validates the day fields
        return cron

    def day_matches(self, day: date) -> bool:
        if self.dom != "?":
            return _dom_matches(self.dom, day)
        return _dow_matches(self.dow, day)

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first firing strictly after `after` (aware), as an aware UTC datetime."""
        local = after.astimezone(tz)
        day = local.date()
        last = day.replace(year=min(day.year + MAX_YEARS, 9998))
        while day <= last:
            if (
                (self.years is None or day.year in self.years)
                and day.month in self.months
                and self.day_matches(day)
            ):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != candidate.replace(
                            tzinfo=None
                        ):
                            continue  # a local time skipped by a DST change
                        if candidate.astimezone(UTC) > after.astimezone(UTC):
                            return candidate.astimezone(UTC)
            day += timedelta(days=1)
        return None


def _dom_matches(spec: str, day: date) -> bool:
    last_day = calendar.monthrange(day.year, day.month)[1]
    if spec == "*":
        return True
    if spec == "L":
        return day.day == last_day
    if spec.endswith("W") and spec[:-1].isdigit():
        target = min(int(spec[:-1]), last_day)
        nearest = date(day.year, day.month, target)
        if nearest.weekday() == 5:  # Saturday -> Friday, unless that leaves the month
            nearest = nearest - timedelta(days=1) if target > 1 else nearest + timedelta(days=2)
        elif nearest.weekday() == 6:
            nearest = nearest + timedelta(days=1) if target < last_day else nearest - timedelta(days=2)
        return day == nearest
    return day.day in _values(spec, 1, 31, what="day-of-month")


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday=0 in Python; SUN=1 .. SAT=7 in AWS cron


def _dow_matches(spec: str, day: date) -> bool:
    weekday = _aws_weekday(day)
    if spec == "*":
        return True
    if "#" in spec:
        name, nth = spec.split("#", 1)
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleExpressionError(f"day-of-week {spec!r}: use n#k with k in 1-5")
        return weekday == _number(name, DAYS, "day-of-week") and (day.day - 1) // 7 + 1 == int(nth)
    if spec.endswith("L") and len(spec) > 1:
        target = _number(spec[:-1], DAYS, "day-of-week")
        return weekday == target and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    if spec == "L":
        return weekday == 7
    return weekday in _values(spec, 1, 7, DAYS, "day-of-week")
