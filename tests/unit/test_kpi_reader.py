"""The DynamoDB reader and the nightly report handler against moto tables built from TABLES."""

from datetime import UTC, datetime, timedelta

import pytest

from kaeri import clock
from kaeri.analytics.reader import KpiReader
from kaeri.analytics.summary import compute, to_json
from kaeri.clock import iso
from kaeri.events import StoredEvent
from kaeri.scenarios.model import Goal
from kaeri.scenarios.store import ScenarioStore
from kaeri_ops.scenarios.presets import preset

SHOP = "shop-a"
T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


def put_event(aws, shop, mid, name, when, user, **properties):
    event = StoredEvent(
        shop_id=shop,
        message_id=mid,
        type="track",
        event=name,
        user_id=user,
        properties=properties,
        timestamp=when,
        received_at=when,
    )
    aws.table("events").put_item(Item=event.to_item())


def put_message(aws, shop, mid, user, scenario, status="sent", channel="email", **extra):
    item = {
        "pk": f"{shop}#{mid}",
        "shop_id": shop,
        "message_id": mid,
        "customer_id": user,
        "customer_key": f"{shop}#{user}",
        "scenario_id": scenario,
        "scenario_version": 1,
        "step_id": "s1",
        "status": status,
        "channel": channel,
        "created_at": iso(T0),
        "sent_at": iso(T0),
        **extra,
    }
    aws.table("messages").put_item(Item=item)


def put_journey(aws, shop, user, scenario, holdout):
    aws.table("journeys").put_item(
        Item={
            "pk": f"{shop}#{user}",
            "sk": f"{scenario}#k",
            "scenario_key": f"{shop}#{scenario}",
            "shop_id": shop,
            "customer_id": user,
            "scenario_id": scenario,
            "journey_id": f"j-{user}",
            "entered_at": iso(T0),
            "holdout": holdout,
            "status": "done",
        }
    )


@pytest.fixture
def seeded(aws):
    product = {"product_id": "p1", "category": "tea", "price": 1200, "quantity": 2}
    put_event(
        aws,
        SHOP,
        "o1",
        "Order Completed",
        T0 - timedelta(days=30),
        "u1",
        order_id="A1",
        total=2400,
        products=[product],
    )
    put_event(aws, SHOP, "o2", "Order Completed", T0 + timedelta(days=2), "u1", order_id="A2", total=1000.5)
    put_event(aws, SHOP, "o3", "Order Completed", T0 + timedelta(days=1), "u2", order_id="A3", total=500)
    put_event(aws, SHOP, "c3", "Order Cancelled", T0 + timedelta(days=1, hours=1), "u2", order_id="A3")
    put_event(aws, SHOP, "e1", "Email Delivered", T0 + timedelta(minutes=1), "u1", message_id="m1")
    put_event(aws, SHOP, "e2", "Email Opened", T0 + timedelta(hours=1), "u1", message_id="m1")
    put_event(aws, SHOP, "e3", "Email Link Clicked", T0 + timedelta(hours=1), "u1", message_id="m1")
    put_event(aws, "shop-b", "x1", "Order Completed", T0, "u9", order_id="B1", total=99999)
    put_message(aws, SHOP, "m1", "u1", "winback")
    put_message(aws, SHOP, "m2", "u3", "winback", status="skipped", channel=None, skip_reason="no_consent")
    put_message(aws, "shop-b", "m9", "u9", "winback")
    put_journey(aws, SHOP, "u1", "winback", False)
    put_journey(aws, SHOP, "u3", "winback", False)
    put_journey(aws, SHOP, "u4", "winback", True)
    winback = preset("winback")
    ScenarioStore(aws).push(SHOP, winback.model_copy(update={"goal": Goal(attribution_days=3)}))
    aws.table("config").put_item(Item={"pk": f"SHOP#{SHOP}", "sk": "META", "shop_id": SHOP})
    return aws


def test_reader_builds_the_dataset_of_one_shop(seeded):
    data = KpiReader(seeded).read(SHOP, since=T0 - timedelta(days=60), until=T0 + timedelta(days=10))
    assert sorted(o.order_id for o in data.valid_orders()) == ["A1", "A2"]  # A3 cancelled, B1 other shop
    assert data.orders[0].lines == (("tea", 2400.0),)
    assert {m.message_id for m in data.messages} == {"m1", "m2"}
    assert data.goals["winback"].window == timedelta(days=3)
    kpis = to_json(compute(data))
    winback = kpis["scenarios"]["winback"]
    assert (winback["entered"], winback["holdout"], winback["sent"]) == (3, 1, 1)
    assert (winback["delivered"], winback["opened"], winback["clicked"], winback["converted"]) == (1, 1, 1, 1)
    assert winback["revenue"] == pytest.approx(1000.5)
    assert winback["skipped_by_reason"] == {"no_consent": 1}
    assert kpis["orders"] == 2


def test_nightly_handler_writes_the_report_to_s3(seeded, monkeypatch):
    import report_nightly

    from kaeri.settings import get_settings

    seeded.s3.create_bucket(
        Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    monkeypatch.setenv("KAERI_REPORT_BUCKET", "reports")
    get_settings.cache_clear()
    previous = clock.use(clock.ManualClock(T0 + timedelta(days=10)))
    try:
        with report_nightly.wired.use(seeded):
            result = report_nightly.handler({}, FakeContext())
    finally:
        clock.use(previous)
        get_settings.cache_clear()
    assert f"reports/{SHOP}/latest.html" in result["written"]
    body = seeded.s3.get_object(Bucket="reports", Key=f"reports/{SHOP}/latest.html")["Body"].read().decode()
    assert body.startswith("<!doctype html>") and "winback" in body


class FakeContext:
    function_name = "report-nightly"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-northeast-1:000000000000:function:report-nightly"
    aws_request_id = "req-1"
