"""A visitor browses anonymously, then signs up: whatever order the stream delivers the view and the
identify in, the outcome is the timestamp order's. Journeys start from events that name their
customer (`userId`); a view from before the sign-up updates the merged profile but starts nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kaeri.events import StoredEvent
from kaeri_ops.scenarios.presets import preset
from tests.scenarios.driver import SHOP
from tests.scenarios.test_out_of_order_cart import deliver

pytestmark = pytest.mark.slow  # journeys replayed on moto

VIEW = {"type": "track", "event": "Product Viewed", "properties": {"product_id": "p1", "price": 3000}}


def visit(harness, *, view_names_customer: bool) -> list[StoredEvent]:
    """A view of p1, then a minute later the sign-up's identify linking the visitor to c1."""
    at = harness.now
    who = {"user_id": "c1"} if view_names_customer else {"anonymous_id": "v1"}
    view = StoredEvent(shop_id=SHOP, message_id="n1", timestamp=at, received_at=at, **who, **VIEW)
    later = at + timedelta(minutes=1)
    identify = StoredEvent(
        shop_id=SHOP,
        message_id="n2",
        type="identify",
        user_id="c1",
        anonymous_id="v1",
        traits={"email": "c1@example.com"},
        timestamp=later,
        received_at=later,
    )
    return [view, identify]


def browse_reminders(harness) -> list[str]:
    return [s.request.template_id for s in harness.sent_to("c1", "browse-abandonment")]


@pytest.mark.parametrize("arrival", [[0, 1], [1, 0]])
def test_an_anonymous_view_before_the_sign_up_starts_no_journey_in_either_arrival_order(harness, arrival):
    harness.install(preset("browse-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    events = visit(harness, view_names_customer=False)
    deliver(harness, [events[i] for i in arrival])
    harness.advance(3 * 24 * timedelta(hours=1))

    assert "p1" in [v.product_id for v in harness.profile("c1").recently_viewed]  # merged into c1
    assert browse_reminders(harness) == []
    assert not harness.failed()


@pytest.mark.parametrize("arrival", [[0, 1], [1, 0]])
def test_a_view_that_names_the_customer_gets_the_browse_reminder_in_either_arrival_order(harness, arrival):
    harness.install(preset("browse-abandonment").model_copy(update={"holdout_percent": 0}))
    harness.customer("c1")
    events = visit(harness, view_names_customer=True)
    deliver(harness, [events[i] for i in arrival])
    harness.advance(3 * 24 * timedelta(hours=1))

    assert len(browse_reminders(harness)) == 1
    assert not harness.failed()
