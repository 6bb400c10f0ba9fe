"""Re-entry checks on the stream: one strongly consistent query answers both the last entry and whether
this very trigger's journey exists, and a replayed trigger still restarts a journey left without its
execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench._moto import RequestCounter
from kaeri.journeys import entry as entry_module
from kaeri.journeys.entry import enter, entry_key
from kaeri.journeys.store import EventJourneyStore, Journey, JourneyStore, journey_id
from kaeri.profiles.model import Profile
from kaeri.scenarios.store import StoredScenario
from kaeri_ops.scenarios.presets import preset

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
SHOP, CUSTOMER = "shop-a", "c1"


@pytest.fixture
def scenario():
    # browse-abandonment: once per 3 days, an audience every profile is in; no holdout.
    return StoredScenario(preset("browse-abandonment").model_copy(update={"holdout_percent": 0}), 1, True)


@pytest.fixture
def started(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(
        entry_module, "start_execution", lambda clients, journey: calls.append(journey.journey_id)
    )
    return calls


def _entered(aws, scenario, occurrence: str, at: datetime, status: str = "running") -> Journey:
    key = entry_key(scenario, occurrence)
    journey = Journey(
        shop_id=SHOP,
        customer_id=CUSTOMER,
        scenario_id=scenario.id,
        scenario_version=1,
        entry_key=key,
        journey_id=journey_id(SHOP, CUSTOMER, scenario.id, key),
        entered_at=at,
        trigger_at=at,
        status=status,
        trigger_message_id=occurrence,
    )
    assert JourneyStore(aws).create(journey)
    return journey


def _enter(aws, scenario, occurrence: str, journeys: JourneyStore):
    profile = Profile(shop_id=SHOP, customer_id=CUSTOMER, email="c1@example.com")
    return enter(
        aws, SHOP, scenario, CUSTOMER, occurrence=occurrence, now=NOW, profile=profile, journeys=journeys
    )


def test_a_new_trigger_within_the_window_is_blocked_after_one_query(aws, scenario, started):
    _entered(aws, scenario, "m0", NOW - timedelta(days=1))
    counter = RequestCounter().attach(aws)

    result = _enter(aws, scenario, "m1", EventJourneyStore(aws))

    assert result.outcome == "reentry_blocked"
    assert counter.requests == {"Query": 1}
    assert started == []


def test_a_replayed_trigger_restarts_its_running_journey(aws, scenario, started):
    """The put happened, the start did not (a crash between them): the replay starts it, once."""
    journey = _entered(aws, scenario, "m0", NOW - timedelta(hours=1))

    result = _enter(aws, scenario, "m0", EventJourneyStore(aws))

    assert (result.outcome, result.journey_id) == ("duplicate", journey.journey_id)
    assert started == [journey.journey_id]


def test_a_replayed_trigger_of_an_ended_journey_starts_nothing(aws, scenario, started):
    _entered(aws, scenario, "m0", NOW - timedelta(hours=1), status="exited")

    assert _enter(aws, scenario, "m0", EventJourneyStore(aws)).outcome == "duplicate"
    assert started == []


def test_after_the_window_the_customer_enters_again(aws, scenario, started):
    _entered(aws, scenario, "m0", NOW - timedelta(days=4))
    journeys = EventJourneyStore(aws)

    result = _enter(aws, scenario, "m1", journeys)

    assert result.outcome == "started"
    assert started == [result.journey_id]
    # The store knows what it wrote: the journey is in its list without another read.
    assert {j.entry_key for j in journeys.of_customer(SHOP, CUSTOMER, scenario.id)} == {"m0", "m1"}


def test_the_same_answers_as_the_plain_store(aws, scenario, started):
    _entered(aws, scenario, "m0", NOW - timedelta(days=1))

    plain = _enter(aws, scenario, "m1", JourneyStore(aws))
    per_event = _enter(aws, scenario, "m1", EventJourneyStore(aws))

    assert plain == per_event
