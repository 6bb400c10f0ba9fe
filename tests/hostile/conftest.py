"""The track handler in-process against moto, called with raw bytes and any headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import pytest

from kaeri import clock, shops
from tests.integration.test_track_api import CONTEXT, NOW, api_event

WEBHOOK_SECRET = "whsec_h"
SERVER_KEY = "sk_h"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class RawApi:
    def __init__(self, aws: Any) -> None:
        self.aws = aws

    def __call__(
        self,
        method: str,
        path: str,
        raw: bytes | None = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        key: str | None = "",
    ) -> Answer:
        import track_api

        if key == "":  # the credential each route needs (docs/tracking.md, "Keys")
            key = (
                SERVER_KEY
                if path.startswith(("/v1/catalog", "/v1/tokens", "/v1/recommendations"))
                else "wk_h"
            )

        event = api_event(method, path, key=key, headers=headers, query=query)
        if raw is not None:
            try:
                event["body"], event["isBase64Encoded"] = raw.decode("utf-8"), False
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        response = track_api.handler(event, CONTEXT)
        body = response.get("body")
        headers_out = {**(response.get("headers") or {})}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers_out.setdefault(name, ",".join(values))
        return Answer(response["statusCode"], headers_out, json.loads(body) if body else None)

    def shopify(self, topic: str, payload: bytes, webhook_id: str = "wh-1") -> Answer:
        signature = base64.b64encode(hmac.new(WEBHOOK_SECRET.encode(), payload, hashlib.sha256).digest())
        headers = {"X-Shopify-Hmac-SHA256": signature.decode(), "X-Shopify-Webhook-Id": webhook_id}
        return self(
            "POST",
            f"/v1/webhooks/shopify/{topic}",
            payload,
            headers=headers,
            query={"shop": "shop-h"},
            key=None,
        )

    def stored_counts(self) -> tuple[int, int]:
        """(events, catalog items) stored so far."""
        return (
            self.aws.table("events").scan(Select="COUNT")["Count"],
            self.aws.table("catalog").scan(Select="COUNT")["Count"],
        )

    def message_ids(self) -> set[str]:
        return {i["message_id"] for i in self.aws.table("events").scan()["Items"]}


@pytest.fixture
def raw_api(aws):
    shops.clear_cache()
    shops.create_shop(
        aws, "shop-h", name="Shop H", write_key="wk_h", server_key=SERVER_KEY, webhook_secret=WEBHOOK_SECRET
    )
    import track_api

    previous = clock.use(clock.ManualClock(NOW))
    with track_api.wired.use(aws):
        yield RawApi(aws)
    clock.use(previous)
    shops.clear_cache()
