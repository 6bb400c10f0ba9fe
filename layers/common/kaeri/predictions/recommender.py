"""Item-to-item recommendations from purchases, cart adds and views (numpy only, sparse throughout).

Every interaction weighs by its kind (purchase > cart add > view) and decays exponentially with age;
one customer's interactions with one product sum into a single weight. Items are documents whose
terms are customers: each (customer, item) weight is re-weighted (BM25 by default, TF-IDF, a
power damping, or none) so that customers who touch hundreds of products say less about any pair.
Item similarity is the cosine of those vectors, computed block by block of items and pruned to each
item's top-k neighbours: the model is a CSR of at most k neighbours per item, never an m × m matrix.
A customer's candidates are their own items, the items their history times that sparse matrix
scores best, and the recent best sellers; a logistic ranker learned per shop at every fit (features
of the history before the last `label_window_days`, labels = the purchases inside them) orders
them. With too little in that window, the fixed blend ranks: history × neighbours plus a repeat
term for items customers keep re-buying, one-off purchases left out. Popularity (overall and per
category) fills the list for new customers; "bought together" comes from co-occurrence within orders.

Scoring is a sparse gather: per block of customers, history × neighbours is summed per (customer,
item) key, only those keys, the customer's own items and the recent best sellers are candidates, and
the top n is taken among them (the rest filled from the popularity order): no customers × items
matrix. Memory: the interaction arrays, the neighbour CSR (items × k), each block's candidates and
one scratch whose size is capped by `RecommenderConfig.block_cells` (expanded pairs, the neighbour
search's rows × items block, the scoring's summation), so it grows with the interactions, not with
the square of the catalogue or customers × items. Each customer's `max_user_items` heaviest
items (at most) enter the similarity, so the pair expansion is bounded by interactions × that cap.

Two inputs: raw interactions (`Interactions.build` + `fit`, one row per event) and the archive's SQL
aggregate (`InteractionAggregate` + `fit_aggregate`, one row per customer, product and kind).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from kaeri.predictions.boosting import Trees, fit_trees

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

PURCHASE, CART, VIEW = 0, 1, 2
KIND_NAMES = ("purchase", "cart", "view")  # index = kind code
KINDS = {"purchase": PURCHASE, "order": PURCHASE, "cart": CART, "view": VIEW}
WEIGHTINGS = ("bm25", "tfidf", "damped", "none")
RANKERS = ("learned", "fixed")


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
    similarity_half_life_days: float = 60.0  # decay of the interactions the item similarity is built from
    ranker: str = "learned"  # "learned": a ranker fitted on the last label window; "fixed": the blend above
    label_window_days: float = 30.0  # the learned ranker's labels: purchases in the last this many days
    candidates: int = 100  # per customer, besides their own items: best similar and best recent sellers
    ranker_l2: float = 100.0  # ridge penalty of the learned ranker (standardised features)
    ranker_max_users: int = 20_000  # customers (at most) whose window purchases train the ranker
    ranker_trees: int = 0  # boosted trees on top of the linear ranker (0: linear only)
    ranker_depth: int = 3  # depth of each tree
    ranker_rate: float = 0.1  # learning rate (shrinkage) of the trees
    ranker_tree_rows: int = (
        150_000  # candidate rows (at most; all positives, negatives sampled) the trees see
    )
    # A second item-kNN stacked into the learned ranker as features (0 = off): BM25 on the customers'
    # purchase counts (k1 `knn_k1`, b `knn_b`), item-item dot products with each item's own, top
    # `knn_neighbours` per item; a candidate's score is its customer's counts × that matrix.
    knn_neighbours: int = 20
    knn_k1: float = 2.0
    knn_b: float = 0.5

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
        if min(self.half_life_days, self.repeat_half_life_days, self.similarity_half_life_days) <= 0:
            raise ValueError(
                "half_life_days, repeat_half_life_days and similarity_half_life_days must be positive"
            )
        if self.ranker not in RANKERS:
            raise ValueError(f"ranker must be one of {RANKERS}, not {self.ranker!r}")
        if self.label_window_days <= 0 or self.candidates < 1 or self.ranker_max_users < 1:
            raise ValueError("label_window_days, candidates and ranker_max_users must be positive")
        if self.knn_neighbours < 0 or self.knn_k1 <= 0 or not 0 <= self.knn_b <= 1:
            raise ValueError("knn_neighbours must be >= 0, knn_k1 positive and knn_b within [0, 1]")
        if (
            self.ranker_trees < 0
            or self.ranker_depth < 1
            or self.ranker_rate <= 0
            or self.ranker_tree_rows < 1
        ):
            raise ValueError(
                "ranker_trees must be >= 0; ranker_depth, ranker_rate, ranker_tree_rows positive"
            )


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
    similar: Array | None = None  # the same with the similarity half-life (builds the neighbours)
    last_age: Array | None = None  # days since the latest interaction


def _epoch_seconds(values: Sequence[datetime | str | float]) -> Array:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64)  # already epoch seconds (the nightly's columnar aggregate)
    out = np.empty(len(values))
    for n, value in enumerate(values):
        if isinstance(value, datetime):
            out[n] = value.timestamp()
        elif isinstance(value, str):
            out[n] = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        else:
            out[n] = float(value)
    return out


def _sum_pairs(
    user: IntArray,
    item: IntArray,
    kind: IntArray,
    count: Array,
    age: Array,
    bought_of: Callable[[IntArray, int], IntArray],
    users: list[str],
    items: list[str],
    config: RecommenderConfig,
) -> Pairs:
    """Rows (one event, or one aggregate row carrying `count` at `age`) summed per (customer, item)."""
    n_items = len(items)
    kind_w = config.kind_weights()[kind] * count
    keep = kind_w > 0
    user, item, kind, age, kind_w = user[keep], item[keep], kind[keep], age[keep], kind_w[keep]
    key = user * n_items + item
    uniq, inv = np.unique(key, return_inverse=True)
    inv = inv.ravel()

    def decayed(half_life: float) -> Array:
        # A weighted bincount is float64 (numpy's stubs say int).
        weights = kind_w * np.power(0.5, age / half_life)
        return np.asarray(np.bincount(inv, weights=weights, minlength=uniq.size), dtype=np.float64)

    last_age = np.full(uniq.size, np.inf)
    np.minimum.at(last_age, inv, age)
    return Pairs(
        user=uniq // n_items,
        item=uniq % n_items,
        weight=decayed(config.half_life_days),
        recent=decayed(config.repeat_half_life_days),
        bought=bought_of(np.flatnonzero(keep), uniq.size),
        users=users,
        items=items,
        similar=decayed(config.similarity_half_life_days),
        last_age=last_age,
    )


def pairs_from_interactions(data: Interactions, config: RecommenderConfig) -> Pairs:
    n_items = len(data.items)
    age = np.maximum(data.age_days, 0.0)

    def bought_of(rows: IntArray, n: int) -> IntArray:
        user, item = data.user[rows], data.item[rows]
        _, inv = np.unique(user * n_items + item, return_inverse=True)
        inv = inv.ravel()
        purchase = data.kind[rows] == PURCHASE
        span = int(data.basket.max(initial=-1)) + 2
        occ = np.unique(inv[purchase] * span + (data.basket[rows][purchase] + 1))  # one row per pair
        if not occ.size:
            return np.zeros(n, dtype=np.int64)
        return np.bincount(occ // span, minlength=n).astype(np.int64)

    return _sum_pairs(
        data.user,
        data.item,
        data.kind,
        np.ones(age.size),
        age,
        bought_of,
        list(data.users),
        list(data.items),
        config,
    )


def pairs_from_aggregate(
    agg: InteractionAggregate,
    now: datetime,
    config: RecommenderConfig,
    names: tuple[list[str], list[str]] | None = None,
) -> Pairs:
    """An aggregate row weighs kind weight × count × decay(now − last_at) (all its count at last_at).

    `names` = (customers, products) to index into (rows naming others are dropped); by default the
    aggregate's own sorted names.
    """
    customer = np.asarray(agg.customer_id, dtype=object).astype(str)
    product = np.asarray(agg.product_id, dtype=object).astype(str)
    if names is None:
        user_names, user = np.unique(customer, return_inverse=True)
        item_names, item = np.unique(product, return_inverse=True)
        users, items = [str(u) for u in user_names], [str(i) for i in item_names]
        known = np.ones(customer.size, dtype=bool)
    else:
        users, items = names
        user, known_u = _lookup(users, customer)
        item, known_i = _lookup(items, product)
        known = known_u & known_i
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
    user, item = user.ravel().astype(np.int64)[known], item.ravel().astype(np.int64)[known]
    kind, count, age = kind[known], count[known], age[known]
    n_items = len(items)

    def bought_of(rows: IntArray, n: int) -> IntArray:
        _, inv = np.unique(user[rows] * n_items + item[rows], return_inverse=True)
        purchases = np.where(kind[rows] == PURCHASE, count[rows], 0.0)
        return np.bincount(inv.ravel(), weights=purchases, minlength=n).astype(np.int64)

    return _sum_pairs(user, item, kind, count, age, bought_of, users, items, config)


def _lookup(names: list[str], values: NDArray[np.object_]) -> tuple[IntArray, NDArray[np.bool_]]:
    """Index of each value in the sorted `names`, and whether it is there."""
    sorted_names = np.asarray(names, dtype=object).astype(str)
    pos = np.minimum(np.searchsorted(sorted_names, values), max(sorted_names.size - 1, 0))
    found = sorted_names[pos] == values if sorted_names.size else np.zeros(values.size, dtype=bool)
    return pos.astype(np.int64), found


def _top_columns(scores: Array, k: int) -> IntArray:
    """Per row, the column indices of the k largest scores (unordered; every column when k covers them)."""
    rows, n = scores.shape
    if k < n:
        return np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.tile(np.arange(n), (rows, 1))


def _top_sorted(scores: Array, k: int) -> tuple[IntArray, Array]:
    """Per row, the k best columns and their scores, best first (ties keep column order)."""
    best = _top_columns(scores, k)
    best_scores = np.take_along_axis(scores, best, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best, order, axis=1), np.take_along_axis(best_scores, order, axis=1)


def _top_per_row(row: IntArray, score: Array, k: int) -> NDArray[np.bool_]:
    """Mask of each row's k best entries (sparse rows; `score` in [0, 1], ties in any fixed order)."""
    order = np.argsort(row.astype(np.float64) * 4.0 + (2.0 - score), kind="quicksort")
    ranked = row[order]
    rank = np.arange(row.size) - np.searchsorted(ranked, ranked, side="left")
    keep = np.zeros(row.size, dtype=bool)
    keep[order[rank < k]] = True
    return keep


