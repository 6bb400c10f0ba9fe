"""Item-to-item recommendations from purchases, cart adds and views (numpy only).

Every interaction weighs by its kind (purchase > cart add > view) and decays exponentially with age.
Items are similar when the same customers interact with both: a co-occurrence matrix of dampened
weights (heavy customers count less), cosine-normalised, pruned to each item's top neighbours.
A customer's scores are their history times that matrix, plus a repeat term for items they keep
re-buying; items they bought and do not re-buy are left out. Popularity (overall and per category)
fills the list for new customers, and "bought together" comes from co-occurrence within orders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

PURCHASE, CART, VIEW = 0, 1, 2
KINDS = {"purchase": PURCHASE, "cart": CART, "view": VIEW}


@dataclass(frozen=True)
class RecommenderConfig:
    weights: dict[str, float] = field(default_factory=lambda: {"purchase": 1.0, "cart": 0.5, "view": 0.15})
    half_life_days: float = 120.0  # interaction weight halves every this many days
    neighbours: int = 100  # similar items kept per item
    user_damping: float = 0.5  # a customer's co-occurrences count 1 / n_items ** damping
    repeat_weight: float = 1.0  # how much a re-buyable item the customer bought counts
    repeat_rate_threshold: float = 0.25  # share of buyers who re-buy above which an item is re-buyable
    repeat_prior: float = 5.0  # pseudo-buyers shrinking an item's repeat rate towards the shop's
    max_items: int = 12_000  # catalogue cap (most interacted first) to bound memory: n² float32
    chunk: int = 2048  # customers per matrix block

    def kind_weights(self) -> Array:
        out = np.zeros(len(KINDS))
        for name, idx in KINDS.items():
            out[idx] = self.weights.get(name, 0.0)
        return out


@dataclass(frozen=True)
class Interactions:
    """Interaction log with dense indexes (see `Interactions.build`)."""

    user: IntArray
    item: IntArray
    kind: IntArray  # PURCHASE | CART | VIEW
    age_days: Array  # how long before the reference time it happened
    basket: IntArray  # order index for purchases (for "bought together"), -1 otherwise
    users: list[str]
    items: list[str]

    @classmethod
    def build(
        cls,
        users: Sequence[str],
        items: Sequence[str],
        kinds: Sequence[str],
        age_days: Sequence[float],
        baskets: Sequence[str | None] | None = None,
    ) -> Interactions:
        user_names, user_idx = np.unique(np.asarray(users, dtype=object).astype(str), return_inverse=True)
        item_names, item_idx = np.unique(np.asarray(items, dtype=object).astype(str), return_inverse=True)
        kind_idx = np.array([KINDS[k] for k in kinds], dtype=np.int64)
        if baskets is None:
            basket_idx = np.full(len(kind_idx), -1, dtype=np.int64)
        else:
            keys = np.asarray([b if b is not None else "" for b in baskets], dtype=object).astype(str)
            names, basket_idx = np.unique(keys, return_inverse=True)
            if names.size and names[0] == "":
                basket_idx = basket_idx - 1  # "" sorts first: no basket
            basket_idx = basket_idx.astype(np.int64)
        return cls(
            user=user_idx.astype(np.int64),
            item=item_idx.astype(np.int64),
            kind=kind_idx,
            age_days=np.asarray(age_days, dtype=np.float64),
            basket=basket_idx,
            users=[str(u) for u in user_names],
            items=[str(i) for i in item_names],
        )


@dataclass
class ItemItemModel:
    config: RecommenderConfig
    items: list[str]
    users: list[str]
    neighbour_idx: IntArray  # (n_items, k) most similar items
    neighbour_sim: NDArray[np.float32]  # (n_items, k)
    user_ptr: IntArray  # CSR over users of their (item, weight, bought) history
    user_item: IntArray
    user_weight: NDArray[np.float32]
    user_bought: IntArray  # distinct purchase days/baskets of that item by that customer
    popularity: Array  # per item: decayed count of distinct customers
    repeat_rate: Array  # per item: smoothed share of buyers who bought it again
    together: dict[int, list[tuple[int, float]]]

    @property
    def item_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.items)}

    def popular(self, n: int, among: IntArray | None = None) -> list[tuple[str, float]]:
        pool = np.arange(len(self.items)) if among is None else among
        if pool.size == 0:
            return []
        top = pool[np.argsort(-self.popularity[pool], kind="stable")[:n]]
        return [(self.items[i], float(self.popularity[i])) for i in top if self.popularity[i] > 0]

    def recommend_all(self, n: int = 10) -> tuple[IntArray, Array, NDArray[np.int8]]:
        """Top-n item indexes, scores and reasons for every user (reason 0 similar, 1 re-buy, 2 popular)."""
        n_users, n_items = len(self.users), len(self.items)
        top = np.zeros((n_users, n), dtype=np.int64)
        scores = np.zeros((n_users, n))
        reasons = np.zeros((n_users, n), dtype=np.int8)
        pop = self.popularity / max(float(self.popularity.max(initial=0.0)), 1e-12)
        rebuyable_item = self.repeat_rate >= self.config.repeat_rate_threshold
        for start in range(0, n_users, self.config.chunk):
            stop = min(start + self.config.chunk, n_users)
            rows = stop - start
            lo, hi = self.user_ptr[start], self.user_ptr[stop]
            local_user = np.repeat(np.arange(rows), np.diff(self.user_ptr[start : stop + 1]))
            items = self.user_item[lo:hi]
            weights = self.user_weight[lo:hi].astype(np.float64)
            bought = self.user_bought[lo:hi]
            # Similar items: history (rows) × pruned similarity (n_items × k), scattered densely.
            sim = np.zeros((rows, n_items))
            k = self.neighbour_idx.shape[1]
            flat = np.repeat(local_user, k) * n_items + self.neighbour_idx[items].ravel()
            contrib = (weights[:, None] * self.neighbour_sim[items]).ravel()
            sim += np.bincount(flat, weights=contrib, minlength=rows * n_items).reshape(rows, n_items)
            peak = sim.max(axis=1, keepdims=True)
            sim = np.divide(sim, peak, out=np.zeros_like(sim), where=peak > 0)
            # The customer's own items: re-buyable ones score, one-off purchases are left out.
            own_peak = np.zeros(rows)
            np.maximum.at(own_peak, local_user, weights)
            own = weights / np.maximum(own_peak[local_user], 1e-12)
            rebuy = (bought >= 2) | (rebuyable_item[items] & (bought >= 1))
            viewed_only = bought == 0
            repeat_score = np.where(
                rebuy, self.config.repeat_weight * own * np.maximum(self.repeat_rate[items], 0.2), 0.0
            )
            repeat_score = np.where(viewed_only, 0.5 * self.config.repeat_weight * own, repeat_score)
            total = sim + 1e-3 * pop  # popularity breaks ties and fills short lists
            own_total = total[local_user, items] + repeat_score
            excluded = (bought >= 1) & ~rebuy
            own_total[excluded] = -np.inf
            total[local_user, items] = own_total
            best = (
                np.argpartition(-total, min(n, n_items - 1), axis=1)[:, :n]
                if n < n_items
                else np.tile(np.arange(n_items), (rows, 1))
            )
            best_scores = np.take_along_axis(total, best, axis=1)
            order = np.argsort(-best_scores, axis=1, kind="stable")
            best = np.take_along_axis(best, order, axis=1)
            best_scores = np.take_along_axis(best_scores, order, axis=1)
            why = np.where(sim[np.arange(rows)[:, None], best] > 0, 0, 2).astype(np.int8)
            own_mask = np.zeros((rows, n_items), dtype=bool)
            own_mask[local_user[rebuy | viewed_only], items[rebuy | viewed_only]] = True
            why[own_mask[np.arange(rows)[:, None], best]] = 1
            width = best.shape[1]
            top[start:stop, :width] = best
            scores[start:stop, :width] = best_scores
            reasons[start:stop, :width] = why
        return top, scores, reasons


def fit(data: Interactions, config: RecommenderConfig | None = None) -> ItemItemModel:
    config = config or RecommenderConfig()
    n_users, n_items = len(data.users), len(data.items)
    decay = np.power(0.5, np.maximum(data.age_days, 0.0) / config.half_life_days)
    w = config.kind_weights()[data.kind] * decay
    keep = w > 0
    user, item, w = data.user[keep], data.item[keep], w[keep]
    purchase = data.kind[keep] == PURCHASE
    basket = data.basket[keep]

    # One entry per (user, item): summed weight and number of distinct purchase occasions.
    key = user * n_items + item
    uniq, inv = np.unique(key, return_inverse=True)
    pair_weight = np.bincount(inv, weights=w, minlength=uniq.size)
    occasion = np.where(purchase, basket, -1)
    occ_key = np.unique(np.column_stack([inv[purchase], occasion[purchase]]), axis=0)
    pair_bought = (
        np.bincount(occ_key[:, 0], minlength=uniq.size).astype(np.int64)
        if occ_key.size
        else np.zeros(uniq.size, dtype=np.int64)
    )
    pu, pi = uniq // n_items, uniq % n_items

    # Popularity: decayed weight of distinct customers, and per-item repeat rate (smoothed).
    popularity = np.bincount(pi, weights=np.minimum(pair_weight, 1.0), minlength=n_items)
    buyers = np.bincount(pi[pair_bought >= 1], minlength=n_items).astype(np.float64)
    rebuyers = np.bincount(pi[pair_bought >= 2], minlength=n_items).astype(np.float64)
    base = rebuyers.sum() / max(buyers.sum(), 1.0)
    repeat_rate = (rebuyers + config.repeat_prior * base) / (buyers + config.repeat_prior)

    # Catalogue cap: similarities only among the most interacted items.
    active = np.argsort(-popularity, kind="stable")[: min(config.max_items, n_items)]
    position = np.full(n_items, -1, dtype=np.int64)
    position[active] = np.arange(active.size)
    m = active.size

    value = np.log1p(pair_weight)
    per_user = np.bincount(pu, minlength=n_users).astype(np.float64)
    value = value / np.power(np.maximum(per_user[pu], 1.0), config.user_damping / 2.0)
    in_cap = position[pi] >= 0
    cu, ci, cv = pu[in_cap], position[pi[in_cap]], value[in_cap].astype(np.float32)
    co = np.zeros((m, m), dtype=np.float32)
    order = np.argsort(cu, kind="stable")
    cu, ci, cv = cu[order], ci[order], cv[order]
    bounds = np.searchsorted(cu, np.arange(0, n_users + config.chunk, config.chunk))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        if hi <= lo:
            continue
        rows = cu[lo:hi] - cu[lo]
        block = np.zeros((int(rows[-1]) + 1, m), dtype=np.float32)
        block[rows, ci[lo:hi]] = cv[lo:hi]
        co += block.T @ block
    norms = np.sqrt(np.diag(co)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        co /= np.maximum(norms[:, None], 1e-12)
        co /= np.maximum(norms[None, :], 1e-12)
    np.fill_diagonal(co, 0.0)
    k = max(1, min(config.neighbours, m - 1))
    nb = np.argpartition(-co, k - 1, axis=1)[:, :k] if m > 1 else np.zeros((m, 1), dtype=np.int64)
    nb_sim = np.take_along_axis(co, nb, axis=1)
    del co
    neighbour_idx = np.zeros((n_items, k), dtype=np.int64)
    neighbour_sim = np.zeros((n_items, k), dtype=np.float32)
    neighbour_idx[active] = active[nb]
    neighbour_sim[active] = nb_sim

    user_ptr = np.zeros(n_users + 1, dtype=np.int64)
    user_ptr[1:] = np.cumsum(np.bincount(pu, minlength=n_users))
    return ItemItemModel(
        config=config,
        items=list(data.items),
        users=list(data.users),
        neighbour_idx=neighbour_idx,
        neighbour_sim=neighbour_sim,
        user_ptr=user_ptr,
        user_item=pi,
        user_weight=pair_weight.astype(np.float32),
        user_bought=pair_bought,
        popularity=popularity,
        repeat_rate=repeat_rate,
        together=bought_together(data, n=10),
    )


def bought_together(
    data: Interactions, n: int = 10, min_count: int = 2
) -> dict[int, list[tuple[int, float]]]:
    """Items most often in the same order as each item, scored by co-occurrence / sqrt(both counts)."""
    sel = (data.kind == PURCHASE) & (data.basket >= 0)
    basket, item = data.basket[sel], data.item[sel]
    pairs = np.unique(np.column_stack([basket, item]), axis=0)
    if pairs.size == 0:
        return {}
    basket, item = pairs[:, 0], pairs[:, 1]
    n_items = len(data.items)
    sizes = np.bincount(basket)
    small = sizes[basket] <= 50  # a wholesale order of hundreds of lines says little about pairs
    basket, item = basket[small], item[small]
    counts = np.bincount(item, minlength=n_items).astype(np.float64)
    starts = np.flatnonzero(np.r_[True, basket[1:] != basket[:-1]])
    ends = np.r_[starts[1:], basket.size]
    left: list[IntArray] = []
    right: list[IntArray] = []
    for lo, hi in zip(starts, ends, strict=True):
        if hi - lo < 2:
            continue
        members = item[lo:hi]
        a, b = np.meshgrid(members, members, indexing="ij")
        off = a != b
        left.append(a[off])
        right.append(b[off])
    if not left:
        return {}
    pair_key = np.concatenate(left) * n_items + np.concatenate(right)
    keys, together = np.unique(pair_key, return_counts=True)
    src, dst = keys // n_items, keys % n_items
    ok = together >= min_count
    src, dst, together = src[ok], dst[ok], together[ok].astype(np.float64)
    score = together / np.sqrt(counts[src] * counts[dst])
    order = np.lexsort((-score, src))
    src, dst, score = src[order], dst[order], score[order]
    out: dict[int, list[tuple[int, float]]] = {}
    for s, d, v in zip(src.tolist(), dst.tolist(), score.tolist(), strict=True):
        lst = out.setdefault(s, [])
        if len(lst) < n:
            lst.append((d, v))
    return out


def category_popularity(
    model: ItemItemModel, item_category: dict[str, str], n: int
) -> dict[str, list[tuple[str, float]]]:
    index = model.item_index
    groups: dict[str, list[int]] = {}
    for product, category in item_category.items():
        if category and product in index:
            groups.setdefault(category, []).append(index[product])
    return {c: model.popular(n, np.asarray(idx, dtype=np.int64)) for c, idx in groups.items()}


def half_life_decay(age_days: float, half_life_days: float) -> float:
    return math.pow(0.5, max(age_days, 0.0) / half_life_days)
