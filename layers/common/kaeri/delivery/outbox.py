"""The outbox: delivered messages as rendered, read from the message log (by_shop_time, newest first).

The send stores subject, text, headers (and HTML under 100 KB) on the message item, so the outbox
works the same against moto and a deployed stack.
"""

from __future__ import annotations

from typing import Any

from kaeri.delivery.log import MessageLog
from kaeri.events import from_dynamo

FIELDS = (
    "message_id",
    "status",
    "channel",
    "recipient",
    "scenario_id",
    "step_id",
    "variant",
    "template_id",
    "template_version",
    "subject",
    "headers",
    "text",
    "created_at",
    "sent_at",
    "provider_message_id",
    "skip_reason",
    "detail",
    "locale",
    "test",
)


def list_outbox(
    messages_table: Any, shop_id: str, limit: int = 20, include_skipped: bool = False
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    newest_first = MessageLog(messages_table).newest_first(shop_id)
    for stored in newest_first:  # pages are read only as far as the rows asked for
        item = from_dynamo(stored)
        if not include_skipped and item.get("status") != "sent":
            continue
        row = {k: item.get(k) for k in FIELDS if item.get(k) is not None}
        row["user_id"] = item.get("customer_id")
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows
