"""Journey step check, invoked by the state machine: decide send, skip, wait or end for one journey."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from kaeri.aws import AwsClients
from kaeri.journeys.step import StepChecker
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


def _wire(clients: AwsClients) -> StepChecker:
    return StepChecker(clients)


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(journey_id=event.get("journey_id"), scenario_id=event.get("scenario_id"))
    state = wired().check(event)
    logger.info("journey step", extra={"action": state["action"], "step_index": state.get("step_index")})
    return state
