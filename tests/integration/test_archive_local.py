"""The local stack archives what it stores, and the nightly job and the KPI report read that archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from kaeri.analytics.archive_reader import ArchiveKpiReader, kpi_reader
from kaeri.analytics.reader import KpiReader
from kaeri.analytics.summary import compute, to_json
from kaeri.archive.engine import DuckDbEngine
from kaeri.predictions import nightly, store
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def track(stack, user, event, properties, at):
    response = requests.post(
        f"{stack.api_url}/v1/track",
        json={"userId": user, "event": event, "properties": properties, "timestamp": at.isoformat()},
        auth=(stack.write_key, ""),
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_tracked_events_land_in_the_archive_and_feed_the_nightly_job_and_kpis(tmp_path):
    with EmbeddedStack(clock="manual", start=START, shop_id="shop-a", archive_dir=str(tmp_path)) as stack:
        for u in range(6):
            order = {
                "order_id": f"o{u}",
                "total": 300,
                "products": [
                    {"product_id": "tent", "category": "outdoor", "price": 200},
                    {"product_id": "bag", "category": "outdoor", "price": 100},
                ],
            }
            track(stack, f"c{u}", "Order Completed", order, START - timedelta(hours=u + 1))
        track(stack, "fresh", "Product Viewed", {"product_id": "tent"}, START - timedelta(minutes=5))
        stack.drain()

        files = list((tmp_path / "events" / "shop_id=shop-a").glob("dt=*/*.parquet"))
        assert files, "the drained stack wrote the events as Parquet"
        engine = DuckDbEngine(tmp_path)
        since, until = START - timedelta(days=30), stack.now()
        from_archive = to_json(compute(ArchiveKpiReader(stack.clients, engine).read("shop-a", since, until)))
        from_tables = to_json(compute(KpiReader(stack.clients).read("shop-a", since=since, until=until)))
        assert from_archive == from_tables and from_archive["orders"] == 6
        assert isinstance(kpi_reader(stack.clients), ArchiveKpiReader)  # the stack's settings name it

        result = nightly.run_shop(stack.clients, "shop-a", now=stack.now())
        assert result.aggregate_rows == 13 and result.rows_scanned > 0
        recs = store.get_recommendations(stack.clients, "shop-a", "fresh", 2)
        assert {r["product_id"] for r in recs} == {"tent", "bag"}
        assert store.get_bought_together(stack.clients, "shop-a", "tent")[0]["product_id"] == "bag"
