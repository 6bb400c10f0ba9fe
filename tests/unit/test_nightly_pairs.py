"""The nightly job's columnar path from the SQL aggregate (a pyarrow Table) to the recommender's pairs:
the same pairs as the recommender's own aggregate input, whatever order the rows come in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from kaeri.predictions import nightly, recommender
from kaeri.predictions.recommender import InteractionAggregate, RecommenderConfig

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _aggregate(rows: int, seed: int) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    return {
        "customer_id": [f"c{n}" for n in rng.integers(0, 50, rows)],
        "product_id": [f"p{n}" for n in rng.integers(0, 30, rows)],
        "kind": [str(k) for k in rng.choice(["view", "cart", "order"], rows)],
        "count": [int(n) for n in rng.integers(1, 5, rows)],
        # Naive UTC, as DuckDB returns TIMESTAMP columns.
        "last_at": [NOW.replace(tzinfo=None) - timedelta(days=float(d)) for d in rng.uniform(0, 300, rows)],
    }


def _by_name(pairs: recommender.Pairs) -> dict[tuple[str, str], tuple[float, float, int]]:
    return {
        (pairs.users[u], pairs.items[i]): (w, r, b)
        for u, i, w, r, b in zip(
            pairs.user.tolist(),
            pairs.item.tolist(),
            pairs.weight.tolist(),
            pairs.recent.tolist(),
            pairs.bought.tolist(),
            strict=True,
        )
    }


def test_pairs_from_the_arrow_table_equal_the_recommenders_aggregate_pairs():
    columns = _aggregate(400, seed=3)
    config = RecommenderConfig(half_life_days=45.0, repeat_half_life_days=200.0)
    expected = recommender.pairs_from_aggregate(
        InteractionAggregate(**{**columns, "last_at": [t.replace(tzinfo=UTC) for t in columns["last_at"]]}),
        NOW,
        config,
    )
    got = nightly.pairs_from_table(pa.table(columns), NOW, config)
    assert got.users == expected.users and got.items == expected.items  # both in name order
    want, have = _by_name(expected), _by_name(got)
    assert have.keys() == want.keys()
    for key, (weight, recent, bought) in want.items():
        assert have[key][0] == pytest.approx(weight, rel=1e-9)
        assert have[key][1] == pytest.approx(recent, rel=1e-9)
        assert have[key][2] == bought  # distinct orders of that product by that customer


def test_row_order_does_not_change_the_pairs_or_the_model():
    table = pa.table(_aggregate(300, seed=5))
    shuffled = table.take(pa.array(np.random.default_rng(1).permutation(table.num_rows)))
    a = nightly.pairs_from_table(table, NOW, RecommenderConfig())
    b = nightly.pairs_from_table(shuffled, NOW, RecommenderConfig())
    assert a.users == b.users and a.items == b.items
    np.testing.assert_array_equal(a.user, b.user)
    np.testing.assert_array_equal(a.item, b.item)
    np.testing.assert_allclose(a.weight, b.weight)
    top_a = recommender.fit_pairs(a, RecommenderConfig()).recommend_all(5)[0]
    top_b = recommender.fit_pairs(b, RecommenderConfig()).recommend_all(5)[0]
    np.testing.assert_array_equal(top_a, top_b)


def test_an_unknown_kind_or_a_negative_count_is_refused_by_name():
    row = {"customer_id": ["c"], "product_id": ["p"], "count": [1], "last_at": [NOW]}
    with pytest.raises(ValueError, match="'wishlist'"):
        nightly.pairs_from_table(pa.table({**row, "kind": ["wishlist"]}), NOW, RecommenderConfig())
    with pytest.raises(ValueError, match="non-negative"):
        nightly.pairs_from_table(pa.table({**row, "kind": ["view"], "count": [-1]}), NOW, RecommenderConfig())
