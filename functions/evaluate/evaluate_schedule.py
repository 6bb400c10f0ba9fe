"""EventBridge Scheduler target: one run of a scheduled scenario ({shop_id, scenario_id}): the customers its audience matches enter."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.journeys.schedule import run_schedule
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


def _wire(clients: AwsClients) -> AwsClients:
    return clients


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = run_schedule(wired(), event["shop_id"], event["scenario_id"], clock.now())
    logger.info("scheduled run", extra=asdict(result))
    return asdict(result)
