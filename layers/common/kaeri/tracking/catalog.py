"""The catalog feed: batch upserts of products; a return to stock emits `Product Restocked`.

The restock event has no customer: it is filed under the anonymous id ``catalog`` (source
``catalog``) and the scenario engine fans it out to the customers who viewed or wish-listed the
product. Its message id is derived from the product and the moment it went out of stock, so a retried
or repeated upsert never emits the same restock twice.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kaeri import clock
from kaeri.aws import AwsClients, TypeDeserializer, batch_get
from kaeri.events import StoredEvent
from kaeri.tracking.errors import InvalidRequest, ItemError
from kaeri.tracking.store import EventStore, serialize
from kaeri.tracking.validation import check_json, number_problem
from kaeri.vocabulary import PRODUCT_RESTOCKED

CATALOG_USER = "catalog"  # anonymous_id of events Kaeri emits for the catalog (no customer)
MAX_PRODUCTS_PER_REQUEST = 1000
_deserializer = TypeDeserializer()


class Product(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: str = Field(min_length=1, max_length=256)
    # Bounded so an item stays far below DynamoDB's 400 KB and the category index key below 2 KB.
    name: str | None = Field(default=None, max_length=1000)
    url: str | None = Field(default=None, max_length=2048)
    image_url: str | None = Field(default=None, max_length=2048)
    price: Decimal | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    category: str | None = Field(default=None, max_length=256)
    inventory_quantity: int | None = None


class UpsertResult(BaseModel):
    upserted: int
    restocked: list[str]


def parse_products(body: Any) -> list[Product]:
    """`{"products": [...]}` (or a bare list) to products; InvalidRequest naming index and field."""
    items = body.get("products") if isinstance(body, dict) else body
    if not isinstance(items, list) or not items:
        raise InvalidRequest([ItemError(None, "products", "expected a non-empty array of products")])
    if len(items) > MAX_PRODUCTS_PER_REQUEST:
        raise InvalidRequest(
            [
                ItemError(
                    None, "products", f"{len(items)} products; at most {MAX_PRODUCTS_PER_REQUEST} per request"
                )
            ]
        )
    products: list[Product] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        problems = check_json(item, index)
        if problems:
            errors.extend(problems)
            continue
        try:
            product = Product.model_validate(item)
        except ValidationError as exc:
            errors.extend(
                ItemError(index, ".".join(map(str, e["loc"])) or "body", e["msg"]) for e in exc.errors()
            )
            continue
        for name in ("price", "inventory_quantity"):
            value = getattr(product, name)
            problem = number_problem(value) if value is not None else None
            if problem:
                errors.append(ItemError(index, name, problem))
        products.append(product)
    if errors:
        raise InvalidRequest(errors[:50])
    return products


class CatalogProducts:
    """Reads of the catalog table: products by id (BatchGetItem, 100 keys a request)."""

    def __init__(self, clients: AwsClients) -> None:
        self._resource = clients.dynamodb_resource
        self._table = clients.settings.table("catalog")

    def get_many(self, shop_id: str, product_ids: list[str]) -> dict[str, dict[str, Any]]:
        """product id -> the product item as stored; unknown ids left out."""
        unique = list(dict.fromkeys(p for p in product_ids if p))
        if not unique:
            return {}
        keys = [{"shop_id": shop_id, "product_id": p} for p in unique]
        found = batch_get(self._resource, {self._table: {"Keys": keys}})[self._table]
        return {str(item["product_id"]): item for item in found}


class CatalogService:
    def __init__(self, clients: AwsClients, store: EventStore | None = None) -> None:
        self._client = clients.dynamodb
        self._table = clients.settings.table("catalog")
        self._store = store or EventStore(clients)

    def upsert(self, shop_id: str, products: list[Product]) -> UpsertResult:
        now = clock.now()
        # Every update is built and serialised before the first write, so a bad product writes nothing.
        requests: list[tuple[Product, dict[str, Any], dict[str, Any]]] = []
        errors: list[ItemError] = []
        for index, product in enumerate(products):
            try:
                requests.append((product, *self._request(shop_id, product, now)))
            except (TypeError, ValueError, ArithmeticError) as exc:
                errors.append(ItemError(index, "body", f"cannot be stored: {type(exc).__name__}"))
        if errors:
            raise InvalidRequest(errors[:50])
        with ThreadPoolExecutor(max_workers=min(8, len(products))) as pool:
            restocks = [r for r in pool.map(lambda req: self._upsert_one(shop_id, now, *req), requests) if r]
        for event in restocks:
            self._store.put(event)
        return UpsertResult(upserted=len(products), restocked=[e.properties["product_id"] for e in restocks])

    def _request(
        self, shop_id: str, product: Product, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(UpdateItem arguments, the values set) for one product, serialised."""
        values: dict[str, Any] = {"updated_at": clock.iso(now)}
        for name in ("name", "url", "image_url", "price", "currency", "category", "inventory_quantity"):
            value = getattr(product, name)
            if value is not None:
                values[name] = value
        if product.category:
            values["category_key"] = f"{shop_id}#{product.category}"
        quantity = product.inventory_quantity
        names = {f"#a{i}": k for i, k in enumerate(values)}
        attr_values = {f":v{i}": v for i, v in enumerate(values.values())}
        clauses = [f"#a{i} = :v{i}" for i in range(len(values))]
        expression = ""
        if quantity is not None and quantity <= 0:
            # Remember when it first sold out: the restock event's id is derived from it.
            names["#oos"] = "out_of_stock_since"
            attr_values[":oos"] = clock.iso(now)
            clauses.append("#oos = if_not_exists(#oos, :oos)")
        elif quantity is not None:
            names["#oos"] = "out_of_stock_since"
            expression = " REMOVE #oos"
        expression = "SET " + ", ".join(clauses) + expression
        request = {
            "TableName": self._table,
            "Key": serialize({"shop_id": shop_id, "product_id": product.product_id}),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(attr_values),
            "ReturnValues": "ALL_OLD",  # the old item: detects 0 -> >0 and fills the event
        }
        return request, values

    def _upsert_one(
        self, shop_id: str, now: datetime, product: Product, request: dict[str, Any], values: dict[str, Any]
    ) -> StoredEvent | None:
        response = self._client.update_item(**request)
        old = {k: _deserializer.deserialize(v) for k, v in response.get("Attributes", {}).items()}
        was_out = "inventory_quantity" in old and old["inventory_quantity"] <= 0
        if not (was_out and product.inventory_quantity and product.inventory_quantity > 0):
            return None
        sold_out_at = old.get("out_of_stock_since", "unknown")
        properties: dict[str, Any] = {"product_id": product.product_id}
        merged = {**old, **{k: v for k, v in values.items() if k in Product.model_fields}}
        for name in ("name", "url", "image_url", "price", "currency", "category", "inventory_quantity"):
            if merged.get(name) is not None:
                value = merged[name]
                properties[name] = float(value) if isinstance(value, Decimal) and name == "price" else value
        properties["inventory_quantity"] = product.inventory_quantity
        return StoredEvent(
            shop_id=shop_id,
            message_id=f"restock:{product.product_id}:{sold_out_at}",
            type="track",
            event=PRODUCT_RESTOCKED,
            anonymous_id=CATALOG_USER,
            properties=properties,
            timestamp=now,
            received_at=now,
            source="catalog",
        )
