"""Product interest for restock reminders: small items per (customer, product), read through `by_interest`.

Items live in the customers table: pk ``{shop}#{customer}``, sk ``INTEREST#{product_id}``,
``interest_key`` ``{shop}#{product_id}`` and ``interest_at`` (last view or wish-list time), so a
restock finds exactly the customers interested in the product, never by scanning profiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from kaeri.aws import AwsClients, Key, all_items
from kaeri.clock import iso
from kaeri.vocabulary import PRODUCT_VIEWED, WISHLIST_ADDED

INTEREST_EVENTS = {PRODUCT_VIEWED: "viewed", WISHLIST_ADDED: "wishlisted"}
RETENTION = timedelta(days=180)


def record_interest(
    clients: AwsClients, shop_id: str, customer_id: str, product_id: str, kind: str, at: datetime
) -> None:
    clients.table("customers").put_item(
        Item={
            "pk": f"{shop_id}#{customer_id}",
            "sk": f"INTEREST#{product_id}",
            "interest_key": f"{shop_id}#{product_id}",
            "interest_at": iso(at),
            "shop_id": shop_id,
            "customer_id": customer_id,
            "product_id": product_id,
            "kind": kind,
            "expires_at": int((at + RETENTION).timestamp()),
        }
    )


def interested_customers(
    clients: AwsClients, shop_id: str, product_id: str, since: datetime
) -> Iterator[str]:
    """Customers who viewed or wish-listed the product at or after `since` (one index query)."""
    for item in all_items(
        clients.table("customers").query,
        IndexName="by_interest",
        KeyConditionExpression=Key("interest_key").eq(f"{shop_id}#{product_id}")
        & Key("interest_at").gte(iso(since)),
        ProjectionExpression="customer_id",
    ):
        yield item["customer_id"]
