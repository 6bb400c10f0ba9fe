"""Keeps each customer's profile up to date from the event stream, exactly once per event.

`apply_event` is pure (profile state in, profile state out); `ProfileProjector` wraps it with the
reads and one conditional write per event that changes something. Stream retries are safe: the
message ids recently applied are saved with the profile in the same write, and orders count once
per order_id whichever source delivered them.

Order Cancelled, and Order Refunded without an amount (a full refund), take a counted order back
once per order_id (cancelled_order_ids): order_count -1, total_spent minus what that order still
counts, first/last order times recomputed. The amount comes from order_totals, the last
ORDER_TOTALS_MAX orders kept with the profile; a cancel of an order not there (never counted here,
or older than that) subtracts nothing and is logged. Order Refunded with `total`/`revenue` or
`products[]` (a partial refund) lowers total_spent by that amount and keeps the order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kaeri import vocabulary as v
from kaeri.aws import AwsClients
from kaeri.clock import parse_iso
from kaeri.events import StoredEvent
from kaeri.profiles.model import CartLine, Consent, Profile, ViewedProduct
from kaeri.profiles.repository import (
    ANON_PREFIX,
    ConcurrentUpdate,
    ProfileRepository,
    ProfileState,
    alias_item,
    anonymous_customer,
    consent_item,
)

log = logging.getLogger("kaeri.profiles")

RECENTLY_VIEWED_MAX = 20
WISHLIST_MAX = 100
BOUGHT_MAX = 200
APPLIED_MAX = 100  # message ids remembered per profile: far more than a stream retry can replay
ORDER_IDS_MAX = 500
# Orders whose counted amount and time are kept for cancels and refunds (the most recent by order
# time; about 70 bytes each on the PROFILE item). Cancels come days or weeks after an order, and few
# customers place 50 orders in that time; an older order's cancel subtracts nothing and is logged.
ORDER_TOTALS_MAX = 50
CANCELLED_MAX = 100  # cancelled order ids remembered: a cancel delivered again takes nothing more
SAVE_ATTEMPTS = 8
NO_PROFILE_SOURCES = frozenset({"catalog"})  # events about products, not customers
WISHLIST_REMOVED = "Product Removed from Wishlist"
IDENTITY_TRAITS = ("email", "phone", "line_user_id", "first_name", "last_name", "locale", "timezone")
PROFILE_TRAITS = frozenset(
    {*IDENTITY_TRAITS, "birthday", "points_balance", "points_expire_on", "consent", "created_at"}
)


@dataclass
class Outcome:
    """What applying one event did: the consent changes to record and whether anything changed."""

    changed: bool = False
    consent_changes: list[tuple[str, Consent]] = field(default_factory=list)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _int(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def _add_unique(items: list[str], new: list[str], limit: int) -> list[str]:
    merged = list(items)
    for item in new:
        if item and item not in merged:
            merged.append(item)
    return merged[-limit:]


def _set_consent(profile: Profile, channel: str, consent: Consent, outcome: Outcome) -> None:
    current = profile.consent.get(channel)
    if current is not None and current.at and consent.at and consent.at < current.at:
        outcome.consent_changes.append((channel, consent))  # history keeps it; the newer one stands
        return
    if current != consent:
        profile.consent[channel] = consent
        outcome.consent_changes.append((channel, consent))


def _apply_traits(profile: Profile, traits: dict[str, Any], event: StoredEvent, outcome: Outcome) -> None:
    for name in IDENTITY_TRAITS:
        if name in traits:
            setattr(profile, name, traits[name])
    if "birthday" in traits:
        profile.birthday = _date(traits["birthday"])
    if "points_balance" in traits:
        profile.points_balance = max(_int(traits["points_balance"], 0), 0)
    if "points_expire_on" in traits:
        profile.points_expire_on = _date(traits["points_expire_on"])
    if "created_at" in traits:
        profile.signed_up_at = _earliest(profile.signed_up_at, _time(traits["created_at"]))
    for channel, record in (traits.get("consent") or {}).items():
        if isinstance(record, str):
            record = {"status": record}
        consent = Consent(
            status=record.get("status", "unknown"),
            at=_time(record.get("at")) or event.timestamp,
            source=record.get("source") or f"{event.source} {event.type}",
            wording_version=record.get("wording_version"),
        )
        _set_consent(profile, channel, consent, outcome)
    for name, value in traits.items():
        if name in PROFILE_TRAITS:
            continue
        if value is None:
            profile.traits.pop(name, None)
        else:
            profile.traits[name] = value


def _line(product: dict[str, Any], at: datetime) -> CartLine | None:
    product_id = product.get("product_id") or product.get("sku")
    if not product_id:
        return None
    return CartLine(
        product_id=str(product_id),
        name=product.get("name"),
        price=_decimal(product.get("price")),
        quantity=max(_int(product.get("quantity"), 1), 1),
        category=product.get("category"),
        url=product.get("url"),
        image_url=product.get("image_url"),
        added_at=at,
    )


def _order_total(properties: dict[str, Any]) -> Decimal:
    for key in ("total", "revenue", "value"):
        amount = _decimal(properties.get(key))
        if amount is not None:
            return amount
    total = Decimal("0")
    for product in properties.get("products") or []:
        total += (_decimal(product.get("price")) or Decimal("0")) * _int(product.get("quantity"), 1)
    return total


def _apply_order(state: ProfileState, event: StoredEvent) -> None:
    profile, props = state.profile, event.properties
    products = [p for p in props.get("products") or [] if isinstance(p, dict)]
    bought = [
        str(p.get("product_id") or p.get("sku")) for p in products if p.get("product_id") or p.get("sku")
    ]
    # Whatever this order bought, and every line added before it, is no longer in the cart.
    for product_id, line in list(profile.cart.items()):
        if product_id in bought or line.added_at is None or line.added_at <= event.timestamp:
            del profile.cart[product_id]
    profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    order_id = str(props.get("order_id") or props.get("checkout_id") or event.message_id)
    if order_id in state.order_ids:
        return  # the same order delivered again (e.g. by Shopify and by the storefront)
    state.order_ids = (state.order_ids + [order_id])[-ORDER_IDS_MAX:]
    if order_id in state.cancelled_order_ids:
        # Stream records of different messages are not ordered: the cancel came first.
        log.info("order %s arrived after its cancellation: not counted", order_id)
        return
    total = _order_total(props)
    _keep_order_total(state, order_id, total, event.timestamp)
    profile.order_count += 1
    profile.total_spent += total
    profile.currency = props.get("currency") or profile.currency
    profile.first_order_at = _earliest(profile.first_order_at, event.timestamp)
    profile.last_order_at = _latest(profile.last_order_at, event.timestamp)
    profile.products_bought = _add_unique(profile.products_bought, bought, BOUGHT_MAX)
    categories = [str(p["category"]) for p in products if p.get("category")]
    profile.categories_bought = _add_unique(profile.categories_bought, categories, BOUGHT_MAX)


def _keep_order_total(state: ProfileState, order_id: str, total: Decimal, at: datetime) -> None:
    totals = {**state.order_totals, order_id: (total, at)}
    newest = sorted(totals.items(), key=lambda item: item[1][1])[-ORDER_TOTALS_MAX:]
    state.order_totals = dict(newest)


def _refund_amount(props: dict[str, Any]) -> Decimal | None:
    """A partial refund's amount (positive); None for a full refund (no total, revenue or products)."""
    for key in ("total", "revenue"):
        if props.get(key) is not None:
            return abs(_decimal(props[key]) or Decimal("0"))
    if props.get("products"):
        return abs(_order_total({"products": props["products"]}))
    return None


