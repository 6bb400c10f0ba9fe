"""Segment payload rules that need no AWS: skew, ids, traits, auth header parsing."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from kaeri.tracking.auth import basic_auth_user, write_key_of
from kaeri.tracking.errors import InvalidRequest
from kaeri.tracking.segment import parse_request
from kaeri.tracking.skew import corrected_timestamp

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def test_skew_shifts_by_received_minus_sent():
    ts, sent = NOW - timedelta(hours=2), NOW - timedelta(hours=1, minutes=59)
    assert corrected_timestamp(ts, sent, NOW) == NOW - timedelta(minutes=1)
    assert corrected_timestamp(ts, None, NOW) == ts
    assert corrected_timestamp(None, sent, NOW) == NOW


def parse(body, call_type="track"):
    return parse_request(body, call_type=call_type, shop_id="s", received_at=NOW, body_bytes=100)


def test_numeric_user_ids_are_text_and_booleans_are_refused():
    assert parse({"userId": 42, "event": "X"})[0].user_id == "42"
    with pytest.raises(InvalidRequest) as error:
        parse({"userId": True, "event": "X"})
    assert error.value.errors[0].field == "userId"


def test_reserved_user_ids_are_refused():
    with pytest.raises(InvalidRequest, match="reserved"):
        parse({"userId": "anon:x", "event": "X"})


def test_batch_sent_at_applies_to_items_and_errors_list_every_bad_item():
    body = {
        "sentAt": (NOW - timedelta(hours=1)).isoformat(),
        "batch": [
            {
                "type": "track",
                "anonymousId": "a",
                "event": "X",
                "timestamp": (NOW - timedelta(hours=1)).isoformat(),
            }
        ],
    }
    assert parse(body, None)[0].timestamp == NOW
    with pytest.raises(InvalidRequest) as error:
        parse(
            {"batch": [{"type": "track"}, {"type": "page", "anonymousId": "a"}, {"type": "identify"}]}, None
        )
    assert [(e.index, e.field) for e in error.value.errors] == [(0, "event"), (2, "userId")]


def test_empty_batch_is_refused():
    with pytest.raises(InvalidRequest) as error:
        parse({"batch": []}, None)
    assert error.value.errors[0].index is None and error.value.errors[0].field == "batch"


def test_consent_string_becomes_a_record_at_the_event_time():
    [event] = parse({"userId": "u", "traits": {"consent": {"sms": "granted"}}}, "identify")
    assert event.traits["consent"]["sms"] == {"status": "granted", "at": NOW.isoformat()}


def test_write_key_from_basic_auth_or_body():
    header = {"authorization": "Basic " + base64.b64encode(b"wk_1:").decode()}
    assert basic_auth_user(header) == "wk_1"
    assert basic_auth_user({"Authorization": "Bearer x"}) is None
    assert basic_auth_user({"Authorization": "Basic !!!"}) is None
    assert write_key_of({}, {"writeKey": "wk_2"}) == "wk_2"
