"""What a template sees: customer, shop, cart, trigger event, products, recommendations, links."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from jinja2 import Undefined

from kaeri.delivery.links import LinkPolicy, LinkSigner, RedirectClaim, UnsubscribeClaim, link_host
from kaeri.delivery.templates_engine import LinkRefused
from kaeri.events import from_dynamo
from kaeri.profiles.customers import CustomersTable, popular_pk, recs_pk
from kaeri.profiles.model import Profile
from kaeri.tracking.catalog import CatalogProducts

MAX_RECOMMENDATIONS = 8
POPULAR_CACHE_SECONDS = 300.0  # the shop-wide list is rewritten nightly


class CatalogReader:
    """Products and recommendations for templates (catalog and customers tables)."""

    def __init__(self, catalog: CatalogProducts, customers: CustomersTable) -> None:
        self._catalog = catalog
        self._customers = customers
        self._popular: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    @classmethod
    def of(cls, clients: Any) -> CatalogReader:
        return cls(CatalogProducts(clients), CustomersTable.of(clients))

    def products(self, shop_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(p for p in product_ids if p))[:100]
        return {pid: from_dynamo(item) for pid, item in self._catalog.get_many(shop_id, wanted).items()}

    def recommendations(self, shop_id: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's RECS item, else the shop's popular list; [{product_id, score, reason}]."""
        own = self._recs(recs_pk(shop_id, customer_id))
        if own:
            return own
        cached = self._popular.get(shop_id)
        if cached and time.monotonic() - cached[0] < POPULAR_CACHE_SECONDS:
            return [dict(r) for r in cached[1]]
        popular = self._recs(popular_pk(shop_id))
        self._popular[shop_id] = (time.monotonic(), popular)
        return [dict(r) for r in popular]

    def _recs(self, pk: str) -> list[dict[str, Any]]:
        return [dict(r) for r in from_dynamo(self._customers.recs(pk))][:MAX_RECOMMENDATIONS]


def _product_ids_of(trigger: dict[str, Any] | None) -> list[str]:
    if not trigger:
        return []
    props = trigger.get("properties") or {}
    ids = [props.get("product_id")]
    ids += [p.get("product_id") for p in props.get("products") or [] if isinstance(p, dict)]
    return [str(i) for i in ids if i and isinstance(i, str | int)]


# The documented template context (docs/delivery.md). Every key below is always present (None when
# unknown), so templates can test it; anything else is undefined and fails the render by name.
PRODUCT_FIELDS = ("product_id", "name", "price", "currency", "category", "url", "image_url")
SHOP_FIELDS = (
    "shop_id",
    "name",
    "url",
    "sender_name",
    "from_email",
    "reply_to",
    "postal_address",
    "timezone",
    "locale",
)
CUSTOMER_FIELDS = (
    "email",
    "phone",
    "line_user_id",
    "first_name",
    "last_name",
    "birthday",
    "locale",
    "timezone",
    "signed_up_at",
    "order_count",
    "total_spent",
    "currency",
    "first_order_at",
    "last_order_at",
    "categories_bought",
    "products_bought",
    "wishlist",
)
_URL_FIELDS = ("url", "image_url")


def _product(
    source: dict[str, Any], catalog: dict[str, Any] | None, policy: LinkPolicy, **extra: Any
) -> dict[str, Any]:
    """One product as templates see it: catalog fields win; URLs only where the shop may link."""
    catalog = catalog or {}
    out: dict[str, Any] = {}
    for key in PRODUCT_FIELDS:
        value = catalog.get(key)
        if key in _URL_FIELDS:
            # A catalog URL is the shop's own; one that came in an event is kept only on its domains.
            out[key] = policy.keep(value) or policy.keep(source.get(key))
        else:
            out[key] = value if value not in (None, "") else source.get(key)
    out["product_id"] = str(out["product_id"] or source.get("product_id") or "")
    out.update(extra)
    return out


def _event(trigger: dict[str, Any] | None, products: dict[str, Any], policy: LinkPolicy) -> dict[str, Any]:
    """The trigger event: its name, time and properties, with URLs policed; `products` joined."""
    if not trigger:
        return {"event": None, "type": None, "timestamp": None, "properties": {}, "products": []}
    props = dict(trigger.get("properties") or {})
    for key in _URL_FIELDS:
        if key in props:
            props[key] = policy.keep(props[key])
    lines = props.get("products")
    if isinstance(lines, list):
        props["products"] = [
            {**p, **{k: policy.keep(p.get(k)) for k in _URL_FIELDS if k in p}} if isinstance(p, dict) else p
            for p in lines
        ]
    listed = [p for p in props.get("products") or [] if isinstance(p, dict)]
    if not listed and props.get("product_id"):
        listed = [props]
    joined = [
        _product(
            p,
            products.get(str(p.get("product_id"))),
            policy,
            quantity=p.get("quantity") if isinstance(p.get("quantity"), int | float) else 1,
        )
        for p in listed
    ]
    return {
        "event": trigger.get("event"),
        "type": trigger.get("type"),
        "timestamp": trigger.get("timestamp"),
        "properties": props,
        "products": joined,
    }