def _cancel_order(state: ProfileState, order_id: str) -> None:
    profile = state.profile
    state.cancelled_order_ids = (state.cancelled_order_ids + [order_id])[-CANCELLED_MAX:]
    entry = state.order_totals.pop(order_id, None)
    if entry is None:
        if order_id in state.order_ids:
            log.warning("cancelled order %s is older than the kept order totals: profile unchanged", order_id)
        else:
            log.info("cancelled order %s was not counted for this profile: nothing to take back", order_id)
        return
    amount, at = entry
    profile.order_count = max(profile.order_count - 1, 0)
    profile.total_spent = max(profile.total_spent - amount, Decimal("0"))
    if profile.order_count == 0:
        profile.first_order_at = profile.last_order_at = None
        return
    kept = [t for _, t in state.order_totals.values()]
    # order_totals holds the most recent orders, so the last remaining order is among them whenever
    # any is; the first only when they are all there (else an older one, not kept, stays first).
    if profile.last_order_at == at and kept:
        profile.last_order_at = max(kept)
    if profile.first_order_at == at and len(kept) >= profile.order_count:
        profile.first_order_at = min(kept)


def _refund(state: ProfileState, order_id: str, amount: Decimal) -> None:
    if order_id not in state.order_ids and order_id not in state.order_totals:
        log.info("refund for order %s, not counted for this profile: nothing to take back", order_id)
        return
    entry = state.order_totals.get(order_id)
    if entry is not None:
        left, at = entry
        amount = min(amount, left)  # never more than the order still counts
        state.order_totals[order_id] = (left - amount, at)
    state.profile.total_spent = max(state.profile.total_spent - amount, Decimal("0"))


