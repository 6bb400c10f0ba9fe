"""Entry point the stream consumer calls for every stored event (event triggers and exits).

Owned by the scenario engine; the stream consumer only calls on_event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.events import StoredEvent
from kaeri.journeys.decisions import unsubscribed_since
from kaeri.journeys.entry import Entry, enter
from kaeri.journeys.interest import INTEREST_EVENTS, interested_customers, record_interest
from kaeri.journeys.store import EventJourneyStore, JourneyStore
from kaeri.profiles.model import Profile
from kaeri.profiles.projection import cart_cleared, reset_after, stamp
from kaeri.profiles.repository import ProfileRepository
from kaeri.scenarios.conditions import event_matches
from kaeri.scenarios.model import Exit
from kaeri.scenarios.store import ScenarioStore, StoredScenario
from kaeri.vocabulary import CONSENT_CHANGED, ORDER_COMPLETED, PRODUCT_ADDED, PRODUCT_REMOVED, UNSUBSCRIBED

# An event that happened longer ago than this (an import of past orders, a replayed backlog) still
# updates the profile and ends journeys, but starts none: nobody should get an abandoned-cart or
# thank-you mail for something done months ago.
MAX_TRIGGER_AGE = timedelta(hours=24)


def on_event(
    event: StoredEvent,
    profile: Profile | None,
    clients: AwsClients,
    projection: dict[str, Any] | None = None,
) -> list[Entry]:
    """Start journeys this event triggers and end those it exits. Idempotent per event.

    `projection`: the profile's projection state (kaeri.profiles.projection), when the projector has one.
    """
    customer_id = profile.customer_id if profile else event.user_id
    if event.type == "track" and event.event in INTEREST_EVENTS and customer_id:
        product_id = event.properties.get("product_id")
        if product_id:
            record_interest(
                clients,
                event.shop_id,
                customer_id,
                str(product_id),
                INTEREST_EVENTS[event.event],
                event.timestamp,
            )
    if not event.event:
        return []
    store = ScenarioStore(clients)
    scenarios = store.enabled(event.shop_id)
    if not scenarios:
        return []
    journeys = EventJourneyStore(clients)
    if customer_id:
        mark_exits(event, profile, customer_id, scenarios, journeys, store, projection)
    now = clock.now()
    if now - event.timestamp > MAX_TRIGGER_AGE or superseded_add(event, profile, projection):
        return []
    entries: list[Entry] = []
    for stored in scenarios:
        trigger = stored.scenario.trigger.event
        if trigger is None or not event_matches(trigger, event.event, event.properties):
            continue
        if already_exited(event, profile, stored.scenario.exit):
            continue
        if trigger.audience_from == "product_interest":
            entries.extend(_enter_interested(clients, stored, event, journeys, now, trigger.interest_days))
        elif event.user_id and profile is not None:
            # Only an event that names its customer starts their journeys: an anonymous visitor's event
            # reaches the customer's profile only once a sign-up is merged, which may arrive first or last.
            entries.append(_enter(clients, stored, event, event.user_id, profile, journeys, now))
    return entries


def superseded_add(
    event: StoredEvent, profile: Profile | None, projection: dict[str, Any] | None = None
) -> bool:
    """A Product Added whose product is no longer in the cart: ordered or removed after it (events
    arrive in any order), so it starts no journey.

    With the projection state, only an order or a full removal stamped after the add supersedes it:
    those hold whatever arrives later. Partial removals are left to the step check before each send,
    as for exits (an add arriving later with an earlier time can outweigh them). Without it (a profile
    saved before the projection state existed), the cart as projected decides.
    """
    if event.event != PRODUCT_ADDED or profile is None:
        return False
    product_id = event.properties.get("product_id") or event.properties.get("sku")
    if not product_id:
        return False
    if projection is not None:
        return reset_after(projection, str(product_id), stamp(event.timestamp, event.message_id, event.event))
    line = profile.cart.get(str(product_id))
    if line is None:
        return True
    return line.first_added_at is not None and event.timestamp < line.first_added_at


def already_exited(event: StoredEvent, profile: Profile | None, exit: Exit) -> str | None:
    """The exit a journey this event would start has already met (a later order or unsubscription
    projected before the trigger arrived): such a journey is not started."""
    if profile is None:
        return None
    if "order_completed" in exit.when and profile.last_order_at and profile.last_order_at > event.timestamp:
        return "order_completed"
    if "unsubscribed" in exit.when and unsubscribed_since(profile, event.timestamp):
        return "unsubscribed"
    return None


def _enter(
    clients: AwsClients,
    stored: StoredScenario,
    event: StoredEvent,
    customer_id: str,
    profile: Profile,
    journeys: JourneyStore,
    now: datetime,
) -> Entry:
    """One customer's entry, keyed by the triggering event so a replay starts nothing new."""
    return enter(
        clients,
        event.shop_id,
        stored,
        customer_id,
        occurrence=event.message_id,
        now=now,
        profile=profile,
        trigger=event,
        journeys=journeys,
    )


