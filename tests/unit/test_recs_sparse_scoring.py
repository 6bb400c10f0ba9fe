"""Top-n scoring gathers only each customer's candidates: the lists equal a brute-force dense
customers × items scoring on small shops, whatever the block size, in memory that does not grow
with customers × items."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from kaeri.predictions import recommender
from kaeri.predictions.recommender import Interactions, RecommenderConfig


def _shop(seed: int, users: int = 80, items: int = 60, lines: int = 900, tail: float = 1.0) -> Interactions:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1) ** tail
    picked = rng.choice(items, size=lines, p=popularity / popularity.sum())
    who = rng.integers(users, size=lines)
    ages = rng.uniform(0.0, 200.0, size=lines).round(1)
    return Interactions.build(
        [f"u{u:03d}" for u in who],
        [f"i{j:03d}" for j in picked],
        ["purchase"] * lines,
        ages.tolist(),
        [f"o{u}-{int(a // 7)}" for u, a in zip(who, ages, strict=True)],
    )


def _dense_similar(model: recommender.ItemItemModel) -> np.ndarray:
    """History × neighbours for every customer and item, normalised to each row's best (dense)."""
    n_users, n_items = len(model.users), len(model.items)
    s = np.zeros((n_items, n_items))
    for i in range(n_items):
        lo, hi = model.neighbour_ptr[i], model.neighbour_ptr[i + 1]
        s[i, model.neighbour_item[lo:hi]] = model.neighbour_sim[lo:hi]
    w = np.zeros((n_users, n_items))
    for u in range(n_users):
        lo, hi = model.user_ptr[u], model.user_ptr[u + 1]
        w[u, model.user_item[lo:hi]] = model.user_weight[lo:hi]
    sim = w @ s
    peak = sim.max(axis=1, keepdims=True)
    return np.divide(sim, peak, out=np.zeros_like(sim), where=peak > 0)


def _dense_top(total: np.ndarray, n: int) -> np.ndarray:
    """Best n columns per row, ties to the lower item index."""
    return np.array([np.lexsort((np.arange(row.size), -row))[:n] for row in total])


def _dense_fixed_blend(model: recommender.ItemItemModel) -> np.ndarray:
    c = model.config
    sim = _dense_similar(model)
    pop = model.popularity / model.popularity.max()
    total = sim + c.popularity_weight * pop[None, :]
    for u in range(len(model.users)):
        lo, hi = model.user_ptr[u], model.user_ptr[u + 1]
        items, bought = model.user_item[lo:hi], model.user_bought[lo:hi]
        recent = model.user_recent[lo:hi].astype(np.float64)
        share = recent / recent.max()
        rate = model.repeat_rate[items]
        rebuy = (bought >= 2) | ((rate >= c.repeat_rate_threshold) & (bought >= 1))
        term = c.repeat_weight * share * np.maximum(rate, c.repeat_floor)
        total[u, items] += np.where(rebuy, term, 0.0)
        total[u, items[~rebuy]] = -np.inf
    return total


@pytest.mark.parametrize("block_cells", [1, 500, 10_000_000])
def test_fixed_blend_lists_equal_a_dense_scoring_of_every_item(block_cells):
    data = _shop(11)
    model = recommender.fit(data, RecommenderConfig(ranker="fixed", neighbours=8, block_cells=block_cells))
    top, scores, _ = model.recommend_all(10)
    total = _dense_fixed_blend(model)
    expected = _dense_top(total, 10)
    assert np.array_equal(top, expected)
    assert scores == pytest.approx(np.take_along_axis(total, expected, axis=1), rel=1e-5)


@pytest.mark.parametrize("block_cells", [1, 10_000_000])
def test_learned_ranker_lists_equal_dense_scoring_of_its_candidates(block_cells):
    data = _shop(12)
    model = recommender.fit(data, RecommenderConfig(candidates=15, neighbours=8, block_cells=block_cells))
    assert model.ranker is not None
    n_users = len(model.users)
    rows = np.arange(n_users)
    cand = model.candidates(rows)
    # The candidates' "similar" feature is the dense history × neighbours at those items.
    assert cand.similar == pytest.approx(_dense_similar(model)[cand.local_user, cand.item], abs=1e-9)
    # Dense reference: every item scores by popularity far below the ranked candidates.
    pop = model.popularity / model.popularity.max()
    total = np.tile(pop - 1e6, (n_users, 1))
    total[cand.local_user, cand.item] = model.ranker.score(cand.features)
    top, scores, reasons = model.recommend_all(10)
    assert np.array_equal(top, _dense_top(total, 10))
    own = {(u, i) for u, i, f in zip(cand.local_user, cand.item, cand.features[:, 1], strict=True) if f > 0}
    for u in range(n_users):
        for slot in range(10):
            if (u, int(top[u, slot])) in own:
                assert reasons[u, slot] == 1  # a re-buy of the customer's own item


def test_short_candidate_lists_are_filled_with_the_best_sellers_they_do_not_hold():
    # One customer whose candidates cover the most popular items: the fill skips them, no repeats.
    users = ["a", "a", "b", "b", "c", "d", "e", "e", "f"]
    items = ["p1", "p2", "p1", "p3", "p1", "p2", "p4", "p5", "p6"]
    data = Interactions.build(users, items, ["purchase"] * 9, [1.0] * 9, [f"o{n}" for n in range(9)])
    model = recommender.fit(data, RecommenderConfig(ranker="fixed", repeat_rate_threshold=0.0))
    top, scores, _ = model.recommend_all(6)
    for row, srow in zip(top, scores, strict=True):
        shown = [model.items[j] for j, s in zip(row, srow, strict=True) if s > -np.inf]
        assert len(shown) == len(set(shown))
    assert sorted(model.items[j] for j in top[model.users.index("f")]) == sorted(model.items)


def _scoring_peak(items: int) -> tuple[int, int]:
    # The accumulation scratch is capped by block_cells (here 100,000 cells); the rest is gathered.
    config = RecommenderConfig(block_cells=100_000)
    model = recommender.fit(_shop(13, users=300, items=items, lines=3000, tail=0.0), config)
    tracemalloc.start()
    model.recommend_all(10)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, len(model.items)


def test_scoring_memory_does_not_grow_with_customers_times_items():
    # The same 3,000 purchases by 300 customers spread over ~600 or ~2,800 products: a dense
    # customers × items score matrix would grow 4.6x (to 6.7 MB as float64); the gather does not.
    small, small_items = _scoring_peak(600)
    large, large_items = _scoring_peak(20_000)
    assert large_items > 4 * small_items
    assert large < 1.5 * small
    assert large < 300 * large_items * 8 / 2
