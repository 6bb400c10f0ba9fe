"""Attribution on crafted timelines: the window, the touch rule, one message per order, holdout apart."""

from datetime import UTC, datetime, timedelta

import pytest

from kaeri.analytics.attribution import attribute, scenarios
from kaeri.analytics.records import Dataset, Engagement, Goal, Journey, Message, Order
from kaeri.analytics.report import render
from kaeri.analytics.summary import compute, to_json

T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def email(mid: str, customer: str, scenario: str = "cart-abandonment", step: str = "s1", **kw) -> Message:
    return Message(mid, customer, scenario, step, "sent", T0, channel="email", sent_at=T0, **kw)


def test_an_order_four_days_after_a_click_counts_and_six_days_after_does_not():
    click = T0 + timedelta(hours=2)
    data = Dataset(
        messages=[email("m1", "x"), email("m2", "y")],
        engagements=[Engagement("m1", "clicked", click), Engagement("m2", "clicked", click)],
        orders=[
            Order("x", "o-x", click + timedelta(days=4), 120.0),
            Order("y", "o-y", click + timedelta(days=6), 80.0),
        ],
    )
    attributed = attribute(data)
    assert [(a.order.order_id, a.message_id) for a in attributed] == [("o-x", "m1")]
    funnel = scenarios(data)["cart-abandonment"].funnel
    assert (funnel.converted, funnel.orders, funnel.revenue) == (1, 1, pytest.approx(120.0))


def test_delivery_alone_is_no_touch_but_an_open_is():
    data = Dataset(
        messages=[email("m1", "x"), email("m2", "y")],
        engagements=[
            Engagement("m1", "delivered", T0 + timedelta(minutes=1)),
            Engagement("m2", "delivered", T0 + timedelta(minutes=1)),
            Engagement("m2", "opened", T0 + timedelta(hours=5)),
        ],
        orders=[
            Order("x", "o-x", T0 + timedelta(days=1), 10.0),
            Order("y", "o-y", T0 + timedelta(days=1), 20.0),
        ],
    )
    assert [a.message_id for a in attribute(data)] == ["m2"]


def test_an_order_before_the_touch_is_not_attributed():
    data = Dataset(
        messages=[email("m1", "x")],
        engagements=[Engagement("m1", "opened", T0 + timedelta(days=1))],
        orders=[Order("x", "o", T0 + timedelta(hours=3), 10.0)],
    )
    assert attribute(data) == []


def test_line_counts_from_the_send_and_orders_go_to_the_latest_touch_once():
    line = Message("l1", "x", "winback", "s1", "sent", T0, channel="line", sent_at=T0)
    later = email("m2", "x", scenario="cart-abandonment")
    data = Dataset(
        messages=[line, later],
        engagements=[Engagement("m2", "opened", T0 + timedelta(days=2))],
        orders=[
            Order("x", "o1", T0 + timedelta(days=1), 50.0),  # only the LINE send touched before it
            Order("x", "o2", T0 + timedelta(days=3), 70.0),  # the email open is the latest touch
        ],
    )
    result = {a.order.order_id: a.message_id for a in attribute(data)}
    assert result == {"o1": "l1", "o2": "m2"}
    by = scenarios(data)
    assert by["winback"].funnel.revenue == pytest.approx(50.0)
    assert by["cart-abandonment"].funnel.revenue == pytest.approx(70.0)


def test_a_scenario_goal_window_replaces_the_default():
    data = Dataset(
        messages=[email("m1", "x", scenario="birthday")],
        engagements=[Engagement("m1", "clicked", T0)],
        orders=[Order("x", "o", T0 + timedelta(days=3), 10.0)],
        goals={"birthday": Goal(attribution_days=2)},
    )
    assert attribute(data) == []


def test_cancelled_orders_are_not_attributed():
    data = Dataset(
        messages=[email("m1", "x")],
        engagements=[Engagement("m1", "clicked", T0)],
        orders=[Order("x", "o", T0 + timedelta(days=1), 10.0)],
        cancelled_order_ids={"o"},
    )
    assert attribute(data) == []


def test_funnel_is_nested_and_counts_skips_by_reason():
    skipped = [
        Message("k1", "s", "welcome", "s1", "skipped", T0, skip_reason="no_consent"),
        Message("k2", "t", "welcome", "s1", "skipped", T0, skip_reason="no_consent"),
        Message("k3", "u", "welcome", "s2", "skipped", T0, skip_reason="capped"),
    ]
    data = Dataset(
        messages=[email("m1", "x", scenario="welcome"), email("m2", "y", scenario="welcome"), *skipped],
        engagements=[
            Engagement("m1", "delivered", T0),
            Engagement("m2", "clicked", T0 + timedelta(hours=1)),  # a click without an open event
        ],
    )
    f = scenarios(data)["welcome"].funnel
    assert (f.sent, f.delivered, f.opened, f.clicked) == (2, 2, 1, 1)
    assert f.skipped_by_reason == {"no_consent": 2, "capped": 1}
    assert scenarios(data)["welcome"].steps["s2"].skipped == 1


def test_holdout_conversions_are_counted_apart_from_the_treated():
    entered = T0
    journeys = [Journey(f"t{i}", "winback", entered) for i in range(4)]
    journeys += [Journey(f"h{i}", "winback", entered, holdout=True) for i in range(2)]
    orders = [
        Order("t0", "ot0", entered + timedelta(days=1), 30.0),
        Order("t1", "ot1", entered + timedelta(days=4), 30.0),
        Order("t2", "ot2", entered + timedelta(days=6), 30.0),  # after the 5-day goal window
        Order("h0", "oh0", entered + timedelta(days=2), 30.0),
    ]
    messages = [email(f"m{i}", f"t{i}", scenario="winback") for i in range(4)]
    engagements = [Engagement(f"m{i}", "opened", entered + timedelta(hours=1)) for i in range(4)]
    data = Dataset(orders=orders, journeys=journeys, messages=messages, engagements=engagements)
    result = scenarios(data)["winback"]
    assert (result.funnel.entered, result.funnel.holdout) == (6, 2)
    assert (result.lift.treatment_converted, result.lift.treatment_n) == (2, 4)
    assert (result.lift.holdout_converted, result.lift.holdout_n) == (1, 2)
    assert result.lift.difference == pytest.approx(0.0)
    # The holdout's order is never attributed revenue: they got no message.
    assert result.funnel.revenue == pytest.approx(60.0)
    assert "oh0" not in {a.order.order_id for a in attribute(data)}


def test_report_is_self_contained_html():
    data = Dataset(
        messages=[email("m1", "x")],
        engagements=[Engagement("m1", "clicked", T0)],
        orders=[
            Order("x", "o1", T0 - timedelta(days=40), 10.0),
            Order("x", "o2", T0 + timedelta(days=1), 10.0),
        ],
        journeys=[Journey("x", "cart-abandonment", T0), Journey("z", "cart-abandonment", T0, holdout=True)],
    )
    kpis = compute(data)
    html = render(kpis, shop="demo-shop")
    assert html.startswith("<!doctype html>") and "<svg" in html and "cart-abandonment" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert to_json(kpis)["scenarios"]["cart-abandonment"]["converted"] == 1
