"""Ingest benchmark: 10,000 events of a realistic shop mix through the track handler and the stream consumer.

Runs in-process against moto. The handlers get the bench's clients through their one seam
(``module.wired.use(clients)``, kaeri.wiring), and every AWS request they send is counted by operation
with botocore event hooks (bench._moto.RequestCounter). DynamoDB write requests: PutItem/UpdateItem/
DeleteItem = 1, BatchWriteItem/TransactWriteItems = one per item.
"""

from __future__ import annotations

import base64
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = 10_000
BATCH = 100
# The stream consumer runs over the first STREAM_EVENTS of the same events (in stream order): moto
# makes its several reads per event slow, and the per-event write ratio settles well before 10,000.
STREAM_EVENTS = 1_000
WRITE_KEY = "wk_bench"
CONTEXT = SimpleNamespace(
    function_name="track-api",
    memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:ap-northeast-1:123456789012:function:track-api",
    aws_request_id="bench",
)
# Share of each call in a typical storefront's traffic.
MIX = [
    ("page", None, 0.28),
    ("track", "Product Viewed", 0.34),
    ("track", "Product Added", 0.11),
    ("track", "Product Removed", 0.03),
    ("track", "Cart Viewed", 0.04),
    ("track", "Checkout Started", 0.04),
    ("track", "Order Completed", 0.03),
    ("track", "Product Added to Wishlist", 0.02),
    ("identify", None, 0.07),
    ("track", "Newsletter Opened", 0.04),  # a custom event
]


def _paths() -> None:
    for sub in ("layers/common", "functions/track", "functions/evaluate", "."):
        path = str(ROOT / sub)
        if path not in sys.path:
            sys.path.insert(0, path)