def _sum_by_key(keys: IntArray, values: Array, scratch_cells: int = 0) -> tuple[IntArray, Array]:
    """Distinct keys (ascending) and the sum of `values` per key.

    When the key space fits in `scratch_cells`, one bincount over it (a scratch of at most that many
    cells, dropped at once) is several times faster than sorting the keys; otherwise one sort."""
    if keys.size == 0:
        return keys.astype(np.int64), np.zeros(0)
    space = int(keys.max()) + 1
    if space <= scratch_cells:
        sums = np.bincount(keys, weights=values, minlength=space)
        present = np.bincount(keys, minlength=space) > 0
        found = np.flatnonzero(present)
        return found.astype(np.int64), np.asarray(sums[found], dtype=np.float64)
    small = keys.astype(np.int32) if int(keys.max()) < 2**31 else keys  # a faster sort when it fits
    order = np.argsort(small, kind="quicksort")
    ranked = keys[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    return ranked[starts].astype(np.int64), np.add.reduceat(values[order].astype(np.float64), starts)


def _member(sorted_keys: IntArray, keys: IntArray) -> tuple[NDArray[np.bool_], IntArray]:
    """Whether each of `keys` is in the ascending `sorted_keys`, and where (0 when absent)."""
    if sorted_keys.size == 0:
        return np.zeros(keys.size, dtype=bool), np.zeros(keys.size, dtype=np.int64)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    found = sorted_keys[at] == keys
    return found, np.where(found, at, 0).astype(np.int64)


def _fill_items(
    rows: int, keys: IntArray, order: IntArray, width: int, n_items: int
) -> tuple[IntArray, IntArray]:
    """Per row, the first `width` items of `order` that are not among its candidate `keys`
    (row × items + item, ascending). A prefix of `order` is gathered per row, widened only for the
    rows whose candidates cover it, so the work is rows × (width + their candidates), not rows × items."""
    out_row: list[IntArray] = []
    out_item: list[IntArray] = []
    pending = np.arange(rows, dtype=np.int64)
    size = min(n_items, 2 * width)
    while pending.size:
        pool = order[:size]
        wanted = (pending[:, None] * n_items + pool[None, :]).ravel()
        free = ~_member(keys, wanted)[0].reshape(pending.size, size)
        done = (free.sum(axis=1) >= width) | (size >= n_items)
        take = free & done[:, None] & (np.cumsum(free, axis=1) <= width)
        r, c = np.nonzero(take)
        out_row.append(pending[r])
        out_item.append(pool[c])
        pending = pending[~done]
        size = min(n_items, size * 4)
    if not out_row:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(out_row).astype(np.int64), np.concatenate(out_item).astype(np.int64)


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
    user: IntArray,
    item: IntArray,
    value: Array,
    n_users: int,
    n_items: int,
    k: int,
    block_cells: int,
    cosine: bool = True,
) -> tuple[IntArray, IntArray, NDArray[np.float32]]:
    """Top-k cosine neighbours of every item as CSR (ptr, neighbour, similarity); no m × m anywhere.
    With `cosine` False: raw dot products, each item its own neighbour too (the stacked item-kNN).

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
    if not cosine:
        norm = np.ones(n_items)
    per_user = np.diff(user_ptr)
    cost = np.bincount(item, weights=per_user[user], minlength=n_items)  # expanded pairs per item row
    cum = np.concatenate([[0.0], np.cumsum(cost)])
    max_rows = max(1, block_cells // max(n_items, 1))
    k = max(1, min(k, n_items - (1 if cosine else 0))) if n_items > 1 else 1
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
        if cosine:
            sims[np.arange(rows), np.arange(a, b)] = 0.0
        best, best_sim = _top_sorted(sims, min(k, n_items))
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


FEATURES = (
    "log1p(bought)",  # distinct purchase occasions of the item by the customer
    "own",  # the customer interacted with the item
    "last_age/30",  # months since the customer's latest interaction with it (capped; none = cap)
    "exp(-last_age/30)",
    "similar",  # history × neighbours, normalised to the customer's best
    "log1p(weight)",  # the customer's kind-weighted, decayed interactions with it
    "log1p(popularity)",
    "log1p(buyers_7d)",  # distinct customers in the last 7 / 30 / 90 days
    "log1p(buyers_30d)",
    "log1p(buyers_90d)",
    "repeat_rate",
    "own*repeat_rate",
    "bought/customer_max_bought",  # how central the item is to this customer's orders
    "log1p(customer_items)",
    "log1p(customer_last_age)",
)
KNN_FEATURES = (
    "log1p(knn)",  # the stacked BM25 item-kNN's score (`knn_neighbours` > 0)
    "similar*not_own",  # the similarity score of items the customer has not interacted with
)
AGE_CAP = 400.0  # days: "never" for the age features


def feature_names(config: RecommenderConfig) -> tuple[str, ...]:
    """The learned ranker's features under `config`."""
    return FEATURES + (KNN_FEATURES if config.knn_neighbours > 0 else ())


