"""Shops (tenants) and their write keys, stored in the config table.

Items:
- ``SHOP#{shop_id}`` / ``META``: the shop's settings (sender identity, timezone, webhook secret).
- ``KEY#{sha256(key)}`` / ``META``: which shop a key belongs to, its kind (``write`` or ``server``) and,
  during a rotation, when it stops working. The key itself is never stored, so a leaked table export
  does not leak credentials.
- ``SHOP#{shop_id}`` / ``KEY#{sha256(key)}``: the same record listed under its shop (for ``kaeri shops``).

Two kinds of key, by trust (docs/tracking.md, "Keys"):
- the **write key** is public (browser SDKs embed it) and only ingests events;
- the **server key** is secret (the shop's backend keeps it) and opens the catalog feed,
  recommendations and customer tokens.

Every tracking request resolves its key, so lookups are cached per warm Lambda for a short TTL, in a
bounded LRU so that a flood of random keys cannot grow the cache.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from pydantic import BaseModel, Field

from kaeri import clock
from kaeri.aws import Attr, AwsClients, Key, all_items

KeyKind = Literal["write", "server"]
KEY_PREFIXES: dict[str, str] = {"write": "wk_", "server": "sk_"}
DEFAULT_ROTATION_GRACE = timedelta(hours=24)
CACHE_TTL_SECONDS = 60.0
CACHE_MAX_ENTRIES = 4096
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
    # Where the console's test sends may go: the shop's own seed inboxes, LINE ids and phone numbers.
    seed_recipients: dict[str, list[str]] = Field(default_factory=dict)  # channel -> addresses
    # Only filled on the Shop returned by create_shop; never stored or read back.
    write_key: str | None = Field(default=None, exclude=True)
    server_key: str | None = Field(default=None, exclude=True)


@dataclass(frozen=True)
class KeyRecord:
    """What is stored of a key: its digest (never the key), kind, and when it stops working."""

    digest: str
    kind: KeyKind
    created_at: str | None = None
    expires_at: str | None = None  # ISO 8601 UTC; None: until rotated

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or datetime.fromisoformat(self.expires_at) > now

    def as_item(self, shop_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {"shop_id": shop_id, "kind": self.kind}
        if self.created_at:
            item["created_at"] = self.created_at
        if self.expires_at:
            item["expires_at"] = self.expires_at
        return item

    @classmethod
    def from_item(cls, digest: str, item: dict[str, Any]) -> KeyRecord:
        # Items written before key kinds existed are write keys.
        kind = item.get("kind", "write")
        return cls(digest, kind, item.get("created_at"), item.get("expires_at"))


def write_key_hash(write_key: str) -> str:
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()


def shop_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}"


def key_pk(write_key: str) -> str:
    return f"KEY#{write_key_hash(write_key)}"


class _TtlCache:
    """A small per-process LRU with a TTL; entries are scoped by table so stacks never mix."""

    def __init__(self, ttl: float, max_entries: int = CACHE_MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return _MISSING
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: tuple[str, ...], value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + (self.ttl if ttl is None else ttl), value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_cache = _TtlCache(CACHE_TTL_SECONDS)


def clear_cache() -> None:
    """Forget cached shops and keys (tests; after rotating a key in the same process)."""
    _cache.clear()


def _scope(clients: AwsClients) -> str:
    return f"{clients.settings.aws_endpoint_url or 'aws'}|{clients.settings.table('config')}"


def new_key(kind: KeyKind) -> str:
    """A fresh random key of the given kind: 32 bytes of entropy, prefixed by its kind."""
    return KEY_PREFIXES[kind] + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _now() -> datetime:
    return clock.now()


def _conditional_failed(clients: AwsClients) -> type[Exception]:
    return cast(
        "type[Exception]", clients.dynamodb_resource.meta.client.exceptions.ConditionalCheckFailedException
    )


def register_key(clients: AwsClients, shop_id: str, key: str, kind: KeyKind) -> KeyRecord:
    """Store a key's digest for a shop (both the lookup item and the shop's listing item).

    Re-registering the same key for the same shop is safe; a key of another shop is refused.
    """
    if not key:
        raise ShopError(f"{kind} key must not be empty")
    digest = write_key_hash(key)
    table = clients.table("config")
    record = KeyRecord(digest, kind, _now().isoformat())
    try:
        table.put_item(
            Item={"pk": f"KEY#{digest}", "sk": "META", **record.as_item(shop_id)},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except _conditional_failed(clients) as exc:
        # Only on the rare path: is it this shop's key already (a re-run), or another shop's?
        existing = table.get_item(Key={"pk": f"KEY#{digest}", "sk": "META"}).get("Item") or {}
        if existing.get("shop_id") != shop_id:
            raise ShopError(f"{kind} key already belongs to another shop (creating {shop_id!r})") from exc
        record = KeyRecord.from_item(digest, existing)
        if record.kind != kind:
            raise ShopError(f"that key is already this shop's {record.kind} key") from exc
        return record
    table.put_item(Item={"pk": shop_pk(shop_id), "sk": f"KEY#{digest}", **record.as_item(shop_id)})
    _cache.put((_scope(clients), "key", digest), (shop_id, record))
    return record


def list_keys(clients: AwsClients, shop_id: str) -> list[KeyRecord]:
    condition = Key("pk").eq(shop_pk(shop_id)) & Key("sk").begins_with("KEY#")
    items = all_items(clients.table("config").query, KeyConditionExpression=condition)
    return [KeyRecord.from_item(item["sk"][4:], item) for item in items]


def _set_expiry(clients: AwsClients, shop_id: str, record: KeyRecord, expires_at: datetime) -> None:
    table = clients.table("config")
    for key in (
        {"pk": f"KEY#{record.digest}", "sk": "META"},
        {"pk": shop_pk(shop_id), "sk": f"KEY#{record.digest}"},
    ):
        table.update_item(
            Key=key,
            UpdateExpression="SET expires_at = :e",
            ExpressionAttributeValues={":e": expires_at.isoformat()},
        )
    _cache.clear()


def rotate_key(
    clients: AwsClients, shop_id: str, kind: KeyKind, grace: timedelta = DEFAULT_ROTATION_GRACE
) -> str:
    """Issue a new key of `kind`; the shop's current keys of that kind keep working for `grace`.

    During the grace period both the old and the new key are accepted, so the shop can roll its
    deployments over; `grace=timedelta(0)` revokes the old keys at once (a leaked key).
    """
    if get_shop(clients, shop_id) is None:
        raise ShopError(f"no shop {shop_id!r}")
    now = _now()
    key = new_key(kind)
    register_key(clients, shop_id, key, kind)
    digest = write_key_hash(key)
    for record in list_keys(clients, shop_id):
        if record.kind == kind and record.digest != digest and record.active(now):
            _set_expiry(clients, shop_id, record, now + grace)
    return key


def create_shop(
    clients: AwsClients,
    shop_id: str,
    *,
    name: str,
    write_key: str | None = None,
    server_key: str | None = None,
    webhook_secret: str | None = None,
    from_email: str | None = None,
    sender_name: str | None = None,
    postal_address: str | None = None,
    reply_to: str | None = None,
    timezone: str = "Asia/Tokyo",
    locale: str = "ja",
) -> Shop:
    """Create or update a shop and register its keys. Re-running with the same values is safe.

    A key not given is generated (random); the returned Shop carries the keys in clear, once: only
    their digests are stored.
    """
    if not shop_id or "#" in shop_id:
        raise ShopError(f"invalid shop_id {shop_id!r}: must be non-empty and must not contain '#'")
    if write_key == "" or server_key == "":
        raise ShopError("keys must not be empty")
    write_key = write_key or new_key("write")
    server_key = server_key or new_key("server")
    if write_key == server_key:
        raise ShopError("the write key and the server key must differ")
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
    register_key(clients, shop_id, write_key, "write")
    register_key(clients, shop_id, server_key, "server")
    item = {k: v for k, v in shop.model_dump().items() if v is not None}
    clients.table("config").put_item(Item={"pk": shop_pk(shop_id), "sk": "META", **item})
    _cache.put((_scope(clients), "shop", shop_id), shop)
    return shop.model_copy(update={"write_key": write_key, "server_key": server_key})


def update_shop(clients: AwsClients, shop_id: str, **changes: Any) -> Shop:
    """Change a shop's settings (not its keys: see rotate_key)."""
    shop = get_shop(clients, shop_id)
    if shop is None:
        raise ShopError(f"no shop {shop_id!r}")
    updated = Shop.model_validate({**shop.model_dump(), **changes})
    item = {k: v for k, v in updated.model_dump().items() if v is not None}
    clients.table("config").put_item(Item={"pk": shop_pk(shop_id), "sk": "META", **item})
    _cache.clear()
    return updated


