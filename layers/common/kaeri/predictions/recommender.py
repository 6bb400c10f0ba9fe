"""Item-to-item recommendations from purchases, cart adds and views (numpy only, sparse throughout).

Every interaction weighs by its kind (purchase > cart add > view) and decays exponentially with age;
one customer's interactions with one product sum into a single weight. Items are documents whose
terms are customers: each (customer, item) weight is re-weighted (BM25 by default, TF-IDF, a
power damping, or none) so that customers who touch hundreds of products say less about any pair.
Item similarity is the cosine of those vectors, computed block by block of items and pruned to each
item's top-k neighbours: the model is a CSR of at most k neighbours per item, never an m × m matrix.
A customer's scores are their history times that sparse matrix, plus a repeat term for items they
keep re-buying; items they bought and do not re-buy are left out. Popularity (overall and per
category) fills the list for new customers; "bought together" comes from co-occurrence within orders.

Memory: the interaction arrays, the neighbour CSR (items × k) and one scratch block whose size is
`RecommenderConfig.block_cells` (customer-item pairs expanded, and rows × items cells), so it grows
with the interactions, not with the square of the catalogue. Each customer's `max_user_items` heaviest
items (at most) enter the similarity, so the pair expansion is bounded by interactions × that cap.

Two inputs: raw interactions (`Interactions.build` + `fit`, one row per event) and the archive's SQL
aggregate (`InteractionAggregate` + `fit_aggregate`, one row per customer, product and kind).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

PURCHASE, CART, VIEW = 0, 1, 2
KIND_NAMES = ("purchase", "cart", "view")  # index = kind code
KINDS = {"purchase": PURCHASE, "order": PURCHASE, "cart": CART, "view": VIEW}
WEIGHTINGS = ("bm25", "tfidf", "damped", "none")


@dataclass(frozen=True)
class RecommenderConfig:
    # Defaults = the winner of `kaeri eval recs`'s search on the July validation month (docs/predictions.md).
    weights: dict[str, float] = field(default_factory=lambda: {"purchase": 1.0, "cart": 0.5, "view": 0.15})
    half_life_days: float = 120.0  # interaction weight halves every this many days
    repeat_half_life_days: float = 120.0  # the same, for ranking a customer's own items to re-buy
    neighbours: int = 100  # similar items kept per item (k)
    weighting: str = "bm25"  # one of WEIGHTINGS: how a customer's (item, weight) entries are re-weighted
    bm25_k1: float = 1.2  # BM25 term saturation
    bm25_b: float = 0.75  # BM25 length normalisation (item length = its summed weight)
    user_damping: float = 0.5  # "damped": a customer with n items counts 1 / n ** (damping / 2)
    repeat_weight: float = 6.0  # how much a re-buyable item the customer bought counts
    repeat_rate_threshold: float = 0.1  # share of buyers who re-buy above which an item is re-buyable
    repeat_prior: float = 5.0  # pseudo-buyers shrinking an item's repeat rate towards the shop's
    repeat_floor: float = 0.2  # re-buy term × max(item's repeat rate, floor): 1 ignores the item's rate
    max_user_items: int = 400  # a customer's heaviest items entering the similarity (bounds pair work)
    block_cells: int = 2_000_000  # scratch per block: expanded pairs and rows × items cells
    popularity_weight: float = 1e-3  # popularity's share of the score (breaks ties, fills short lists)

    def kind_weights(self) -> Array:
        return np.array(
            [
                self.weights.get(name, self.weights.get("order", 0.0) if name == "purchase" else 0.0)
                for name in KIND_NAMES
            ]
        )

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {self.weighting!r}")
        if self.neighbours < 1 or self.max_user_items < 1 or self.block_cells < 1:
            raise ValueError("neighbours, max_user_items and block_cells must be at least 1")
        if self.half_life_days <= 0 or self.repeat_half_life_days <= 0:
            raise ValueError("half_life_days and repeat_half_life_days must be positive")


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


@dataclass(frozen=True)
class InteractionAggregate:
    """The archive's interaction aggregate: one row per (customer, product, kind), columnar.

    Produced by SQL over the event archive (DuckDB locally, Athena on AWS), e.g.
    `SELECT customer_id, product_id, kind, count(DISTINCT order_or_event_id) AS count, max(ts) AS last_at
    FROM events ... GROUP BY 1, 2, 3`. `kind` is "order" (or "purchase"), "cart" or "view"; for orders
    `count` is the number of distinct orders containing the product (it drives the re-buy term);
    `last_at` is the latest such interaction (datetime, ISO-8601 text or epoch seconds).
    """

    customer_id: Sequence[str]
    product_id: Sequence[str]
    kind: Sequence[str]
    count: Sequence[int]
    last_at: Sequence[datetime | str | float]

    @classmethod
    def from_rows(cls, rows: Iterable[dict[str, object]]) -> InteractionAggregate:
        """From dict rows (a DB-API cursor's rows zipped with its column names)."""
        cols: dict[str, list[object]] = {
            k: [] for k in ("customer_id", "product_id", "kind", "count", "last_at")
        }
        for row in rows:
            for key, values in cols.items():
                values.append(row[key])
        return cls(**cols)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.customer_id)


