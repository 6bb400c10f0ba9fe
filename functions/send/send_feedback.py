"""SES configuration-set events (via SNS, or EventBridge) into events, suppression and shop pause."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri.aws import AwsClients
from kaeri.delivery.compliance import Compliance
from kaeri.delivery.feedback import Feedback, ses_records
from kaeri.delivery.log import MessageLog
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


def _wire(clients: AwsClients) -> Feedback:
    return Feedback(MessageLog(clients.table("messages")), Compliance.of(clients), clients.table("events"))


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    handled = 0
    for record in ses_records(event):
        outcome = wired().handle(record)
        handled += 1
        logger.info("ses feedback", extra=outcome.__dict__)
    return {"handled": handled}
