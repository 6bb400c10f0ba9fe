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


# Order Cancelled / Order Refunded (Segment e-commerce spec v2)


def order(order_id, total, minutes=0, **extra):
    return ev(event="Order Completed", props={"order_id": order_id, "total": total}, minutes=minutes, **extra)


def cancel(order_id, minutes=10, name="Order Cancelled", **props):
    return ev(event=name, props={"order_id": order_id, **props}, minutes=minutes)


def totals(state):
    p = state.profile
    return p.order_count, p.total_spent, p.first_order_at, p.last_order_at


def test_a_cancelled_order_no_longer_counts_and_order_times_are_recomputed():
    state = fresh()
    for order_id, total, minutes in (("o1", 1000, 0), ("o2", 2000, 1), ("o3", 4000, 2)):
        apply_event(state, order(order_id, total, minutes))

    assert apply_event(state, cancel("o3")).changed is True
    assert totals(state) == (2, Decimal("3000"), T0, T0 + timedelta(minutes=1))

    apply_event(state, cancel("o1", minutes=11, name="Order Refunded"))  # a full refund: no amount
    assert totals(state) == (1, Decimal("2000"), T0 + timedelta(minutes=1), T0 + timedelta(minutes=1))

    apply_event(state, cancel("o2", minutes=12))
    assert totals(state) == (0, Decimal("0"), None, None)


def test_a_partial_refund_lowers_total_spent_but_keeps_the_order():
    state = fresh()
    apply_event(state, order("o1", 5000))
    apply_event(state, cancel("o1", name="Order Refunded", total=1200))
    assert totals(state) == (1, Decimal("3800"), T0, T0)

    products = [{"product_id": "p1", "price": 300, "quantity": 2}]
    apply_event(state, cancel("o1", minutes=11, name="Order Refunded", products=products))
    assert totals(state) == (1, Decimal("3200"), T0, T0)

    apply_event(state, cancel("o1", minutes=12))  # cancelling it later takes off only what is left
    assert totals(state) == (0, Decimal("0"), None, None)


def test_a_cancel_delivered_twice_with_different_message_ids_subtracts_once():
    state = fresh()
    apply_event(state, order("o1", 1000))
    apply_event(state, order("o2", 3000, minutes=1))
    apply_event(state, cancel("o2"))
    second = apply_event(state, cancel("o2", minutes=11))
    third = apply_event(state, cancel("o2", minutes=12, name="Order Refunded"))

    assert totals(state) == (1, Decimal("1000"), T0, T0)
    assert second.changed is False and third.changed is False


def test_a_cancel_of_an_unknown_order_subtracts_nothing_and_is_logged(caplog):
    state = fresh()
    apply_event(state, order("o1", 1000))
    with caplog.at_level("INFO", logger="kaeri"):
        apply_event(state, cancel("o-old"))
        apply_event(state, cancel("o-older", name="Order Refunded", total=500))

    assert totals(state) == (1, Decimal("1000"), T0, T0)
    assert "o-old" in caplog.text and "o-older" in caplog.text


def test_an_order_cancelled_before_it_arrives_never_counts():
    state = fresh()  # stream records of different messages are not ordered across shards
    apply_event(state, cancel("o1", minutes=0))
    apply_event(state, order("o1", 1000, minutes=1))

    assert totals(state) == (0, Decimal("0"), None, None)


def test_replayed_cancel_and_refund_messages_subtract_once(projector, aws):
    events = [
        order("o1", 1000),
        order("o2", 5000, minutes=1),
        cancel("o1", minutes=5),
        cancel("o2", minutes=6, name="Order Refunded", total=700),
    ]
    for event in events + events[2:] + events:
        projector.apply(event)

    profile = ProfileRepository(aws).get("shop-a", "u1")
    assert (profile.order_count, profile.total_spent) == (1, Decimal("4300"))
    assert profile.first_order_at == profile.last_order_at == T0 + timedelta(minutes=1)


def test_cancels_are_exact_through_the_table(projector, aws):
    projector.apply(order("o1", 1000))
    projector.apply(order("o2", 2000, minutes=1))
    projector.apply(cancel("o2", minutes=5))
    projector.apply(cancel("o2", minutes=6))  # another message for the same cancellation
    projector.apply(cancel("o9", minutes=7))  # an order this profile never counted

    repo = ProfileRepository(aws)
    profile = repo.get("shop-a", "u1")
    assert (profile.order_count, profile.total_spent, profile.last_order_at) == (1, Decimal("1000"), T0)
    item = aws.table("customers").get_item(Key={"pk": "shop-a#u1", "sk": "PROFILE"})["Item"]
    assert item["last_order_at"] == "2025-03-01T09:00:00.000Z"

    projector.apply(cancel("o1", minutes=8))
    item = aws.table("customers").get_item(Key={"pk": "shop-a#u1", "sk": "PROFILE"})["Item"]
    assert item["order_count"] == 0 and "buyer_shop" not in item and "last_order_at" not in item


def test_an_anonymous_order_merged_into_the_customer_can_be_cancelled(projector, aws):
    projector.apply(order("o1", 1000, user=None, anon="a5"))
    projector.apply(ev("identify", user="u1", anon="a5", traits={"email": "a5@example.jp"}, minutes=1))
    projector.apply(cancel("o1", minutes=2))

    profile = ProfileRepository(aws).get("shop-a", "u1")
    assert (profile.order_count, profile.total_spent, profile.last_order_at) == (0, Decimal("0"), None)
