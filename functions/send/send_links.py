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

logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
app = APIGatewayRestResolver()
_actions: LinkActions | None = None
_HTML = "text/html; charset=utf-8"


def actions() -> LinkActions:
    global _actions
    if _actions is None:
        c = AwsClients()
        s = c.settings
        secret = stack_signing_secret(c)
        _actions = LinkActions(
            LinkSigner(secret, s.public_api_url),
            Compliance.of(c),
            c.table("events"),
            dynamo_profile_loader(c),
            lambda shop_id: get_shop(c, shop_id),
        )
    return _actions


@app.exception_handler(InvalidToken)
def _invalid(exc: InvalidToken) -> Response:
    logger.warning("invalid link token", extra={"reason": str(exc)})
    return Response(status_code=404, content_type=content_types.TEXT_PLAIN, body="This link is not valid.")


@app.get("/v1/u/<token>")
def unsubscribe_page(token: str) -> Response:
    return Response(
        status_code=200,
        content_type=_HTML,
        body=actions().unsubscribe_page(token),
        headers={"Cache-Control": "no-store"},
    )


@app.post("/v1/u/<token>")
def unsubscribe(token: str) -> Response:
    claim = actions().unsubscribe(token)
    logger.info("unsubscribed", extra={"shop_id": claim.shop_id, "channel": claim.channel})
    return Response(
        status_code=200,
        content_type=_HTML,
        body=actions().done_page(claim),
        headers={"Cache-Control": "no-store"},
    )


@app.get("/v1/r/<token>")
def redirect(token: str) -> Response:
    claim = actions().click(token, app.current_event.headers.get("User-Agent"))
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
