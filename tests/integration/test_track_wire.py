"""Real SDKs, unmodified, against `kaeri local`: gzip bodies, parseable error bodies, chunked, CORS."""

from __future__ import annotations

import gzip
import http.client
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
KEY = "wk_wire"
SDK_DIR = Path(__file__).resolve().parents[1] / "sdk"


@pytest.fixture(scope="module")
def stack():
    with EmbeddedStack(clock="manual", start=START, write_key=KEY, shop_id="shop-wire") as running:
        yield running


def stored_ids(stack) -> set[str]:
    items = stack.clients.table("events").scan()["Items"]
    return {i["message_id"] for i in items if i["shop_id"] == "shop-wire"}


def _calls(client, prefix: str) -> None:
    client.identify(f"{prefix}-u", {"email": "hanako@example.com"}, message_id=f"{prefix}-1")
    client.page(f"{prefix}-u", name="Home", message_id=f"{prefix}-2")
    client.track(
        f"{prefix}-u", "Product Added", {"product_id": "p1", "price": 2500}, message_id=f"{prefix}-3"
    )
    client.track(
        f"{prefix}-u",
        "Order Completed",
        {"order_id": f"{prefix}-o", "total": 2500, "products": [{"product_id": "p1", "price": 2500}]},
        message_id=f"{prefix}-4",
    )
    client.flush()


def test_segment_python_sdk_with_gzip_stores_events_and_parses_errors(stack):
    from segment.analytics import Client

    errors: list[Exception] = []
    client = Client(
        write_key=KEY, host=stack.api_url, gzip=True, sync_mode=True, max_retries=0,
        on_error=lambda error, items: errors.append(error),
    )  # fmt: skip
    _calls(client, "seg")
    assert errors == []
    assert {f"seg-{i}" for i in range(1, 5)} <= stored_ids(stack)

    from segment.analytics.request import APIError

    with pytest.raises(APIError) as raised:  # sync mode raises what it parsed from the error body
        client.track("seg-u", "Product Added", {"price": float("nan")}, message_id="seg-bad")
    error = raised.value
    assert (error.status, error.code) == (400, "invalid_request")  # not KeyError: 'code'
    assert "properties.price" in error.message
    assert "seg-bad" not in stored_ids(stack)


def test_rudderstack_python_sdk_gzips_by_default_and_its_events_are_stored(stack):
    from rudderstack.analytics import Client

    errors: list[Exception] = []
    client = Client(
        write_key=KEY, host=stack.api_url, sync_mode=True, max_retries=0,
        on_error=lambda error, items: errors.append(error),
    )  # fmt: skip
    _calls(client, "rud")
    assert errors == []
    assert {f"rud-{i}" for i in range(1, 5)} <= stored_ids(stack)

    from rudderstack.analytics.request import APIError

    with pytest.raises(APIError) as raised:
        client.track("rud-u", "Order Completed", {"total": -10}, message_id="rud-bad")
    error = raised.value
    assert (error.status, error.code) == (400, "invalid_request")
    assert "properties.total" in error.message
    assert "rud-bad" not in stored_ids(stack)


def _request(
    stack, method: str, path: str, body: bytes | None = None, headers: dict | None = None, chunks=None
):
    url = urlsplit(stack.api_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    if chunks is not None:
        conn.putrequest(method, path)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for chunk in chunks:
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
    else:
        conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def _auth() -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


def test_chunked_gzip_body_is_read_by_the_local_server(stack):
    body = gzip.compress(json.dumps({"userId": "c-u", "event": "E", "messageId": "chunked-1"}).encode())
    status, _, data = _request(
        stack, "POST", "/v1/track",
        headers={**_auth(), "Content-Type": "application/json", "Content-Encoding": "gzip"},
        chunks=[body[:10], body[10:25], body[25:]],
    )  # fmt: skip
    assert status == 200, data
    assert "chunked-1" in stored_ids(stack)


def test_browser_page_can_post_cross_origin(stack):
    origin = {"Origin": "https://shop.example"}
    status, headers, _ = _request(
        stack, "OPTIONS", "/v1/batch",
        headers={**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"},
    )  # fmt: skip
    assert status in (200, 204)
    assert headers["access-control-allow-origin"] in ("*", "https://shop.example")
    assert "POST" in headers["access-control-allow-methods"]
    assert "authorization" in headers["access-control-allow-headers"].lower()

    body = json.dumps(
        {"batch": [{"type": "track", "anonymousId": "b1", "event": "E", "messageId": "cors-1"}]}
    )
    status, headers, data = _request(
        stack, "POST", "/v1/batch", body.encode(), {**origin, **_auth(), "Content-Type": "text/plain"}
    )
    assert status == 200, data
    assert headers["access-control-allow-origin"] in ("*", "https://shop.example")
    assert "cors-1" in stored_ids(stack)

    status, headers, data = _request(stack, "POST", "/v1/track", b"{", {**origin, **_auth()})
    assert status == 400
    assert headers["access-control-allow-origin"] in ("*", "https://shop.example")  # errors readable too


def test_segment_node_sdk_batch_is_stored(stack):
    assert (SDK_DIR / "node_modules" / "@segment" / "analytics-node").is_dir(), "run make setup (npm ci)"
    result = subprocess.run(
        ["node", str(SDK_DIR / "node_sdk.mjs"), stack.api_url, KEY],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert {"node-identify", "node-page", "node-add", "node-order"} <= stored_ids(stack)