def _apply_cancel_or_refund(state: ProfileState, event: StoredEvent) -> None:
    props = event.properties
    if not props.get("order_id"):
        log.info("%s %s without order_id: profile unchanged", event.event, event.message_id)
        return
    order_id = str(props["order_id"])
    if order_id in state.cancelled_order_ids:
        log.info("order %s already cancelled: %s %s changes nothing", order_id, event.event, event.message_id)
        return
    amount = None if event.event == v.ORDER_CANCELLED else _refund_amount(props)
    if amount is None:
        _cancel_order(state, order_id)
    else:
        _refund(state, order_id, amount)


def _apply_track(state: ProfileState, event: StoredEvent, outcome: Outcome) -> None:
    profile, props, name = state.profile, event.properties, event.event
    product_id = str(props.get("product_id") or props.get("sku") or "") or None
    if name == v.PRODUCT_VIEWED and product_id:
        viewed = ViewedProduct(
            product_id=product_id,
            name=props.get("name"),
            category=props.get("category"),
            price=_decimal(props.get("price")),
            url=props.get("url"),
            image_url=props.get("image_url"),
            at=event.timestamp,
        )
        others = [p for p in profile.recently_viewed if p.product_id != product_id]
        previous = next((p for p in profile.recently_viewed if p.product_id == product_id), None)
        keep = viewed if previous is None or previous.at <= viewed.at else previous
        profile.recently_viewed = sorted([keep, *others], key=lambda p: p.at, reverse=True)[
            :RECENTLY_VIEWED_MAX
        ]
    elif name == v.PRODUCT_ADDED and product_id:
        line = _line({**props, "product_id": product_id}, event.timestamp)
        existing = profile.cart.get(product_id)
        if existing and line:
            line.quantity += existing.quantity
        if line:
            profile.cart[product_id] = line
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.PRODUCT_REMOVED and product_id:
        existing = profile.cart.get(product_id)
        quantity = _int(props.get("quantity"), 0)
        if existing and 0 < quantity < existing.quantity:
            existing.quantity -= quantity
        else:
            profile.cart.pop(product_id, None)
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.CHECKOUT_STARTED and props.get("products"):
        lines = [_line(p, event.timestamp) for p in props["products"] if isinstance(p, dict)]
        profile.cart = {line.product_id: line for line in lines if line}
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.ORDER_COMPLETED:
        _apply_order(state, event)
    elif name in (v.ORDER_CANCELLED, v.ORDER_REFUNDED):
        _apply_cancel_or_refund(state, event)
    elif name == v.WISHLIST_ADDED and product_id:
        profile.wishlist = _add_unique(
            [p for p in profile.wishlist if p != product_id], [product_id], WISHLIST_MAX
        )
    elif name == WISHLIST_REMOVED and product_id:
        profile.wishlist = [p for p in profile.wishlist if p != product_id]
    elif name == v.SIGNED_UP:
        profile.signed_up_at = _earliest(profile.signed_up_at, event.timestamp)
    elif name == v.POINTS_UPDATED:
        _apply_traits(
            profile,
            {k: props[k] for k in ("points_balance", "points_expire_on") if k in props},
            event,
            outcome,
        )
    elif name in (v.UNSUBSCRIBED, v.CONSENT_CHANGED):
        channel = props.get("channel") or "email"
        status = "revoked" if name == v.UNSUBSCRIBED else props.get("status")
        if channel in v.CHANNELS and status in ("granted", "revoked"):
            record = {"status": status, "at": props.get("at"), "source": props.get("source") or name}
            if props.get("wording_version"):
                record["wording_version"] = props["wording_version"]
            _apply_traits(profile, {"consent": {channel: record}}, event, outcome)


