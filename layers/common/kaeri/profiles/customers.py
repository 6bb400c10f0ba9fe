"""The customers-table repository: every item kind's key, its pagination and its conditions.

This module is the only one that opens the customers table (``clients.table("customers")``); every
other module calls `CustomersTable` (or `kaeri.profiles.repository.ProfileRepository`, which owns
the PROFILE / ALIAS / CONFLICT items on top of it). docs/tables.md lists the item kinds.

Sections, in order: keys; raw PROFILE reads; consent records; the suppression list; product
interest; recommendations (RECS); quarantined events; nightly predictions; keys for transactions
and batch reads spanning tables.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from kaeri.aws import Attr, AwsClients, ClientError, Key, all_items, condition_failed
from kaeri.events import from_dynamo

LOGICAL = "customers"

# Sort keys -------------------------------------------------------------------------------------
PROFILE = "PROFILE"
ALIAS = "ALIAS"
CONFLICT = "CONFLICT"
CONSENT = "CONSENT#"
SUPPRESSION = "SUPPRESSION"
INTEREST = "INTEREST#"
RECS = "RECS"
QUARANTINE = "quarantine"
QUARANTINED = "EVENT#"
# Customer-id prefixes and reserved ids sharing the {shop}#... partition space.
ANON_PREFIX = "anon:"
ADDR_PREFIX = "addr:"
POPULAR = "__popular__"
TOGETHER = "__together__"
UNKNOWN = "unknown"
# UpdateItems in flight at once when the nightly job writes predictions (see write_predictions).
PREDICTION_WRITERS = 8
RECS_WRITERS = 4  # BatchWriteItem requests of RECS items in flight at once
BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit
BATCH_WRITE_ATTEMPTS = 8  # for items DynamoDB returns unprocessed (throttling)
BATCH_BACKOFF_SECONDS = 0.05
BATCH_BACKOFF_CAP_SECONDS = 2.0


# --- keys ----------------------------------------------------------------------------------------


def profile_pk(shop_id: str, customer_id: str) -> str:
    """The partition of a customer (profile, consent history, interest, recommendations)."""
    return f"{shop_id}#{customer_id}"


def profile_key(shop_id: str, customer_id: str) -> dict[str, str]:
    """The key of a customer's PROFILE item."""
    return {"pk": profile_pk(shop_id, customer_id), "sk": PROFILE}


def anonymous_customer(anonymous_id: str) -> str:
    return f"{ANON_PREFIX}{anonymous_id}"


def normalise_address(address: str) -> str:
    return address.strip().lower()


def suppression_key(shop_id: str, address: str) -> dict[str, str]:
    return {"pk": profile_pk(shop_id, f"{ADDR_PREFIX}{normalise_address(address)}"), "sk": SUPPRESSION}


def interest_key(shop_id: str, customer_id: str, product_id: str) -> dict[str, str]:
    return {"pk": profile_pk(shop_id, customer_id), "sk": f"{INTEREST}{product_id}"}


def recs_pk(shop_id: str, customer_id: str) -> str:
    """A customer's RECS partition."""
    return profile_pk(shop_id, customer_id)


def popular_pk(shop_id: str, category: str | None = None) -> str:
    """The shop's best sellers (of one category when given)."""
    return profile_pk(shop_id, POPULAR) + (f"#{category}" if category else "")


def together_pk(shop_id: str, product_id: str) -> str:
    """What is bought together with a product (cross-sell)."""
    return profile_pk(shop_id, f"{TOGETHER}#{product_id}")


def quarantine_key(shop_id: str, message_id: str) -> dict[str, str]:
    return {"pk": profile_pk(shop_id, QUARANTINE), "sk": f"{QUARANTINED}{message_id}"}


# --- consent records (one format) -------------------------------------------------------------


