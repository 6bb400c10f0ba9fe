"""The nightly job for one shop: recommendations into the customers table, predictions onto profiles.

Reads the shop's interaction aggregate, product categories and bought-together pairs with SQL over the
event archive (kaeri/archive/sql: DuckDB locally, Athena on AWS) and its profiles (customers index
by_shop), so one run's memory is bounded by the aggregate and the profiles, not by the event count.
`run` fans out: one shop per run (an asynchronous invocation each on AWS). Clients are injected
(kaeri.aws.AwsClients), so the same code runs on AWS, on the local stack and against moto in tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from kaeri import clock
from kaeri.archive import queries
from kaeri.archive.engine import Engine
from kaeri.archive.engines import archive_engine
from kaeri.clock import iso, parse_iso
from kaeri.predictions import bgnbd, gamma_gamma, recommender
from kaeri.predictions.recommender import RecommenderConfig
from kaeri.predictions.store import customer_key, popular_key, together_key
from kaeri.profiles.customers import CustomersTable, PredictionWrite
from kaeri.profiles.model import Predictions

REASONS = {0: "similar", 1: "rebuy", 2: "popular"}


@dataclass(frozen=True)
class NightlyConfig:
    history_days: int = 365
    top_n: int = 20
    popular_n: int = 50
    together_n: int = 10
    # Churn band from P(no order in the next 90 days).
    churn_high: float = 0.8
    churn_medium: float = 0.5
    min_customers_for_fit: int = 20
    recommender: RecommenderConfig = field(default_factory=RecommenderConfig)


@dataclass
class NightlyResult:
    shop_id: str
    aggregate_rows: int = 0  # (customer, product, kind) rows the recommender trained on
    rows_scanned: int = 0  # archive rows the queries read (DuckDB)
    bytes_scanned: int = 0  # what Athena billed
    customers_with_recs: int = 0
    popular_items: int = 0
    categories: int = 0
    together_lists: int = 0
    profiles_read: int = 0
    profiles_predicted: int = 0
    bgnbd_params: dict[str, float] | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- reading -----------------------------------------------------------------------------------


def read_profiles(clients: Any, shop_id: str) -> list[dict[str, Any]]:
    return list(CustomersTable.of(clients).profile_items(shop_id))


def list_shops(clients: Any) -> list[str]:
    """Every shop registered in the config table (items SHOP#{shop} / META)."""
    from kaeri.shops import shop_ids

    return shop_ids(clients)


# --- computing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPrediction:
    pk: str
    predictions: Predictions


def predict_customers(
    profiles: list[dict[str, Any]], now: datetime, config: NightlyConfig
) -> tuple[list[CustomerPrediction], dict[str, float] | None]:
    """BG/NBD (in days) and Gamma-Gamma from each buyer's order count, first and last order and spend."""
    rows = []
    for item in profiles:
        count = int(item.get("order_count") or 0)
        if count < 1 or not item.get("first_order_at") or not item.get("last_order_at"):
            continue
        first = parse_iso(str(item["first_order_at"]))
        last = parse_iso(str(item["last_order_at"]))
        age = max((now - first).total_seconds() / 86400.0, 1e-3)
        recency = min(max((last - first).total_seconds() / 86400.0, 0.0), age)
        spent = float(item.get("total_spent") or 0)
        rows.append((str(item["pk"]), count - 1, recency, age, spent / count, last))
    if len(rows) < config.min_customers_for_fit or not any(r[1] > 0 for r in rows):
        return [], None
    x = np.array([r[1] for r in rows], dtype=np.int64)
    t_x = np.array([r[2] for r in rows])
    T = np.array([r[3] for r in rows])
    value = np.array([r[4] for r in rows])
    params = bgnbd.fit(x, t_x, T).params
    alive = bgnbd.p_alive(params, x, t_x, T)
    expected = {h: bgnbd.expected_orders(params, float(h), x, t_x, T) for h in (30, 90, 365)}
    try:
        spend = gamma_gamma.expected_order_value(gamma_gamma.fit(x, value).params, x, value)
    except ValueError:
        spend = value  # too few repeat buyers to pool: each customer's own average
    wait = bgnbd.time_to_next_order(params, x, t_x, T)
    quiet_90 = (1.0 - alive) + alive * np.power((params.alpha + T) / (params.alpha + T + 90.0), params.r + x)
    out = []
    for i, row in enumerate(rows):
        risk = (
            "high"
            if quiet_90[i] >= config.churn_high
            else "medium"
            if quiet_90[i] >= config.churn_medium
            else "low"
        )
        next_at = now + timedelta(days=float(wait[i])) if math.isfinite(float(wait[i])) else None
        out.append(
            CustomerPrediction(
                row[0],
                Predictions(
                    p_alive=round(float(alive[i]), 6),
                    expected_orders_30d=round(float(expected[30][i]), 6),
                    expected_orders_90d=round(float(expected[90][i]), 6),
                    expected_orders_365d=round(float(expected[365][i]), 6),
                    predicted_value_365d=round(float(expected[365][i] * spend[i]), 2),
                    next_order_at=next_at,
                    churn_risk=risk,
                    computed_at=now,
                ),
            )
        )
    return out, params.as_dict()


# --- writing -----------------------------------------------------------------------------------


def _entries(pairs: list[tuple[str, float, str]]) -> list[dict[str, Any]]:
    return [{"product_id": p, "score": Decimal(f"{s:.6g}"), "reason": r} for p, s, r in pairs]


def _dynamo_predictions(p: Predictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in p.model_dump().items():
        if value is None:
            continue
        if isinstance(value, datetime):
            out[name] = iso(value)
        elif isinstance(value, float):
            out[name] = Decimal(f"{value:.6g}")
        else:
            out[name] = value
    return out


def write_predictions(clients: Any, shop_id: str, predictions: list[CustomerPrediction]) -> int:
    """SET predictions and churn_key on each PROFILE item; never creates or replaces a profile."""
    return CustomersTable.of(clients).write_predictions(
        PredictionWrite(cp.pk, _dynamo_predictions(cp.predictions), f"{shop_id}#{cp.predictions.churn_risk}")
        for cp in predictions
    )


def _aggregate(columns: dict[str, Any]) -> Any:
    """The recommender's input from the interactions query's numpy columns (Engine.query_columns)."""
    return recommender.InteractionAggregate(
        customer_id=columns["customer_id"],
        product_id=columns["product_id"],
        kind=columns["kind"],
        count=columns["count"],
        last_at=columns["last_at"].astype("datetime64[ms]").astype(np.int64) / 1000.0,
    )


def _rows(columns: dict[str, Any]) -> int:
    return len(columns["customer_id"]) if columns else 0


def _fit(aggregate: Any, now: datetime, config: NightlyConfig, before: Any = None) -> Any:
    """The recommender on the aggregate; `before` (the aggregate up to the label window) trains its ranker."""
    earlier = _aggregate(before) if before is not None and _rows(before) else None
    return recommender.fit_aggregate(_aggregate(aggregate), now, config.recommender, before=earlier)


@dataclass
class Computed:
    model: Any  # recommender.ItemItemModel | None (no interactions)
    categories: dict[str, str]
    aggregate_rows: int


def compute_recommendations(engine: Engine, shop_id: str, now: datetime, config: NightlyConfig) -> Computed:
    """SQL over the archive (aggregate, categories, bought-together), then the recommender; no writes."""
    params = queries.period_params(shop_id, now - timedelta(days=config.history_days), now)
    aggregate = engine.query_columns("interactions", params)
    rows = _rows(aggregate)
    if rows == 0:
        return Computed(None, {}, rows)
    before = None
    if config.recommender.ranker == "learned":
        window_start = now - timedelta(days=config.recommender.label_window_days)
        since = now - timedelta(days=config.history_days)
        before = engine.query_columns("interactions", queries.period_params(shop_id, since, window_start))
    model = _fit(aggregate, now, config, before)
    del before
    del aggregate
    categories = {str(r["product_id"]): str(r["category"]) for r in engine.query("categories", params)}
    pairs = engine.query("together", {**params, "together_n": config.together_n})
    index = model.item_index
    together: dict[int, list[tuple[int, float]]] = {}
    for row in pairs:
        a, b = index.get(str(row["product_id"])), index.get(str(row["other_id"]))
        if a is not None and b is not None:
            together.setdefault(a, []).append((b, float(row["score"])))
    # Best first, ties by product id, as the query orders them: Athena's UNLOAD writes several objects,
    # so rows arrive in no particular order across them (tests/unit/test_archive_row_order.py).
    for partners in together.values():
        partners.sort(key=lambda pair: (-pair[1], model.items[pair[0]]))
    model.together = together
    return Computed(model, categories, rows)


def run_shop(
    clients: Any,
    shop_id: str,
    config: NightlyConfig | None = None,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> NightlyResult:
    """One shop: the interaction aggregate from the archive (SQL), the recommender, predictions."""
    import time

    config = config or NightlyConfig()
    now = now or clock.now()
    started = time.perf_counter()
    result = NightlyResult(shop_id=shop_id)
    computed_at = iso(now)
    customers = CustomersTable.of(clients)

    engine = engine or archive_engine(clients)
    if engine is None:
        raise ValueError("no event archive configured (KAERI_ARCHIVE_PATH or KAERI_ARCHIVE_DATABASE)")
    computed = compute_recommendations(engine, shop_id, now, config)
    result.aggregate_rows = computed.aggregate_rows
    if computed.model is not None:
        model, categories = computed.model, computed.categories
        top, scores, reasons = model.recommend_all(config.top_n)
        popular = model.popular(config.popular_n)
        by_category = recommender.category_popularity(model, categories, config.popular_n)
        with customers.recs_writer(computed_at) as put_recs:

            def put(pk: str, pairs: list[tuple[str, float, str]]) -> None:
                put_recs(pk, _entries(pairs))

            for u, user in enumerate(model.users):
                pairs = [
                    (model.items[j], float(s), REASONS[int(r)])
                    for j, s, r in zip(top[u], scores[u], reasons[u], strict=True)
                    if np.isfinite(s) and s > 0
                ]
                if pairs:
                    put(customer_key(shop_id, user), pairs)
                    result.customers_with_recs += 1
            put(popular_key(shop_id), [(p, s, "popular") for p, s in popular])
            result.popular_items = len(popular)
            for category, ranked in by_category.items():
                put(popular_key(shop_id, category), [(p, s, "popular") for p, s in ranked])
            result.categories = len(by_category)
            for item, partners in model.together.items():
                put(
                    together_key(shop_id, model.items[item]),
                    [(model.items[j], s, "bought_together") for j, s in partners[: config.together_n]],
                )
            result.together_lists = len(model.together)

    profiles = read_profiles(clients, shop_id)
    result.profiles_read = len(profiles)
    predictions, params = predict_customers(profiles, now, config)
    result.bgnbd_params = params
    result.profiles_predicted = write_predictions(clients, shop_id, predictions)
    result.seconds = time.perf_counter() - started
    stats = getattr(engine, "stats", None)
    result.rows_scanned = getattr(stats, "rows_scanned", 0)
    result.bytes_scanned = getattr(stats, "bytes_scanned", 0)
    return result


def run(
    clients: Any,
    shop_id: str | None = None,
    config: NightlyConfig | None = None,
    fan_out: Callable[[str], None] | None = None,
) -> list[NightlyResult]:
    """One shop, or every shop: each handed to `fan_out` (its own run) when given, else run here in turn."""
    if shop_id:
        return [run_shop(clients, shop_id, config)]
    shops = list_shops(clients)
    if fan_out is not None:
        for shop in shops:
            fan_out(shop)
        return [NightlyResult(shop_id=shop) for shop in shops]
    return [run_shop(clients, shop, config) for shop in shops]
