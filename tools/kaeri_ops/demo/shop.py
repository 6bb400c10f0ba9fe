"""A synthetic shop: catalog, customers and their behaviour, as Segment calls grouped into visits.

Pure and seeded: the same seed gives the same shop. It knows nothing of HTTP or the stack; the driver
sends what it produces and tells it which messages each customer received (`touch`), which raises that
customer's chance to visit and buy for a few days. Holdout customers receive nothing, so they are
never touched, which is what makes a scenario's lift measurable.

The volume is a real small shop's, not a load test: of the registered customers about half signed up
before day 0 (a third of those bought, months ago — the material for win-back, points and
recommendations), the rest sign up spread over the period. Most customers are dormant: a customer
visits a handful of times at most, each visit is a few events sent in one request, and about a third
of the new sign-ups ever order; of first-time buyers about a quarter order again within 90 days
when nobody reminds them.
"""

from __future__ import annotations

import math
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
SLOTS = (10, 20)  # local hours (JST) at which the visits of a half day are sent

EXISTING_SHARE = 0.6  # signed up before day 0
PRIOR_BUYER_SHARE = 0.35  # of those, bought before day 0 (last order 20–330 days before)
BIRTHDAY_SHARE = 0.6  # gave a birthday on the sign-up form
POINTS_EXPIRY_DAYS = 180  # points expire this long after the last order
# Visits per day at baseline: most customers are dormant, a few come back regularly.
VISIT_RATES = ((0.6, 0.001), (0.3, 0.008), (0.1, 0.03))
FIRST_ORDER = 0.12  # chance that a visit of a customer who never ordered ends in an order
REPEAT_ORDER = 0.16  # same for a customer who has ordered before
SIGNUP_ORDER = 0.10  # chance of ordering right in the sign-up visit
ENGAGED_VISITS = 0.15  # extra visits per day for three days after opening or clicking a message
TOUCHED_VISITS = 0.01  # same after merely receiving one
AFTER_ORDER_RATE = 0.05  # extra visits per day in the 60 days after an order (coming back to shop)


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
    birthday: date | None
    signup_day: int  # day index; negative: signed up before the demo starts
    visit_rate: float  # visits per day at baseline
    favourite: str
    prior_orders: list[int] = field(default_factory=list)  # day indexes (negative) of orders before day 0
    anon_seq: int = 0
    cart: dict[str, int] = field(default_factory=dict)
    points: int = 0
    boost_until: datetime | None = None
    boost: float = 0.0  # extra visits per day until boost_until
    orders: int = 0
    last_order_day: int | None = None

    def anonymous_id(self) -> str:
        return f"anon-{self.customer_id}-{self.anon_seq}"


def _visit_rate(pick: float) -> float:
    for share, rate in VISIT_RATES:
        if pick < share:
            return rate
        pick -= share
    return VISIT_RATES[-1][1]


