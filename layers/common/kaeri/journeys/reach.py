"""Who a scenario's entry audience matches right now: the console's count and sample before enabling.

Reads through the same index plan a scheduled run uses (kaeri.journeys.audience), so the count is
what a run would start now; event-triggered scenarios count who would qualify if the event came now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kaeri.aws import AwsClients
from kaeri.journeys.audience import date_matches
from kaeri.journeys.schedule import read_profiles
from kaeri.profiles.model import Profile
from kaeri.scenarios.conditions import evaluate
from kaeri.scenarios.store import StoredScenario


@dataclass
class Reach:
    matched: int = 0
    read: int = 0
    sample: list[Profile] = field(default_factory=list)


def audience_now(
    clients: AwsClients, shop_id: str, stored: StoredScenario, now: datetime, sample: int = 10
) -> Reach:
    reach = Reach()
    trigger_date = stored.scenario.trigger.date
    for profile in read_profiles(clients, stored, shop_id, now):
        reach.read += 1
        if trigger_date and not date_matches(stored.scenario, getattr(profile, trigger_date.date), now):
            continue
        if evaluate(stored.scenario.audience, profile, now):
            reach.matched += 1
            if len(reach.sample) < sample:
                reach.sample.append(profile)
    return reach
