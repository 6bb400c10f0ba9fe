"""The cost model's arithmetic on a tiny mix one can check by hand."""

from __future__ import annotations

import math

import pytest

from kaeri_ops.cost.model import (
    SECONDS_PER_MONTH,
    FunctionFigures,
    Mix,
    UnitFigures,
    line_messages_jpy,
    monthly_bill,
    stream_invocations,
)
from kaeri_ops.cost.prices import load_prices

PRICES = load_prices()


def _units(**functions: FunctionFigures) -> UnitFigures:
    """A counted run: 10 customers for 30 days, 100 events in 100 requests, 10 journeys, 10 emails."""
    return UnitFigures(
        customers=10,
        days=30,
        months=1.0,
        events=100,
        api_requests=100,
        journeys=10,
        transitions=50,
        messages={"email": 10},
        functions=functions,
        deployed={"function_memory_mb": {"track-api": 1024, "send-message": 512}},
    )


# No cold starts, no waiting on AWS, no clicks or feedback: only what a test puts in.
QUIET = Mix(
    carts_per_customer_month=0,
    other_journeys_per_customer_month=1,
    messages_per_journey=1,
    channel_share={"email": 1.0},
    feedback_events_per_email=0,
    clicks_per_message=0,
    cold_start_share=0,
    call_latency_ms={"default": 0, "line": 0},
    platform_log_bytes_per_invocation=0,
    api_access_log_bytes=0,
    sfn_log_bytes_per_transition=0,
)


def _line(bill, service: str, item: str):
    (found,) = [x for x in bill.lines if x.service == service and x.item == item]
    return found


def test_per_unit_figures_scale_with_their_driver():
    units = _units(
        **{
            "track-api": FunctionFigures(invocations=100, wru=300),  # 3 WRU per request
            "evaluate-stream": FunctionFigures(invocations=5, records=100, wru=200),  # 2 per event
            "send-message": FunctionFigures(invocations=10, rru=15),  # 1.5 RRU per message
        }
    )
    bill = monthly_bill(1_000, 10_000, units, PRICES, QUIET)
    # 1,000 customers, 1 journey each, 1 email each; 10,000 events in 10,000 requests
    assert bill.volumes["journey"] == 1_000
    assert bill.volumes["message"] == 1_000
    assert _line(bill, "API Gateway", "REST requests").quantity == 10_000
    assert _line(bill, "DynamoDB", "write request units").quantity == pytest.approx(3 * 10_000 + 2 * 10_000)
    assert _line(bill, "DynamoDB", "read request units").quantity == pytest.approx(1.5 * 1_000)
    assert _line(bill, "Step Functions", "state transitions").quantity == pytest.approx(5 * 1_000)
    ses = _line(bill, "SES", "emails")
    assert ses.quantity == pytest.approx(1_000)
    assert ses.usd == pytest.approx(1_000 * 0.10 / 1_000)
    assert _line(bill, "Step Functions", "state transitions").usd == pytest.approx(5_000 * 0.025 / 1_000)
    assert _line(bill, "DynamoDB", "write request units").usd == pytest.approx(
        50_000 * PRICES.usd("dynamodb_wru")
    )
    assert bill.total == pytest.approx(sum(x.usd for x in bill.lines))
    assert bill.usd_per_1000_customers == pytest.approx(bill.total)


def test_lambda_duration_is_cpu_scaled_by_memory_plus_time_waiting_on_aws():
    units = _units(
        **{
            # 100 requests used 2 s of CPU and made 300 DynamoDB calls: 20 ms CPU + 3 calls each
            "track-api": FunctionFigures(
                invocations=100, cpu_seconds=2.0, aws_calls={"dynamodb:PutItem": 300}
            ),
        }
    )
    mix = QUIET.model_copy(update={"call_latency_ms": {"dynamodb": 10, "default": 0, "line": 0}})
    bill = monthly_bill(1_000, 10_000, units, PRICES, mix)
    # per request: 20 ms x 1769/1024 (1 GB has 1024/1769 of a vCPU) + 3 x 10 ms
    ms = 20 * 1769 / 1024 + 30
    gb_seconds = 10_000 * ms / 1000 * 1024 / 1024
    duration = _line(bill, "Lambda", "duration (arm64)")
    assert duration.quantity == pytest.approx(gb_seconds)
    assert duration.usd == pytest.approx(gb_seconds * PRICES.usd("lambda_arm_gb_second"))
    requests = _line(bill, "Lambda", "requests")
    assert requests.quantity == pytest.approx(10_000)  # no archive records in this run: no transform


def test_stream_batches_follow_the_traffic():
    assert stream_invocations(0, Mix()) == 0
    # a trickle: almost every event gets a window of its own
    assert stream_invocations(1_000, Mix()) == pytest.approx(1_000, rel=0.01)
    # 200 events a second: windows are full, 100 records per invocation
    heavy = 200 * SECONDS_PER_MONTH
    assert stream_invocations(heavy, Mix()) == pytest.approx(heavy / 100)
    # one event a second on average: 1 - 1/e of the windows are busy
    assert stream_invocations(SECONDS_PER_MONTH, Mix()) == pytest.approx(
        SECONDS_PER_MONTH * (1 - math.exp(-1))
    )


def test_line_is_the_cheapest_plan_that_carries_the_month():
    assert line_messages_jpy(0, PRICES) == 0
    assert line_messages_jpy(150, PRICES) == 0  # free plan: 200 messages
    assert line_messages_jpy(4_000, PRICES) == 5_000  # Light
    assert line_messages_jpy(40_000, PRICES) == 15_000 + 10_000 * 3.0  # Standard + extras
    # beyond 100,000 the last confirmed tier's price applies (an upper bound)
    assert line_messages_jpy(120_000, PRICES) == 15_000 + 20_000 * 3.0 + 50_000 * 2.8 + 20_000 * 2.8


def test_fixed_resources_come_from_the_deployed_template():
    units = _units()
    units.deployed.update({"alarms": 17, "kms_keys": 3, "dashboards": 1, "secrets": 1})
    bill = monthly_bill(10, 100, units, PRICES, QUIET)
    assert _line(bill, "CloudWatch", "alarms").usd == pytest.approx(17 * PRICES.usd("cloudwatch_alarm_month"))
    assert _line(bill, "KMS", "customer managed keys").usd == pytest.approx(3 * 1.00)
    assert _line(bill, "CloudWatch", "dashboards").usd == pytest.approx(3.00)


def test_bad_mix_values_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="cart_abandon_share"):
        Mix(cart_abandon_share=1.5)
