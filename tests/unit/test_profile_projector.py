"""The profile projection: what a customer's profile says after their events, replays included."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from kaeri.events import StoredEvent
from kaeri.profiles.model import Profile
from kaeri.profiles.projector import ProfileProjector, apply_event
from kaeri.profiles.repository import ProfileRepository, ProfileState

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
_ids = itertools.count()


def ev(type_="track", event=None, *, user="u1", anon=None, minutes=0, props=None, traits=None, **extra):
    return StoredEvent(
        shop_id="shop-a",
        message_id=extra.pop("message_id", f"m{next(_ids)}"),
        type=type_,
        event=event,
        user_id=user,
        anonymous_id=anon,
        properties=props or {},
        traits=traits or {},
        timestamp=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
        **extra,
    )


def fresh() -> ProfileState:
    return ProfileState(profile=Profile(shop_id="shop-a", customer_id="u1"))


def test_cart_follows_adds_removes_and_is_emptied_by_the_order():
    state = fresh()
    apply_event(state, ev(event="Product Added", props={"product_id": "p1", "price": 1200, "quantity": 1}))
    apply_event(state, ev(event="Product Added", props={"product_id": "p1", "quantity": 2}, minutes=1))
    apply_event(state, ev(event="Product Added", props={"product_id": "p2", "price": 500}, minutes=2))
    apply_event(state, ev(event="Product Removed", props={"product_id": "p2"}, minutes=3))
    assert {k: line.quantity for k, line in state.profile.cart.items()} == {"p1": 3}

    apply_event(
        state,
        ev(
            event="Order Completed",
            props={
                "order_id": "o1",
                "total": 3600,
                "currency": "JPY",
                "products": [{"product_id": "p1", "category": "tops"}],
            },
            minutes=5,
        ),
    )
    profile = state.profile
    assert profile.cart == {}
    assert (profile.order_count, profile.total_spent, profile.currency) == (1, Decimal("3600"), "JPY")
    assert profile.first_order_at == profile.last_order_at == T0 + timedelta(minutes=5)
    assert profile.products_bought == ["p1"] and profile.categories_bought == ["tops"]


def test_the_same_order_from_two_sources_counts_once():
    state = fresh()
    apply_event(state, ev(event="Order Completed", props={"order_id": "o1", "total": 1000}))
    apply_event(state, ev(event="Order Completed", props={"order_id": "o1", "total": 1000}, source="shopify"))

    assert state.profile.order_count == 1 and state.profile.total_spent == Decimal("1000")


def test_recently_viewed_is_newest_first_unique_and_bounded():
    state = fresh()
    for i in range(25):
        apply_event(state, ev(event="Product Viewed", props={"product_id": f"p{i % 22}"}, minutes=i))

    viewed = state.profile.recently_viewed
    assert len(viewed) == 20 and viewed[0].product_id == "p2" and viewed[0].at == T0 + timedelta(minutes=24)
    assert len({p.product_id for p in viewed}) == 20


def test_identify_sets_traits_points_birthday_and_consent():
    state = fresh()
    apply_event(
        state,
        ev(
            "identify",
            traits={
                "email": "hanako@example.jp",
                "first_name": "Hanako",
                "birthday": "1990-04-01",
                "points_balance": 300,
                "points_expire_on": "2025-06-30",
                "plan": "gold",
                "consent": {
                    "email": {
                        "status": "granted",
                        "at": "2025-02-01T00:00:00+00:00",
                        "source": "signup form v3",
                        "wording_version": "2025-01",
                    }
                },
            },
        ),
    )
    p = state.profile
    assert (p.email, p.first_name, p.birthday, p.points_balance) == (
        "hanako@example.jp",
        "Hanako",
        date(1990, 4, 1),
        300,
    )
    assert p.points_expire_on == date(2025, 6, 30) and p.traits == {"plan": "gold"}
    assert p.has_consent("email") and p.consent["email"].source == "signup form v3"
    assert p.consent["email"].wording_version == "2025-01"

    apply_event(state, ev("identify", traits={"points_balance": 0}, minutes=1))
    assert state.profile.points_expire_on is None


def test_an_event_that_changes_nothing_reports_no_change():
    state = fresh()
    assert apply_event(state, ev("page", props={"name": "Home"})).changed is False


@pytest.fixture
def projector(aws):
    return ProfileProjector(aws)


def test_replayed_events_change_the_profile_once(projector, aws):
    added = ev(event="Product Added", props={"product_id": "p1"})
    order = ev(event="Order Completed", props={"order_id": "o1", "total": 5000}, minutes=1)
    for event in (added, added, order, added, order):
        projector.apply(event)

    profile = ProfileRepository(aws).get("shop-a", "u1")
    assert profile.order_count == 1 and profile.total_spent == Decimal("5000") and profile.cart == {}


def test_product_added_twice_delivered_adds_once(projector, aws):
    added = ev(event="Product Added", props={"product_id": "p1", "quantity": 2})
    projector.apply(added)
    projector.apply(added)

    assert ProfileRepository(aws).get("shop-a", "u1").cart["p1"].quantity == 2


def test_anonymous_cart_belongs_to_the_customer_after_login(projector, aws):
    repo = ProfileRepository(aws)
    projector.apply(ev(event="Product Viewed", user=None, anon="a1", props={"product_id": "p9"}))
    projector.apply(
        ev(event="Product Added", user=None, anon="a1", props={"product_id": "p1", "price": 800}, minutes=1)
    )
    assert repo.get("shop-a", "anon:a1").cart["p1"].price == Decimal("800")

    projector.apply(ev("identify", user="u1", anon="a1", traits={"email": "a@example.jp"}, minutes=2))
    projector.apply(ev(event="Product Added", user=None, anon="a1", props={"product_id": "p2"}, minutes=3))

    profile = repo.get("shop-a", "u1")
    assert set(profile.cart) == {"p1", "p2"} and profile.anonymous_ids == ["a1"]
    assert [p.product_id for p in profile.recently_viewed] == ["p9"]
    assert repo.resolve("shop-a", "anon:a1") == "u1"
    assert repo.get("shop-a", "anon:a1") is None


def test_alias_merges_previous_id(projector, aws):
    projector.apply(ev(event="Product Added to Wishlist", user=None, anon="a2", props={"product_id": "p3"}))
    projector.apply(ev("alias", user="u2", previous_id="a2", minutes=1))

    assert ProfileRepository(aws).get("shop-a", "u2").wishlist == ["p3"]


def test_consent_changes_are_recorded_as_history(projector, aws):
    projector.apply(
        ev(
            "identify",
            traits={
                "consent": {
                    "email": {"status": "granted", "at": "2025-01-01T00:00:00Z", "source": "signup form v3"}
                }
            },
        )
    )
    projector.apply(ev(event="Unsubscribed", props={"channel": "email", "source": "one-click"}, minutes=5))

    repo = ProfileRepository(aws)
    history = repo.consent_history("shop-a", "u1")
    assert [(h["status"], h["source"]) for h in history] == [
        ("granted", "signup form v3"),
        ("revoked", "one-click"),
    ]
    assert repo.get("shop-a", "u1").has_consent("email") is False


def test_gsi_keys_are_maintained(projector, aws):
    projector.apply(
        ev(
            "identify",
            traits={"birthday": "1990-04-01", "points_balance": 10, "points_expire_on": "2025-05-01"},
        )
    )
    projector.apply(ev(event="Order Completed", props={"order_id": "o9", "total": 100}, minutes=1))

    item = aws.table("customers").get_item(Key={"pk": "shop-a#u1", "sk": "PROFILE"})["Item"]
    assert item["birthday_key"] == "shop-a#04-01" and item["shop_id"] == "shop-a"
    assert (item["points_shop"], item["points_expire_on"]) == ("shop-a", "2025-05-01")
    assert (item["buyer_shop"], item["last_order_at"]) == ("shop-a", "2025-03-01T09:01:00.000Z")

    projector.apply(ev("identify", traits={"points_balance": 0}, minutes=2))
    item = aws.table("customers").get_item(Key={"pk": "shop-a#u1", "sk": "PROFILE"})["Item"]
    assert "points_shop" not in item and "points_expire_on" not in item


def test_catalog_events_have_no_profile(projector, aws):
    event = ev(
        event="Product Restocked", user=None, anon="catalog", props={"product_id": "p1"}, source="catalog"
    )

    assert projector.apply(event) is None
    assert aws.table("customers").scan()["Items"] == []


def test_profiles_are_per_shop(projector, aws):
    projector.apply(ev(event="Product Added", props={"product_id": "p1"}))

    assert ProfileRepository(aws).get("shop-b", "u1") is None


def test_saves_keep_untouched_attributes_and_clear_what_the_event_cleared(projector, aws):
    projector.apply(
        ev(
            "identify",
            traits={"email": "a@example.com", "points_balance": 300, "points_expire_on": "2025-12-31"},
        )
    )
    projector.apply(ev(event="Product Viewed", props={"product_id": "p1"}, minutes=1))
    projector.apply(ev(event="Points Updated", props={"points_balance": 0}, minutes=2))
    item = aws.table("customers").get_item(Key={"pk": "shop-a#u1", "sk": "PROFILE"})["Item"]
    assert item["email"] == "a@example.com" and item["version"] == 3
    assert [v["product_id"] for v in item["recently_viewed"]] == ["p1"]
    assert "points_shop" not in item and "points_expire_on" not in item


def test_a_profile_written_without_a_version_is_saved_whole(projector, aws):
    repo = ProfileRepository(aws)
    repo.put(Profile(shop_id="shop-a", customer_id="u1", email="old@example.com"))
    projector.apply(ev("identify", traits={"first_name": "Aki"}))
    profile = repo.get("shop-a", "u1")
    assert profile.email == "old@example.com" and profile.first_name == "Aki"


def test_anonymous_events_resolve_to_the_merged_customer(projector, aws):
    projector.apply(ev("identify", user="u9", anon="a9", traits={"email": "u9@example.com"}))
    projector.apply(ev(event="Product Viewed", user=None, anon="a9", props={"product_id": "p7"}, minutes=1))
    profile = ProfileRepository(aws).get("shop-a", "u9")
    assert [v.product_id for v in profile.recently_viewed] == ["p7"]
    assert ProfileRepository(aws).get("shop-a", "anon:a9") is None
