"""YAML in, Scenario out, with errors that name the field path and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kaeri.scenarios.model import Scenario
from kaeri.scenarios.source import (  # noqa: F401  (the CLI's names for the runtime's reader)
    ScenarioError,
    format_errors,
    load_text,
    parse_rules,
    parse_scenario,
    to_yaml,
)


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    return load_text(path.read_text(encoding="utf-8"), str(path))


def scenario_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


# What an editor shows for each property (the model's own descriptions win); a test requires one on
# every property, so a new field cannot ship undescribed.
DESCRIPTIONS: dict[str, str] = {
    "Scenario.name": "Name shown in the console and reports.",
    "Scenario.description": "What the scenario is for, in a sentence (shown in the console).",
    "Scenario.kind": "conversion: judged by orders it brings (lift); loyalty: by retention.",
    "Scenario.trigger": "What starts a journey: one of event, schedule or date.",
    "Scenario.audience": "Who may enter, checked at entry against the customer's profile (omit: everyone).",
    "Scenario.steps": "The journey in order: waits, sends and branches, each with a unique id.",
    "Scenario.exit": "What ends a running journey early (an order, an emptied cart, an unsubscribe, events).",
    "Scenario.reentry": "Whether and how soon a customer may enter again.",
    "Scenario.holdout_percent": "Share of entrants (0-100) who get no message, to measure lift against.",
    "Scenario.goal": "The event that counts as a conversion, and for how many days after a send.",
    "All.all": "Every condition in the list must hold.",
    "AnyOf.any": "At least one condition in the list must hold.",
    "Not.not": "The condition must not hold.",
    "BranchSpec.if": "The condition checked on the customer's profile when the branch is reached.",
    "BranchSpec.then": "Step id to continue at when the condition holds ('end' ends the journey).",
    "BranchSpec.else": "Step id to continue at otherwise ('end' ends the journey; omit: the next step).",
    "BranchStep.id": "Step id: lowercase letters, digits and '-', unique in the scenario.",
    "BranchStep.branch": "Go to another later step depending on a condition.",
    "CartNotEmpty.cart_not_empty": "true: the cart has at least one item; false: it is empty.",
    "CategoryBought.category_bought": "The customer has bought from this category (or one of these).",
    "ChurnRiskIs.churn_risk": "The predicted churn risk band: low, medium or high (or a list of them).",
    "ConsentOn.consent": "The customer has granted consent on this channel (email, line or sms).",
    "DateTrigger.date": "The profile date to count from: birthday or points_expire_on.",
    "DateTrigger.days_before": "Start this many days before the date (0: on the day).",
    "DateTrigger.at": "Local time of day the daily check runs, HH:MM (24-hour).",
    "DateTrigger.timezone": "IANA time zone of `at`, e.g. Asia/Tokyo.",
    "DaysSinceLastOrder.days_since_last_order": "Days since the last order, as a range (gt/gte/lt/lte/eq).",
    "DaysSinceSignup.days_since_signup": "Days since sign-up, as a range (gt/gte/lt/lte/eq).",
    "EventTrigger.event": "Name of the tracked event that starts a journey, e.g. Product Added.",
    "EventTrigger.where": "Conditions on the event's properties (all must match).",
    "EventTrigger.interest_days": "Only customers who showed the same interest within this many days.",
    "Exit.when": "Built-in exits checked before each send: order_completed, cart_emptied, unsubscribed...",
    "Exit.events": "Any other event names that end the journey when seen after entry.",
    "Goal.event": "The event that counts as a conversion (default: Order Completed).",
    "Goal.attribution_days": "Days after a send during which a goal event is credited to it (1-90).",
    "OrderCount.order_count": "Number of orders, as a range (gt/gte/lt/lte/eq).",
    "PAlive.p_alive": "Predicted probability (0-1) that the customer is still active, as a range.",
    "PointsBalance.points_balance": "Loyalty points balance, as a range (gt/gte/lt/lte/eq).",
    "Range.gt": "Greater than.",
    "Range.gte": "Greater than or equal to.",
    "Range.lt": "Less than.",
    "Range.lte": "Less than or equal to.",
    "Range.eq": "Equal to.",
    "Reentry.policy": "once: never again; once_per: again after `days`; every_time: whenever triggered.",
    "Reentry.days": "With once_per: days after entering before the customer may enter again.",
    "ScheduleTrigger.cron": "EventBridge Scheduler cron, 6 fields: minute hour day month weekday year.",
    "ScheduleTrigger.timezone": "IANA time zone the cron runs in, e.g. Asia/Tokyo.",
    "SendSpec.channels": "Channels in order of preference: the first the customer can receive is used.",
    "SendSpec.template": "Template id (packaged or pushed with `kaeri templates push`).",
    "SendSpec.variants": "A/B variants: each with its own template and weight.",
    "SendSpec.purpose": "marketing (consent, caps and quiet hours apply) or transactional.",
    "SendSpec.context": "Extra values the template sees as `context.NAME`, e.g. incentive: true.",
    "SendSpec.expires_after": "Skip the send if quiet hours or caps delay it longer than this (e.g. 12h).",
    "SendStep.id": "Step id: lowercase letters, digits and '-', unique in the scenario.",
    "SendStep.send": "Send one message on the first channel the customer can receive.",
    "SignedUp.signed_up": "true: the customer has an account (signed up); false: a guest.",
    "TimeWindow.start": "Start of the window, local HH:MM (24-hour) in the customer's time zone.",
    "TimeWindow.end": "End of the window, local HH:MM; earlier than start means it wraps midnight.",
    "TotalSpent.total_spent": "Total spent, in the shop's currency, as a range (gt/gte/lt/lte/eq).",
    "Trigger.event": "Start when the customer does something (a tracked event).",
    "Trigger.schedule": "Start on a schedule (cron) for everyone in the audience.",
    "Trigger.date": "Start on a date of the customer's profile (birthday, points expiry).",
    "Variant.id": "Variant id: lowercase letters, digits and '-'.",
    "Variant.template": "Template id this variant sends.",
    "Variant.weight": "Relative share of customers who get this variant (0 turns it off).",
    "WaitSpec.duration": "How long to wait: digits with d, h, m, s in that order, e.g. 30m, 1h, 2d, 1d12h.",
    "WaitSpec.window": "After the duration, wait on until this local time-of-day window opens.",
    "WaitSpec.predicted_next_order_lead": "Send this long before the predicted next order (duration caps it).",
    "WaitStep.id": "Step id: lowercase letters, digits and '-', unique in the scenario.",
    "WaitStep.wait": "Pause the journey for a duration and/or until a time window.",
}
# What a value must look like, for editors (the model checks the same, with messages).
DURATION_PATTERN = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
PATTERNS: dict[str, str] = {
    "WaitSpec.duration": DURATION_PATTERN,
    "WaitSpec.predicted_next_order_lead": DURATION_PATTERN,
    "SendSpec.expires_after": DURATION_PATTERN,
    "TimeWindow.start": HHMM_PATTERN,
    "TimeWindow.end": HHMM_PATTERN,
    "DateTrigger.at": HHMM_PATTERN,
}


def _constrain(prop: dict[str, Any], pattern: str) -> None:
    """Put the pattern on the string form of a property (also inside `str | None`'s anyOf)."""
    if prop.get("type") == "string":
        prop["pattern"] = pattern
    for option in prop.get("anyOf", []):
        if option.get("type") == "string":
            option["pattern"] = pattern


def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/kaeri/kaeri/docs/scenario.schema.json"
    models = {"Scenario": schema, **schema.get("$defs", {})}
    for model, definition in models.items():
        for name, prop in definition.get("properties", {}).items():
            key = f"{model}.{name}"
            if "description" not in prop and key in DESCRIPTIONS:
                prop["description"] = DESCRIPTIONS[key]
            if key in PATTERNS:
                _constrain(prop, PATTERNS[key])
    return schema


def write_schema(path: str | Path) -> None:
    Path(path).write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
