"""Journey step check, invoked by the state machine: decide send, skip, wait or end for one journey."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from kaeri.aws import AwsClients
from kaeri.journeys.step import StepChecker
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


@cache
def _checker() -> StepChecker:
    return StepChecker(AwsClients())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(journey_id=event.get("journey_id"), scenario_id=event.get("scenario_id"))
    state = _checker().check(event)
    logger.info("journey step", extra={"action": state["action"], "step_index": state.get("step_index")})
    return state
