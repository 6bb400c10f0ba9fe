"""Read side of recommendations for the storefront: a customer's list, else the shop's bestsellers.

functions/recommend writes `{shop}#{user}` / `RECS` and `{shop}#__popular__` / `RECS` in the
customers table; this joins them with the catalog so a storefront widget can render them directly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from kaeri.aws import AwsClients
from kaeri.profiles.customers import CustomersTable, popular_pk, recs_pk
from kaeri.tracking.catalog import CatalogProducts
from kaeri.tracking.errors import request_errors

MAX_N = 50


class Recommendation(BaseModel):
    product_id: str
    score: float | None = None
    reason: str | None = None
    name: str | None = None
    url: str | None = None
    image_url: str | None = None
    price: float | None = None
    currency: str | None = None


class Recommendations(BaseModel):
    user_id: str
    source: Literal["personal", "popular", "none"]
    items: list[Recommendation]


class RecommendationsQuery(BaseModel):
    """GET /v1/recommendations query parameters."""

    user_id: str = Field(min_length=1, max_length=256)
    n: int = Field(default=10, ge=1, le=MAX_N)


def parse_query(params: dict[str, Any]) -> RecommendationsQuery:
    """Validate the query string; InvalidRequest names each bad parameter."""
    try:
        return RecommendationsQuery.model_validate(params)
    except ValidationError as exc:
        raise request_errors(exc.errors(include_url=False), "request") from None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, Decimal | int | float) else None


def recommendations_for(clients: AwsClients, shop_id: str, user_id: str, n: int = 10) -> Recommendations:
    customers = CustomersTable.of(clients)
    source: Literal["personal", "popular", "none"] = "personal"
    wanted = customers.recs(recs_pk(shop_id, user_id))
    if not wanted:
        source = "popular"
        wanted = customers.recs(popular_pk(shop_id))
    if not wanted:
        return Recommendations(user_id=user_id, source="none", items=[])
    products = _catalog(clients, shop_id, [str(r["product_id"]) for r in wanted[: MAX_N * 2]])
    items: list[Recommendation] = []
    for rec in wanted:
        product_id = str(rec["product_id"])
        product = products.get(product_id, {})
        if product.get("inventory_quantity") is not None and product["inventory_quantity"] <= 0:
            continue  # never recommend what cannot be bought
        items.append(
            Recommendation(
                product_id=product_id,
                score=_number(rec.get("score")),
                reason=rec.get("reason"),
                name=product.get("name"),
                url=product.get("url"),
                image_url=product.get("image_url"),
                price=_number(product.get("price")),
                currency=product.get("currency"),
            )
        )
        if len(items) >= n:
            break
    return Recommendations(user_id=user_id, source=source, items=items)


def _catalog(clients: AwsClients, shop_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
    return CatalogProducts(clients).get_many(shop_id, product_ids)
