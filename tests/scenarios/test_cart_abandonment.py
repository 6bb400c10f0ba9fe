"""Cart abandonment: timing, exits, holdout, caps and re-entry, replayed through real journeys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kaeri.scenarios.model import Reentry
from kaeri_ops.scenarios.presets import preset

pytestmark = pytest.mark.slow  # journeys replayed on moto

H = timedelta(hours=1)


def no_holdout(scenario_id: str = "cart-abandonment"):
    return preset(scenario_id).model_copy(update={"holdout_percent": 0})


def test_reminder_goes_one_hour_after_the_add_then_line_next_day_then_incentive(harness):
    harness.install(no_holdout())
    harness.customer("c1", line_user_id="U" + "a" * 32)
    harness.add_to_cart("c1")
    harness.advance(59 * timedelta(minutes=1))
    assert harness.sent_to("c1") == []
    harness.advance(2 * timedelta(minutes=1))
    first = harness.sent_to("c1")
    assert [s.request.template_id for s in first] == ["cart-abandonment-1"]
    assert first[0].at == harness.clock.now() - timedelta(minutes=1)
    assert first[0].request.message_id.endswith(":email-reminder")
    harness.advance(4 * 24 * H)
    sent = harness.sent_to("c1")
    assert [s.request.template_id for s in sent] == [
        "cart-abandonment-1",
        "cart-abandonment-2",
        "cart-abandonment-3",
    ]
    assert sent[1].request.channels[0] == "line"
    assert (sent[1].at - sent[0].at) >= 24 * H
    assert sent[2].request.context.get("incentive") is True
    assert not harness.failed()


def test_order_thirty_minutes_after_adding_sends_no_cart_mail(harness):
    harness.install(no_holdout())
    harness.customer("c1")
    harness.add_to_cart("c1")
    harness.advance(timedelta(minutes=30))
    harness.order("c1")
    harness.advance(5 * 24 * H)
    assert harness.sent_to("c1", "cart-abandonment") == []


def test_emptied_cart_ends_the_journey(harness):
    harness.install(no_holdout())
    harness.customer("c1")
    harness.add_to_cart("c1")
    harness.advance(timedelta(minutes=20))
    harness.remove_from_cart("c1")
    harness.advance(5 * 24 * H)
    assert harness.sent_to("c1") == []
    skips = harness.skips("c1")
    assert [s["skip_reason"] for s in skips] == ["exited"]


def test_holdout_receives_nothing_and_is_counted(harness):
    harness.install(preset("cart-abandonment").model_copy(update={"holdout_percent": 100}))
    harness.customer("c1")
    harness.add_to_cart("c1")
    harness.advance(5 * 24 * H)
    assert harness.sent_to("c1") == []
    assert [s["skip_reason"] for s in harness.skips("c1")] == ["holdout"]
    journeys = harness.clients.table("journeys").query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "shop1#c1"}
    )["Items"]
    assert [(j["status"], j["holdout"]) for j in journeys] == [("holdout", True)]
    assert harness.executions == {}


def test_second_add_within_the_reentry_period_does_not_start_a_second_journey(harness):
    harness.install(no_holdout())
    harness.customer("c1")
    harness.add_to_cart("c1", "p1")
    harness.advance(timedelta(minutes=10))
    harness.add_to_cart("c1", "p2")
    harness.advance(2 * H)
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["cart-abandonment-1"]
    assert len(harness.executions) == 1


def test_same_event_replayed_starts_one_journey(harness):
    from kaeri.events import StoredEvent
    from kaeri.journeys.triggers import on_event

    every_time = Reentry(policy="every_time")
    harness.install(
        preset("cart-abandonment").model_copy(update={"holdout_percent": 0, "reentry": every_time})
    )
    harness.customer("c1")
    harness.add_to_cart("c1")
    items = harness.clients.table("events").query(
        IndexName="by_identity",
        KeyConditionExpression="identity = :i",
        ExpressionAttributeValues={":i": "shop1#c1"},
    )["Items"]
    event = StoredEvent.from_item(items[0])
    for _ in range(3):
        on_event(event, harness.profile("c1"), harness.clients)
    harness.pump()
    assert len(harness.executions) == 1


def test_customer_without_cart_items_is_not_in_the_audience(harness):
    harness.install(no_holdout())
    harness.customer("c1")
    harness.track("c1", "Product Added", {"product_id": "p1"})  # profile cart still empty
    harness.advance(3 * H)
    assert harness.executions == {}


def test_an_imported_past_event_updates_nothing_but_starts_no_journey(harness):
    from kaeri.events import StoredEvent
    from kaeri.journeys.triggers import on_event

    every_time = Reentry(policy="every_time")  # so only the event's age can keep it out
    harness.install(
        preset("cart-abandonment").model_copy(update={"holdout_percent": 0, "reentry": every_time})
    )
    harness.customer("c1")
    harness.add_to_cart("c1")  # a fresh add starts the journey
    assert len(harness.executions) == 1
    old = StoredEvent(
        shop_id="shop1",
        message_id="imported-1",
        type="track",
        event="Product Added",
        user_id="c1",
        properties={"product_id": "p2"},
        timestamp=harness.now - timedelta(days=90),
        received_at=harness.now,
    )
    assert on_event(old, harness.profile("c1"), harness.clients) == []
    harness.pump()
    assert len(harness.executions) == 1


def test_a_running_journey_keeps_the_exit_rules_of_the_version_it_entered_under(harness):
    # Given a cart journey running under version 1 (no exit on a product view)
    v1 = harness.install(no_holdout())
    harness.customer("c1")
    harness.customer("c2")
    harness.add_to_cart("c1")
    harness.advance(timedelta(minutes=10))
    # When the marketer pushes version 2, which also ends journeys on any product view
    v2 = v1.model_copy(update={"exit": v1.exit.model_copy(update={"events": ["Product Viewed"]})})
    harness.install(v2)
    harness.add_to_cart("c2")  # enters under version 2
    harness.advance(timedelta(minutes=10))
    for customer in ("c1", "c2"):
        harness.track(customer, "Product Viewed", {"product_id": "p2"})
    harness.advance(2 * H)
    # Then the version-1 journey still sends its reminder; the version-2 journey ended on the view
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["cart-abandonment-1"]
    assert harness.sent_to("c2") == []
    journeys = {
        j["pk"]: j
        for j in harness.clients.table("journeys").scan()["Items"]
        if j.get("scenario_id") == "cart-abandonment"
    }
    assert journeys["shop1#c2"]["status"] == "exited"
    assert journeys["shop1#c1"]["status"] == "running"
