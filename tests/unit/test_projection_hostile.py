"""Nothing accepted and lost: hostile events end applied or quarantined, and replay re-applies them."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from kaeri.events import StoredEvent
from kaeri.profiles import quarantine
from kaeri.profiles.projector import ProfileProjector, project_and_trigger
from kaeri.profiles.quarantine import Quarantine
from kaeri.profiles.repository import ProfileRepository
from kaeri_ops.cli import app

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
_ids = itertools.count()

# What the tracking API could store (any JSON DynamoDB holds) that the projector once choked on.
HOSTILE = [
    ("Product Added", {"product_id": "p1", "price": "NaN", "quantity": "abc"}),
    ("Product Added", {"product_id": "p2", "price": "1e200", "quantity": -3}),
    ("Product Added", {"product_id": 5, "price": "Infinity", "quantity": 10**20}),
    ("Product Added", {"product_id": {"nested": True}, "name": ["a", "b"], "url": 7}),
    ("Product Removed", {"product_id": "p1", "quantity": "-Infinity"}),
    ("Product Viewed", {"product_id": "p3", "price": "NaN", "name": {"x": 1}}),
    ("Checkout Started", {"products": "abc"}),
    ("Checkout Started", {"products": [5, "x", None, {"sku": "p4", "quantity": "many"}]}),
    ("Order Completed", {"order_id": "o-str", "products": "abc"}),
    ("Order Completed", {"order_id": "o-num", "products": 5}),
    ("Order Completed", {"order_id": "o-nan", "products": [{"product_id": "p1", "price": "NaN"}]}),
    ("Order Completed", {"order_id": "o-neg", "total": -5000}),
    (
        "Order Completed",
        {"order_id": "o-negq", "products": [{"product_id": "p1", "price": 100, "quantity": -9}]},
    ),
    ("Order Completed", {"order_id": "o-negp", "products": [{"product_id": "p1", "price": -100}]}),
    ("Order Refunded", {"order_id": "o1", "total": "NaN"}),
    ("Order Cancelled", {"order_id": ["o1"]}),
    ("Consent Changed", {"channel": "email", "status": "granted", "at": "0001-01-01T00:00:00+09:00"}),
    ("Consent Changed", {"channel": "email", "status": "granted", "at": "9999-12-31T23:59:59-09:00"}),
    ("Consent Changed", {"channel": ["email"], "status": "revoked"}),
    ("Points Updated", {"points_balance": "lots", "points_expire_on": "someday"}),
    ("Points Updated", {"points_balance": "NaN"}),
    ("Product Added to Wishlist", {"product_id": ""}),
]
HOSTILE_TRAITS = [
    {"consent": "yes"},
    {"consent": {"email": 5, "line": {"status": "maybe"}, "sms": {"status": "granted", "at": "0001-01-01"}}},
    {"birthday": "not a date", "points_balance": "NaN", "created_at": "0001-01-01T00:00:00+09:00"},
    {"email": 12345, "first_name": {"a": 1}, "plan": None, "tags": ["x", {"y": 2}]},
]


def ev(name=None, props=None, traits=None, type_="track", minutes=0):
    return StoredEvent(
        shop_id="shop-a",
        message_id=f"h{next(_ids)}",
        type=type_,
        event=name,
        user_id="u1",
        properties=props or {},
        traits=traits or {},
        timestamp=T0 + timedelta(minutes=minutes),
        received_at=T0 + timedelta(minutes=minutes),
    )


def corpus() -> list[StoredEvent]:
    events = [ev(name, props, minutes=i + 1) for i, (name, props) in enumerate(HOSTILE)]
    events += [ev(traits=t, type_="identify", minutes=40 + i) for i, t in enumerate(HOSTILE_TRAITS)]
    return events


def test_every_hostile_event_ends_applied_or_quarantined_and_total_spent_never_drops(aws):
    projector = ProfileProjector(aws)
    assert (
        project_and_trigger(aws, ev("Order Completed", {"order_id": "o1", "total": 1000}).to_item())
        == "applied"
    )
    outcomes = {}
    for event in corpus():
        outcomes[event.message_id] = project_and_trigger(aws, event.to_item(), projector=projector)

    quarantined = {q["message_id"] for q in Quarantine(aws).summary("shop-a")}
    assert set(outcomes.values()) <= {"applied", "quarantined"}
    assert quarantined == {m for m, o in outcomes.items() if o == "quarantined"}
    # Everything the issue found lost now applies; only what DynamoDB cannot hold (a cart line of
    # price 1e200) is kept aside, with its reason.
    assert len(quarantined) <= 1, Quarantine(aws).summary("shop-a")
    profile = ProfileRepository(aws).get("shop-a", "u1")
    # o1 and six hostile orders, each counted once; negative amounts count 0, a negative quantity 1
    assert (profile.order_count, profile.total_spent) == (7, Decimal("1100"))


def test_a_quarantined_event_is_listed_and_replayed_after_a_fix(aws, monkeypatch):
    event = ev("Product Added", {"product_id": "p1", "price": 800})
    apply = ProfileProjector.apply_state  # what the stream path calls

    def broken(self, e):
        raise ValueError("projector bug")

    monkeypatch.setattr(ProfileProjector, "apply_state", broken)
    assert project_and_trigger(aws, event.to_item()) == "quarantined"
    monkeypatch.setattr("kaeri_ops.cli.context.resolve", lambda stack, shop: _target(aws))

    listed = CliRunner().invoke(app, ["events", "failed", "--json"])
    assert listed.exit_code == 1
    [row] = json.loads(listed.output)
    assert (row["message_id"], row["reason"]) == (event.message_id, "ValueError: projector bug")
    assert CliRunner().invoke(app, ["events", "replay"]).exit_code == 1  # still broken: kept

    monkeypatch.setattr(ProfileProjector, "apply_state", apply)  # the fix
    replayed = CliRunner().invoke(app, ["events", "replay"])
    assert replayed.exit_code == 0 and "applied 1" in replayed.output
    assert Quarantine(aws).summary("shop-a") == []
    assert ProfileRepository(aws).get("shop-a", "u1").cart["p1"].price == Decimal("800")
    assert quarantine.replay(aws, "shop-a") == {"applied": 0, "quarantined": 0}


def _target(aws):
    from kaeri_ops.cli.context import Target

    return Target(settings=aws.settings, shop_id="shop-a")


def test_the_local_poller_quarantines_what_it_sets_aside(aws):
    from kaeri_ops.definitions.topology import FUNCTIONS
    from kaeri_ops.local.streams import StreamPoller

    class Failing:
        def invoke(self, function, event):
            raise RuntimeError("function crashed")

    function = next(f for f in FUNCTIONS if f.name == "evaluate-stream")
    event = ev("Product Viewed", {"product_id": "p1"})
    aws.table("events").put_item(Item=event.to_item())
    poller = StreamPoller(aws, Failing(), function, aws.table("events").name, max_attempts=2)
    while poller.poll_once():
        pass

    assert [f.error for f in poller.on_failure] == ["RuntimeError: function crashed"]
    [row] = Quarantine(aws).summary("shop-a")
    assert row["message_id"] == event.message_id and "function crashed" in row["reason"]


@pytest.mark.parametrize("kind", ["identify", "alias"])
def test_an_anonymous_id_merged_into_one_user_is_never_repointed(aws, kind, caplog):
    projector = ProfileProjector(aws)
    repo = ProfileRepository(aws)
    projector.apply(
        StoredEvent(
            shop_id="shop-a",
            message_id="a1",
            type="track",
            event="Product Added",
            anonymous_id="anon-y",
            properties={"product_id": "p1"},
            timestamp=T0,
            received_at=T0,
        )
    )
    projector.apply(
        StoredEvent(
            shop_id="shop-a",
            message_id="a2",
            type="identify",
            user_id="y",
            anonymous_id="anon-y",
            traits={"email": "y@example.jp"},
            timestamp=T0,
            received_at=T0,
        )
    )
    takeover = {
        "identify": {"anonymous_id": "anon-y", "traits": {"email": "x@example.jp"}},
        "alias": {"previous_id": "anon-y"},
    }[kind]
    with caplog.at_level("WARNING", logger="kaeri"):
        projector.apply(
            StoredEvent(
                shop_id="shop-a",
                message_id="a3",
                type=kind,
                user_id="x",
                timestamp=T0 + timedelta(minutes=1),
                received_at=T0,
                **takeover,
            )
        )
    projector.apply(
        StoredEvent(
            shop_id="shop-a",
            message_id="a4",
            type="track",
            event="Product Added",
            anonymous_id="anon-y",
            properties={"product_id": "p2"},
            timestamp=T0 + timedelta(minutes=2),
            received_at=T0,
        )
    )

    assert repo.resolve("shop-a", "anon:anon-y") == "y"
    assert set(repo.get("shop-a", "y").cart) == {"p1", "p2"}
    x = repo.get("shop-a", "x")
    assert x is None or (x.cart == {} and x.anonymous_ids == [])
    [conflict] = repo.conflicts("shop-a", "anon-y")
    assert (conflict["owner"], conflict["claimed_by"], conflict["message_id"]) == ("y", "x", "a3")
    assert "identity conflict" in caplog.text and "x@example.jp" not in caplog.text


def test_an_identify_repeated_or_an_alias_after_it_cannot_double_the_cart(aws):
    projector = ProfileProjector(aws)
    for mid, quantity in (("c1", 2),):
        projector.apply(
            StoredEvent(
                shop_id="shop-a",
                message_id=mid,
                type="track",
                event="Product Added",
                anonymous_id="a",
                properties={"product_id": "p1", "quantity": quantity},
                timestamp=T0,
                received_at=T0,
            )
        )
    for i, kind in enumerate(["identify", "alias", "identify"]):
        extra = {"anonymous_id": "a"} if kind == "identify" else {"previous_id": "a"}
        projector.apply(
            StoredEvent(
                shop_id="shop-a",
                message_id=f"i{i}",
                type=kind,
                user_id="u",
                timestamp=T0 + timedelta(minutes=i + 1),
                received_at=T0,
                **extra,
            )
        )

    assert ProfileRepository(aws).get("shop-a", "u").cart["p1"].quantity == 2
