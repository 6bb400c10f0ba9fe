"""Pure decisions of a journey step: when a wait ends, whether the journey exited, when a send may go."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kaeri.journeys.store import Journey
from kaeri.profiles.model import Profile
from kaeri.scenarios.model import Exit, QuietHours, WaitSpec
from kaeri.scenarios.timing import defer_past_quiet_hours, next_in_window, parse_duration


def wait_until(spec: WaitSpec, start: datetime, profile: Profile | None, tz: ZoneInfo) -> datetime:
    """Duration from `start` (or until the predicted next order minus its lead), then into the window."""
    due = start
    if spec.duration:
        due = start + parse_duration(spec.duration)
        predicted = profile.predictions.next_order_at if profile and profile.predictions else None
        if spec.predicted_next_order_lead and predicted is not None:
            aligned = predicted - parse_duration(spec.predicted_next_order_lead)
            due = min(due, max(start, aligned))
    if spec.window:
        due = next_in_window(due, tz, spec.window.start, spec.window.end)
    return due


def exit_reason(
    exit: Exit, journey: Journey, profile: Profile | None, events_since_entry: list[str]
) -> str | None:
    """The first exit that applies, or None. `events_since_entry`: event names after the trigger."""
    if journey.status == "exited":
        return journey.exit_reason or "exited"
    if profile is not None:
        if (
            "order_completed" in exit.when
            and profile.last_order_at
            and profile.last_order_at > journey.trigger_at
        ):
            return "order_completed"
        if "cart_emptied" in exit.when and not profile.cart:
            return "cart_emptied"
        if "unsubscribed" in exit.when and unsubscribed_since(profile, journey.trigger_at):
            return "unsubscribed"
    for name in exit.events:
        if name in events_since_entry:
            return f"event:{name}"
    return None


def unsubscribed_since(profile: Profile, since: datetime) -> bool:
    """Every channel with a recorded consent is revoked, at least one of them after entry."""
    if not profile.consent:
        return False
    states = list(profile.consent.values())
    return all(c.status == "revoked" for c in states) and any(c.at and c.at > since for c in states)


def quiet_hours_release(moment: datetime, tz: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """When a marketing send due at `moment` may go: `moment` itself outside quiet hours."""
    if quiet is None:
        return moment
    return defer_past_quiet_hours(moment, tz, quiet.start, quiet.end)
