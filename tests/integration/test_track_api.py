"""The track API end to end in-process: real-shaped API Gateway REST (v1) events against moto."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from kaeri import clock, shops
from kaeri.events import StoredEvent

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def api_event(
    method: str, path: str, body=None, *, key: str | None = "wk_a", headers=None, query=None, raw=None
):
    """An API Gateway REST proxy (payload v1) event as Lambda receives it."""
    all_headers = {"Content-Type": "application/json", "User-Agent": "analytics-python/2.3"}
    if key is not None:
        all_headers["Authorization"] = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    all_headers.update(headers or {})
    text = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "analytics-python/2.3"},
            "accountId": "123456789012",
            "apiId": "abc123",
        },
        "body": text,
        "isBase64Encoded": False,
    }


CONTEXT = SimpleNamespace(
    function_name="track-api",
    memory_limit_in_mb=256,
    invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:track-api",
    aws_request_id="req-1",
)


@pytest.fixture
def api(aws):
    shops.clear_cache()
    shops.create_shop(
        aws, "shop-a", name="Shop A", write_key="wk_a", server_key="sk_a", webhook_secret="whsec_a"
    )
    shops.create_shop(
        aws, "shop-b", name="Shop B", write_key="wk_b", server_key="sk_b", webhook_secret="whsec_b"
    )
    import track_api

    previous = clock.use(clock.ManualClock(NOW))

    def call(*args, **kwargs):
        response = track_api.handler(api_event(*args, **kwargs), CONTEXT)
        return response["statusCode"], json.loads(response["body"]) if response.get("body") else None

    with track_api.wired.use(aws):
        yield call
    clock.use(previous)
    shops.clear_cache()


def stored(aws, shop_id: str = "shop-a") -> list[StoredEvent]:
    items = aws.table("events").scan()["Items"]
    return sorted(
        (StoredEvent.from_item(i) for i in items if i["shop_id"] == shop_id), key=lambda e: e.message_id
    )


def test_track_is_stored_once_per_message_id(api, aws):
    body = {"userId": "u1", "event": "Product Viewed", "messageId": "m-1", "properties": {"product_id": "p1"}}

    assert api("POST", "/v1/track", body) == (200, {"success": True})
    assert api("POST", "/v1/track", body) == (200, {"success": True})

    [event] = stored(aws)
    assert (event.event, event.user_id, event.properties) == ("Product Viewed", "u1", {"product_id": "p1"})


def test_clock_skew_is_corrected_with_sent_at(api, aws):
    body = {
        "anonymousId": "a1",
        "event": "Product Added",
        "messageId": "m-skew",
        "timestamp": "2025-03-01T10:59:00Z",  # the device's clock is one hour behind
        "sentAt": "2025-03-01T11:00:00Z",
    }
    api("POST", "/v1/track", body)

    [event] = stored(aws)
    assert event.timestamp == datetime(2025, 3, 1, 11, 59, tzinfo=UTC)
    assert event.received_at == NOW


def test_missing_message_id_and_timestamp_are_filled_in(api, aws):
    api("POST", "/v1/page", {"anonymousId": "a1", "name": "Home"})

    [event] = stored(aws)
    assert event.type == "page" and len(event.message_id) == 36
    assert event.timestamp == NOW and event.properties == {"name": "Home"}


def test_write_key_in_body_is_accepted(api, aws):
    status, _ = api("POST", "/v1/identify", {"writeKey": "wk_a", "userId": "u1", "traits": {}}, key=None)

    assert status == 200 and len(stored(aws)) == 1


def test_identify_traits_are_normalised(api, aws):
    traits = {
        "email": "hanako@example.jp",
        "firstName": "Hanako",
        "lineUserId": "U" + "a" * 32,
        "birthday": "1990-04-01",
        "pointsBalance": 1200,
        "pointsExpireOn": "2025-06-30",
        "plan": "gold",
        "consent": {
            "email": "granted",
            "line": {"status": "revoked", "at": "2025-02-01T00:00:00Z", "source": "app"},
        },
    }
    api("POST", "/v1/identify", {"userId": "u1", "traits": traits})

    [event] = stored(aws)
    assert event.traits["first_name"] == "Hanako" and event.traits["line_user_id"] == "U" + "a" * 32
    assert event.traits["points_balance"] == 1200 and event.traits["points_expire_on"] == "2025-06-30"
    assert event.traits["plan"] == "gold"
    assert event.traits["consent"]["email"]["status"] == "granted"
    assert event.traits["consent"]["line"] == {
        "status": "revoked",
        "at": "2025-02-01T00:00:00+00:00",
        "source": "app",
    }


def test_batch_stores_every_item(api, aws):
    body = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@example.jp"}, "messageId": "b1"},
            {"type": "track", "userId": "u1", "event": "Order Completed", "messageId": "b2"},
            {"type": "page", "anonymousId": "x", "messageId": "b3"},
            {"type": "alias", "userId": "u1", "previousId": "x", "messageId": "b4"},
        ],
        "sentAt": "2025-03-01T12:00:00Z",
    }
    assert api("POST", "/v1/batch", body) == (200, {"success": True})

    assert [e.type for e in stored(aws)] == ["identify", "track", "page", "alias"]


BAD_ITEMS = [
    ({"type": "track", "userId": "u1"}, "event"),
    ({"type": "track", "event": "X"}, "userId"),
    ({"type": "track", "userId": ["u1"], "event": "X"}, "userId"),
    ({"type": "track", "userId": "u1", "event": "X", "properties": "nope"}, "properties"),
    ({"type": "track", "userId": "u1", "event": "X", "timestamp": "yesterday"}, "timestamp"),
    ({"type": "identify", "userId": "u1", "traits": {"lineUserId": "bob"}}, "traits.lineUserId"),
    ({"type": "identify", "userId": "u1", "traits": {"birthday": "April 1st"}}, "traits.birthday"),
    (
        {"type": "identify", "userId": "u1", "traits": {"consent": {"email": "maybe"}}},
        "traits.consent.email.status",
    ),
    ({"type": "alias", "userId": "u1"}, "previousId"),
    ({"type": "rocket", "userId": "u1"}, "type"),
    ({"type": "track", "userId": "u1", "event": "X", "properties": {"blob": "x" * 33_000}}, "body"),
]


@pytest.mark.parametrize(("item", "field"), BAD_ITEMS, ids=[f for _, f in BAD_ITEMS])
def test_an_invalid_item_rejects_the_whole_batch(api, aws, item, field):
    good = {"type": "track", "userId": "u1", "event": "Product Viewed"}
    status, body = api("POST", "/v1/batch", {"batch": [good, good, item]})

    assert status == 400 and body["success"] is False
    assert {"index": 2, "field": field} == {k: body["errors"][0][k] for k in ("index", "field")}
    assert body["errors"][0]["message"]
    assert stored(aws) == []


def test_malformed_json_is_rejected(api, aws):
    status, body = api("POST", "/v1/track", raw='{"userId": "u1", "event": ')

    assert (
        status == 400
        and body["errors"][0]["field"] == "body"
        and "malformed JSON" in body["errors"][0]["message"]
    )


def test_oversize_single_event_is_rejected(api, aws):
    status, body = api("POST", "/v1/track", {"userId": "u1", "event": "X", "properties": {"b": "x" * 40_000}})

    assert status == 400 and body["errors"][0]["index"] == 0 and "32 KB" in body["errors"][0]["message"]
    assert stored(aws) == []


def test_oversize_request_is_rejected(api, aws):
    item = {"type": "track", "userId": "u1", "event": "X", "properties": {"b": "x" * 20_000}}
    status, body = api("POST", "/v1/batch", {"batch": [item] * 30})

    assert status == 400 and body["errors"][0] == {
        "index": None,
        "field": "body",
        "message": body["errors"][0]["message"],
    }
    assert "500 KB" in body["errors"][0]["message"]
    assert stored(aws) == []


@pytest.mark.parametrize("key", [None, "wk_unknown"])
def test_missing_or_unknown_key_is_unauthorized(api, aws, key):
    status, body = api("POST", "/v1/track", {"userId": "u1", "event": "X"}, key=key)

    assert status == 401 and body["success"] is False
    assert stored(aws) == []


def test_one_shop_cannot_overwrite_another_shops_events(api, aws):
    body = {"userId": "u1", "event": "Order Completed", "messageId": "same-id"}
    api("POST", "/v1/track", body, key="wk_a")
    api("POST", "/v1/track", {**body, "event": "Order Refunded"}, key="wk_b")

    assert [e.event for e in stored(aws, "shop-a")] == ["Order Completed"]
    assert [e.event for e in stored(aws, "shop-b")] == ["Order Refunded"]
