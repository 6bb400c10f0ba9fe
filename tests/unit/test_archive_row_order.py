"""Athena's UNLOAD writes a result as several objects, so rows come back in no particular order (an
`ORDER BY` holds within an object, not across them). The KPI report and the nightly job must give the
same answer whatever order the archive's rows arrive in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import synthetic_shop
from bench.synthetic_shop import ShopSpec
from kaeri.analytics.archive_reader import ArchiveKpiReader
from kaeri.analytics.summary import compute, to_json
from kaeri.archive.engine import DuckDbEngine
from kaeri.archive.schema import EVENTS, arrow_schema
from kaeri.predictions import nightly

END = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = ShopSpec(events=40_000, customers=400, products=150, days=90, shop_id="order-shop")


class ShuffledEngine:
    """The DuckDB engine, with every result's rows in a random order (as a multi-object UNLOAD)."""

    def __init__(self, engine: DuckDbEngine, seed: int) -> None:
        self.engine, self.rng, self.stats = engine, np.random.default_rng(seed), engine.stats

    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.engine.query(name, params)
        return [rows[i] for i in self.rng.permutation(len(rows))]

    def query_columns(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        columns = self.engine.query_columns(name, params)
        n = len(next(iter(columns.values()))) if columns else 0
        order = self.rng.permutation(n)
        return {key: np.asarray(values)[order] for key, values in columns.items()}


class NoTables:
    """Scenario goals and journeys come from DynamoDB tables, not the archive: none here."""

    def scenario_configs(self, shop_id: str) -> dict[str, Any]:
        return {}

    def journeys(self, shop_id: str, ids: set[str], since: datetime, until: datetime) -> list[Any]:
        return []


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    synthetic_shop.generate(SPEC, root, END)
    # Two first orders of one customer at the same millisecond, in different categories: which one is
    # "the first order" (its category, its cohort row) must not depend on which row comes first.
    folder = next((root / "events" / f"shop_id={SPEC.shop_id}").glob("dt=*"))
    orders = pq.read_table(next(folder.glob("*.parquet"))).to_pylist()
    template = next(row for row in orders if row["event"] == "Order Completed")
    at = template["ts"]
    twins = [
        template
        | {
            "message_id": f"tie-{n}",
            "customer_id": "tie-customer",
            "user_id": "tie-customer",
            "order_id": order_id,
            "ts": at,
            "products": [{"product_id": "p1", "category": category, "price": 100.0, "quantity": 1.0}],
            "revenue": 100.0,
        }
        for n, (order_id, category) in enumerate([("tie-b", "kitchen"), ("tie-a", "garden")])
    ]
    pq.write_table(pa.Table.from_pylist(twins, schema=arrow_schema(EVENTS)), folder / "zz-ties.parquet")
    return root


def _kpis(engine: Any) -> dict[str, Any]:
    data = ArchiveKpiReader(None, engine, tables=NoTables()).read(SPEC.shop_id, END - timedelta(days=95), END)
    return to_json(compute(data))


def _recommendations(engine: Any) -> dict[str, Any]:
    computed = nightly.compute_recommendations(engine, SPEC.shop_id, END, nightly.NightlyConfig())
    model = computed.model
    top, scores, reasons = model.recommend_all(10)
    return {
        "recs": {
            user: [(model.items[j], round(float(s), 9), int(r)) for j, s, r in zip(t, sc, rs, strict=True)]
            for user, t, sc, rs in zip(model.users, top, scores, reasons, strict=True)
        },
        "together": {
            model.items[i]: [(model.items[j], round(s, 12)) for j, s in partners]
            for i, partners in model.together.items()
        },
        "categories": computed.categories,
        "popular": model.popular(20),
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_the_kpi_report_does_not_depend_on_the_order_rows_arrive_in(archive, seed):
    expected = _kpis(DuckDbEngine(archive))
    assert expected["orders"] > 500
    garden = next(row for row in expected["f2_by_category"] if row["key"] == "garden")
    assert garden["buyers"] == 1  # tie-a comes first by id, as the orders query sorts them
    assert _kpis(ShuffledEngine(DuckDbEngine(archive), seed)) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_the_nightly_job_does_not_depend_on_the_order_rows_arrive_in(archive, seed):
    expected = _recommendations(DuckDbEngine(archive))
    assert len(expected["recs"]) > 300 and len(expected["together"]) > 20
    got = _recommendations(ShuffledEngine(DuckDbEngine(archive), seed))
    assert got["together"] == expected["together"]
    assert got["categories"] == expected["categories"] and got["popular"] == expected["popular"]
    assert got["recs"] == expected["recs"]
