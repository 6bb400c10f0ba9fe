"""An unchanged Segment SDK (segment-analytics-python) pointed at the local stack: events land, profiles follow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from boto3.dynamodb.conditions import Key

from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def stack():
    with EmbeddedStack(clock="manual", start=START, write_key="wk_segment", shop_id="shop-seg") as running:
        yield running


def test_segment_sdk_events_are_stored_and_projected_into_the_profile(stack):
    from segment.analytics import Client

    from kaeri.profiles.repository import ProfileRepository

    errors: list[Exception] = []
    client = Client(
        write_key="wk_segment",
        host=stack.api_url,
        sync_mode=True,
        max_retries=1,
        on_error=lambda error, items: errors.append(error),
    )
    client.identify(
        "u1", {"email": "hanako@example.com", "first_name": "Hanako", "consent": {"email": "granted"}}
    )
    client.track("u1", "Product Added", {"product_id": "p1", "name": "Tee", "price": 2500, "quantity": 1})
    client.track(
        "u1",
        "Order Completed",
        {
            "order_id": "o1",
            "total": 2500,
            "currency": "JPY",
            "products": [{"product_id": "p1", "price": 2500}],
        },
    )
    client.flush()
    assert errors == []

    stack.drain()  # the stream consumer projects the events into the profile

    stored = stack.clients.table("events").query(
        IndexName="by_identity", KeyConditionExpression=Key("identity").eq("shop-seg#u1")
    )["Items"]
    assert sorted(item["type"] + ":" + item.get("event", "") for item in stored) == [
        "identify:",
        "track:Order Completed",
        "track:Product Added",
    ]
    assert stack.streams.delivered >= 3 and stack.streams.on_failure == []

    profile = ProfileRepository(stack.clients).get("shop-seg", "u1")
    assert profile is not None
    assert profile.email == "hanako@example.com"
    assert profile.order_count == 1
    assert profile.total_spent == 2500


def test_wrong_write_key_is_rejected(stack):
    from segment.analytics import Client
    from segment.analytics.request import APIError

    client = Client(write_key="wk_wrong", host=stack.api_url, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as rejected:
        client.track("u2", "Product Viewed", {"product_id": "p1"})

    assert rejected.value.status == 401
    stack.drain()
    assert stack.clients.table("events").scan()["Items"] == []
