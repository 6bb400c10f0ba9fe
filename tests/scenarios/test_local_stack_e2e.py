"""End to end on the local stack: HTTP tracking -> stream -> on_event -> Step Functions -> send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from kaeri.scenarios.store import ScenarioStore
from kaeri_ops.local.stack import EmbeddedStack
from kaeri_ops.scenarios.presets import preset

pytestmark = pytest.mark.slow

START = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


def post(stack, path: str, body: dict) -> None:
    response = requests.post(f"{stack.api_url}{path}", json=body, auth=(stack.write_key, ""), timeout=10)
    assert response.status_code == 200, response.text
    stack.drain()


def messages(stack, customer: str) -> list[dict]:
    return stack.clients.table("messages").query(
        IndexName="by_customer",
        KeyConditionExpression="customer_key = :k",
        ExpressionAttributeValues={":k": f"{stack.shop_id}#{customer}"},
    )["Items"]


def test_cart_abandonment_runs_on_the_local_stack_and_an_order_stops_it():
    with EmbeddedStack(clock="manual", start=START, shop_id="shop-e2e") as stack:
        store = ScenarioStore(stack.clients)
        store.push(stack.shop_id, preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
        store.set_enabled(stack.shop_id, "cart-abandonment", True)
        for user in ("abandoner", "buyer"):
            post(
                stack,
                "/v1/identify",
                {
                    "userId": user,
                    "traits": {
                        "email": f"{user}@example.com",
                        "timezone": "Asia/Tokyo",
                        "consent": {"email": "granted"},
                    },
                },
            )
            post(
                stack,
                "/v1/track",
                {
                    "userId": user,
                    "event": "Product Added",
                    "properties": {"product_id": "p1", "price": 3000, "quantity": 1},
                },
            )
        stack.advance(timedelta(minutes=30))
        post(
            stack,
            "/v1/track",
            {
                "userId": "buyer",
                "event": "Order Completed",
                "properties": {
                    "order_id": "o1",
                    "total": 3000,
                    "products": [{"product_id": "p1", "price": 3000}],
                },
            },
        )
        stack.advance(timedelta(hours=1))
        sent = [m for m in messages(stack, "abandoner") if m.get("status") != "skipped"]
        assert [m.get("template_id") for m in sent] == ["cart-abandonment-1"]
        assert [m for m in messages(stack, "buyer") if m.get("status") != "skipped"] == []
