"""The profile is a function of a customer's events by timestamp, whatever order they arrive in.

Random event sequences of one customer are delivered in timestamp order and in random permutations,
through the pure projection and through the projector with concurrent conflicting saves; the
profile and the cart journeys left running must be the same.

CI runs a modest number of examples; a deeper search sets KAERI_PROPERTY_EXAMPLES (e.g. 5000):
    KAERI_PROPERTY_EXAMPLES=5000 .venv/bin/python -m pytest tests/unit/test_projection_order.py -q
"""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaeri.events import StoredEvent
from kaeri.journeys.triggers import already_exited, cart_emptied_exit, exits_of, superseded_add
from kaeri.profiles.model import Profile
from kaeri.profiles.projection import stamp
from kaeri.profiles.projector import ProfileProjector, apply_event
from kaeri.profiles.repository import ConcurrentUpdate, ProfileState
from kaeri_ops.scenarios.presets import preset

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
PRODUCTS = ["p1", "p2", "p3"]
_PRESET_EXIT = preset("cart-abandonment").exit
# Unsubscription exits are left out of the journey comparison: a revocation later re-granted ends a
# journey in timestamp order, and the profile keeps only the latest consent (the step check
# re-verifies consent before every send, whatever the order).
# Examples per property: CI's default, or a deeper search on demand.
EXAMPLES = int(os.environ.get("KAERI_PROPERTY_EXAMPLES", "300"))
CART_EXIT = _PRESET_EXIT.model_copy(update={"when": [w for w in _PRESET_EXIT.when if w != "unsubscribed"]})


def _event(i: int, minute: int, kind: str, product: str, value: int) -> StoredEvent:
    at = T0 + timedelta(minutes=minute)
    base = {"shop_id": "s", "message_id": f"m{i:03d}", "user_id": "u1", "timestamp": at, "received_at": at}
    if kind == "identify":
        traits = {"email": f"u{value}@example.jp", "plan": ["free", "gold", None][value % 3]}
        return StoredEvent(type="identify", traits=traits, **base)
    if kind == "consent":
        status = "granted" if value % 2 else "revoked"
        return StoredEvent(
            type="track", event="Consent Changed", properties={"channel": "email", "status": status}, **base
        )
    if kind == "points":
        props = {"points_balance": value * 100 - 100, "points_expire_on": f"2026-0{1 + value % 9}-01"}
        return StoredEvent(type="track", event="Points Updated", properties=props, **base)
    if kind == "order":
        props = {
            "order_id": f"o{value % 3}",  # the same order may come twice (storefront and Shopify)
            "total": 1000 * (value + 1),
            "currency": "JPY",
            "products": [{"product_id": product, "category": f"c{value % 2}"}],
        }
        return StoredEvent(type="track", event="Order Completed", properties=props, **base)
    name = {
        "view": "Product Viewed",
        "add": "Product Added",
        "remove": "Product Removed",
        "wish": "Product Added to Wishlist",
        "unwish": "Product Removed from Wishlist",
    }[kind]
    props = {"product_id": product, "price": 1000 + value, "name": f"n{value}"}
    if kind in ("add", "remove") and value % 3:
        props["quantity"] = value % 3
    return StoredEvent(type="track", event=name, properties=props, **base)


KINDS = ["identify", "consent", "points", "view", "add", "add", "remove", "order", "wish", "unwish"]
events_strategy = st.lists(
    st.tuples(
        st.integers(0, 6),  # minute: ties in one minute are frequent, in one millisecond too
        st.sampled_from(KINDS),
        st.sampled_from(PRODUCTS),
        st.integers(0, 5),
    ),
    min_size=1,
    max_size=12,
).map(lambda raw: [_event(i, *r) for i, r in enumerate(raw)])


def _by_time(events: list[StoredEvent]) -> list[StoredEvent]:
    """Timestamp order; within a millisecond the funnel's order (kaeri.profiles.projection.stamp)."""
    return sorted(events, key=lambda e: stamp(e.timestamp, e.message_id, e.event))


def _fresh() -> ProfileState:
    return ProfileState(profile=Profile(shop_id="s", customer_id="u1"))


def _view(profile: Profile) -> dict:
    return profile.model_dump(mode="json", exclude={"updated_at"})


def _project(events: list[StoredEvent]) -> tuple[Profile, set[str]]:
    """The profile after the events in this arrival order, and the cart journeys left running."""
    state = _fresh()
    running: dict[str, StoredEvent] = {}
    for event in events:
        apply_event(state, event)
        profile = state.profile
        for trigger_id, trigger in list(running.items()):
            after = event.timestamp > trigger.timestamp
            reason = (
                exits_of(event, profile, CART_EXIT, state.projection)
                if after
                else cart_emptied_exit(event, profile, CART_EXIT, state.projection)
            )
            if reason:
                del running[trigger_id]
        if (
            event.event == "Product Added"
            and not superseded_add(event, profile, state.projection)  # as the stream decides
            and not already_exited(event, profile, CART_EXIT)
        ):
            running[event.message_id] = event
    # A journey whose add no longer counts (its product removed or ordered since) can run on in
    # timestamp order while the rest of the cart is full; it is judged by the final profile.
    live = {m for m, trigger in running.items() if not superseded_add(trigger, state.profile)}
    return state.profile, live


