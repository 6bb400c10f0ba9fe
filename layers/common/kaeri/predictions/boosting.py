"""Gradient-boosted regression trees for the recommender's ranker (numpy only, logistic loss).

Histogram boosting: every feature is cut at (at most) `bins - 1` quantile edges of the training rows;
each tree grows level by level to `depth`, every node taking the (feature, edge) split of largest
second-order gain (XGBoost's G² / (H + λ) form); leaves hold −G / (H + λ) × learning rate. The trees
boost on top of a base margin (the learned linear ranker's score), so they fit what a linear model
over the features misses: interactions such as "own item × recently bought × re-buyable".
Training cost is (trees × depth) histogram passes over rows × features; scoring is trees × depth
gathers per candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Trees:
    """Complete binary trees in level order: internal node 2**d - 1 + p at depth d, position p."""

    feature: IntArray  # trees × internal nodes
    threshold: Array  # go right when x[feature] > threshold (+inf: everyone left)
    leaf: Array  # trees × 2**depth
    depth: int

    def score(self, x: NDArray[np.floating]) -> Array:
        out = np.zeros(x.shape[0])
        rows = np.arange(x.shape[0])
        for t in range(self.feature.shape[0]):
            pos = np.zeros(x.shape[0], dtype=np.int64)
            for d in range(self.depth):
                node = (1 << d) - 1 + pos
                right = x[rows, self.feature[t, node]] > self.threshold[t, node]
                pos = 2 * pos + right
            out += self.leaf[t, pos]
        return out


def _edges(x: NDArray[np.floating], bins: int) -> Array:
    """Per feature, ascending distinct quantile edges padded with +inf (features × bins - 1)."""
    qs = np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1], axis=0)
    edges = np.full((x.shape[1], bins - 1), np.inf)
    for f in range(x.shape[1]):
        distinct = np.unique(qs[:, f])
        edges[f, : distinct.size] = distinct
    return edges


def fit_trees(
    x: NDArray[np.floating],
    y: Array,
    weight: Array,
    base: Array,
    trees: int,
    depth: int = 3,
    rate: float = 0.1,
    l2: float = 1.0,
    bins: int = 32,
    min_hessian: float = 1e-3,
) -> Trees:
    """Boost `trees` trees on logistic loss from the margin `base` (one per row)."""
    n, n_feat = x.shape
    edges = _edges(x, bins)
    binned = np.empty((n, n_feat), dtype=np.int64)
    for f in range(n_feat):
        binned[:, f] = np.searchsorted(edges[f], x[:, f], side="left")  # bin > j <=> x > edges[f, j]
    offsets = (np.arange(n_feat) * bins)[None, :] + binned  # (feature, bin) cell of every value
    n_internal = (1 << depth) - 1
    feature = np.zeros((trees, n_internal), dtype=np.int64)
    threshold = np.full((trees, n_internal), np.inf)
    leaf = np.zeros((trees, 1 << depth))
    margin = base.astype(np.float64).copy()
    rows = np.arange(n)
    min_h = min_hessian * float(weight.sum())
    for t in range(trees):
        p = 1.0 / (1.0 + np.exp(-np.clip(margin, -30.0, 30.0)))
        g, h = weight * (p - y), weight * p * (1.0 - p)
        pos = np.zeros(n, dtype=np.int64)
        for d in range(depth):
            nodes = 1 << d
            cells = nodes * n_feat * bins
            idx = (pos[:, None] * (n_feat * bins) + offsets).ravel()
            hg = np.bincount(idx, weights=np.repeat(g, n_feat), minlength=cells).reshape(nodes, n_feat, bins)
            hh = np.bincount(idx, weights=np.repeat(h, n_feat), minlength=cells).reshape(nodes, n_feat, bins)
            gl, hl = np.cumsum(hg, axis=2)[:, :, :-1], np.cumsum(hh, axis=2)[:, :, :-1]
            gt, ht = hg.sum(axis=2)[:, :, None], hh.sum(axis=2)[:, :, None]
            gr, hr = gt - gl, ht - hl
            gain = gl**2 / (hl + l2) + gr**2 / (hr + l2) - gt**2 / (ht + l2)
            valid = (hl >= min_h) & (hr >= min_h) & np.isfinite(edges)[None, :, :]
            gain = np.where(valid, gain, -np.inf).reshape(nodes, -1)
            best = np.argmax(gain, axis=1)
            ok = np.isfinite(gain[np.arange(nodes), best]) & (gain[np.arange(nodes), best] > 0)
            f_best, j_best = best // (bins - 1), best % (bins - 1)
            node_ids = (1 << d) - 1 + np.arange(nodes)
            feature[t, node_ids] = np.where(ok, f_best, 0)
            threshold[t, node_ids] = np.where(ok, edges[f_best, j_best], np.inf)
            right = x[rows, feature[t, (1 << d) - 1 + pos]] > threshold[t, (1 << d) - 1 + pos]
            pos = 2 * pos + right
        leaves = 1 << depth
        sg = np.bincount(pos, weights=g, minlength=leaves)
        sh = np.bincount(pos, weights=h, minlength=leaves)
        leaf[t] = -rate * sg / (sh + l2)
        margin += leaf[t, pos]
    return Trees(feature, threshold, leaf, depth)
