"""A storage failure midway through a batch is a retryable 503; the retry completes it exactly once."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from kaeri.tracking.store import EventStore

BATCH = {
    "batch": [
        {"type": "track", "userId": "u1", "event": f"E{i}", "messageId": f"wf-{i}", "properties": {"i": i}}
        for i in range(6)
    ]
}


def test_failed_write_midway_is_retryable_and_the_retry_stores_each_event_once(raw_api, monkeypatch):
    real_put_item = EventStore.put_item
    failed: list[str] = []

    def flaky(self, item):
        if item["message_id"]["S"] == "wf-3" and not failed:
            failed.append("wf-3")
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "PutItem",
            )
        return real_put_item(self, item)

    monkeypatch.setattr(EventStore, "put_item", flaky)
    first = raw_api("POST", "/v1/batch", json.dumps(BATCH).encode())

    assert first.status == 503
    assert first.body["code"] == "unavailable"
    assert first.headers.get("Retry-After") == "1"
    assert "wf-3" not in raw_api.message_ids()

    again = raw_api("POST", "/v1/batch", json.dumps(BATCH).encode())

    assert again.status == 200
    items = raw_api.aws.table("events").scan()["Items"]
    assert sorted(i["message_id"] for i in items) == [f"wf-{i}" for i in range(6)]


def test_lambda_answers_cors_preflight_and_decodes_base64_gzip(raw_api):
    import gzip

    preflight = raw_api(
        "OPTIONS",
        "/v1/track",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        key=None,
    )
    assert preflight.status in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", "https://shop.example")

    body = gzip.compress(json.dumps({"userId": "u1", "event": "E", "messageId": "gz-1"}).encode())
    answer = raw_api(
        "POST", "/v1/track", body, headers={"Content-Encoding": "gzip", "Origin": "https://a.example"}
    )
    assert answer.status == 200
    assert answer.headers["Access-Control-Allow-Origin"] in ("*", "https://a.example")
    assert "gz-1" in raw_api.message_ids()