def apply_event(state: ProfileState, event: StoredEvent) -> Outcome:
    """Apply one event to a profile in place (pure: no I/O). Replays are the caller's concern."""
    before = state.profile.model_copy(deep=True)
    orders_before = (list(state.order_ids), dict(state.order_totals), list(state.cancelled_order_ids))
    outcome = Outcome()
    if event.type in ("identify", "group") and event.traits:
        _apply_traits(state.profile, event.traits, event, outcome)
    elif event.type == "track" and event.event:
        _apply_track(state, event, outcome)
    profile = state.profile
    if profile.points_balance <= 0:
        profile.points_expire_on = None  # an expiry date only means something while points are held
    orders_after = (state.order_ids, state.order_totals, state.cancelled_order_ids)
    outcome.changed = profile != before or orders_after != orders_before
    if outcome.changed:
        profile.updated_at = _latest(profile.updated_at, event.timestamp)
    return outcome


def merge_anonymous(state: ProfileState, anonymous: ProfileState, anonymous_id: str) -> None:
    """Fold an anonymous visitor's profile into the customer's (the cart built before login stays)."""
    user, anon = state.profile, anonymous.profile
    user.anonymous_ids = _add_unique(user.anonymous_ids, [anonymous_id, *anon.anonymous_ids], 50)
    for product_id, line in anon.cart.items():
        mine = user.cart.get(product_id)
        if mine is None or (mine.added_at and line.added_at and line.added_at > mine.added_at):
            user.cart[product_id] = line
    user.cart_updated_at = _latest(user.cart_updated_at, anon.cart_updated_at)
    viewed = {
        p.product_id: p for p in sorted(anon.recently_viewed + user.recently_viewed, key=lambda p: p.at)
    }
    user.recently_viewed = sorted(viewed.values(), key=lambda p: p.at, reverse=True)[:RECENTLY_VIEWED_MAX]
    user.wishlist = _add_unique(user.wishlist, anon.wishlist, WISHLIST_MAX)
    for name in (*IDENTITY_TRAITS, "birthday"):
        if getattr(user, name) is None and getattr(anon, name) is not None:
            setattr(user, name, getattr(anon, name))
    for name, value in anon.traits.items():
        user.traits.setdefault(name, value)
    for channel, consent in anon.consent.items():
        mine = user.consent.get(channel)
        if mine is None or (consent.at and (mine.at is None or consent.at > mine.at)):
            user.consent[channel] = consent
    new_orders = [o for o in anonymous.order_ids if o not in state.order_ids]
    if new_orders and anon.order_count:
        user.order_count += anon.order_count
        user.total_spent += anon.total_spent
        user.currency = user.currency or anon.currency
        user.first_order_at = _earliest(user.first_order_at, anon.first_order_at)
        user.last_order_at = _latest(user.last_order_at, anon.last_order_at)
        user.products_bought = _add_unique(user.products_bought, anon.products_bought, BOUGHT_MAX)
        user.categories_bought = _add_unique(user.categories_bought, anon.categories_bought, BOUGHT_MAX)
        state.order_ids = (state.order_ids + new_orders)[-ORDER_IDS_MAX:]
        for order_id in new_orders:
            if order_id in anonymous.order_totals:
                _keep_order_total(state, order_id, *anonymous.order_totals[order_id])
    state.cancelled_order_ids = _add_unique(
        state.cancelled_order_ids, anonymous.cancelled_order_ids, CANCELLED_MAX
    )
    user.signed_up_at = _earliest(user.signed_up_at, anon.signed_up_at)
    state.applied = _add_unique(state.applied, anonymous.applied, APPLIED_MAX)


