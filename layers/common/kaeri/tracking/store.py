"""The events table: one conditional PutItem per event, which also deduplicates by messageId."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from kaeri.aws import Attr, AwsClients, ClientError, Key, TypeSerializer, all_items, condition_failed
from kaeri.clock import iso
from kaeri.events import StoredEvent
from kaeri.tracking.errors import InvalidRequest, ItemError

_serializer = TypeSerializer()
_pool: ThreadPoolExecutor | None = None
PARALLEL_PUTS = 8


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=PARALLEL_PUTS, thread_name_prefix="kaeri-put")
    return _pool


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


class EventStore:
    """Writes events with the low-level client (thread-safe, unlike boto3 resources)."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients
        self._client = clients.dynamodb
        self._table = clients.settings.table("events")
        self._ttl_days = clients.settings.events_ttl_days

    def names_after(self, shop_id: str, customer_id: str, after: datetime) -> list[tuple[str, str]]:
        """(event name, message id) of a customer's track events stamped after `after`, in time order."""
        items = all_items(
            self._clients.table("events").query,
            IndexName="by_identity",
            KeyConditionExpression=Key("identity").eq(f"{shop_id}#{customer_id}")
            & Key("ts_mid").gt(iso(after)),
            ProjectionExpression="#e, message_id",
            ExpressionAttributeNames={"#e": "event"},
        )
        return [(str(i["event"]), str(i.get("message_id", ""))) for i in items if i.get("event")]

    def of_shop_day(
        self, shop_id: str, day: str, names: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """A shop's events of one day (YYYY-MM-DD) in time order (index by_shop_time), only the
        named events when given."""
        request: dict[str, Any] = {}
        if names is not None:
            request["FilterExpression"] = Attr("event").is_in(list(names))
        return all_items(
            self._clients.table("events").query,
            IndexName="by_shop_time",
            KeyConditionExpression=Key("shop_day").eq(f"{shop_id}#{day}"),
            **request,
        )

    def prepare(self, events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
        """Every event as a DynamoDB item, or InvalidRequest (nothing written) naming what cannot be."""
        items: list[dict[str, Any]] = []
        errors: list[ItemError] = []
        for index, event in enumerate(events):
            try:
                items.append(serialize(event.to_item(self._ttl_days)))
            except (TypeError, ValueError, ArithmeticError) as exc:
                # kaeri.tracking.validation refuses all of these first; this is the last guard.
                errors.append(ItemError(index, "body", f"cannot be stored: {type(exc).__name__}"))
        if errors:
            raise InvalidRequest(errors)
        return items

    def put(self, event: StoredEvent) -> bool:
        """Store the event unless its messageId was seen before; True when it was new."""
        return self.put_item(self.prepare([event])[0])

    def put_item(self, item: dict[str, Any]) -> bool:
        """Store one serialised event unless its messageId (pk) was seen before; True when new."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def put_all(self, events: Sequence[StoredEvent]) -> int:
        """Store every event (in parallel for batches); the number that were new.

        If a put fails the exception propagates and the client retries the whole request: events
        already stored are then recognised as duplicates, so a retry never stores anything twice.
        """
        return self.put_items(self.prepare(events))

    def put_items(self, items: Sequence[dict[str, Any]]) -> int:
        """put_all for items prepare() made."""
        if len(items) <= 1:
            return sum(self.put_item(i) for i in items)
        return sum(_executor().map(self.put_item, items))
