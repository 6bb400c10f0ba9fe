"""Shopify webhooks, the catalog feed and recommendations through the track handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from kaeri.profiles.projector import ProfileProjector
from kaeri.profiles.repository import ProfileRepository
from tests.integration.test_track_api import api, stored  # noqa: F401  (fixture)

ORDER = {
    "id": 820982911946154508,
    "email": "hanako@example.jp",
    "created_at": "2025-03-01T20:00:00+09:00",
    "updated_at": "2025-03-01T20:00:01+09:00",
    "total_price": "5980",
    "subtotal_price": "5480",
    "currency": "JPY",
    "checkout_token": "ck_123",
    "customer": {"id": 115310627314723954, "email": "hanako@example.jp"},
    "line_items": [
        {
            "product_id": 632910392,
            "variant_id": 808950810,
            "title": "Linen shirt",
            "price": "5480",
            "quantity": 1,
        }
    ],
}
CUSTOMER = {
    "id": 115310627314723954,
    "email": "hanako@example.jp",
    "first_name": "Hanako",
    "last_name": "Sato",
    "created_at": "2025-02-01T10:00:00+09:00",
    "accepts_marketing": True,
    "accepts_marketing_updated_at": "2025-02-01T10:00:00+09:00",
}


def signed(payload: dict, secret: str = "whsec_a", webhook_id: str = "wh-1") -> tuple[str, dict]:
    raw = json.dumps(payload)
    digest = base64.b64encode(hmac.new(secret.encode(), raw.encode(), hashlib.sha256).digest()).decode()
    return raw, {
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Topic": "orders/create",
    }


def webhook(api, topic: str, payload: dict, shop: str = "shop-a", **kwargs):  # noqa: F811
    raw, headers = signed(payload, **kwargs)
    return api(
        "POST", f"/v1/webhooks/shopify/{topic}", raw=raw, headers=headers, key=None, query={"shop": shop}
    )


def test_order_webhook_becomes_order_completed_once(api, aws):  # noqa: F811
    assert webhook(api, "orders/create", ORDER) == (200, {"success": True})
    assert webhook(api, "orders/create", ORDER) == (200, {"success": True})  # Shopify retries

    [event] = stored(aws)
    assert (event.event, event.user_id, event.source) == ("Order Completed", "115310627314723954", "shopify")
    assert event.properties["order_id"] == "820982911946154508" and event.properties["total"] == 5980
    assert event.properties["products"][0] == {
        "product_id": "632910392",
        "name": "Linen shirt",
        "price": 5480,
        "quantity": 1,
        "variant": "808950810",
    }


def test_customer_webhook_records_marketing_consent(api, aws):  # noqa: F811
    webhook(api, "customers/create", CUSTOMER, webhook_id="wh-2")

    [event] = stored(aws)
    ProfileProjector(aws).apply(event)
    profile = ProfileRepository(aws).get("shop-a", "115310627314723954")
    assert profile.email == "hanako@example.jp" and profile.has_consent("email")
    assert profile.consent["email"].source == "shopify customers/create"
    assert profile.signed_up_at is not None


def test_checkout_webhook_becomes_checkout_started(api, aws):  # noqa: F811
    checkout = {
        "id": 1,
        "token": "ck_9",
        "total_price": "1200",
        "currency": "JPY",
        "line_items": [],
        "updated_at": "2025-03-01T10:00:00Z",
    }
    webhook(api, "checkouts/update", checkout, webhook_id="wh-3")

    [event] = stored(aws)
    assert (event.event, event.anonymous_id, event.properties["checkout_id"]) == (
        "Checkout Started",
        "shopify-checkout:ck_9",
        "ck_9",
    )


def test_bad_signature_is_unauthorized(api, aws):  # noqa: F811
    status, body = webhook(api, "orders/create", ORDER, secret="wrong")

    assert status == 401 and "does not match" in body["errors"][0]["message"]
    assert stored(aws) == []


def test_another_shops_secret_does_not_verify(api, aws):  # noqa: F811
    status, _ = webhook(api, "orders/create", ORDER, secret="whsec_b", shop="shop-a")

    assert status == 401 and stored(aws) == [] and stored(aws, "shop-b") == []


def test_catalog_upsert_and_restock_event(api, aws):  # noqa: F811
    product = {
        "product_id": "p1",
        "name": "Linen shirt",
        "url": "https://shop.example/p1",
        "price": 5480,
        "currency": "JPY",
        "category": "tops",
        "inventory_quantity": 0,
    }
    status, body = api("PUT", "/v1/catalog/products", {"products": [product]}, key="sk_a")
    assert (status, body["upserted"], body["restocked"]) == (200, 1, [])

    item = aws.table("catalog").get_item(Key={"shop_id": "shop-a", "product_id": "p1"})["Item"]
    assert item["category_key"] == "shop-a#tops" and item["inventory_quantity"] == 0

    for _ in range(2):  # the second upsert is a retry: no second restock
        _, body = api(
            "PUT",
            "/v1/catalog/products",
            {"products": [{"product_id": "p1", "inventory_quantity": 5}]},
            key="sk_a",
        )
    [event] = stored(aws)
    assert (event.event, event.anonymous_id, event.source) == ("Product Restocked", "catalog", "catalog")
    assert event.properties["name"] == "Linen shirt" and event.properties["inventory_quantity"] == 5


def test_catalog_item_errors_name_index_and_field(api, aws):  # noqa: F811
    status, body = api(
        "PUT", "/v1/catalog/products", {"products": [{"product_id": "p1"}, {"price": "cheap"}]}, key="sk_a"
    )

    assert status == 400
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(1, "product_id"), (1, "price")}
    assert aws.table("catalog").scan()["Items"] == []


def test_recommendations_join_catalog_and_fall_back_to_popular(api, aws):  # noqa: F811
    api(
        "PUT",
        "/v1/catalog/products",
        {
            "products": [
                {"product_id": "p1", "name": "Shirt", "price": 5480, "inventory_quantity": 3},
                {"product_id": "p2", "name": "Sold out", "inventory_quantity": 0},
            ]
        },
        key="sk_a",
    )
    customers = aws.table("customers")
    customers.put_item(
        Item={
            "pk": "shop-a#u1",
            "sk": "RECS",
            "items": [
                {"product_id": "p2", "score": 9, "reason": "viewed"},
                {"product_id": "p1", "score": 5, "reason": "similar"},
            ],
        }
    )
    customers.put_item(
        Item={"pk": "shop-a#__popular__", "sk": "RECS", "items": [{"product_id": "p1", "score": 1}]}
    )

    status, body = api("GET", "/v1/recommendations", query={"user_id": "u1", "n": "5"}, key="sk_a")
    assert status == 200 and body["source"] == "personal"
    assert [(i["product_id"], i["name"], i["price"]) for i in body["items"]] == [("p1", "Shirt", 5480.0)]

    _, body = api("GET", "/v1/recommendations", query={"user_id": "stranger"}, key="sk_a")
    assert body["source"] == "popular" and body["items"][0]["product_id"] == "p1"


def test_recommendations_are_per_shop(api, aws):  # noqa: F811
    aws.table("customers").put_item(Item={"pk": "shop-a#u1", "sk": "RECS", "items": [{"product_id": "p1"}]})

    status, body = api("GET", "/v1/recommendations", query={"user_id": "u1"}, key="sk_b")
    assert status == 200 and body["source"] == "none" and body["items"] == []


def test_recommendations_bad_n_and_missing_key(api, aws):  # noqa: F811
    assert api("GET", "/v1/recommendations", query={"user_id": "u1", "n": "lots"})[0] == 400
    assert api("GET", "/v1/recommendations", query={"user_id": "u1"}, key=None)[0] == 401


def test_public_write_key_cannot_feed_the_catalog_or_read_recommendations(api, aws):  # noqa: F811
    status, body = api("PUT", "/v1/catalog/products", {"products": [{"product_id": "p1"}]}, key="wk_a")
    assert status == 403 and "server key" in body["errors"][0]["message"]
    assert aws.table("catalog").scan()["Items"] == []
    status, _ = api("GET", "/v1/recommendations", query={"user_id": "u1"}, key="wk_a")
    assert status == 403
    status, _ = api("POST", "/v1/tokens", {"userId": "u1"}, key="wk_a")
    assert status == 403


def test_browser_reads_one_customers_recommendations_with_a_token_from_the_backend(api, aws):  # noqa: F811
    aws.table("customers").put_item(Item={"pk": "shop-a#u1", "sk": "RECS", "items": [{"product_id": "p1"}]})
    status, minted = api("POST", "/v1/tokens", {"userId": "u1", "ttl": 600}, key="sk_a")
    assert status == 200 and minted["userId"] == "u1"
    bearer = {"Authorization": f"Bearer {minted['token']}"}

    status, body = api("GET", "/v1/recommendations", query={"user_id": "u1"}, key=None, headers=bearer)
    assert status == 200 and body["items"][0]["product_id"] == "p1"
    status, body = api("GET", "/v1/recommendations", query={"user_id": "u2"}, key=None, headers=bearer)
    assert status == 403 and "another customer" in body["errors"][0]["message"]
    assert api("POST", "/v1/tokens", {"userId": "u1", "ttl": 86400}, key="sk_a")[0] == 400