def generate(n: int = EVENTS, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    kinds, weights = [(t, e) for t, e, _ in MIX], [w for *_, w in MIX]
    start = datetime(2025, 3, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        call, name = rng.choices(kinds, weights)[0]
        visitor = rng.randrange(1500)
        logged_in = visitor % 3 == 0 or call == "identify"
        item: dict[str, Any] = {
            "type": call,
            "messageId": f"bench-{i}",
            "anonymousId": f"anon-{visitor}",
            "timestamp": (start + timedelta(seconds=i * 6)).isoformat(),
            "context": {"library": {"name": "analytics.js", "version": "4.1"}, "page": {"path": "/"}},
        }
        if logged_in:
            item["userId"] = f"user-{visitor}"
        product = {
            "product_id": f"p{rng.randrange(300)}",
            "name": "Linen shirt",
            "price": 4980,
            "category": "tops",
        }
        if call == "track":
            item["event"] = name
            props: dict[str, Any] = dict(product)
            if name == "Order Completed":
                props = {
                    "order_id": f"o{i}",
                    "total": 9960,
                    "currency": "JPY",
                    "products": [{**product, "quantity": 2}],
                }
            elif name == "Checkout Started":
                props = {"checkout_id": f"c{i}", "value": 4980, "products": [product]}
            item["properties"] = props
        elif call == "identify":
            item["traits"] = {
                "email": f"user{visitor}@example.jp",
                "firstName": "Hanako",
                "birthday": "1990-04-01",
                "pointsBalance": rng.randrange(0, 2000),
                "pointsExpireOn": "2025-09-30",
                "consent": {"email": "granted"},
            }
        else:
            item["name"] = "Home"
        items.append(item)
    return items


def _api_event(body: dict[str, Any]) -> dict[str, Any]:
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    return {
        "resource": "/v1/batch",
        "path": "/v1/batch",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {
            "resourcePath": "/v1/batch",
            "httpMethod": "POST",
            "stage": "prod",
            "requestId": "r",
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def cold_import_ms(runs: int = 7, *, on_lambda: bool = False) -> float:
    """Median time to import the track handler in a fresh interpreter.

    on_lambda: with the variables the Lambda runtime sets (LAMBDA_TASK_ROOT, the function name), so
    tracing is on as deployed (kaeri.tracing: the X-Ray recorder, botocore patched); without them
    tracing is off, as in the tests and the local stack.
    """
    code = "import time; t = time.perf_counter(); import track_api; print((time.perf_counter() - t) * 1000)"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/common", "functions/track")),
    }
    env.setdefault("AWS_REGION", "ap-northeast-1")
    for name in ("LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED"):
        env.pop(name, None)
    samples = []
    with tempfile.TemporaryDirectory() as task_root:
        if on_lambda:
            env.update(LAMBDA_TASK_ROOT=task_root, AWS_LAMBDA_FUNCTION_NAME="track-api")
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            samples.append(float(out.stdout.strip().splitlines()[-1]))
    return round(statistics.median(samples), 1)


def _stream_records(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return [
        {
            "eventID": str(i),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "dynamodb": {
                "Keys": {"pk": {"S": item["pk"]}},
                "NewImage": {k: serializer.serialize(v) for k, v in item.items()},
                "SequenceNumber": f"{i:021d}",
                "StreamViewType": "NEW_IMAGE",
            },
        }
        for i, item in enumerate(items)
    ]


def run() -> dict[str, float | int | str]:
    _paths()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Kaeri")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "kaeri")
    os.environ.setdefault("KAERI_API_URL", "https://bench.invalid")  # required as on AWS (moto in-process)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines on stdout
    import warnings

    warnings.filterwarnings("ignore", message="No application metrics")
    from moto import mock_aws

    from kaeri import shops
    from kaeri.aws import AwsClients
    from kaeri.settings import Settings
    from kaeri.tables import TABLES

    items = generate()
    batches = [
        {"batch": items[i : i + BATCH], "sentAt": items[i]["timestamp"]} for i in range(0, len(items), BATCH)
    ]
    results: dict[str, float | int | str] = {"events": len(items)}
    with mock_aws(), ExitStack() as stack:
        clients = AwsClients(Settings.from_env())
        for table in TABLES:
            clients.dynamodb.create_table(**table.create_table_kwargs())
        shops.clear_cache()
        shops.create_shop(clients, "bench-shop", name="Bench", write_key=WRITE_KEY)
        import evaluate_stream
        import track_api

        from bench._moto import RequestCounter, per_event

        # The handlers' one seam (kaeri.wiring): they call exactly these clients, which the counter hooks.
        stack.enter_context(track_api.wired.use(clients))
        stack.enter_context(evaluate_stream.wired.use(clients))
        counter = RequestCounter().attach(clients)

        # 1. The handler's own CPU: the same requests with the database call replaced by a no-op.
        from kaeri.tracking import store

        real_put = store.EventStore.put_item
        store.EventStore.put_item = lambda self, item: bool(item)  # type: ignore[method-assign]
        cpu = time.process_time()
        for body in batches:
            track_api.handler(_api_event(body), CONTEXT)
        results["cpu_ms_per_event"] = round((time.process_time() - cpu) * 1000 / len(items), 3)
        store.EventStore.put_item = real_put  # type: ignore[method-assign]

        # 2. The real thing against moto: requests and write requests per event.
        before, writes_before = counter.snapshot()
        started, cpu = time.perf_counter(), time.process_time()
        for body in batches:
            response = track_api.handler(_api_event(body), CONTEXT)
            assert response["statusCode"] == 200, response["body"]
        results["cpu_ms_per_event_with_moto"] = round((time.process_time() - cpu) * 1000 / len(items), 3)
        results["track_seconds"] = round(time.perf_counter() - started, 1)
        track_requests = counter.requests - before
        track_writes = counter.writes - writes_before
        # Every accepted event is stored with its own request: fewer counted means the hooks missed some.
        assert track_requests["PutItem"] >= len(items), f"counted {track_requests} for {len(items)} events"
        results["write_requests_per_event"] = round(track_writes / len(items), 3)
        results["track_requests_per_event"] = round(sum(track_requests.values()) / len(items), 3)
        results["track_requests_by_operation"] = per_event(track_requests, len(items))

        # 3. Retried requests store nothing twice.
        writes_before = counter.writes
        track_api.handler(_api_event(batches[0]), CONTEXT)
        results["duplicate_batch_extra_writes_per_event"] = round(
            (counter.writes - writes_before - BATCH) / BATCH, 3
        )

        # 4. The stream consumer over the stored events, in stream order.
        stored = []
        scan: dict[str, Any] = {}
        while True:
            page = clients.table("events").scan(**scan)
            stored.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        stored.sort(key=lambda i: int(i["message_id"].split("-")[1]))
        records = _stream_records(stored[:STREAM_EVENTS])
        results["stream_events"] = len(records)
        before, writes_before = counter.snapshot()
        started, cpu = time.perf_counter(), time.process_time()
        failures = 0
        for i in range(0, len(records), BATCH):
            response = evaluate_stream.handler({"Records": records[i : i + BATCH]}, CONTEXT)
            failures += len(response["batchItemFailures"])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        stream_requests = counter.requests - before
        stream_writes = counter.writes - writes_before
        results["stream_seconds"] = round(seconds, 1)
        results["stream_cpu_ms_per_event"] = round(cpu * 1000 / len(records), 3)
        results["stream_failures"] = failures
        stream_per_event = stream_writes / len(records)
        results["stream_write_requests_per_event"] = round(stream_per_event, 3)
        results["stream_requests_per_event"] = round(sum(stream_requests.values()) / len(records), 3)
        results["stream_requests_by_operation"] = per_event(stream_requests, len(records))
        results["end_to_end_write_requests_per_event"] = round(
            track_writes / len(items) + stream_per_event, 3
        )
    results["cold_import_ms"] = cold_import_ms()
    results["cold_import_ms_on_lambda"] = cold_import_ms(on_lambda=True)
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
