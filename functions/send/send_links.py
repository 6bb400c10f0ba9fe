"""Public link routes: GET/POST /v1/u/{token} (unsubscribe, RFC 8058 one-click), GET /v1/r/{token}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri.aws import AwsClients
from kaeri.delivery.compliance import Compliance
from kaeri.delivery.link_actions import InvalidToken, LinkActions
from kaeri.delivery.links import LinkSigner, stack_signing_secret
from kaeri.delivery.service import dynamo_profile_loader
from kaeri.pii import MaskingFormatter
from kaeri.shops import get_shop
from kaeri.tracing import tracer
from kaeri.wiring import once

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
app = APIGatewayRestResolver()
_HTML = "text/html; charset=utf-8"


def _wire(clients: AwsClients) -> LinkActions:
    return LinkActions(
        LinkSigner(stack_signing_secret(clients), clients.settings.public_api_url),
        Compliance.of(clients),
        clients.table("events"),
        dynamo_profile_loader(clients),
        lambda shop_id: get_shop(clients, shop_id),
    )


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm


@app.exception_handler(InvalidToken)
def _invalid(exc: InvalidToken) -> Response:
    logger.warning("invalid link token", extra={"reason": str(exc)})
    return Response(status_code=404, content_type=content_types.TEXT_PLAIN, body="This link is not valid.")


@app.get("/v1/u/<token>")
def unsubscribe_page(token: str) -> Response:
    return Response(
        status_code=200,
        content_type=_HTML,
        body=wired().unsubscribe_page(token),
        headers={"Cache-Control": "no-store"},
    )


@app.post("/v1/u/<token>")
def unsubscribe(token: str) -> Response:
    claim = wired().unsubscribe(token)
    logger.info("unsubscribed", extra={"shop_id": claim.shop_id, "channel": claim.channel})
    return Response(
        status_code=200,
        content_type=_HTML,
        body=wired().done_page(claim),
        headers={"Cache-Control": "no-store"},
    )


@app.get("/v1/r/<token>")
def redirect(token: str) -> Response:
    claim = wired().click(token, app.current_event.headers.get("User-Agent"))
    return Response(
        status_code=302,
        content_type=content_types.TEXT_PLAIN,
        body="",
        headers={"Location": claim.url, "Cache-Control": "no-store"},
    )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
