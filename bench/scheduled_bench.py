"""A daily scenario (birthday) over 100,000 customers of whom 300 match: items read per targeted customer."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta

from bench._moto import setup_clients

CUSTOMERS = 100_000
MATCHING = 300
SHOP = "bench"


def run() -> dict[str, float | int | str]:
    from moto import mock_aws

    from kaeri import clock
    from kaeri.journeys.schedule import run_schedule
    from kaeri.profiles.model import Consent, Profile
    from kaeri.profiles.repository import profile_attributes
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.presets import preset

    now = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    today = date(2026, 6, 1)
    rng = random.Random(7)
    previous = clock.use(clock.ManualClock(now))
    try:
        with mock_aws():
            clients, counter = setup_clients()
            table = clients.table("customers")
            granted = {"email": Consent(status="granted", at=now - timedelta(days=30))}
            matching = set(rng.sample(range(CUSTOMERS), MATCHING))
            with table.batch_writer() as batch:
                for n in range(CUSTOMERS):
                    if n in matching:
                        birthday = date(1990, today.month, today.day)
                    else:
                        birthday = date(1990, 1, 1) + timedelta(days=rng.randrange(365))
                        if (birthday.month, birthday.day) == (today.month, today.day):
                            birthday += timedelta(days=1)
                    profile = Profile(
                        shop_id=SHOP,
                        customer_id=f"c{n:06d}",
                        email=f"c{n}@example.com",
                        birthday=birthday,
                        consent=granted,
                        order_count=rng.randrange(4),
                    )
                    attributes = {k: v for k, v in profile_attributes(profile).items() if v is not None}
                    batch.put_item(
                        Item={"pk": f"{SHOP}#{profile.customer_id}", "sk": "PROFILE", **attributes}
                    )
            store = ScenarioStore(clients)
            store.push(SHOP, preset("birthday"))
            store.set_enabled(SHOP, "birthday", True)
            counter.reset()
            started = time.perf_counter()
            result = run_schedule(clients, SHOP, "birthday", now)
            seconds = time.perf_counter() - started
            targets = result.matched
            return {
                "items_read_per_target": round(counter.total / max(targets, 1), 3),
                "items_read": counter.total,
                "targets": targets,
                "journeys_started": result.outcomes.get("started", 0),
                "holdout": result.outcomes.get("holdout", 0),
                "customers": CUSTOMERS,
                "seconds": round(seconds, 2),
            }
    finally:
        clock.use(previous)
