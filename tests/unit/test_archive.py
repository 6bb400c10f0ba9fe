"""The event archive: rows, Parquet layout, and the SQL (DuckDB here, transpiled for Athena)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlglot

from kaeri.analytics.archive_reader import ArchiveKpiReader
from kaeri.analytics.reader import KpiReader
from kaeri.analytics.summary import compute, to_json
from kaeri.archive import queries
from kaeri.archive.engine import AthenaEngine, DuckDbEngine
from kaeri.archive.rows import event_row_from_item, message_row
from kaeri.events import StoredEvent
from kaeri.settings import Settings
from kaeri_ops.local.parquet import ParquetArchive
from tests.unit.test_kpi_reader import SHOP, T0, put_event, seeded  # noqa: F401 (fixture)

SINCE, UNTIL = T0 - timedelta(days=60), T0 + timedelta(days=10)


def _scan(aws, logical):
    return aws.table(logical).scan()["Items"]


def archive_tables(aws, root, copies: int = 1) -> ParquetArchive:
    """What the stream delivery writes: every event and message item as a row (`copies` times: retries)."""
    archive = ParquetArchive(root)
    for _ in range(copies):
        archive.write("events", [event_row_from_item(i) for i in _scan(aws, "events")])
        archive.write("messages", [message_row(i, T0) for i in _scan(aws, "messages")])
    return archive


def params():
    return queries.period_params(SHOP, SINCE, UNTIL)


def test_kpis_from_the_archive_equal_the_kpis_from_the_tables(seeded, tmp_path):  # noqa: F811
    archive_tables(seeded, tmp_path)
    from_tables = to_json(compute(KpiReader(seeded).read(SHOP, since=SINCE, until=UNTIL)))
    from_archive = to_json(compute(ArchiveKpiReader(seeded, DuckDbEngine(tmp_path)).read(SHOP, SINCE, UNTIL)))
    assert from_archive == from_tables
    assert from_archive["orders"] == 2 and from_archive["scenarios"]["winback"]["converted"] == 1


def test_redelivered_rows_change_nothing(seeded, tmp_path):  # noqa: F811
    archive_tables(seeded, tmp_path, copies=3)
    engine = DuckDbEngine(tmp_path)
    data = ArchiveKpiReader(seeded, engine).read(SHOP, SINCE, UNTIL)
    assert sorted(o.order_id for o in data.orders) == ["A1", "A2"]  # A3 cancelled; once each
    assert sorted(m.message_id for m in data.messages) == ["m1", "m2"]
    assert [e.kind for e in data.engagements] == ["delivered", "opened", "clicked"]
    (kpis,) = engine.query("kpis", params())
    assert kpis == {"orders": 2, "buyers": 1, "revenue": pytest.approx(3400.5), "repeat_buyers": 1}


def test_headline_sql_agrees_with_the_python_kpis(seeded, tmp_path):  # noqa: F811
    archive_tables(seeded, tmp_path)
    (kpis,) = DuckDbEngine(tmp_path).query("kpis", params())
    python = compute(KpiReader(seeded).read(SHOP, since=SINCE, until=UNTIL))
    assert (kpis["orders"], kpis["buyers"]) == (python.orders, python.buyers)
    assert kpis["revenue"] == pytest.approx(python.revenue)


def test_a_message_reads_as_its_latest_archived_version(tmp_path):
    archive = ParquetArchive(tmp_path)
    base = {
        "pk": f"{SHOP}#m1",
        "shop_id": SHOP,
        "message_id": "m1",
        "customer_id": "u1",
        "created_at": "2025-03-03T10:00:00.000Z",
    }
    archive.write("messages", [message_row(base | {"status": "sent"}, T0 + timedelta(seconds=2))])
    archive.write("messages", [message_row(base | {"status": "pending"}, T0 + timedelta(seconds=1))])
    (row,) = DuckDbEngine(tmp_path).query("messages", params())
    assert row["status"] == "sent"


def test_interaction_aggregate_counts_orders_views_and_cart_adds_once_each(aws, tmp_path):
    line = {"product_id": "p1", "category": "tea", "price": 10}
    put_event(aws, SHOP, "v1", "Product Viewed", T0, "u1", product_id="p1", category="tea")
    put_event(aws, SHOP, "v2", "Product Viewed", T0 + timedelta(hours=1), "u1", product_id="p1")
    put_event(aws, SHOP, "a1", "Product Added", T0 + timedelta(hours=2), "u1", sku="p2")
    put_event(
        aws, SHOP, "o1", "Order Completed", T0 + timedelta(hours=3), "u1", order_id="A", products=[line]
    )
    put_event(
        aws, SHOP, "o2", "Order Completed", T0 + timedelta(hours=4), "u1", order_id="A", products=[line]
    )
    put_event(aws, SHOP, "o3", "Order Completed", T0 + timedelta(days=1), "u1", order_id="B", products=[line])
    archive_tables(aws, tmp_path, copies=2)
    rows = DuckDbEngine(tmp_path).query("interactions", params())
    got = {(r["customer_id"], r["product_id"], r["kind"]): r["count"] for r in rows}
    # The order A sent twice counts once; its lines are counted per distinct order.
    assert got == {("u1", "p1", "view"): 2, ("u1", "p2", "cart"): 1, ("u1", "p1", "order"): 2}
    last = {r["kind"]: r["last_at"] for r in rows}
    assert last["order"] == T0 + timedelta(days=1)
    assert DuckDbEngine(tmp_path).query("categories", params()) == [{"product_id": "p1", "category": "tea"}]


def test_an_empty_archive_answers_with_no_rows(tmp_path):
    engine = DuckDbEngine(tmp_path)
    assert engine.query("orders", params()) == []
    assert engine.query("interactions", params()) == []


def test_partitions_are_hive_style_shop_and_day(aws, tmp_path):
    put_event(aws, SHOP, "v1", "Product Viewed", T0, "u1", product_id="p1")
    archive_tables(aws, tmp_path)
    (path,) = (tmp_path / "events").glob("*/*/*.parquet")
    assert path.parent.parent.name == f"shop_id={SHOP}" and path.parent.name == "dt=2025-03-03"


@pytest.mark.parametrize("name", queries.query_names())
def test_every_query_transpiles_to_athena_and_parses_there(name):
    sql = AthenaEngine(None, "kaeri_archive", "kaeri").sql(name, params() | {"together_n": 10})
    tree = sqlglot.parse_one(sql, read="trino")  # raises on anything Trino cannot parse
    tables = {f"{t.db}.{t.name}" for t in tree.find_all(sqlglot.exp.Table)}
    assert {"kaeri_archive.events", "kaeri_archive.messages"} & tables  # reads the Glue tables
    assert not {"archive_events", "archive_messages"} & {t.name for t in tree.find_all(sqlglot.exp.Table)}
    assert "QUALIFY" not in sql.upper()  # Trino has no QUALIFY
    assert f"'{SHOP}'" in sql  # bound as a literal, one shop only


def test_parameters_are_literals_not_text(tmp_path):
    hostile = "x' OR '1'='1"
    rows = DuckDbEngine(tmp_path).query("orders", queries.period_params(hostile, SINCE, UNTIL))
    assert rows == []
    with pytest.raises(ValueError, match="together_n"):
        queries.bind("together", params())


def test_stored_events_expire_after_the_configured_retention():
    event = StoredEvent(
        shop_id=SHOP, message_id="m", type="track", event="X", user_id="u", timestamp=T0, received_at=T0
    )
    assert event.to_item()["expires_at"] == int(T0.timestamp()) + 400 * 86400
    assert event.to_item(ttl_days=500)["expires_at"] == int(T0.timestamp()) + 500 * 86400
    env = {"KAERI_API_URL": "https://api.shop.example"}
    assert Settings.from_env(env | {"KAERI_EVENTS_TTL_DAYS": "730"}).events_ttl_days == 730
    with pytest.raises(ValueError, match="events_ttl_days"):
        Settings.from_env(env | {"KAERI_EVENTS_TTL_DAYS": "30"})  # shorter than the 365-day windows


def test_athena_bytes_count_the_columns_each_scan_reads_in_the_periods_partitions(aws, tmp_path):
    line = {"product_id": "p1", "category": "tea", "price": 10}
    for day in range(20):
        at = T0 - timedelta(days=day)
        put_event(aws, SHOP, f"v{day}", "Product Viewed", at, "u1", product_id="p1", category="tea")
        put_event(aws, SHOP, f"o{day}", "Order Completed", at, "u1", order_id=f"A{day}", products=[line])
    archive_tables(aws, tmp_path)
    engine = DuckDbEngine(tmp_path)
    year = engine.athena_bytes("orders", params())
    week = engine.athena_bytes(
        "orders", queries.period_params(SHOP, T0 - timedelta(days=6), T0 + timedelta(days=1))
    )
    assert 0 < week < year  # only the period's partitions
    everything = sum(p.stat().st_size for p in (tmp_path / "events").rglob("*.parquet"))
    scans = engine.scans("orders", params())
    assert {dataset for dataset, _ in scans} == {"events"}
    assert all("properties" not in columns and "traits" not in columns for _, columns in scans)
    # Fewer bytes than reading whole files once per scan: only the columns named.
    assert year < everything * len(scans)
    assert engine.athena_bytes("messages", params()) == 0  # no message files yet: nothing to scan
    assert engine.stats.queries == 0  # estimating runs and counts nothing
