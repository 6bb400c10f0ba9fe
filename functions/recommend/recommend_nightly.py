"""EventBridge Scheduler (nightly) or on demand: recommendations and predictions, one shop per run.

Input {"shop_id": "..."} runs that shop (SQL over the event archive, then the recommender: memory bound
by the shop's aggregate). Input {} is the nightly fan-out: every shop in the config table is handed to
its own asynchronous invocation of this function, so shops never share one run's 15 minutes or memory
(locally, where there is no Lambda service, they run here one after the other). "history_days" narrows
the window of events read (default 365).
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from kaeri.aws import AwsClients
from kaeri.pii import MaskingFormatter
from kaeri.predictions import nightly
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(service="kaeri-recommend", logger_formatter=MaskingFormatter())


def _wire(clients: AwsClients) -> AwsClients:
    return clients


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


def _fan_out(context: Any, event: dict[str, Any]) -> Any:
    arn = getattr(context, "invoked_function_arn", None)
    if wired().settings.local or not arn:
        return None
    lambda_client = wired().client("lambda")

    def invoke(shop_id: str) -> None:
        payload = {k: v for k, v in event.items() if k == "history_days"} | {"shop_id": shop_id}
        lambda_client.invoke(FunctionName=arn, InvocationType="Event", Payload=json.dumps(payload).encode())
        logger.info("recommend nightly fanned out", extra={"shop_id": shop_id})

    return invoke


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    config = nightly.NightlyConfig(
        history_days=int(event.get("history_days") or nightly.NightlyConfig.history_days)
    )
    shop_id = event.get("shop_id") or None
    fan_out = None if shop_id else _fan_out(context, event)
    results = [r.as_dict() for r in nightly.run(wired(), shop_id, config, fan_out=fan_out)]
    for result in results:
        logger.info("recommend nightly done", extra=result)
    return {"shops": results, "fanned_out": fan_out is not None}
