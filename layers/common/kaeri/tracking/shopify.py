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
from decimal import Decimal
from typing import Any

from kaeri import clock
from kaeri.events import StoredEvent
from kaeri.tracking.errors import InvalidRequest, ItemError, Unauthorized
from kaeri.tracking.limits import MAX_ID_CHARS
from kaeri.tracking.validation import _amount, check_json, preview, time_problem
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


class _Malformed(ValueError):
    """A signed payload with a field Kaeri cannot map: answered 400 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _money(value: Any, field: str = "amount") -> float | None:
    """Shopify's money strings ("12.50") as a number; a value that is not one is a 400."""
    if value in (None, ""):
        return None
    problem = _amount(value, count=False)
    if problem:
        raise _Malformed(field, problem)
    return float(value)


def _products(line_items: Any) -> list[dict[str, Any]]:
    if line_items in (None, ""):
        return []
    if not isinstance(line_items, list):
        raise _Malformed("line_items", f"expected an array of objects, got {type(line_items).__name__}")
    products = []
    for i, line in enumerate(line_items):
        if not isinstance(line, dict):
            raise _Malformed(f"line_items.{i}", f"expected an object, got {type(line).__name__}")
        quantity = line.get("quantity")
        if quantity in (None, ""):
            quantity = 1
        problem = _amount(quantity, count=True)
        if problem:
            raise _Malformed(f"line_items.{i}.quantity", problem)
        product: dict[str, Any] = {
            "product_id": str(line.get("product_id") or line.get("variant_id") or line.get("sku") or ""),
            "name": line.get("title") or line.get("name"),
            "price": _money(line.get("price"), f"line_items.{i}.price"),
            "quantity": int(Decimal(str(quantity).strip())),
        }
        for source, target in (("variant_id", "variant"), ("sku", "sku"), ("vendor", "brand")):
            if line.get(source) not in (None, ""):
                product[target] = str(line[source])
        products.append({k: v for k, v in product.items() if v is not None})
    return products


def _identity(payload: dict[str, Any]) -> dict[str, str | None]:
    customer = _object(payload, "customer")
    if customer.get("id"):
        return {"user_id": str(customer["id"]), "anonymous_id": None}
    token = payload.get("checkout_token") or payload.get("token") or payload.get("cart_token")
    if token:
        return {"user_id": None, "anonymous_id": f"shopify-checkout:{token}"}
    return {"user_id": None, "anonymous_id": f"shopify-{payload.get('id')}"}


def _order(payload: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "order_id": str(payload.get("id")),
        "total": _money(payload.get("total_price"), "total_price"),
        "revenue": _money(payload.get("subtotal_price"), "subtotal_price"),
        "tax": _money(payload.get("total_tax"), "total_tax"),
        "discount": _money(payload.get("total_discounts"), "total_discounts"),
        "currency": payload.get("currency"),
        "checkout_id": payload.get("checkout_token"),
        "email": payload.get("email") or _object(payload, "customer").get("email"),
        "products": _products(payload.get("line_items")),
    }
    return {"type": "track", "event": ORDER_COMPLETED, "properties": _compact(properties)}


def _checkout(payload: dict[str, Any]) -> dict[str, Any]:
    properties = {
        "checkout_id": payload.get("token"),
        "value": _money(payload.get("total_price"), "total_price"),
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
    email_consent = _object(payload, "email_marketing_consent")
    accepts = payload.get("accepts_marketing")
    if accepts is True or email_consent.get("state") == "subscribed":
        consent["email"] = {
            "status": "granted",
            "at": email_consent.get("consent_updated_at")
            or payload.get("accepts_marketing_updated_at")
            or payload.get("created_at"),
            "source": CONSENT_SOURCE,
        }
    sms_consent = _object(payload, "sms_marketing_consent")
    if sms_consent.get("state") == "subscribed":
        consent["sms"] = {
            "status": "granted",
            "at": sms_consent.get("consent_updated_at") or payload.get("created_at"),
            "source": CONSENT_SOURCE,
        }
    if consent:
        traits["consent"] = {k: _compact(v) for k, v in consent.items()}
    return {"type": "identify", "traits": _compact(traits), "user_id": str(payload.get("id"))}


def _object(payload: dict[str, Any], name: str) -> dict[str, Any]:
    value = payload.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise _Malformed(name, f"expected an object, got {type(value).__name__}")
    return value


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
            [
                ItemError(
                    None, "topic", f"unsupported topic {preview(topic)}; expected one of {', '.join(MAPPERS)}"
                )
            ]
        )
    if not isinstance(payload, dict):
        raise InvalidRequest([ItemError(None, "body", "expected a JSON object")])
    if not payload.get("id") or isinstance(payload["id"], dict | list | bool):
        raise InvalidRequest([ItemError(None, "id", "the webhook payload has no id")])
    problems = check_json(payload, None)
    if problems:
        raise InvalidRequest(problems)
    received = clock.now()
    try:
        mapped = mapper(payload)
        identity = _identity(payload)
        if mapped["type"] == "identify":
            identity = {"user_id": mapped.pop("user_id"), "anonymous_id": None}
        timestamp = _time(payload.get("updated_at"), "updated_at") or _time(
            payload.get("created_at"), "created_at"
        )
        timestamp = timestamp or received
        if mapped["type"] == "identify":
            from kaeri.tracking.segment import _TraitError, normalize_traits

            try:
                mapped["traits"] = normalize_traits(mapped["traits"], timestamp)
            except _TraitError as exc:
                raise _Malformed(exc.field.removeprefix("traits."), str(exc)) from None
        for name, value in identity.items():
            if value is not None and len(value) > MAX_ID_CHARS:
                field = "id" if mapped["type"] == "identify" else "customer.id or checkout_token"
                raise _Malformed(field, f"{name} is longer than {MAX_ID_CHARS} characters")
        if not webhook_id and len(str(payload["id"])) > MAX_ID_CHARS:
            raise _Malformed("id", f"longer than {MAX_ID_CHARS} characters")
        if webhook_id and len(webhook_id) > MAX_ID_CHARS:
            raise _Malformed("X-Shopify-Webhook-Id", f"longer than {MAX_ID_CHARS} characters")
    except _Malformed as exc:
        raise InvalidRequest([ItemError(None, exc.field, str(exc))]) from None
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
        user_id=identity["user_id"],
        anonymous_id=identity["anonymous_id"],
        **mapped,
    )


def _time(value: Any, field: str) -> datetime | None:
    """A payload time in UTC; None when absent or unreadable, 400 when out of range."""
    if not isinstance(value, str):
        return None
    try:
        when = clock.parse_iso(value)
    except ValueError:
        return None
    except OverflowError:
        raise _Malformed(field, "time cannot be expressed in UTC (out of range)") from None
    problem = time_problem(when)
    if problem:
        raise _Malformed(field, problem)
    return when
