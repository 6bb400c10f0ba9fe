"""Scale: the nightly job and the KPI report on DuckDB over a synthetic shop's archive, 1M and 10M events.

Each job runs in a child process of its own: the child reports its peak RSS since its exec (VmHWM in
/proc; getrusage would start from the parent's RSS at the fork) and the parent reads the child's CPU
time from `os.wait4`, so the bench process's own memory never enters the figures. Inside the child,
`seconds` is the job's wall time after its imports, with DuckDB on two threads (this machine's cores).

- nightly: the archive queries (interaction aggregate, categories, bought-together), the recommender's
  training, every customer's top 20, popular and per-category lists, and the BG/NBD + Gamma-Gamma
  predictions for every buyer. Not the DynamoDB reads and writes (requests, counted by the cost model):
  the buyers' profiles are built from the archive's orders before the clock starts.
- kpis: the KPI report's archive queries (orders, engagements, message log) and the whole summary (F2,
  cohorts, RFM, funnels) on their result; then, off the clock, the SQL headline is checked against it.

Rows scanned: rows in the partitions each query reads, once per query. Athena bytes: the compressed
bytes of the columns each scan in DuckDB's plan reads, in those partitions (`DuckDbEngine.athena_bytes`).
Generated archives are cached under build/bench-scale/<size>-<digest of the generator's parameters>/.
`KAERI_BENCH_SCALE_SIZES=1m` limits a run to some sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench.synthetic_shop import END, ShopSpec, cache_key, generate

ROOT = Path("build/bench-scale")
SIZES: dict[str, ShopSpec] = {
    "1m": ShopSpec(events=1_000_000, customers=20_000, products=20_000),
    "10m": ShopSpec(events=10_000_000, customers=200_000, products=20_000),
}
JOBS = ("nightly", "kpis")
# What every job reports, per size: the keys plus CPU time and Athena bytes.
JOB_METRICS = ("seconds", "peak_rss_mb", "rows_scanned", "cpu_seconds", "athena_mb")


def keys(sizes: list[str]) -> list[str]:
    """The scale.* keys a run over these sizes writes (besides per-phase details)."""
    out = ["scale.baseline_rss_mb", "scale.load_average", "scale.load_average_end"]
    for size in sizes:
        out += [f"scale.{name}_{size}" for name in ("events", "customers", "products", "archive_mb")]
        out += [f"scale.{job}_{metric}_{size}" for job in JOBS for metric in JOB_METRICS]
        out.append(f"scale.nightly_aggregate_rows_{size}")
    return out


def archive_dir(size: str, spec: ShopSpec, root: Path = ROOT, end: datetime = END) -> Path:
    return root / f"{size}-{cache_key(spec, end)}"


def ensure_archive(size: str, spec: ShopSpec, root: Path = ROOT, end: datetime = END) -> Path:
    """The shop's archive folder: reused when complete, else generated (into a temporary folder that is
    renamed at the end, so an interrupted run never leaves a half archive that looks cached). Archives of
    the same size with other parameters are removed."""
    target = archive_dir(size, spec, root, end)
    if (target / "counts.json").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f"{size}-*"):
        shutil.rmtree(stale)
    work = Path(tempfile.mkdtemp(prefix=f".{size}-", dir=root))
    counts = generate(spec, work, end)
    (work / "counts.json").write_text(json.dumps(counts))
    work.rename(target)
    return target


# --- the child: one job ------------------------------------------------------------------------


def _period(shop: str) -> dict[str, Any]:
    from kaeri.archive import queries

    return queries.period_params(shop, END - timedelta(days=365), END)


def _iso(value: datetime) -> str:
    from datetime import UTC

    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _profiles(engine: Any, shop: str) -> list[dict[str, Any]]:
    """Each buyer's PROFILE fields the predictions read (order count, first and last order, spend)."""
    import pyarrow.compute as pc

    orders = engine.query_arrow("orders", _period(shop))
    spend = pc.fill_null(orders.column("revenue"), 0.0)
    grouped = (
        orders.select(["customer_id", "at"])
        .append_column("spend", spend)
        .group_by("customer_id")
        .aggregate([("at", "count"), ("at", "min"), ("at", "max"), ("spend", "sum")])
    )
    return [
        {
            "pk": f"{shop}#{row['customer_id']}",
            "order_count": row["at_count"],
            "first_order_at": _iso(row["at_min"]),
            "last_order_at": _iso(row["at_max"]),
            "total_spent": row["spend_sum"],
        }
        for row in grouped.to_pylist()
    ]


def _nightly(engine: Any, shop: str) -> dict[str, Any]:
    from kaeri.predictions import nightly, recommender

    config = nightly.NightlyConfig()
    profiles = _profiles(engine, shop)  # stands for the DynamoDB read: off the clock and the scan count
    engine.stats.rows_scanned, engine.stats.ran = 0, []
    started = time.perf_counter()
    computed = nightly.compute_recommendations(engine, shop, END, config)
    fitted = time.perf_counter()
    model = computed.model
    top, _, _ = model.recommend_all(config.top_n)
    model.popular(config.popular_n)
    recommender.category_popularity(model, computed.categories, config.popular_n)
    recommended = time.perf_counter()
    predictions, _ = nightly.predict_customers(profiles, END, config)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "sql_and_training_seconds": fitted - started,
        "recommend_seconds": recommended - fitted,
        "predict_seconds": done - recommended,
        "aggregate_rows": computed.aggregate_rows,
        "customers": int(top.shape[0]),
        "predicted": len(predictions),
    }


