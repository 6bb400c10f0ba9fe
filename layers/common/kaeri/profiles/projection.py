"""Order-independent profile state: what makes a profile a function of its events by timestamp.

DynamoDB Streams give no order across one customer's events and shards run concurrently, so every
field the stream writes is kept as something whose merge is commutative, associative and idempotent:

- a **stamp** orders events: ``{iso timestamp}|{rank}|{message_id}``; text comparison is time order,
  then, within one millisecond, the shopping funnel's order (identify, view, add, remove, checkout,
  order: what an SDK sends in one batch), then the message id;
- **registers** (traits, consent, points, currency): the value with the greatest stamp wins;
- the **cart**, per product: adds and partial removals after the product's last reset (a full
  removal) and after the cart's last reset (an order or a checkout that replaces the cart). A product
  is in the cart iff, folding those in stamp order, quantity stays above 0: an add older than an
  order is not in the cart, whichever arrives first;
- **wishlist**: per product, the latest add or removal wins; **bought** products and categories keep
  the stamp of their latest order.

The Profile's cart, wishlist, traits, consent, points and bought lists are derived from this state
after every event (``derive``); merging an anonymous visitor's state is the same union (``merge``),
so an alias seen twice cannot double a cart.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kaeri.clock import iso
from kaeri.profiles.model import CartLine, Consent, Profile

CART_PRODUCTS_MAX = 200  # products whose adds/removals are kept (the cart and recent removals)
CART_EVENTS_MAX = 20  # adds and partial removals kept per product since its last reset
WISHLIST_MAX = 100
WISH_REGISTERS_MAX = 200
BOUGHT_MAX = 200

RANKS = {
    "Product Viewed": 1,
    "Product Added": 2,
    "Product Removed": 3,
    "Checkout Started": 4,
    "Order Completed": 5,
}
LINE_FIELDS = ("name", "price", "category", "url", "image_url")
IDENTITY_FIELDS = ("email", "phone", "line_user_id", "first_name", "last_name", "locale", "timezone")


def stamp(at: datetime, message_id: str, event: str | None = None) -> str:
    return f"{iso(at)}|{RANKS.get(event or '', 0)}|{message_id}"


def empty() -> dict[str, Any]:
    return {"reg": {}, "cart": {}, "cart_reset": "", "wish": {}, "bought": {}, "cats": {}}


def seeded(profile: Profile) -> dict[str, Any]:
    """State for a profile saved before this existed: its current fields, as the oldest values."""
    state = empty()
    for product_id, line in profile.cart.items():
        at = iso(line.added_at) if line.added_at else ""
        data = line_data(line.model_dump(mode="json"))
        state["cart"][product_id] = {"reset": "", "events": [[f"{at}|2|seed", "add", line.quantity, data]]}
    for i, product_id in enumerate(profile.wishlist):
        state["wish"][product_id] = [f"|seed{i:04d}", True]
    for i, product_id in enumerate(profile.products_bought):
        state["bought"][product_id] = f"|seed{i:04d}"
    for i, category in enumerate(profile.categories_bought):
        state["cats"][category] = f"|seed{i:04d}"
    return state


def line_data(product: dict[str, Any]) -> dict[str, Any]:
    """The display fields of a cart line as stored (price as text, so it round-trips exactly)."""
    data = {k: product.get(k) for k in LINE_FIELDS if product.get(k) is not None}
    if "price" in data:
        price = _amount(data.pop("price"))
        if price is not None:
            data["price"] = str(price)
    return {k: v if isinstance(v, str) else str(v) for k, v in data.items()}


def storable(amount: Decimal) -> bool:
    """A finite number DynamoDB can hold (38 significant digits, exponent within its range)."""
    return (
        amount.is_finite()
        and (amount == 0 or -128 < amount.adjusted() < 126)
        and len(amount.as_tuple().digits) <= 38
    )


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if storable(amount) else None


# Registers


def set_register(state: dict[str, Any], name: str, at: str, value: Any) -> bool:
    current = state["reg"].get(name)
    if current is not None and current[0] >= at:
        return False
    state["reg"][name] = [at, value]
    return True


def register(state: dict[str, Any], name: str) -> Any:
    entry = state["reg"].get(name)
    return None if entry is None else entry[1]


# Cart


def _product(state: dict[str, Any], product_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = state["cart"].setdefault(product_id, {"reset": "", "events": []})
    return entry


def cart_add(state: dict[str, Any], product_id: str, at: str, quantity: int, data: dict[str, Any]) -> None:
    entry = _product(state, product_id)
    if all(e[0] != at for e in entry["events"]):
        entry["events"].append([at, "add", quantity, data])


def cart_remove(state: dict[str, Any], product_id: str, at: str, quantity: int) -> None:
    """A removal of `quantity` units; 0 removes the product whatever its quantity."""
    entry = _product(state, product_id)
    if quantity <= 0:
        entry["reset"] = max(entry["reset"], at)
    elif all(e[0] != at for e in entry["events"]):
        entry["events"].append([at, "remove", quantity, None])


def cart_reset(state: dict[str, Any], at: str) -> None:
    """An order or a replacing checkout: every add stamped before it is out of the cart."""
    state["cart_reset"] = max(state["cart_reset"], at)


def reset_after(state: dict[str, Any], product_id: str, at: str) -> bool:
    """Whether an order or a full removal of the product is stamped after `at` (an add's stamp).

    Resets only accumulate, so once true it stays true whatever arrives later; partial removals do
    not count here (a later-arriving earlier add can outweigh them).
    """
    entry = state["cart"].get(product_id)
    latest: str = max(state["cart_reset"], entry["reset"] if entry else "")
    return latest > at


def cart_cleared(state: dict[str, Any]) -> bool:
    """Whether every add is stamped before an order or a full removal of its product: the cart is
    empty for good, since resets only accumulate. A cart emptied by partial removals is not cleared
    (an add arriving later with an earlier stamp can outweigh them)."""
    floor = state["cart_reset"]
    return not any(
        kind == "add" and at > max(entry["reset"], floor)
        for entry in state["cart"].values()
        for at, kind, *_ in entry["events"]
    )


def _compact(state: dict[str, Any]) -> None:
    floor = state["cart_reset"]
    for entry in state["cart"].values():
        cut = max(entry["reset"], floor)
        entry["events"] = sorted(e for e in entry["events"] if e[0] > cut)[-CART_EVENTS_MAX:]
    if len(state["cart"]) > CART_PRODUCTS_MAX:

        def last(item: tuple[str, dict[str, Any]]) -> str:
            entry = item[1]
            return str(max([entry["reset"], *(e[0] for e in entry["events"])]))

        kept = sorted(state["cart"].items(), key=last)[-CART_PRODUCTS_MAX:]
        state["cart"] = dict(kept)


def _parse_stamp_time(at: str) -> datetime | None:
    from kaeri.clock import parse_iso

    text = at.split("|", 1)[0]
    return parse_iso(text) if text else None


def cart_lines(state: dict[str, Any]) -> dict[str, CartLine]:
    lines: dict[str, CartLine] = {}
    for product_id in sorted(state["cart"]):
        entry = state["cart"][product_id]
        quantity, data, added, first = 0, None, "", ""
        for at, kind, units, payload in sorted(entry["events"], key=lambda e: e[0]):
            if kind == "add":
                quantity, data, added = quantity + int(units), payload, at
                first = first or at
            else:
                quantity = max(quantity - int(units), 0)
                first = first if quantity else ""
        if quantity > 0 and data is not None:
            price = data.get("price")
            lines[product_id] = CartLine(
                product_id=product_id,
                quantity=quantity,
                added_at=_parse_stamp_time(added),
                first_added_at=_parse_stamp_time(first),
                **{k: data.get(k) for k in LINE_FIELDS if k != "price"},
                price=Decimal(price) if price is not None else None,
            )
    return lines


# Wishlist and bought


def wish(state: dict[str, Any], product_id: str, at: str, present: bool) -> None:
    current = state["wish"].get(product_id)
    if current is None or current[0] < at:
        state["wish"][product_id] = [at, present]
    if len(state["wish"]) > WISH_REGISTERS_MAX:
        state["wish"] = dict(sorted(state["wish"].items(), key=lambda i: i[1][0])[-WISH_REGISTERS_MAX:])


def bought(state: dict[str, Any], kind: str, names: list[str], at: str) -> None:
    registry = state[kind]
    for name in names:
        registry[name] = max(registry.get(name, ""), at)
    if len(registry) > BOUGHT_MAX:
        state[kind] = dict(sorted(registry.items(), key=lambda i: (i[1], i[0]))[-BOUGHT_MAX:])


def _by_stamp(registry: dict[str, str]) -> list[str]:
    return [name for name, _ in sorted(registry.items(), key=lambda i: (i[1], i[0]))]


# Whole state


def merge(mine: dict[str, Any], other: dict[str, Any]) -> None:
    """Fold another state (an anonymous visitor's) into this one: a union, so order never matters."""
    for name, (at, value) in other["reg"].items():
        set_register(mine, name, at, value)
    for product_id, entry in other["cart"].items():
        target = _product(mine, product_id)
        target["reset"] = max(target["reset"], entry["reset"])
        for event in entry["events"]:
            if all(e[0] != event[0] for e in target["events"]):
                target["events"].append(event)
    cart_reset(mine, other["cart_reset"])
    for product_id, (at, present) in other["wish"].items():
        wish(mine, product_id, at, present)
    for kind in ("bought", "cats"):
        for name, at in other[kind].items():
            bought(mine, kind, [name], at)


def derive(profile: Profile, state: dict[str, Any]) -> None:
    """Set the profile's stream-kept fields from the state (fields with no register stay as they are)."""
    from kaeri.profiles.projector import as_date, as_points

    _compact(state)
    profile.cart = cart_lines(state)
    present = [(at, p) for p, (at, is_present) in state["wish"].items() if is_present]
    profile.wishlist = [p for _, p in sorted(present)][-WISHLIST_MAX:]
    profile.products_bought = _by_stamp(state["bought"])[-BOUGHT_MAX:]
    profile.categories_bought = _by_stamp(state["cats"])[-BOUGHT_MAX:]
    reg = state["reg"]
    for name in IDENTITY_FIELDS:
        if f"t:{name}" in reg:
            setattr(profile, name, register(state, f"t:{name}"))
    if "t:birthday" in reg:
        profile.birthday = as_date(register(state, "t:birthday"))
    if "t:currency" in reg:
        profile.currency = register(state, "t:currency")
    for name in sorted(reg):
        if name.startswith("x:"):
            value = register(state, name)
            if value is None:
                profile.traits.pop(name[2:], None)
            else:
                profile.traits[name[2:]] = value
        elif name.startswith("consent:"):
            profile.consent[name[len("consent:") :]] = Consent.model_validate(register(state, name))
    if "t:points_balance" in reg:
        profile.points_balance = as_points(register(state, "t:points_balance"))
    if "t:points_expire_on" in reg:
        profile.points_expire_on = as_date(register(state, "t:points_expire_on"))
    if profile.points_balance <= 0:
        profile.points_expire_on = None  # an expiry date only means something while points are held


def consent_value(consent: Consent) -> dict[str, Any]:
    return consent.model_dump(mode="json")


def consent_stamp(consent: Consent, event_stamp: str) -> str:
    at = consent.at
    return f"{iso(at) if at else ''}#{event_stamp}"
