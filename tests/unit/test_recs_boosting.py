"""The ranker's boosted trees: they learn interactions a linear score cannot, boost on top of a base
margin, and a ranker with trees still learns each shop's re-buy behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from kaeri.predictions.boosting import fit_trees
from kaeri.predictions.recommender import RecommenderConfig
from tests.unit.test_recs_ranker import _fit, _own, _shop, _top


def _accuracy(margin: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((margin > 0) == (y > 0)))


def test_trees_learn_an_interaction_that_no_linear_score_can():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(4000, 3))
    y = ((x[:, 0] > 0.5) ^ (x[:, 1] > 0.5)).astype(np.float64)  # XOR of two features; the third is noise
    trees = fit_trees(x, y, np.ones(y.size), np.zeros(y.size), trees=40, depth=2, rate=0.3)
    test = rng.uniform(size=(2000, 3))
    truth = ((test[:, 0] > 0.5) ^ (test[:, 1] > 0.5)).astype(np.float64)
    assert _accuracy(trees.score(test), truth) > 0.95
    # The best any linear rule gets on XOR is about a coin toss plus a little.
    z = np.column_stack([np.ones(len(test)), test])
    coef = np.linalg.lstsq(z, 2 * truth - 1, rcond=None)[0]
    assert _accuracy(z @ coef, truth) < 0.7


def test_trees_boost_from_the_base_margin_and_fit_only_what_it_misses():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(3000, 2))
    y = (x[:, 0] > 0.5).astype(np.float64)
    perfect = np.where(y > 0, 8.0, -8.0)  # a base that is already right leaves nearly nothing to fit
    trees = fit_trees(x, y, np.ones(y.size), perfect, trees=10, depth=2, rate=0.3)
    assert np.abs(trees.score(x)).max() < 0.05
    from_zero = fit_trees(x, y, np.ones(y.size), np.zeros(y.size), trees=10, depth=2, rate=0.3)
    assert np.abs(from_zero.score(x)).max() > 1.0


def test_a_ranker_with_trees_still_puts_each_shops_staples_first():
    rows = _shop(rebuy=True)
    model = _fit(rows, ranker_trees=20)
    assert model.ranker is not None and model.ranker.trees is not None
    for user in ("g0c00", "g3c07", "g5c24"):
        assert set(_top(model, user, 3)) == _own(rows, user)


def test_tree_settings_are_checked():
    with pytest.raises(ValueError, match="ranker_trees"):
        RecommenderConfig(ranker_trees=-1)
    with pytest.raises(ValueError, match="ranker_depth"):
        RecommenderConfig(ranker_depth=0)