def shop_ids(clients: AwsClients) -> list[str]:
    """Every shop id of the stack (SHOP#{id} / META items; the config table is small)."""
    shop_items = all_items(
        clients.table("config").scan, FilterExpression=Attr("pk").begins_with("SHOP#") & Attr("sk").eq("META")
    )
    return sorted(str(i["pk"]).removeprefix("SHOP#") for i in shop_items)


class SendingPauses:
    """The SHOP#{shop} / SENDING item: why a shop's sending is paused (bounce or complaint rates)."""

    def __init__(self, config_table: Any) -> None:
        self._table = config_table

    @classmethod
    def of(cls, clients: AwsClients) -> SendingPauses:
        return cls(clients.table("config"))

    def get(self, shop_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={"pk": shop_pk(shop_id), "sk": "SENDING"}).get(
            "Item"
        )
        return item

    def put(self, shop_id: str, attributes: dict[str, Any]) -> None:
        self._table.put_item(Item={"pk": shop_pk(shop_id), "sk": "SENDING", **attributes})

    def delete(self, shop_id: str) -> None:
        self._table.delete_item(Key={"pk": shop_pk(shop_id), "sk": "SENDING"})


def list_shops(clients: AwsClients) -> list[Shop]:
    """Every shop of the stack (an admin scan of the config table's shop items)."""
    shop_items = all_items(
        clients.table("config").scan, FilterExpression=Attr("pk").begins_with("SHOP#") & Attr("sk").eq("META")
    )
    found = [Shop.model_validate({k: v for k, v in i.items() if k not in ("pk", "sk")}) for i in shop_items]
    return sorted(found, key=lambda shop: shop.shop_id)


