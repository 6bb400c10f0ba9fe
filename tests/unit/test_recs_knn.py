"""The stacked item-kNN (`knn_neighbours` > 0): a BM25 item-kNN's score joins the learned ranker's
features. Its score equals a brute-force dense computation, whatever the block size; the ranker
learns and names the two extra features; off (the default) they are absent."""

from __future__ import annotations

import numpy as np
import pytest

from kaeri.predictions import recommender
from kaeri.predictions.recommender import FEATURES, KNN_FEATURES, Interactions, RecommenderConfig
from tests.unit.test_recs_sparse_scoring import _shop as sparse_shop


def _shop(seed: int) -> Interactions:
    return sparse_shop(seed, users=70, items=40, lines=800)


def _counts(model: recommender.ItemItemModel) -> np.ndarray:
    """Distinct purchase occasions per customer × item (dense)."""
    c = np.zeros((len(model.users), len(model.items)))
    for u in range(len(model.users)):
        lo, hi = model.user_ptr[u], model.user_ptr[u + 1]
        c[u, model.user_item[lo:hi]] = model.user_bought[lo:hi]
    return c


def _dense_bm25(counts: np.ndarray, k1: float, b: float) -> np.ndarray:
    """BM25 with items as documents and customers as terms, written out densely."""
    present = counts > 0
    per_user = present.sum(axis=1)
    active = max(int(present.any(axis=0).sum()), 1)
    idf = np.maximum(np.log1p(active) - np.log1p(per_user), 0.0)[:, None]
    length = counts.sum(axis=0)
    avg = length[length > 0].mean()
    tf = counts * (k1 + 1.0) / (counts + k1 * (1.0 - b + b * length / avg)[None, :])
    return np.where(present, tf * idf, 0.0)


@pytest.mark.parametrize("block_cells", [1, 10_000_000])
def test_the_stacked_knn_score_equals_counts_times_the_bm25_dot_products(block_cells):
    config = RecommenderConfig(knn_neighbours=1000, candidates=10, neighbours=8, block_cells=block_cells)
    model = recommender.fit(_shop(21), config)
    counts = _counts(model)
    w = _dense_bm25(counts, config.knn_k1, config.knn_b)
    expected = counts @ (w.T @ w)  # every item its own neighbour too: re-buys score
    rows = np.arange(len(model.users))
    cand = model.candidates(rows)
    keys = cand.local_user * len(model.items) + cand.item
    assert model._knn(rows, keys) == pytest.approx(expected[cand.local_user, cand.item], rel=1e-5)
    assert cand.features[:, len(FEATURES)] == pytest.approx(
        np.log1p(expected[cand.local_user, cand.item]), rel=1e-5
    )
    own = cand.features[:, 1] > 0
    assert np.all(cand.features[own, len(FEATURES) + 1] == 0)
    assert cand.features[~own, len(FEATURES) + 1] == pytest.approx(cand.similar[~own])


def test_each_item_keeps_its_k_largest_dot_products_and_is_its_own_neighbour():
    model = recommender.fit(_shop(22), RecommenderConfig(knn_neighbours=5))
    counts = _counts(model)
    w = _dense_bm25(counts, 2.0, 0.5)
    dots = w.T @ w
    for i in range(len(model.items)):
        lo, hi = model.knn_ptr[i], model.knn_ptr[i + 1]
        kept = model.knn_sim[lo:hi]
        assert hi - lo == min(5, int((dots[i] > 0).sum()))
        assert kept == pytest.approx(np.sort(dots[i])[::-1][: hi - lo], rel=1e-5)
    wide = recommender.fit(_shop(22), RecommenderConfig(knn_neighbours=1000))
    for i in np.flatnonzero(counts.sum(axis=0) > 0):
        assert i in wide.knn_item[wide.knn_ptr[i] : wide.knn_ptr[i + 1]].tolist()  # its own neighbour


def test_the_ranker_learns_and_names_the_stacked_features_by_default_and_off_they_are_absent():
    data = _shop(23)
    on = recommender.fit(data, RecommenderConfig())  # on by default (20 neighbours, the search's winner)
    assert on.knn_sim.size > 0 and on.ranker is not None
    assert list(on.ranker.weights()) == ["intercept", *FEATURES, *KNN_FEATURES]
    top, scores, _ = on.recommend_all(10)
    assert np.all(np.isfinite(scores)) and all(len(set(row)) == 10 for row in top.tolist())
    off = recommender.fit(data, RecommenderConfig(knn_neighbours=0))
    assert off.knn_sim.size == 0 and off.ranker is not None
    assert list(off.ranker.weights()) == ["intercept", *FEATURES]
    assert off.candidates(np.arange(len(off.users))).features.shape[1] == len(FEATURES)


def test_bad_stacked_knn_settings_are_refused():
    with pytest.raises(ValueError, match="knn_neighbours"):
        RecommenderConfig(knn_neighbours=-1)
    with pytest.raises(ValueError, match="knn_b"):
        RecommenderConfig(knn_b=1.5)
    with pytest.raises(ValueError, match="knn_k1"):
        RecommenderConfig(knn_k1=0.0)
