"""The nightly recommend job against moto: archived events and profiles in, RECS items and predictions out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from kaeri.archive.rows import event_row
from kaeri.events import StoredEvent
from kaeri.predictions import store
from kaeri.profiles.model import Predictions
from kaeri_ops.local.parquet import ParquetArchive

NOW = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)
SHOP = "shop1"


def _event(i: int, user: str, name: str, props: dict, days_ago: float) -> StoredEvent:
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
    )


class _Archive:
    """The events as the archive holds them (what the stream delivers to Firehose / the local archiver)."""

    def __init__(self, root) -> None:
        self.store = ParquetArchive(root)

    def put_item(self, Item: StoredEvent) -> None:  # noqa: N803 (same call as the table's)
        self.store.write("events", [event_row(Item)])


@pytest.fixture
def archived(aws, tmp_path):
    """The moto clients with a local event archive configured (DuckDB over Parquet)."""
    from kaeri.aws import AwsClients

    return AwsClients(aws.settings.model_copy(update={"archive_path": str(tmp_path / "archive")}))


def _seed(aws) -> None:
    events = _Archive(aws.settings.archive_path)
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


def test_nightly_writes_recommendations_and_predictions(archived):
    from kaeri.predictions import nightly

    aws = archived
    _seed(aws)
    result = nightly.run_shop(aws, SHOP, nightly.NightlyConfig(history_days=30), now=NOW)
    # 8 buyers x (tent, bag) + fresh: viewed tent, bought mug; three queries each read the 10 rows.
    assert result.aggregate_rows == 18
    assert result.rows_scanned == 3 * 10
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


def test_handler_fans_out_one_run_per_shop_then_runs_the_shop_it_is_given(archived):
    import json

    import recommend_nightly

    from kaeri import clock
    from kaeri.aws import AwsClients

    invoked: list[dict] = []

    class Lambda:
        def invoke(self, FunctionName, InvocationType, Payload):  # noqa: N803 (boto3's names)
            invoked.append({"to": FunctionName, "type": InvocationType, **json.loads(Payload)})

    class Clients(AwsClients):
        def client(self, service):
            return Lambda() if service == "lambda" else super().client(service)

    aws = Clients(archived.settings)
    _seed(aws)
    aws.table("config").put_item(Item={"pk": "SHOP#shop2", "sk": "META"})
    previous = clock.use(clock.ManualClock(NOW))
    context = SimpleNamespace(
        function_name="recommend",
        memory_limit_in_mb=1024,
        aws_request_id="r1",
        invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:recommend",
    )
    try:
        with recommend_nightly.wired.use(aws):
            fanned = recommend_nightly.handler({"history_days": 30}, context)
            assert fanned["fanned_out"] is True
            assert invoked == [
                {"to": context.invoked_function_arn, "type": "Event", "history_days": 30, "shop_id": s}
                for s in (SHOP, "shop2")
            ]
            assert store.get_recommendations(aws, SHOP, "fresh", 3) == []  # nothing computed by the fan-out
            out = recommend_nightly.handler(invoked[0] | {"to": None}, context)
    finally:
        clock.use(previous)
    assert [s["shop_id"] for s in out["shops"]] == [SHOP]
    assert out["shops"][0]["customers_with_recs"] >= 9
