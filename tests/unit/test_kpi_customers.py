"""F2 conversion, cohorts, categories, repeat rate and RFM on a fixture worked out by hand."""

from datetime import UTC, datetime

import pytest

from kaeri.analytics import customers as c
from kaeri.analytics.records import Dataset, Order
from kaeri.analytics.summary import compute, to_json

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)


def at(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 12, tzinfo=UTC)


def order(customer: str, n: int, when: datetime, category: str, value: float = 100.0) -> Order:
    return Order(customer, f"{customer}{n}", when, value, "JPY", ((category, value),))


def fixture() -> Dataset:
    orders = [
        order("a", 1, at(1, 10), "tea"),
        order("a", 2, at(1, 30), "tea"),  # 20 days later
        order("b", 1, at(1, 15), "tea"),
        order("b", 2, at(3, 5), "coffee"),  # 50 days later
        order("c", 1, at(1, 20), "coffee"),
        # d's first order has more coffee than tea by value, so its category is coffee
        Order("d", "d1", at(2, 1), 40.0, "JPY", (("tea", 10.0), ("coffee", 30.0))),
        order("d", 2, at(5, 1), "tea"),  # exactly 90 days later (2024 is a leap year)
        order("e", 1, at(2, 10), "tea"),
        order("e", 2, at(2, 12), "tea"),  # cancelled: does not count
        order("f", 1, at(5, 15), "tea"),
        order("f", 2, at(5, 20), "tea"),  # 5 days later, but f has only 46 days of history
        order("g", 1, at(6, 20), "coffee"),  # 10 days of history
    ]
    return Dataset(orders=orders, cancelled_order_ids={"e2"}, as_of=AS_OF)


def rates(row: c.F2Row) -> dict[int, tuple[int, int]]:
    return {d: (r.numerator, r.denominator) for d, r in row.rates.items()}


def test_f2_overall_counts_only_buyers_with_enough_history():
    buyers = c.buyers(fixture().valid_orders())
    row = c.f2_row("overall", buyers, AS_OF)
    # 30d: a, b, c, d, e, f eligible; a (20 d) and f (5 d) repeat. 60d/90d: f is too young.
    # 60d: a and b repeat; 90d: a, b and d (day 90 exactly) repeat; e's second order was cancelled.
    assert rates(row) == {30: (2, 6), 60: (2, 5), 90: (3, 5)}
    assert row.rates[90].value == pytest.approx(0.6)


def test_f2_by_first_order_month_cohort():
    buyers = c.buyers(fixture().valid_orders())
    table = {r.key: (r.buyers, rates(r)) for r in c.f2_by_cohort(buyers, AS_OF)}
    assert table == {
        "2024-01": (3, {30: (1, 3), 60: (2, 3), 90: (2, 3)}),
        "2024-02": (2, {30: (0, 2), 60: (0, 2), 90: (1, 2)}),
        "2024-05": (1, {30: (1, 1), 60: (0, 0), 90: (0, 0)}),
        "2024-06": (1, {30: (0, 0), 60: (0, 0), 90: (0, 0)}),
    }


def test_f2_by_first_order_category():
    buyers = c.buyers(fixture().valid_orders())
    table = {r.key: (r.buyers, rates(r)) for r in c.f2_by_category(buyers, AS_OF)}
    # tea first: a, b, e, f. coffee first: c, d (by value), g.
    assert table == {
        "tea": (4, {30: (2, 4), 60: (2, 3), 90: (2, 3)}),
        "coffee": (3, {30: (0, 2), 60: (0, 2), 90: (1, 2)}),
    }


def test_repeat_rate_and_orders_per_customer():
    buyers = c.buyers(fixture().valid_orders())
    # a, b, d, f have two valid orders; 11 valid orders over 7 buyers
    assert (c.repeat_rate(buyers).numerator, c.repeat_rate(buyers).denominator) == (4, 7)
    assert c.orders_per_customer(buyers) == pytest.approx(11 / 7)


def test_rfm_scores_and_segments():
    assert c.quintile_scores({"v": 1, "w": 2, "x": 3, "y": 4, "z": 5}) == {
        "v": 1,
        "w": 2,
        "x": 3,
        "y": 4,
        "z": 5,
    }
    assert c.quintile_scores({"x": 7, "y": 7}) == {"x": 1, "y": 1}
    assert c.rfm_segment(5, 5, 1) == "champions"
    assert c.rfm_segment(5, 1, 5) == "new"
    assert c.rfm_segment(1, 3, 3) == "at_risk"
    assert c.rfm_segment(1, 1, 1) == "hibernating"
    buyers = c.buyers(fixture().valid_orders())
    sizes = c.rfm_segments(buyers, AS_OF)
    assert sum(sizes.values()) == 7
    # g ordered last (most recent) once: new; c ordered longest ago once: hibernating
    scores = c.rfm_score(buyers, AS_OF)
    assert scores["g"][:2] == (5, 1) and scores["c"][:2] == (1, 1)


def test_summary_json_carries_the_headline_numbers():
    data = to_json(compute(fixture()))
    assert data["f2_rate_90d"] == pytest.approx(0.6)
    assert data["f2_rate_30d"] == pytest.approx(2 / 6, abs=1e-4)
    assert data["buyers"] == 7 and data["orders"] == 11
    assert [r["key"] for r in data["f2_by_cohort"]] == ["2024-01", "2024-02", "2024-05", "2024-06"]
