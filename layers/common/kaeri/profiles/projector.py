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

import copy
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kaeri import vocabulary as v
from kaeri.aws import AwsClients
from kaeri.clock import parse_iso
from kaeri.events import StoredEvent
from kaeri.profiles import projection as pr
from kaeri.profiles.model import Consent, Profile, ViewedProduct
from kaeri.profiles.repository import (
    ANON_PREFIX,
    ConcurrentUpdate,
    ProfileRepository,
    ProfileState,
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
EARLIEST_TIME, LATEST_TIME = 1900, 9998  # years a time in traits or properties may have; else ignored
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
    """A finite amount, or None (NaN, Infinity, text that is no number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if pr.storable(amount) else None


def _int(value: Any, default: int = 1) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def as_date(value: Any) -> date | None:
    return _date(value)


def as_points(value: Any) -> int:
    return max(_int(value, 0), 0)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        at = parse_iso(str(value))
    except (ValueError, OverflowError):  # not a time, or outside what UTC conversion can hold
        return None
    return at if EARLIEST_TIME <= at.year <= LATEST_TIME else None  # year 0001 is no consent time


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


def _record_consent(state: ProfileState, channel: str, consent: Consent, at: str, outcome: Outcome) -> None:
    """Every consent record goes to the history; the one with the latest time (then stamp) stands."""
    outcome.consent_changes.append((channel, consent))
    pr.set_register(
        _projection(state), f"consent:{channel}", pr.consent_stamp(consent, at), pr.consent_value(consent)
    )


def _apply_traits(state: ProfileState, traits: dict[str, Any], event: StoredEvent, outcome: Outcome) -> None:
    projection, at = _projection(state), _stamp(event)
    for name in (*IDENTITY_TRAITS, "birthday", "points_balance", "points_expire_on"):
        if name in traits:
            value = traits[name]
            if value is not None and not (name == "points_balance" and isinstance(value, int)):
                value = str(value)  # the profile's fields are text; a number sent as email is kept as text
            pr.set_register(projection, f"t:{name}", at, value)
    if "created_at" in traits:
        profile = state.profile
        profile.signed_up_at = _earliest(profile.signed_up_at, _time(traits["created_at"]))
    consents = traits.get("consent")
    for channel, record in (consents if isinstance(consents, dict) else {}).items():
        if isinstance(record, str):
            record = {"status": record}
        if not isinstance(record, dict) or record.get("status") not in ("granted", "revoked", "unknown"):
            log.info(
                "consent for %r in %s is not a known status: ignored", str(channel)[:20], event.message_id
            )
            continue
        consent = Consent(
            status=record["status"],
            at=_time(record.get("at")) or event.timestamp,
            source=str(record.get("source") or f"{event.source} {event.type}"),
            wording_version=record.get("wording_version") and str(record["wording_version"]),
        )
        _record_consent(state, str(channel), consent, at, outcome)
    for name, value in traits.items():
        if name not in PROFILE_TRAITS:
            pr.set_register(projection, f"x:{name}", at, value)


def _stamp(event: StoredEvent) -> str:
    return pr.stamp(event.timestamp, event.message_id, event.event)


def _projection(state: ProfileState) -> dict[str, Any]:
    if state.projection is None:
        state.projection = pr.seeded(state.profile)
    return state.projection


def _quantity(value: Any) -> int:
    return max(_int(value, 1), 1)


def _order_total(properties: dict[str, Any]) -> Decimal:
    for key in ("total", "revenue", "value"):
        amount = _decimal(properties.get(key))
        if amount is not None:
            return max(amount, Decimal("0"))  # a negative total never lowers total_spent
    total = Decimal("0")
    products = properties.get("products")
    for product in products if isinstance(products, list) else []:
        if isinstance(product, dict):
            line = (_decimal(product.get("price")) or Decimal("0")) * _quantity(product.get("quantity"))
            total += max(line, Decimal("0"))
    return total


def _apply_order(state: ProfileState, event: StoredEvent) -> None:
    profile, props = state.profile, event.properties
    products = [p for p in _products(props) if isinstance(p, dict)]
    bought = [
        str(p.get("product_id") or p.get("sku")) for p in products if p.get("product_id") or p.get("sku")
    ]
    # Every line added before the order is no longer in the cart, whichever arrives first.
    projection, at = _projection(state), _stamp(event)
    pr.cart_reset(projection, at)
    profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    if props.get("currency"):
        pr.set_register(projection, "t:currency", at, str(props["currency"]))
    pr.bought(projection, "bought", bought, at)
    pr.bought(projection, "cats", [str(p["category"]) for p in products if p.get("category")], at)
    order_id = str(props.get("order_id") or props.get("checkout_id") or event.message_id)
    if order_id in state.order_ids:
        _order_again(state, order_id, event)  # e.g. delivered by Shopify and by the storefront
        return
    state.order_ids = (state.order_ids + [order_id])[-ORDER_IDS_MAX:]
    if order_id in state.cancelled_order_ids:
        # Stream records of different messages are not ordered: the cancel came first.
        log.info("order %s arrived after its cancellation: not counted", order_id)
        return
    total = _order_total(props)
    _keep_order_total(state, order_id, total, event.timestamp)
    profile.order_count += 1
    profile.total_spent += total
    profile.first_order_at = _earliest(profile.first_order_at, event.timestamp)
    profile.last_order_at = _latest(profile.last_order_at, event.timestamp)


def _order_again(state: ProfileState, order_id: str, event: StoredEvent) -> None:
    """An order counted already, delivered again: it still counts once, at the largest amount any
    delivery reported and the earliest time (so which delivery came first does not matter)."""
    entry = state.order_totals.get(order_id)
    if entry is None or order_id in state.cancelled_order_ids:
        return
    counted, at = entry
    profile = state.profile
    total = _order_total(event.properties)
    if total > counted:
        profile.total_spent += total - counted
    state.order_totals[order_id] = (max(total, counted), min(at, event.timestamp))
    if event.timestamp < at:  # the order happened when it was first reported
        profile.first_order_at = _earliest(profile.first_order_at, event.timestamp)
        if profile.last_order_at == at:
            profile.last_order_at = max(t for _, t in state.order_totals.values())


def _products(props: dict[str, Any]) -> list[Any]:
    products = props.get("products")
    return products if isinstance(products, list) else []


def _keep_order_total(state: ProfileState, order_id: str, total: Decimal, at: datetime) -> None:
    totals = {**state.order_totals, order_id: (total, at)}
    newest = sorted(totals.items(), key=lambda item: item[1][1])[-ORDER_TOTALS_MAX:]
    state.order_totals = dict(newest)


def _refund_amount(props: dict[str, Any]) -> Decimal | None:
    """A partial refund's amount (positive); None for a full refund (no total, revenue or products)."""
    for key in ("total", "revenue"):
        if props.get(key) is not None:
            return abs(_decimal(props[key]) or Decimal("0"))
    if _products(props):
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


def _apply_view(profile: Profile, event: StoredEvent, product_id: str) -> None:
    """The product on top of recently viewed (the later of two views of it wins, whatever the order)."""
    props = event.properties
    viewed = ViewedProduct(
        product_id=product_id,
        name=_text(props.get("name")),
        category=_text(props.get("category")),
        price=_decimal(props.get("price")),
        url=_text(props.get("url")),
        image_url=_text(props.get("image_url")),
        at=event.timestamp,
    )
    others = [p for p in profile.recently_viewed if p.product_id != product_id]
    previous = next((p for p in profile.recently_viewed if p.product_id == product_id), None)
    keep = viewed if previous is None or _view_key(previous) <= _view_key(viewed) else previous
    profile.recently_viewed = sorted([keep, *others], key=lambda p: (p.at, p.product_id), reverse=True)[
        :RECENTLY_VIEWED_MAX
    ]


def _apply_checkout(projection: dict[str, Any], props: dict[str, Any], at: str) -> None:
    """The checkout's lines replace the cart."""
    pr.cart_reset(projection, at)
    for i, product in enumerate(_products(props)):
        if isinstance(product, dict) and (product.get("product_id") or product.get("sku")):
            line_id = str(product.get("product_id") or product.get("sku"))
            data = pr.line_data(product)
            pr.cart_add(projection, line_id, f"{at}|{i:04d}", _quantity(product.get("quantity")), data)


def _apply_track(state: ProfileState, event: StoredEvent, outcome: Outcome) -> None:
    profile, props, name = state.profile, event.properties, event.event
    product_id = str(props.get("product_id") or props.get("sku") or "") or None
    projection, at = _projection(state), _stamp(event)
    if name == v.PRODUCT_VIEWED and product_id:
        _apply_view(profile, event, product_id)
    elif name == v.PRODUCT_ADDED and product_id:
        pr.cart_add(projection, product_id, at, _quantity(props.get("quantity")), pr.line_data(props))
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.PRODUCT_REMOVED and product_id:
        pr.cart_remove(projection, product_id, at, max(_int(props.get("quantity"), 0), 0))
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.CHECKOUT_STARTED and _products(props):
        _apply_checkout(projection, props, at)
        profile.cart_updated_at = _latest(profile.cart_updated_at, event.timestamp)
    elif name == v.ORDER_COMPLETED:
        _apply_order(state, event)
    elif name in (v.ORDER_CANCELLED, v.ORDER_REFUNDED):
        _apply_cancel_or_refund(state, event)
    elif name == v.WISHLIST_ADDED and product_id:
        pr.wish(projection, product_id, at, True)
    elif name == WISHLIST_REMOVED and product_id:
        pr.wish(projection, product_id, at, False)
    elif name == v.SIGNED_UP:
        profile.signed_up_at = _earliest(profile.signed_up_at, event.timestamp)
    elif name == v.POINTS_UPDATED:
        _apply_traits(
            state,
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
            _apply_traits(state, {"consent": {channel: record}}, event, outcome)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _view_key(viewed: ViewedProduct) -> tuple[datetime, str]:
    return viewed.at, viewed.model_dump_json()


def apply_event(state: ProfileState, event: StoredEvent) -> Outcome:
    """Apply one event to a profile in place (pure: no I/O). Replays are the caller's concern."""
    before = state.profile.model_copy(deep=True)
    orders_before = (list(state.order_ids), dict(state.order_totals), list(state.cancelled_order_ids))
    projection_before = copy.deepcopy(state.projection)
    outcome = Outcome()
    if event.type in ("identify", "group") and event.traits:
        _apply_traits(state, event.traits, event, outcome)
    elif event.type == "track" and event.event:
        _apply_track(state, event, outcome)
    profile = state.profile
    if state.projection is not None:
        pr.derive(profile, state.projection)
    elif profile.points_balance <= 0:
        profile.points_expire_on = None
    orders_after = (state.order_ids, state.order_totals, state.cancelled_order_ids)
    outcome.changed = (
        profile != before
        or orders_after != orders_before
        or state.projection != projection_before
        or bool(outcome.consent_changes)
    )
    if outcome.changed:
        profile.updated_at = _latest(profile.updated_at, event.timestamp)
    return outcome


def merge_anonymous(state: ProfileState, anonymous: ProfileState, anonymous_id: str) -> None:
    """Fold an anonymous visitor's profile into the customer's (the cart built before login stays).

    The stream-kept fields merge as a union of their registers (kaeri.profiles.projection), so the
    result does not depend on which was projected first, and merging twice adds nothing. Orders count
    once per order id.
    """
    user, anon = state.profile, anonymous.profile
    user.anonymous_ids = _add_unique(user.anonymous_ids, [anonymous_id, *anon.anonymous_ids], 50)
    pr.merge(_projection(state), _projection(anonymous))
    user.cart_updated_at = _latest(user.cart_updated_at, anon.cart_updated_at)
    viewed: dict[str, ViewedProduct] = {}
    for p in anon.recently_viewed + user.recently_viewed:
        if p.product_id not in viewed or _view_key(viewed[p.product_id]) <= _view_key(p):
            viewed[p.product_id] = p
    user.recently_viewed = sorted(viewed.values(), key=lambda p: (p.at, p.product_id), reverse=True)[
        :RECENTLY_VIEWED_MAX
    ]
    new_orders = [o for o in anonymous.order_ids if o not in state.order_ids]
    per_order = all(o in anonymous.order_totals or o in anonymous.cancelled_order_ids for o in new_orders)
    if new_orders and anon.order_count and (per_order or len(new_orders) == len(anonymous.order_ids)):
        if per_order:
            counted = [
                o for o in new_orders if o in anonymous.order_totals and o not in state.cancelled_order_ids
            ]
            count = len(counted)
            spent = sum((anonymous.order_totals[o][0] for o in counted), Decimal("0"))
            times = [anonymous.order_totals[o][1] for o in counted]
        else:  # more orders than the kept totals, none of them counted here yet: take the sums
            count, spent = anon.order_count, anon.total_spent
            times = [t for t in (anon.first_order_at, anon.last_order_at) if t]
        user.order_count += count
        user.total_spent += spent
        for t in times:
            user.first_order_at = _earliest(user.first_order_at, t)
            user.last_order_at = _latest(user.last_order_at, t)
        for order_id in new_orders:
            if order_id in anonymous.order_totals:
                _keep_order_total(state, order_id, *anonymous.order_totals[order_id])
    state.order_ids = (state.order_ids + new_orders)[-ORDER_IDS_MAX:]
    state.cancelled_order_ids = _add_unique(
        state.cancelled_order_ids, anonymous.cancelled_order_ids, CANCELLED_MAX
    )
    user.signed_up_at = _earliest(user.signed_up_at, anon.signed_up_at)
    state.applied = _add_unique(state.applied, anonymous.applied, APPLIED_MAX)
    pr.derive(user, _projection(state))


class ProfileProjector:
    def __init__(
        self, clients: AwsClients, repository: ProfileRepository | None = None, metrics: Any = None
    ) -> None:
        self.repository = repository or ProfileRepository(clients)
        self.metrics = metrics  # a Powertools Metrics (or None): identity conflicts are counted

    def _claim(self, event: StoredEvent, anonymous_id: str, customer_id: str) -> bool:
        """Merge protection: the anonymous id is this customer's, or is now; False if another's."""
        owner = self.repository.claim_alias(event.shop_id, anonymous_id, customer_id, event.timestamp)
        if owner == customer_id:
            return True
        self.repository.put_conflict(event.shop_id, anonymous_id, customer_id, owner, event)
        log.warning(
            "identity conflict: %s claims an anonymous id merged into another customer; not re-pointed",
            event.message_id,
            extra={"shop_id": event.shop_id, "message_id": event.message_id, "type": event.type},
        )
        if self.metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit

            self.metrics.add_metric(name="IdentityConflicts", unit=MetricUnit.Count, value=1)
        return False

    def apply(self, event: StoredEvent) -> Profile | None:
        """Update the profile the event belongs to; returns it (None for events about no customer)."""
        state = self.apply_state(event)
        return state.profile if state is not None else None

    def apply_state(self, event: StoredEvent) -> ProfileState | None:
        """As apply, returning the profile with its projection state (what the journey triggers read)."""
        if event.source in NO_PROFILE_SOURCES:
            return None
        repo = self.repository
        merge_id = _anonymous_to_merge(event)
        if merge_id and merge_id.startswith(ANON_PREFIX):
            merge_id = merge_id[len(ANON_PREFIX) :]
        claimed: bool | None = None
        for _ in range(SAVE_ATTEMPTS):
            prefetched: ProfileState | None = None
            if event.user_id:
                customer_id = event.user_id
            else:  # resolved on every attempt: a merge may have moved this visitor meanwhile
                customer_id, prefetched = repo.resolve_and_load(
                    event.shop_id, anonymous_customer(event.anonymous_id or "")
                )
            state = prefetched or repo.load(event.shop_id, customer_id)
            if event.message_id in state.applied:
                return state  # a replayed record: already counted
            anonymous: ProfileState | None = None
            records: list[dict[str, Any]] = []  # written together, before the profile save
            if merge_id and merge_id not in state.profile.anonymous_ids:
                if claimed is None:
                    claimed = self._claim(event, merge_id, customer_id)
                if claimed:
                    anonymous = repo.load(event.shop_id, anonymous_customer(merge_id))
                    merge_anonymous(state, anonymous, merge_id)
            outcome = apply_event(state, event)
            if not outcome.changed and anonymous is None:
                return state if state.version is not None else None
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
            if anonymous is not None and merge_id:
                self._finish_merge(event.shop_id, customer_id, merge_id, anonymous)
            return state
        raise ConcurrentUpdate(f"profile {event.shop_id}/{customer_id} kept changing; giving up for a retry")

    def _finish_merge(self, shop_id: str, customer_id: str, anonymous_id: str, merged: ProfileState) -> None:
        """Delete the merged anonymous profile; if an event landed on it meanwhile, merge again first."""
        repo = self.repository
        for _ in range(SAVE_ATTEMPTS):
            if repo.delete_merged(shop_id, anonymous_customer(anonymous_id), merged.version):
                return
            merged = repo.load(shop_id, anonymous_customer(anonymous_id))
            if merged.version is None:
                return
            state = repo.load(shop_id, customer_id)
            merge_anonymous(state, merged, anonymous_id)  # a union: what was merged already adds nothing
            try:
                repo.save(state)
            except ConcurrentUpdate:
                continue
        log.warning(
            "anonymous profile of %s kept changing while merged; kept for the next merge", customer_id
        )


def _anonymous_to_merge(event: StoredEvent) -> str | None:
    if not event.user_id:
        return None
    if event.type == "alias":
        return event.previous_id
    return event.anonymous_id


def project_and_trigger(
    clients: AwsClients,
    item: dict[str, Any],
    projector: ProfileProjector | None = None,
    quarantine: Any = None,
) -> str:
    """What the stream consumer does for each new events-table item: profile first, then scenarios.

    Returns "applied", or "quarantined" when the event cannot be projected (kaeri.profiles.quarantine
    keeps it with its reason for `kaeri events replay`). Concurrent-update exhaustion and AWS errors
    are raised, so the stream retries them.
    """
    from kaeri.journeys.triggers import on_event
    from kaeri.profiles.quarantine import Quarantine, is_retryable

    try:
        event = StoredEvent.from_item(item)
        state = (projector or ProfileProjector(clients)).apply_state(event)
        on_event(event, state.profile if state else None, clients, state.projection if state else None)
    except Exception as exc:
        if is_retryable(exc):
            raise
        (quarantine or Quarantine(clients)).put(item, exc)
        return "quarantined"
    return "applied"
