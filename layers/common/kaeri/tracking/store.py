"""The events table: one conditional PutItem per event, which also deduplicates by messageId."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from kaeri.aws import AwsClients
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
        self._client = clients.dynamodb
        self._table = clients.settings.table("events")
        self._ttl_days = clients.settings.events_ttl_days

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
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
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
