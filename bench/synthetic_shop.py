"""A synthetic shop written straight into the archive's Parquet layout (no DynamoDB, no API).

Customers with skewed activity, a catalogue with long-tail popularity (Zipf-like, a few products take
most views), and sessions of views, cart adds and orders at e-commerce ratios: about 3.3 product
views a session, a cart add in 25% of sessions, an order in 7% (1 to 3 lines, the carted product
first), plus an email engagement event for a sixth of sessions and a message-log row per ten
sessions. One file per day, generated a day at a time so the generator's memory stays flat. Deterministic for a
spec (seeded): `cache_key` names the output, so a bench re-run reuses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kaeri.archive.schema import EVENTS, MESSAGES, arrow_schema

VIEWS_PER_SESSION = 3.3
CART_SHARE = 0.25
ORDER_SHARE = 0.07
EMAIL_SHARE = 1 / 6
MESSAGE_SHARE = 0.1
EVENTS_PER_SESSION = VIEWS_PER_SESSION + CART_SHARE + ORDER_SHARE + EMAIL_SHARE
# Bump when the generator's output changes for the same spec (invalidates cached archives).
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class ShopSpec:
    events: int
    customers: int
    products: int
    days: int = 365
    shop_id: str = "bench-shop"
    seed: int = 7


def cache_key(spec: ShopSpec, end: datetime) -> str:
    """A short digest of everything the output depends on: the spec, the end date, the generator."""
    described = {**asdict(spec), "end": end.isoformat(), "generator": GENERATOR_VERSION}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:12]


def popularity(products: int) -> np.ndarray:
    """Each product's share of views: a long tail, ∝ 1 / (rank + 5) ** 1.05."""
    weights = 1.0 / np.power(np.arange(1, products + 1) + 5.0, 1.05)
    return weights / weights.sum()


def _strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(numbers).cast(pa.string()), "")


