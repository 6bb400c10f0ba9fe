"""The journey step check the state machine calls: decide send, skip, wait or end for one journey.

Input and output are the execution's state (`shop_id`, `customer_id`, `scenario_id`, `entry_key`,
`journey_id`, `step_index`, `due_at`, ...). Output `action` is `send` (with `request`, a SendRequest),
`wait` (until `due_at`) or `end`. Skips are logged in the message log and the walk moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.clock import iso, parse_iso
from kaeri.delivery.log import MessageLog
from kaeri.delivery.request import SendRequest
from kaeri.journeys.decisions import exit_reason, quiet_hours_release, wait_until
from kaeri.journeys.skips import record_skip
from kaeri.journeys.store import Journey, JourneyStore, pick_variant
from kaeri.profiles.model import Profile
from kaeri.scenarios.conditions import evaluate
from kaeri.scenarios.model import BranchStep, Scenario, SendStep, ShopRules, WaitStep
from kaeri.scenarios.store import ScenarioStore
from kaeri.scenarios.timing import local_date_key, next_local_midnight, parse_duration, zone
from kaeri.tracking.store import EventStore

STATE_KEYS = ("shop_id", "customer_id", "scenario_id", "scenario_version", "entry_key", "journey_id")
NOT_COUNTED = frozenset({"skipped", "failed"})


def message_id(journey_id: str, step_id: str) -> str:
    return f"{journey_id}:{step_id}"


class StepChecker:
    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self.journeys = JourneyStore(clients)
        self.scenarios = ScenarioStore(clients)
        self.messages = MessageLog.of(clients)
        self.events = EventStore(clients)

    # ------------------------------------------------------------ the walk

    def check(self, state: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
        now = now or clock.now()
        base = {k: state[k] for k in STATE_KEYS if k in state}
        journey, profile = self.journeys.get_with_profile(
            state["shop_id"], state["customer_id"], state["scenario_id"], state["entry_key"]
        )
        if journey is None:
            return {**base, "action": "end", "reason": "journey not found"}
        scenario = self.scenarios.version(journey.shop_id, journey.scenario_id, journey.scenario_version)
        start = int(state.get("step_index", 0))
        if journey.status != "running":
            if journey.status == "exited":
                self._skip_next_send(journey, scenario, start, "exited", journey.exit_reason)
            return {**base, "action": "end", "reason": journey.status}
        rules = self.scenarios.rules(journey.shop_id)
        tz = zone(profile.timezone if profile else None, rules.timezone)
        first_due = parse_iso(state["step_due_at"]) if state.get("step_due_at") else now

        index = start
        while index < len(scenario.steps):
            step = scenario.steps[index]
            if isinstance(step, WaitStep):
                due = wait_until(step.wait, now, profile, tz)
                if due > now:
                    self.journeys.set_step(journey, index + 1)
                    return {**base, "action": "wait", "step_index": index + 1, "due_at": iso(due)}
                index += 1
                continue
            if isinstance(step, BranchStep):
                holds = profile is not None and evaluate(step.branch.if_, profile, now).matches
                target = step.branch.then if holds else step.branch.else_
                if target == "end":
                    self.journeys.finish(journey, "completed")
                    return {**base, "action": "end", "reason": f"branch {step.id}"}
                index = scenario.step_index(target) if target else index + 1
                continue

            assert isinstance(step, SendStep)
            step_due = first_due if index == start else now
            decision = self._decide_send(journey, scenario, step, rules, profile, tz, now, step_due)
            if decision["action"] == "skip":
                index += 1
                continue
            if decision["action"] == "end":
                return {**base, "action": "end", "reason": decision["reason"]}
            if decision["action"] == "wait":
                return {
                    **base,
                    "action": "wait",
                    "step_index": index,
                    "due_at": decision["due_at"],
                    "step_due_at": iso(step_due),
                }
            self.journeys.set_step(journey, index + 1)
            return {
                **base,
                "action": "send",
                "step_index": index + 1,
                "due_at": iso(now),
                "request": decision["request"],
            }
        self.journeys.finish(journey, "completed")
        return {**base, "action": "end", "reason": "completed"}

    # ------------------------------------------------------------ one send step

    def _decide_send(
        self,
        journey: Journey,
        scenario: Scenario,
        step: SendStep,
        rules: ShopRules,
        profile: Profile | None,
        tz: Any,
        now: datetime,
        step_due: datetime,
    ) -> dict[str, Any]:
        fields = self._fields(journey, step)
        events = self._exit_events_since(journey) if scenario.exit.events else []
        reason = exit_reason(scenario.exit, journey, profile, events)
        if reason:
            record_skip(self.clients, fields, "exited", reason)
            self.journeys.finish(journey, "exited", reason)
            return {"action": "end", "reason": f"exited: {reason}"}
        verdict = evaluate(scenario.audience, profile, now) if profile else None
        if verdict is None or not verdict:
            detail = verdict.reason if verdict else "no profile"
            record_skip(self.clients, fields, "audience", detail)
            self.journeys.finish(journey, "exited", "audience")
            return {"action": "end", "reason": f"audience: {detail}"}

        channels = list(step.send.channels)
        if step.send.purpose == "marketing":
            release = quiet_hours_release(now, tz, rules.quiet_hours)
            if release > now:
                if step.send.expires_after and release > step_due + parse_duration(step.send.expires_after):
                    record_skip(
                        self.clients, fields, "quiet_hours", f"next allowed time {iso(release)} is too late"
                    )
                    return {"action": "skip"}
                return {"action": "wait", "due_at": iso(release)}
            capped = self.capped_channels(journey, rules, channels, now)
            channels = [c for c in channels if c not in capped]
            if not channels:
                record_skip(self.clients, fields, "capped", "frequency cap on " + ", ".join(capped))
                return {"action": "skip"}
            if rules.daily_limit is not None and not self._reserve_daily(journey.shop_id, rules, now):
                return {"action": "wait", "due_at": iso(next_local_midnight(now, zone(rules.timezone)))}

        template, variant = step.send.template, None
        if step.send.variants:
            variant = pick_variant(
                journey.journey_id, step.id, [(v.id, v.weight) for v in step.send.variants]
            )
            template = next(v.template for v in step.send.variants if v.id == variant)
        context = dict(step.send.context)
        if scenario.locale:
            context.setdefault("locale", scenario.locale)
        request = SendRequest(
            shop_id=journey.shop_id,
            customer_id=journey.customer_id,
            message_id=message_id(journey.journey_id, step.id),
            scenario_id=scenario.id,
            scenario_version=journey.scenario_version,
            journey_id=journey.journey_id,
            step_id=step.id,
            variant=variant,
            channels=channels,
            template_id=template,
            purpose=step.send.purpose,
            trigger=journey.trigger,
            context=context,
        )
        return {"action": "send", "request": request.model_dump(mode="json")}

    # ------------------------------------------------------------ adapters

    def _fields(self, journey: Journey, step: SendStep) -> dict[str, Any]:
        return {
            "shop_id": journey.shop_id,
            "customer_id": journey.customer_id,
            "message_id": message_id(journey.journey_id, step.id),
            "scenario_id": journey.scenario_id,
            "scenario_version": journey.scenario_version,
            "journey_id": journey.journey_id,
            "step_id": step.id,
            "template_id": step.send.template,
            "purpose": step.send.purpose,
            "channels": list(step.send.channels),
        }

    def _skip_next_send(
        self, journey: Journey, scenario: Scenario, start: int, reason: str, detail: str | None
    ) -> None:
        for step in scenario.steps[start:]:
            if isinstance(step, SendStep):
                record_skip(self.clients, self._fields(journey, step), reason, detail)
                return

    def _exit_events_since(self, journey: Journey) -> list[str]:
        names = self.events.names_after(journey.shop_id, journey.customer_id, journey.trigger_at)
        return [name for name, message_id in names if message_id != journey.trigger_message_id]

    def capped_channels(
        self, journey: Journey, rules: ShopRules, channels: Sequence[str], now: datetime
    ) -> list[str]:
        """Channels whose frequency cap is reached, counted from the messages table `by_customer` index."""
        caps = [c for c in rules.frequency_caps if c.channel in channels]
        if not caps:
            return []
        longest = max(parse_duration(c.per) for c in caps)
        recent = [
            i
            for i in self.messages.of_customer_since(journey.shop_id, journey.customer_id, now - longest)
            if i.get("status") not in NOT_COUNTED and i.get("purpose", "marketing") == "marketing"
        ]
        capped: list[str] = []
        for cap in caps:
            since = iso(now - parse_duration(cap.per))
            count = sum(
                1 for i in recent if i.get("channel") == cap.channel and i.get("created_at", "") >= since
            )
            if count >= cap.max and cap.channel not in capped:
                capped.append(cap.channel)
        return capped

    def _reserve_daily(self, shop_id: str, rules: ShopRules, now: datetime) -> bool:
        """Count one marketing send against today's shop-wide limit; False when the limit is reached."""
        day = local_date_key(now, zone(rules.timezone))
        assert rules.daily_limit is not None
        expires_at = int((now + timedelta(days=3)).timestamp())
        return self.scenarios.reserve_daily_send(shop_id, day, rules.daily_limit, expires_at)
