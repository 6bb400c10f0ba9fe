"""The stored form of a tracking event: what the events table holds and its stream carries."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from kaeri.clock import iso, parse_iso

# Longer than any window read from the events table: history (365 days), interest (365), attribution (90).
EVENTS_TTL_DAYS = 400

EventType = Literal["track", "identify", "page", "screen", "alias", "group"]
Source = Literal["segment", "shopify", "catalog", "kaeri"]


def customer_key(user_id: str | None, anonymous_id: str | None) -> str:
    """The identity an event is filed under before alias resolution."""
    if user_id:
        return user_id
    if anonymous_id:
        return f"anon:{anonymous_id}"
    raise ValueError("an event needs userId or anonymousId")


class StoredEvent(BaseModel):
    shop_id: str
    message_id: str
    type: EventType
    event: str | None = None  # track name; "Page Viewed"-style names are not invented for page calls
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None  # alias
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime  # when it happened, skew-corrected
    received_at: datetime
    source: Source = "segment"

    @field_validator("timestamp", "received_at")
    @classmethod
    def _millisecond_utc(cls, value: datetime) -> datetime:
        """Stored timestamps carry milliseconds in UTC, so an event survives a round trip unchanged."""
        return parse_iso(iso(value))

    @property
    def identity(self) -> str:
        return customer_key(self.user_id, self.anonymous_id)

    def to_item(self, ttl_days: int = EVENTS_TTL_DAYS) -> dict[str, Any]:
        """The DynamoDB item (resource-layer types: numbers as Decimal).

        `expires_at` (the table's TTL attribute) is `ttl_days` after the event was stored: DynamoDB
        then deletes it; its history stays in the archive (docs/scale.md).
        """
        ts = iso(self.timestamp)
        item: dict[str, Any] = {
            "pk": f"{self.shop_id}#{self.message_id}",
            "identity": f"{self.shop_id}#{self.identity}",
            "ts_mid": f"{ts}#{self.message_id}",
            "shop_day": f"{self.shop_id}#{ts[:10]}",
            "shop_id": self.shop_id,
            "message_id": self.message_id,
            "type": self.type,
            "ts": ts,
            "received_at": iso(self.received_at),
            "source": self.source,
            "expires_at": int(self.received_at.timestamp()) + ttl_days * 86400,
        }
        for name in ("event", "user_id", "anonymous_id", "previous_id"):
            value = getattr(self, name)
            if value is not None:
                item[name] = value
        for name in ("properties", "traits", "context"):
            value = getattr(self, name)
            if value:
                item[name] = to_dynamo(value)
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> StoredEvent:
        return cls(
            shop_id=item["shop_id"],
            message_id=item["message_id"],
            type=item["type"],
            event=item.get("event"),
            user_id=item.get("user_id"),
            anonymous_id=item.get("anonymous_id"),
            previous_id=item.get("previous_id"),
            properties=from_dynamo(item.get("properties") or {}),
            traits=from_dynamo(item.get("traits") or {}),
            context=from_dynamo(item.get("context") or {}),
            timestamp=parse_iso(item["ts"]),
            received_at=parse_iso(item["received_at"]),
            source=item.get("source", "segment"),
        )


def to_dynamo(value: Any) -> Any:
    """JSON-like data to what DynamoDB accepts: floats as Decimal, empty strings kept."""
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


def from_dynamo(value: Any) -> Any:
    """DynamoDB data back to JSON-like: integral Decimals to int, others to float."""
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(from_dynamo(v) for v in value)
    return value