def delete_shop(clients: AwsClients, shop_id: str) -> bool:
    """Remove a shop and revoke all its keys. Its customers' data stays until deleted separately."""
    table = clients.table("config")
    if get_shop(clients, shop_id) is None:
        return False
    for record in list_keys(clients, shop_id):
        table.delete_item(Key={"pk": f"KEY#{record.digest}", "sk": "META"})
        table.delete_item(Key={"pk": shop_pk(shop_id), "sk": f"KEY#{record.digest}"})
    table.delete_item(Key={"pk": shop_pk(shop_id), "sk": "META"})
    _cache.clear()
    return True


def get_shop(clients: AwsClients, shop_id: str) -> Shop | None:
    cache_key = (_scope(clients), "shop", shop_id)
    cached = _cache.get(cache_key)
    if cached is not _MISSING:
        return cast("Shop | None", cached)
    item = clients.table("config").get_item(Key={"pk": shop_pk(shop_id), "sk": "META"}).get("Item")
    shop = None
    if item:
        shop = Shop.model_validate({k: v for k, v in item.items() if k not in ("pk", "sk")})
    _cache.put(cache_key, shop, None if shop else NEGATIVE_TTL_SECONDS)
    return shop


def resolve_key(clients: AwsClients, key: str | None) -> tuple[str, KeyKind] | None:
    """(shop_id, kind) of a key that is currently valid, or None for an unknown, expired or empty key."""
    if not key:
        return None
    digest = write_key_hash(key)
    cache_key = (_scope(clients), "key", digest)
    cached = _cache.get(cache_key)
    if cached is _MISSING:
        item = clients.table("config").get_item(Key={"pk": f"KEY#{digest}", "sk": "META"}).get("Item")
        cached = (item["shop_id"], KeyRecord.from_item(digest, item)) if item else None
        _cache.put(cache_key, cached, None if cached else NEGATIVE_TTL_SECONDS)
    if cached is None:
        return None
    shop_id, record = cached
    if not record.active(_now()):
        return None
    return shop_id, record.kind


def shop_for_write_key(clients: AwsClients, write_key: str | None) -> str | None:
    """The shop a write key belongs to, or None for an unknown, expired or empty key, or a server key."""
    found = resolve_key(clients, write_key)
    return found[0] if found and found[1] == "write" else None