def _coupon(value: Any) -> dict[str, Any] | None:
    """`coupon: CODE` or `coupon: {code: CODE, ...}` from the step; always a mapping with `code`."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        return {"code": None, **value}
    return {"code": str(value)}


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
    cart_lines = [line.model_dump(mode="json") for line in profile.cart.values()]
    viewed_lines = [v.model_dump(mode="json") for v in profile.recently_viewed[:8]]
    ids = (
        [r.get("product_id") for r in recs] + [c["product_id"] for c in cart_lines] + _product_ids_of(trigger)
    )
    ids += [v["product_id"] for v in viewed_lines]
    products = catalog.products(shop_id, [str(i) for i in ids if i]) if catalog else {}
    policy = LinkPolicy.for_shop(shop, (p.get("url") for p in products.values()))

    cart = [
        _product(
            line,
            products.get(line["product_id"]),
            policy,
            quantity=line.get("quantity") or 1,
            added_at=line.get("added_at"),
        )
        for line in cart_lines
    ]
    viewed = [_product(v, products.get(v["product_id"]), policy, viewed_at=v.get("at")) for v in viewed_lines]
    joined_recs = [
        _product(
            r, products.get(str(r.get("product_id"))), policy, score=r.get("score"), reason=r.get("reason")
        )
        for r in recs
        if r.get("product_id")
    ]
    # Recommendations must point at something we can show: drop products missing from the catalog.
    if products:
        joined_recs = [r for r in joined_recs if r.get("product_id") in products] or joined_recs

    def track_link(url: Any) -> str:
        """A signed redirect to a URL the shop may link to; anything else fails the render."""
        if not url or isinstance(url, Undefined):
            return ""
        if not policy.allows(url):
            host = link_host(url) if isinstance(url, str) else None
            raise LinkRefused(
                f"track_link: {host or 'this URL'} is not in the shop's catalog or allowed link domains"
            )
        return signer.redirect_url(
            RedirectClaim(
                shop_id=shop_id, customer_id=customer_id, url=url, message_id=message_id, channel=channel
            )
        )

    unsubscribe_url = signer.unsubscribe_url(
        UnsubscribeClaim(shop_id=shop_id, customer_id=customer_id, channel=channel, message_id=message_id)
    )
    dumped = profile.model_dump(mode="json", include=set(CUSTOMER_FIELDS))
    traits = {k: v for k, v in profile.traits.items() if isinstance(k, str)}
    customer: dict[str, Any] = {
        **{k: v for k, v in traits.items() if k not in CUSTOMER_FIELDS},
        **{k: dumped.get(k) for k in CUSTOMER_FIELDS},
        "id": customer_id,
        "name": " ".join(n for n in (profile.last_name, profile.first_name) if n) or None,
        "points": {
            "balance": profile.points_balance,
            "expire_on": profile.points_expire_on.isoformat() if profile.points_expire_on else None,
        },
        "traits": traits,
    }
    context: dict[str, Any] = {
        "customer": customer,
        "shop": shop_context(shop),
        "cart": cart,
        "event": _event(trigger, products, policy),
        "products": {pid: _product(p, p, policy) for pid, p in products.items()},
        "viewed": viewed,
        "recommendations": joined_recs,
        "coupon": _coupon(extra.get("coupon")),
        "unsubscribe_url": unsubscribe_url,
        "track_link": track_link,
        "channel": channel,
    }
    for key, value in extra.items():
        context.setdefault(key, value)
    return context


def shop_context(shop: Any) -> dict[str, Any]:
    """The shop as templates see it: its public identity only, never a secret or internal state."""
    if hasattr(shop, "model_dump"):
        data = shop.model_dump(mode="json")
    elif isinstance(shop, dict):
        data = dict(shop)
    else:
        data = dict(vars(shop))
    return {key: data.get(key) for key in SHOP_FIELDS}


ContextBuilder = Callable[..., dict[str, Any]]
