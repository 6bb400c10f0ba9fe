"""Journeys started through Step Functions run on the local stack's clock, with the real definition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kaeri import clock
from kaeri.clock import iso, parse_iso
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack():
    with EmbeddedStack(clock="manual", start=START, shop_id="shop-j") as running:
        yield running


class FakeJourney:
    """evaluate-step and send-message stand-ins: send after 1 h, then again the next day, then done."""

    def __init__(self):
        self.sends: list[tuple[datetime, dict]] = []
        self.checks: list[datetime] = []

    def step(self, event, context):
        now = clock.now()
        self.checks.append(now)
        index = event["step_index"]
        if now < parse_iso(event["due_at"]):
            raise AssertionError("checked before due")
        if index == 0:
            return {**event, "action": "wait", "step_index": 1, "due_at": iso(now + timedelta(hours=1))}
        if index in (1, 2):
            return {**event, "action": "send", "step_index": index, "request": {"step": index}}
        return {**event, "action": "done"}

    def after_send(self, event):
        return event

    def send(self, event, context):
        self.sends.append((clock.now(), event))
        return {"status": "sent", "step": event["step"]}


def test_a_journey_waits_on_the_clock_and_finishes(stack):
    fake = FakeJourney()
    calls = {"n": 0}

    def step(event, context):
        # After a send the definition loops back to Check with $.last_send; move on one day later.
        if "last_send" in event and event.get("action") == "send":
            calls["n"] += 1
            next_index = event["step_index"] + 1
            return {
                **{k: v for k, v in event.items() if k != "last_send"},
                "action": "wait",
                "step_index": next_index,
                "due_at": iso(clock.now() + timedelta(days=1)),
            }
        return fake.step(event, context)

    stack.runner.overrides["evaluate-step"] = step
    stack.runner.overrides["send-message"] = fake.send
    started = stack.clients.stepfunctions.start_execution(
        stateMachineArn=stack.resources.state_machine_arn,
        name="j-cart-1",
        input=json.dumps(
            {"journey_id": "j-cart-1", "step_index": 0, "due_at": iso(clock.now()), "action": "start"}
        ),
    )

    stack.drain()
    assert fake.checks == [START]
    assert stack.next_due() == START + timedelta(hours=1)

    stack.advance(timedelta(minutes=30))
    assert fake.sends == []

    stack.advance(timedelta(minutes=30))
    assert [at for at, _ in fake.sends] == [START + timedelta(hours=1)]

    stack.advance(timedelta(days=2))  # stops at the second send's due time on the way
    assert [at for at, _ in fake.sends] == [START + timedelta(hours=1), START + timedelta(days=1, hours=1)]
    described = stack.clients.stepfunctions.describe_execution(executionArn=started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert stack.journeys.executions[started["executionArn"]].status == "SUCCEEDED"
    assert stack.next_due() is None


def test_a_failing_step_fails_the_execution_after_retries(stack):
    attempts = []

    def broken(event, context):
        attempts.append(event)
        raise RuntimeError("step broke")

    stack.runner.overrides["evaluate-step"] = broken
    started = stack.clients.stepfunctions.start_execution(
        stateMachineArn=stack.resources.state_machine_arn,
        name="j-broken",
        input=json.dumps({"step_index": 0, "due_at": iso(clock.now())}),
    )
    stack.drain()

    assert len(attempts) == 4  # the definition retries States.TaskFailed three times
    described = stack.clients.stepfunctions.describe_execution(executionArn=started["executionArn"])
    assert described["status"] == "FAILED"
