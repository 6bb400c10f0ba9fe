"""The learned ranker: it learns from the shop's own last weeks what comes back, and sees no label early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from kaeri.predictions import recommender
from kaeri.predictions.recommender import (
    InteractionAggregate,
    Interactions,
    RecommenderConfig,
    feature_names,
)

Row = tuple[str, str, float, str]  # customer, item, age in days, order id


def _shop(rebuy: bool, seed: int = 5) -> list[Row]:
    """Six groups of 12 products, 25 customers per group, one order every 15 days.

    rebuy=True: over 240 days, each customer keeps re-ordering the same three staples of their group.
    rebuy=False: over 120 days, each customer orders a product twice (5 days apart), then moves on
    to another product of the group and never orders the earlier ones again (8 of the 12 at most).
    """
    rng = np.random.default_rng(seed)
    rows: list[Row] = []
    for group in range(6):
        products = [f"g{group}p{p:02d}" for p in range(12)]
        for c in range(25):
            customer = f"g{group}c{c:02d}"
            offset = float(rng.integers(0, 15))
            order = list(rng.permutation(products))
            staples = order[:3]
            span = 240.0 if rebuy else 120.0
            for n, age in enumerate(np.arange(span - offset, 0.0, -15.0)):
                if rebuy:
                    rows += [(customer, p, float(age), f"{customer}-{n}") for p in staples]
                else:
                    product = order[n]
                    rows.append((customer, product, float(age), f"{customer}-{n}a"))
                    if age > 5.0:
                        rows.append((customer, product, float(age) - 5.0, f"{customer}-{n}b"))
    return rows


def _fit(rows: list[Row], **config) -> recommender.ItemItemModel:
    users, items, ages, orders = zip(*rows, strict=True)
    data = Interactions.build(users, items, ["purchase"] * len(rows), ages, orders)
    return recommender.fit(data, RecommenderConfig(**config))


def _top(model: recommender.ItemItemModel, user: str, n: int) -> list[str]:
    top, scores, _ = model.recommend_rows(np.array([model.users.index(user)]), n)
    return [model.items[j] for j, s in zip(top[0], scores[0], strict=True) if np.isfinite(s)]


def _own(rows: list[Row], user: str) -> set[str]:
    return {item for u, item, _, _ in rows if u == user}


def test_where_customers_re_order_their_staples_the_ranker_puts_them_first():
    rows = _shop(rebuy=True)
    model = _fit(rows)
    assert model.ranker is not None  # learned from the last 30 days, not the fixed blend
    for user in ("g0c00", "g3c07", "g5c24"):
        assert set(_top(model, user, 3)) == _own(rows, user)


def test_where_finished_products_never_come_back_the_ranker_learns_it_and_the_fixed_blend_does_not():
    rows = _shop(rebuy=False)
    learned, fixed = _fit(rows), _fit(rows, ranker="fixed")
    assert learned.ranker is not None
    for user in ("g1c03", "g4c11"):
        own, group = _own(rows, user), user[:2]
        top = _top(learned, user, 3)
        assert not own & set(top)  # what they finished is not offered again
        assert all(item.startswith(group) for item in top)  # their group's products they lack
        # The fixed rule re-offers anything bought twice: the same data, the opposite list.
        assert own & set(_top(fixed, user, 3))


def test_the_ranker_is_trained_only_on_history_before_its_label_window(monkeypatch):
    rows = _shop(rebuy=True)
    # A product everyone buys only inside the label window: a leak would make "own" predict it.
    late = [(u, "late_hit", 2.0, f"{u}-late") for u in sorted({r[0] for r in rows})]
    spied: list[recommender.Pairs] = []
    original = recommender.learn_ranker

    def spy(before, labels, config):
        spied.append(before)
        return original(before, labels, config)

    monkeypatch.setattr(recommender, "learn_ranker", spy)
    model = _fit(rows + late)
    (before,) = spied
    late_index = before.items.index("late_hit")
    assert not np.any(before.item == late_index)  # the window's purchases are labels, not features
    assert before.last_age is not None and before.last_age.min() >= 0.0
    assert model.ranker is not None and model.ranker.trained_positives > 0


def test_aggregate_with_an_earlier_snapshot_learns_the_same_ranker_as_the_events():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    rows = _shop(rebuy=True, seed=9)
    events = _fit(rows)

    def aggregate(kept: list[Row], at: datetime) -> InteractionAggregate:
        count: dict[tuple[str, str], set[str]] = {}
        last: dict[tuple[str, str], float] = {}
        for user, item, age, order in kept:
            count.setdefault((user, item), set()).add(order)
            last[(user, item)] = min(last.get((user, item), np.inf), age)
        keys = sorted(count)
        return InteractionAggregate(
            customer_id=[u for u, _ in keys],
            product_id=[i for _, i in keys],
            kind=["order"] * len(keys),
            count=[len(count[k]) for k in keys],
            last_at=[at - timedelta(days=last[k]) for k in keys],
        )

    window = RecommenderConfig().label_window_days
    before = aggregate([(u, i, a, o) for u, i, a, o in rows if a >= window], now)
    from_agg = recommender.fit_aggregate(aggregate(rows, now), now, before=before)
    assert from_agg.ranker is not None and events.ranker is not None
    assert from_agg.ranker.trained_positives == events.ranker.trained_positives
    # The aggregate decays a pair's orders at its latest one, the events each at its own date: close, not equal.
    np.testing.assert_allclose(from_agg.ranker.coef, events.ranker.coef, atol=0.01)
    for a, b in zip(from_agg.recommend_all(3)[0], events.recommend_all(3)[0], strict=True):
        assert set(a.tolist()) == set(b.tolist())
    assert recommender.fit_aggregate(aggregate(rows, now), now).ranker is None  # no snapshot: fixed


def test_too_little_in_the_window_falls_back_to_the_fixed_blend():
    rows = [("u1", "a", 40.0, "o1"), ("u1", "b", 40.0, "o1"), ("u2", "a", 1.0, "o2")]
    model = _fit(rows)
    assert model.ranker is None
    assert _top(model, "u2", 1) == ["b"]


def test_ranker_weights_name_every_feature_and_bad_settings_are_refused():
    model = _fit(_shop(rebuy=True))
    assert model.ranker is not None
    assert list(model.ranker.weights()) == ["intercept", *feature_names(RecommenderConfig())]
    with pytest.raises(ValueError, match="ranker"):
        RecommenderConfig(ranker="magic")
    with pytest.raises(ValueError, match="label_window_days"):
        RecommenderConfig(label_window_days=0)
