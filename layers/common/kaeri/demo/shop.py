"""A synthetic shop: catalog, customers and their day-to-day behaviour, as Segment calls.

Pure and seeded: the same seed gives the same shop. It knows nothing of HTTP or the stack; the driver
sends what it produces and tells it which messages each customer received (`touch`), which raises that
customer's chance to visit and buy for a few days. Holdout customers receive nothing, so they are
never touched, which is what makes a scenario's lift measurable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

CATEGORIES = {
    "tops": (2900, 6900),
    "bottoms": (3900, 8900),
    "outerwear": (9900, 24900),
    "shoes": (5900, 14900),
    "bags": (3900, 12900),
    "accessories": (990, 3900),
    "skincare": (1500, 4800),
    "home": (1200, 6500),
}
SLOTS = (10, 20)  # local hours of the day when customers act (JST)


@dataclass
class Product:
    product_id: str
    name: str
    category: str
    price: int
    inventory: int = 50

    def as_catalog(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "category": self.category,
            "price": self.price,
            "currency": "JPY",
            "url": f"https://demo-shop.example/products/{self.product_id}",
            "image_url": f"https://demo-shop.example/img/{self.product_id}.jpg",
            "inventory_quantity": self.inventory,
        }

    def as_line(self, quantity: int = 1) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "category": self.category,
            "price": self.price,
            "quantity": quantity,
            "url": f"https://demo-shop.example/products/{self.product_id}",
        }


@dataclass
class Customer:
    customer_id: str
    email: str
    phone: str | None
    line_user_id: str | None
    consent: dict[str, str]
    birthday: date
    signup_day: int  # day index; negative: signed up before the demo starts
    visit_rate: float  # visits per day at baseline
    buy_rate: float  # chance that a visit with a cart ends in an order
    favourite: str
    anon_seq: int = 0
    cart: dict[str, int] = field(default_factory=dict)
    points: int = 0
    boost_until: datetime | None = None
    boost: float = 1.0
    orders: int = 0
    last_viewed: list[str] = field(default_factory=list)

    def anonymous_id(self) -> str:
        return f"anon-{self.customer_id}-{self.anon_seq}"


def _call(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": at.isoformat().replace("+00:00", "Z"), **fields}


class SyntheticShop:
    """Generates each day's Segment calls and reacts to the messages customers receive."""

    def __init__(self, customers: int, seed: int, start: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.products = self._catalog()
        self.by_category: dict[str, list[Product]] = {}
        for p in self.products:
            self.by_category.setdefault(p.category, []).append(p)
        self.customers = [self._customer(i) for i in range(customers)]
        self.by_id = {c.customer_id: c for c in self.customers}
        self.order_seq = 0
        self.out_of_stock: dict[str, int] = {}  # product -> day it comes back

    # setup -------------------------------------------------------------------------------------

    def _catalog(self) -> list[Product]:
        products = []
        for category, (low, high) in CATEGORIES.items():
            for n in range(8):
                price = self.rng.randrange(low, high, 100)
                products.append(
                    Product(f"{category[:3]}-{n + 1:02d}", f"{category.title()} No.{n + 1}", category, price)
                )
        return products

    def _customer(self, i: int) -> Customer:
        rng = self.rng
        cid = f"c{i + 1:05d}"
        has_line = rng.random() < 0.45
        consent = {"email": "granted" if rng.random() < 0.85 else "revoked"}
        if has_line:
            consent["line"] = "granted" if rng.random() < 0.9 else "revoked"
        # Two fifths sign up during the demo (the welcome scenario's audience), the rest before it.
        signup_day = rng.randrange(0, self.days) if rng.random() < 0.4 else -rng.randrange(1, 400)
        return Customer(
            customer_id=cid,
            email=f"{cid}@customers.example",
            phone=f"+8190{rng.randrange(10_000_000, 99_999_999)}" if rng.random() < 0.3 else None,
            line_user_id=f"U{rng.getrandbits(128):032x}" if has_line else None,
            consent=consent,
            birthday=date(rng.randrange(1965, 2004), rng.randrange(1, 13), rng.randrange(1, 29)),
            signup_day=signup_day,
            visit_rate=min(0.5, rng.expovariate(1 / 0.035)),
            buy_rate=rng.uniform(0.15, 0.45),
            favourite=rng.choice(list(CATEGORIES)),
        )

    def catalog_batch(self) -> list[dict[str, Any]]:
        return [p.as_catalog() for p in self.products]

    def identify(self, c: Customer, at: datetime, anonymous_id: str | None = None) -> dict[str, Any]:
        traits: dict[str, Any] = {
            "email": c.email,
            "first_name": c.customer_id.upper(),
            "birthday": c.birthday.isoformat(),
            "timezone": "Asia/Tokyo",
            "locale": "ja",
            "consent": {
                ch: {"status": s, "at": at.isoformat(), "source": "signup form v2"}
                for ch, s in c.consent.items()
            },
        }
        if c.phone:
            traits["phone"] = c.phone
        if c.line_user_id:
            traits["line_user_id"] = c.line_user_id
        call = _call("identify", at, userId=c.customer_id, traits=traits)
        if anonymous_id:
            call["anonymousId"] = anonymous_id
        return call

    def existing_customers(self, at: datetime) -> list[dict[str, Any]]:
        """identify calls for everyone who signed up before the demo starts."""
        return [self.identify(c, at) for c in self.customers if c.signup_day < 0]

    # one slot of one day -------------------------------------------------------------------------

    def slot(self, day: int, slot: int, at: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(Segment calls, catalog updates) for customers acting in this slot of this day."""
        calls: list[dict[str, Any]] = []
        catalog: list[dict[str, Any]] = []
        rng = self.rng
        if slot == 0:
            catalog = self._stock_moves(day)
        for c in self.customers:
            if c.signup_day > day:
                continue
            if c.signup_day == day and slot == 0:
                c.anon_seq += 1
                anon = c.anonymous_id()
                p = rng.choice(self.by_category[c.favourite])
                calls.append(
                    _call("track", at, anonymousId=anon, event="Product Viewed", properties=p.as_line())
                )
                calls.append(self.identify(c, at, anonymous_id=anon))
                calls.append(
                    _call(
                        "track", at, userId=c.customer_id, event="Signed Up", properties={"method": "email"}
                    )
                )
                continue
            rate = c.visit_rate / len(SLOTS)
            if c.boost_until and at < c.boost_until:
                rate *= c.boost
            if rng.random() >= rate:
                continue
            calls += self._visit(c, day, at)
        return calls, catalog

    def _visit(self, c: Customer, day: int, at: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        calls: list[dict[str, Any]] = []
        logged_in = rng.random() < 0.7
        c.anon_seq += 0 if logged_in else 1
        who: dict[str, Any] = {"userId": c.customer_id} if logged_in else {"anonymousId": c.anonymous_id()}
        category = c.favourite if rng.random() < 0.7 else rng.choice(list(CATEGORIES))
        viewed = rng.sample(self.by_category[category], k=rng.randint(1, 3))
        if c.cart and rng.random() < 0.5:
            viewed.append(self._product(next(iter(c.cart))))
        for p in viewed:
            calls.append(_call("track", at, **who, event="Product Viewed", properties=p.as_line()))
        if rng.random() < 0.45:
            p = viewed[0]
            if p.inventory > 0:
                if (
                    not logged_in
                ):  # logging in before the cart: the anonymous session merges into the customer
                    calls.append(self.identify(c, at, anonymous_id=c.anonymous_id()))
                    who = {"userId": c.customer_id}
                c.cart[p.product_id] = c.cart.get(p.product_id, 0) + 1
                calls.append(_call("track", at, **who, event="Product Added", properties=p.as_line()))
            elif rng.random() < 0.5:
                calls.append(
                    _call("track", at, **who, event="Product Added to Wishlist", properties=p.as_line())
                )
        if c.cart:
            buy = c.buy_rate * (
                1.0 + 0.5 * (c.boost > 1 and c.boost_until is not None and at < c.boost_until)
            )
            if rng.random() < buy:
                if "userId" not in who:
                    calls.append(self.identify(c, at, anonymous_id=c.anonymous_id()))
                calls += self._order(c, at)
            elif rng.random() < 0.15:
                pid = next(iter(c.cart))
                calls.append(
                    _call(
                        "track",
                        at,
                        userId=c.customer_id,
                        event="Product Removed",
                        properties=self._product(pid).as_line(),
                    )
                )
                del c.cart[pid]
        return calls

    def _product(self, product_id: str) -> Product:
        return next(p for p in self.products if p.product_id == product_id)

    def _order(self, c: Customer, at: datetime) -> list[dict[str, Any]]:
        self.order_seq += 1
        lines = [self._product(pid).as_line(q) for pid, q in c.cart.items()]
        total = sum(line["price"] * line["quantity"] for line in lines)
        c.cart.clear()
        c.orders += 1
        c.points += total // 100
        order = {
            "order_id": f"o{self.order_seq:07d}",
            "total": total,
            "revenue": total,
            "currency": "JPY",
            "products": lines,
        }
        expire = (at + timedelta(days=60)).date().isoformat()
        return [
            _call("track", at, userId=c.customer_id, event="Order Completed", properties=order),
            _call(
                "identify",
                at,
                userId=c.customer_id,
                traits={"points_balance": c.points, "points_expire_on": expire},
            ),
        ]

    def _stock_moves(self, day: int) -> list[dict[str, Any]]:
        """Every few days a product sells out; a week or so later it is restocked."""
        updates = []
        for pid, back in list(self.out_of_stock.items()):
            if back == day:
                p = self._product(pid)
                p.inventory = 40
                updates.append(p.as_catalog())
                del self.out_of_stock[pid]
        if day % 4 == 1:
            p = self.rng.choice(self.products)
            if p.product_id not in self.out_of_stock:
                p.inventory = 0
                self.out_of_stock[p.product_id] = day + self.rng.randint(5, 12)
                updates.append(p.as_catalog())
        return updates

    # responses to messages --------------------------------------------------------------------------

    def touch(self, customer_id: str, at: datetime, engaged: bool) -> None:
        """A message reached this customer: more likely to come back for three days (a lot if engaged)."""
        c = self.by_id.get(customer_id)
        if c is None:
            return
        c.boost = max(c.boost if c.boost_until and at < c.boost_until else 1.0, 6.0 if engaged else 1.6)
        c.boost_until = at + timedelta(days=3)
