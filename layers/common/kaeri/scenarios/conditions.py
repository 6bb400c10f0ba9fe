"""The audience evaluator: pure, over a Profile and a moment, with a reason when a customer does not match."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kaeri.profiles.model import Profile
from kaeri.scenarios import model as m


@dataclass(frozen=True)
class Verdict:
    matches: bool
    reason: str  # why it matched, or the first condition that failed

    def __bool__(self) -> bool:
        return self.matches


def _days_since(then: datetime | None, now: datetime) -> float | None:
    if then is None:
        return None
    return (now - then).total_seconds() / 86400


def _range(label: str, rng: m.Range, value: float | None) -> Verdict:
    shown = "none" if value is None else f"{value:g}"
    ok = rng.holds(value)
    return Verdict(ok, f"{label} is {shown}, {'' if ok else 'not '}{rng.describe()}")


def evaluate(condition: m.Condition | None, profile: Profile, now: datetime) -> Verdict:
    """Does the profile meet the condition at `now`? No condition means everyone."""
    if condition is None:
        return Verdict(True, "no audience conditions")
    match condition:
        case m.All(all=parts):
            for part in parts:
                verdict = evaluate(part, profile, now)
                if not verdict:
                    return verdict
            return Verdict(True, "all conditions hold")
        case m.AnyOf(any=parts):
            reasons = []
            for part in parts:
                verdict = evaluate(part, profile, now)
                if verdict:
                    return verdict
                reasons.append(verdict.reason)
            return Verdict(False, "none of: " + "; ".join(reasons))
        case m.Not(not_=inner):
            verdict = evaluate(inner, profile, now)
            return Verdict(not verdict.matches, f"not ({verdict.reason})")
    return _fact(condition, profile, now)


def _fact(condition: m.Condition, profile: Profile, now: datetime) -> Verdict:
    """One leaf condition: a fact about the profile (no All/AnyOf/Not)."""
    match condition:
        case m.OrderCount(order_count=rng):
            return _range("order_count", rng, profile.order_count)
        case m.TotalSpent(total_spent=rng):
            return _range("total_spent", rng, float(profile.total_spent))
        case m.DaysSinceLastOrder(days_since_last_order=rng):
            return _range("days_since_last_order", rng, _days_since(profile.last_order_at, now))
        case m.DaysSinceSignup(days_since_signup=rng):
            return _range("days_since_signup", rng, _days_since(profile.signed_up_at, now))
        case m.PointsBalance(points_balance=rng):
            return _range("points_balance", rng, profile.points_balance)
        case m.ConsentOn(consent=channel):
            ok = profile.has_consent(channel)
            return Verdict(ok, f"{channel} consent {'granted' if ok else 'not granted'}")
        case m.CategoryBought(category_bought=wanted):
            hit = sorted(set(wanted) & set(profile.categories_bought))
            return Verdict(
                bool(hit), f"bought {', '.join(hit)}" if hit else f"never bought {', '.join(wanted)}"
            )
        case m.ChurnRiskIs(churn_risk=bands):
            band = profile.predictions.churn_risk if profile.predictions else None
            ok = band in bands
            return Verdict(
                ok, f"churn risk is {band or 'unknown'}, {'' if ok else 'not '}in {', '.join(bands)}"
            )
        case m.PAlive(p_alive=rng):
            value = profile.predictions.p_alive if profile.predictions else None
            return _range("p_alive", rng, value)
        case m.SignedUp(signed_up=wanted):
            is_member = profile.signed_up_at is not None
            return Verdict(is_member == wanted, "signed up" if is_member else "not signed up")
        case m.CartNotEmpty(cart_not_empty=wanted):
            has_items = bool(profile.cart)
            return Verdict(has_items == wanted, "cart has items" if has_items else "cart is empty")
    raise TypeError(f"unknown condition {condition!r}")


def matches(condition: m.Condition | None, profile: Profile, now: datetime) -> bool:
    return evaluate(condition, profile, now).matches


def event_matches(trigger: m.EventTrigger, name: str | None, properties: dict[str, Any]) -> bool:
    """Event name equal and every `where` property equal (or one of a list)."""
    if name != trigger.event:
        return False
    for key, wanted in trigger.where.items():
        value = properties.get(key)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True
