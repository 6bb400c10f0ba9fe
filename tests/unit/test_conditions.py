"""The audience evaluator: examples and properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kaeri.profiles.model import CartLine, Consent, Predictions, Profile
from kaeri.scenarios import model as m
from kaeri.scenarios.conditions import evaluate, event_matches, matches

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def profile(**fields) -> Profile:
    return Profile(shop_id="s", customer_id="c", **fields)


def cond(data) -> m.Condition:
    return m.Scenario.model_validate(
        {
            "id": "x",
            "name": "x",
            "trigger": {"event": {"event": "E"}},
            "audience": data,
            "steps": [{"id": "s", "send": {"channels": ["email"], "template": "t"}}],
        }
    ).audience


def test_dormant_customer_matches_the_winback_window_and_explains_a_miss():
    dormant = profile(order_count=2, last_order_at=NOW - timedelta(days=180, hours=3))
    recent = profile(order_count=3, last_order_at=NOW - timedelta(days=1))
    window = cond({"days_since_last_order": {"gte": 180, "lt": 181}})
    assert matches(window, dormant, NOW)
    verdict = evaluate(window, recent, NOW)
    assert not verdict and "days_since_last_order is 1, not >= 180 and < 181" in verdict.reason


def test_never_ordered_has_no_days_since_last_order():
    assert not matches(cond({"days_since_last_order": {"gte": 0}}), profile(), NOW)


def test_consent_cart_category_churn_and_signup():
    p = profile(
        consent={"email": Consent(status="granted"), "line": Consent(status="revoked")},
        cart={"p1": CartLine(product_id="p1")},
        categories_bought=["shoes"],
        signed_up_at=NOW,
        predictions=Predictions(
            p_alive=0.2,
            expected_orders_30d=0,
            expected_orders_90d=0,
            expected_orders_365d=0.1,
            predicted_value_365d=0,
            churn_risk="high",
            computed_at=NOW,
        ),
    )
    assert matches(cond({"consent": "email"}), p, NOW)
    assert not matches(cond({"consent": "line"}), p, NOW)
    assert matches(cond({"cart_not_empty": True}), p, NOW)
    assert matches(cond({"category_bought": ["bags", "shoes"]}), p, NOW)
    assert matches(cond({"churn_risk": "high"}), p, NOW)
    assert matches(cond({"p_alive": {"lt": 0.3}}), p, NOW)
    assert matches(cond({"signed_up": True}), p, NOW)
    assert not matches(cond({"churn_risk": "high"}), profile(), NOW)  # no predictions yet


def test_event_filter_matches_values_and_lists():
    trigger = m.EventTrigger(event="Product Viewed", where={"category": ["shoes", "bags"], "in_stock": True})
    assert event_matches(trigger, "Product Viewed", {"category": "bags", "in_stock": True})
    assert not event_matches(trigger, "Product Viewed", {"category": "hats", "in_stock": True})
    assert not event_matches(trigger, "Product Added", {"category": "bags", "in_stock": True})


leaf = st.one_of(
    st.builds(lambda lo: {"order_count": {"gte": lo}}, st.integers(0, 5)),
    st.builds(lambda hi: {"total_spent": {"lt": hi}}, st.integers(0, 20000)),
    st.builds(lambda lo: {"days_since_last_order": {"gte": lo}}, st.integers(0, 400)),
    st.builds(lambda ch: {"consent": ch}, st.sampled_from(["email", "line", "sms"])),
    st.builds(lambda b: {"cart_not_empty": b}, st.booleans()),
    st.builds(
        lambda cats: {"category_bought": cats},
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2),
    ),
)
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)
profiles = st.builds(
    lambda orders, spent, days, consent, cart, cats: profile(
        order_count=orders,
        total_spent=Decimal(spent),
        last_order_at=None if days is None else NOW - timedelta(days=days),
        consent={ch: Consent(status="granted") for ch in consent},
        cart={"p": CartLine(product_id="p")} if cart else {},
        categories_bought=cats,
    ),
    st.integers(0, 6),
    st.integers(0, 30000),
    st.none() | st.integers(0, 500),
    st.sets(st.sampled_from(["email", "line", "sms"])),
    st.booleans(),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
)


def reference(data, p: Profile) -> bool:
    """An independent reading of the same condition, straight from the YAML-shaped data."""
    ((kind, value),) = data.items()
    if kind == "all":
        return all(reference(x, p) for x in value)
    if kind == "any":
        return any(reference(x, p) for x in value)
    if kind == "not":
        return not reference(value, p)
    if kind == "order_count":
        return p.order_count >= value["gte"]
    if kind == "total_spent":
        return p.total_spent < value["lt"]
    if kind == "days_since_last_order":
        return p.last_order_at is not None and (NOW - p.last_order_at).days >= value["gte"]
    if kind == "consent":
        return value in p.consent
    if kind == "cart_not_empty":
        return bool(p.cart) == value
    if kind == "category_bought":
        return bool(set(value) & set(p.categories_bought))
    raise AssertionError(kind)


@settings(max_examples=150, deadline=None)
@given(conditions, profiles)
def test_evaluator_agrees_with_a_reference_reading(data, p):
    assert matches(cond(data), p, NOW) == reference(data, p)


@settings(max_examples=100, deadline=None)
@given(conditions, profiles)
def test_not_negates_and_all_any_of_one_are_the_condition(data, p):
    base = matches(cond(data), p, NOW)
    assert matches(cond({"not": data}), p, NOW) is (not base)
    assert matches(cond({"all": [data]}), p, NOW) is base
    assert matches(cond({"any": [data]}), p, NOW) is base
