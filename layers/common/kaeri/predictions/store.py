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
from typing import Any

from kaeri.aws import AwsClients
from kaeri.profiles.customers import POPULAR, RECS, TOGETHER, CustomersTable, popular_pk, recs_pk, together_pk

__all__ = ["POPULAR", "RECS_SK", "TOGETHER", "customer_key", "popular_key", "together_key"]

RECS_SK = RECS
# The RECS partitions, as kaeri.profiles.customers keys them.
customer_key = recs_pk
popular_key = popular_pk
together_key = together_pk


def _items(clients: AwsClients, pk: str) -> list[dict[str, Any]]:
    return [
        {
            "product_id": str(entry["product_id"]),
            "score": float(entry.get("score", Decimal(0))),
            "reason": str(entry.get("reason", "")),
        }
        for entry in CustomersTable.of(clients).recs(pk)
    ]


def get_popular(
    clients: AwsClients, shop_id: str, n: int = 10, category: str | None = None
) -> list[dict[str, Any]]:
    return _items(clients, popular_key(shop_id, category))[:n]


def get_bought_together(
    clients: AwsClients, shop_id: str, product_id: str, n: int = 10
) -> list[dict[str, Any]]:
    return _items(clients, together_key(shop_id, product_id))[:n]


def get_recommendations(
    clients: AwsClients, shop_id: str, customer_id: str, n: int = 10
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
