"""All KPIs of one dataset in one object, and its JSON form (what `kaeri kpis --json` prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kaeri.analytics import customers as c
from kaeri.analytics.attribution import Funnel, ScenarioResult, scenarios
from kaeri.analytics.records import Dataset


@dataclass
class Kpis:
    as_of: datetime
    since: datetime | None
    buyers: int
    orders: int
    revenue: float
    f2: c.F2Row
    f2_by_cohort: list[c.F2Row]
    f2_by_category: list[c.F2Row]
    f2_curves: dict[str, list[tuple[int, float]]]  # cohort -> (day, share)
    repeat_rate: c.Rate
    orders_per_customer: float | None
    rfm: dict[str, int]
    scenarios: dict[str, ScenarioResult] = field(default_factory=dict)
    attributed_revenue: float = 0.0


def compute(data: Dataset, since: datetime | None = None) -> Kpis:
    as_of = data.end() or datetime.now(UTC)
    orders = data.valid_orders()
    all_buyers = c.buyers(orders)
    cohorts = c.f2_by_cohort(all_buyers, as_of)
    groups: dict[str, list[c.Buyer]] = {}
    for b in all_buyers:
        groups.setdefault(b.first_at.strftime("%Y-%m"), []).append(b)
    by_scenario = scenarios(data)
    return Kpis(
        as_of=as_of,
        since=since,
        buyers=len(all_buyers),
        orders=len(orders),
        revenue=sum(o.revenue for o in orders),
        f2=c.f2_row("overall", all_buyers, as_of),
        f2_by_cohort=cohorts,
        f2_by_category=c.f2_by_category(all_buyers, as_of),
        f2_curves={k: c.f2_curve(g, as_of) for k, g in sorted(groups.items())},
        repeat_rate=c.repeat_rate(all_buyers),
        orders_per_customer=c.orders_per_customer(all_buyers),
        rfm=c.rfm_segments(all_buyers, as_of),
        scenarios=by_scenario,
        attributed_revenue=sum(s.funnel.revenue for s in by_scenario.values()),
    )


def _rate(rate: c.Rate) -> dict[str, Any]:
    return {"rate": _round(rate.value), "repeaters": rate.numerator, "eligible": rate.denominator}


def _row(row: c.F2Row) -> dict[str, Any]:
    return {"key": row.key, "buyers": row.buyers, **{f"f2_{d}d": _rate(r) for d, r in row.rates.items()}}


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _funnel(f: Funnel, scenario_level: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scenario_level:
        out |= {"entered": f.entered, "holdout": f.holdout}
    return out | {
        "sent": f.sent,
        "sent_by_channel": dict(sorted(f.sent_by_channel.items())),
        "skipped": f.skipped,
        "skipped_by_reason": dict(sorted(f.skipped_by_reason.items())),
        "failed": f.failed,
        "delivered": f.delivered,
        "opened": f.opened,
        "clicked": f.clicked,
        "bounced": f.bounced,
        "complained": f.complained,
        "converted": f.converted,
        "orders": f.orders,
        "revenue": round(f.revenue, 2),
    }


def to_json(k: Kpis) -> dict[str, Any]:
    scenarios_json = {}
    for sid, s in k.scenarios.items():
        lift = s.lift
        scenarios_json[sid] = _funnel(s.funnel, True) | {
            "lift": _round(lift.difference),
            "lift_low": _round(lift.low),
            "lift_high": _round(lift.high),
            "lift_method": lift.method,
            "treatment": {"converted": lift.treatment_converted, "journeys": lift.treatment_n},
            "holdout_arm": {"converted": lift.holdout_converted, "journeys": lift.holdout_n},
            "steps": {step: _funnel(f, False) for step, f in s.steps.items()},
        }
    return {
        "as_of": k.as_of.isoformat(),
        "since": k.since.isoformat() if k.since else None,
        "buyers": k.buyers,
        "orders": k.orders,
        "revenue": round(k.revenue, 2),
        "f2_rate_30d": _round(k.f2.rates[30].value),
        "f2_rate_60d": _round(k.f2.rates[60].value),
        "f2_rate_90d": _round(k.f2.rates[90].value),
        "f2": _row(k.f2),
        "f2_by_cohort": [_row(r) for r in k.f2_by_cohort],
        "f2_by_category": [_row(r) for r in k.f2_by_category],
        "repeat_rate": _round(k.repeat_rate.value),
        "orders_per_customer": _round(k.orders_per_customer),
        "rfm": k.rfm,
        "attributed_revenue": round(k.attributed_revenue, 2),
        "scenarios": scenarios_json,
    }
