"""The report's F2 chart: a cumulative share never falls, and no two cohorts share a colour."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from kaeri.analytics.customers import Buyer, f2_curve
from kaeri.analytics.report import f2_curves_svg

AS_OF = datetime(2025, 4, 1, tzinfo=UTC)


def buyer(n: int, first: datetime, again_after_days: int | None) -> Buyer:
    second = first + timedelta(days=again_after_days) if again_after_days is not None else None
    return Buyer(f"c{n}", first, second, 1 if second is None else 2, 100.0, second or first, None)


def test_a_cohort_whose_latest_buyers_are_not_yet_eligible_stops_instead_of_falling():
    early = datetime(2025, 1, 1, tzinfo=UTC)
    # Two early buyers never came back; two buyers of 20 days ago came back within days. Judged only on
    # the buyers eligible at each day, the share would drop from 50% to 0% after day 20.
    late = AS_OF - timedelta(days=20)
    group = [buyer(0, early, None), buyer(1, early, None), buyer(2, late, 2), buyer(3, late, 3)]
    points = f2_curve(group, AS_OF)
    values = [v for _, v in points]
    assert values == sorted(values), "a cumulative rate never falls"
    assert points[-1][0] == 20  # the last day all four buyers have been observed for
    assert points[-1][1] == 0.5


def test_twelve_cohorts_get_twelve_colours():
    curves = {f"2025-{m:02d}": [(0, 0.0), (5, 0.1)] for m in range(1, 13)}
    svg = f2_curves_svg(curves)
    colours = re.findall(r'<polyline points="[^"]*" fill="none" stroke="([^"]+)"', svg)
    assert len(colours) == 12 and len(set(colours)) == 12
