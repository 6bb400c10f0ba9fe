"""`kaeri profiles show` and `kaeri events list` against a stack (moto, via --stack)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from kaeri.events import StoredEvent
from kaeri.profiles.projector import ProfileProjector
from kaeri.tracking.store import EventStore
from kaeri_ops.cli import app

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TARGET = ["--stack", "kaeri", "--shop", "shop-a"]


def _events(aws):
    events = [
        StoredEvent(
            shop_id="shop-a",
            message_id="m1",
            type="track",
            event="Product Added",
            anonymous_id="a1",
            properties={"product_id": "p1"},
            timestamp=T0,
            received_at=T0,
        ),
        StoredEvent(
            shop_id="shop-a",
            message_id="m2",
            type="identify",
            user_id="u1",
            anonymous_id="a1",
            traits={"email": "hanako@example.jp"},
            timestamp=T0 + timedelta(minutes=1),
            received_at=T0 + timedelta(minutes=1),
        ),
    ]
    for event in events:
        EventStore(aws).put(event)
        ProfileProjector(aws).apply(event)


def test_profile_show_json(aws):
    _events(aws)
    result = CliRunner().invoke(app, ["profiles", "show", "u1", "--json", *TARGET])

    assert result.exit_code == 0, result.output
    profile = json.loads(result.output)
    assert profile["email"] == "hanako@example.jp" and list(profile["cart"]) == ["p1"]


def test_profile_show_table_and_missing(aws):
    _events(aws)
    runner = CliRunner()
    assert "hanako@example.jp" in runner.invoke(app, ["profiles", "show", "u1", *TARGET]).output
    assert runner.invoke(app, ["profiles", "show", "nobody", *TARGET]).exit_code == 1


def test_events_list_includes_events_before_login(aws):
    _events(aws)
    result = CliRunner().invoke(app, ["events", "list", "--user", "u1", "--json", *TARGET])

    assert result.exit_code == 0, result.output
    assert [e["message_id"] for e in json.loads(result.output)] == ["m1", "m2"]
    assert "Product Added" in CliRunner().invoke(app, ["events", "list", "--user", "u1", *TARGET]).output
