"""Events that were accepted but could not be projected: kept with their reason, never dropped.

Items in the customers table at pk ``{shop}#quarantine``, sk ``EVENT#{message_id}``: the events-table
item as stored, the reason (exception type and a bounded message), when and how often it failed.
`kaeri events failed` lists them, `kaeri events replay` applies them again (after a fix) and removes
those that now apply. Each quarantined event counts in the ``EventsQuarantined`` metric, which the
``EventsQuarantined`` alarm watches.

Retryable failures (a concurrent update that kept losing, throttling, a network error) are not
quarantined: they are raised so the stream retries them.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients, BotoCoreError, ClientError
from kaeri.clock import iso
from kaeri.events import from_dynamo
from kaeri.profiles.customers import CustomersTable

log = logging.getLogger("kaeri.profiles")

REASON_MAX = 300
# DynamoDB errors that the same request can never get past: the event itself is at fault.
PERMANENT_CODES = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


def is_retryable(exc: BaseException) -> bool:
    from kaeri.profiles.repository import ConcurrentUpdate

    if isinstance(exc, ConcurrentUpdate | BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code") not in PERMANENT_CODES
    return False


def reason_of(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


class Quarantine:
    def __init__(self, clients: AwsClients, metrics: Any = None) -> None:
        self._customers = CustomersTable.of(clients)
        self.metrics = metrics

    def put(self, item: dict[str, Any], exc: BaseException) -> None:
        shop_id = str(item.get("shop_id") or str(item.get("pk", "")).split("#", 1)[0])
        message_id = str(item.get("message_id") or item.get("pk", ""))
        reason = reason_of(exc)
        self._customers.put_quarantined(shop_id, message_id, item, reason, iso(clock.now()))
        log.error(
            "event %s could not be projected and is quarantined: %s",
            message_id,
            type(exc).__name__,
            extra={"shop_id": shop_id, "message_id": message_id},
        )
        if self.metrics is not None:
            from aws_lambda_powertools.metrics import MetricUnit

            self.metrics.add_metric(name="EventsQuarantined", unit=MetricUnit.Count, value=1)

    def list(self, shop_id: str) -> list[dict[str, Any]]:
        """Quarantined events of a shop, with their stored item (DynamoDB types) under "event"."""
        return list(self._customers.quarantined(shop_id))

    def summary(self, shop_id: str) -> builtins.list[dict[str, Any]]:
        return [
            {
                "message_id": i["message_id"],
                "type": i["event"].get("type"),
                "event": i["event"].get("event"),
                "reason": i["reason"],
                "failed_at": i["failed_at"],
                "failures": from_dynamo(i.get("failures", 1)),
            }
            for i in self.list(shop_id)
        ]

    def resolve(self, shop_id: str, message_id: str) -> None:
        self._customers.delete_quarantined(shop_id, message_id)


def replay(clients: AwsClients, shop_id: str, message_ids: list[str] | None = None) -> dict[str, int]:
    """Project the quarantined events again; those that now apply leave the quarantine."""
    from kaeri.profiles.projector import project_and_trigger

    quarantine = Quarantine(clients)
    counts = {"applied": 0, "quarantined": 0}
    wanted = set(message_ids or [])
    for item in quarantine.list(shop_id):
        if wanted and item["message_id"] not in wanted:
            continue
        outcome = project_and_trigger(clients, item["event"], quarantine=quarantine)
        if outcome == "applied":
            quarantine.resolve(shop_id, item["message_id"])
        counts[outcome] += 1
    return counts
