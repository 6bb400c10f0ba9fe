"""The journey ASL: run by the local interpreter, both as built and as CDK synthesizes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kaeri.clock import ManualClock, iso
from kaeri_ops.definitions.state_machine import build_definition
from kaeri_ops.local.asl import Interpreter
from tests.infra.conftest import synth  # noqa: F401  (session fixture: the synthesized template)

START = datetime(2026, 6, 1, tzinfo=UTC)
STATES_USED = {"Task", "Wait", "Choice", "Succeed", "Fail"}


class FakeFunctions:
    """evaluate-step walks: wait 1 h -> send -> end; send answers a SendResult."""

    def __init__(self, clock: ManualClock, step_arn: str, send_arn: str, fail_first: int = 0) -> None:
        self.clock, self.step_arn, self.send_arn = clock, step_arn, send_arn
        self.calls: list[tuple[str, Any]] = []
        self.fail_first = fail_first

    def __call__(self, arn: str, payload: Any) -> Any:
        self.calls.append((arn, payload))
        if arn == self.send_arn:
            return {"message_id": payload["message_id"], "status": "sent", "channel": "email"}
        assert arn == self.step_arn, arn
        if self.fail_first:
            self.fail_first -= 1
            from kaeri_ops.local.asl import AslError

            raise AslError("Lambda.ServiceException", "transient")
        step = payload["step_index"]
        base = {k: payload[k] for k in ("journey_id", "shop_id")}
        if step == 0:
            return {
                **base,
                "action": "wait",
                "step_index": 1,
                "due_at": iso(self.clock.now() + timedelta(hours=1)),
            }
        if step == 1:
            request = {
                "message_id": f"{payload['journey_id']}:mail",
                "template_id": "t",
                "channels": ["email"],
            }
            return {
                **base,
                "action": "send",
                "step_index": 2,
                "due_at": iso(self.clock.now()),
                "request": request,
            }
        return {**base, "action": "end"}


def run(definition: dict, step_arn: str, send_arn: str, fail_first: int = 0):
    clock = ManualClock(START)
    functions = FakeFunctions(clock, step_arn, send_arn, fail_first)
    interpreter = Interpreter(definition, functions, clock.now)
    execution = interpreter.start(
        {"journey_id": "j-1", "shop_id": "s", "step_index": 0, "due_at": iso(START)}, "j-1"
    )
    assert execution.status == "WAITING" and execution.wake_at == START + timedelta(hours=1)
    clock.advance(timedelta(hours=1))
    interpreter.resume(execution)
    return execution, functions


def test_wait_check_send_check_end():
    definition = build_definition({"evaluate-step": "arn:step", "send-message": "arn:send"})
    assert {s["Type"] for s in definition["States"].values()} <= STATES_USED
    execution, functions = run(definition, "arn:step", "arn:send")
    assert execution.status == "SUCCEEDED", execution.cause
    assert [arn for arn, _ in functions.calls] == ["arn:step", "arn:step", "arn:send", "arn:step"]
    sent_payload = functions.calls[2][1]
    assert sent_payload["message_id"] == "j-1:mail"  # the send function gets exactly the SendRequest
    assert (
        "last_send" not in functions.calls[3][1]
        or functions.calls[3][1]["last_send"]["result"]["status"] == "sent"
    )


def test_transient_lambda_errors_are_retried():
    definition = build_definition({"evaluate-step": "arn:step", "send-message": "arn:send"})
    execution, functions = run(definition, "arn:step", "arn:send", fail_first=2)
    assert execution.status == "SUCCEEDED"


def test_persistent_failure_ends_in_the_failure_state():
    definition = build_definition({"evaluate-step": "arn:step", "send-message": "arn:send"})
    clock = ManualClock(START)

    def broken(arn: str, payload: Any) -> Any:
        raise RuntimeError("boom")

    execution = Interpreter(definition, broken, clock.now).start({"due_at": iso(START)}, "j-2")
    assert execution.status == "FAILED" and execution.error == "JourneyFailed"


def _resolve(value: Any, arns: dict[str, str]) -> Any:
    """CloudFormation intrinsics in the DefinitionString to plain text (fake ARNs per logical id)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve(p, arns) for p in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical = value["Fn::GetAtt"][0]
        return arns.setdefault(logical, f"arn:aws:lambda:local:0:function:{logical}")
    if isinstance(value, dict) and "Ref" in value:
        return {"AWS::Partition": "aws", "AWS::Region": "ap-northeast-1", "AWS::AccountId": "0"}.get(
            value["Ref"], arns.setdefault(value["Ref"], f"arn:aws:lambda:local:0:function:{value['Ref']}")
        )
    raise AssertionError(f"unexpected intrinsic {value}")


@pytest.mark.slow
def test_the_synthesized_state_machine_runs_the_same_journey(synth):  # noqa: F811
    import json

    machines = synth.resources("AWS::StepFunctions::StateMachine")
    assert len(machines) == 1
    [machine] = machines.values()
    arns: dict[str, str] = {}
    definition = json.loads(_resolve(machine["Properties"]["DefinitionString"], arns))
    assert (
        definition["States"].keys()
        == build_definition({"evaluate-step": "a", "send-message": "b"})["States"].keys()
    )
    step_arn = definition["States"]["Check"]["Parameters"]["FunctionName"]
    send_arn = definition["States"]["Send"]["Parameters"]["FunctionName"]
    assert "evaluatestep" in step_arn.lower().replace("-", "") and step_arn != send_arn
    execution, functions = run(definition, step_arn, send_arn)
    assert execution.status == "SUCCEEDED", execution.cause
    assert [arn for arn, _ in functions.calls] == [step_arn, step_arn, send_arn, step_arn]
