"""Journey runtime adapters on moto: entry idempotency, holdout, schedules, fan-out, preview."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from kaeri.journeys import schedule as sched
from kaeri.journeys.store import in_holdout, journey_id
from kaeri.profiles.model import Consent, Profile
from kaeri.profiles.repository import ProfileRepository
from kaeri.scenarios.store import ScenarioStore, clear_cache
from kaeri_ops.scenarios.presets import preset

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
CONTEXT = SimpleNamespace(
    function_name="kaeri-evaluate-fanout",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:kaeri-evaluate-fanout",
    aws_request_id="req-1",
)


@pytest.fixture
def clients(aws):
    arn = aws.stepfunctions.create_state_machine(
        name="j",
        definition=json.dumps({"StartAt": "x", "States": {"x": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/j",
    )["stateMachineArn"]
    queue = aws.sqs.create_queue(QueueName="fanout")["QueueUrl"]
    clear_cache()
    yield type(aws)(
        aws.settings.model_copy(update={"journey_state_machine_arn": arn, "fanout_queue_url": queue})
    )
    clear_cache()


def test_holdout_is_deterministic_and_near_its_share():
    picks = [in_holdout("s", "cart", f"c{i}", 10) for i in range(5000)]
    assert picks == [in_holdout("s", "cart", f"c{i}", 10) for i in range(5000)]
    assert 400 < sum(picks) < 600
    assert not any(in_holdout("s", "cart", f"c{i}", 0) for i in range(100))
    assert (
        journey_id("s", "c", "cart", "m1")
        == journey_id("s", "c", "cart", "m1")
        != journey_id("s", "c", "cart", "m2")
    )


def winback_customers(clients, dormant: int, others: int) -> None:
    repo = ProfileRepository(clients)
    for i in range(dormant):
        repo.put(
            Profile(
                shop_id="s",
                customer_id=f"d{i}",
                order_count=1,
                last_order_at=NOW - timedelta(days=180, hours=1),
                consent={"email": Consent(status="granted")},
            )
        )
    for i in range(others):
        repo.put(
            Profile(shop_id="s", customer_id=f"o{i}", order_count=1, last_order_at=NOW - timedelta(days=90))
        )


@pytest.mark.slow
def test_large_audiences_fan_out_through_sqs_and_the_handler_starts_journeys(clients, monkeypatch):
    import evaluate_fanout

    store = ScenarioStore(clients)
    store.push("s", preset("winback").model_copy(update={"holdout_percent": 0}))
    store.set_enabled("s", "winback", True)
    winback_customers(clients, dormant=12, others=5)
    monkeypatch.setattr(sched, "INLINE_LIMIT", 5)
    monkeypatch.setattr(sched, "FANOUT_BATCH", 5)
    result = sched.run_schedule(clients, "s", "winback", NOW)
    assert (result.read, result.matched, result.fanned_out) == (12, 12, 3)
    messages = clients.sqs.receive_message(
        QueueUrl=clients.settings.fanout_queue_url, MaxNumberOfMessages=10
    )["Messages"]
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:ap-northeast-1:123456789012:fanout",
                "awsRegion": "ap-northeast-1",
            }
            for m in messages
        ]
    }
    from kaeri import clock

    previous = clock.use(clock.ManualClock(NOW))
    try:
        with evaluate_fanout.wired.use(clients):
            response = evaluate_fanout.handler(event, CONTEXT)
    finally:
        clock.use(previous)
    assert response == {"batchItemFailures": []}
    executions = clients.stepfunctions.list_executions(
        stateMachineArn=clients.settings.journey_state_machine_arn
    )
    assert len(executions["executions"]) == 12
    again = sched.run_schedule(clients, "s", "winback", NOW + timedelta(hours=1))  # same local day
    assert again.fanned_out == 3  # re-queued, but the journeys' conditional puts make it a no-op
    assert sched.start_many(clients, "s", store.get("s", "winback"), ["d0"], again.run_key, NOW) == {
        "duplicate": 1
    }


def test_disabled_scenarios_do_not_run(clients):
    ScenarioStore(clients).push("s", preset("winback"))
    assert sched.run_schedule(clients, "s", "winback", NOW).skipped_reason == "disabled"


def test_schedules_follow_the_scenario_state_in_its_timezone(clients):
    clients.scheduler.create_schedule_group(Name="kaeri")
    store = ScenarioStore(clients)
    stored = store.push("s", preset("points-statement"))
    name = sched.sync_schedule(clients, "s", stored)
    got = clients.scheduler.get_schedule(Name=name, GroupName="kaeri")
    assert got["ScheduleExpression"] == "cron(0 10 1 * ? *)"
    assert got["ScheduleExpressionTimezone"] == "Asia/Tokyo"
    assert got["State"] == "DISABLED"
    assert json.loads(got["Target"]["Input"]) == {"shop_id": "s", "scenario_id": "points-statement"}
    sched.sync_schedule(clients, "s", store.set_enabled("s", "points-statement", True))
    assert clients.scheduler.get_schedule(Name=name, GroupName="kaeri")["State"] == "ENABLED"
    birthday = store.push("s", preset("birthday"))
    assert (
        clients.scheduler.get_schedule(Name=sched.sync_schedule(clients, "s", birthday), GroupName="kaeri")[
            "ScheduleExpression"
        ]
        == "cron(5 0 * * ? *)"
    )
    assert sched.sync_schedule(clients, "s", store.push("s", preset("welcome"))) is None


def test_preview_explains_each_step(clients):
    from kaeri.journeys.preview import preview

    store = ScenarioStore(clients)
    store.push("s", preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
    ProfileRepository(clients).put(Profile(shop_id="s", customer_id="c1", timezone="Asia/Tokyo"))
    lines = preview(clients, "s", "cart-abandonment", "c1", NOW)
    assert lines[0].action == "end" and "cart is empty" in lines[0].why
    from kaeri.profiles.model import CartLine

    ProfileRepository(clients).put(
        Profile(shop_id="s", customer_id="c1", timezone="Asia/Tokyo", cart={"p": CartLine(product_id="p")})
    )
    lines = preview(clients, "s", "cart-abandonment", "c1", NOW)
    assert [(line.step, line.action) for line in lines] == [
        ("entry", "entry"),
        ("wait-1h", "wait"),
        ("email-reminder", "send"),
        ("wait-next-day", "wait"),
        ("line-reminder", "send"),
        ("wait-2d", "wait"),
        ("email-incentive", "send"),
    ]
    assert lines[2].at == NOW + timedelta(hours=1)
