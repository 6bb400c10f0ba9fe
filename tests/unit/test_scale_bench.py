"""The scale benchmark's own parts at small sizes: the synthetic shop's ratios and long tail, the cache of
generated archives, the keys written, and rows scanned / peak RSS measured per child process."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from bench import scale_bench, synthetic_shop
from bench.synthetic_shop import ShopSpec

END = datetime(2026, 1, 1, tzinfo=UTC)
SMALL = ShopSpec(events=60_000, customers=1_500, products=3_000, days=30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = tmp_path_factory.mktemp("shop")
    counts = synthetic_shop.generate(SMALL, root, END)
    events = ds.dataset(root / "events", format="parquet", partitioning="hive").to_table()
    messages = ds.dataset(root / "messages", format="parquet", partitioning="hive").to_table()
    return root, counts, events, messages


def _share(events, kind: str) -> float:
    return pc.sum(pc.equal(events.column("event"), kind)).as_py() / events.num_rows


def test_the_shop_has_the_requested_size_and_e_commerce_ratios(shop):
    _, counts, events, messages = shop
    assert counts["events"] == events.num_rows
    assert abs(events.num_rows - SMALL.events) / SMALL.events < 0.05
    assert counts["files"] == SMALL.days and counts["messages"] == messages.num_rows
    per_session = synthetic_shop.EVENTS_PER_SESSION
    assert _share(events, "Product Viewed") == pytest.approx(
        synthetic_shop.VIEWS_PER_SESSION / per_session, abs=0.02
    )
    assert _share(events, "Product Added") == pytest.approx(synthetic_shop.CART_SHARE / per_session, abs=0.01)
    assert _share(events, "Order Completed") == pytest.approx(
        synthetic_shop.ORDER_SHARE / per_session, abs=0.005
    )
    assert _share(events, "Email Opened") == pytest.approx(synthetic_shop.EMAIL_SHARE / per_session, abs=0.01)
    # Orders have 1-3 lines and a revenue equal to the sum of their lines.
    orders = events.filter(pc.equal(events.column("event"), "Order Completed")).to_pylist()
    assert {len(o["products"]) for o in orders} <= {1, 2, 3}
    assert all(
        o["revenue"] == pytest.approx(sum(li["price"] * li["quantity"] for li in o["products"]))
        for o in orders
    )
    assert set(events.column("shop_id").to_pylist()) == {SMALL.shop_id}


def test_product_views_have_a_long_tail_and_customers_a_skewed_activity(shop):
    _, _, events, _ = shop
    views = events.filter(pc.equal(events.column("event"), "Product Viewed"))
    per_product = np.sort(np.array(pc.value_counts(views.column("product_id")).field("counts")))[::-1]
    head = per_product[: SMALL.products // 100].sum() / per_product.sum()  # the top 1% of products
    expected = synthetic_shop.popularity(SMALL.products)[: SMALL.products // 100].sum()
    assert head == pytest.approx(expected, abs=0.02)
    assert head > 0.25  # a few products take a large share of the views ...
    assert per_product.size > SMALL.products * 0.6  # ... and most of the catalogue is still seen
    per_customer = np.sort(np.array(pc.value_counts(events.column("customer_id")).field("counts")))[::-1]
    top_decile = per_customer[: per_customer.size // 10].sum() / per_customer.sum()
    assert top_decile > 0.3  # Pareto activity: the most active tenth does far more than a tenth


def test_the_generator_is_deterministic_and_its_cache_key_follows_every_parameter(
    shop, tmp_path, monkeypatch
):
    root, _, events, _ = shop
    tiny = ShopSpec(events=2_000, customers=50, products=100, days=3)
    synthetic_shop.generate(tiny, tmp_path / "a", END)
    synthetic_shop.generate(tiny, tmp_path / "b", END)
    a = ds.dataset(tmp_path / "a" / "events", format="parquet", partitioning="hive").to_table()
    b = ds.dataset(tmp_path / "b" / "events", format="parquet", partitioning="hive").to_table()
    assert a.equals(b)
    key = synthetic_shop.cache_key(tiny, END)
    assert synthetic_shop.cache_key(ShopSpec(events=2_000, customers=50, products=100, days=3), END) == key
    assert synthetic_shop.cache_key(ShopSpec(events=2_000, customers=50, products=101, days=3), END) != key
    assert (
        synthetic_shop.cache_key(ShopSpec(events=2_000, customers=50, products=100, days=3, seed=8), END)
        != key
    )
    monkeypatch.setattr(synthetic_shop, "GENERATOR_VERSION", synthetic_shop.GENERATOR_VERSION + 1)
    assert synthetic_shop.cache_key(tiny, END) != key


def test_a_rerun_reuses_the_cached_archive_and_new_parameters_replace_it(tmp_path, monkeypatch):
    tiny = ShopSpec(events=2_000, customers=50, products=100, days=3)
    first = scale_bench.ensure_archive("1m", tiny, root=tmp_path, end=END)
    assert json.loads((first / "counts.json").read_text())["events"] > 0

    def no_regeneration(*args, **kwargs):
        raise AssertionError("regenerated a cached archive")

    monkeypatch.setattr(scale_bench, "generate", no_regeneration)
    assert scale_bench.ensure_archive("1m", tiny, root=tmp_path, end=END) == first
    monkeypatch.undo()
    other = ShopSpec(events=2_000, customers=60, products=100, days=3)
    second = scale_bench.ensure_archive("1m", other, root=tmp_path, end=END)
    assert second != first and not first.exists()  # one archive per size on disk
    assert [p.name for p in tmp_path.iterdir()] == [second.name]  # no half-written folder left


def _child(seconds: float, rss: float, rows: int, **extra) -> dict:
    return {
        "seconds": seconds,
        "peak_rss_mb": rss,
        "rows_scanned": rows,
        "cpu_seconds": seconds,
        "athena_bytes": 2**20,
        **extra,
    }


def test_the_section_writes_the_issues_keys_for_every_size_and_job():
    results = {
        size: {
            "nightly": _child(
                10.0 * n, 500.0 * n, 3_000_000 * n, aggregate_rows=800_000 * n, recommend_seconds=1.0
            ),
            "kpis": _child(5.0 * n, 300.0 * n, 2_000_000 * n, sql_seconds=4.0),
        }
        for size, n in (("1m", 1), ("10m", 10))
    }
    archives = {
        "1m": {"events": 999_836, "bytes": 25 * 2**20},
        "10m": {"events": 9_999_912, "bytes": 250 * 2**20},
    }
    out = scale_bench.section(results, scale_bench.SIZES, 143.0, 1.5, archives)
    required = {
        f"scale.{job}_{metric}_{size}"
        for job in ("nightly", "kpis")
        for metric in ("seconds", "peak_rss_mb", "rows_scanned")
        for size in ("1m", "10m")
    }
    assert required <= out.keys()
    assert set(scale_bench.keys(["1m", "10m"])) - {"scale.load_average_end"} <= out.keys()
    assert out["scale.nightly_seconds_10m"] == 100.0 and out["scale.kpis_peak_rss_mb_1m"] == 300.0
    assert out["scale.nightly_rows_scanned_10m"] == 30_000_000 and out["scale.events_10m"] == 9_999_912
    assert out["scale.nightly_recommend_seconds_1m"] == 1.0 and out["scale.kpis_sql_seconds_10m"] == 4.0
    assert out["scale.kpis_athena_mb_1m"] == 1.0 and out["scale.archive_mb_10m"] == 250.0
    assert all(key.startswith("scale.") for key in out)


@pytest.mark.slow
def test_each_job_runs_in_its_own_process_and_reports_what_it_scanned(shop):
    root, counts, events, messages = shop
    idle = scale_bench.run_child("idle", root)
    nightly = scale_bench.run_child("nightly", root)
    kpis = scale_bench.run_child("kpis", root)
    # Three nightly queries read the shop's year of events, and the ranker's training snapshot reads the
    # part of it before the label window (partitions by day: at most the year again); the report reads
    # events twice and messages.
    assert 3 * events.num_rows < nightly["rows_scanned"] <= 4 * events.num_rows
    assert kpis["rows_scanned"] == 2 * events.num_rows + messages.num_rows
    assert nightly["aggregate_rows"] > 0 and nightly["customers"] > 0 and nightly["predicted"] > 0
    assert kpis["orders"] == pc.sum(pc.equal(events.column("event"), "Order Completed")).as_py()
    assert kpis["athena_bytes"] > 0 and nightly["athena_bytes"] > 0
    # Each child's own peak, above the bare interpreter with the modules loaded.
    assert idle["peak_rss_mb"] > 20 and nightly["peak_rss_mb"] > idle["peak_rss_mb"]
