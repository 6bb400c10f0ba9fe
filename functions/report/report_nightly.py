"""Nightly (EventBridge Scheduler) or on demand ({"shop_id"}): each shop's KPI report (HTML) to the report bucket."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from kaeri import clock
from kaeri.analytics.publish import publish_report, shop_ids
from kaeri.aws import AwsClients
from kaeri.pii import MaskingFormatter
from kaeri.settings import get_settings
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked


def _wire(clients: AwsClients) -> AwsClients:
    return clients


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = get_settings().required("report_bucket")
    clients = wired()
    shops = [event["shop_id"]] if event.get("shop_id") else shop_ids(clients)
    written = []
    for shop in shops:
        result = publish_report(clients, bucket, shop, clock.now())
        logger.info("report written", extra={"shop_id": shop, "keys": result.keys, "bytes": result.bytes})
        written += list(result.keys)
    return {"written": written}
