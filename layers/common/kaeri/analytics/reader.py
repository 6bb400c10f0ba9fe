"""Reads one shop's KPI records from DynamoDB: events by day, the message log, journeys, scenario goals.

Every read goes through an index keyed by shop (and day, or scenario), never a scan of shared tables,
except the small config table where scenario ids are listed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from kaeri import vocabulary as v
from kaeri.analytics.records import Dataset, Engagement, EngagementKind, Journey, Message, Order
from kaeri.clock import parse_iso
from kaeri.events import StoredEvent
from kaeri.scenarios.model import Goal
from kaeri.scenarios.store import ScenarioStore

ENGAGEMENT_EVENTS: dict[str, EngagementKind] = {
    v.EMAIL_DELIVERED: "delivered",
    v.EMAIL_OPENED: "opened",
    v.EMAIL_LINK_CLICKED: "clicked",
    v.MESSAGE_LINK_CLICKED: "clicked",
    v.EMAIL_BOUNCED: "bounced",
    v.EMAIL_COMPLAINED: "complained",
}
CANCEL_EVENTS = {v.ORDER_CANCELLED, v.ORDER_REFUNDED}
KPI_EVENTS = sorted({v.ORDER_COMPLETED, *CANCEL_EVENTS, *ENGAGEMENT_EVENTS})


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def order_from_event(event: StoredEvent) -> Order | None:
    p = event.properties
    order_id = p.get("order_id") or p.get("checkout_id") or event.message_id
    lines = []
    for product in p.get("products") or []:
        if not isinstance(product, dict):
            continue
        value = _number(product.get("price")) * _number(product.get("quantity", 1) or 1)
        lines.append((str(product.get("category") or "(none)"), value))
    revenue = p.get("total", p.get("revenue"))
    total = _number(revenue) if revenue is not None else sum(value for _, value in lines)
    return Order(event.identity, str(order_id), event.timestamp, total, p.get("currency"), tuple(lines))


def is_full_refund(event: StoredEvent) -> bool:
    """Order Cancelled always cancels; Order Refunded only without a partial amount."""
    if event.event == v.ORDER_CANCELLED:
        return True
    p = event.properties
    return not p.get("products") and p.get("total") is None and p.get("revenue") is None


def dataset_from_events(events: list[StoredEvent]) -> Dataset:
    data = Dataset()
    for e in events:
        if e.event == v.ORDER_COMPLETED:
            order = order_from_event(e)
            if order:
                data.orders.append(order)
        elif e.event in CANCEL_EVENTS and e.properties.get("order_id") and is_full_refund(e):
            data.cancelled_order_ids.add(str(e.properties["order_id"]))
        elif e.event in ENGAGEMENT_EVENTS and e.properties.get("message_id"):
            data.engagements.append(
                Engagement(
                    str(e.properties["message_id"]),
                    ENGAGEMENT_EVENTS[e.event],
                    e.timestamp,
                    e.identity,
                )
            )
    return data


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return parse_iso(str(value))


def message_from_item(item: dict[str, Any]) -> Message | None:
    created = _time(item.get("created_at"))
    if created is None or not item.get("message_id") or item.get("test"):
        return None  # test sends (the console's, to the shop's seed addresses) are never counted
    return Message(
        message_id=str(item["message_id"]),
        customer_id=str(item.get("customer_id", "")),
        scenario_id=item.get("scenario_id"),
        step_id=item.get("step_id"),
        status=str(item.get("status", "pending")),
        created_at=created,
        channel=item.get("channel"),
        skip_reason=item.get("skip_reason"),
        sent_at=_time(item.get("sent_at")),
        journey_id=item.get("journey_id"),
        variant=item.get("variant"),
    )


def journey_from_item(item: dict[str, Any]) -> Journey | None:
    entered = _time(item.get("entered_at"))
    if entered is None or not item.get("scenario_id"):
        return None
    return Journey(
        customer_id=str(item.get("customer_id", "")),
        scenario_id=str(item["scenario_id"]),
        entered_at=entered,
        holdout=bool(item.get("holdout", False)),
        journey_id=item.get("journey_id"),
    )


class KpiReader:
    """Builds a Dataset for one shop and period from the deployed (or local) tables."""

    def __init__(self, clients: Any) -> None:
        self.clients = clients

    def events(self, shop_id: str, since: date, until: date) -> list[StoredEvent]:
        from kaeri.tracking.store import EventStore

        store = EventStore(self.clients)
        out: list[StoredEvent] = []
        day = since
        while day <= until:
            items = store.of_shop_day(shop_id, day.isoformat(), KPI_EVENTS)
            out.extend(StoredEvent.from_item(i) for i in items)
            day += timedelta(days=1)
        return out

    def messages(self, shop_id: str, since: datetime, until: datetime) -> list[Message]:
        from kaeri.delivery.log import MessageLog

        items = MessageLog.of(self.clients).created_between(shop_id, since, until)
        return [m for m in (message_from_item(i) for i in items) if m]

    def scenario_configs(self, shop_id: str) -> dict[str, Goal]:
        """scenario id -> goal of its latest version, as the scenario store keeps it."""
        return {stored.id: stored.scenario.goal for stored in ScenarioStore(self.clients).list(shop_id)}

    def journeys(
        self, shop_id: str, scenario_ids: set[str], since: datetime, until: datetime
    ) -> list[Journey]:
        from kaeri.journeys.store import JourneyStore

        store = JourneyStore(self.clients)
        out: list[Journey] = []
        for sid in sorted(scenario_ids):
            items = store.entered_between(shop_id, sid, since, until)
            out.extend(j for j in (journey_from_item(i) for i in items) if j)
        return out

    def read(self, shop_id: str, since: datetime | None = None, until: datetime | None = None) -> Dataset:
        until = until or datetime.now(UTC)
        since = since or until - timedelta(days=365)
        data = dataset_from_events(self.events(shop_id, since.date(), until.date()))
        data.orders = [o for o in data.orders if since <= o.at <= until]
        data.messages = self.messages(shop_id, since, until)
        data.goals = self.scenario_configs(shop_id)
        ids = set(data.goals) | {m.scenario_id for m in data.messages if m.scenario_id}
        data.journeys = self.journeys(shop_id, ids, since, until)
        data.as_of = until
        return data
