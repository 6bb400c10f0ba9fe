"""Read stored recommendations (numpy-free: any function may import this).

The nightly job (kaeri.predictions.nightly) writes, in the customers table, sort key RECS:
  {shop}#{customer_id}                 a customer's top-N
  {shop}#__popular__                   the shop's best sellers (fallback for new customers)
  {shop}#__popular__#{category}        best sellers of one category
  {shop}#__together__#{product_id}     bought together with a product (cross-sell)
each with `items` = [{product_id, score, reason}] and `computed_at`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

RECS_SK = "RECS"
POPULAR = "__popular__"
TOGETHER = "__together__"


class _Clients(Protocol):
    def table(self, logical: str) -> Any: ...


def customer_key(shop_id: str, customer_id: str) -> str:
    return f"{shop_id}#{customer_id}"


def popular_key(shop_id: str, category: str | None = None) -> str:
    return f"{shop_id}#{POPULAR}" + (f"#{category}" if category else "")


def together_key(shop_id: str, product_id: str) -> str:
    return f"{shop_id}#{TOGETHER}#{product_id}"


def _items(clients: _Clients, pk: str) -> list[dict[str, Any]]:
    found = clients.table("customers").get_item(Key={"pk": pk, "sk": RECS_SK}).get("Item")
    if not found:
        return []
    return [
        {
            "product_id": str(entry["product_id"]),
            "score": float(entry.get("score", Decimal(0))),
            "reason": str(entry.get("reason", "")),
        }
        for entry in found.get("items", [])
    ]


def get_popular(
    clients: _Clients, shop_id: str, n: int = 10, category: str | None = None
) -> list[dict[str, Any]]:
    return _items(clients, popular_key(shop_id, category))[:n]


def get_bought_together(
    clients: _Clients, shop_id: str, product_id: str, n: int = 10
) -> list[dict[str, Any]]:
    return _items(clients, together_key(shop_id, product_id))[:n]


def get_recommendations(
    clients: _Clients, shop_id: str, customer_id: str, n: int = 10
) -> list[dict[str, Any]]:
    """The customer's top-n; shop best sellers fill in for customers without (enough) history."""
    own = _items(clients, customer_key(shop_id, customer_id))[:n]
    if len(own) >= n:
        return own
    seen = {entry["product_id"] for entry in own}
    for entry in _items(clients, popular_key(shop_id)):
        if len(own) >= n:
            break
        if entry["product_id"] not in seen:
            own.append({**entry, "reason": "popular"})
            seen.add(entry["product_id"])
    return own
