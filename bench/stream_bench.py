"""The stream consumer's scenario work (kaeri.journeys.triggers.on_event) with 20 enabled scenarios.

Besides events per second (wall clock, noisy on a shared machine), it reports events per CPU second
and the AWS requests per event by operation (bench._moto.RequestCounter), which do not depend on load.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench._moto import RequestCounter, per_event, setup_clients

SHOP = "bench"
CUSTOMERS = 200
EVENTS = 1_000
SCENARIOS = 20


def run() -> dict[str, float | int | str]:
    from moto import mock_aws

    from kaeri import clock
    from kaeri.events import StoredEvent
    from kaeri.journeys.triggers import on_event
    from kaeri.profiles.model import CartLine, Consent, Profile
    from kaeri.profiles.repository import ProfileRepository
    from kaeri.scenarios.model import EventTrigger, Trigger
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.presets import PRESET_IDS, preset

    now = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    rng = random.Random(11)
    previous = clock.use(clock.ManualClock(now))
    try:
        with mock_aws():
            clients, _ = setup_clients()
            store = ScenarioStore(clients)
            scenarios = [preset(pid) for pid in PRESET_IDS]
            names = [
                "Product Viewed",
                "Product Added",
                "Order Completed",
                "Signed Up",
                "Cart Viewed",
                "Checkout Started",
            ]
            n = 0
            while len(scenarios) < SCENARIOS:  # variants of the event presets on other events
                base = preset("browse-abandonment")
                trigger = Trigger(event=EventTrigger(event=names[n % len(names)], where={"variant": n}))
                scenarios.append(base.model_copy(update={"id": f"variant-{n}", "trigger": trigger}))
                n += 1
            for scenario in scenarios:
                store.push(SHOP, scenario)
                store.set_enabled(SHOP, scenario.id, True)
            repo = ProfileRepository(clients)
            profiles = {}
            for c in range(CUSTOMERS):
                profile = Profile(
                    shop_id=SHOP,
                    customer_id=f"c{c}",
                    email=f"c{c}@example.com",
                    consent={"email": Consent(status="granted", at=now)},
                    cart={"p1": CartLine(product_id="p1", price=Decimal(1000))} if c % 2 else {},
                    order_count=c % 3,
                    signed_up_at=now - timedelta(days=10),
                )
                repo.put(profile)
                profiles[profile.customer_id] = profile
            weights = [50, 20, 5, 2, 15, 8]
            events = []
            for _ in range(EVENTS):
                customer = f"c{rng.randrange(CUSTOMERS)}"
                name = rng.choices(names, weights)[0]
                events.append(
                    StoredEvent(
                        shop_id=SHOP,
                        message_id=str(uuid.uuid4()),
                        type="track",
                        event=name,
                        user_id=customer,
                        properties={"product_id": f"p{rng.randrange(50)}"},
                        timestamp=now,
                        received_at=now,
                    )
                )
            counter = RequestCounter().attach(clients)
            started, cpu = time.perf_counter(), time.process_time()
            entries = 0
            for event in events:
                entries += len(on_event(event, profiles[event.user_id], clients))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            return {
                "events_per_second": round(EVENTS / seconds, 1),
                "events_per_cpu_second": round(EVENTS / cpu, 1),
                "requests_per_event": round(counter.total / EVENTS, 3),
                "requests_by_operation": per_event(counter.requests, EVENTS),
                "events": EVENTS,
                "enabled_scenarios": SCENARIOS,
                "entry_decisions": entries,
            }
    finally:
        clock.use(previous)
