"""Track API: the Segment-compatible HTTP API, the catalog feed, Shopify webhooks, recommendations.

Thin: authenticate, hand the body to kaeri.tracking, map domain errors to HTTP status in one place.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from kaeri import shops
from kaeri.aws import AwsClients, BotoCoreError, ClientError
from kaeri.pii import MaskingFormatter
from kaeri.tracing import tracer
from kaeri.tracking import wire
from kaeri.tracking.auth import authenticate, authenticate_customer, authenticate_server, basic_auth_user
from kaeri.tracking.errors import Forbidden, InvalidRequest, ItemError, Unauthorized
from kaeri.tracking.ingest import IngestService, parse_json_body
from kaeri.wiring import once

# Only the Segment routes (nearly all traffic) are imported up front; the catalog feed, Shopify
# webhooks and recommendations import their modules on first use, which keeps the cold start short.
# Query parameters are validated by kaeri.tracking.recommendations, so Powertools' OpenAPI
# validation (and its import cost on every cold start) is not needed.
logger = Logger(logger_formatter=MaskingFormatter())  # emails, phones, LINE ids, tokens masked
metrics = Metrics()
app = APIGatewayRestResolver(
    cors=CORSConfig(
        allow_origin=wire.CORS_HEADERS["Access-Control-Allow-Origin"],
        allow_headers=list(wire.CORS_ALLOW_HEADERS),
        max_age=wire.CORS_MAX_AGE,
    )
)


def _wire(clients: AwsClients) -> AwsClients:
    return clients


wired = once(_wire)  # kaeri.wiring: built on the first invocation, reused while the environment is warm
SUCCESS = {"success": True}


def _error(status: int, errors: list[ItemError], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=wire.error_body(status, errors),
        headers=headers,
    )


@app.exception_handler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> Response:
    # The messages name fields and limits; rejected values appear only as short previews.
    logger.info("rejected request", extra={"errors": [e.as_dict() for e in exc.errors[:10]]})
    return _error(400, exc.errors)


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response:
    return _error(401, [ItemError(None, "writeKey", str(exc))], {"WWW-Authenticate": 'Basic realm="kaeri"'})


@app.exception_handler(Forbidden)
def _forbidden(exc: Forbidden) -> Response:
    return _error(403, [ItemError(None, "Authorization", str(exc))])


@app.exception_handler(ClientError)
@app.exception_handler(BotoCoreError)
def _unavailable(exc: Exception) -> Response:
    """A storage failure (throttling, a timeout, an outage): retryable. Events already stored are
    recognised by messageId when the client sends the same request again."""
    logger.exception("storage failure; answered 503 so the client retries")
    message = "storage unavailable; retry the same request (events are deduplicated by messageId)"
    return _error(503, [ItemError(None, "body", message)], {"Retry-After": "1"})


@app.exception_handler(Exception)
def _internal(exc: Exception) -> Response:
    """A bug, not the client's fault: still an error body SDKs parse (and retry, as for any 5xx)."""
    logger.exception("unhandled error")
    return _error(500, [ItemError(None, "body", f"internal error ({type(exc).__name__}); retry later")])


def _raw_body() -> bytes:
    """The body as sent, with API Gateway's base64 and the Content-Encoding (gzip, deflate) undone."""
    event = app.current_event
    if event.body is None:
        return b""
    data = base64.b64decode(event.body) if event.is_base64_encoded else event.body.encode("utf-8")
    return wire.decode_body(data, wire.header(event.headers, "Content-Encoding"))


def _authenticated_body() -> tuple[str, Any, int]:
    """(shop_id, parsed JSON body, its decoded size). The write key is checked before the body is judged."""
    headers = app.current_event.headers
    if basic_auth_user(headers):
        shop_id = authenticate(wired(), headers)
        raw = _raw_body()
        return shop_id, parse_json_body(raw), len(raw)
    try:
        raw = _raw_body()
        body = parse_json_body(raw)
    except InvalidRequest:
        raise Unauthorized("missing write key: send it as the HTTP Basic user name") from None
    return authenticate(wired(), headers, body), body, len(raw)


def _segment(call_type: str | None) -> dict[str, bool]:
    shop_id, body, size = _authenticated_body()
    events = IngestService(wired()).ingest(shop_id, body, call_type=call_type, body_bytes=size)
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(events))
    return SUCCESS


@app.post("/v1/track")
def track() -> dict[str, bool]:
    return _segment("track")


@app.post("/v1/identify")
def identify() -> dict[str, bool]:
    return _segment("identify")


@app.post("/v1/page")
def page() -> dict[str, bool]:
    return _segment("page")


@app.post("/v1/screen")
def screen() -> dict[str, bool]:
    return _segment("screen")


@app.post("/v1/alias")
def alias() -> dict[str, bool]:
    return _segment("alias")


@app.post("/v1/group")
def group() -> dict[str, bool]:
    return _segment("group")


@app.post("/v1/batch")
def batch() -> dict[str, bool]:
    return _segment(None)


@app.put("/v1/catalog/products")
def catalog_products() -> dict[str, Any]:
    from kaeri.tracking.catalog import CatalogService, parse_products

    shop_id = authenticate_server(wired(), app.current_event.headers)  # the write key is public
    body = parse_json_body(_raw_body())
    result = CatalogService(wired()).upsert(shop_id, parse_products(body))
    metrics.add_metric(name="ProductsUpserted", unit=MetricUnit.Count, value=result.upserted)
    return {"success": True, **result.model_dump()}


@app.post("/v1/webhooks/shopify/<resource>/<action>")
def shopify_webhook(resource: str, action: str) -> dict[str, bool]:
    from kaeri.tracking import shopify

    event = app.current_event
    shop_id = event.get_query_string_value("shop")
    shop = shops.get_shop(wired(), shop_id) if shop_id else None
    if shop is None:
        raise Unauthorized("unknown shop: the webhook URL must end in ?shop=SHOP_ID")
    raw = _raw_body()
    shopify.verify_signature(shop.webhook_secret, raw, event.headers.get("X-Shopify-Hmac-SHA256"))
    stored = shopify.to_event(
        shop.shop_id, f"{resource}/{action}", event.headers.get("X-Shopify-Webhook-Id"), parse_json_body(raw)
    )
    IngestService(wired()).store.put(stored)
    metrics.add_metric(name="ShopifyWebhooks", unit=MetricUnit.Count, value=1)
    return SUCCESS


@app.get("/v1/recommendations")
def recommendations() -> dict[str, Any]:
    from kaeri.tracking.recommendations import parse_query, recommendations_for

    query = parse_query(app.current_event.query_string_parameters or {})  # 400 before 401, as before
    # The server key, or a customer token for this very user: the write key would reveal anyone's picks.
    shop_id = authenticate_customer(wired(), app.current_event.headers, query.user_id)
    return recommendations_for(wired(), shop_id, query.user_id, query.n).model_dump(mode="json")


@app.post("/v1/tokens")
def customer_token() -> dict[str, Any]:
    """A short-lived token for one customer, minted by the shop's backend with its server key."""
    from kaeri.delivery.links import stack_signing_secret
    from kaeri.tracking.tokens import CustomerTokens, parse_request

    shop_id = authenticate_server(wired(), app.current_event.headers)
    request = parse_request(parse_json_body(_raw_body()))
    token, claim = CustomerTokens(stack_signing_secret(wired())).mint(shop_id, request.userId, request.ttl)
    return {
        "success": True,
        "token": token,
        "userId": request.userId,
        "expiresAt": claim.expires_at.isoformat(),
    }


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