def consent_record(
    shop_id: str,
    customer_id: str,
    channel: str,
    status: str,
    at: str | None,
    source: str | None,
    wording_version: str | None,
) -> dict[str, Any]:
    """The CONSENT#{at}#{channel} item: one consent change, kept as evidence.

    Every attribute is always present (``unknown`` when not known). ``shop``, not ``shop_id``: that
    would put the item in the by_shop profile index.
    """
    when = at or UNKNOWN
    return {
        "pk": profile_pk(shop_id, customer_id),
        "sk": f"{CONSENT}{when}#{channel}",
        "shop": shop_id,
        "customer_id": customer_id,
        "channel": channel,
        "status": status,
        "at": when,
        "source": source or UNKNOWN,
        "wording_version": wording_version or UNKNOWN,
    }


def read_consent_record(item: dict[str, Any]) -> dict[str, Any]:
    """A stored consent item in the one format; also reads the older form.

    The older form (written by the stream projector before the formats were merged) has no ``shop``
    or ``customer_id`` and leaves ``source`` / ``wording_version`` out when unknown.
    """
    record = from_dynamo(item)
    shop_id, _, customer_id = str(record["pk"]).partition("#")
    sk_at, _, sk_channel = str(record["sk"])[len(CONSENT) :].rpartition("#")
    normal = consent_record(
        str(record.get("shop") or shop_id),
        str(record.get("customer_id") or customer_id),
        str(record.get("channel") or sk_channel),
        str(record.get("status") or UNKNOWN),
        str(record.get("at") or sk_at),
        record.get("source"),
        record.get("wording_version"),
    )
    return {**record, **normal}


@dataclass(frozen=True)
class PredictionWrite:
    """What the nightly job sets on one PROFILE item: the predictions map and the churn band key."""

    pk: str
    predictions: dict[str, Any]
    churn_key: str


