"""EventBridge Scheduler target: run one scheduled scenario ({shop_id, scenario_id}) for its audience."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.journeys.schedule import run_schedule
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


@cache
def _clients() -> AwsClients:
    return AwsClients()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run_schedule(_clients(), event["shop_id"], event["scenario_id"], clock.now())
    logger.info("scheduled run", extra=asdict(result))
    return asdict(result)
