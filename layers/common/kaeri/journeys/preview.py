"""What a scenario would do for one customer right now: which steps fire, when, and why or why not."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from kaeri.aws import AwsClients
from kaeri.clock import iso
from kaeri.journeys.decisions import quiet_hours_release, wait_until
from kaeri.journeys.step import StepChecker
from kaeri.journeys.store import Journey, JourneyStore, in_holdout, journey_id
from kaeri.profiles.repository import ProfileRepository
from kaeri.scenarios.conditions import evaluate
from kaeri.scenarios.model import BranchStep, SendStep, WaitStep
from kaeri.scenarios.store import ScenarioStore
from kaeri.scenarios.timing import zone


@dataclass
class PreviewLine:
    step: str
    action: str  # entry | wait | send | skip | branch | end
    at: datetime | None
    why: str
    timezone: str = "UTC"  # the customer's zone (the shop's when the profile has none)
    template: str | None = None  # send steps: what would be rendered
    channels: tuple[str, ...] = ()


def _zoned(lines: list[PreviewLine], tz: Any) -> list[PreviewLine]:
    return [replace(line, timezone=str(tz)) for line in lines]


def preview(
    clients: AwsClients, shop_id: str, scenario_id: str, customer_id: str, now: datetime
) -> list[PreviewLine]:
    store = ScenarioStore(clients)
    stored = store.get(shop_id, scenario_id)
    scenario = stored.scenario
    rules = store.rules(shop_id)
    profile = ProfileRepository(clients).get(shop_id, customer_id)
    lines: list[PreviewLine] = []
    if profile is None:
        return [PreviewLine("entry", "end", None, f"no profile for customer '{customer_id}'")]
    tz = zone(profile.timezone, rules.timezone)
    verdict = evaluate(scenario.audience, profile, now)
    state = "enabled" if stored.enabled else "disabled (enable it to run)"
    lines.append(
        PreviewLine(
            "entry",
            "entry" if verdict else "end",
            now,
            f"version {stored.version}, {state}; audience: {verdict.reason}",
        )
    )
    if not verdict:
        return _zoned(lines, tz)
    if in_holdout(shop_id, scenario.id, customer_id, scenario.holdout_percent):
        lines.append(
            PreviewLine(
                "entry", "end", now, f"in the {scenario.holdout_percent:g}% holdout: receives nothing"
            )
        )
        return _zoned(lines, tz)
    last = JourneyStore(clients).last_entry(shop_id, customer_id, scenario.id)
    if (
        last
        and scenario.reentry.policy == "once_per"
        and now - last < timedelta(days=scenario.reentry.days or 0)
    ):
        lines.append(
            PreviewLine(
                "entry", "end", now, f"re-entry: entered {iso(last)}, once per {scenario.reentry.days} days"
            )
        )
        return _zoned(lines, tz)
    if last and scenario.reentry.policy == "once":
        lines.append(PreviewLine("entry", "end", now, f"re-entry: already entered {iso(last)} (once)"))
        return _zoned(lines, tz)
    journey = Journey(
        shop_id=shop_id,
        customer_id=customer_id,
        scenario_id=scenario.id,
        scenario_version=stored.version,
        entry_key="preview",
        journey_id=journey_id(shop_id, customer_id, scenario.id, "preview"),
        entered_at=now,
        trigger_at=now,
    )
    checker = StepChecker(clients)
    at = now
    index = 0
    while index < len(scenario.steps):
        step = scenario.steps[index]
        if isinstance(step, WaitStep):
            due = wait_until(step.wait, at, profile, tz)
            lines.append(PreviewLine(step.id, "wait", due, f"until {due.astimezone(tz):%Y-%m-%d %H:%M %Z}"))
            at, index = due, index + 1
            continue
        if isinstance(step, BranchStep):
            v = evaluate(step.branch.if_, profile, at)
            target = step.branch.then if v else step.branch.else_
            lines.append(PreviewLine(step.id, "branch", at, f"{v.reason} -> {target or 'next step'}"))
            if target == "end":
                break
            index = scenario.step_index(target) if target else index + 1
            continue
        assert isinstance(step, SendStep)
        v = evaluate(scenario.audience, profile, at)
        if not v:
            lines.append(PreviewLine(step.id, "skip", at, f"audience at send time: {v.reason}"))
            break
        release = quiet_hours_release(at, tz, rules.quiet_hours) if step.send.purpose == "marketing" else at
        why = f"template {step.send.template} via {', '.join(step.send.channels)}"
        if release > at:
            why += f"; quiet hours defer it to {release.astimezone(tz):%H:%M %Z}"
            at = release
        capped = checker.capped_channels(journey, rules, list(step.send.channels), at)
        if capped and set(capped) >= set(step.send.channels):
            lines.append(PreviewLine(step.id, "skip", at, f"frequency cap reached on {', '.join(capped)}"))
        else:
            if capped:
                why += f"; capped on {', '.join(capped)}, falls back"
            lines.append(
                PreviewLine(
                    step.id, "send", at, why, template=step.send.template, channels=tuple(step.send.channels)
                )
            )
        index += 1
    return _zoned(lines, tz)
