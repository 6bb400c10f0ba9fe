"""Scheduled scenarios: one EventBridge Scheduler schedule each; a run reads the customers its audience
matches by index and starts journeys inline or, for many customers, through the fan-out queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kaeri.aws import AwsClients, ClientError
from kaeri.journeys.audience import date_matches, plan
from kaeri.journeys.entry import enter
from kaeri.journeys.store import JourneyStore
from kaeri.profiles.model import Profile
from kaeri.profiles.repository import ProfileRepository
from kaeri.scenarios.conditions import evaluate
from kaeri.scenarios.store import ScenarioNotFound, ScenarioStore, StoredScenario
from kaeri.scenarios.timing import local_date_key, zone

INLINE_LIMIT = 500  # runs matching more customers fan out through SQS
FANOUT_BATCH = 100  # customers per queue message


@dataclass
class RunResult:
    scenario_id: str
    run_key: str = ""
    read: int = 0
    matched: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    fanned_out: int = 0
    skipped_reason: str | None = None


def read_profiles(
    clients: AwsClients, stored: StoredScenario, shop_id: str, now: datetime
) -> Iterator[Profile]:
    repository = ProfileRepository(clients)
    seen: set[str] = set()
    for read in plan(stored.scenario, shop_id, now):
        for profile in repository.matching(read.index, read.partition, read.sort):
            if profile.customer_id not in seen:
                seen.add(profile.customer_id)
                yield profile


def run_key(stored: StoredScenario, now: datetime) -> str:
    """One run per local day of the schedule: re-running a day never starts a journey twice."""
    return "run-" + local_date_key(now, zone(stored.scenario.trigger.timezone))


def run_schedule(clients: AwsClients, shop_id: str, scenario_id: str, now: datetime) -> RunResult:
    try:
        stored = ScenarioStore(clients).get(shop_id, scenario_id)
    except ScenarioNotFound:
        return RunResult(scenario_id, skipped_reason="not found")
    result = RunResult(scenario_id, run_key(stored, now))
    if not stored.enabled:
        result.skipped_reason = "disabled"
        return result
    if stored.scenario.trigger.kind == "event":
        result.skipped_reason = "event-triggered"
        return result
    date_field = stored.scenario.trigger.date.date if stored.scenario.trigger.date else None
    matched: list[str] = []
    for profile in read_profiles(clients, stored, shop_id, now):
        result.read += 1
        if date_field and not date_matches(stored.scenario, getattr(profile, date_field), now):
            continue
        if evaluate(stored.scenario.audience, profile, now):
            matched.append(profile.customer_id)
    result.matched = len(matched)
    if len(matched) <= INLINE_LIMIT or not clients.settings.fanout_queue_url:
        start_many(clients, shop_id, stored, matched, result.run_key, now, result.outcomes)
    else:
        result.fanned_out = fan_out(clients, shop_id, stored, matched, result.run_key)
    return result


def start_many(
    clients: AwsClients,
    shop_id: str,
    stored: StoredScenario,
    customer_ids: list[str],
    key: str,
    now: datetime,
    outcomes: dict[str, int] | None = None,
) -> dict[str, int]:
    outcomes = {} if outcomes is None else outcomes
    journeys = JourneyStore(clients)
    for customer_id in customer_ids:
        entry = enter(
            clients,
            shop_id,
            stored,
            customer_id,
            occurrence=key,
            now=now,
            check_audience=False,
            journeys=journeys,
        )
        outcomes[entry.outcome] = outcomes.get(entry.outcome, 0) + 1
    return outcomes


def fan_out(
    clients: AwsClients, shop_id: str, stored: StoredScenario, customer_ids: list[str], key: str
) -> int:
    """Queue the matched customers in batches; evaluate_fanout starts their journeys."""
    bodies = [
        json.dumps(
            {
                "shop_id": shop_id,
                "scenario_id": stored.id,
                "scenario_version": stored.version,
                "run_key": key,
                "customer_ids": customer_ids[i : i + FANOUT_BATCH],
            }
        )
        for i in range(0, len(customer_ids), FANOUT_BATCH)
    ]
    for i in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[i : i + 10])]
        resp = clients.sqs.send_message_batch(QueueUrl=clients.settings.fanout_queue_url, Entries=entries)
        if resp.get("Failed"):
            raise RuntimeError(f"fan-out: {len(resp['Failed'])} messages not queued")
    return len(bodies)


def handle_fanout_message(clients: AwsClients, body: dict[str, Any], now: datetime) -> dict[str, int]:
    stored = ScenarioStore(clients).get(
        body["shop_id"], body["scenario_id"], version=body.get("scenario_version")
    )
    return start_many(clients, body["shop_id"], stored, list(body["customer_ids"]), body["run_key"], now)


# ---------------------------------------------------------------- EventBridge Scheduler


def schedule_name(shop_id: str, scenario_id: str) -> str:
    return f"kaeri-{shop_id}-{scenario_id}"[:64]


def _target_arn(clients: AwsClients) -> str:
    settings = clients.settings
    if settings.schedule_target_arn:
        return settings.schedule_target_arn
    return f"arn:aws:lambda:{settings.region}:000000000000:function:kaeri-evaluate-schedule"


def _role_arn(clients: AwsClients) -> str:
    return clients.settings.schedule_role_arn or "arn:aws:iam::000000000000:role/kaeri-scheduler"


def sync_schedule(clients: AwsClients, shop_id: str, stored: StoredScenario) -> str | None:
    """Create or update the scenario's schedule (cron in its timezone), enabled with the scenario.

    Event-triggered scenarios have none (an existing one is deleted). Returns the schedule name.
    """
    name = schedule_name(shop_id, stored.id)
    group = clients.settings.schedule_group
    cron = stored.scenario.trigger.cron()
    if cron is None:
        delete_schedule(clients, shop_id, stored.id)
        return None
    kwargs = {
        "Name": name,
        "GroupName": group,
        "ScheduleExpression": cron,
        "ScheduleExpressionTimezone": stored.scenario.trigger.timezone or "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if stored.enabled else "DISABLED",
        "Target": {
            "Arn": _target_arn(clients),
            "RoleArn": _role_arn(clients),
            "Input": json.dumps({"shop_id": shop_id, "scenario_id": stored.id}),
        },
        "Description": f"Kaeri scenario {stored.id} (version {stored.version})",
    }
    try:
        clients.scheduler.update_schedule(**kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        clients.scheduler.create_schedule(**kwargs)
    return name


def delete_schedule(clients: AwsClients, shop_id: str, scenario_id: str) -> None:
    try:
        clients.scheduler.delete_schedule(
            Name=schedule_name(shop_id, scenario_id), GroupName=clients.settings.schedule_group
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