@dataclass(frozen=True)
class Ranker:
    """A logistic model over `FEATURES` (standardised), learned on the last label window."""

    mean: Array
    scale: Array
    coef: Array  # intercept first, then one weight per feature
    trained_rows: int = 0
    trained_positives: int = 0
    trees: Trees | None = None  # boosted on top of the linear score (`ranker_trees` > 0)
    names: tuple[str, ...] = FEATURES  # `feature_names(config)` of the config it was learned under

    def linear(self, x: NDArray[np.floating]) -> Array:
        products = np.einsum("ij,j->i", (x - self.mean) / self.scale, self.coef[1:])
        return np.asarray(self.coef[0] + products, dtype=np.float64)

    def score(self, x: NDArray[np.floating]) -> Array:
        base = self.linear(x)
        return base if self.trees is None else base + self.trees.score(x)

    def weights(self) -> dict[str, float]:
        return {"intercept": float(self.coef[0])} | dict(
            zip(self.names, (float(c) for c in self.coef[1:]), strict=True)
        )


@dataclass
class Candidates:
    """A block of customers' candidate items with their features (rows of `features` follow `local_user`)."""

    local_user: IntArray  # row within the block
    item: IntArray
    features: NDArray[np.float32]  # len(item) × len(FEATURES)
    similar: Array  # per candidate: history × neighbours, normalised to the row's best (0 = not similar)


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
    user_last_age: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    recent_buyers: Array = field(default_factory=lambda: np.zeros((3, 0)))  # 7 / 30 / 90 days × items
    # The stacked item-kNN (`knn_neighbours` > 0): CSR over items of BM25 dot products, self included.
    knn_ptr: IntArray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    knn_item: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    knn_sim: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    ranker: Ranker | None = None  # None: the fixed blend (`recommend_rows`)

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

    def blocks(self, user_rows: IntArray) -> Iterator[slice]:
        """Consecutive slices of `user_rows` whose scoring work (history × neighbours expanded, plus
        the candidates and fill of every customer) stays within `block_cells`."""
        hist_ptr = self.user_ptr
        nb_count = np.diff(self.neighbour_ptr)
        if self.knn_sim.size:
            nb_count = nb_count + np.diff(self.knn_ptr)
        per_entry = np.concatenate([[0], np.cumsum(nb_count[self.user_item])])
        cost = per_entry[hist_ptr[user_rows + 1]] - per_entry[hist_ptr[user_rows]]
        cost = cost + np.diff(hist_ptr)[user_rows] + 2 * self.config.candidates + 64
        cum = np.concatenate([[0], np.cumsum(cost)])
        start = 0
        while start < user_rows.size:
            by_cost = int(np.searchsorted(cum, cum[start] + self.config.block_cells, side="right")) - 1
            stop = min(user_rows.size, max(by_cost, start + 1))
            yield slice(start, stop)
            start = stop

    def _similar(self, user_rows: IntArray) -> tuple[IntArray, IntArray, IntArray, Array]:
        """Each history entry (row within the block, entry), and history × neighbours as sparse
        (row × items + item) keys, ascending, with their scores normalised to each row's best."""
        n_items = len(self.items)
        local_user, entry = _expand(self.user_ptr, user_rows)
        weights = self.user_weight[entry].astype(np.float64)
        owner, pos = _expand(self.neighbour_ptr, self.user_item[entry])
        flat = local_user[owner] * n_items + self.neighbour_item[pos]
        keys, sim = _sum_by_key(flat, weights[owner] * self.neighbour_sim[pos], self.config.block_cells)
        row = keys // max(n_items, 1)
        peak = np.zeros(user_rows.size)
        np.maximum.at(peak, row, sim)
        sim = np.where(peak[row] > 0, sim / np.where(peak[row] > 0, peak[row], 1.0), 0.0)
        return local_user, entry, keys, sim

    def _knn(self, user_rows: IntArray, keys: IntArray) -> Array:
        """The stacked item-kNN's score at `keys` (row × items + item): purchase counts × its CSR."""
        n_items = len(self.items)
        local_user, entry = _expand(self.user_ptr, user_rows)
        counts = self.user_bought[entry].astype(np.float64)
        owner, pos = _expand(self.knn_ptr, self.user_item[entry])
        flat = local_user[owner] * n_items + self.knn_item[pos]
        knn_keys, score = _sum_by_key(flat, counts[owner] * self.knn_sim[pos], self.config.block_cells)
        found, at = _member(knn_keys, keys)
        return np.where(found, score[at] if score.size else 0.0, 0.0)

    def candidates(self, user_rows: IntArray) -> Candidates:
        """Each customer's own items, their `candidates` most similar and the recent best sellers,
        with the ranker's features: customers × candidates entries, never customers × items."""
        rows, n_items = user_rows.size, len(self.items)
        local_user, entry, sim_keys, sim = self._similar(user_rows)
        c = min(self.config.candidates, n_items)
        positive = sim > 0
        best = _top_per_row(sim_keys[positive] // n_items, sim[positive], c)
        best_keys = sim_keys[positive][best]
        hot = np.argsort(-self.recent_buyers[1], kind="stable")[:c]
        hot = hot[self.recent_buyers[1][hot] > 0]
        hot_keys = (np.arange(rows)[:, None] * n_items + hot[None, :]).ravel()
        own_keys = local_user * n_items + self.user_item[entry]  # ascending: users, then items, sorted
        keys = np.unique(np.concatenate([own_keys, best_keys, hot_keys]))
        lu, item = keys // n_items, keys % n_items
        own, at = _member(own_keys, keys)
        e = entry[at] if own_keys.size else np.zeros(keys.size, dtype=np.int64)
        is_sim, sim_at = _member(sim_keys, keys)
        similar = np.where(is_sim, sim[sim_at] if sim.size else 0.0, 0.0)
        bought = np.where(own, self.user_bought[e], 0).astype(np.float64)
        last_age = np.where(own, np.minimum(self.user_last_age[e], AGE_CAP), AGE_CAP).astype(np.float64)
        weight = np.where(own, self.user_weight[e], 0.0).astype(np.float64)
        per_user_items = np.diff(self.user_ptr)[user_rows].astype(np.float64)
        max_bought = np.zeros(rows)
        np.maximum.at(max_bought, local_user, self.user_bought[entry].astype(np.float64))
        user_last = np.full(rows, AGE_CAP)
        np.minimum.at(user_last, local_user, np.minimum(self.user_last_age[entry], AGE_CAP))
        x = _features(
            self, lu, item, own, bought, last_age, weight, similar, max_bought, per_user_items, user_last
        )
        if self.config.knn_neighbours > 0:
            stacked = [np.log1p(self._knn(user_rows, keys)), similar * ~own]
            x = np.column_stack([x, *stacked]).astype(np.float32)
        return Candidates(lu, item, x, similar)

    def _rank(
        self,
        rows: int,
        lu: IntArray,
        item: IntArray,
        score: Array,
        fill: Array,
        n: int,
    ) -> tuple[IntArray, Array, IntArray]:
        """Per row, the n best of its candidates (`lu`, `item` ascending by key, scored `score`) and
        of every other item, which scores `fill[item]`: only the best `fill` items not among the
        row's candidates are gathered. Returns items, scores and candidate index (-1 = a fill item)."""
        n_items = len(self.items)
        width = min(n, n_items)
        keys = lu * n_items + item
        fill_lu, fill_item = _fill_items(rows, keys, np.argsort(-fill, kind="stable"), width, n_items)
        all_lu = np.concatenate([lu, fill_lu])
        all_item = np.concatenate([item, fill_item])
        all_score = np.concatenate([score, fill[fill_item]])
        source = np.concatenate([np.arange(lu.size), np.full(fill_lu.size, -1)])
        order = np.lexsort((all_item, -all_score, all_lu))
        ranked_lu = all_lu[order]
        rank = np.arange(order.size) - np.searchsorted(ranked_lu, ranked_lu, side="left")
        keep = order[rank < width]
        top = np.zeros((rows, n), dtype=np.int64)
        scores = np.full((rows, n), -np.inf)
        src = np.full((rows, n), -1, dtype=np.int64)
        r, slot = all_lu[keep], rank[rank < width]
        top[r, slot], scores[r, slot], src[r, slot] = all_item[keep], all_score[keep], source[keep]
        return top, scores, src

    def recommend_rows(self, user_rows: IntArray, n: int = 10) -> tuple[IntArray, Array, NDArray[np.int8]]:
        """`recommend_all` for the given user indexes only (rows of the result follow `user_rows`)."""
        user_rows = np.asarray(user_rows, dtype=np.int64)
        n_users, n_items = len(user_rows), len(self.items)
        top = np.zeros((n_users, n), dtype=np.int64)
        scores = np.full((n_users, n), -np.inf)
        reasons = np.full((n_users, n), 2, dtype=np.int8)
        if n_items == 0:
            return top, scores, reasons
        pop = self.popularity / max(float(self.popularity.max(initial=0.0)), 1e-12)
        for part in self.blocks(user_rows):
            rows = part.stop - part.start
            if self.ranker is None:
                lu, item, score, similar, own = self._fixed_candidates(user_rows[part], pop)
                fill = self.config.popularity_weight * pop
            else:
                cand = self.candidates(user_rows[part])
                lu, item, similar = cand.local_user, cand.item, cand.similar
                score, own = self.ranker.score(cand.features), cand.features[:, 1] > 0
                fill = pop - 1e6  # everything else ranks by popularity below every candidate
            best, best_scores, src = self._rank(rows, lu, item, score, fill, n)
            why = np.full(src.shape, 2, dtype=np.int8)
            hit = src >= 0
            at = np.where(hit, src, 0)
            why[hit & (similar[at] > 0)] = 0
            why[hit & own[at]] = 1
            top[part], scores[part], reasons[part] = best, best_scores, why
        return top, scores, reasons

    def _fixed_candidates(
        self, user_rows: IntArray, pop: Array
    ) -> tuple[IntArray, IntArray, Array, Array, NDArray[np.bool_]]:
        """The fixed blend over each customer's own items and every item their history × neighbours
        reaches: similarity + popularity tie-break + a re-buy term; one-off purchases left out."""
        n_items = len(self.items)
        local_user, entry, sim_keys, sim = self._similar(user_rows)
        own_keys = local_user * n_items + self.user_item[entry]
        keys = np.union1d(own_keys, sim_keys)
        lu, item = keys // n_items, keys % n_items
        is_sim, sim_at = _member(sim_keys, keys)
        similar = np.where(is_sim, sim[sim_at] if sim.size else 0.0, 0.0)
        own, at = _member(own_keys, keys)
        e = entry[at] if own_keys.size else np.zeros(keys.size, dtype=np.int64)
        bought = np.where(own, self.user_bought[e], 0)
        recent = np.where(own, self.user_recent[e], 0.0).astype(np.float64)
        own_peak = np.zeros(user_rows.size)
        np.maximum.at(own_peak, local_user, self.user_recent[entry].astype(np.float64))
        share = recent / np.maximum(own_peak[lu], 1e-12)
        rebuy = own & (
            (bought >= 2) | ((self.repeat_rate[item] >= self.config.repeat_rate_threshold) & (bought >= 1))
        )
        viewed_only = own & (bought == 0)
        floor_rate = np.maximum(self.repeat_rate[item], self.config.repeat_floor)
        repeat = np.where(rebuy, self.config.repeat_weight * share * floor_rate, 0.0)
        repeat = np.where(viewed_only, 0.5 * self.config.repeat_weight * share, repeat)
        score = similar + self.config.popularity_weight * pop[item] + repeat
        score[own & ~rebuy & ~viewed_only] = -np.inf
        return lu, item, score, similar, rebuy | viewed_only


def _features(
    model: ItemItemModel,
    lu: IntArray,
    item: IntArray,
    own: NDArray[np.bool_],
    bought: Array,
    last_age: Array,
    weight: Array,
    similar: Array,
    max_bought: Array,
    per_user_items: Array,
    user_last: Array,
) -> NDArray[np.float32]:
    """The ranker's `FEATURES` of every candidate (one row each)."""
    rr = model.repeat_rate[item]
    return np.column_stack(
        [
            np.log1p(bought),
            own.astype(np.float64),
            last_age / 30.0,
            np.exp(-last_age / 30.0),
            similar,
            np.log1p(weight),
            np.log1p(model.popularity[item]),
            np.log1p(model.recent_buyers[0][item]),
            np.log1p(model.recent_buyers[1][item]),
            np.log1p(model.recent_buyers[2][item]),
            rr,
            rr * own,
            bought / np.maximum(max_bought[lu], 1.0),
            np.log1p(per_user_items[lu]),
            np.log1p(user_last[lu]),
        ]
    ).astype(np.float32)


def fit_pairs(
    pairs: Pairs,
    config: RecommenderConfig,
    together: dict[int, list[tuple[int, float]]] | None = None,
    ranker: Ranker | None = None,
) -> ItemItemModel:
    n_users, n_items = len(pairs.users), len(pairs.items)
    order = np.lexsort((pairs.item, pairs.user))
    pu, pi = pairs.user[order], pairs.item[order]
    weight, recent, bought = pairs.weight[order], pairs.recent[order], pairs.bought[order]
    similar = (pairs.similar if pairs.similar is not None else pairs.weight)[order]
    last_age = (pairs.last_age if pairs.last_age is not None else np.zeros(pu.size))[order]

    # Popularity: decayed weight of distinct customers, and per-item repeat rate (smoothed).
    popularity = np.asarray(
        np.bincount(pi, weights=np.minimum(weight, 1.0), minlength=n_items), dtype=np.float64
    )
    buyers = np.bincount(pi[bought >= 1], minlength=n_items).astype(np.float64)
    rebuyers = np.bincount(pi[bought >= 2], minlength=n_items).astype(np.float64)
    base = rebuyers.sum() / max(buyers.sum(), 1.0)
    repeat_rate = (rebuyers + config.repeat_prior * base) / (buyers + config.repeat_prior)
    recent_buyers = np.stack(
        [np.bincount(pi[last_age < days], minlength=n_items).astype(np.float64) for days in (7.0, 30.0, 90.0)]
    )

    # Similarity input: each customer's heaviest max_user_items entries, re-weighted.
    rank_order = np.lexsort((-similar, pu))
    starts = np.searchsorted(pu[rank_order], pu[rank_order], side="left")
    rank = np.empty(pu.size, dtype=np.int64)
    rank[rank_order] = np.arange(pu.size) - starts
    sel = rank < config.max_user_items
    su, si = pu[sel], pi[sel]
    value = _reweight(su, si, np.log1p(similar[sel]), n_users, n_items, config)
    nz = value > 0
    ptr, nb, sim = item_neighbours(
        su[nz], si[nz], value[nz], n_users, n_items, config.neighbours, config.block_cells
    )

    user_ptr = np.zeros(n_users + 1, dtype=np.int64)
    user_ptr[1:] = np.cumsum(np.bincount(pu, minlength=n_users))
    knn = _knn_neighbours(pu, pi, bought, n_users, n_items, config)
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
        user_last_age=last_age.astype(np.float32),
        recent_buyers=recent_buyers,
        ranker=ranker,
        knn_ptr=knn[0],
        knn_item=knn[1],
        knn_sim=knn[2],
    )


