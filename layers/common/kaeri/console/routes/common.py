"""Stores and readers more than one page group uses, over the Console serving the request."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from kaeri.console.web import NotFound, current

if TYPE_CHECKING:
    from kaeri.analytics.summary import Kpis
    from kaeri.scenarios.store import ScenarioStore, StoredScenario


def scenario_store() -> ScenarioStore:
    from kaeri.scenarios.store import ScenarioStore

    return ScenarioStore(current().clients)


def stored_or_404(shop_id: str, scenario_id: str, version: int | None = None) -> StoredScenario:
    from kaeri.scenarios.store import ScenarioNotFound

    try:
        return scenario_store().get(shop_id, scenario_id, version)
    except ScenarioNotFound:
        raise NotFound() from None


def kpis(shop_id: str, since: datetime | None, until: datetime) -> Kpis:
    from kaeri.analytics.reader import KpiReader
    from kaeri.analytics.summary import compute

    return compute(KpiReader(current().clients).read(shop_id, since, until), since)


def currency(shop_id: str) -> str:
    from kaeri.shops import get_shop

    found = get_shop(current().clients, shop_id)
    value: str | None = getattr(found, "currency", None)
    return value or "JPY"