@settings(max_examples=EXAMPLES, deadline=None)
@given(events=events_strategy, data=st.data())
def test_any_arrival_order_gives_the_timestamp_order_profile_and_journeys(events, data):
    expected_profile, expected_journeys = _project(_by_time(events))
    arrival = data.draw(st.permutations(events))

    profile, journeys = _project(arrival)

    assert _view(profile) == _view(expected_profile)
    assert journeys == expected_journeys


def test_a_full_removal_of_another_product_ends_no_journey_while_a_partial_removal_can_be_outweighed():
    # One millisecond: add p1, remove one p1, remove p2, add p1 again. By stamp the second add comes
    # before the partial removal, so p1 stays in the cart and both adds' journeys run. Delivered in
    # message order, the cart looks empty when p2's removal arrives; that must not end the first
    # journey, since the second add is still to come (found by the property above).
    events = [
        _event(0, 0, "add", "p1", 0),
        _event(1, 0, "remove", "p1", 1),
        _event(2, 0, "remove", "p2", 0),
        _event(3, 0, "add", "p1", 0),
    ]
    profile, journeys = _project(events)

    assert list(profile.cart) == ["p1"]
    assert journeys == {"m000", "m003"} == _project(_by_time(events))[1]


def test_the_node_sdk_batch_in_one_millisecond_leaves_no_cart_and_no_journey():
    at = T0
    batch = [
        StoredEvent(shop_id="s", message_id=mid, user_id="u1", timestamp=at, received_at=at, **fields)
        for mid, fields in (
            ("b1", {"type": "identify", "traits": {"email": "a@example.jp"}}),
            ("b2", {"type": "track", "event": "Product Viewed", "properties": {"product_id": "p1"}}),
            ("b3", {"type": "track", "event": "Product Added", "properties": {"product_id": "p1"}}),
            (
                "b4",
                {
                    "type": "track",
                    "event": "Order Completed",
                    "properties": {"order_id": "o1", "total": 1000, "products": [{"product_id": "p1"}]},
                },
            ),
        )
    ]
    for arrival in (batch, list(reversed(batch)), [batch[3], batch[0], batch[2], batch[1]]):
        profile, journeys = _project(arrival)
        assert profile.cart == {} and profile.order_count == 1
        assert journeys == set()


class RacingRepository:
    """An in-memory customers table whose saves can lose to a concurrent writer, on demand."""

    def __init__(self, race: list[bool]) -> None:
        self.item: ProfileState | None = None
        self.race = race  # per save: does another writer save first?
        self.interloper: list[StoredEvent] = []
        self.projector: ProfileProjector | None = None

    def load(self, shop_id: str, customer_id: str) -> ProfileState:
        return copy.deepcopy(self.item) if self.item else _fresh()

    def put_records(self, items) -> None:
        pass

    def save(self, state: ProfileState) -> int:
        if self.race and self.race.pop(0) and self.interloper:
            self.projector.apply(self.interloper.pop(0))  # another shard's event lands in between
        current = self.item.version if self.item else None
        if current != state.version:
            raise ConcurrentUpdate(state.profile.customer_id)
        state.version = (state.version or 0) + 1
        self.item = copy.deepcopy(state)
        return state.version


@settings(max_examples=max(EXAMPLES // 2, 1), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=events_strategy, data=st.data())
def test_concurrent_conflicting_saves_give_the_timestamp_order_profile(events, data):
    expected, _ = _project(_by_time(events))
    arrival = data.draw(st.permutations(events))
    split = data.draw(st.integers(0, len(arrival)))
    repo = RacingRepository(data.draw(st.lists(st.booleans(), max_size=40)))
    projector = ProfileProjector(clients=None, repository=repo)
    repo.projector = projector
    repo.interloper = list(arrival[split:])  # applied by a concurrent writer mid-save
    for event in arrival[:split]:
        projector.apply(event)
    for event in arrival[split:]:
        projector.apply(event)  # already applied by the racing writer: a no-op then

    assert _view(repo.item.profile) == _view(expected)


def test_a_partial_removal_outweighed_by_a_late_earlier_add_does_not_end_the_journey():
    """Found by the property above: add, add, remove one unit in one millisecond, the second add
    arriving last. The cart never empties in time order, so no cart journey may end on arrival."""
    first, second = _event(7, 0, "add", "p1", 0), _event(8, 0, "add", "p1", 0)
    removal = _event(9, 0, "remove", "p1", 1)  # one unit

    expected_profile, expected_journeys = _project(_by_time([first, second, removal]))
    profile, journeys = _project([first, removal, second])

    assert _view(profile) == _view(expected_profile)
    assert journeys == expected_journeys == {first.message_id, second.message_id}


def test_a_removal_arriving_before_both_adds_it_follows_does_not_stop_the_first_add_starting():
    """Found by a deep search of the property above: add, add, remove one unit in one millisecond,
    the removal arriving first. On arrival the first add looks outweighed by the removal, but the
    second add, arriving later, keeps a unit in the cart: only orders and full removals stop a start."""
    first, second = _event(1, 0, "add", "p1", 0), _event(2, 0, "add", "p1", 0)
    removal = _event(0, 0, "remove", "p1", 1)  # one unit

    expected_profile, expected_journeys = _project(_by_time([first, second, removal]))
    profile, journeys = _project([removal, first, second])

    assert _view(profile) == _view(expected_profile)
    assert journeys == expected_journeys == {first.message_id, second.message_id}
