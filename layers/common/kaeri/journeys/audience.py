"""Which index reads return a scheduled scenario's audience (never a table scan).

The plan is derived from the trigger and the audience: a profile date uses `by_birthday` or
`by_points_expiry`; a days-since-last-order range uses `by_last_order` (with a churn band,
`by_churn_risk`); points held use `by_points_expiry`; `any` unions its branches. Only when nothing
narrows the audience does the plan read the shop's profiles through `by_shop`. The exact audience is
evaluated on each profile read, so the plan may be wider than the audience, never narrower.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from kaeri.clock import iso
from kaeri.scenarios import model as m
from kaeri.scenarios.timing import zone


@dataclass(frozen=True)
class IndexRead:
    index: str
    partition: tuple[str, str]  # attribute, value
    sort: tuple[str, str, str] | None = None  # attribute, low, high (inclusive)

    def describe(self) -> str:
        text = f"{self.index} {self.partition[0]}={self.partition[1]}"
        if self.sort:
            text += f" {self.sort[0]} in [{self.sort[1]}, {self.sort[2]}]"
        return text


def _days_range(days: m.Range, now: datetime) -> tuple[str, str]:
    """days_since_last_order bounds -> last_order_at bounds (inclusive; exact bounds are re-checked)."""
    low_days = days.gt if days.gt is not None else days.gte if days.gte is not None else days.eq
    high_days = days.lt if days.lt is not None else days.lte if days.lte is not None else days.eq
    latest = iso(now - timedelta(days=low_days)) if low_days is not None else "~"
    earliest = iso(now - timedelta(days=high_days)) if high_days is not None else ""
    return earliest, latest


def _parts(condition: m.Condition) -> list[m.Condition]:
    return list(condition.all) if isinstance(condition, m.All) else [condition]


def _plan_condition(condition: m.Condition | None, shop_id: str, now: datetime) -> list[IndexRead] | None:
    if condition is None:
        return None
    if isinstance(condition, m.AnyOf):
        plans = [_plan_condition(c, shop_id, now) for c in condition.any]
        if any(p is None for p in plans):
            return None
        return [read for plan in plans for read in plan or []]
    parts = _parts(condition)
    days = next((p.days_since_last_order for p in parts if isinstance(p, m.DaysSinceLastOrder)), None)
    churn = next((p.churn_risk for p in parts if isinstance(p, m.ChurnRiskIs)), None)
    points = next((p.points_balance for p in parts if isinstance(p, m.PointsBalance)), None)
    order_range = _days_range(days, now) if days else None
    if churn:
        return [
            IndexRead(
                "by_churn_risk",
                ("churn_key", f"{shop_id}#{band}"),
                ("last_order_at", *order_range) if order_range else None,
            )
            for band in churn
        ]
    if order_range:
        return [IndexRead("by_last_order", ("buyer_shop", shop_id), ("last_order_at", *order_range))]
    if points and not points.holds(0):
        return [IndexRead("by_points_expiry", ("points_shop", shop_id))]
    for part in parts:
        if isinstance(part, m.All):
            nested = _plan_condition(part, shop_id, now)
            if nested is not None:
                return nested
    return None


def target_date(trigger: m.DateTrigger, now: datetime) -> date:
    return now.astimezone(zone(trigger.timezone)).date() + timedelta(days=trigger.days_before)


def plan(scenario: m.Scenario, shop_id: str, now: datetime) -> list[IndexRead]:
    trigger = scenario.trigger
    if trigger.date:
        day = target_date(trigger.date, now)
        if trigger.date.date == "birthday":
            keys = [day.strftime("%m-%d")]
            if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
                keys.append("02-29")  # leap-day birthdays are celebrated on the 28th
            return [IndexRead("by_birthday", ("birthday_key", f"{shop_id}#{k}")) for k in keys]
        text = day.isoformat()
        return [
            IndexRead("by_points_expiry", ("points_shop", shop_id), ("points_expire_on", text, text + "~"))
        ]
    return _plan_condition(scenario.audience, shop_id, now) or [IndexRead("by_shop", ("shop_id", shop_id))]


def date_matches(scenario: m.Scenario, profile_date: date | None, now: datetime) -> bool:
    """Re-check a date trigger on the profile read (the index key is only a day)."""
    trigger = scenario.trigger.date
    if trigger is None:
        return True
    if profile_date is None:
        return False
    day = target_date(trigger, now)
    if trigger.date == "birthday":
        if (profile_date.month, profile_date.day) == (day.month, day.day):
            return True
        return (
            (profile_date.month, profile_date.day) == (2, 29)
            and (day.month, day.day) == (2, 28)
            and not calendar.isleap(day.year)
        )
    return profile_date == day
