"""Scale: the nightly job and the KPI report on DuckDB over a synthetic shop's archive, 1M and 10M events.

Each measurement runs in its own process (peak RSS is that process's high-water mark), with DuckDB on
two threads (this machine's cores). The nightly figure is the archive queries plus the recommender's
training and every customer's top-20, without the DynamoDB writes (those are requests, counted in the
cost model, not compute). The KPI figure is the archive queries plus the whole KPI summary (F2,
cohorts, RFM, funnels) on their result. The generated archives are kept under build/bench-scale/ and
reused while the generator's spec is unchanged.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path("build/bench-scale")
SIZES = {
    "1m": {"events": 1_000_000, "customers": 20_000, "products": 20_000},
    "10m": {"events": 10_000_000, "customers": 200_000, "products": 20_000},
}


def _archive(size: str) -> Path:
    from bench.synthetic_shop import END, ShopSpec, generate

    spec = ShopSpec(**SIZES[size])
    root = ROOT / size
    marker = root / "spec.json"
    wanted = json.dumps({**spec.__dict__, "end": END.isoformat()}, sort_keys=True)
    if marker.exists() and marker.read_text() == wanted:
        return root
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    counts = generate(spec, root, END)
    (root / "counts.json").write_text(json.dumps(counts))
    marker.write_text(wanted)
    return root


class _NoScenarios:
    def scenario_configs(self, shop_id):
        return {}

    def journeys(self, shop_id, scenario_ids, since, until):
        return []


def measure(job: str, root: str) -> dict:
    """Runs in the child process."""
    from bench.synthetic_shop import END, ShopSpec
    from kaeri.archive.engine import DuckDbEngine

    engine = DuckDbEngine(root, threads=2)
    shop = ShopSpec(0, 0, 0).shop_id
    started = time.perf_counter()
    out: dict = {}
    if job == "nightly":
        from kaeri.predictions import nightly

        config = nightly.NightlyConfig()
        computed = nightly.compute_recommendations(engine, shop, END, config)
        top, _, _ = computed.model.recommend_all(config.top_n)
        out |= {"aggregate_rows": computed.aggregate_rows, "customers": int(top.shape[0])}
    else:
        from kaeri.analytics.archive_reader import ArchiveKpiReader
        from kaeri.analytics.summary import compute

        data = ArchiveKpiReader(None, engine, tables=_NoScenarios()).read(
            shop, END - timedelta(days=365), END
        )
        kpis = compute(data)
        (headline,) = engine.query("kpis", {"shop_id": shop} | _period(END))
        assert headline["orders"] == kpis.orders, (headline, kpis.orders)  # SQL and Python agree
        out |= {"orders": kpis.orders, "messages": len(data.messages), "engagements": len(data.engagements)}
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["rows_scanned"] = engine.stats.rows_scanned
    return out


def _period(end):
    from kaeri.archive import queries

    return queries.period_params("x", end - timedelta(days=365), end) | {"shop_id": "bench-shop"}


def _child(job: str, root: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.scale_bench", job, str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict:
    out: dict = {}
    for size in SIZES:
        root = _archive(size)
        counts = json.loads((root / "counts.json").read_text())
        out[f"scale.events_{size}"] = counts["events"]
        out[f"scale.archive_mb_{size}"] = round(
            sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2**20, 1
        )
        for job in ("nightly", "kpis"):
            result = _child(job, root)
            out[f"scale.{job}_seconds_{size}"] = result["seconds"]
            out[f"scale.{job}_peak_rss_mb_{size}"] = result["peak_rss_mb"]
            out[f"scale.{job}_rows_scanned_{size}"] = result["rows_scanned"]
            if job == "nightly":
                out[f"scale.nightly_aggregate_rows_{size}"] = result["aggregate_rows"]
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
