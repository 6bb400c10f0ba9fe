"""Track API: the Segment-compatible HTTP API, the catalog feed, Shopify webhooks, recommendations.

Thin: authenticate, hand the body to kaeri.tracking, map domain errors to HTTP status in one place.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from kaeri import shops
from kaeri.aws import AwsClients
from kaeri.tracing import tracer
from kaeri.tracking.auth import authenticate, basic_auth_user
from kaeri.tracking.errors import InvalidRequest, ItemError, Unauthorized
from kaeri.tracking.ingest import IngestService, parse_json_body

# Only the Segment routes (nearly all traffic) are imported up front; the catalog feed, Shopify
# webhooks and recommendations import their modules on first use, which keeps the cold start short.
# Query parameters are validated by kaeri.tracking.recommendations, so Powertools' OpenAPI
# validation (and its import cost on every cold start) is not needed.
logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver()
clients = AwsClients()

SUCCESS = {"success": True}


def _error(status: int, errors: list[ItemError], headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"success": False, "errors": [e.as_dict() for e in errors]},
        headers=headers,
    )


@app.exception_handler(InvalidRequest)
def _invalid(exc: InvalidRequest) -> Response:
    logger.info("rejected request", extra={"errors": [e.as_dict() for e in exc.errors]})
    return _error(400, exc.errors)


@app.exception_handler(Unauthorized)
def _unauthorized(exc: Unauthorized) -> Response:
    return _error(401, [ItemError(None, "writeKey", str(exc))], {"WWW-Authenticate": 'Basic realm="kaeri"'})


def _raw_body() -> bytes:
    event = app.current_event
    if event.body is None:
        return b""
    if event.is_base64_encoded:
        return base64.b64decode(event.body)
    return event.body.encode("utf-8")


def _authenticated_body() -> tuple[str, Any]:
    """(shop_id, parsed JSON body). The write key is checked before the body is judged."""
    headers = app.current_event.headers
    raw = _raw_body()
    if basic_auth_user(headers):
        shop_id = authenticate(clients, headers)
        return shop_id, parse_json_body(raw)
    try:
        body = parse_json_body(raw)
    except InvalidRequest:
        raise Unauthorized("missing write key: send it as the HTTP Basic user name") from None
    return authenticate(clients, headers, body), body


def _segment(call_type: str | None) -> dict[str, bool]:
    shop_id, body = _authenticated_body()
    events = IngestService(clients).ingest(shop_id, body, call_type=call_type, body_bytes=len(_raw_body()))
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

    shop_id, body = _authenticated_body()
    result = CatalogService(clients).upsert(shop_id, parse_products(body))
    metrics.add_metric(name="ProductsUpserted", unit=MetricUnit.Count, value=result.upserted)
    return {"success": True, **result.model_dump()}


@app.post("/v1/webhooks/shopify/<resource>/<action>")
def shopify_webhook(resource: str, action: str) -> dict[str, bool]:
    from kaeri.tracking import shopify

    event = app.current_event
    shop_id = event.get_query_string_value("shop")
    shop = shops.get_shop(clients, shop_id) if shop_id else None
    if shop is None:
        raise Unauthorized("unknown shop: the webhook URL must end in ?shop=SHOP_ID")
    raw = _raw_body()
    shopify.verify_signature(shop.webhook_secret, raw, event.headers.get("X-Shopify-Hmac-SHA256"))
    stored = shopify.to_event(
        shop.shop_id, f"{resource}/{action}", event.headers.get("X-Shopify-Webhook-Id"), parse_json_body(raw)
    )
    IngestService(clients).store.put(stored)
    metrics.add_metric(name="ShopifyWebhooks", unit=MetricUnit.Count, value=1)
    return SUCCESS


@app.get("/v1/recommendations")
def recommendations() -> dict[str, Any]:
    from kaeri.tracking.recommendations import parse_query, recommendations_for

    query = parse_query(app.current_event.query_string_parameters or {})  # 400 before 401, as before
    shop_id = authenticate(clients, app.current_event.headers)
    return recommendations_for(clients, shop_id, query.user_id, query.n).model_dump(mode="json")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