def _enter_interested(
    clients: AwsClients,
    stored: StoredScenario,
    event: StoredEvent,
    journeys: JourneyStore,
    now: datetime,
    interest_days: int,
) -> list[Entry]:
    product_id = event.properties.get("product_id")
    if not product_id:
        return []
    entries = []
    customers = list(
        dict.fromkeys(
            interested_customers(clients, event.shop_id, str(product_id), now - timedelta(days=interest_days))
        )
    )
    profiles = ProfileRepository(clients).get_many(event.shop_id, customers)
    for customer_id in customers:
        profile = profiles.get(customer_id)
        if profile is None or str(product_id) in profile.products_bought:
            continue  # viewed it and bought it: nothing to remind
        entries.append(_enter(clients, stored, event, customer_id, profile, journeys, now))
    return entries


BUILT_IN_EXIT_EVENTS = frozenset({ORDER_COMPLETED, UNSUBSCRIBED, CONSENT_CHANGED, PRODUCT_REMOVED})


def exits_of(
    event: StoredEvent, profile: Profile | None, exit: Exit, projection: dict[str, Any] | None = None
) -> str | None:
    """The exit this event causes under these exit rules, if any."""
    if event.event == ORDER_COMPLETED and "order_completed" in exit.when:
        return "order_completed"
    if event.event in (UNSUBSCRIBED, CONSENT_CHANGED) and "unsubscribed" in exit.when:
        # As the step check judges it: every channel with a recorded consent is revoked.
        revoked = (
            profile is not None
            and profile.consent
            and all(c.status == "revoked" for c in profile.consent.values())
        )
        if revoked or (profile is None and event.event == UNSUBSCRIBED):
            return "unsubscribed"
    if cart_emptied_exit(event, profile, exit, projection):
        return "cart_emptied"
    if event.event in exit.events:
        return f"event:{event.event}"
    return None


def cart_emptied_exit(
    event: StoredEvent, profile: Profile | None, exit: Exit, projection: dict[str, Any] | None = None
) -> str | None:
    """cart_emptied is a fact of the profile as projected, whatever the time of the event that emptied it.

    Only an order or a full removal ends journeys here: they supersede every add of the product, in
    whatever order the events arrive. A partial removal (`quantity` units) can be outweighed by an add
    that arrives later with an earlier time, so it is left to the step check before each send, which
    judges the cart on the profile as it is then (kaeri.journeys.decisions.exit_reason). The same holds
    for the rest of the cart: with the projection state, a full removal of one product ends journeys
    only if no other product left the cart by partial removals alone (cart_cleared).
    """
    emptied = event.event in (PRODUCT_REMOVED, ORDER_COMPLETED) and profile is not None and not profile.cart
    if emptied and projection is not None:
        emptied = cart_cleared(projection)
    final = event.event == ORDER_COMPLETED or not _partial_units(event.properties.get("quantity"))
    return "cart_emptied" if "cart_emptied" in exit.when and emptied and final else None


def _partial_units(quantity: object) -> bool:
    """True for a removal of some units (the projector's rule: a quantity above 0)."""
    try:
        return int(Decimal(str(quantity))) > 0
    except (ArithmeticError, ValueError, TypeError):
        return False


def mark_exits(
    event: StoredEvent,
    profile: Profile | None,
    customer_id: str,
    scenarios: list[StoredScenario],
    journeys: JourneyStore,
    store: ScenarioStore,
    projection: dict[str, Any] | None = None,
) -> int:
    """End the customer's running journeys this event exits (the step check re-verifies before sending).

    Each journey is judged by the exit rules of the scenario version it entered under: a version
    pushed later changes the exits of the journeys that enter after it, not of those already running
    (older versions are immutable and cached by the store). An exit event named only by an older
    version does not trigger the journeys read here; the step check still applies it before a send.
    """
    by_id = {s.id: s for s in scenarios}
    if event.event not in BUILT_IN_EXIT_EVENTS and not any(
        event.event in s.scenario.exit.events for s in scenarios
    ):
        return 0  # no enabled scenario can end a journey on this event: skip the journeys read
    ended = 0
    for journey in journeys.of_customer(event.shop_id, customer_id):
        stored = by_id.get(journey.scenario_id)
        if stored is None or journey.status != "running":
            continue
        if journey.trigger_message_id == event.message_id:
            continue  # the event that started the journey does not end it
        if journey.scenario_version == stored.version:
            rules = stored.scenario.exit
        else:
            rules = store.version(event.shop_id, journey.scenario_id, journey.scenario_version).exit
        if event.timestamp > journey.trigger_at:
            reason = exits_of(event, profile, rules, projection)
        else:  # an event from before the trigger (or the same millisecond) ends it only by the state
            reason = cart_emptied_exit(event, profile, rules, projection)
        if reason and journeys.finish(journey, "exited", reason):
            ended += 1
    return ended
