"""Shops (tenants) and their write keys, stored in the config table.

Items:
- ``SHOP#{shop_id}`` / ``META``: the shop's settings (sender identity, timezone, webhook secret).
- ``KEY#{sha256(write key)}`` / ``META``: which shop a write key belongs to. The key itself is never
  stored, so a leaked table export does not leak credentials.

Every tracking request resolves its write key, so lookups are cached per warm Lambda for a short TTL.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from kaeri.aws import AwsClients

CACHE_TTL_SECONDS = 60.0
NEGATIVE_TTL_SECONDS = 5.0  # unknown keys: short, so a newly created shop works almost at once
_MISSING = object()


class ShopError(ValueError):
    """A shop cannot be created as asked (e.g. its write key already belongs to another shop)."""


class Shop(BaseModel):
    shop_id: str
    name: str
    webhook_secret: str | None = None
    from_email: str | None = None
    sender_name: str | None = None
    postal_address: str | None = None  # shown in every mail (Act on Specified Electronic Mail)
    reply_to: str | None = None
    timezone: str = "Asia/Tokyo"
    locale: str = "ja"
    paused_reason: str | None = None  # set when sending is paused (e.g. bounce rate too high)
    url: str | None = None  # the storefront; its host may be linked from messages
    # Other hosts messages may link to (and their subdomains); see docs/delivery.md, "Links".
    link_domains: list[str] = Field(default_factory=list)
    # Only filled on the Shop returned by create_shop; never stored or read back.
    write_key: str | None = Field(default=None, exclude=True)


def write_key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


def shop_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}"


def key_pk(write_key: str) -> str:
    return f"KEY#{write_key_hash(write_key)}"


class _TtlCache:
    """A tiny per-process cache; entries are scoped by table so stacks never mix."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[tuple[str, ...], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return _MISSING
            return hit[1]

    def put(self, key: tuple[str, ...], value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + (self.ttl if ttl is None else ttl), value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _TtlCache(CACHE_TTL_SECONDS)


def clear_cache() -> None:
    """Forget cached shops and keys (tests; after rotating a key in the same process)."""
    _cache.clear()


def _scope(clients: AwsClients) -> str:
    return f"{clients.settings.aws_endpoint_url or 'aws'}|{clients.settings.table('config')}"


def create_shop(
    clients: AwsClients,
    shop_id: str,
    *,
    name: str,
    write_key: str,
    webhook_secret: str | None = None,
    from_email: str | None = None,
    sender_name: str | None = None,
    postal_address: str | None = None,
    reply_to: str | None = None,
    timezone: str = "Asia/Tokyo",
    locale: str = "ja",
) -> Shop:
    """Create or update a shop and register its write key. Re-running with the same values is safe."""
    if not shop_id or "#" in shop_id:
        raise ShopError(f"invalid shop_id {shop_id!r}: must be non-empty and must not contain '#'")
    if not write_key:
        raise ShopError("write_key must not be empty")
    shop = Shop(
        shop_id=shop_id,
        name=name,
        webhook_secret=webhook_secret,
        from_email=from_email,
        sender_name=sender_name,
        postal_address=postal_address,
        reply_to=reply_to,
        timezone=timezone,
        locale=locale,
    )
    table = clients.table("config")
    try:
        table.put_item(
            Item={"pk": key_pk(write_key), "sk": "META", "shop_id": shop_id},
            ConditionExpression="attribute_not_exists(pk) OR shop_id = :shop",
            ExpressionAttributeValues={":shop": shop_id},
        )
    except clients.dynamodb_resource.meta.client.exceptions.ConditionalCheckFailedException as exc:
        raise ShopError(f"write key already belongs to another shop (creating {shop_id!r})") from exc
    item = {k: v for k, v in shop.model_dump().items() if v is not None}
    table.put_item(Item={"pk": shop_pk(shop_id), "sk": "META", **item})
    scope = _scope(clients)
    _cache.put((scope, "shop", shop_id), shop)
    _cache.put((scope, "key", write_key_hash(write_key)), shop_id)
    return shop.model_copy(update={"write_key": write_key})


def get_shop(clients: AwsClients, shop_id: str) -> Shop | None:
    cache_key = (_scope(clients), "shop", shop_id)
    cached = _cache.get(cache_key)
    if cached is not _MISSING:
        return cached
    item = clients.table("config").get_item(Key={"pk": shop_pk(shop_id), "sk": "META"}).get("Item")
    shop = None
    if item:
        shop = Shop.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")})
    _cache.put(cache_key, shop, None if shop else NEGATIVE_TTL_SECONDS)
    return shop


def shop_for_write_key(clients: AwsClients, write_key: str | None) -> str | None:
    """The shop a write key belongs to, or None for an unknown or empty key."""
    if not write_key:
        return None
    digest = write_key_hash(write_key)
    cache_key = (_scope(clients), "key", digest)
    cached = _cache.get(cache_key)
    if cached is not _MISSING:
        return cached
    item = clients.table("config").get_item(Key={"pk": f"KEY#{digest}", "sk": "META"}).get("Item")
    shop_id = item["shop_id"] if item else None
    _cache.put(cache_key, shop_id, None if shop_id else NEGATIVE_TTL_SECONDS)
    return shop_id
