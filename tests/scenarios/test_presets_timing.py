"""Every preset sends exactly when it should, replayed through real journeys on a manual clock."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kaeri.scenarios.model import FrequencyCap, QuietHours, Reentry, ShopRules
from kaeri.scenarios.timing import zone
from kaeri_ops.scenarios.presets import preset

pytestmark = pytest.mark.slow  # each replays days of journeys on moto

H = timedelta(hours=1)
D = timedelta(days=1)
TOKYO = zone("Asia/Tokyo")


def no_holdout(scenario_id: str, **update):
    return preset(scenario_id).model_copy(update={"holdout_percent": 0, **update})


def local(sent) -> str:
    return sent.at.astimezone(TOKYO).strftime("%m-%d %H:%M")


def test_quiet_hours_send_moves_to_the_next_allowed_time(harness):
    harness.install(no_holdout("cart-abandonment"))
    harness.customer("c1")
    harness.clock.set(harness.now.replace(hour=12, minute=30))  # 21:30 JST
    harness.add_to_cart("c1")
    harness.advance(12 * H)
    [first] = harness.sent_to("c1")
    assert local(first) == "06-02 09:00"  # due 22:30, quiet 21:00-09:00 -> 09:00, not dropped


def test_caps_hold_across_scenarios(harness):
    harness.install(no_holdout("welcome"))
    harness.install(no_holdout("cart-abandonment"))
    harness.customer("c1", line_user_id="U" + "b" * 32)
    harness.track("c1", "Signed Up")  # welcome-1 by email at once
    harness.add_to_cart("c1")  # cart reminder due in 1 h: email is capped for 16 h
    harness.advance(2 * H)
    sent = [(s.request.template_id, s.request.channels[0]) for s in harness.sent_to("c1")]
    assert sent == [("welcome-1", "email"), ("cart-abandonment-1", "line")]
    emails = [m for m in harness.messages("c1") if m.get("channel") == "email" and m["status"] == "sent"]
    assert len(emails) == 1


def test_email_cap_falls_back_to_line_or_skips(harness):
    harness.install(no_holdout("welcome"))
    harness.install(no_holdout("cross-sell", audience=None))
    harness.rules(
        ShopRules(frequency_caps=[FrequencyCap(channel="email", max=1, per="16h")], quiet_hours=None)
    )
    harness.customer("c1")
    harness.track("c1", "Signed Up")  # welcome-1 by email now
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["welcome-1"]
    cross_sell = no_holdout("cross-sell", audience=None, steps=[preset("cross-sell").steps[1]])
    harness.install(cross_sell)
    harness.track("c1", "Order Completed", {"order_id": "o1"})
    harness.advance(H)
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["welcome-1", "cross-sell-1"]
    assert harness.sent_to("c1")[1].request.channels == ["line"]  # email capped, line kept
    single = cross_sell.model_copy(
        update={
            "id": "email-only",
            "steps": [
                cross_sell.steps[0].model_copy(
                    update={"send": cross_sell.steps[0].send.model_copy(update={"channels": ["email"]})}
                )
            ],
        }
    )
    harness.install(single)
    harness.track("c1", "Order Completed", {"order_id": "o2"})
    assert "capped" in [s["skip_reason"] for s in harness.skips("c1")]


def test_dormant_customer_who_ordered_yesterday_is_not_mailed(harness):
    harness.install(no_holdout("winback"))
    harness.rules(ShopRules(quiet_hours=None))
    harness.customer("dormant", order_count=2, last_order_at=harness.now - timedelta(days=180, hours=2))
    harness.customer("active", order_count=2, last_order_at=harness.now - timedelta(days=180, hours=5))
    harness.customer("fresh", order_count=3, last_order_at=harness.now - D)
    harness.order("active")  # ordered yesterday-ish: no longer dormant
    result = harness.run_schedule("winback")
    harness.advance(H)
    assert [s.request.customer_id for s in harness.sent] == ["dormant"]
    assert result.read == 1 and result.matched == 1


def test_birthday_on_the_day_in_the_customers_timezone(harness):
    harness.install(no_holdout("birthday"))
    today = harness.now.astimezone(TOKYO).date()
    harness.customer("bday", birthday=date(1990, today.month, today.day))
    harness.customer("other", birthday=date(1990, 1, 1) if today.month != 1 else date(1990, 7, 1))
    harness.run_schedule("birthday")
    harness.advance(6 * D)
    sent = harness.sent_to("bday")
    assert [s.request.template_id for s in sent] == ["birthday-1", "birthday-2"]
    assert local(sent[0]) == today.strftime("%m-%d") + " 10:00"
    assert harness.sent_to("other") == []
    harness.run_schedule("birthday")  # a second run the same day starts nothing new
    assert len(harness.executions) == 1


def test_restock_reaches_who_viewed_it_but_not_who_bought_it(harness):
    harness.install(no_holdout("restock"))
    harness.rules(ShopRules(quiet_hours=None))
    harness.customer("viewer")
    harness.customer("buyer", products_bought=["p7"])
    harness.customer("elsewhere")
    harness.track("viewer", "Product Viewed", {"product_id": "p7"})
    harness.track("buyer", "Product Viewed", {"product_id": "p7"})
    harness.track("elsewhere", "Product Viewed", {"product_id": "p8"})
    harness.advance(D)
    harness.track("", "Product Restocked", {"product_id": "p7"})
    assert [s.request.customer_id for s in harness.sent] == ["viewer"]


def test_welcome_is_once_ever_and_stops_on_first_order(harness):
    harness.install(no_holdout("welcome"))
    harness.rules(ShopRules(quiet_hours=QuietHours()))
    harness.customer("c1")
    harness.track("c1", "Signed Up")
    harness.advance(2 * D + 2 * H)
    harness.order("c1")
    harness.advance(10 * D)
    harness.track("c1", "Signed Up")
    harness.advance(10 * D)
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["welcome-1", "welcome-2"]


def test_reentry_every_time_starts_again_and_once_per_waits(harness):
    harness.install(no_holdout("browse-abandonment", reentry=Reentry(policy="once_per", days=3)))
    harness.rules(ShopRules(quiet_hours=None, frequency_caps=[]))
    harness.customer("c1")
    harness.track("c1", "Product Viewed", {"product_id": "p1"})
    harness.advance(5 * H)
    harness.track("c1", "Product Viewed", {"product_id": "p2"})  # within 3 days: no second journey
    harness.advance(3 * D)
    harness.track("c1", "Product Viewed", {"product_id": "p3"})  # after 3 days: again
    harness.advance(D)
    assert len(harness.sent_to("c1")) == 2


def test_f1_f2_thanks_tips_then_offer_before_predicted_repurchase(harness):
    harness.install(no_holdout("f1-f2"))
    harness.customer("c1")
    harness.order("c1")
    harness.advance(60 * D)
    sent = harness.sent_to("c1")
    assert [s.request.template_id for s in sent] == ["f1-f2-1", "f1-f2-2", "f1-f2-3"]
    assert sent[0].at - harness.sent[0].at == timedelta(0)
    assert timedelta(days=38) <= sent[2].at - sent[0].at + D <= timedelta(days=39)
    assert harness.sent_to("c1", "cross-sell") == []


def test_running_journey_keeps_its_version(harness):
    harness.install(no_holdout("cart-abandonment"))
    harness.customer("c1")
    harness.add_to_cart("c1")
    changed = no_holdout("cart-abandonment")
    steps = list(changed.steps)
    steps[1] = steps[1].model_copy(
        update={"send": steps[1].send.model_copy(update={"template": "changed-1"})}
    )
    harness.install(changed.model_copy(update={"steps": steps}))
    harness.advance(2 * H)
    assert [s.request.template_id for s in harness.sent_to("c1")] == ["cart-abandonment-1"]
    assert harness.sent_to("c1")[0].request.scenario_version == 1
