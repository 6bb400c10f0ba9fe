"""The stream consumer with real-shaped DynamoDB stream records from the events table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from boto3.dynamodb.types import TypeSerializer

from kaeri.events import StoredEvent
from kaeri.profiles.projector import ProfileProjector
from kaeri.profiles.quarantine import Quarantine
from kaeri.profiles.repository import ConcurrentUpdate, ProfileRepository

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CONTEXT = SimpleNamespace(
    function_name="evaluate-stream",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:evaluate-stream",
    aws_request_id="req-2",
)
_serializer = TypeSerializer()


def record(event: StoredEvent, seq: int, name: str = "INSERT") -> dict:
    item = event.to_item()
    return {
        "eventID": f"id-{seq}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "ap-northeast-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1740819600,
            "Keys": {"pk": {"S": item["pk"]}},
            "NewImage": {k: _serializer.serialize(v) for k, v in item.items()},
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 512,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": "arn:aws:dynamodb:ap-northeast-1:123456789012:table/kaeri-events/stream/2025-03-01T00:00:00.000",
    }


def event(name: str, minutes: int, message_id: str, **props) -> StoredEvent:
    return StoredEvent(
        shop_id="shop-a",
        message_id=message_id,
        type="track",
        event=name,
        user_id="u1",
        properties=props,
        timestamp=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
    )


@pytest.fixture
def stream(aws, monkeypatch):
    import evaluate_stream

    seen = []
    monkeypatch.setattr(
        "kaeri.journeys.triggers.on_event", lambda e, p, c, projection=None: seen.append((e.message_id, p))
    )
    with evaluate_stream.wired.use(aws):
        yield SimpleNamespace(
            handle=lambda records: evaluate_stream.handler({"Records": records}, CONTEXT), seen=seen
        )


def test_batch_updates_profile_and_calls_triggers_after(stream, aws):
    records = [
        record(event("Product Added", 0, "m1", product_id="p1", price=1000), 1),
        record(event("Order Completed", 1, "m2", order_id="o1", total=1000), 2),
    ]
    assert stream.handle(records) == {"batchItemFailures": []}

    profile = ProfileRepository(aws).get("shop-a", "u1")
    assert profile.order_count == 1 and profile.cart == {}
    assert [m for m, _ in stream.seen] == ["m1", "m2"]
    assert stream.seen[1][1].order_count == 1  # triggers see the profile after the event


def test_a_retried_batch_counts_the_order_once(stream, aws):
    records = [record(event("Order Completed", 1, "m2", order_id="o1", total=1000), 1)]
    stream.handle(records)
    stream.handle(records)

    assert ProfileRepository(aws).get("shop-a", "u1").order_count == 1


def test_an_event_that_cannot_be_projected_is_quarantined_with_its_reason(stream, aws):
    good = record(event("Product Viewed", 0, "m1", product_id="p1"), 1)
    bad = record(event("Product Viewed", 0, "m2", product_id="p2"), 2)
    del bad["dynamodb"]["NewImage"]["ts"]

    response = stream.handle([good, bad])

    assert response == {"batchItemFailures": []}  # not retried for ever: kept aside, not lost
    assert [p.product_id for p in ProfileRepository(aws).get("shop-a", "u1").recently_viewed] == ["p1"]
    failed = Quarantine(aws).summary("shop-a")
    assert [(f["message_id"], f["failures"]) for f in failed] == [("m2", 1)]
    assert failed[0]["reason"].startswith("KeyError") and "ts" in failed[0]["reason"]


def test_a_retryable_failure_is_reported_alone_for_a_retry(stream, aws, monkeypatch):
    good = record(event("Product Viewed", 0, "m1", product_id="p1"), 1)
    busy = record(event("Product Viewed", 0, "m2", product_id="p2"), 2)
    apply = ProfileProjector.apply_state  # what the stream path calls

    def apply_or_lose(self, e):
        if e.message_id == "m2":
            raise ConcurrentUpdate("u1")
        return apply(self, e)

    monkeypatch.setattr(ProfileProjector, "apply_state", apply_or_lose)
    response = stream.handle([good, busy])

    assert response == {"batchItemFailures": [{"itemIdentifier": busy["dynamodb"]["SequenceNumber"]}]}
    assert Quarantine(aws).summary("shop-a") == []


def test_remove_records_are_ignored(stream, aws):
    assert stream.handle([record(event("Product Viewed", 0, "m1", product_id="p1"), 1, "REMOVE")]) == {
        "batchItemFailures": []
    }
    assert ProfileRepository(aws).get("shop-a", "u1") is None


def test_a_cancelled_order_is_taken_off_the_profile_once(stream, aws):
    records = [
        record(event("Order Completed", 1, "m1", order_id="o1", total=1000), 1),
        record(event("Order Completed", 2, "m2", order_id="o2", total=2500), 2),
        record(event("Order Refunded", 3, "m3", order_id="o1", total=400), 3),
        record(event("Order Cancelled", 4, "m4", order_id="o2"), 4),
        record(event("Order Cancelled", 5, "m5", order_id="o2"), 5),
    ]
    stream.handle(records)
    stream.handle(records[2:])  # a retried batch

    profile = ProfileRepository(aws).get("shop-a", "u1")
    assert (profile.order_count, profile.total_spent) == (1, 600)
    assert profile.last_order_at == T0 + timedelta(minutes=1)
    assert stream.seen[3][1].order_count == 1  # triggers see the profile after the cancel
