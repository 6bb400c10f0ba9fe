"""The nightly recommend job against moto: events and profiles in, RECS items and predictions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from kaeri.events import StoredEvent
from kaeri.predictions import store
from kaeri.profiles.model import Predictions

NOW = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)
SHOP = "shop1"


def _event(i: int, user: str, name: str, props: dict, days_ago: float) -> dict:
    at = NOW - timedelta(days=days_ago)
    return StoredEvent(
        shop_id=SHOP,
        message_id=f"m{i}",
        type="track",
        event=name,
        user_id=user,
        properties=props,
        timestamp=at,
        received_at=at,
    ).to_item()


def _seed(aws) -> None:
    events = aws.table("events")
    i = 0
    for u in range(8):
        order = {
            "order_id": f"o{u}",
            "products": [
                {"product_id": "tent", "category": "outdoor", "price": 200.0},
                {"product_id": "bag", "category": "outdoor", "price": 80.0},
            ],
        }
        i += 1
        events.put_item(Item=_event(i, f"c{u}", "Order Completed", order, 10 + u))
    i += 1
    events.put_item(
        Item=_event(i, "fresh", "Product Viewed", {"product_id": "tent", "category": "outdoor"}, 1)
    )
    i += 1
    events.put_item(
        Item=_event(
            i,
            "fresh",
            "Order Completed",
            {"order_id": "f1", "products": [{"product_id": "mug", "category": "kitchen"}]},
            2,
        )
    )
    customers = aws.table("customers")
    for u in range(40):
        first = NOW - timedelta(days=300 - u)
        orders = 1 + u % 5
        last = first + timedelta(days=(u % 5) * 40)
        customers.put_item(
            Item={
                "pk": f"{SHOP}#c{u}",
                "sk": "PROFILE",
                "shop_id": SHOP,
                "customer_id": f"c{u}",
                "email": f"c{u}@example.com",
                "order_count": orders,
                "total_spent": Decimal(str(50 * orders)),
                "first_order_at": first.isoformat(),
                "last_order_at": last.isoformat(),
            }
        )
    customers.put_item(
        Item={"pk": f"{SHOP}#lead", "sk": "PROFILE", "shop_id": SHOP, "customer_id": "lead", "order_count": 0}
    )
    aws.table("config").put_item(Item={"pk": f"SHOP#{SHOP}", "sk": "META"})


def test_nightly_writes_recommendations_and_predictions(aws):
    from kaeri.predictions import nightly

    _seed(aws)
    result = nightly.run_shop(aws, SHOP, nightly.NightlyConfig(history_days=30), now=NOW)
    assert result.events_read == 10
    assert result.profiles_predicted == 40

    # Recommendations: the viewer of the tent is offered the tent and the bag that goes with it.
    recs = store.get_recommendations(aws, SHOP, "fresh", 3)
    assert {r["product_id"] for r in recs[:2]} == {"tent", "bag"}
    assert store.get_bought_together(aws, SHOP, "tent")[0]["product_id"] == "bag"
    assert store.get_popular(aws, SHOP, category="outdoor")
    # A new customer falls back to the shop's best sellers.
    assert store.get_recommendations(aws, SHOP, "stranger", 2)[0]["reason"] == "popular"

    # Predictions: SET on the profile only; other attributes stay; churn_key feeds by_churn_risk.
    item = aws.table("customers").get_item(Key={"pk": f"{SHOP}#c4", "sk": "PROFILE"})["Item"]
    assert item["email"] == "c4@example.com" and item["order_count"] == 5
    p = Predictions.model_validate(item["predictions"])
    assert 0 <= p.p_alive <= 1
    assert p.expected_orders_30d <= p.expected_orders_90d <= p.expected_orders_365d
    assert p.predicted_value_365d > 0
    assert item["churn_key"] == f"{SHOP}#{p.churn_risk}"
    lead = aws.table("customers").get_item(Key={"pk": f"{SHOP}#lead", "sk": "PROFILE"})["Item"]
    assert "predictions" not in lead
    banded = aws.table("customers").query(
        IndexName="by_churn_risk",
        KeyConditionExpression="churn_key = :k",
        ExpressionAttributeValues={":k": f"{SHOP}#{p.churn_risk}"},
    )["Items"]
    assert banded


def test_handler_runs_every_shop(aws):
    import recommend_nightly
    from kaeri import clock

    _seed(aws)
    recommend_nightly._clients = aws
    previous = clock.use(clock.ManualClock(NOW))
    context = SimpleNamespace(
        function_name="recommend",
        memory_limit_in_mb=1024,
        aws_request_id="r1",
        invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:recommend",
    )
    try:
        out = recommend_nightly.handler({"history_days": 30}, context)
    finally:
        clock.use(previous)
    assert [s["shop_id"] for s in out["shops"]] == [SHOP]
    assert out["shops"][0]["customers_with_recs"] >= 9
