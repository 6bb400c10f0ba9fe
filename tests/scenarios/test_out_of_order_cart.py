"""The Node SDK's batch (identify, view, add, order in one millisecond), through the real stream path:
whatever order the stream delivers it in, the bought item is not left in the cart and no cart
reminder goes out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kaeri.events import StoredEvent
from kaeri.profiles.projector import project_and_trigger
from kaeri_ops.scenarios.presets import preset
from tests.scenarios.driver import SHOP

pytestmark = pytest.mark.slow  # journeys replayed on moto


def batch(harness, with_order: bool = True) -> list[StoredEvent]:
    at = harness.now
    calls = [
        ("n1", {"type": "identify", "traits": {"email": "c1@example.com"}}),
        ("n2", {"type": "track", "event": "Product Viewed", "properties": {"product_id": "p1"}}),
        (
            "n3",
            {"type": "track", "event": "Product Added", "properties": {"product_id": "p1", "price": 3000}},
        ),
    ]
    if with_order:
        order = {"order_id": "o1", "total": 3000, "products": [{"product_id": "p1", "price": 3000}]}
        calls.append(("n4", {"type": "track", "event": "Order Completed", "properties": order}))
    return [
        StoredEvent(shop_id=SHOP, message_id=m, user_id="c1", timestamp=at, received_at=at, **fields)
        for m, fields in calls
    ]


def deliver(harness, events: list[StoredEvent]) -> None:
    for event in events:
        harness.clients.table("events").put_item(Item=event.to_item())
        assert project_and_trigger(harness.clients, event.to_item()) == "applied"
        harness.pump()


@pytest.mark.parametrize("arrival", [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2]])
def test_the_bought_item_leaves_the_cart_and_no_reminder_goes(harness, arrival):
    harness.install(preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    events = batch(harness)
    deliver(harness, [events[i] for i in arrival])
    harness.advance(5 * 24 * timedelta(hours=1))

    assert harness.profile("c1").cart == {}
    assert harness.sent_to("c1", "cart-abandonment") == []


def test_without_the_order_the_reminder_goes(harness):
    harness.install(preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    deliver(harness, list(reversed(batch(harness, with_order=False))))
    harness.advance(2 * timedelta(hours=1))

    assert list(harness.profile("c1").cart) == ["p1"]
    assert [s.request.template_id for s in harness.sent_to("c1", "cart-abandonment")] == [
        "cart-abandonment-1"
    ]


def cart_events(harness, *changes: tuple[str, str, int | None]) -> list[StoredEvent]:
    """One customer's adds and removals of p1 in one millisecond: (message id, event, quantity)."""
    at = harness.now
    events = []
    for message_id, name, quantity in changes:
        properties: dict = {"product_id": "p1", "price": 3000}
        if quantity is not None:
            properties["quantity"] = quantity
        events.append(
            StoredEvent(
                shop_id=SHOP,
                message_id=message_id,
                user_id="c1",
                type="track",
                event=name,
                properties=properties,
                timestamp=at,
                received_at=at,
            )
        )
    return events


@pytest.mark.parametrize("arrival", [[0, 1, 2], [0, 2, 1], [2, 1, 0], [2, 0, 1]])
def test_a_partial_removal_outweighed_by_an_earlier_add_leaves_the_reminder(harness, arrival):
    """Two units added, one removed (in that order, one millisecond): the cart keeps a unit whatever
    the arrival order, so the reminder goes as it does for the events in time order."""
    harness.install(preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    events = cart_events(
        harness, ("a1", "Product Added", None), ("a2", "Product Added", None), ("r1", "Product Removed", 1)
    )
    deliver(harness, [events[i] for i in arrival])
    harness.advance(2 * timedelta(hours=1))

    assert harness.profile("c1").cart["p1"].quantity == 1
    assert [s.request.template_id for s in harness.sent_to("c1", "cart-abandonment")] == [
        "cart-abandonment-1"
    ]
    assert not harness.failed()


def test_removing_the_last_unit_is_judged_by_the_step_check_when_due_and_ends_the_journey(harness):
    """A removal of `quantity` units does not end journeys on the stream (a later-arriving earlier add
    can outweigh it); when it does empty the cart, the step check before the send ends the journey when
    it falls due: no send, one skip, the execution done, not checking again."""
    harness.install(preset("cart-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    events = cart_events(harness, ("a1", "Product Added", None), ("r1", "Product Removed", 1))
    deliver(harness, events)
    journeys = harness.clients.table("journeys").query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": f"{SHOP}#c1"}
    )["Items"]
    assert [j["status"] for j in journeys] == ["running"]  # left to the step check

    harness.advance(5 * 24 * timedelta(hours=1))

    assert harness.profile("c1").cart == {}
    assert harness.sent_to("c1", "cart-abandonment") == []
    assert [(s["skip_reason"], s.get("detail")) for s in harness.skips("c1")] == [("exited", "cart_emptied")]
    (execution,) = harness.executions.values()
    assert execution.status == "SUCCEEDED"
    # One check schedules the reminder's wait, the one when it falls due ends the journey: no more.
    assert execution.history == [
        "WaitUntilDue",
        "Check",
        "NextAction",
        "WaitUntilDue",
        "Check",
        "NextAction",
        "Done",
    ]