@dataclass(frozen=True)
class Pairs:
    """One entry per (customer, item): the training input of `fit_pairs` (both inputs end here)."""

    user: IntArray
    item: IntArray
    weight: Array  # kind-weighted, recency-decayed sum of the interactions
    recent: Array  # the same with the repeat half-life (ranks the customer's own items)
    bought: IntArray  # distinct purchase occasions (orders or days) of that item by that customer
    users: list[str]
    items: list[str]


def _weights_sum(index: IntArray, weights: Array, size: int) -> Array:
    """Sum of weights per index (a weighted bincount: float64, whatever numpy's stubs say)."""
    return np.asarray(np.bincount(index, weights=weights, minlength=size), dtype=np.float64)


def _epoch_seconds(values: Sequence[datetime | str | float]) -> Array:
    out = np.empty(len(values))
    for n, value in enumerate(values):
        if isinstance(value, datetime):
            out[n] = value.timestamp()
        elif isinstance(value, str):
            out[n] = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        else:
            out[n] = float(value)
    return out


def pairs_from_interactions(data: Interactions, config: RecommenderConfig) -> Pairs:
    n_items = len(data.items)
    age = np.maximum(data.age_days, 0.0)
    kind_w = config.kind_weights()[data.kind]
    w = kind_w * np.power(0.5, age / config.half_life_days)
    wr = kind_w * np.power(0.5, age / config.repeat_half_life_days)
    keep = w > 0
    user, item, w, wr = data.user[keep], data.item[keep], w[keep], wr[keep]
    purchase = data.kind[keep] == PURCHASE
    basket = data.basket[keep]
    key = user * n_items + item
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()
    weight = _weights_sum(inv, w, uniq.size)
    recent = _weights_sum(inv, wr, uniq.size)
    occasion = np.where(purchase, basket, -1)
    occ = np.unique(np.column_stack([inv[purchase], occasion[purchase]]), axis=0)
    bought = (
        np.bincount(occ[:, 0], minlength=uniq.size).astype(np.int64)
        if occ.size
        else np.zeros(uniq.size, dtype=np.int64)
    )
    return Pairs(uniq // n_items, uniq % n_items, weight, recent, bought, list(data.users), list(data.items))


def pairs_from_aggregate(agg: InteractionAggregate, now: datetime, config: RecommenderConfig) -> Pairs:
    """An aggregate row weighs kind weight × count × decay(now − last_at) (all its count at last_at)."""
    user_names, user = np.unique(np.asarray(agg.customer_id, dtype=object).astype(str), return_inverse=True)
    item_names, item = np.unique(np.asarray(agg.product_id, dtype=object).astype(str), return_inverse=True)
    try:
        kind = np.array([KINDS[str(k)] for k in agg.kind], dtype=np.int64)
    except KeyError as error:
        raise ValueError(
            f"unknown interaction kind {error.args[0]!r} (order, purchase, cart, view)"
        ) from None
    count = np.asarray(agg.count, dtype=np.float64)
    if count.size and count.min() < 0:
        raise ValueError("interaction counts must be non-negative")
    age = np.maximum((now.timestamp() - _epoch_seconds(agg.last_at)) / 86400.0, 0.0)
    w = config.kind_weights()[kind] * count * np.power(0.5, age / config.half_life_days)
    wr = config.kind_weights()[kind] * count * np.power(0.5, age / config.repeat_half_life_days)
    n_items = item_names.size
    key = user.ravel().astype(np.int64) * n_items + item.ravel()
    keep = w > 0
    uniq, inv = np.unique(key[keep], return_inverse=True)
    inv = inv.ravel()
    weight = _weights_sum(inv, w[keep], uniq.size)
    recent = _weights_sum(inv, wr[keep], uniq.size)
    bought = np.bincount(
        inv, weights=np.where(kind[keep] == PURCHASE, count[keep], 0.0), minlength=uniq.size
    ).astype(np.int64)
    return Pairs(
        uniq // n_items,
        uniq % n_items,
        weight,
        recent,
        bought,
        [str(u) for u in user_names],
        [str(i) for i in item_names],
    )


def _expand(ptr: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
    """For each entry r of `rows`, every position of CSR row r: (index into rows, position)."""
    lens = ptr[rows + 1] - ptr[rows]
    owner = np.repeat(np.arange(rows.size), lens)
    starts = np.cumsum(lens) - lens
    pos = ptr[rows][owner] + (np.arange(owner.size) - starts[owner])
    return owner, pos


def _reweight(
    user: IntArray, item: IntArray, r: Array, n_users: int, n_items: int, config: RecommenderConfig
) -> Array:
    """Customer-as-term weighting of each (customer, item) value r (log1p of the decayed weight)."""
    per_user = np.bincount(user, minlength=n_users).astype(np.float64)
    if config.weighting == "none":
        return r
    if config.weighting == "damped":
        return r / np.power(np.maximum(per_user[user], 1.0), config.user_damping / 2.0)
    active_items = max(int(np.unique(item).size), 1)
    # Inverse document frequency of a customer (the term): one who touched every item says nothing.
    if config.weighting == "tfidf":
        idf = np.log(active_items / np.maximum(per_user[user], 1.0))
    else:
        idf = np.maximum(np.log1p(active_items) - np.log1p(per_user[user]), 0.0)
    if config.weighting == "tfidf":
        return r * idf
    length = np.bincount(item, weights=r, minlength=n_items)
    avg = float(length[length > 0].mean()) if np.any(length > 0) else 1.0
    k1, b = config.bm25_k1, config.bm25_b
    tf = r * (k1 + 1.0) / (r + k1 * (1.0 - b + b * length[item] / avg))
    return tf * idf


def item_neighbours(
    user: IntArray, item: IntArray, value: Array, n_users: int, n_items: int, k: int, block_cells: int
) -> tuple[IntArray, IntArray, NDArray[np.float32]]:
    """Top-k cosine neighbours of every item as CSR (ptr, neighbour, similarity); no m × m anywhere.

    Items are taken in blocks: a block's (item, customer) entries are expanded into every other item
    of that customer, dot products summed into a (block rows × items) scratch, cosine-normalised,
    and only each row's k best kept. Blocks are sized so the expansion and the scratch stay within
    `block_cells`, so memory is bounded whatever the catalogue size.
    """
    by_user = np.lexsort((item, user))
    u_item, u_val = item[by_user], value[by_user]
    user_ptr = np.zeros(n_users + 1, dtype=np.int64)
    user_ptr[1:] = np.cumsum(np.bincount(user, minlength=n_users))
    by_item = np.lexsort((user, item))
    i_user, i_val = user[by_item], value[by_item]
    item_ptr = np.zeros(n_items + 1, dtype=np.int64)
    item_ptr[1:] = np.cumsum(np.bincount(item, minlength=n_items))
    norm = np.sqrt(np.bincount(item, weights=value * value, minlength=n_items))
    per_user = np.diff(user_ptr)
    cost = np.bincount(item, weights=per_user[user], minlength=n_items)  # expanded pairs per item row
    cum = np.concatenate([[0.0], np.cumsum(cost)])
    max_rows = max(1, block_cells // max(n_items, 1))
    k = max(1, min(k, n_items - 1)) if n_items > 1 else 1
    out_idx: list[IntArray] = []
    out_sim: list[NDArray[np.float32]] = []
    counts = np.zeros(n_items, dtype=np.int64)
    a = 0
    while a < n_items:
        by_cost = int(np.searchsorted(cum, cum[a] + block_cells, side="right")) - 1
        b = min(n_items, a + max_rows, max(by_cost, a + 1))
        rows = b - a
        entries = np.arange(item_ptr[a], item_ptr[b])
        entry_item = np.repeat(np.arange(rows), np.diff(item_ptr[a : b + 1]))
        owner, pos = _expand(user_ptr, i_user[entries])
        flat = entry_item[owner] * n_items + u_item[pos]
        dots = np.bincount(flat, weights=i_val[entries][owner] * u_val[pos], minlength=rows * n_items)
        sims = dots.astype(np.float64, copy=False).reshape(rows, n_items)
        denom = norm[a:b, None] * norm[None, :]
        np.divide(sims, denom, out=sims, where=denom > 0)
        sims[np.arange(rows), np.arange(a, b)] = 0.0
        kk = min(k, n_items)
        best = (
            np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            if kk < n_items
            else np.tile(np.arange(n_items), (rows, 1))
        )
        best_sim = np.take_along_axis(sims, best, axis=1)
        order = np.argsort(-best_sim, axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
        best_sim = np.take_along_axis(best_sim, order, axis=1)
        keep = best_sim > 0
        counts[a:b] = keep.sum(axis=1)
        out_idx.append(best[keep].astype(np.int64))
        out_sim.append(best_sim[keep].astype(np.float32))
        a = b
    ptr = np.zeros(n_items + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(counts)
    nb = np.concatenate(out_idx) if out_idx else np.zeros(0, dtype=np.int64)
    sim = np.concatenate(out_sim) if out_sim else np.zeros(0, dtype=np.float32)
    return ptr, nb, sim


@dataclass
class ItemItemModel:
    config: RecommenderConfig
    items: list[str]
    users: list[str]
    neighbour_ptr: IntArray  # CSR over items: neighbours of item i are [ptr[i], ptr[i+1])
    neighbour_item: IntArray
    neighbour_sim: NDArray[np.float32]
    user_ptr: IntArray  # CSR over users of their (item, weight, bought) history
    user_item: IntArray
    user_weight: NDArray[np.float32]
    user_recent: NDArray[np.float32]  # the same weights with the repeat half-life
    user_bought: IntArray  # distinct purchase occasions of that item by that customer
    popularity: Array  # per item: decayed count of distinct customers
    repeat_rate: Array  # per item: smoothed share of buyers who bought it again
    together: dict[int, list[tuple[int, float]]]

    @property
    def item_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.items)}

    def neighbours(self, product: str) -> list[tuple[str, float]]:
        i = self.items.index(product)
        lo, hi = self.neighbour_ptr[i], self.neighbour_ptr[i + 1]
        return [
            (self.items[j], float(s))
            for j, s in zip(
                self.neighbour_item[lo:hi].tolist(), self.neighbour_sim[lo:hi].tolist(), strict=True
            )
        ]

    def popular(self, n: int, among: IntArray | None = None) -> list[tuple[str, float]]:
        pool = np.arange(len(self.items)) if among is None else among
        if pool.size == 0:
            return []
        top = pool[np.argsort(-self.popularity[pool], kind="stable")[:n]]
        return [(self.items[i], float(self.popularity[i])) for i in top if self.popularity[i] > 0]

    def recommend_all(self, n: int = 10) -> tuple[IntArray, Array, NDArray[np.int8]]:
        """Top-n item indexes, scores and reasons for every user (reason 0 similar, 1 re-buy, 2 popular)."""
        return self.recommend_rows(np.arange(len(self.users), dtype=np.int64), n)

    def recommend_rows(self, user_rows: IntArray, n: int = 10) -> tuple[IntArray, Array, NDArray[np.int8]]:
        """`recommend_all` for the given user indexes only (rows of the result follow `user_rows`)."""
        n_users, n_items = len(user_rows), len(self.items)
        top = np.zeros((n_users, n), dtype=np.int64)
        scores = np.full((n_users, n), -np.inf)
        reasons = np.full((n_users, n), 2, dtype=np.int8)
        if n_items == 0:
            return top, scores, reasons
        pop = self.popularity / max(float(self.popularity.max(initial=0.0)), 1e-12)
        rebuyable_item = self.repeat_rate >= self.config.repeat_rate_threshold
        chunk = max(1, self.config.block_cells // n_items)
        for start in range(0, n_users, chunk):
            stop = min(start + chunk, n_users)
            rows = stop - start
            local_user, entry = _expand(self.user_ptr, np.asarray(user_rows[start:stop], dtype=np.int64))
            items = self.user_item[entry]
            weights = self.user_weight[entry].astype(np.float64)
            bought = self.user_bought[entry]
            # Similar items: history × sparse neighbours, summed into this chunk's rows.
            owner, pos = _expand(self.neighbour_ptr, items)
            flat = local_user[owner] * n_items + self.neighbour_item[pos]
            contrib = weights[owner] * self.neighbour_sim[pos]
            sim = np.bincount(flat, weights=contrib, minlength=rows * n_items).astype(np.float64, copy=False)
            sim = sim.reshape(rows, n_items)
            peak = sim.max(axis=1, keepdims=True)
            np.divide(sim, peak, out=sim, where=peak > 0)
            # The customer's own items: re-buyable ones score, one-off purchases are left out.
            recent = self.user_recent[entry].astype(np.float64)
            own_peak = np.zeros(rows)
            np.maximum.at(own_peak, local_user, recent)
            own = recent / np.maximum(own_peak[local_user], 1e-12)
            rebuy = (bought >= 2) | (rebuyable_item[items] & (bought >= 1))
            viewed_only = bought == 0
            repeat_score = np.where(
                rebuy,
                self.config.repeat_weight
                * own
                * np.maximum(self.repeat_rate[items], self.config.repeat_floor),
                0.0,
            )
            repeat_score = np.where(viewed_only, 0.5 * self.config.repeat_weight * own, repeat_score)
            total = sim + self.config.popularity_weight * pop
            own_total = total[local_user, items] + repeat_score
            excluded = (bought >= 1) & ~rebuy
            own_total[excluded] = -np.inf
            total[local_user, items] = own_total
            width = min(n, n_items)
            best = (
                np.argpartition(-total, width - 1, axis=1)[:, :width]
                if width < n_items
                else np.tile(np.arange(n_items), (rows, 1))
            )
            best_scores = np.take_along_axis(total, best, axis=1)
            order = np.argsort(-best_scores, axis=1, kind="stable")
            best = np.take_along_axis(best, order, axis=1)
            best_scores = np.take_along_axis(best_scores, order, axis=1)
            why = np.where(np.take_along_axis(sim, best, axis=1) > 0, 0, 2).astype(np.int8)
            own_flat = np.sort(local_user[rebuy | viewed_only] * n_items + items[rebuy | viewed_only])
            best_flat = np.arange(rows)[:, None] * n_items + best
            hit = np.minimum(np.searchsorted(own_flat, best_flat), max(own_flat.size - 1, 0))
            is_own = (own_flat[hit] == best_flat) if own_flat.size else np.zeros(best.shape, dtype=bool)
            why[is_own] = 1
            top[start:stop, :width] = best
            scores[start:stop, :width] = best_scores
            reasons[start:stop, :width] = why
        return top, scores, reasons


def fit_pairs(
    pairs: Pairs, config: RecommenderConfig, together: dict[int, list[tuple[int, float]]] | None = None
) -> ItemItemModel:
    n_users, n_items = len(pairs.users), len(pairs.items)
    order = np.lexsort((pairs.item, pairs.user))
    pu, pi = pairs.user[order], pairs.item[order]
    weight, recent, bought = pairs.weight[order], pairs.recent[order], pairs.bought[order]

    # Popularity: decayed weight of distinct customers, and per-item repeat rate (smoothed).
    popularity = _weights_sum(pi, np.minimum(weight, 1.0), n_items)
    buyers = np.bincount(pi[bought >= 1], minlength=n_items).astype(np.float64)
    rebuyers = np.bincount(pi[bought >= 2], minlength=n_items).astype(np.float64)
    base = rebuyers.sum() / max(buyers.sum(), 1.0)
    repeat_rate = (rebuyers + config.repeat_prior * base) / (buyers + config.repeat_prior)

    # Similarity input: each customer's heaviest max_user_items entries, re-weighted.
    rank_order = np.lexsort((-weight, pu))
    starts = np.searchsorted(pu[rank_order], pu[rank_order], side="left")
    rank = np.empty(pu.size, dtype=np.int64)
    rank[rank_order] = np.arange(pu.size) - starts
    sel = rank < config.max_user_items
    su, si = pu[sel], pi[sel]
    value = _reweight(su, si, np.log1p(weight[sel]), n_users, n_items, config)
    nz = value > 0
    ptr, nb, sim = item_neighbours(
        su[nz], si[nz], value[nz], n_users, n_items, config.neighbours, config.block_cells
    )

    user_ptr = np.zeros(n_users + 1, dtype=np.int64)
    user_ptr[1:] = np.cumsum(np.bincount(pu, minlength=n_users))
    return ItemItemModel(
        config=config,
        items=list(pairs.items),
        users=list(pairs.users),
        neighbour_ptr=ptr,
        neighbour_item=nb,
        neighbour_sim=sim,
        user_ptr=user_ptr,
        user_item=pi,
        user_weight=weight.astype(np.float32),
        user_recent=recent.astype(np.float32),
        user_bought=bought,
        popularity=popularity,
        repeat_rate=repeat_rate,
        together=together or {},
    )


def fit(data: Interactions, config: RecommenderConfig | None = None) -> ItemItemModel:
    """From raw interactions (one row per event; the nightly job's current input)."""
    config = config or RecommenderConfig()
    return fit_pairs(pairs_from_interactions(data, config), config, together=bought_together(data, n=10))


def fit_aggregate(
    agg: InteractionAggregate, now: datetime, config: RecommenderConfig | None = None
) -> ItemItemModel:
    """From the archive's interaction aggregate (no baskets in it: `together` stays empty)."""
    config = config or RecommenderConfig()
    return fit_pairs(pairs_from_aggregate(agg, now, config), config)


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
    # Every ordered pair of distinct items within one basket (baskets are sorted, ≤ 50 lines each).
    _, basket = np.unique(basket, return_inverse=True)
    basket = basket.ravel()
    ptr = np.zeros(int(basket.max(initial=-1)) + 2, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(basket))
    owner, pos = _expand(ptr, basket)
    left, right = item[owner], item[pos]
    off = left != right
    if not off.any():
        return {}
    pair_key = left[off] * n_items + right[off]
    keys, together = np.unique(pair_key, return_counts=True)
    src, dst = keys // n_items, keys % n_items
    ok = together >= min_count
    src, dst, together = src[ok], dst[ok], together[ok].astype(np.float64)
    score = together / np.sqrt(counts[src] * counts[dst])
    order = np.lexsort((-score, src))
    src, dst, score = src[order], dst[order], score[order]
    rank = np.arange(src.size) - np.searchsorted(src, src, side="left")
    src, dst, score = src[rank < n], dst[rank < n], score[rank < n]
    out: dict[int, list[tuple[int, float]]] = {}
    for s, d, v in zip(src.tolist(), dst.tolist(), score.tolist(), strict=True):
        out.setdefault(s, []).append((d, v))
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
