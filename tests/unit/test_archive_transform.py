"""The AWS archive path's transform: stream records to the same rows the local archive writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from boto3.dynamodb.types import TypeSerializer

from kaeri.archive.rows import event_row
from kaeri.events import StoredEvent

T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)
ARN = "arn:aws:dynamodb:ap-northeast-1:123456789012:table/kaeri-{}/stream/2025"


def _record(item: dict, table: str, name: str = "INSERT") -> dict:
    ser = TypeSerializer()
    image = {k: ser.serialize(v) for k, v in item.items()}
    return {
        "eventName": name,
        "eventSourceARN": ARN.format(table),
        "dynamodb": {"NewImage": image, "ApproximateCreationDateTime": T0.timestamp()},
    }


def test_event_and_message_records_become_archive_rows_and_deletes_are_dropped():
    import archive_transform

    event = StoredEvent(
        shop_id="s",
        message_id="m1",
        type="track",
        event="Order Completed",
        user_id="u1",
        properties={"order_id": "A1", "total": 12, "products": [{"product_id": "p", "price": 12}]},
        timestamp=T0,
        received_at=T0,
    )
    message = {
        "pk": "s#x",
        "shop_id": "s",
        "message_id": "x",
        "customer_id": "u1",
        "status": "sent",
        "created_at": "2025-03-03T10:00:00.000Z",
    }
    out = archive_transform.handler(
        [
            _record(event.to_item(), "events"),
            _record(message, "messages"),
            _record(event.to_item(), "events", "REMOVE"),
        ],
        None,
    )
    assert len(out) == 2 and all(line.endswith("\n") for line in out)
    row, msg = (json.loads(line) for line in out)
    expected = event_row(event)
    assert row["order_id"] == "A1" and row["revenue"] == 12.0 and row["dt"] == "2025-03-03"
    assert row["ts"] == "2025-03-03 10:00:00.000" and row["products"] == expected["products"]
    assert set(row) == set(expected)
    assert msg["status"] == "sent" and msg["archived_at"] == "2025-03-03 10:00:00.000"
