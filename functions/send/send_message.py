"""Step Functions Task: deliver one SendRequest, return its SendResult.

Raises SendRetryable / SendInProgress when the message was certainly not sent this time; the state
machine retries those (the message id makes every retry the same message).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri.aws import AwsClients
from kaeri.delivery.service import Delivery, SendRequest
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
metrics = Metrics()


def _wire(clients: AwsClients) -> Delivery:
    return Delivery.from_clients(clients)


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = SendRequest.model_validate(event)
    logger.append_keys(shop_id=request.shop_id, message_id=request.message_id)
    result = wired().send(request)
    metrics.add_dimension(name="shop_id", value=request.shop_id)
    metrics.add_metric(name=f"Messages_{result.status}", unit=MetricUnit.Count, value=1)
    if result.skip_reason:
        metrics.add_metadata(key="skip_reason", value=result.skip_reason)
    logger.info(
        "send", extra={"status": result.status, "channel": result.channel, "skip_reason": result.skip_reason}
    )
    return result.model_dump(mode="json")
