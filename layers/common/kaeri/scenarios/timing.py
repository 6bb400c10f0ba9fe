"""Durations, and local-time arithmetic for waits, time windows and quiet hours (pure; UTC in, UTC out)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta:
    """The one duration syntax (scenarios, frequency caps, `kaeri clock advance`, the local stack).

    Whole numbers of weeks, days, hours, minutes and seconds, largest unit first: ``30m``, ``2h``,
    ``1d12h``, ``1w``, ``90s``; or ISO 8601 with the same units: ``PT2H``, ``P1DT2H``, ``P1W``.
    Case does not matter; zero (``0m``) is allowed; fractions (``1.5h``), negative values, spaces
    and units out of order are not. docs/scenarios.md ("Durations") states the same rules.
    """
    raw = text.strip().upper() if isinstance(text, str) else ""
    found = _SHORT.match(raw.lower()) or (_ISO.match(raw) if raw not in ("P", "PT") else None)
    if not raw or not found or not any(found.groups()):
        raise ValueError(f"'{text}' is not a duration like 30m, 1h, 2d or 1d12h")
    return timedelta(
        seconds=sum(int(n) * u for n, u in zip(found.groups(), _UNITS.values(), strict=True) if n)
    )


def hhmm_minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


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
