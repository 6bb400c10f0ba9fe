"""SQS consumer: start journeys for one batch of the customers a large scheduled run matched (partial batch failures)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.journeys.schedule import handle_fanout_message
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
processor = BatchProcessor(event_type=EventType.SQS)


def _wire(clients: AwsClients) -> AwsClients:
    return clients


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


def record_handler(record: SQSRecord) -> dict[str, int]:
    outcomes = handle_fanout_message(wired(), json.loads(record.body), clock.now())
    logger.info("fan-out batch", extra={"message_id": record.message_id, "outcomes": outcomes})
    return outcomes


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
