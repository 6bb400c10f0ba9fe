"""Reads one shop's KPI records from the event archive with SQL (DuckDB locally, Athena on AWS).

Orders (valid ones: cancelled and refunded left out, one per order id), engagements and the message
log come from the archive's queries (kaeri/archive/sql); journeys and scenario goals are small and
still come from their tables (index by scenario, config). Memory is bounded by the number of orders,
messages and engagements of the period, not by the number of events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kaeri.analytics.reader import KpiReader
from kaeri.analytics.records import Dataset, Engagement, Message, Order
from kaeri.archive import queries
from kaeri.archive.engine import Engine


def order_from_row(row: dict[str, Any]) -> Order:
    lines = tuple(
        (str(line.get("category") or "(none)"), float(line["price"] or 0) * float(line["quantity"] or 1))
        for line in row.get("products") or []
    )
    revenue = row.get("revenue")
    total = float(revenue) if revenue is not None else sum(v for _, v in lines)
    return Order(str(row["customer_id"]), str(row["order_id"]), row["at"], total, row.get("currency"), lines)


def message_from_row(row: dict[str, Any]) -> Message:
    return Message(
        message_id=str(row["message_id"]),
        customer_id=str(row.get("customer_id") or ""),
        scenario_id=row.get("scenario_id"),
        step_id=row.get("step_id"),
        status=str(row.get("status") or "pending"),
        created_at=row["created_at"],
        channel=row.get("channel"),
        skip_reason=row.get("skip_reason"),
        sent_at=row.get("sent_at"),
        journey_id=row.get("journey_id"),
        variant=row.get("variant"),
    )


class ArchiveKpiReader:
    def __init__(self, clients: Any, engine: Engine, tables: Any = None) -> None:
        self.clients = clients
        self.engine = engine
        # Scenario goals and journeys (small, from their tables); anything with the same two methods.
        self.tables = tables or KpiReader(clients)

    def read(self, shop_id: str, since: datetime | None = None, until: datetime | None = None) -> Dataset:
        until = until or datetime.now(UTC)
        since = since or until - timedelta(days=365)
        params = queries.period_params(shop_id, since, until)
        data = Dataset()
        data.orders = [order_from_row(r) for r in self.engine.query("orders", params)]
        data.engagements = [
            Engagement(str(r["message_id"]), r["kind"], r["at"], r.get("customer_id"))
            for r in self.engine.query("engagements", params)
        ]
        data.messages = [message_from_row(r) for r in self.engine.query("messages", params)]
        data.goals = self.tables.scenario_configs(shop_id)
        ids = set(data.goals) | {m.scenario_id for m in data.messages if m.scenario_id}
        data.journeys = self.tables.journeys(shop_id, ids, since, until)
        data.as_of = until
        return data


def kpi_reader(clients: Any) -> Any:
    """The archive reader when the settings name an archive, else the DynamoDB reader."""
    from kaeri.archive.engines import archive_engine

    engine = archive_engine(clients)
    return ArchiveKpiReader(clients, engine) if engine is not None else KpiReader(clients)
