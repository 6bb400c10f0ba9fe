"""The events table: one conditional PutItem per event, which also deduplicates by messageId."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from kaeri.aws import AwsClients
from kaeri.events import StoredEvent

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

    def put(self, event: StoredEvent) -> bool:
        """Store the event unless its messageId was seen before; True when it was new."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize(event.to_item(self._ttl_days)),
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
        if len(events) <= 1:
            return sum(self.put(e) for e in events)
        return sum(_executor().map(self.put, events))
