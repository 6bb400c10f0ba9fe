"""EventBridge Scheduler (nightly) or on demand: recommendations and predictions for one shop or all.

Input: {"shop_id": "..."} for one shop, {} for every shop in the config table; on demand,
"history_days" narrows the window of events read (default 365).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from kaeri.aws import AwsClients
from kaeri.predictions import nightly
from kaeri.tracing import tracer

logger = Logger(service="kaeri-recommend")
_clients: AwsClients | None = None


def clients() -> AwsClients:
    global _clients
    if _clients is None:
        _clients = AwsClients()
    return _clients


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    config = nightly.NightlyConfig(
        history_days=int(event.get("history_days") or nightly.NightlyConfig.history_days)
    )
    results = [r.as_dict() for r in nightly.run(clients(), event.get("shop_id") or None, config)]
    for result in results:
        logger.info("recommend nightly done", extra=result)
    return {"shops": results}
