"""Customer KPIs: F2 conversion (overall, by cohort, by category), repeat rate, orders per customer, RFM.

F2 within N days: among first-time buyers whose first order is at least N days before the end of the
period (so every one of them could have been seen ordering again), the share whose second order came
at most N days after the first. Buyers with less history are left out of that N, never counted as
non-repeaters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from kaeri.analytics.records import Order

F2_HORIZONS = (30, 60, 90)


@dataclass(frozen=True)
class Buyer:
    customer_id: str
    first_at: datetime
    second_at: datetime | None
    orders: int
    revenue: float
    last_at: datetime
    first_category: str | None


@dataclass(frozen=True)
class Rate:
    """numerator / denominator, with the rate None when nobody is eligible."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass
class F2Row:
    key: str  # overall, "2011-01" or a category
    buyers: int
    rates: dict[int, Rate] = field(default_factory=dict)  # horizon days -> rate


def buyers(orders: list[Order]) -> list[Buyer]:
    """One Buyer per customer from valid orders (pass Dataset.valid_orders())."""
    by_customer: dict[str, list[Order]] = defaultdict(list)
    for order in orders:
        by_customer[order.customer_id].append(order)
    result = []
    for customer_id, own in by_customer.items():
        own.sort(key=attrgetter("at", "order_id"))  # orders at the same moment: by id, as the SQL
        result.append(
            Buyer(
                customer_id=customer_id,
                first_at=own[0].at,
                second_at=own[1].at if len(own) > 1 else None,
                orders=len(own),
                revenue=sum(o.revenue for o in own),
                last_at=own[-1].at,
                first_category=own[0].primary_category,
            )
        )
    result.sort(key=lambda b: (b.first_at, b.customer_id))
    return result


def f2_rate(group: list[Buyer], days: int, as_of: datetime) -> Rate:
    eligible = [b for b in group if b.first_at + timedelta(days=days) <= as_of]
    repeat = [
        b for b in eligible if b.second_at is not None and b.second_at - b.first_at <= timedelta(days=days)
    ]
    return Rate(len(repeat), len(eligible))


def f2_row(key: str, group: list[Buyer], as_of: datetime, horizons: tuple[int, ...] = F2_HORIZONS) -> F2Row:
    return F2Row(key=key, buyers=len(group), rates={d: f2_rate(group, d, as_of) for d in horizons})


def f2_by_cohort(all_buyers: list[Buyer], as_of: datetime) -> list[F2Row]:
    """Cohorts are the calendar month (UTC) of the first order."""
    groups: dict[str, list[Buyer]] = defaultdict(list)
    for b in all_buyers:
        groups[b.first_at.strftime("%Y-%m")].append(b)
    return [f2_row(k, groups[k], as_of) for k in sorted(groups)]


def f2_by_category(all_buyers: list[Buyer], as_of: datetime) -> list[F2Row]:
    """Category of the first order: the category with the most spend in it ("(none)" when unknown)."""
    groups: dict[str, list[Buyer]] = defaultdict(list)
    for b in all_buyers:
        groups[b.first_category or "(none)"].append(b)
    rows = [f2_row(k, groups[k], as_of) for k in groups]
    rows.sort(key=lambda r: (-r.buyers, r.key))
    return rows


def f2_curve(
    group: list[Buyer], as_of: datetime, max_days: int = 90, step: int = 5
) -> list[tuple[int, float]]:
    """(day, share who ordered again within that many days), cumulative over the whole cohort.

    The line stops at the last day every buyer of the cohort has been observed for: past it the share
    would be of a shrinking subset (the cohort's latest buyers not yet eligible) and could fall, which a
    cumulative rate never does.
    """
    points = []
    for days in range(0, max_days + 1, step):
        rate = f2_rate(group, days, as_of)
        if rate.value is None or rate.denominator < len(group):
            break
        points.append((days, rate.value))
    return points


def repeat_rate(all_buyers: list[Buyer]) -> Rate:
    """Share of buyers with two or more valid orders in the period."""
    return Rate(sum(1 for b in all_buyers if b.orders >= 2), len(all_buyers))


def orders_per_customer(all_buyers: list[Buyer]) -> float | None:
    return sum(b.orders for b in all_buyers) / len(all_buyers) if all_buyers else None


# --- RFM -----------------------------------------------------------------------------------------

FREQUENCY_BANDS = ((6, 5), (4, 4), (3, 3), (2, 2), (1, 1))  # orders at least -> score

RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "at_risk",
    "hibernating",
    "needs_attention",
)


def quintile_scores(values: dict[str, float]) -> dict[str, int]:
    """Score 1..5 by rank: the lowest fifth scores 1. Equal values share the score of their first rank."""
    ordered = sorted(values.items(), key=lambda kv: kv[1])
    n = len(ordered)
    scores: dict[str, int] = {}
    first_rank: dict[float, int] = {}
    for rank, (key, value) in enumerate(ordered):
        r = first_rank.setdefault(value, rank)
        scores[key] = 1 + (5 * r) // n
    return scores


def rfm_score(all_buyers: list[Buyer], as_of: datetime) -> dict[str, tuple[int, int, int]]:
    """customer -> (R, F, M). R: quintile of recency (most recent scores 5); F: fixed order-count
    bands (1, 2, 3, 4-5, 6+ orders -> 1..5); M: quintile of revenue."""
    recency = {b.customer_id: -(as_of - b.last_at).total_seconds() for b in all_buyers}
    monetary = {b.customer_id: b.revenue for b in all_buyers}
    r_scores = quintile_scores(recency)
    m_scores = quintile_scores(monetary)
    result = {}
    for b in all_buyers:
        f = next(score for least, score in FREQUENCY_BANDS if b.orders >= least)
        result[b.customer_id] = (r_scores[b.customer_id], f, m_scores[b.customer_id])
    return result


def rfm_segment(r: int, f: int, m: int) -> str:
    if r >= 4 and f >= 4:
        return "champions"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4 and f >= 2:
        return "potential_loyalists"
    if r >= 4:
        return "new"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "needs_attention"


def rfm_segments(all_buyers: list[Buyer], as_of: datetime) -> dict[str, int]:
    sizes = dict.fromkeys(RFM_SEGMENTS, 0)
    for r, f, m in rfm_score(all_buyers, as_of).values():
        sizes[rfm_segment(r, f, m)] += 1
    return sizes
