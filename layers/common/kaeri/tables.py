"""The one definition of every DynamoDB table.

The CDK app (infra/), the local stack (kaeri_ops.local) and the tests all build their tables from
TABLES, so keys and indexes cannot drift. docs/tables.md explains the access pattern each serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

KeyType = Literal["S", "N"]


@dataclass(frozen=True)
class Key:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    name: str
    partition: Key
    sort: Key | None = None
    purpose: str = ""


@dataclass(frozen=True)
class Table:
    logical: str  # short name used in code and settings ("events")
    partition: Key
    sort: Key | None = None
    indexes: tuple[Index, ...] = ()
    stream: bool = False
    ttl_attribute: str | None = None
    pii: bool = False  # encrypted with the customer-managed key
    purpose: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key_names(self) -> tuple[str, ...]:
        """The attributes of an item's primary key (what a GetItem or DeleteItem `Key` holds)."""
        return (self.partition.name, *((self.sort.name,) if self.sort else ()))

    def physical_name(self, prefix: str = "kaeri") -> str:
        return f"{prefix}-{self.logical}"

    def attribute_definitions(self) -> list[dict[str, str]]:
        keys: dict[str, str] = {}
        for key in (self.partition, self.sort):
            if key:
                keys[key.name] = key.type
        for index in self.indexes:
            for key in (index.partition, index.sort):
                if key:
                    keys[key.name] = key.type
        return [{"AttributeName": n, "AttributeType": t} for n, t in keys.items()]

    def create_table_kwargs(self, prefix: str = "kaeri") -> dict[str, Any]:
        """Arguments for boto3 create_table (local stack and tests)."""
        schema = [{"AttributeName": self.partition.name, "KeyType": "HASH"}]
        if self.sort:
            schema.append({"AttributeName": self.sort.name, "KeyType": "RANGE"})
        kwargs: dict[str, Any] = {
            "TableName": self.physical_name(prefix),
            "KeySchema": schema,
            "AttributeDefinitions": self.attribute_definitions(),
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.indexes:
            gsis = []
            for index in self.indexes:
                ks = [{"AttributeName": index.partition.name, "KeyType": "HASH"}]
                if index.sort:
                    ks.append({"AttributeName": index.sort.name, "KeyType": "RANGE"})
                gsis.append(
                    {"IndexName": index.name, "KeySchema": ks, "Projection": {"ProjectionType": "ALL"}}
                )
            kwargs["GlobalSecondaryIndexes"] = gsis
        if self.stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        return kwargs


PK = Key("pk")
SK = Key("sk")

EVENTS = Table(
    logical="events",
    partition=PK,  # "{shop_id}#{message_id}": a put conditioned on absence dedups by messageId
    indexes=(
        Index(
            "by_identity",
            Key("identity"),  # "{shop_id}#{customer_id}" or "{shop_id}#anon:{anonymous_id}"
            Key("ts_mid"),  # "{iso timestamp}#{message_id}": time order per identity
            purpose="a customer's events in time order (profiles, exits, KPIs)",
        ),
        Index(
            "by_shop_time",
            Key("shop_day"),  # "{shop_id}#{YYYY-MM-DD}"
            Key("ts_mid"),
            purpose="a shop's events of one day in time order (KPIs, replays, exports)",
        ),
    ),
    stream=True,
    ttl_attribute="expires_at",
    pii=True,
    purpose="every accepted tracking event, once per messageId; its stream feeds evaluate",
)

CUSTOMERS = Table(
    logical="customers",
    partition=PK,  # "{shop_id}#{customer_id}" (or "{shop_id}#anon:{id}", "{shop_id}#addr:{address}")
    sort=SK,  # PROFILE | ALIAS | CONFLICT#.. | CONSENT#{at}#{channel} | RECS | SUPPRESSION | INTEREST#.. | EVENT#..
    indexes=(
        Index("by_birthday", Key("birthday_key"), PK, purpose="customers whose birthday is {shop}#{MM-DD}"),
        Index(
            "by_points_expiry",
            Key("points_shop"),
            Key("points_expire_on"),
            purpose="customers holding points, by expiry date (sparse: only balance > 0)",
        ),
        Index(
            "by_last_order",
            Key("buyer_shop"),
            Key("last_order_at"),
            purpose="buyers by time of last order (win-back, dormancy windows)",
        ),
        Index(
            "by_churn_risk",
            Key("churn_key"),
            Key("last_order_at"),
            purpose="customers by predicted churn band {shop}#{band}",
        ),
        Index(
            "by_shop", Key("shop_id"), PK, purpose="every profile of a shop (exports, nightly predictions)"
        ),
        Index(
            "by_interest",
            Key("interest_key"),  # "{shop}#{product_id}" on INTEREST#{product_id} items (viewed, wish-listed)
            Key("interest_at"),
            purpose="customers interested in a product, by time (restock reminders)",
        ),
    ),
    ttl_attribute="expires_at",  # interest items (restock audience) expire
    pii=True,
    purpose="profiles, identity aliases, consent history, suppression list, recommendations",
)

CATALOG = Table(
    logical="catalog",
    partition=Key("shop_id"),
    sort=Key("product_id"),
    indexes=(
        Index("by_category", Key("category_key"), Key("product_id"), purpose="products of {shop}#{category}"),
    ),
    purpose="products with price and inventory; restocks are detected on upsert",
)

CONFIG = Table(
    logical="config",
    partition=PK,  # SHOP#{shop} | KEY#{sha256(write key)} | SCENARIO#{shop}#{id} | TEMPLATE#{shop}#{id}
    sort=SK,  # META | V#{version:06d} | LATEST
    purpose="shops, key digests, scenario and template versions, shop-wide rules",
    # Shopify webhook secrets must be readable to verify HMACs, so they are kept under the CMK.
    pii=True,
)

JOURNEYS = Table(
    logical="journeys",
    partition=PK,  # "{shop_id}#{customer_id}"
    sort=SK,  # "{scenario_id}#{entry_key}": a conditional put makes starting a journey idempotent
    indexes=(
        Index(
            "by_scenario",
            Key("scenario_key"),
            Key("entered_at"),
            purpose="journeys of {shop}#{scenario} by entry",
        ),
    ),
    ttl_attribute="expires_at",
    pii=True,  # holds the triggering event (traits, context) each journey started from
    purpose="one item per journey: scenario version, holdout flag, state, next step",
)

MESSAGES = Table(
    logical="messages",
    partition=PK,  # "{shop_id}#{message_id}" (message id is deterministic per journey step)
    indexes=(
        Index("by_customer", Key("customer_key"), Key("created_at"), purpose="frequency caps, attribution"),
        Index(
            "by_shop_time", Key("shop_id"), Key("created_at"), purpose="KPIs, bounce/complaint rates, outbox"
        ),
        Index("by_provider_id", Key("provider_message_id"), purpose="map SES feedback to our message"),
    ),
    stream=True,  # feeds the event archive's message log
    ttl_attribute="expires_at",
    pii=True,
    purpose="send intents and the message log (status, skip reason, provider id)",
)

TABLES: tuple[Table, ...] = (EVENTS, CUSTOMERS, CATALOG, CONFIG, JOURNEYS, MESSAGES)
TABLES_BY_NAME = {t.logical: t for t in TABLES}

# The repository module(s) of each table, relative to layers/common: the only runtime modules that
# open it (`clients.table("<logical>")` or `settings.table("<logical>")`). Everything else calls them.
REPOSITORIES: dict[str, tuple[str, ...]] = {
    "events": ("kaeri/tracking/store.py",),
    "customers": ("kaeri/profiles/customers.py",),
    "catalog": ("kaeri/tracking/catalog.py",),
    "config": ("kaeri/shops.py", "kaeri/scenarios/store.py", "kaeri/delivery/template_store.py"),
    "journeys": ("kaeri/journeys/store.py",),
    "messages": ("kaeri/delivery/log.py",),
}
