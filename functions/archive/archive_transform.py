"""EventBridge Pipe enrichment: table stream records in, archive rows out (to Firehose -> Parquet on S3).

The pipe reads the events (or messages) table's stream; each INSERT/MODIFY new image becomes one row
of kaeri.archive.rows, the same mapping the local stack's archive uses, serialised as the JSON that
Firehose's record format conversion turns into Parquet with the Glue table's schema. Deletes (TTL
expiry) are not archived: the archive keeps what DynamoDB lets go.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from kaeri.archive.rows import event_row_from_item, message_row
from kaeri.aws import TypeDeserializer
from kaeri.tracing import tracer

_deserializer = TypeDeserializer()  # no AWS client: this function only maps records, so it has no wiring


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # Glue timestamp text
    return value


def _dataset(record: dict[str, Any]) -> str:
    table = str(record.get("eventSourceARN", "")).split(":table/")[-1].split("/")[0]
    return "messages" if table.endswith("-messages") else "events"


def transform(record: dict[str, Any]) -> dict[str, Any] | None:
    if record.get("eventName") == "REMOVE":
        return None
    image = (record.get("dynamodb") or {}).get("NewImage")
    if not image:
        return None
    item = {k: _deserializer.deserialize(v) for k, v in image.items()}
    if _dataset(record) == "events":
        row = event_row_from_item(item)
    else:
        created = (record.get("dynamodb") or {}).get("ApproximateCreationDateTime")
        archived = datetime.fromtimestamp(float(created), UTC) if created else datetime.now(UTC)
        row = message_row(item, archived)
    return None if row is None else {k: _json_value(v) for k, v in row.items()}


@tracer.capture_lambda_handler
def handler(event: list[dict[str, Any]], context: Any) -> list[str]:
    """The pipe passes its batch as a list; each returned element is one Firehose record (a JSON line)."""
    rows = (transform(record) for record in event or [])
    return [json.dumps(row, ensure_ascii=False) + "\n" for row in rows if row is not None]