def _knn_neighbours(
    user: IntArray, item: IntArray, bought: IntArray, n_users: int, n_items: int, config: RecommenderConfig
) -> tuple[IntArray, IntArray, NDArray[np.float32]]:
    """The stacked item-kNN: BM25-weighted purchase counts, dot products (self kept), top-k per item."""
    if config.knn_neighbours == 0:
        return np.zeros(n_items + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, np.float32)
    sel = bought > 0
    u, i = user[sel], item[sel]
    knn_config = replace(config, weighting="bm25", bm25_k1=config.knn_k1, bm25_b=config.knn_b)
    value = _reweight(u, i, bought[sel].astype(np.float64), n_users, n_items, knn_config)
    nz = value > 0
    return item_neighbours(
        u[nz], i[nz], value[nz], n_users, n_items, config.knn_neighbours, config.block_cells, cosine=False
    )


def _logistic(x: Array, y: Array, sample_weight: Array, l2: float, iterations: int = 25) -> Array:
    """Ridge-penalised logistic regression by Newton's method (x standardised, intercept first).

    The products go through einsum, not BLAS: a multi-threaded BLAS on a busy machine (or a Lambda's
    shared vCPUs) turned a 0.04 s product into seconds.
    """
    z = np.column_stack([np.ones(x.shape[0]), x])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    coef = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(np.einsum("ij,j->i", z, coef), -30.0, 30.0)))
        grad = np.einsum("ij,i->j", z, sample_weight * (p - y)) + penalty * coef
        curvature = sample_weight * p * (1.0 - p)
        hess = np.einsum("ij,ik->jk", z * curvature[:, None], z) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        coef -= step
        if float(np.abs(step).max()) < 1e-5:
            break
    return coef


def learn_ranker(before: Pairs, labels: IntArray, config: RecommenderConfig) -> Ranker | None:
    """Fit `Ranker` on what customers bought in the label window, from features of the time before it.

    `before`: the history up to the window's start (indexed like the final model); `labels`: the
    (customer × items + item) keys of the purchases inside it. Scored are the customers with history
    before the window who bought in it (at most `ranker_max_users`, evenly spread); each of them
    weighs the same whatever their basket size, as recall@k does. None when the window holds too
    little to learn from (the model then ranks with the fixed blend).
    """
    n_items = len(before.items)
    if n_items < 2 or labels.size == 0:
        return None
    model = fit_pairs(before, replace(config, ranker="fixed"))
    has_history = np.diff(model.user_ptr) > 0
    users = np.unique(labels // n_items)
    users = users[has_history[users]]
    if users.size > config.ranker_max_users:
        users = users[np.linspace(0, users.size - 1, config.ranker_max_users).astype(np.int64)]
    xs, ys, owners = [], [], []
    for part in model.blocks(users):
        block = users[part]
        cand = model.candidates(block)
        xs.append(cand.features)
        ys.append(np.isin(block[cand.local_user] * n_items + cand.item, labels))
        owners.append(block[cand.local_user])
    if not xs:
        return None
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys).astype(np.float64)
    if y.sum() < x.shape[1] or y.sum() == y.size:
        return None
    owner = np.concatenate(owners)
    _, owner = np.unique(owner, return_inverse=True)
    positives = np.bincount(owner, weights=y)
    sample_weight = 1.0 / np.clip(positives[owner], 1.0, 10.0)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    coef = _logistic((x - mean) / scale, y, sample_weight, config.ranker_l2)
    linear = Ranker(
        mean,
        scale,
        coef,
        trained_rows=int(y.size),
        trained_positives=int(y.sum()),
        names=feature_names(config),
    )
    if config.ranker_trees == 0:
        return linear
    # The trees see every positive and an even sample of the negatives (re-weighted to their share).
    negatives = np.flatnonzero(y == 0)
    room = max(config.ranker_tree_rows - int(y.sum()), 1)
    picked = negatives[np.linspace(0, negatives.size - 1, min(room, negatives.size)).astype(np.int64)]
    rows = np.sort(np.concatenate([np.flatnonzero(y > 0), picked]))
    w = sample_weight[rows] * np.where(y[rows] > 0, 1.0, negatives.size / max(picked.size, 1))
    trees = fit_trees(
        x[rows],
        y[rows],
        w,
        linear.linear(x[rows]),
        config.ranker_trees,
        config.ranker_depth,
        config.ranker_rate,
    )
    return replace(linear, trees=trees)


