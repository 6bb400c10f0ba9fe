"""Starting journeys: audience at entry, re-entry policy, holdout, idempotent start on Step Functions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from kaeri.aws import AwsClients, ClientError
from kaeri.clock import iso
from kaeri.events import StoredEvent
from kaeri.journeys.skips import record_skip
from kaeri.journeys.store import Journey, JourneyStore, in_holdout, journey_id
from kaeri.profiles.model import Profile
from kaeri.scenarios.conditions import evaluate
from kaeri.scenarios.store import StoredScenario

EntryOutcome = Literal["started", "holdout", "duplicate", "not_in_audience", "reentry_blocked"]


@dataclass(frozen=True)
class Entry:
    outcome: EntryOutcome
    journey_id: str | None = None
    reason: str = ""


def entry_key(stored: StoredScenario, occurrence: str) -> str:
    """The journey's sort-key suffix: `once` for once-ever scenarios, else the trigger occurrence."""
    return "once" if stored.scenario.reentry.policy == "once" else occurrence


def execution_input(journey: Journey) -> dict[str, Any]:
    """The state machine's input: the journey's key and its first due time (now)."""
    return {
        "shop_id": journey.shop_id,
        "customer_id": journey.customer_id,
        "scenario_id": journey.scenario_id,
        "scenario_version": journey.scenario_version,
        "entry_key": journey.entry_key,
        "journey_id": journey.journey_id,
        "step_index": 0,
        "due_at": iso(journey.entered_at),
        "action": "start",
    }


def start_execution(clients: AwsClients, journey: Journey) -> None:
    arn = clients.settings.journey_state_machine_arn
    if not arn:
        raise RuntimeError("KAERI_JOURNEY_STATE_MACHINE_ARN is not set; journeys cannot start")
    try:
        clients.stepfunctions.start_execution(
            stateMachineArn=arn, name=journey.journey_id, input=json.dumps(execution_input(journey))
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise


def enter(
    clients: AwsClients,
    shop_id: str,
    stored: StoredScenario,
    customer_id: str,
    *,
    occurrence: str,
    now: datetime,
    profile: Profile | None = None,
    trigger: StoredEvent | None = None,
    check_audience: bool = True,
    journeys: JourneyStore | None = None,
) -> Entry:
    """Start one customer's journey unless the audience, re-entry policy or an earlier start says no."""
    scenario = stored.scenario
    if check_audience:
        if profile is None:
            return Entry("not_in_audience", reason="no profile")
        verdict = evaluate(scenario.audience, profile, now)
        if not verdict:
            return Entry("not_in_audience", reason=verdict.reason)
    journeys = journeys or JourneyStore(clients)
    key = entry_key(stored, occurrence)
    jid = journey_id(shop_id, customer_id, scenario.id, key)
    if scenario.reentry.policy == "once_per":
        last = journeys.last_entry(shop_id, customer_id, scenario.id)
        if last is not None and now - last < timedelta(days=scenario.reentry.days or 0):
            existing = journeys.get(shop_id, customer_id, scenario.id, key)
            if existing is None:
                return Entry(
                    "reentry_blocked", jid, f"entered {iso(last)}, once per {scenario.reentry.days} days"
                )
    holdout = in_holdout(shop_id, scenario.id, customer_id, scenario.holdout_percent)
    journey = Journey(
        shop_id=shop_id,
        customer_id=customer_id,
        scenario_id=scenario.id,
        scenario_version=stored.version,
        entry_key=key,
        journey_id=jid,
        entered_at=now,
        trigger_at=trigger.timestamp if trigger else now,
        holdout=holdout,
        status="holdout" if holdout else "running",
        trigger_message_id=trigger.message_id if trigger else None,
        trigger=trigger.model_dump(mode="json") if trigger else None,
    )
    created = journeys.create(journey)
    if not created:
        existing = journeys.get(shop_id, customer_id, scenario.id, key)
        if existing and existing.status == "running" and existing.journey_id == jid:
            start_execution(clients, existing)  # a crash between put and start leaves no orphan
        return Entry("duplicate", jid, "this trigger already started a journey")
    if holdout:
        first = scenario.send_steps()[0]
        record_skip(
            clients,
            {
                "shop_id": shop_id,
                "customer_id": customer_id,
                "message_id": f"{jid}:holdout",
                "scenario_id": scenario.id,
                "scenario_version": stored.version,
                "journey_id": jid,
                "step_id": first.id,
                "template_id": first.send.template,
                "purpose": first.send.purpose,
                "channels": list(first.send.channels),
            },
            "holdout",
        )
        return Entry("holdout", jid, "in the scenario's holdout")
    start_execution(clients, journey)
    return Entry("started", jid)
