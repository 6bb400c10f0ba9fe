"""Quiet hours and local windows: examples and properties across timezones with DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from kaeri.scenarios.timing import defer_past_quiet_hours, in_window, next_in_window

TOKYO = ZoneInfo("Asia/Tokyo")
ZONES = ["Asia/Tokyo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"]


def test_a_send_due_at_23_tokyo_moves_to_09_next_morning():
    due = datetime(2026, 6, 1, 23, 0, tzinfo=TOKYO)
    assert defer_past_quiet_hours(due, TOKYO, "21:00", "09:00") == datetime(2026, 6, 2, 9, 0, tzinfo=TOKYO)


def test_early_morning_moves_to_the_same_days_end_of_quiet_hours():
    due = datetime(2026, 6, 1, 6, 30, tzinfo=TOKYO)
    assert defer_past_quiet_hours(due, TOKYO, "21:00", "09:00") == datetime(2026, 6, 1, 9, 0, tzinfo=TOKYO)


def test_outside_quiet_hours_nothing_moves():
    due = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)
    assert defer_past_quiet_hours(due, TOKYO, "21:00", "09:00") == due


def test_window_start_inside_a_dst_gap_resolves_after_the_gap():
    ny = ZoneInfo("America/New_York")
    before = datetime(2026, 3, 8, 1, 0, tzinfo=ny)  # clocks jump 02:00 -> 03:00
    got = next_in_window(before, ny, "02:30", "04:00")
    assert in_window(got, ny, "02:30", "04:00") and got >= before
    assert got - before <= timedelta(hours=3)


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
hhmm = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@settings(max_examples=300, deadline=None)
@given(moments, st.sampled_from(ZONES), hhmm, hhmm)
def test_deferral_lands_outside_quiet_hours_soon_and_never_earlier(moment, zone_name, start, end):
    if start == end:
        return
    tz = ZoneInfo(zone_name)
    got = defer_past_quiet_hours(moment, tz, start, end)
    assert got >= moment
    assert not in_window(got, tz, start, end)
    assert got - moment <= timedelta(hours=25)
    if not in_window(moment, tz, start, end):
        assert got == moment


@settings(max_examples=300, deadline=None)
@given(moments, st.sampled_from(ZONES), hhmm, hhmm)
def test_next_in_window_is_the_earliest_quarter_hour_inside(moment, zone_name, start, end):
    if start == end:
        return
    tz = ZoneInfo(zone_name)
    moment = moment.replace(second=0, microsecond=0, minute=moment.minute // 15 * 15)
    got = next_in_window(moment, tz, start, end)
    assert in_window(got, tz, start, end)
    probe = moment
    while probe < got:  # nothing earlier (on the quarter-hour grid) was inside the window
        assert not in_window(probe, tz, start, end)
        probe += timedelta(minutes=15)