def generate(spec: ShopSpec, root: Path, end: datetime) -> dict[str, int]:
    rng = np.random.default_rng(spec.seed)
    shares = popularity(spec.products)
    prices = np.round(rng.lognormal(np.log(3000), 0.7, spec.products), -1)
    categories = rng.integers(0, 40, spec.products)
    activity = rng.pareto(1.5, spec.customers) + 1.0
    activity /= activity.sum()
    sessions_per_day = max(1, int(spec.events / EVENTS_PER_SESSION / spec.days))
    schema, message_schema = arrow_schema(EVENTS), arrow_schema(MESSAGES)
    counts = {"events": 0, "messages": 0, "files": 0}
    serial = 0
    for d in range(spec.days):
        day = (end - timedelta(days=spec.days - d)).replace(hour=0, minute=0, second=0, microsecond=0)
        n = sessions_per_day
        customer = rng.choice(spec.customers, n, p=activity)
        start_ms = int(day.timestamp() * 1000) + rng.integers(0, 86_400_000, n)
        views = 1 + rng.geometric(1 / VIEWS_PER_SESSION, n) - 1
        views = np.maximum(views, 1)
        v_session = np.repeat(np.arange(n), views)
        v_product = rng.choice(spec.products, v_session.size, p=shares)
        first_view = np.r_[0, np.cumsum(views)[:-1]]
        carted = rng.random(n) < CART_SHARE
        ordered = carted & (rng.random(n) < ORDER_SHARE / CART_SHARE)
        emailed = rng.random(n) < EMAIL_SHARE
        c_session = np.flatnonzero(carted)
        o_session = np.flatnonzero(ordered)
        e_session = np.flatnonzero(emailed)
        kinds = (
            ["Product Viewed"] * v_session.size
            + ["Product Added"] * c_session.size
            + ["Order Completed"] * o_session.size
            + ["Email Opened"] * e_session.size
        )
        session = np.concatenate([v_session, c_session, o_session, e_session])
        offset = np.concatenate(
            [
                np.arange(v_session.size) - first_view[v_session],
                np.full(c_session.size, 30),
                np.full(o_session.size, 40),
                np.full(e_session.size, -5),
            ]
        )
        product = np.concatenate(
            [
                v_product,
                v_product[first_view[c_session]],
                np.full(o_session.size, -1),
                np.full(e_session.size, -1),
            ]
        )
        rows = session.size
        ids = np.arange(serial, serial + rows)
        serial += rows
        ts = pa.array((start_ms[session] + offset * 60_000).astype("datetime64[ms]"), pa.timestamp("ms"))
        has_product = product >= 0
        product_ids = pc.if_else(pa.array(has_product), _strings("p", np.maximum(product, 0)), None)
        category = pc.if_else(
            pa.array(has_product), _strings("cat", categories[np.maximum(product, 0)]), None
        )
        # Orders: the carted product first, then 0-2 more from the popular head.
        k = 1 + rng.integers(0, 3, o_session.size)
        order_start = np.r_[0, np.cumsum(k)[:-1]].astype(np.int64)
        line_product = rng.choice(spec.products, int(k.sum()), p=shares)
        line_product[order_start] = v_product[first_view[o_session]]
        per_row = np.zeros(rows, dtype=np.int32)
        first_order_row = v_session.size + c_session.size
        per_row[first_order_row : first_order_row + o_session.size] = k
        offsets = pa.array(np.r_[0, np.cumsum(per_row)].astype(np.int32))
        lines = pa.StructArray.from_arrays(
            [
                _strings("p", line_product),
                _strings("cat", categories[line_product]),
                pa.array(prices[line_product], pa.float64()),
                pa.array(np.ones(line_product.size), pa.float64()),
            ],
            names=["product_id", "category", "price", "quantity"],
        )
        products = pa.ListArray.from_arrays(offsets, lines).cast(schema.field("products").type)
        order_revenue = np.add.reduceat(prices[line_product], order_start) if o_session.size else np.zeros(0)
        revenue_values = np.full(rows, np.nan)
        revenue_values[first_order_row : first_order_row + o_session.size] = order_revenue
        revenue = pa.array(revenue_values, pa.float64(), from_pandas=True)
        is_order = np.zeros(rows, dtype=bool)
        is_order[v_session.size + c_session.size : v_session.size + c_session.size + o_session.size] = True
        message_ids = _strings("e", ids)
        customer_ids = _strings("c", customer[session])
        order_ids = pc.if_else(pa.array(is_order), _strings("o", ids), message_ids)
        is_email = np.zeros(rows, dtype=bool)
        is_email[-e_session.size :] = e_session.size > 0
        ref = pc.if_else(pa.array(is_email), _strings("m", customer[session]), None)
        table = pa.table(
            {
                "message_id": message_ids,
                "type": pa.array(["track"] * rows),
                "event": pa.array(kinds),
                "customer_id": customer_ids,
                "user_id": customer_ids,
                "anonymous_id": pa.nulls(rows, pa.string()),
                "ts": ts,
                "received_at": ts,
                "source": pa.array(["segment"] * rows),
                "product_id": product_ids,
                "category": category,
                "order_id": order_ids,
                "revenue": revenue,
                "currency": pa.array(["JPY"] * rows),
                "ref_message_id": ref,
                "products": products,
                "properties": pa.array([json.dumps({"synthetic": True})] * rows),
                "traits": pa.array(["{}"] * rows),
            },
            schema=schema,
        )
        folder = root / "events" / f"shop_id={spec.shop_id}" / f"dt={day:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        counts["events"] += rows
        counts["files"] += 1
        m = np.flatnonzero(rng.random(n) < MESSAGE_SHARE)
        created = pa.array((start_ms[m] - 3_600_000).astype("datetime64[ms]"), pa.timestamp("ms"))
        messages = pa.table(
            {
                "message_id": _strings(f"m{d}-", m),
                "customer_id": _strings("c", customer[m]),
                "scenario_id": pa.array(["winback"] * m.size),
                "step_id": pa.array(["s1"] * m.size),
                "journey_id": _strings(f"j{d}-", m),
                "variant": pa.nulls(m.size, pa.string()),
                "channel": pa.array(["email"] * m.size),
                "status": pa.array(["sent"] * m.size),
                "skip_reason": pa.nulls(m.size, pa.string()),
                "created_at": created,
                "sent_at": created,
                "archived_at": created,
            },
            schema=message_schema,
        )
        folder = root / "messages" / f"shop_id={spec.shop_id}" / f"dt={day:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(messages, folder / "part-0.parquet", compression="zstd")
        counts["messages"] += m.size
    return counts


END = datetime(2026, 1, 1, tzinfo=UTC)
