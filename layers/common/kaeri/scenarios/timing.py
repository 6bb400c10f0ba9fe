"""Local-time arithmetic for waits, time windows and quiet hours (pure; UTC in, UTC out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kaeri.scenarios.model import hhmm_minutes


def zone(name: str | None, fallback: str = "Asia/Tokyo") -> ZoneInfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (KeyError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_window(moment: datetime, tz: ZoneInfo, start: str, end: str) -> bool:
    """Is the local time of `moment` inside [start, end)? Windows may wrap midnight."""
    local = moment.astimezone(tz)
    minute = local.hour * 60 + local.minute
    lo, hi = hhmm_minutes(start), hhmm_minutes(end)
    if lo < hi:
        return lo <= minute < hi
    return minute >= lo or minute < hi


def next_in_window(moment: datetime, tz: ZoneInfo, start: str, end: str) -> datetime:
    """The earliest time at or after `moment` whose local time lies in [start, end).

    Handles DST: a start that does not exist on a day (spring forward) resolves to the first
    local minute after the gap that is inside the window.
    """
    moment = moment.astimezone(UTC)
    if in_window(moment, tz, start, end):
        return moment
    hours, minutes = divmod(hhmm_minutes(start), 60)
    local_day = moment.astimezone(tz).date()
    for offset in range(0, 3):
        day = local_day + timedelta(days=offset)
        for fold in (0, 1):
            candidate = datetime(
                day.year, day.month, day.day, hours, minutes, tzinfo=tz, fold=fold
            ).astimezone(UTC)
            if candidate >= moment and in_window(candidate, tz, start, end):
                return candidate
    step = moment.replace(second=0, microsecond=0)
    for _ in range(4 * 48):
        step += timedelta(minutes=15)
        if in_window(step, tz, start, end):
            return step
    return moment


def defer_past_quiet_hours(moment: datetime, tz: ZoneInfo, quiet_start: str, quiet_end: str) -> datetime:
    """`moment` if it is outside quiet hours, else the moment quiet hours end (never dropped)."""
    return next_in_window(moment, tz, quiet_end, quiet_start)


def local_date_key(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d")


def next_local_midnight(moment: datetime, tz: ZoneInfo) -> datetime:
    day = moment.astimezone(tz).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
