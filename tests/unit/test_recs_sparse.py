"""The sparse item-item recommender: top-k neighbours exactly as a brute-force cosine would pick them,
in bounded memory (no items × items matrix), deterministic, and the same from the archive's aggregate."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from kaeri.predictions import recommender
from kaeri.predictions.recommender import InteractionAggregate, Interactions, RecommenderConfig

FLAT = {"weighting": "none", "half_life_days": 1e9}  # plain cosine of binary purchase vectors


def _purchases(rows: list[tuple[str, str]], **config) -> recommender.ItemItemModel:
    users, items = zip(*rows, strict=True)
    data = Interactions.build(users, items, ["purchase"] * len(rows), [0.0] * len(rows), None)
    return recommender.fit(data, RecommenderConfig(**config))


def test_neighbours_are_the_known_top_k_by_cosine():
    # a & b share two buyers, a & c one; d shares none: cos(a,b)=2/√6, cos(a,c)=1/√3, cos(b,c)=0.
    rows = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "b"), ("u3", "a"), ("u3", "c"), ("u4", "d")]
    model = _purchases(rows, neighbours=1, **FLAT)
    assert model.neighbours("a") == [("b", pytest.approx(2 / np.sqrt(6), rel=1e-6))]
    assert [n for n, _ in model.neighbours("b")] == ["a"]
    assert [n for n, _ in model.neighbours("c")] == ["a"]
    assert model.neighbours("d") == []  # no co-buyer: no neighbour stored, not a zero entry
    wide = _purchases(rows, neighbours=5, **FLAT)
    assert [n for n, _ in wide.neighbours("a")] == ["b", "c"]  # sorted, self and zeros left out


def _random_shop(seed: int, users: int = 60, items: int = 40, lines: int = 400) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1)  # long tail
    picked = rng.choice(items, size=lines, p=popularity / popularity.sum())
    return [(f"u{rng.integers(users)}", f"i{j:03d}") for j in picked]


@pytest.mark.parametrize("block_cells", [1, 37, 10_000_000])
def test_blocked_sparse_neighbours_equal_brute_force_cosine(block_cells):
    rows = _random_shop(3)
    k = 5
    model = _purchases(rows, neighbours=k, block_cells=block_cells, **FLAT)
    # Brute force on the toy only: dense user × item matrix of log1p(purchase count), full cosine.
    u = {name: i for i, name in enumerate(model.users)}
    x = np.zeros((len(model.users), len(model.items)))
    for user, item in rows:
        x[u[user], model.items.index(item)] += 1.0
    x = np.log1p(x)
    norms = np.linalg.norm(x, axis=0)
    cos = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(cos, 0.0)
    for i, item in enumerate(model.items):
        got = model.neighbours(item)
        expected = np.sort(cos[i][cos[i] > 0])[::-1][:k]
        assert [s for _, s in got] == pytest.approx(expected.tolist(), rel=1e-5)
        for name, s in got:
            assert cos[i, model.items.index(name)] == pytest.approx(s, rel=1e-5)


def test_fit_is_deterministic_and_independent_of_block_size():
    rows = _random_shop(11)
    a = _purchases(rows, block_cells=50)
    b = _purchases(rows, block_cells=50)
    c = _purchases(rows, block_cells=5_000_000)
    for other in (b, c):
        assert np.array_equal(a.neighbour_ptr, other.neighbour_ptr)
        assert np.array_equal(a.neighbour_item, other.neighbour_item)
        np.testing.assert_allclose(a.neighbour_sim, other.neighbour_sim, rtol=1e-6)
    assert np.array_equal(a.recommend_all(5)[0], b.recommend_all(5)[0])


def test_memory_grows_with_interactions_not_with_the_catalogue_squared():
    # 6,000 products, 12,000 interactions: a dense 6,000² float32 matrix alone would be 144 MB.
    rows = [(f"u{n // 3}", f"p{(n * 7) % 6000}") for n in range(6000)]
    rows += [(f"v{n // 4}", f"p{(n * 11) % 6000}") for n in range(6000)]
    users, items = zip(*rows, strict=True)
    data = Interactions.build(users, items, ["purchase"] * len(rows), [1.0] * len(rows), None)
    config = RecommenderConfig(block_cells=200_000)
    tracemalloc.start()
    model = recommender.fit(data, config)
    model.recommend_all(10)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(model.items) == 6000
    assert peak < 20 * 2**20  # bytes; the scratch is block_cells-sized, not items²
    stored = sum(v.nbytes for v in vars(model).values() if isinstance(v, np.ndarray))
    assert stored < 6000 * 6000  # the model itself holds no items × items array
    assert all(np.diff(model.neighbour_ptr) <= config.neighbours)


def test_aggregate_input_gives_the_same_model_as_the_events_it_summarises():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    events = [("u1", "a", 3.0), ("u1", "b", 3.0), ("u2", "a", 10.0), ("u2", "b", 10.0), ("u3", "a", 1.0)]
    events += [("u3", "c", 1.0), ("u3", "c", 1.0)]  # c twice on the same day in two orders
    users, items, ages = zip(*events, strict=True)
    baskets = [f"o{n}" for n in range(len(events))]
    from_events = recommender.fit(Interactions.build(users, items, ["purchase"] * len(events), ages, baskets))
    agg = InteractionAggregate(
        customer_id=["u1", "u1", "u2", "u2", "u3", "u3"],
        product_id=["a", "b", "a", "b", "a", "c"],
        kind=["order", "order", "order", "order", "order", "order"],
        count=[1, 1, 1, 1, 1, 2],
        last_at=[now - timedelta(days=d) for d in (3, 3, 10, 10, 1)]
        + [(now - timedelta(days=1)).isoformat()],
    )
    from_agg = recommender.fit_aggregate(agg, now)
    assert from_agg.items == from_events.items and from_agg.users == from_events.users
    for item in from_agg.items:
        got, expected = from_agg.neighbours(item), from_events.neighbours(item)
        assert [n for n, _ in got] == [n for n, _ in expected]
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-6)
    np.testing.assert_array_equal(from_agg.user_bought, from_events.user_bought)  # re-buy counts agree
    np.testing.assert_allclose(from_agg.user_weight, from_events.user_weight, rtol=1e-6)


def test_aggregate_rejects_unknown_kinds_and_negative_counts():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    bad_kind = InteractionAggregate(["u"], ["a"], ["wishlist"], [1], [now])
    with pytest.raises(ValueError, match="wishlist"):
        recommender.fit_aggregate(bad_kind, now)
    negative = InteractionAggregate(["u"], ["a"], ["view"], [-1], [now])
    with pytest.raises(ValueError, match="non-negative"):
        recommender.fit_aggregate(negative, now)
    rows = InteractionAggregate.from_rows(
        [{"customer_id": "u", "product_id": "a", "kind": "cart", "count": 2, "last_at": now.timestamp()}]
    )
    assert recommender.fit_aggregate(rows, now).popular(1)[0][0] == "a"


def test_config_rejects_an_unknown_weighting():
    with pytest.raises(ValueError, match="weighting"):
        RecommenderConfig(weighting="magic")
