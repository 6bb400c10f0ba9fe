# ruff: noqa: UP031  (raw JSON text with %s placeholders reads clearest here)
"""The hostile-input corpus: every case of issue 10 and more, each with what the API must answer.

A case is rejected (400/401, nothing stored) or accepted (200, its messageIds stored). Raw JSON text
is used where Python's json would not produce the input (NaN, lone surrogates, huge integers).
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field

REJECT, ACCEPT = "reject", "accept"


@dataclass(frozen=True)
class Case:
    name: str
    path: str  # "/v1/..." or "shopify:<topic>"
    raw: bytes
    expect: str
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    stored: tuple[str, ...] = ()  # messageIds an accepted case stores
    status: int = 400


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


# Values as raw JSON text that DynamoDB, the projector or the encoder cannot take.
HOSTILE_VALUES = {
    "nan": "NaN",
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "1e200": "1e200",
    "1e-200": "1e-200",
    "1e126": "1e126",
    "1e-129": "1e-129",
    "int-39-digits": "1" * 39,
    "int-60-digits": "9" * 60,
    "lone-surrogate": '"\\ud800"',
    "lone-low-surrogate": '"ab\\udc00cd"',
    "nested-33": nested(33),
    "nested-500": nested(500),
    "array-in-array-40": "[" * 40 + "]" * 40,
}


def _single_track(value: str, mid: str) -> bytes:
    return ('{"userId":"u1","event":"Custom","messageId":"%s","properties":{"x":%s}}' % (mid, value)).encode()


def _identify(value: str, mid: str) -> bytes:
    return ('{"userId":"u1","messageId":"%s","traits":{"score":%s}}' % (mid, value)).encode()


def _page(value: str, mid: str) -> bytes:
    return (
        '{"anonymousId":"a1","messageId":"%s","name":"Home","properties":{"x":[%s]}}' % (mid, value)
    ).encode()


def _batch_second(value: str, mid: str) -> bytes:
    return (
        '{"batch":[{"type":"track","userId":"u1","event":"A","messageId":"%s-0"},'
        '{"type":"track","userId":"u1","event":"B","messageId":"%s-1","properties":{"p":{"q":%s}}}]}'
        % (mid, mid, value)
    ).encode()


def _batch_context(value: str, mid: str) -> bytes:
    return (
        '{"context":{"c":%s},"batch":[{"type":"track","userId":"u1","event":"A","messageId":"%s"}]}'
        % (value, mid)
    ).encode()


def _catalog_second(value: str, mid: str) -> bytes:
    return (
        '{"products":[{"product_id":"ok-%s","price":1},{"product_id":"p2","name":%s}]}' % (mid, value)
    ).encode()


PLACEMENTS = {
    "track properties": ("/v1/track", _single_track),
    "identify traits": ("/v1/identify", _identify),
    "page properties": ("/v1/page", _page),
    "batch 2nd item": ("/v1/batch", _batch_second),
    "batch context": ("/v1/batch", _batch_context),
    "catalog 2nd product": ("/v1/catalog/products", _catalog_second),
}


def _value_cases() -> list[Case]:
    cases = []
    for vname, value in HOSTILE_VALUES.items():
        for pname, (path, build) in PLACEMENTS.items():
            method = "PUT" if "catalog" in path else "POST"
            cases.append(Case(f"{vname} in {pname}", path, build(value, f"m-{vname}"), REJECT, method))
    return cases


def track(properties: object, mid: str, **extra: object) -> bytes:
    return dumps(
        {"userId": "u1", "event": "Order Completed", "messageId": mid, "properties": properties, **extra}
    )


ORDER = {
    "id": 1001,
    "total_price": "10.00",
    "currency": "JPY",
    "customer": {"id": 77},
    "line_items": [{"product_id": 5, "price": "10.00", "quantity": 1}],
    "updated_at": "2025-03-01T10:00:00Z",
}


def _shopify_order(**changes: object) -> bytes:
    return dumps({**ORDER, **changes})


SPECIFIC: list[Case] = [
    # Keys
    Case(
        "lone surrogate in property key",
        "/v1/track",
        b'{"userId":"u1","event":"E","messageId":"k1","properties":{"\\ud83d":1}}',
        REJECT,
    ),
    Case(
        "lone surrogate in userId", "/v1/track", b'{"userId":"\\udfff","event":"E","messageId":"k2"}', REJECT
    ),
    Case(
        "lone surrogate in event name",
        "/v1/track",
        b'{"userId":"u1","event":"\\ud800","messageId":"k3"}',
        REJECT,
    ),
    Case(
        "lone surrogate in messageId",
        "/v1/track",
        b'{"userId":"u1","event":"E","messageId":"\\ud800"}',
        REJECT,
    ),
    Case(
        "integer of 5000 digits",
        "/v1/track",
        b'{"userId":"u1","event":"E","properties":{"x":' + b"9" * 5000 + b"}}",
        REJECT,
    ),
    Case("nested 100000 deep raw", "/v1/track", b"[" * 100000 + b"]" * 100000, REJECT),
    Case(
        "nested 20000 deep inside properties",
        "/v1/track",
        b'{"userId":"u1","event":"E","properties":' + nested(20000).encode() + b"}",
        REJECT,
    ),
    # Times
    Case(
        "timestamp year 0001 east of UTC",
        "/v1/track",
        dumps({"userId": "u1", "event": "E", "messageId": "t1", "timestamp": "0001-01-01T00:00:00+05:00"}),
        REJECT,
    ),
    Case(
        "timestamp past 9999 after UTC",
        "/v1/track",
        dumps({"userId": "u1", "event": "E", "messageId": "t2", "timestamp": "9999-12-31T23:00:00-05:00"}),
        REJECT,
    ),
    Case(
        "sentAt skew overflow",
        "/v1/track",
        dumps(
            {
                "userId": "u1",
                "event": "E",
                "messageId": "t3",
                "timestamp": "9999-12-30T00:00:00Z",
                "sentAt": "0001-01-02T00:00:00Z",
            }
        ),
        REJECT,
    ),
    Case(
        "sentAt skew underflow in batch",
        "/v1/batch",
        dumps(
            {
                "sentAt": "9999-12-30T00:00:00Z",
                "batch": [
                    {
                        "type": "track",
                        "userId": "u1",
                        "event": "E",
                        "messageId": "t4",
                        "timestamp": "0001-01-02T00:00:00Z",
                    }
                ],
            }
        ),
        REJECT,
    ),
    Case(
        "timestamp year 1900",
        "/v1/track",
        dumps({"userId": "u1", "event": "E", "messageId": "t5", "timestamp": "1900-01-01T00:00:00Z"}),
        REJECT,
    ),
    Case(
        "timestamp year 2200",
        "/v1/track",
        dumps({"userId": "u1", "event": "E", "messageId": "t6", "timestamp": "2200-01-01T00:00:00Z"}),
        REJECT,
    ),
    Case(
        "sentAt year 0001 west of UTC",
        "/v1/track",
        dumps(
            {
                "userId": "u1",
                "event": "E",
                "messageId": "t7",
                "timestamp": "2025-01-01T00:00:00Z",
                "sentAt": "0001-01-01T00:00:00+09:00",
            }
        ),
        REJECT,
    ),
    Case(
        "consent at year 0001",
        "/v1/identify",
        dumps(
            {
                "userId": "u1",
                "messageId": "c1",
                "traits": {"consent": {"email": {"status": "granted", "at": "0001-01-01T00:00:00+09:00"}}},
            }
        ),
        REJECT,
    ),
    Case(
        "consent at year 1000",
        "/v1/identify",
        dumps(
            {
                "userId": "u1",
                "messageId": "c2",
                "traits": {"consent": {"email": {"status": "granted", "at": "1000-01-01T00:00:00Z"}}},
            }
        ),
        REJECT,
    ),
    Case(
        "created_at year 0001 east of UTC",
        "/v1/identify",
        dumps({"userId": "u1", "messageId": "ca1", "traits": {"createdAt": "0001-01-01T00:00:00+09:00"}}),
        REJECT,
    ),
    Case(
        "Consent Changed at year 0001",
        "/v1/track",
        dumps(
            {
                "userId": "u1",
                "event": "Consent Changed",
                "messageId": "cc1",
                "properties": {"channel": "email", "status": "granted", "at": "0001-01-01T00:00:00+01:00"},
            }
        ),
        REJECT,
    ),
    Case(
        "points_balance 1e400 text",
        "/v1/identify",
        dumps({"userId": "u1", "messageId": "pb1", "traits": {"points_balance": "1e400"}}),
        REJECT,
    ),
    Case(
        "points_balance NaN text",
        "/v1/identify",
        dumps({"userId": "u1", "messageId": "pb2", "traits": {"points_balance": "NaN"}}),
        REJECT,
    ),
    # E-commerce shapes
    Case("products a string", "/v1/track", track({"products": "abc"}, "e1"), REJECT),
    Case("products a number", "/v1/track", track({"products": 5}, "e2"), REJECT),
    Case("products of strings", "/v1/track", track({"products": ["p1"]}, "e3"), REJECT),
    Case("products an object", "/v1/track", track({"products": {"product_id": "p1"}}, "e4"), REJECT),
    Case(
        "price NaN text",
        "/v1/track",
        track({"products": [{"product_id": "p", "price": "NaN"}]}, "e5"),
        REJECT,
    ),
    Case("price 1e200 text", "/v1/track", track({"total": "1e200"}, "e6"), REJECT),
    Case("price Infinity text", "/v1/track", track({"price": "Infinity"}, "e7"), REJECT),
    Case("price abc", "/v1/track", track({"price": "abc"}, "e8"), REJECT),
    Case("price a boolean", "/v1/track", track({"price": True}, "e9"), REJECT),
    Case("price an object", "/v1/track", track({"price": {"amount": 1}}, "e10"), REJECT),
    Case("negative total", "/v1/track", track({"order_id": "o1", "total": -5000}, "e11"), REJECT),
    Case("negative revenue", "/v1/track", track({"order_id": "o1", "revenue": -1}, "e12"), REJECT),
    Case(
        "negative quantity",
        "/v1/track",
        track({"products": [{"product_id": "p", "price": 10, "quantity": -3}]}, "e13"),
        REJECT,
    ),
    Case("fractional quantity", "/v1/track", track({"product_id": "p", "quantity": 1.5}, "e14"), REJECT),
    Case("quantity abc", "/v1/track", track({"product_id": "p", "quantity": "abc"}, "e15"), REJECT),
    Case(
        "negative price in batch 3rd item",
        "/v1/batch",
        dumps(
            {
                "batch": [
                    {"type": "track", "userId": "u1", "event": "A", "messageId": "e16-0"},
                    {"type": "track", "userId": "u1", "event": "B", "messageId": "e16-1"},
                    {
                        "type": "track",
                        "userId": "u1",
                        "event": "Product Added",
                        "messageId": "e16-2",
                        "properties": {"product_id": "p", "price": -1},
                    },
                ]
            }
        ),
        REJECT,
    ),
    # Sizes
    Case(
        "batch context of 395 KB",
        "/v1/batch",
        dumps(
            {
                "context": {"blob": "x" * 395_000},
                "batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "s1"}],
            }
        ),
        REJECT,
    ),
    Case(
        "batch context of 40 KB",
        "/v1/batch",
        dumps(
            {
                "context": {"blob": "x" * 40_000},
                "batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "s2"}],
            }
        ),
        REJECT,
    ),
    Case("event of 33 KB", "/v1/track", track({"blob": "x" * 33_000}, "s3"), REJECT),
    Case(
        "request of 600 KB",
        "/v1/batch",
        dumps(
            {
                "batch": [
                    {
                        "type": "track",
                        "userId": "u1",
                        "event": "A",
                        "messageId": f"s4-{i}",
                        "properties": {"b": "x" * 20_000},
                    }
                    for i in range(30)
                ]
            }
        ),
        REJECT,
    ),
    Case(
        "gzip bomb (1 MB of zeros)",
        "/v1/track",
        gzip.compress(b"0" * 1_000_000),
        REJECT,
        headers={"Content-Encoding": "gzip"},
    ),
    Case("userId of 300 characters", "/v1/track", dumps({"userId": "u" * 300, "event": "E"}), REJECT),
    # Wire
    Case(
        "gzip header on plain JSON",
        "/v1/track",
        track({}, "w1"),
        REJECT,
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "deflate header on garbage",
        "/v1/track",
        b"\x00\x01\x02garbage",
        REJECT,
        headers={"Content-Encoding": "deflate"},
    ),
    Case(
        "truncated gzip",
        "/v1/track",
        gzip.compress(track({}, "w2"))[:-12],
        REJECT,
        headers={"Content-Encoding": "gzip"},
    ),
    Case("unknown content coding", "/v1/track", track({}, "w3"), REJECT, headers={"Content-Encoding": "br"}),
    Case("malformed JSON", "/v1/track", b'{"userId": "u1", "event": ', REJECT),
    Case("empty body", "/v1/track", b"", REJECT),
    Case("JSON array body", "/v1/track", b"[1,2,3]", REJECT),
    Case("invalid UTF-8 bytes", "/v1/track", b'{"userId":"\xff\xfe","event":"E"}', REJECT),
    Case("batch not an array", "/v1/batch", dumps({"batch": "abc"}), REJECT),
    Case("batch item a number", "/v1/batch", dumps({"batch": [1]}), REJECT),
    Case("unknown type in batch", "/v1/batch", dumps({"batch": [{"type": "drop", "userId": "u"}]}), REJECT),
    Case("no identity", "/v1/track", dumps({"event": "E"}), REJECT),
    Case("reserved userId", "/v1/track", dumps({"userId": "anon:x", "event": "E"}), REJECT),
    Case(
        "wrong write key",
        "/v1/track",
        track({}, "w4"),
        REJECT,
        headers={"Authorization": "Basic eDo="},
        status=401,
    ),
    # Catalog
    Case(
        "catalog 2nd price 1e200 text",
        "/v1/catalog/products",
        dumps({"products": [{"product_id": "cat-ok", "price": 1}, {"product_id": "p2", "price": "1e200"}]}),
        REJECT,
        "PUT",
    ),
    Case(
        "catalog price NaN text",
        "/v1/catalog/products",
        dumps({"products": [{"product_id": "p", "price": "NaN"}]}),
        REJECT,
        "PUT",
    ),
    Case(
        "catalog inventory 40 digits",
        "/v1/catalog/products",
        b'{"products":[{"product_id":"p","inventory_quantity":' + b"1" * 40 + b"}]}",
        REJECT,
        "PUT",
    ),
    Case(
        "catalog product_id surrogate",
        "/v1/catalog/products",
        b'{"products":[{"product_id":"\\ud800"}]}',
        REJECT,
        "PUT",
    ),
    Case(
        "catalog category of 300 KB",
        "/v1/catalog/products",
        dumps({"products": [{"product_id": "p", "category": "c" * 300_000}]}),
        REJECT,
        "PUT",
    ),
    Case(
        "catalog name of 450 KB",
        "/v1/catalog/products",
        dumps({"products": [{"product_id": "p", "name": "n" * 450_000}]}),
        REJECT,
        "PUT",
    ),
    Case("catalog products a string", "/v1/catalog/products", dumps({"products": "abc"}), REJECT, "PUT"),
    Case("catalog product a number", "/v1/catalog/products", dumps({"products": [5]}), REJECT, "PUT"),
    # Shopify (correctly signed)
    Case(
        "shopify quantity abc",
        "shopify:orders/create",
        _shopify_order(line_items=[{"product_id": 5, "price": "10", "quantity": "abc"}]),
        REJECT,
    ),
    Case("shopify line_items a string", "shopify:orders/create", _shopify_order(line_items="abc"), REJECT),
    Case("shopify line_items of numbers", "shopify:orders/create", _shopify_order(line_items=[1, 2]), REJECT),
    Case("shopify total_price NaN", "shopify:orders/create", _shopify_order(total_price="NaN"), REJECT),
    Case("shopify total_price negative", "shopify:orders/create", _shopify_order(total_price="-10"), REJECT),
    Case(
        "shopify price 1e200",
        "shopify:orders/create",
        _shopify_order(line_items=[{"product_id": 5, "price": "1e200", "quantity": 1}]),
        REJECT,
    ),
    Case("shopify customer a string", "shopify:orders/create", _shopify_order(customer="x"), REJECT),
    Case(
        "shopify updated_at year 0001",
        "shopify:orders/create",
        _shopify_order(updated_at="0001-01-01T00:00:00+09:00"),
        REJECT,
    ),
    Case(
        "shopify checkout line_items an object",
        "shopify:checkouts/create",
        dumps({"id": 9, "token": "ck", "line_items": {"a": 1}}),
        REJECT,
    ),
    Case(
        "shopify customer email invalid",
        "shopify:customers/create",
        dumps({"id": 3, "email": "not-an-email"}),
        REJECT,
    ),
    Case(
        "shopify customer consent a string",
        "shopify:customers/create",
        dumps({"id": 3, "email": "a@b.example", "email_marketing_consent": "yes"}),
        REJECT,
    ),
    Case("shopify payload a list", "shopify:orders/create", b"[1]", REJECT),
    Case("shopify payload NaN", "shopify:orders/create", b'{"id": 1, "total_price": NaN}', REJECT),
    Case("shopify id an object", "shopify:orders/create", _shopify_order(id={"x": 1}), REJECT),
    Case("shopify unknown topic", "shopify:carts/explode", _shopify_order(), REJECT),
    Case(
        "shopify customer id 10 KB",
        "shopify:orders/create",
        _shopify_order(customer={"id": "9" * 10_000}),
        REJECT,
    ),
]

ACCEPTED: list[Case] = [
    Case("plain track", "/v1/track", track({"order_id": "o9", "total": 10}, "ok1"), ACCEPT, stored=("ok1",)),
    Case(
        "gzip track",
        "/v1/track",
        gzip.compress(track({"x": 1}, "ok2")),
        ACCEPT,
        headers={"Content-Encoding": "gzip"},
        stored=("ok2",),
    ),
    Case(
        "deflate (zlib) track",
        "/v1/track",
        zlib.compress(track({"x": 1}, "ok3")),
        ACCEPT,
        headers={"Content-Encoding": "deflate"},
        stored=("ok3",),
    ),
    Case(
        "raw deflate track",
        "/v1/track",
        zlib.compress(track({"x": 1}, "ok4"))[2:-4],
        ACCEPT,
        headers={"Content-Encoding": "deflate"},
        stored=("ok4",),
    ),
    Case(
        "gzip batch",
        "/v1/batch",
        gzip.compress(
            dumps(
                {
                    "batch": [
                        {"type": "identify", "userId": "u1", "messageId": "ok5-0"},
                        {"type": "page", "userId": "u1", "messageId": "ok5-1"},
                    ]
                }
            )
        ),
        ACCEPT,
        headers={"Content-Encoding": "gzip"},
        stored=("ok5-0", "ok5-1"),
    ),
    Case(
        "numbers at DynamoDB's limits",
        "/v1/track",
        b'{"userId":"u1","event":"E","messageId":"ok6","properties":{"big":9.9e125,"small":1e-128,"int":'
        + b"9" * 38
        + b',"neg":-1e100,"zero":0.0}}',
        ACCEPT,
        stored=("ok6",),
    ),
    Case(
        "nesting at the limit",
        "/v1/track",
        ('{"userId":"u1","event":"E","messageId":"ok7","properties":%s}' % nested(30)).encode(),
        ACCEPT,
        stored=("ok7",),
    ),
    Case(
        "emoji and CJK",
        "/v1/track",
        dumps({"userId": "ユーザー😀", "event": "閲覧", "messageId": "ok8", "properties": {"名前": "🍣"}}),
        ACCEPT,
        stored=("ok8",),
    ),
    Case(
        "escaped surrogate pair",
        "/v1/track",
        b'{"userId":"u1","event":"\\ud83d\\ude00","messageId":"ok9"}',
        ACCEPT,
        stored=("ok9",),
    ),
    Case(
        "numeric price text",
        "/v1/track",
        track({"products": [{"product_id": "p", "price": "25.00", "quantity": "2"}]}, "ok10"),
        ACCEPT,
        stored=("ok10",),
    ),
    Case(
        "small batch context",
        "/v1/batch",
        dumps(
            {
                "context": {"library": {"name": "analytics.js"}},
                "batch": [{"type": "track", "userId": "u1", "event": "A", "messageId": "ok11"}],
            }
        ),
        ACCEPT,
        stored=("ok11",),
    ),
    Case(
        "timestamp with skew correction",
        "/v1/track",
        dumps(
            {
                "userId": "u1",
                "event": "E",
                "messageId": "ok12",
                "timestamp": "2025-03-01T10:00:00+09:00",
                "sentAt": "2025-03-01T10:00:05+09:00",
            }
        ),
        ACCEPT,
        stored=("ok12",),
    ),
    Case("shopify order", "shopify:orders/create", _shopify_order(), ACCEPT, stored=("shopify:wh-1",)),
    Case(
        "catalog upsert",
        "/v1/catalog/products",
        dumps({"products": [{"product_id": "c1", "price": 1200}, {"product_id": "c2", "price": "0"}]}),
        ACCEPT,
        "PUT",
    ),
]

CORPUS: list[Case] = _value_cases() + SPECIFIC + ACCEPTED
