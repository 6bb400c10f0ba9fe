"""What a template sees: customer, shop, cart, trigger event, products, recommendations, links."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kaeri.delivery.links import LinkSigner, RedirectClaim, UnsubscribeClaim
from kaeri.events import from_dynamo
from kaeri.profiles.model import Profile

MAX_RECOMMENDATIONS = 8
POPULAR_CACHE_SECONDS = 300.0  # the shop-wide list is rewritten nightly
POPULAR = "__popular__"


class CatalogReader:
    """Products and recommendations for templates (catalog and customers tables)."""

    def __init__(
        self, catalog_table: Any, customers_table: Any, dynamodb_resource: Any | None = None
    ) -> None:
        self._catalog = catalog_table
        self._customers = customers_table
        self._resource = dynamodb_resource
        self._popular: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def products(self, shop_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(p for p in product_ids if p))[:100]
        if not wanted:
            return {}
        out: dict[str, dict[str, Any]] = {}
        if self._resource is not None:
            name = self._catalog.name
            keys = [{"shop_id": shop_id, "product_id": p} for p in wanted]
            request: dict[str, Any] = {name: {"Keys": keys}}
            for _ in range(5):
                resp = self._resource.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(name, []):
                    out[item["product_id"]] = from_dynamo(item)
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
            return out
        for pid in wanted:
            item = self._catalog.get_item(Key={"shop_id": shop_id, "product_id": pid}).get("Item")
            if item:
                out[pid] = from_dynamo(item)
        return out

    def recommendations(self, shop_id: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's RECS item, else the shop's popular list; [{product_id, score, reason}]."""
        own = self._recs(f"{shop_id}#{customer_id}")
        if own:
            return own
        cached = self._popular.get(shop_id)
        if cached and time.monotonic() - cached[0] < POPULAR_CACHE_SECONDS:
            return [dict(r) for r in cached[1]]
        popular = self._recs(f"{shop_id}#{POPULAR}")
        self._popular[shop_id] = (time.monotonic(), popular)
        return [dict(r) for r in popular]

    def _recs(self, pk: str) -> list[dict[str, Any]]:
        item = self._customers.get_item(Key={"pk": pk, "sk": "RECS"}).get("Item")
        if item and item.get("items"):
            return [dict(r) for r in from_dynamo(item["items"])][:MAX_RECOMMENDATIONS]
        return []


def _product_ids_of(trigger: dict[str, Any] | None) -> list[str]:
    if not trigger:
        return []
    props = trigger.get("properties") or {}
    ids = [props.get("product_id")]
    ids += [p.get("product_id") for p in props.get("products") or [] if isinstance(p, dict)]
    return [str(i) for i in ids if i]


def build_context(
    *,
    profile: Profile,
    shop: Any,
    channel: str,
    message_id: str,
    trigger: dict[str, Any] | None,
    extra: dict[str, Any],
    signer: LinkSigner,
    catalog: CatalogReader | None,
    recommendations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    shop_id, customer_id = profile.shop_id, profile.customer_id
    recs = (
        recommendations
        if recommendations is not None
        else (catalog.recommendations(shop_id, customer_id) if catalog else [])
    )
    cart = [line.model_dump(mode="json") for line in profile.cart.values()]
    ids = [r.get("product_id") for r in recs] + [c["product_id"] for c in cart] + _product_ids_of(trigger)
    ids += [v.product_id for v in profile.recently_viewed[:8]]
    products = catalog.products(shop_id, [str(i) for i in ids if i]) if catalog else {}
    for line in cart:
        for key, value in products.get(line["product_id"], {}).items():
            if line.get(key) in (None, ""):
                line[key] = value
    joined_recs = [{**products.get(str(r.get("product_id")), {}), **r} for r in recs]
    # Recommendations must point at something we can show: drop products missing from the catalog.
    if products:
        joined_recs = [r for r in joined_recs if r.get("name")] or joined_recs

    def track_link(url: str) -> str:
        if not url:
            return ""
        return signer.redirect_url(
            RedirectClaim(
                shop_id=shop_id, customer_id=customer_id, url=str(url), message_id=message_id, channel=channel
            )
        )

    unsubscribe_url = signer.unsubscribe_url(
        UnsubscribeClaim(shop_id=shop_id, customer_id=customer_id, channel=channel, message_id=message_id)
    )
    customer = profile.model_dump(mode="json", exclude={"anonymous_ids"})
    customer.update(
        id=customer_id,
        name=" ".join(n for n in (profile.last_name, profile.first_name) if n) or None,
        points={"balance": profile.points_balance, "expire_on": customer.get("points_expire_on")},
        **{k: v for k, v in profile.traits.items() if k not in customer},
    )
    context: dict[str, Any] = {
        "customer": customer,
        "shop": _shop_dict(shop),
        "cart": cart,
        "event": trigger or {},
        "products": products,
        "viewed": [
            products.get(v.product_id, v.model_dump(mode="json")) for v in profile.recently_viewed[:8]
        ],
        "recommendations": joined_recs,
        "coupon": extra.get("coupon"),
        "unsubscribe_url": unsubscribe_url,
        "track_link": track_link,
        "channel": channel,
    }
    for key, value in extra.items():
        context.setdefault(key, value)
    return context


def _shop_dict(shop: Any) -> dict[str, Any]:
    if hasattr(shop, "model_dump"):
        return shop.model_dump(mode="json")
    if isinstance(shop, dict):
        return dict(shop)
    return dict(vars(shop))


ContextBuilder = Callable[..., dict[str, Any]]
