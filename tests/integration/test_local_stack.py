"""The local stack plays API Gateway, the stream and queue event source mappings, over real HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from kaeri import clock
from kaeri.settings import get_settings
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def stack():
    with EmbeddedStack(clock="manual", start=START, write_key="wk_test", shop_id="shop-a") as running:
        yield running


def fake_track(stack, seen):
    """Stands in for the track function: stores the request body as an event item."""

    def handler(event, context):
        seen.append(event)
        body = json.loads(event["body"]) if event["body"] else {}
        stack.clients.table("events").put_item(
            Item={
                "pk": f"shop-a#{body.get('messageId', 'm')}",
                "identity": "shop-a#u1",
                "ts_mid": "x",
                "shop_day": "shop-a#2025-01-06",
            }
        )
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": json.dumps({"success": True}),
        }

    return handler


def test_resources_and_environment_match_the_deployed_stack(stack):
    settings = get_settings()
    assert settings.local is True
    assert settings.aws_endpoint_url == stack.aws_endpoint_url
    assert settings.api_url == stack.api_url
    assert settings.journey_state_machine_arn == stack.resources.state_machine_arn
    assert settings.fanout_queue_url == stack.resources.fanout_queue_url
    tables = stack.clients.dynamodb.list_tables()["TableNames"]
    assert {"kaeri-events", "kaeri-customers", "kaeri-config", "kaeri-journeys", "kaeri-messages"} <= set(
        tables
    )
    identities = stack.clients.sesv2.list_email_identities()["EmailIdentities"]
    assert stack.from_email in {i["IdentityName"] for i in identities}
    assert stack.clients.secretsmanager.get_secret_value(SecretId=stack.resources.link_secret_name)[
        "SecretString"
    ]
    assert clock.now() == START  # the manual clock is installed process-wide


def test_shop_is_created_with_the_write_key(stack):
    from kaeri.shops import get_shop, shop_for_write_key

    assert shop_for_write_key(stack.clients, "wk_test") == "shop-a"
    shop = get_shop(stack.clients, "shop-a")
    assert shop.from_email == stack.from_email and shop.webhook_secret


def test_http_request_becomes_a_proxy_event_and_the_response_is_written_back(stack):
    seen: list[dict] = []
    stack.runner.overrides["track-api"] = fake_track(stack, seen)
    stream_batches: list[dict] = []
    stack.runner.overrides["evaluate-stream"] = lambda event, ctx: stream_batches.append(event) or {}

    response = requests.post(
        f"{stack.api_url}/v1/track?x=1&x=2",
        json={"messageId": "m1", "event": "Product Viewed"},
        auth=("wk_test", ""),
        timeout=10,
    )

    assert response.status_code == 200 and response.json() == {"success": True}
    assert response.headers["Set-Cookie"] == "a=1, b=2"
    event = seen[0]
    assert event["httpMethod"] == "POST" and event["path"] == "/v1/track" and event["resource"] == "/v1/track"
    assert event["headers"]["Authorization"] == "Basic " + base64.b64encode(b"wk_test:").decode()
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["stage"] == "local"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert json.loads(event["body"])["messageId"] == "m1" and event["isBase64Encoded"] is False

    assert stack.drain() >= 1
    records = stream_batches[0]["Records"]
    assert len(records) == 1
    assert records[0]["eventName"] == "INSERT" and records[0]["eventSource"] == "aws:dynamodb"
    assert records[0]["dynamodb"]["NewImage"]["pk"] == {"S": "shop-a#m1"}
    assert records[0]["eventSourceARN"].startswith("arn:aws:dynamodb:")
    assert stack.drain() == 0  # each record is delivered once


def test_greedy_path_parameters_and_unknown_routes(stack):
    seen: list[dict] = []
    stack.runner.overrides["track-api"] = fake_track(stack, seen)

    requests.post(f"{stack.api_url}/v1/webhooks/shopify/orders/create", data=b"{}", timeout=10)
    missing = requests.get(f"{stack.api_url}/v1/nothing", timeout=10)

    assert seen[0]["pathParameters"] == {"topic": "orders/create"}
    assert seen[0]["resource"] == "/v1/webhooks/shopify/{topic+}"
    assert missing.status_code == 404 and "no route" in missing.json()["message"]


def test_handler_crash_answers_502(stack):
    def boom(event, ctx):
        raise RuntimeError("boom")

    stack.runner.overrides["track-api"] = boom
    response = requests.post(f"{stack.api_url}/v1/track", json={}, timeout=10)
    assert response.status_code == 502


def test_stream_batch_item_failures_are_retried_then_set_aside(stack):
    table = stack.clients.table("events")
    for i in range(3):
        table.put_item(Item={"pk": f"shop-a#m{i}", "identity": "i", "ts_mid": str(i), "shop_day": "d"})
    calls: list[list[str]] = []

    def flaky(event, ctx):
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        calls.append(keys)
        failing = [r for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "shop-a#m1"]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failing]}

    stack.runner.overrides["evaluate-stream"] = flaky
    stack.drain()

    assert calls[0] == ["shop-a#m0", "shop-a#m1", "shop-a#m2"]
    assert calls[1][0] == "shop-a#m1"  # retried from the failed record, m0 not redelivered
    assert [f.record["dynamodb"]["Keys"]["pk"]["S"] for f in stack.streams.on_failure] == ["shop-a#m1"]
    assert calls[-1] == ["shop-a#m2"]


def test_fanout_queue_messages_reach_the_fanout_function(stack):
    bodies: list[str] = []
    stack.runner.overrides["evaluate-fanout"] = lambda event, ctx: (
        bodies.extend(r["body"] for r in event["Records"]) or {"batchItemFailures": []}
    )
    stack.clients.sqs.send_message(QueueUrl=stack.resources.fanout_queue_url, MessageBody='{"page": 1}')

    stack.drain()

    assert bodies == ['{"page": 1}']
    assert (
        stack.clients.sqs.receive_message(QueueUrl=stack.resources.fanout_queue_url).get("Messages") is None
    )


def test_clock_control_endpoints(stack):
    shown = requests.get(f"{stack.api_url}/_local/clock", timeout=10).json()
    assert shown["now"] == "2025-01-06T09:00:00.000Z"

    moved = requests.post(f"{stack.api_url}/_local/clock", json={"advance": "1d2h"}, timeout=10).json()
    assert moved["now"] == "2025-01-07T11:00:00.000Z"
    assert clock.now() == START + timedelta(days=1, hours=2)

    moved = requests.post(
        f"{stack.api_url}/_local/clock", json={"to": "2025-01-08T00:00:00Z"}, timeout=10
    ).json()
    assert moved["now"] == "2025-01-08T00:00:00.000Z"
    bad = requests.post(f"{stack.api_url}/_local/clock", json={"advance": "soon"}, timeout=10)
    assert bad.status_code == 400 and "duration" in bad.json()["message"]
    assert requests.post(f"{stack.api_url}/_local/drain", timeout=10).json()["handled"] == 0


def test_stop_restores_clock_and_environment():
    before = clock.current()
    with EmbeddedStack(clock="manual", start=START):
        assert clock.now() == START
    assert clock.current() is before
    assert get_settings().aws_endpoint_url is None or "127.0.0.1" not in (
        get_settings().aws_endpoint_url or ""
    )


def test_in_process_shortcuts_give_what_the_api_gives(stack):
    """In-process clients skip the socket; the stream poller reads moto's backend. Same answers."""
    from kaeri_ops.definitions.topology import EVALUATE_STREAM
    from kaeri_ops.local import inprocess
    from kaeri_ops.local.streams import StreamPoller

    assert inprocess._app_for(stack.aws_endpoint_url) is not None
    stack.drain()
    table = stack.clients.table("events")
    table.put_item(
        Item={
            "pk": "shop-a#m1",
            "identity": "shop-a#u1",
            "ts_mid": "x",
            "shop_day": "shop-a#2025-01-06",
            "blob": b"\x00\x01",
            "nested": {"b": b"\x02", "n": 3, "l": [b"\x03", "s"]},
            "tags": {"a", "b"},
        }
    )
    table.update_item(
        Key={"pk": "shop-a#m1"}, UpdateExpression="SET n2 = :v", ExpressionAttributeValues={":v": 1}
    )
    events = {}
    for read_backend in (True, False):
        seen = []
        poller = StreamPoller(stack.clients, stack.runner, EVALUATE_STREAM, stack.settings.table("events"))
        poller.read_backend = read_backend
        stack.runner.overrides[EVALUATE_STREAM.name] = lambda event, context, seen=seen: seen.append(event)
        while poller.poll_once():
            pass
        events[read_backend] = [r for e in seen for r in e["Records"]]
    assert events[True] == events[False]
    last = events[True][-1]
    assert last["eventName"] == "MODIFY" and last["dynamodb"]["NewImage"]["blob"] == {"B": "AAE="}
    assert isinstance(last["dynamodb"]["ApproximateCreationDateTime"], int)