def _ts(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _call(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": _ts(at), **fields}


@dataclass
class Visit:
    """One customer's session: its calls go to the API in one batch request."""

    customer_id: str
    calls: list[dict[str, Any]]
    kind: str  # signup | browse | cart | order


class SyntheticShop:
    """Generates each half day's visits and reacts to the messages customers receive."""

    def __init__(self, customers: int, seed: int, start: datetime, days: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.products = self._catalog()
        self.by_product = {p.product_id: p for p in self.products}
        self.by_category: dict[str, list[Product]] = {}
        for p in self.products:
            self.by_category.setdefault(p.category, []).append(p)
        self.customers = [self._customer(i) for i in range(customers)]
        self.by_id = {c.customer_id: c for c in self.customers}
        self.order_seq = 0
        self.out_of_stock: dict[str, int] = {}  # product -> day it comes back
        self.counts: dict[str, int] = {"signup": 0, "browse": 0, "cart": 0, "order": 0, "history_orders": 0}

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
        existing = rng.random() < EXISTING_SHARE
        signup_day = -rng.randrange(21, 720) if existing else rng.randrange(0, self.days)
        prior: list[int] = []
        if existing and rng.random() < PRIOR_BUYER_SHARE:
            first = rng.randrange(max(signup_day, -400), -19)
            prior = [first]
            if rng.random() < 0.25 and first + 7 < -20:  # a quarter came back within 90 days
                prior.append(min(-20, first + rng.randrange(7, 91)))
            if rng.random() < 0.15 and prior[-1] + 30 < -20:
                prior.append(rng.randrange(prior[-1] + 30, -19))
        rate = _visit_rate(rng.random())
        return Customer(
            customer_id=cid,
            email=f"{cid}@customers.example",
            phone=f"+8190{rng.randrange(10_000_000, 99_999_999)}" if rng.random() < 0.3 else None,
            line_user_id=f"U{rng.getrandbits(128):032x}" if has_line else None,
            consent=consent,
            birthday=(
                date(rng.randrange(1965, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
                if rng.random() < BIRTHDAY_SHARE
                else None
            ),
            signup_day=signup_day,
            visit_rate=rate * rng.uniform(0.5, 1.5),
            favourite=rng.choice(list(CATEGORIES)),
            prior_orders=prior,
        )

    def catalog_batch(self) -> list[dict[str, Any]]:
        return [p.as_catalog() for p in self.products]

    def _day(self, day: int, hour: float = 12.0) -> datetime:
        return self.start + timedelta(days=day, hours=hour - 9)  # JST hour of that day

    def identify(
        self, c: Customer, at: datetime, anonymous_id: str | None = None, *, full: bool = True
    ) -> dict[str, Any]:
        traits: dict[str, Any] = {"email": c.email}
        if full:
            traits.update(
                {
                    "first_name": c.customer_id.upper(),
                    "timezone": "Asia/Tokyo",
                    "locale": "ja",
                    "created_at": _ts(self._day(c.signup_day, 12)),
                    "consent": {
                        ch: {"status": s, "at": _ts(self._day(c.signup_day, 12)), "source": "signup form v2"}
                        for ch, s in c.consent.items()
                    },
                }
            )
            if c.birthday:
                traits["birthday"] = c.birthday.isoformat()
            if c.phone:
                traits["phone"] = c.phone
            if c.line_user_id:
                traits["line_user_id"] = c.line_user_id
        call = _call("identify", at, userId=c.customer_id, traits=traits)
        if anonymous_id:
            call["anonymousId"] = anonymous_id
        return call

    def history(self) -> list[dict[str, Any]]:
        """Everyone who signed up before day 0: one identify each, and the orders of past buyers
        (timestamped when they happened) followed by their points balance. Sent before any scenario
        is enabled, as a shop importing its customers would."""
        calls: list[dict[str, Any]] = []
        for c in self.customers:
            if c.signup_day >= 0:
                continue
            for day in c.prior_orders:
                at = self._day(day, self.rng.choice((11, 13, 21)))
                calls += self._order(c, at, [self._pick(c)], day)[:1]
                self.counts["history_orders"] += 1
            identify = self.identify(c, self._day(c.signup_day, 12))
            if c.prior_orders:  # the balance as of the last order
                identify["timestamp"] = _ts(self._day(c.prior_orders[-1], 22))
                identify["traits"]["points_balance"] = c.points
                identify["traits"]["points_expire_on"] = (
                    (self._day(c.prior_orders[-1]) + timedelta(days=POINTS_EXPIRY_DAYS)).date().isoformat()
                )
            calls.append(identify)
        return calls

    # one half day ---------------------------------------------------------------------------------

    def slot(self, day: int, slot: int, at: datetime) -> tuple[list[Visit], list[dict[str, Any]]]:
        """(visits, catalog updates) of this half day; every call is timestamped within the few
        minutes before `at`."""
        visits: list[Visit] = []
        catalog: list[dict[str, Any]] = []
        rng = self.rng
        if slot == 0:
            catalog = self._stock_moves(day)
        for c in self.customers:
            if c.signup_day > day:
                continue
            if c.signup_day == day:
                if slot == 0:
                    visits.append(self._signup(c, at))
                continue
            rate = c.visit_rate
            if c.last_order_day is not None and 0 <= day - c.last_order_day <= 60:
                rate += AFTER_ORDER_RATE * math.exp(-(day - c.last_order_day) / 30)
            if c.cart:
                rate += 0.03  # something left in the cart
            if c.boost_until and at < c.boost_until:
                rate += c.boost
            if rng.random() >= rate / len(SLOTS):
                continue
            visits.append(self._visit(c, day, at))
        return visits, catalog

    def _signup(self, c: Customer, at: datetime) -> Visit:
        rng = self.rng
        t = at - timedelta(minutes=12)
        calls: list[dict[str, Any]] = []
        anon = None
        if rng.random() < 0.4:  # browsed logged out first: the identify merges the session
            c.anon_seq += 1
            anon = c.anonymous_id()
            p = self._pick(c)
            calls.append(_call("track", t, anonymousId=anon, event="Product Viewed", properties=p.as_line()))
        t += timedelta(minutes=3)
        calls.append(self.identify(c, t, anonymous_id=anon))
        calls.append(
            _call("track", t, userId=c.customer_id, event="Signed Up", properties={"method": "email"})
        )
        self.counts["signup"] += 1
        if rng.random() < SIGNUP_ORDER:
            p = self._pick(c)
            calls.append(
                _call(
                    "track",
                    t + timedelta(minutes=4),
                    userId=c.customer_id,
                    event="Product Added",
                    properties=p.as_line(),
                )
            )
            c.cart[p.product_id] = 1
            calls += self._order(c, t + timedelta(minutes=8), None, c.signup_day)
        return Visit(c.customer_id, calls, "signup")

    def _pick(self, c: Customer) -> Product:
        category = c.favourite if self.rng.random() < 0.7 else self.rng.choice(list(CATEGORIES))
        return self.rng.choice(self.by_category[category])

    def _visit(self, c: Customer, day: int, at: datetime) -> Visit:
        rng = self.rng
        t = at - timedelta(minutes=rng.randint(6, 40))
        calls: list[dict[str, Any]] = []
        logged_in = rng.random() < 0.75
        if not logged_in:
            c.anon_seq += 1
        who: dict[str, Any] = {"userId": c.customer_id} if logged_in else {"anonymousId": c.anonymous_id()}
        viewed = [self._pick(c)]
        if rng.random() < 0.35:
            viewed.append(self._pick(c))
        if c.cart and rng.random() < 0.5:
            viewed.append(self.by_product[next(iter(c.cart))])
        for p in viewed:
            calls.append(_call("track", t, **who, event="Product Viewed", properties=p.as_line()))
            t += timedelta(minutes=1)
        kind = "browse"
        boosted = c.boost_until is not None and at < c.boost_until
        buy = (REPEAT_ORDER if c.orders else FIRST_ORDER) * (1.6 if boosted else 1.0)
        if c.cart:
            buy *= 1.5
        order = rng.random() < buy
        p = viewed[0]
        if (order or rng.random() < 0.3) and p.inventory > 0:
            if "userId" not in who:  # logging in before the cart: the anonymous session merges
                calls.append(self.identify(c, t, anonymous_id=c.anonymous_id(), full=False))
                who = {"userId": c.customer_id}
            c.cart[p.product_id] = c.cart.get(p.product_id, 0) + 1
            calls.append(_call("track", t, **who, event="Product Added", properties=p.as_line()))
            kind = "cart"
        elif p.inventory == 0 and rng.random() < 0.5:
            calls.append(_call("track", t, **who, event="Product Added to Wishlist", properties=p.as_line()))
        t += timedelta(minutes=2)
        if order and c.cart:
            if "userId" not in who:
                calls.append(self.identify(c, t, anonymous_id=c.anonymous_id(), full=False))
            calls += self._order(c, t, None, day)
            kind = "order"
        elif c.cart and rng.random() < 0.1:
            pid = next(iter(c.cart))
            calls.append(
                _call(
                    "track",
                    t,
                    userId=c.customer_id,
                    event="Product Removed",
                    properties=self.by_product[pid].as_line(),
                )
            )
            del c.cart[pid]
        self.counts[kind] += 1
        return Visit(c.customer_id, calls, kind)

    def _order(
        self, c: Customer, at: datetime, products: list[Product] | None, day: int
    ) -> list[dict[str, Any]]:
        self.order_seq += 1
        if products is None:
            lines = [self.by_product[pid].as_line(q) for pid, q in c.cart.items()]
            c.cart.clear()
        else:
            lines = [p.as_line() for p in products]
        total = sum(line["price"] * line["quantity"] for line in lines)
        c.orders += 1
        c.last_order_day = day
        c.points += total // 100
        order = {
            "order_id": f"o{self.order_seq:07d}",
            "total": total,
            "revenue": total,
            "currency": "JPY",
            "products": lines,
        }
        expire = (at + timedelta(days=POINTS_EXPIRY_DAYS)).date().isoformat()
        return [
            _call("track", at, userId=c.customer_id, event="Order Completed", properties=order),
            _call(
                "identify",
                at + timedelta(seconds=1),
                userId=c.customer_id,
                traits={"points_balance": c.points, "points_expire_on": expire},
            ),
        ]

    def _stock_moves(self, day: int) -> list[dict[str, Any]]:
        """Every few days a product sells out; a week or so later it is restocked."""
        updates = []
        for pid, back in list(self.out_of_stock.items()):
            if back == day:
                p = self.by_product[pid]
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
        current = c.boost if c.boost_until and at < c.boost_until else 0.0
        c.boost = max(current, ENGAGED_VISITS if engaged else TOUCHED_VISITS)
        c.boost_until = at + timedelta(days=3)
