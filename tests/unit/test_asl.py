"""The local ASL interpreter on small hand-written state machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kaeri.clock import ManualClock
from kaeri_ops.local.asl import (
    AslError,
    DefinitionError,
    Interpreter,
    evaluate_rule,
    get_path,
    render,
    set_path,
)

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
FN = "arn:aws:lambda:ap-northeast-1:000000000000:function:kaeri-journey-step"


class Functions:
    """Records calls; `behaviour` maps a function ARN to a callable or a list of outcomes."""

    def __init__(self, **behaviour):
        self.calls: list[tuple[str, object]] = []
        self.behaviour = behaviour

    def __call__(self, function, payload):
        self.calls.append((function, payload))
        outcome = self.behaviour.get(function.rsplit("-", 1)[-1], lambda p: {"ok": True, "got": p})
        if isinstance(outcome, list):
            outcome = outcome.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome(payload) if callable(outcome) else outcome


def machine(states, start=None):
    return {"StartAt": start or next(iter(states)), "States": states}


def test_task_lambda_invoke_then_wait_parks_and_resumes_on_the_clock():
    clock = ManualClock(T0)
    fns = Functions(step=lambda p: {"wait_seconds": 3600, "customer": p["customer"]})
    asl = machine(
        {
            "Check": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": FN.replace("journey-step", "step"), "Payload.$": "$"},
                "ResultSelector": {"decision.$": "$.Payload"},
                "ResultPath": "$.check",
                "Next": "Wait",
            },
            "Wait": {"Type": "Wait", "SecondsPath": "$.check.decision.wait_seconds", "Next": "Send"},
            "Send": {
                "Type": "Task",
                "Resource": FN.replace("journey-step", "send"),
                "InputPath": "$.check",
                "End": True,
            },
        }
    )
    interpreter = Interpreter(asl, fns, clock.now)

    execution = interpreter.start({"customer": "u1"}, name="j1")

    assert execution.status == "WAITING" and execution.wake_at == T0 + timedelta(hours=1)
    assert fns.calls == [(FN.replace("journey-step", "step"), {"customer": "u1"})]
    clock.advance(timedelta(minutes=59))
    assert interpreter.resume(execution).status == "WAITING"
    clock.advance(timedelta(minutes=1))
    interpreter.resume(execution)
    assert execution.status == "SUCCEEDED"
    assert fns.calls[-1][1] == {"decision": {"wait_seconds": 3600, "customer": "u1"}}
    assert execution.output["got"] == {"decision": {"wait_seconds": 3600, "customer": "u1"}}
    assert execution.history == ["Check", "Wait", "Send"]


def test_wait_timestamp_in_the_past_continues_at_once():
    clock = ManualClock(T0)
    asl = machine(
        {
            "W": {"Type": "Wait", "TimestampPath": "$.at", "Next": "P"},
            "P": {"Type": "Pass", "Result": {"done": True}, "ResultPath": "$.r", "End": True},
        }
    )
    execution = Interpreter(asl, Functions(), clock.now).start({"at": "2025-01-01T00:00:00Z"})
    assert execution.status == "SUCCEEDED" and execution.output == {
        "at": "2025-01-01T00:00:00Z",
        "r": {"done": True},
    }


def test_wait_timestamp_literal_and_seconds():
    clock = ManualClock(T0)
    asl = machine(
        {
            "A": {"Type": "Wait", "Timestamp": "2025-01-07T00:00:00Z", "Next": "B"},
            "B": {"Type": "Wait", "Seconds": 60, "Next": "C"},
            "C": {"Type": "Succeed"},
        }
    )
    interpreter = Interpreter(asl, Functions(), clock.now)
    execution = interpreter.start({})
    assert execution.wake_at == datetime(2025, 1, 7, tzinfo=UTC)
    clock.set(datetime(2025, 1, 7, tzinfo=UTC))
    interpreter.resume(execution)
    assert execution.status == "WAITING" and execution.wake_at == datetime(2025, 1, 7, 0, 1, tzinfo=UTC)
    clock.advance(timedelta(minutes=5))
    assert interpreter.resume(execution).status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"action": "send", "n": 3}, "Send"),
        ({"action": "skip", "n": 3}, "Skip"),
        ({"action": "send", "n": 0}, "Other"),
        ({"n": 3}, "Other"),
    ],
)
def test_choice_routes_on_rules(data, expected):
    asl = machine(
        {
            "Decide": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.action", "IsPresent": True},
                            {"Variable": "$.action", "StringEquals": "send"},
                            {"Variable": "$.n", "NumericGreaterThan": 0},
                        ],
                        "Next": "Send",
                    },
                    {"Not": {"Variable": "$.action", "StringEquals": "send"}, "Next": "Skip"},
                ],
                "Default": "Other",
            },
            "Send": {"Type": "Succeed"},
            "Skip": {"Type": "Succeed"},
            "Other": {"Type": "Succeed"},
        }
    )
    # $.action missing: IsPresent guards the And; the Not rule would fail on a missing path,
    # so the data without an action only reaches Other via an Or-free path.
    if "action" not in data:
        asl["States"]["Decide"]["Choices"][1] = {
            "And": [
                {"Variable": "$.action", "IsPresent": True},
                {"Not": {"Variable": "$.action", "StringEquals": "send"}},
            ],
            "Next": "Skip",
        }
    execution = Interpreter(asl, Functions(), lambda: T0).start(data)
    assert execution.history[-1] == expected


def test_choice_rule_comparisons():
    data = {
        "s": "b",
        "n": 2,
        "t": "2025-01-06T09:00:00Z",
        "b": True,
        "other": "c",
        "none": None,
        "mail": "a*b@x",
    }
    assert evaluate_rule({"Variable": "$.s", "StringLessThanPath": "$.other"}, data)
    assert evaluate_rule({"Variable": "$.n", "NumericLessThanEquals": 2}, data)
    assert not evaluate_rule(
        {"Variable": "$.s", "NumericEquals": 2}, data
    )  # wrong type is false, not an error
    assert evaluate_rule({"Variable": "$.t", "TimestampLessThanEquals": "2025-01-06T09:00:00+00:00"}, data)
    assert evaluate_rule({"Variable": "$.t", "TimestampGreaterThan": "2025-01-06T08:59:59Z"}, data)
    assert evaluate_rule({"Variable": "$.b", "BooleanEquals": True}, data)
    assert evaluate_rule({"Variable": "$.none", "IsNull": True}, data)
    assert evaluate_rule({"Variable": "$.missing", "IsPresent": False}, data)
    assert evaluate_rule({"Variable": "$.s", "StringMatches": "*"}, data)
    assert evaluate_rule({"Variable": "$.mail", "StringMatches": "a\\*b@*"}, data)
    assert not evaluate_rule({"Variable": "$.mail", "StringMatches": "ab*"}, data)
    assert evaluate_rule(
        {"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.n", "NumericEquals": 2}]}, data
    )
    with pytest.raises(AslError) as error:
        evaluate_rule({"Variable": "$.missing", "StringEquals": "x"}, data)
    assert error.value.error == "States.Runtime"


def test_retry_then_catch_routes_the_error():
    fns = Functions(step=[RuntimeError("flaky"), RuntimeError("flaky"), RuntimeError("still")])
    asl = machine(
        {
            "Check": {
                "Type": "Task",
                "Resource": FN.replace("journey-step", "step"),
                "Retry": [
                    {
                        "ErrorEquals": ["RuntimeError"],
                        "IntervalSeconds": 60,
                        "MaxAttempts": 2,
                        "BackoffRate": 2,
                    }
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Pass", "End": True},
        }
    )
    execution = Interpreter(asl, fns, lambda: T0).start({"x": 1})
    assert len(fns.calls) == 3  # first try plus two retries, at once under the local clock
    assert execution.status == "SUCCEEDED"
    assert execution.output["x"] == 1 and execution.output["error"]["Error"] == "RuntimeError"
    assert "still" in execution.output["error"]["Cause"]


def test_retry_succeeds_and_task_failed_matches_function_errors():
    fns = Functions(step=[ValueError("once"), {"fine": True}])
    asl = machine(
        {
            "T": {
                "Type": "Task",
                "Resource": FN,
                "Retry": [{"ErrorEquals": ["States.TaskFailed"]}],
                "End": True,
            }
        }
    )
    asl["States"]["T"]["Resource"] = FN.replace("journey-step", "step")
    assert Interpreter(asl, fns, lambda: T0).start({}).output == {"fine": True}


def test_uncaught_error_and_fail_state_fail_the_execution():
    fns = Functions(step=KeyError("nope"))
    asl = machine({"T": {"Type": "Task", "Resource": FN.replace("journey-step", "step"), "End": True}})
    failed = Interpreter(asl, fns, lambda: T0).start({})
    assert failed.status == "FAILED" and failed.error == "KeyError"

    asl = machine({"F": {"Type": "Fail", "Error": "Journey.Exited", "Cause": "ordered"}})
    failed = Interpreter(asl, fns, lambda: T0).start({})
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "Journey.Exited", "ordered")


def test_paths_context_object_and_intrinsics():
    asl = machine(
        {
            "P": {
                "Type": "Pass",
                "InputPath": "$.journey",
                "Parameters": {
                    "id.$": "$$.Execution.Name",
                    "started.$": "$$.Execution.StartTime",
                    "label.$": "States.Format('{} for {}', $.scenario, $.customer)",
                    "items.$": "States.Array($.customer, 1)",
                    "fixed": {"a": 1},
                },
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "End": True,
            }
        }
    )
    execution = Interpreter(asl, Functions(), lambda: T0).start(
        {"journey": {"scenario": "cart-abandonment", "customer": "u1"}}, name="exec-1"
    )
    assert execution.output == {
        "id": "exec-1",
        "started": "2025-01-06T09:00:00.000Z",
        "label": "cart-abandonment for u1",
        "items": ["u1", 1],
        "fixed": {"a": 1},
    }


def test_map_and_parallel_run_their_branches():
    fns = Functions(step=lambda p: p["n"] * 10)
    task = {"Type": "Task", "Resource": FN.replace("journey-step", "step"), "End": True}
    asl = machine(
        {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
                "ItemProcessor": machine({"T": task}),
                "ResultPath": "$.mapped",
                "Next": "Par",
            },
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    machine({"A": {"Type": "Pass", "Result": 1, "End": True}}),
                    machine({"B": {"Type": "Pass", "Result": 2, "End": True}}),
                ],
                "ResultPath": "$.both",
                "End": True,
            },
        }
    )
    execution = Interpreter(asl, fns, lambda: T0).start({"items": [1, 2, 3]})
    assert execution.output == {"items": [1, 2, 3], "mapped": [10, 20, 30], "both": [1, 2]}


def test_helpers_and_definition_errors():
    assert get_path({"a": [{"b": 1}]}, "$.a[0].b") == 1
    assert get_path({}, "$$.Execution.Id", {"Execution": {"Id": "x"}}) == "x"
    assert set_path({"a": 1}, "$.b.c", 2) == {"a": 1, "b": {"c": 2}}
    assert render({"x.$": "$.a", "y": "$.a"}, {"a": 5}, {}) == {"x": 5, "y": "$.a"}
    with pytest.raises(DefinitionError, match="unknown state"):
        Interpreter(machine({"A": {"Type": "Pass", "Next": "Nowhere"}}), Functions(), lambda: T0)
    with pytest.raises(AslError):
        get_path({"a": 1}, "$.b")