def _window_keys(user: IntArray, item: IntArray, n_items: int) -> IntArray:
    return np.unique(user.astype(np.int64) * n_items + item.astype(np.int64))


def fit(data: Interactions, config: RecommenderConfig | None = None) -> ItemItemModel:
    """From raw interactions (one row per event). With the learned ranker, the last
    `label_window_days` of purchases train it on features of the history before them."""
    config = config or RecommenderConfig()
    ranker = None
    if config.ranker == "learned":
        window = config.label_window_days
        earlier = data.age_days >= window
        before = Interactions(
            user=data.user[earlier],
            item=data.item[earlier],
            kind=data.kind[earlier],
            age_days=data.age_days[earlier] - window,
            basket=data.basket[earlier],
            users=data.users,
            items=data.items,
        )
        bought = ~earlier & (data.kind == PURCHASE)
        labels = _window_keys(data.user[bought], data.item[bought], len(data.items))
        ranker = learn_ranker(pairs_from_interactions(before, config), labels, config)
    return fit_pairs(
        pairs_from_interactions(data, config), config, together=bought_together(data, n=10), ranker=ranker
    )


def fit_aggregate(
    agg: InteractionAggregate,
    now: datetime,
    config: RecommenderConfig | None = None,
    before: InteractionAggregate | None = None,
) -> ItemItemModel:
    """From the archive's interaction aggregate (no baskets in it: `together` stays empty).

    `before` = the same aggregate over the history that ends `label_window_days` before `now`; with
    it (and `ranker="learned"`) the ranker is learned as `fit` does, without it the fixed blend ranks.
    """
    config = config or RecommenderConfig()
    pairs = pairs_from_aggregate(agg, now, config)
    ranker = None
    if config.ranker == "learned" and before is not None:
        window_start = now - timedelta(days=config.label_window_days)
        earlier = pairs_from_aggregate(before, window_start, config, names=(pairs.users, pairs.items))
        start = window_start.timestamp()
        kinds = np.array([KINDS[str(k)] == PURCHASE for k in agg.kind], dtype=bool)
        in_window = kinds & (_epoch_seconds(agg.last_at) >= start)
        user, _ = _lookup(pairs.users, np.asarray(agg.customer_id, dtype=object).astype(str))
        item, _ = _lookup(pairs.items, np.asarray(agg.product_id, dtype=object).astype(str))
        labels = _window_keys(user[in_window], item[in_window], len(pairs.items))
        ranker = learn_ranker(earlier, labels, config)
    return fit_pairs(pairs, config, ranker=ranker)


def bought_together(
    data: Interactions, n: int = 10, min_count: int = 2
) -> dict[int, list[tuple[int, float]]]:
    """Items most often in the same order as each item, scored by co-occurrence / sqrt(both counts)."""
    sel = (data.kind == PURCHASE) & (data.basket >= 0)
    basket, item = data.basket[sel], data.item[sel]
    n_items = len(data.items)
    pair_keys = np.unique(basket * n_items + item)
    if pair_keys.size == 0:
        return {}
    basket, item = pair_keys // n_items, pair_keys % n_items
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
