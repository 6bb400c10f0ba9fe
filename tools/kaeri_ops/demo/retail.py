"""Replay real orders from a CSV in the Online Retail layout, with browsing and carts around them.

Columns: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country.
Cancellations (InvoiceNo "C..."), guest lines (no CustomerID) and non-product codes are left out. The
first `days` days of the file are replayed for the first `customers` customers to appear. Each customer
signs up (with email consent) on the day of their first order; every order is preceded by views of its
products and a cart, and some days bring a browse-only visit with a cart left behind. The data has no
categories, so a product's category is the first known keyword in its description.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kaeri_ops.demo.shop import SLOTS

NOT_PRODUCTS = {"POST", "M", "D", "DOT", "BANK CHARGES", "AMAZONFEE", "C2", "CRUK", "PADS", "S", "B"}
KEYWORDS = (
    "CHRISTMAS", "BAG", "CANDLE", "MUG", "CUP", "CARD", "LIGHT", "LANTERN", "BOX", "HEART", "SIGN", "CAKE",
    "BOTTLE", "CLOCK", "FRAME", "GARDEN", "DOORMAT", "CUSHION", "BOWL", "TIN", "JAR", "NECKLACE", "BRACELET",
    "EARRINGS", "DOLL", "PURSE", "UMBRELLA", "WRAP", "STICKER", "NOTEBOOK",
)  # fmt: skip


def category_of(description: str) -> str:
    words = description.upper().replace(",", " ").split()
    for keyword in KEYWORDS:
        if keyword in words or keyword + "S" in words:
            return keyword.lower()
    return "other"


@dataclass
class ReplayOrder:
    customer_id: str
    order_id: str
    at: datetime
    lines: list[dict[str, Any]]


@dataclass
class RetailReplay:
    start: datetime
    days: int
    orders_by_day: dict[int, list[ReplayOrder]]
    products: dict[str, dict[str, Any]]
    rng: random.Random
    signed_up: set[str] = field(default_factory=set)
    carts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, days: int, customers: int, seed: int) -> RetailReplay:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode("utf-8") if path.suffix == ".gz" else raw.decode("utf-8")
        invoices: dict[str, ReplayOrder] = {}
        products: dict[str, dict[str, Any]] = {}
        chosen: set[str] = set()
        start: datetime | None = None
        for row in csv.DictReader(io.StringIO(text)):
            invoice, code, customer = row["InvoiceNo"], row["StockCode"].strip(), row["CustomerID"].strip()
            if invoice.startswith("C") or not customer or code.upper() in NOT_PRODUCTS:
                continue
            at = datetime.fromisoformat(row["InvoiceDate"]).replace(tzinfo=UTC)
            start = start or at.replace(hour=0, minute=0, second=0)
            if at >= start + timedelta(days=days):
                break
            customer_id = f"r{int(float(customer))}"
            if customer_id not in chosen:
                if len(chosen) >= customers:
                    continue
                chosen.add(customer_id)
            quantity, price = int(row["Quantity"]), float(row["UnitPrice"])
            if quantity <= 0 or price <= 0:
                continue
            product = products.setdefault(
                code,
                {
                    "product_id": code,
                    "name": row["Description"].strip().title(),
                    "category": category_of(row["Description"]),
                    "price": price,
                    "currency": "GBP",
                    "url": f"https://retail.example/p/{code}",
                    "inventory_quantity": 100,
                },
            )
            order = invoices.setdefault(invoice, ReplayOrder(customer_id, invoice, at, []))
            line = {k: product[k] for k in ("product_id", "name", "category", "url")}
            order.lines.append(line | {"price": price, "quantity": quantity})
        if start is None:
            raise ValueError(f"{path}: no replayable orders")
        by_day: dict[int, list[ReplayOrder]] = defaultdict(list)
        for order in invoices.values():
            by_day[(order.at - start).days].append(order)
        return cls(start, days, dict(by_day), products, random.Random(seed))

    def catalog(self) -> list[dict[str, Any]]:
        return list(self.products.values())

    def slot(self, day: int, slot: int, at: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The day's orders fall in the first slot whose hour they precede (all the rest in the last)."""
        stamp = at.isoformat().replace("+00:00", "Z")
        calls: list[dict[str, Any]] = []
        hour_end = SLOTS[slot + 1] - 9 if slot + 1 < len(SLOTS) else 24
        for order in self.orders_by_day.get(day, []):
            if not (
                (slot == 0 and order.at.hour < hour_end)
                or (slot > 0 and SLOTS[slot] - 9 <= order.at.hour < hour_end)
            ):
                continue
            who = {"userId": order.customer_id}
            if order.customer_id not in self.signed_up:
                self.signed_up.add(order.customer_id)
                anon = f"anon-{order.customer_id}"
                calls.append(
                    {
                        "type": "track",
                        "timestamp": stamp,
                        "anonymousId": anon,
                        "event": "Product Viewed",
                        "properties": order.lines[0],
                    }
                )
                consent = {"email": {"status": "granted", "at": stamp, "source": "checkout opt-in"}}
                traits = {
                    "email": f"{order.customer_id}@retail.example",
                    "consent": consent,
                    "locale": "en",
                    "timezone": "Europe/London",
                }
                calls.append(
                    {
                        "type": "identify",
                        "timestamp": stamp,
                        "userId": order.customer_id,
                        "anonymousId": anon,
                        "traits": traits,
                    }
                )
            for line in order.lines[:3]:
                calls.append(
                    {"type": "track", "timestamp": stamp, **who, "event": "Product Added", "properties": line}
                )
            total = round(sum(line["price"] * line["quantity"] for line in order.lines), 2)
            properties = {
                "order_id": order.order_id,
                "total": total,
                "currency": "GBP",
                "products": order.lines,
            }
            calls.append(
                {
                    "type": "track",
                    "timestamp": stamp,
                    **who,
                    "event": "Order Completed",
                    "properties": properties,
                }
            )
        # Browse-only visits with a cart left behind, so abandonment scenarios have work.
        for customer_id in self.rng.sample(sorted(self.signed_up), k=min(len(self.signed_up), 2)):
            product = self.rng.choice(list(self.products.values()))
            line = {k: product[k] for k in ("product_id", "name", "category", "url", "price")} | {
                "quantity": 1
            }
            calls.append(
                {
                    "type": "track",
                    "timestamp": stamp,
                    "userId": customer_id,
                    "event": "Product Viewed",
                    "properties": line,
                }
            )
            if self.rng.random() < 0.5:
                calls.append(
                    {
                        "type": "track",
                        "timestamp": stamp,
                        "userId": customer_id,
                        "event": "Product Added",
                        "properties": line,
                    }
                )
        return calls, []
