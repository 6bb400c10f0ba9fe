"""The plain records every KPI is computed from: orders, messages, engagements, journeys, goals.

The DynamoDB reader (kaeri.analytics.reader) builds them from stored events and the message log;
tests and the report build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Literal

from kaeri.scenarios.model import Goal

EngagementKind = Literal["delivered", "opened", "clicked", "bounced", "complained"]


@dataclass(frozen=True)
class Order:
    customer_id: str
    order_id: str
    at: datetime
    revenue: float = 0.0
    currency: str | None = None
    # (category, line value) per product line, in the order given; the primary category is the costliest.
    lines: tuple[tuple[str, float], ...] = ()

    @property
    def primary_category(self) -> str | None:
        totals: dict[str, float] = {}
        for category, value in self.lines:
            totals[category] = totals.get(category, 0.0) + value
        if not totals:
            return None
        return max(totals, key=lambda c: totals[c])  # ties: the first listed


@dataclass(frozen=True)
class Message:
    """One row of the message log (send intents and their outcome)."""

    message_id: str
    customer_id: str
    scenario_id: str | None
    step_id: str | None
    status: str  # pending | sent | skipped | failed
    created_at: datetime
    channel: str | None = None
    skip_reason: str | None = None
    sent_at: datetime | None = None
    journey_id: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class Engagement:
    """Delivery feedback or a tracked click, tied to a message by its id."""

    message_id: str
    kind: EngagementKind
    at: datetime
    customer_id: str | None = None


@dataclass(frozen=True)
class Journey:
    customer_id: str
    scenario_id: str
    entered_at: datetime
    holdout: bool = False
    journey_id: str | None = None


@dataclass
class Dataset:
    """Everything one shop's KPIs need, for one period."""

    orders: list[Order] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    engagements: list[Engagement] = field(default_factory=list)
    journeys: list[Journey] = field(default_factory=list)
    goals: dict[str, Goal] = field(default_factory=dict)  # scenario id -> goal; missing means the default
    cancelled_order_ids: set[str] = field(default_factory=set)  # Order Cancelled / fully refunded
    as_of: datetime | None = None  # end of the observed period (defaults to the latest record)

    def goal(self, scenario_id: str | None) -> Goal:
        return self.goals.get(scenario_id or "", Goal())

    def valid_orders(self) -> list[Order]:
        """Orders that stand: cancelled and refunded ones are left out; one per order id."""
        seen: set[str] = set()
        kept = []
        for order in sorted(self.orders, key=attrgetter("at", "order_id")):  # in any arrival order
            if order.order_id in self.cancelled_order_ids or order.order_id in seen:
                continue
            seen.add(order.order_id)
            kept.append(order)
        return kept

    def end(self) -> datetime | None:
        if self.as_of:
            return self.as_of
        times = [o.at for o in self.orders] + [m.created_at for m in self.messages]
        times += [e.at for e in self.engagements] + [j.entered_at for j in self.journeys]
        return max(times) if times else None
