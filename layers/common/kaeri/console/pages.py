"""What each console page shows, computed from the domain (no HTTP here): the view models the templates draw."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kaeri.analytics.lift import Lift
from kaeri.scenarios.model import BranchStep, Scenario, SendStep, WaitStep

# Below this many customers in the holdout or the treated group a lift cannot be told from noise: the
# 95% interval of a difference of two proportions is then wider than any effect a message has.
MIN_GROUP_FOR_LIFT = 100
REPORT_DAYS = 30


@dataclass
class TimelineItem:
    kind: str  # trigger | audience | wait | send | branch | exit | holdout | reentry | goal
    step_id: str | None
    title: str
    detail: list[str] = field(default_factory=list)


def trigger_text(scenario: Scenario) -> str:
    trigger = scenario.trigger
    if trigger.event:
        where = ", ".join(f"{k}={v}" for k, v in trigger.event.where.items())
        return trigger.event.event + (f" ({where})" if where else "")
    if trigger.schedule:
        return f"cron {trigger.schedule.cron} ({trigger.schedule.timezone})"
    assert trigger.date is not None
    return f"{trigger.date.date} − {trigger.date.days_before}d @ {trigger.date.at} ({trigger.date.timezone})"


def condition_text(condition: Any) -> str:
    if condition is None:
        return ""
    return str(condition.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True))


def timeline(scenario: Scenario, t: Any) -> list[TimelineItem]:
    """The scenario in step order: trigger and audience, each step, then exits, re-entry and holdout."""
    items = [
        TimelineItem("trigger", None, t("scenario.trigger"), [trigger_text(scenario)]),
        TimelineItem(
            "audience",
            None,
            t("scenario.audience"),
            [condition_text(scenario.audience) or t("scenario.everyone")],
        ),
    ]
    for step in scenario.steps:
        if isinstance(step, WaitStep):
            spec = step.wait
            detail = []
            if spec.duration:
                detail.append(spec.duration)
            if spec.predicted_next_order_lead:
                detail.append(f"predicted next order − {spec.predicted_next_order_lead}")
            if spec.window:
                detail.append(t("scenario.window", start=spec.window.start, end=spec.window.end))
            items.append(TimelineItem("wait", step.id, t("scenario.wait"), detail))
        elif isinstance(step, SendStep):
            send = step.send
            detail = [" → ".join(send.channels), send.template]
            if send.variants:
                variants = ", ".join(f"{v.id}:{v.template}×{v.weight}" for v in send.variants)
                detail.append(t("scenario.variants", variants=variants))
            if send.purpose != "marketing":
                detail.append(send.purpose)
            items.append(TimelineItem("send", step.id, t("scenario.send"), detail))
        elif isinstance(step, BranchStep):
            branch = step.branch
            detail = [
                condition_text(branch.if_),
                t("scenario.branch_to", then=branch.then, else_=branch.else_ or t("scenario.next")),
            ]
            items.append(TimelineItem("branch", step.id, t("scenario.branch"), detail))
    exits = [*scenario.exit.when, *scenario.exit.events]
    if exits:
        items.append(TimelineItem("exit", None, t("scenario.exit"), [", ".join(exits)]))
    reentry = scenario.reentry
    items.append(
        TimelineItem(
            "reentry",
            None,
            t("scenario.reentry"),
            [t(f"reentry.{reentry.policy}") + (f" ({reentry.days}d)" if reentry.days else "")],
        )
    )
    items.append(
        TimelineItem(
            "goal", None, t("scenario.goal"), [f"{scenario.goal.event} ≤ {scenario.goal.attribution_days}d"]
        )
    )
    items.append(
        TimelineItem("holdout", None, t("scenario.holdout", percent=f"{scenario.holdout_percent:g}"), [])
    )
    return items


def yaml_diff(old: str, new: str, old_name: str, new_name: str) -> list[tuple[str, str]]:
    """Unified diff lines with their kind (add, del, hunk, same) for colouring."""
    lines = []
    for line in difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="", n=2
    ):
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        lines.append((kind, line))
    return lines


def first_wait(scenario: Scenario) -> WaitStep | None:
    return next((s for s in scenario.steps if isinstance(s, WaitStep)), None)


def step_order(scenario: Scenario | None, steps: dict[str, Any]) -> list[str]:
    """Step ids of a funnel in journey order; ids no longer in the scenario come last, by name."""
    order = [s.id for s in scenario.steps] if scenario else []
    known = [s for s in order if s in steps]
    return known + sorted(s for s in steps if s not in order)


def lift_warning(lift: Lift, minimum: int = MIN_GROUP_FOR_LIFT) -> int | None:
    """The smaller group's size when a lift cannot be told from noise, else None."""
    smaller = min(lift.holdout_n, lift.treatment_n)
    return smaller if smaller < minimum else None


def window(now: datetime, days: int = REPORT_DAYS) -> tuple[datetime, datetime]:
    return now - timedelta(days=days), now


@dataclass(frozen=True)
class FormEdit:
    """The common edits, applied to a scenario's data (then validated like any YAML)."""

    values: dict[str, str]

    def apply(self, scenario: Scenario) -> dict[str, Any]:
        data = scenario.model_dump(by_alias=True, exclude_none=True)
        for step in data["steps"]:
            sid = step["id"]
            if "wait" in step:
                duration = self.values.get(f"{sid}.duration")
                if duration is not None and "duration" in step["wait"]:
                    step["wait"]["duration"] = duration.strip()
                start = self.values.get(f"{sid}.window_start", "").strip()
                end = self.values.get(f"{sid}.window_end", "").strip()
                if f"{sid}.window_start" in self.values:
                    if start or end:
                        step["wait"]["window"] = {"start": start, "end": end}
                    else:
                        step["wait"].pop("window", None)
            if "send" in step:
                channels = self.values.get(f"{sid}.channels")
                if channels is not None:
                    step["send"]["channels"] = [c.strip() for c in channels.split(",") if c.strip()]
                template = self.values.get(f"{sid}.template")
                if template is not None:
                    step["send"]["template"] = template.strip()
        if "holdout_percent" in self.values:
            data["holdout_percent"] = _number(self.values["holdout_percent"])
        if "reentry_policy" in self.values:
            days = self.values.get("reentry_days", "").strip()
            data["reentry"] = {"policy": self.values["reentry_policy"]}
            if days:
                data["reentry"]["days"] = _number(days)
        return data


def _number(text: str) -> Any:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text  # the model's own check names the field and what it wants
    return int(value) if value.is_integer() else value
