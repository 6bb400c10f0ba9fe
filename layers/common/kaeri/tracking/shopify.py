"""Shopify webhooks: signature check, dedup by webhook id, mapping onto the canonical events.

The shop is named in the webhook URL (`?shop=SHOP_ID`); the signature is then checked with that
shop's webhook secret, so a request for another shop cannot verify. Customers are identified by their
Shopify customer id (the userId Shopify's own Segment integration sends); guest checkouts and orders
by the checkout token as anonymousId, so an abandoned checkout and its order share an identity.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kaeri import clock
from kaeri.events import StoredEvent
from kaeri.tracking.errors import InvalidRequest, ItemError, Unauthorized
from kaeri.vocabulary import CHECKOUT_STARTED, ORDER_COMPLETED

CONSENT_SOURCE = "shopify customers/create"


def verify_signature(secret: str | None, raw_body: bytes, signature: str | None) -> None:
    """Unauthorized unless X-Shopify-Hmac-SHA256 is the base64 HMAC-SHA256 of the raw body."""
    if not secret:
        raise Unauthorized("this shop has no Shopify webhook secret configured")
    if not signature:
        raise Unauthorized("missing X-Shopify-Hmac-SHA256 header")
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8")):
        raise Unauthorized("X-Shopify-Hmac-SHA256 does not match the body")


def _money(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _products(line_items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    products = []
    for line in line_items or []:
        product: dict[str, Any] = {
            "product_id": str(line.get("product_id") or line.get("variant_id") or line.get("sku") or ""),
            "name": line.get("title") or line.get("name"),
            "price": _money(line.get("price")),
            "quantity": int(line.get("quantity") or 1),
        }
        for source, target in (("variant_id", "variant"), ("sku", "sku"), ("vendor", "brand")):
            if line.get(source) not in (None, ""):
                product[target] = str(line[source])
        products.append({k: v for k, v in product.items() if v is not None})
    return products


def _identity(payload: dict[str, Any]) -> dict[str, str | None]:
    customer = payload.get("customer") or {}
    if customer.get("id"):
        return {"user_id": str(customer["id"]), "anonymous_id": None}
    token = payload.get("checkout_token") or payload.get("token") or payload.get("cart_token")
    if token:
        return {"user_id": None, "anonymous_id": f"shopify-checkout:{token}"}
    return {"user_id": None, "anonymous_id": f"shopify-{payload.get('id')}"}


def _order(payload: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "order_id": str(payload.get("id")),
        "total": _money(payload.get("total_price")),
        "revenue": _money(payload.get("subtotal_price")),
        "tax": _money(payload.get("total_tax")),
        "discount": _money(payload.get("total_discounts")),
        "currency": payload.get("currency"),
        "checkout_id": payload.get("checkout_token"),
        "email": payload.get("email") or (payload.get("customer") or {}).get("email"),
        "products": _products(payload.get("line_items")),
    }
    return {"type": "track", "event": ORDER_COMPLETED, "properties": _compact(properties)}


def _checkout(payload: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "checkout_id": payload.get("token"),
        "value": _money(payload.get("total_price")),
        "currency": payload.get("currency"),
        "email": payload.get("email"),
        "abandoned_checkout_url": payload.get("abandoned_checkout_url"),
        "products": _products(payload.get("line_items")),
    }
    return {"type": "track", "event": CHECKOUT_STARTED, "properties": _compact(properties)}


def _customer(payload: dict[str, Any]) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "email": payload.get("email"),
        "phone": payload.get("phone"),
        "first_name": payload.get("first_name"),
        "last_name": payload.get("last_name"),
        "created_at": payload.get("created_at"),
    }
    consent: dict[str, Any] = {}
    email_consent = payload.get("email_marketing_consent") or {}
    accepts = payload.get("accepts_marketing")
    if accepts is True or email_consent.get("state") == "subscribed":
        consent["email"] = {
            "status": "granted",
            "at": email_consent.get("consent_updated_at")
            or payload.get("accepts_marketing_updated_at")
            or payload.get("created_at"),
            "source": CONSENT_SOURCE,
        }
    sms_consent = payload.get("sms_marketing_consent") or {}
    if sms_consent.get("state") == "subscribed":
        consent["sms"] = {
            "status": "granted",
            "at": sms_consent.get("consent_updated_at") or payload.get("created_at"),
            "source": CONSENT_SOURCE,
        }
    if consent:
        traits["consent"] = {k: _compact(v) for k, v in consent.items()}
    return {"type": "identify", "traits": _compact(traits), "user_id": str(payload.get("id"))}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "")}


MAPPERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "orders/create": _order,
    "checkouts/create": _checkout,
    "checkouts/update": _checkout,
    "customers/create": _customer,
}


def to_event(shop_id: str, topic: str, webhook_id: str | None, payload: Any) -> StoredEvent:
    """The canonical event for one webhook delivery; the webhook id makes redeliveries duplicates."""
    mapper = MAPPERS.get(topic)
    if mapper is None:
        raise InvalidRequest(
            [ItemError(None, "topic", f"unsupported topic {topic!r}; expected one of {', '.join(MAPPERS)}")]
        )
    if not isinstance(payload, dict):
        raise InvalidRequest([ItemError(None, "body", "expected a JSON object")])
    if not payload.get("id"):
        raise InvalidRequest([ItemError(None, "id", "the webhook payload has no id")])
    mapped = mapper(payload)
    identity = _identity(payload)
    if mapped["type"] == "identify":
        identity = {"user_id": mapped.pop("user_id"), "anonymous_id": None}
    received = clock.now()
    timestamp = _time(payload.get("updated_at") or payload.get("created_at")) or received
    if mapped["type"] == "identify":
        from kaeri.tracking.segment import normalize_traits

        mapped["traits"] = normalize_traits(mapped["traits"], timestamp)
    message_id = (
        f"shopify:{webhook_id}"
        if webhook_id
        else f"shopify:{topic}:{payload['id']}:{payload.get('updated_at')}"
    )
    return StoredEvent(
        shop_id=shop_id,
        message_id=message_id,
        timestamp=timestamp,
        received_at=received,
        source="shopify",
        context={"integration": {"name": "shopify", "topic": topic}},
        **identity,
        **mapped,
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return clock.parse_iso(value)
    except ValueError:
        return None