def _anonymous_to_merge(event: StoredEvent) -> str | None:
    if not event.user_id:
        return None
    if event.type == "alias":
        return event.previous_id
    return event.anonymous_id


class ProfileProjector:
    def __init__(self, clients: AwsClients, repository: ProfileRepository | None = None) -> None:
        self.repository = repository or ProfileRepository(clients)

    def apply(self, event: StoredEvent) -> Profile | None:
        """Update the profile the event belongs to; returns it (None for events about no customer)."""
        if event.source in NO_PROFILE_SOURCES:
            return None
        repo = self.repository
        prefetched: ProfileState | None = None
        if event.user_id:
            customer_id = event.user_id
        else:
            customer_id, prefetched = repo.resolve_and_load(
                event.shop_id, anonymous_customer(event.anonymous_id or "")
            )
        merge_id = _anonymous_to_merge(event)
        if merge_id and merge_id.startswith(ANON_PREFIX):
            merge_id = merge_id[len(ANON_PREFIX) :]
        for _ in range(SAVE_ATTEMPTS):
            state = prefetched or repo.load(event.shop_id, customer_id)
            prefetched = None  # a retry after a concurrent update reads again
            if event.message_id in state.applied:
                return state.profile  # a replayed record: already counted
            anonymous: ProfileState | None = None
            records: list[dict[str, Any]] = []  # written together, before the profile save
            if merge_id and merge_id not in state.profile.anonymous_ids:
                records.append(alias_item(event.shop_id, merge_id, customer_id, event.timestamp))
                anonymous = repo.load(event.shop_id, anonymous_customer(merge_id))
                merge_anonymous(state, anonymous, merge_id)
            outcome = apply_event(state, event)
            if not outcome.changed and anonymous is None:
                return state.profile if state.version is not None else None
            records += [
                consent_item(event.shop_id, customer_id, channel, consent)
                for channel, consent in outcome.consent_changes
            ]
            repo.put_records(records)
            state.applied = _add_unique(state.applied, [event.message_id], APPLIED_MAX)
            try:
                repo.save(state)
            except ConcurrentUpdate:
                continue
            if anonymous is not None:
                repo.delete_merged(event.shop_id, anonymous_customer(merge_id or ""), anonymous.version)
            return state.profile
        raise ConcurrentUpdate(f"profile {event.shop_id}/{customer_id} kept changing; giving up for a retry")


def project_and_trigger(
    clients: AwsClients, item: dict[str, Any], projector: ProfileProjector | None = None
) -> None:
    """What the stream consumer does for each new events-table item: profile first, then scenarios."""
    from kaeri.journeys.triggers import on_event

    event = StoredEvent.from_item(item)
    profile = (projector or ProfileProjector(clients)).apply(event)
    on_event(event, profile, clients)
