"""docs/openapi.json: the tracking API as an OpenAPI 3.1 document, built from the routes and models.

`python -m kaeri_ops.openapi > docs/openapi.json` regenerates it; a test keeps it current.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from kaeri.tracking import limits
from kaeri.tracking.catalog import MAX_PRODUCTS_PER_REQUEST, Product
from kaeri.tracking.recommendations import MAX_N, Recommendations
from kaeri.tracking.segment import MODELS, BatchEnvelope
from kaeri.tracking.tokens import TokenRequest
from kaeri.tracking.wire import ERROR_CODES
from kaeri_ops.definitions.topology import ROUTES, TRACK_API

REF = "#/components/schemas/"
CALLS = {"track": "TrackCall", "identify": "IdentifyCall", "page": "PageCall", "screen": "PageCall",
         "alias": "AliasCall", "group": "GroupCall"}  # fmt: skip


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF + "{model}", mode="validation")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": REF + model.__name__}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _answers(success: dict[str, Any]) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": {"$ref": REF + "Error"}}}}
    return {
        "200": {"description": "accepted", "content": {"application/json": {"schema": success}}},
        "400": {"description": "invalid request: nothing of it was stored", **error},
        "401": {"description": "missing or unknown write key, or a bad webhook signature", **error},
        "503": {"description": "storage unavailable: retry the same request", **error},
    }


def build() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in dict.fromkeys(MODELS.values()):
        _schema(model, schemas)
    batch = BatchEnvelope.model_json_schema(ref_template=REF + "{model}")
    batch["properties"]["batch"]["items"] = {
        "oneOf": [
            {
                "allOf": [{"$ref": REF + CALLS[kind]}],
                "properties": {"type": {"const": kind}},
                "required": ["type"],
            }
            for kind in MODELS
        ]
    }
    schemas["BatchEnvelope"] = batch
    product = _schema(Product, schemas)
    schemas["CatalogRequest"] = {
        "type": "object",
        "required": ["products"],
        "properties": {"products": {"type": "array", "items": product, "minItems": 1,
                                    "maxItems": MAX_PRODUCTS_PER_REQUEST}},
    }  # fmt: skip
    _schema(Recommendations, schemas)
    schemas["Success"] = {
        "type": "object",
        "properties": {"success": {"const": True}},
        "required": ["success"],
    }
    schemas["Error"] = {
        "type": "object",
        "required": ["success", "code", "message", "errors"],
        "properties": {
            "success": {"const": False},
            "code": {"enum": sorted(set(ERROR_CODES.values()) | {"error"})},
            "message": {"type": "string"},
            "errors": {
                "type": "array",
                "maxItems": limits.MAX_ERRORS_REPORTED,
                "items": {
                    "type": "object",
                    "required": ["index", "field", "message"],
                    "properties": {
                        "index": {"type": ["integer", "null"]},
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
        },
    }
    success = {"$ref": REF + "Success"}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if route.function != TRACK_API:
            continue
        path = route.path.replace("{topic+}", "{resource}/{action}")
        op: dict[str, Any] = {
            "operationId": path.strip("/").replace("/", "_").replace("{", "").replace("}", "")
        }
        kind = path.rsplit("/", 1)[-1]
        if kind in CALLS:
            op["requestBody"] = _json_body({"$ref": REF + CALLS[kind]})
            op["responses"] = _answers(success)
        elif kind == "batch":
            op["requestBody"] = _json_body({"$ref": REF + "BatchEnvelope"})
            op["responses"] = _answers(success)
        elif kind == "products":
            op["requestBody"] = _json_body({"$ref": REF + "CatalogRequest"})
            op["responses"] = _answers(
                {"type": "object", "properties": {"success": {"const": True}, "upserted": {"type": "integer"},
                                                  "restocked": {"type": "array", "items": {"type": "string"}}}}
            )  # fmt: skip
        elif "shopify" in path:
            op["security"] = []
            op["parameters"] = [
                {"name": "resource", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "action", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "shop", "in": "query", "required": True, "schema": {"type": "string"}},
                {
                    "name": "X-Shopify-Hmac-SHA256",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {
                    "name": "X-Shopify-Webhook-Id",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ]
            op["requestBody"] = _json_body({"type": "object", "description": "Shopify's webhook payload"})
            op["responses"] = _answers(success)
        elif kind == "recommendations":
            op["parameters"] = [
                {"name": "user_id", "in": "query", "required": True,
                 "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
                {"name": "n", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_N, "default": 10}},
            ]  # fmt: skip
            op["responses"] = _answers({"$ref": REF + "Recommendations"})
        elif kind == "tokens":
            op["requestBody"] = _json_body({"$ref": REF + "TokenRequest"})
            op["responses"] = _answers(
                {"type": "object", "properties": {"success": {"const": True}, "token": {"type": "string"},
                                                  "userId": {"type": "string"},
                                                  "expiresAt": {"type": "string", "format": "date-time"}}}
            )  # fmt: skip
            _schema(TokenRequest, schemas)
        if route.trust == "server":
            op["security"] = [{"serverKey": []}, {"serverKeyBearer": []}]
        elif route.trust == "customer":
            op["security"] = [{"serverKey": []}, {"serverKeyBearer": []}, {"customerToken": []}]
        if route.trust in ("server", "customer"):
            op["responses"]["403"] = {
                "description": "a valid credential not trusted for this route (the public write key)",
                "content": {"application/json": {"schema": {"$ref": REF + "Error"}}},
            }
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kaeri tracking API",
            "version": "1",
            "description": (
                "Segment-compatible HTTP Tracking API. Bodies may be gzip or deflate encoded "
                f"(Content-Encoding). Limits: {limits.MAX_EVENT_BYTES} bytes per event (batch context "
                f"included), {limits.MAX_REQUEST_BYTES} bytes per request after decoding, nesting "
                f"{limits.MAX_DEPTH} deep, numbers of at most {limits.MAX_NUMBER_DIGITS} significant digits "
                f"between 1E{limits.MIN_EXPONENT} and 9.9E+{limits.MAX_EXPONENT}. See docs/tracking.md."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8787", "description": "kaeri local"}],
        "security": [{"writeKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "writeKey": {"type": "http", "scheme": "basic", "description": "the write key as user name"},
                "serverKey": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "the secret server key as user name",
                },
                "serverKeyBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the secret server key",
                },
                "customerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a short-lived token from POST /v1/tokens, for one customer",
                },
            },
            "schemas": dict(sorted(schemas.items())),
        },
    }


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
