"""The ingest bench counts the requests the handlers themselves send (injected with wired.use), by
operation: the figures the cost model takes its requests per event from."""

from __future__ import annotations

from collections import Counter

import pytest

from bench import ingest_bench
from bench._moto import RequestCounter, per_event
from kaeri import shops
from kaeri.scenarios.store import clear_cache


@pytest.fixture
def shop(aws):
    shops.clear_cache()
    clear_cache()
    shops.create_shop(aws, "bench-shop", name="Bench", write_key=ingest_bench.WRITE_KEY)
    yield aws
    shops.clear_cache()
    clear_cache()


def _track(aws, items):
    import track_api

    with track_api.wired.use(aws):
        body = {"batch": items, "sentAt": items[0]["timestamp"]}
        response = track_api.handler(ingest_bench._api_event(body), ingest_bench.CONTEXT)
    assert response["statusCode"] == 200, response["body"]


def test_track_requests_are_counted_one_put_per_event(shop):
    items = ingest_bench.generate(5)
    counter = RequestCounter().attach(shop)

    _track(shop, items)

    assert counter.requests["PutItem"] == 5
    assert counter.writes == 5
    _track(shop, items)  # a retried batch: the conditional puts are sent (and refused), nothing is stored
    assert counter.requests["PutItem"] == 10
    assert len(shop.table("events").scan()["Items"]) == 5


def test_stream_requests_per_event_by_operation(shop):
    """A logged-in visitor's Product Viewed: the profile read, its save and the interest item, nothing
    else (no scenario is enabled, so one directory query answers for every later event)."""
    import evaluate_stream

    event = {
        "type": "track",
        "event": "Product Viewed",
        "messageId": "bench-0",
        "userId": "user-1",
        "timestamp": "2025-03-01T00:00:00+00:00",
        "properties": {"product_id": "p1", "name": "Linen shirt", "price": 4980},
    }
    _track(shop, [event])
    [item] = shop.table("events").scan()["Items"]
    counter = RequestCounter().attach(shop)

    with evaluate_stream.wired.use(shop):
        response = evaluate_stream.handler(
            {"Records": ingest_bench._stream_records([item])}, ingest_bench.CONTEXT
        )

    assert response == {"batchItemFailures": []}
    assert counter.requests == Counter({"GetItem": 1, "UpdateItem": 1, "PutItem": 1, "Query": 1})
    assert counter.writes == 2
    assert "UpdateItem 1.000" in per_event(counter.requests, 1)
