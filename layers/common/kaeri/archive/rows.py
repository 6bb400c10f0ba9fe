"""A stored event or message-log item as one archive row (a mapping, no aggregation).

The same functions serve the local archiver and, on AWS, Firehose's transform of the table streams,
so both archives hold the same rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kaeri.clock import parse_iso
from kaeri.events import StoredEvent, from_dynamo


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _utc(value: datetime | None) -> datetime | None:
    """Naive UTC (Parquet/Glue `timestamp` has no zone)."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return _utc(value if isinstance(value, datetime) else parse_iso(str(value)))


def _product(props: dict[str, Any]) -> str | None:
    return _text(props.get("product_id") or props.get("sku") or props.get("id"))


def _lines(props: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for line in props.get("products") or []:
        if not isinstance(line, dict):
            continue
        out.append(
            {
                "product_id": _product(line),
                "category": _text(line.get("category")),
                "price": _number(line.get("price")),
                "quantity": _number(line.get("quantity", 1) or 1),
            }
        )
    return out


def event_row(event: StoredEvent) -> dict[str, Any]:
    p = event.properties
    revenue = p.get("total", p.get("revenue"))
    return {
        "shop_id": event.shop_id,
        "dt": _utc(event.timestamp).strftime("%Y-%m-%d"),  # type: ignore[union-attr]
        "message_id": event.message_id,
        "type": event.type,
        "event": event.event,
        "customer_id": event.identity,
        "user_id": event.user_id,
        "anonymous_id": event.anonymous_id,
        "ts": _utc(event.timestamp),
        "received_at": _utc(event.received_at),
        "source": event.source,
        "product_id": _product(p),
        "category": _text(p.get("category")),
        "order_id": _text(p.get("order_id") or p.get("checkout_id")) or event.message_id,
        "revenue": None if revenue is None else _number(revenue),
        "currency": _text(p.get("currency")),
        "ref_message_id": _text(p.get("message_id")),
        "products": _lines(p),
        "properties": json.dumps(p, default=str, ensure_ascii=False, sort_keys=True),
        "traits": json.dumps(event.traits, default=str, ensure_ascii=False, sort_keys=True),
    }


def event_row_from_item(item: dict[str, Any]) -> dict[str, Any]:
    return event_row(StoredEvent.from_item(item))


def message_row(item: dict[str, Any], archived_at: datetime) -> dict[str, Any] | None:
    """A message-log item (resource-layer types) as a row; None for items that are not a message."""
    item = from_dynamo(item)
    created = _time(item.get("created_at"))
    if created is None or not item.get("message_id") or not item.get("shop_id"):
        return None
    return {
        "shop_id": str(item["shop_id"]),
        "dt": created.strftime("%Y-%m-%d"),
        "message_id": str(item["message_id"]),
        "customer_id": str(item.get("customer_id", "")),
        "scenario_id": _text(item.get("scenario_id")),
        "step_id": _text(item.get("step_id")),
        "journey_id": _text(item.get("journey_id")),
        "variant": _text(item.get("variant")),
        "channel": _text(item.get("channel")),
        "status": str(item.get("status", "pending")),
        "skip_reason": _text(item.get("skip_reason")),
        "created_at": created,
        "sent_at": _time(item.get("sent_at")),
        "archived_at": _utc(archived_at),
    }