def _kpis(engine: Any, shop: str) -> dict[str, Any]:
    from kaeri.analytics.archive_reader import ArchiveKpiReader
    from kaeri.analytics.summary import compute

    class NoScenarios:  # journeys and goals come from their tables, empty for this shop
        def scenario_configs(self, shop_id: str) -> dict:
            return {}

        def journeys(self, shop_id: str, scenario_ids: Any, since: Any, until: Any) -> list:
            return []

    started = time.perf_counter()
    data = ArchiveKpiReader(None, engine, tables=NoScenarios()).read(shop, END - timedelta(days=365), END)
    read = time.perf_counter()
    kpis = compute(data)
    done = time.perf_counter()
    return {
        "seconds": done - started,
        "sql_seconds": read - started,
        "summary_seconds": done - read,
        "orders": kpis.orders,
        "messages": len(data.messages),
        "engagements": len(data.engagements),
        "_kpis": kpis,
    }


def _own_peak_mb() -> float:
    """This process's peak RSS since its exec (VmHWM). Not getrusage: a spawned child's ru_maxrss starts
    from its parent's RSS at the fork, so a big parent (a test worker, the bench) would show through."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status (the scale bench needs Linux)")


def measure(job: str, root: str) -> dict[str, Any]:
    """Runs in the child process: one job over the archive at `root`."""
    from kaeri.archive.engine import DuckDbEngine

    shop = ShopSpec(0, 0, 0).shop_id
    engine = DuckDbEngine(root, threads=2)
    if job == "idle":  # the interpreter and the modules the jobs import: the floor under both figures
        import kaeri.analytics.summary  # noqa: F401
        import kaeri.predictions.nightly  # noqa: F401

        return {"peak_rss_mb": _own_peak_mb()}
    out = (_nightly if job == "nightly" else _kpis)(engine, shop)
    out["rows_scanned"] = engine.stats.rows_scanned
    out["athena_bytes"] = sum(engine.athena_bytes(name, params) for name, params in engine.stats.ran)
    out["peak_rss_mb"] = _own_peak_mb()
    kpis = out.pop("_kpis", None)
    if kpis is not None:
        (headline,) = engine.query("kpis", _period(shop))
        if (headline["orders"], headline["buyers"]) != (kpis.orders, kpis.buyers):
            raise AssertionError(f"SQL headline {headline} disagrees with the summary ({kpis.orders} orders)")
    return out


# --- the parent --------------------------------------------------------------------------------


def run_child(job: str, root: Path) -> dict[str, Any]:
    """The job in a child process: its own peak RSS (MB, from /proc in the child) and its CPU seconds
    (from wait4: the kernel's accounting for exactly that process)."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.scale_bench", job, str(root)],
            stdout=subprocess.PIPE,
            stderr=err,
        )
        assert child.stdout is not None
        output = child.stdout.read().decode()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"scale job {job} on {root} failed:\n{err.read().decode()[-4000:]}")
    result = json.loads(output.strip().splitlines()[-1])
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    return result


def section(
    results: dict[str, dict[str, dict[str, Any]]],
    specs: dict[str, ShopSpec],
    baseline: float,
    load: float,
    archives: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The scale.* keys from the children's results (pure: no process, no clock)."""
    out: dict[str, Any] = {"scale.baseline_rss_mb": round(baseline, 1), "scale.load_average": round(load, 2)}
    for size, by_job in results.items():
        spec, archive = specs[size], archives[size]
        out[f"scale.events_{size}"] = archive["events"]
        out[f"scale.customers_{size}"] = spec.customers
        out[f"scale.products_{size}"] = spec.products
        out[f"scale.archive_mb_{size}"] = round(archive["bytes"] / 2**20, 1)
        for job, result in by_job.items():
            out[f"scale.{job}_seconds_{size}"] = round(result["seconds"], 2)
            out[f"scale.{job}_peak_rss_mb_{size}"] = round(result["peak_rss_mb"], 1)
            out[f"scale.{job}_rows_scanned_{size}"] = int(result["rows_scanned"])
            out[f"scale.{job}_cpu_seconds_{size}"] = round(result["cpu_seconds"], 2)
            out[f"scale.{job}_athena_mb_{size}"] = round(result["athena_bytes"] / 2**20, 1)
            for name, value in result.items():
                if name.endswith("_seconds") and name not in ("seconds", "cpu_seconds"):
                    out[f"scale.{job}_{name}_{size}"] = round(value, 2)
        out[f"scale.nightly_aggregate_rows_{size}"] = by_job["nightly"]["aggregate_rows"]
    return out


def run() -> dict[str, Any]:
    wanted = [s for s in os.environ.get("KAERI_BENCH_SCALE_SIZES", ",".join(SIZES)).split(",") if s]
    unknown = set(wanted) - set(SIZES)
    if unknown:
        raise SystemExit(f"KAERI_BENCH_SCALE_SIZES: unknown sizes {sorted(unknown)} (known: {list(SIZES)})")
    load = os.getloadavg()[0]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    archives: dict[str, dict[str, Any]] = {}
    baseline = 0.0
    for size in wanted:
        root = ensure_archive(size, SIZES[size])
        counts = json.loads((root / "counts.json").read_text())
        archives[size] = {
            "events": counts["events"],
            "bytes": sum(p.stat().st_size for p in root.rglob("*.parquet")),
        }
        if not baseline:
            baseline = run_child("idle", root)["peak_rss_mb"]
        results[size] = {job: run_child(job, root) for job in JOBS}
    out = section(results, SIZES, baseline, load, archives)
    out["scale.load_average_end"] = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy
    return out


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
