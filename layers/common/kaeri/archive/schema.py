"""The archive's columns: one definition for the local Parquet writer, the Glue tables and the docs.

Partitions are Hive-style folders `shop_id=<shop>/dt=<YYYY-MM-DD>/` under each dataset's prefix, so a
query for one shop and a date range reads only those files (on Athena: partition projection; DuckDB:
hive partitioning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A product line of an order (array element of `events.products`).
LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("product_id", "string"),
    ("category", "string"),
    ("price", "double"),
    ("quantity", "double"),
)
PRODUCTS_TYPE = "array<struct<" + ",".join(f"{n}:{t}" for n, t in LINE_FIELDS) + ">>"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Glue / Hive type
    comment: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str  # folder under the archive root and Glue table name
    columns: tuple[Column, ...]
    time_column: str  # the column `dt` is derived from
    key: str  # a row's identity: duplicates (retries) share it
    version_column: str | None = None  # latest wins for rows that change (messages)
    purpose: str = ""


PARTITION_KEYS: tuple[Column, ...] = (
    Column("shop_id", "string", "the shop"),
    Column("dt", "string", "UTC day of the time column, YYYY-MM-DD"),
)

EVENTS = Dataset(
    name="events",
    time_column="ts",
    key="message_id",
    purpose="every accepted tracking event, once per messageId (a retried delivery may repeat a row)",
    columns=(
        Column("message_id", "string", "event id; the dedup key"),
        Column("type", "string", "track | identify | page | screen | alias | group"),
        Column("event", "string", "track name"),
        Column("customer_id", "string", "user id, or anon:<anonymous id>"),
        Column("user_id", "string"),
        Column("anonymous_id", "string"),
        Column("ts", "timestamp", "when it happened (UTC)"),
        Column("received_at", "timestamp", "when Kaeri stored it (UTC)"),
        Column("source", "string"),
        Column("product_id", "string", "properties.product_id / sku / id"),
        Column("category", "string", "properties.category"),
        Column("order_id", "string", "properties.order_id / checkout_id, else the event id"),
        Column("revenue", "double", "properties.total / revenue as sent (null when absent)"),
        Column("currency", "string"),
        Column("ref_message_id", "string", "properties.message_id: the message an engagement is about"),
        Column("products", PRODUCTS_TYPE, "order lines"),
        Column("properties", "string", "all properties as JSON"),
        Column("traits", "string", "traits as JSON"),
    ),
)

MESSAGES = Dataset(
    name="messages",
    time_column="created_at",
    key="message_id",
    version_column="archived_at",
    purpose="the message log: one row per change of a message; the latest archived_at is its state",
    columns=(
        Column("message_id", "string"),
        Column("customer_id", "string"),
        Column("scenario_id", "string"),
        Column("step_id", "string"),
        Column("journey_id", "string"),
        Column("variant", "string"),
        Column("channel", "string"),
        Column("status", "string", "pending | sent | skipped | failed"),
        Column("skip_reason", "string"),
        Column("created_at", "timestamp"),
        Column("sent_at", "timestamp"),
        Column("archived_at", "timestamp", "when this version was archived"),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (EVENTS, MESSAGES)}


def arrow_schema(dataset: Dataset) -> Any:  # a pyarrow.Schema (pyarrow is a local-only dependency)
    import pyarrow as pa

    line = pa.struct([(n, pa.string() if t == "string" else pa.float64()) for n, t in LINE_FIELDS])
    types = {
        "string": pa.string(),
        "double": pa.float64(),
        "timestamp": pa.timestamp("ms"),
        PRODUCTS_TYPE: pa.list_(line),
    }
    return pa.schema([(c.name, types[c.type]) for c in dataset.columns])