class CustomersTable:
    """The customers table: one instance per AwsClients; methods are the item kinds' operations."""

    def __init__(self, table: Any, dynamodb_resource: Any | None = None) -> None:
        self.table = table
        self.resource = dynamodb_resource

    @classmethod
    def of(cls, clients: AwsClients) -> CustomersTable:
        return cls(clients.table(LOGICAL), clients.dynamodb_resource)

    @property
    def name(self) -> str:
        return str(self.table.name)

    # --- PROFILE items as stored -------------------------------------------------------------
    def profile_item(
        self, shop_id: str, customer_id: str, *, consistent: bool = False
    ) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(
            Key=profile_key(shop_id, customer_id), ConsistentRead=consistent
        ).get("Item")
        return item

    def profile_items(self, shop_id: str) -> Iterator[dict[str, Any]]:
        """Every PROFILE item of a shop (index by_shop), page by page as consumed."""
        return all_items(
            self.table.query,
            IndexName="by_shop",
            KeyConditionExpression=Key("shop_id").eq(shop_id),
            FilterExpression=Attr("sk").eq(PROFILE),
        )

    def set_profile_consent(
        self, shop_id: str, customer_id: str, channel: str, consent: dict[str, Any]
    ) -> bool:
        """Set profile.consent[channel] on an existing PROFILE item (the rest is the projector's).

        False when there is no profile (nothing is created).
        """
        key = profile_key(shop_id, customer_id)
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression="SET consent.#ch = :c",
                ConditionExpression="attribute_exists(pk) AND attribute_type(consent, :m)",
                ExpressionAttributeNames={"#ch": channel},
                ExpressionAttributeValues={":c": consent, ":m": "M"},
            )
            return True
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        try:  # a profile without a consent map yet
            self.table.update_item(
                Key=key,
                UpdateExpression="SET consent = :all",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(consent)",
                ExpressionAttributeValues={":all": {channel: consent}},
            )
            return True
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        return False

    # --- consent records ---------------------------------------------------------------------
    def put_consent(self, record: dict[str, Any]) -> None:
        """Store a consent_record() item."""
        self.table.put_item(Item=record)

    def consent_history(self, shop_id: str, customer_id: str) -> list[dict[str, Any]]:
        """Every consent change of a customer, oldest first, in the one format (read_consent_record)."""
        condition = Key("pk").eq(profile_pk(shop_id, customer_id)) & Key("sk").begins_with(CONSENT)
        return [read_consent_record(i) for i in all_items(self.table.query, KeyConditionExpression=condition)]

    def put_records(self, items: list[dict[str, Any]]) -> None:
        """Unconditional puts (ALIAS / CONSENT items): one request for one item, else BatchWriteItem."""
        if len(items) == 1:
            self.table.put_item(Item=items[0])
        elif items:
            with self.table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:  # 25 a request
                for item in items:
                    batch.put_item(Item=item)

    # --- suppression list ----------------------------------------------------------------------
    def suppression(self, shop_id: str, address: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.table.get_item(
            Key=suppression_key(shop_id, address), ConsistentRead=True
        ).get("Item")
        return item

    def put_suppression(
        self,
        shop_id: str,
        address: str,
        reason: str,
        at: str,
        detail: str | None = None,
        *,
        only_new: bool = False,
    ) -> bool:
        """Suppress an address; with only_new an existing entry is kept (False returned)."""
        item: dict[str, Any] = {
            **suppression_key(shop_id, address),
            "shop": shop_id,
            "reason": reason,
            "at": at,
        }
        if detail:
            item["detail"] = detail[:1000]
        if not only_new:
            self.table.put_item(Item=item)
            return True
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        return False

    def delete_suppression(self, shop_id: str, address: str) -> None:
        self.table.delete_item(Key=suppression_key(shop_id, address))

    # --- product interest ----------------------------------------------------------------------
    def put_interest(
        self, shop_id: str, customer_id: str, product_id: str, kind: str, at: str, expires_at: int
    ) -> None:
        self.table.put_item(
            Item={
                **interest_key(shop_id, customer_id, product_id),
                "interest_key": f"{shop_id}#{product_id}",
                "interest_at": at,
                "shop_id": shop_id,
                "customer_id": customer_id,
                "product_id": product_id,
                "kind": kind,
                "expires_at": expires_at,
            }
        )

    def interested(self, shop_id: str, product_id: str, since: str) -> Iterator[str]:
        """Customers interested in the product at or after `since` (index by_interest)."""
        for item in all_items(
            self.table.query,
            IndexName="by_interest",
            KeyConditionExpression=Key("interest_key").eq(f"{shop_id}#{product_id}")
            & Key("interest_at").gte(since),
            ProjectionExpression="customer_id",
        ):
            yield str(item["customer_id"])

    # --- recommendations -----------------------------------------------------------------------
    def recs(self, pk: str) -> list[dict[str, Any]]:
        """The `items` of a RECS item (recs_pk / popular_pk / together_pk), as stored; [] when none."""
        item = self.table.get_item(Key={"pk": pk, "sk": RECS}).get("Item")
        entries = item.get("items") if item else None
        return [e for e in entries or [] if isinstance(e, dict) and e.get("product_id")]

    @contextlib.contextmanager
    def recs_writer(self, computed_at: str, workers: int = RECS_WRITERS) -> Iterator[Any]:
        """A writer of RECS items: BatchWriteItem, 25 a request, up to `workers` requests in flight.

        boto3's `batch_writer` sends its batches one after another; the nightly of a large shop
        writes hundreds of thousands of RECS items (8,000 requests at 200,000 customers), so the
        batches go to a small pool on the table's client (boto3 clients are thread-safe; the
        resource's client serialises the items). At most 2 × `workers` batches wait, so memory stays
        a few batches. The same key twice in one batch keeps the later item (as `overwrite_by_pkeys`
        does). Unprocessed items are retried with backoff; an error is raised when the block ends.
        """
        client = self.table.meta.client
        pending: dict[str, dict[str, Any]] = {}
        waiting: set[Future[None]] = set()
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="recs") as pool:

            def flush() -> None:
                if not pending:
                    return
                batch = list(pending.values())
                pending.clear()
                while len(waiting) >= 2 * max(1, workers):
                    done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                    for future in done:
                        waiting.discard(future)
                        future.result()
                waiting.add(pool.submit(self._put_batch, client, batch))

            def put(pk: str, entries: list[dict[str, Any]]) -> None:
                pending[pk] = {"pk": pk, "sk": RECS, "items": entries, "computed_at": computed_at}
                if len(pending) == BATCH_WRITE_ITEMS:
                    flush()

            yield put
            flush()
            for future in waiting:
                future.result()

    def _put_batch(self, client: Any, items: list[dict[str, Any]]) -> None:
        request: dict[str, Any] = {self.name: [{"PutRequest": {"Item": item}} for item in items]}
        for attempt in range(BATCH_WRITE_ATTEMPTS):
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                return
            if attempt + 1 < BATCH_WRITE_ATTEMPTS:
                time.sleep(min(BATCH_BACKOFF_CAP_SECONDS, BATCH_BACKOFF_SECONDS * 2**attempt))
        left = sum(len(puts) for puts in request.values())
        raise RuntimeError(f"{left} RECS items still unprocessed after {BATCH_WRITE_ATTEMPTS} attempts")

    # --- quarantined events --------------------------------------------------------------------
    def put_quarantined(
        self, shop_id: str, message_id: str, event: dict[str, Any], reason: str, at: str
    ) -> None:
        """Keep (or update) an event that could not be projected; counts its failures."""
        self.table.update_item(
            Key=quarantine_key(shop_id, message_id),
            UpdateExpression="SET #e = :e, #r = :r, #at = :at, #mid = :mid, #shop = :shop"
            ", #n = if_not_exists(#n, :zero) + :one",
            ExpressionAttributeNames={
                "#e": "event",
                "#r": "reason",
                "#at": "failed_at",
                "#mid": "message_id",
                "#shop": "shop",
                "#n": "failures",
            },
            ExpressionAttributeValues={
                ":e": event,
                ":r": reason,
                ":at": at,
                ":mid": message_id,
                ":shop": shop_id,
                ":zero": 0,
                ":one": 1,
            },
        )

    def quarantined(self, shop_id: str) -> Iterator[dict[str, Any]]:
        condition = Key("pk").eq(profile_pk(shop_id, QUARANTINE)) & Key("sk").begins_with(QUARANTINED)
        return all_items(self.table.query, KeyConditionExpression=condition)

    def delete_quarantined(self, shop_id: str, message_id: str) -> None:
        self.table.delete_item(Key=quarantine_key(shop_id, message_id))

    # --- nightly predictions -------------------------------------------------------------------
    def write_predictions(self, writes: Iterable[PredictionWrite], workers: int = PREDICTION_WRITERS) -> int:
        """SET predictions and churn_key on existing PROFILE items; how many were written.

        Predictions are attributes of the PROFILE item (index by_churn_risk sorts them by the
        profile's last_order_at; audiences, templates and the console read them with the profile),
        and the stream projector updates that item concurrently. BatchWriteItem can only replace
        whole items, which would lose the projector's changes, so each profile gets its own
        conditional UpdateItem (never creating a profile) and up to `workers` run at once.
        """
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="predictions") as pool:
            return sum(pool.map(self._write_prediction, writes))

    def _write_prediction(self, write: PredictionWrite) -> int:
        try:
            self.table.update_item(
                Key={"pk": write.pk, "sk": PROFILE},
                UpdateExpression="SET predictions = :p, churn_key = :c",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":p": write.predictions, ":c": write.churn_key},
            )
            return 1
        except ClientError as exc:
            if not condition_failed(exc):
                raise
        return 0

    # --- keys for requests spanning tables -----------------------------------------------------
    def profile_batch_get(self, shop_id: str, customer_id: str) -> tuple[str, dict[str, Any]]:
        """(table name, BatchGetItem spec) reading a customer's PROFILE item with other tables' keys."""
        return self.name, {"Keys": [profile_key(shop_id, customer_id)]}
