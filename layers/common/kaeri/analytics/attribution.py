"""Scenario funnels and attributed revenue.

Rule (last touch within the goal window, one message per order):
- email is touched when it is opened or a link in it is clicked;
- LINE and SMS report no opens, so they are touched when sent and again when a tracked link is clicked;
- an order counts for the latest touch of the same customer at or before it, if it falls within that
  scenario's goal window (default 5 days) after the touch. An order is attributed at most once, so no
  revenue is counted twice across scenarios.
The funnel is nested so it never widens: a click implies an open, an open a delivery. LINE and SMS
count as delivered once sent (their providers report no delivery per message) and as opened on a click.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from kaeri.analytics.lift import Lift, lift
from kaeri.analytics.records import Dataset, Message, Order

EMAIL = "email"


@dataclass
class Funnel:
    entered: int = 0  # journeys (scenario level only)
    holdout: int = 0  # journeys in the holdout
    sent: int = 0
    sent_by_channel: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    complained: int = 0
    converted: int = 0  # sent messages with at least one attributed order
    orders: int = 0  # attributed orders
    revenue: float = 0.0


@dataclass
class ScenarioResult:
    scenario_id: str
    funnel: Funnel
    steps: dict[str, Funnel]
    lift: Lift


@dataclass(frozen=True)
class Attribution:
    order: Order
    message_id: str
    touch_at: datetime


def _engagement_times(data: Dataset) -> dict[str, dict[str, list[datetime]]]:
    by_message: dict[str, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for e in data.engagements:
        by_message[e.message_id][e.kind].append(e.at)
    return by_message


def touches(message: Message, engagement: dict[str, list[datetime]]) -> list[datetime]:
    """The moments a sent message touched its customer (see the module's rule)."""
    if message.status != "sent":
        return []
    times = list(engagement.get("clicked", []))
    if (message.channel or EMAIL) == EMAIL:
        times += engagement.get("opened", [])
    else:
        times.append(message.sent_at or message.created_at)
    return sorted(times)


def attribute(data: Dataset) -> list[Attribution]:
    """Each valid order with the message it is attributed to (orders with none are left out)."""
    engagement = _engagement_times(data)
    by_id = {m.message_id: m for m in data.messages}
    per_customer: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for m in data.messages:
        for t in touches(m, engagement.get(m.message_id, {})):
            per_customer[m.customer_id].append((t, m.message_id))
    for timeline in per_customer.values():
        timeline.sort()
    longest = max([g.window for g in data.goals.values()] + [data.goal(None).window])
    result = []
    for order in data.valid_orders():
        timeline = per_customer.get(order.customer_id, [])
        i = bisect.bisect_right(timeline, (order.at, "\uffff")) - 1
        # The latest touch whose scenario window covers the order; older touches may have longer windows.
        while i >= 0 and order.at - timeline[i][0] <= longest:
            touch_at, message_id = timeline[i]
            goal = data.goal(by_id[message_id].scenario_id)
            if goal.event == "Order Completed" and order.at - touch_at <= goal.window:
                result.append(Attribution(order, message_id, touch_at))
                break
            i -= 1
    return result


def _add_message(f: Funnel, m: Message, eng: dict[str, list[datetime]]) -> None:
    if m.status == "skipped":
        f.skipped += 1
        reason = m.skip_reason or "unknown"
        f.skipped_by_reason[reason] = f.skipped_by_reason.get(reason, 0) + 1
        return
    if m.status == "failed":
        f.failed += 1
        return
    if m.status != "sent":
        return
    channel = m.channel or EMAIL
    f.sent += 1
    f.sent_by_channel[channel] = f.sent_by_channel.get(channel, 0) + 1
    clicked = bool(eng.get("clicked"))
    if channel == EMAIL:
        opened = clicked or bool(eng.get("opened"))
        delivered = opened or bool(eng.get("delivered"))
    else:
        opened = clicked
        delivered = True
    f.delivered += delivered
    f.opened += opened
    f.clicked += clicked
    f.bounced += bool(eng.get("bounced"))
    f.complained += bool(eng.get("complained"))


def conversions_after_entry(data: Dataset, scenario_id: str, holdout: bool) -> tuple[int, int]:
    """(journeys that converted, journeys) for one arm: a conversion is a valid order by the customer
    after entry and within the scenario's goal window."""
    goal = data.goal(scenario_id)
    orders_by_customer: dict[str, list[datetime]] = defaultdict(list)
    for o in data.valid_orders():
        orders_by_customer[o.customer_id].append(o.at)
    converted = total = 0
    for j in data.journeys:
        if j.scenario_id != scenario_id or j.holdout != holdout:
            continue
        total += 1
        times = orders_by_customer.get(j.customer_id, [])
        i = bisect.bisect_right(times, j.entered_at)
        if i < len(times) and times[i] - j.entered_at <= goal.window:
            converted += 1
    return converted, total


def scenarios(data: Dataset) -> dict[str, ScenarioResult]:
    """Funnel, per-step funnels and lift for every scenario seen in journeys or messages."""
    engagement = _engagement_times(data)
    ids = sorted(
        {j.scenario_id for j in data.journeys} | {m.scenario_id for m in data.messages if m.scenario_id}
    )
    funnels = {s: Funnel() for s in ids}
    steps: dict[str, dict[str, Funnel]] = {s: {} for s in ids}
    for j in data.journeys:
        funnels[j.scenario_id].entered += 1
        funnels[j.scenario_id].holdout += j.holdout
    for m in data.messages:
        if not m.scenario_id:
            continue
        eng = engagement.get(m.message_id, {})
        _add_message(funnels[m.scenario_id], m, eng)
        _add_message(steps[m.scenario_id].setdefault(m.step_id or "-", Funnel()), m, eng)
    by_id = {m.message_id: m for m in data.messages}
    converted_messages: set[str] = set()
    for a in attribute(data):
        m = by_id[a.message_id]
        if not m.scenario_id:
            continue
        for f in (funnels[m.scenario_id], steps[m.scenario_id][m.step_id or "-"]):
            f.orders += 1
            f.revenue += a.order.revenue
            if a.message_id not in converted_messages:
                f.converted += 1
        converted_messages.add(a.message_id)
    result = {}
    for s in ids:
        tc, tn = conversions_after_entry(data, s, holdout=False)
        hc, hn = conversions_after_entry(data, s, holdout=True)
        result[s] = ScenarioResult(s, funnels[s], dict(sorted(steps[s].items())), lift(tc, tn, hc, hn))
    return result
