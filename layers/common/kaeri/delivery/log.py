"""The message log: one item per message id, written before the provider is called.

pk `{shop}#{message_id}`. A conditional put of the intent is what makes a send exactly-once: every
retry of the same message id finds the item and follows its status instead of sending again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from kaeri import clock
from kaeri.aws import ClientError, Key, all_items, condition_failed
from kaeri.delivery.request import SendRequest, SendResult
from kaeri.events import from_dynamo

RETENTION = timedelta(days=400)  # KPIs look back a year; attribution windows are days
REQUEST_FIELDS = (
    "scenario_id",
    "scenario_version",
    "journey_id",
    "step_id",
    "variant",
    "template_id",
    "purpose",
    "test_recipient",
)


class IntentConflict(RuntimeError):
    """Another writer changed the intent first."""


def message_pk(shop_id: str, message_id: str) -> str:
    return f"{shop_id}#{message_id}"


def base_item(fields: dict[str, Any]) -> dict[str, Any]:
    now = clock.now()
    shop, message_id, customer = fields["shop_id"], fields["message_id"], fields["customer_id"]
    item: dict[str, Any] = {
        "pk": message_pk(shop, message_id),
        "shop_id": shop,
        "message_id": message_id,
        "customer_id": customer,
        "customer_key": f"{shop}#{customer}",
        "created_at": clock.iso(now),
        "expires_at": int((now + RETENTION).timestamp()),
    }
    for name in REQUEST_FIELDS:
        if fields.get(name) is not None:
            item[name] = fields[name]
    if fields.get("test_recipient"):
        item["test"] = True  # never counted (kaeri.analytics.reader skips it)
    return item


def result_of(item: dict[str, Any], detail: str | None = None) -> SendResult:
    return SendResult(
        message_id=item["message_id"],
        status=item["status"] if item["status"] != "pending" else "failed",
        channel=item.get("channel"),
        skip_reason=item.get("skip_reason"),
        provider_message_id=item.get("provider_message_id"),
        detail=detail or item.get("detail"),
    )


class MessageLog:
    """The messages-table repository (the outbox listing is kaeri.delivery.outbox over it)."""

    def __init__(self, messages_table: Any) -> None:
        self._table = messages_table

    @classmethod
    def of(cls, clients: Any) -> MessageLog:
        return cls(clients.table("messages"))

    def newest_first(self, shop_id: str, **request: Any) -> Iterator[dict[str, Any]]:
        """A shop's messages, newest first (index by_shop_time), page by page as consumed."""
        return all_items(
            self._table.query,
            IndexName="by_shop_time",
            KeyConditionExpression=Key("shop_id").eq(shop_id),
            ScanIndexForward=False,
            **request,
        )

    def created_between(self, shop_id: str, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """A shop's messages created between two times, oldest first (index by_shop_time)."""
        return all_items(
            self._table.query,
            IndexName="by_shop_time",
            KeyConditionExpression=Key("shop_id").eq(shop_id)
            & Key("created_at").between(clock.iso(since), clock.iso(until)),
        )

    def outbox(self, shop_id: str, limit: int = 20, include_skipped: bool = False) -> list[dict[str, Any]]:
        from kaeri.delivery.outbox import list_outbox

        return list_outbox(self._table, shop_id, limit=limit, include_skipped=include_skipped)

    def get(self, shop_id: str, message_id: str) -> dict[str, Any] | None:
        resp = self._table.get_item(Key={"pk": message_pk(shop_id, message_id)}, ConsistentRead=True)
        item = resp.get("Item")
        return from_dynamo(item) if item else None

    def by_provider_id(self, provider_message_id: str) -> dict[str, Any] | None:
        resp = self._table.query(
            IndexName="by_provider_id",
            KeyConditionExpression="provider_message_id = :p",
            ExpressionAttributeValues={":p": provider_message_id},
        )
        items = resp.get("Items") or []
        return from_dynamo(items[0]) if items else None

    def of_customer_since(self, shop_id: str, customer_id: str, since: datetime) -> list[dict[str, Any]]:
        """A customer's messages created at or after `since` (the `by_customer` index: frequency caps)."""
        return list(
            all_items(
                self._table.query,
                IndexName="by_customer",
                KeyConditionExpression=Key("customer_key").eq(f"{shop_id}#{customer_id}")
                & Key("created_at").gte(clock.iso(since)),
            )
        )

    def put_new(self, item: dict[str, Any]) -> bool:
        """Create the item unless one exists; False when another attempt got there first."""
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def update(
        self,
        pk: str,
        values: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        condition: str | None = None,
        condition_values: dict[str, Any] | None = None,
    ) -> None:
        names = {f"#{k}": k for k in values} | {f"#{k}": k for k in remove}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        if remove:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in remove)
        kwargs: dict[str, Any] = {
            "Key": {"pk": pk},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()} | (condition_values or {}),
        }
        if condition:
            kwargs["ConditionExpression"] = condition
        try:
            self._table.update_item(**kwargs)
        except ClientError as exc:
            if condition_failed(exc):
                raise IntentConflict(pk) from exc
            raise

    def record_skip(
        self, request_or_fields: SendRequest | dict[str, Any], reason: str, detail: str | None = None
    ) -> SendResult:
        """Log a message the scenario engine decided not to send (capped, quiet_hours, exited, ...).

        Idempotent: a retry finds the first record and returns it.
        """
        if isinstance(request_or_fields, SendRequest):
            fields = request_or_fields.model_dump()
        else:
            fields = dict(request_or_fields)
        item = base_item(fields) | {"status": "skipped", "skip_reason": reason}
        if fields.get("channels"):
            item["channel"] = fields["channels"][0]
        if detail:
            item["detail"] = detail
        if not self.put_new(item):
            existing = self.get(fields["shop_id"], fields["message_id"])
            if existing:
                return result_of(existing, detail="already handled")
        return result_of(item)


def record_skip(
    clients: Any, request_or_fields: SendRequest | dict[str, Any], reason: str, detail: str | None = None
) -> SendResult:
    """MessageLog.record_skip on the clients' messages table."""
    return MessageLog.of(clients).record_skip(request_or_fields, reason, detail)
