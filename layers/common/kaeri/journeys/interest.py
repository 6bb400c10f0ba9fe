"""Product interest for restock reminders: small items per (customer, product), read through `by_interest`.

Items live in the customers table (kept by kaeri.profiles.customers.CustomersTable): pk ``{shop}#{customer}``, sk ``INTEREST#{product_id}``,
``interest_key`` ``{shop}#{product_id}`` and ``interest_at`` (last view or wish-list time), so a
restock finds exactly the customers interested in the product, never by scanning profiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from kaeri.aws import AwsClients
from kaeri.clock import iso
from kaeri.profiles.customers import CustomersTable
from kaeri.vocabulary import PRODUCT_VIEWED, WISHLIST_ADDED

INTEREST_EVENTS = {PRODUCT_VIEWED: "viewed", WISHLIST_ADDED: "wishlisted"}
RETENTION = timedelta(days=180)


def record_interest(
    clients: AwsClients, shop_id: str, customer_id: str, product_id: str, kind: str, at: datetime
) -> None:
    CustomersTable.of(clients).put_interest(
        shop_id, customer_id, product_id, kind, iso(at), int((at + RETENTION).timestamp())
    )


def interested_customers(
    clients: AwsClients, shop_id: str, product_id: str, since: datetime
) -> Iterator[str]:
    """Customers who viewed or wish-listed the product at or after `since` (one index query)."""
    yield from CustomersTable.of(clients).interested(shop_id, product_id, iso(since))
