"""recs.*: the sparse recommender on the shared Online Retail file (training time, memory, recall@10).

Each measurement runs in a fresh child process so its peak RSS is its own (the bench runner has
other sections' memory in it). `recs.train_seconds_full` = fit + top-10 for every customer on the
whole file (the nightly job's work), best of three (wall clock, and CPU seconds of the process, which
a shared machine disturbs less); `recs.fit_peak_mb_{25,50,100}pct` are the
numpy allocations' peak (tracemalloc) while fitting on the first 25/50/100% of customers, so the
growth with interactions is visible; `recs.recall_at_10` is ours with the shipped (tuned) defaults,
trained before 2011-08-01 and scored on August–September. The baselines and the hyper-parameter
search are `kaeri eval recs` (minutes, not a bench): see docs/predictions.md. When its `--json`
output is saved as build/recs_eval.json (or the file named by KAERI_RECS_EVAL), its report-month
figures are copied in: `recs.eval_{ours,als,bm25_knn,most_popular}_recall_at_10`,
`recs.best_tuned_baseline` and `recs.lift_over_best_tuned_baseline_pct` (ours over the best tuned
baseline on August–September, in percent; the goal is >= 10), with `recs.lift_ci95_{low,high}_pct`,
its 95% paired-bootstrap interval over the report customers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DATA = Path(os.environ.get("KAERI_RETAIL", "../shared/data/online_retail_2010-12_2011-09.csv.gz"))
EVAL = Path(os.environ.get("KAERI_RECS_EVAL", "build/recs_eval.json"))

CHILD = r"""
import json, resource, sys, time, tracemalloc
from datetime import date
from pathlib import Path
import numpy as np
from kaeri.predictions import recommender
from kaeri_ops.evaluation import Splits, _days, _ours, _ranking_metrics, _to_interactions, _truth, load_retail

path, share = Path(sys.argv[1]), float(sys.argv[2])
lines = load_retail(path)
out = {}
if share < 1.0:
    names = np.unique(lines.customer.astype(str))
    keep = set(names[: int(len(names) * share)].tolist())
    lines = lines.select(np.array([c in keep for c in lines.customer.tolist()]))
data = _to_interactions(lines, float(lines.day.max()))
rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
tracemalloc.start()
model = recommender.fit(data)
model.recommend_all(10)
out["fit_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
tracemalloc.stop()
out["interactions"] = int(lines.item.size)
out["items"] = len(model.items)
out["customers"] = len(model.users)
out["neighbour_entries"] = int(model.neighbour_item.size)
if share == 1.0:
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):  # best of three: the machine is shared
        started, cpu = time.perf_counter(), time.process_time()
        recommender.fit(data).recommend_all(10)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    out["train_seconds"] = best
    out["train_cpu_seconds"] = best_cpu
    s = Splits()
    train = lines.select(lines.day < _days(s.report_from))
    users, truth = _truth(train, lines.select((lines.day >= _days(s.report_from)) & (lines.day < _days(s.report_until))))
    out["recall_at_10"] = _ranking_metrics(_ours(train, users, 10, {}), truth, 10)[0]
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
out["rss_after_load_mb"] = rss_loaded
print(json.dumps(out))
"""


def _child(share: float) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(DATA), str(share)],
        check=True,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(["layers/common", os.environ.get("PYTHONPATH", "")]),
        },
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict[str, float | int | str]:
    if not DATA.exists():
        return {"skipped": f"{DATA} not found"}
    out: dict[str, float | int | str] = {}
    for pct in (25, 50):
        part = _child(pct / 100.0)
        out[f"fit_peak_mb_{pct}pct"] = round(part["fit_peak_mb"], 1)
        out[f"interactions_{pct}pct"] = part["interactions"]
    full = _child(1.0)
    out.update(
        {
            "train_seconds_full": round(full["train_seconds"], 2),
            "train_cpu_seconds_full": round(full["train_cpu_seconds"], 2),
            "peak_rss_mb": round(full["peak_rss_mb"], 1),
            "rss_after_load_mb": round(full["rss_after_load_mb"], 1),
            "fit_peak_mb_100pct": round(full["fit_peak_mb"], 1),
            "interactions_100pct": full["interactions"],
            "items": full["items"],
            "customers": full["customers"],
            "neighbour_entries": full["neighbour_entries"],
            "recall_at_10": round(full["recall_at_10"], 4),
        }
    )
    out.update(eval_figures(EVAL))
    return out


def eval_figures(path: Path) -> dict[str, float | int | str]:
    """Report-month figures of a saved `kaeri eval recs --json` run (none when it is absent)."""
    if not path.exists():
        return {}
    result = json.loads(path.read_text())
    report = result.get("report", {})
    out: dict[str, float | int | str] = {
        f"eval_{name}_recall_at_10": round(m["recall_at_10"], 4) for name, m in report.items()
    }
    out.update(
        {
            f"eval_{name}_validation_recall_at_10": round(v, 4)
            for name, v in result.get("validation_recall_at_10", {}).items()
        }
    )
    if "best_baseline" in result:
        out["best_tuned_baseline"] = result["best_baseline"]
        out["lift_over_best_tuned_baseline_pct"] = round(
            100.0 * (result["ours_vs_best_baseline_recall"] - 1.0), 2
        )
    if "lift_over_best_baseline_ci95_pct" in result:
        low, high = result["lift_over_best_baseline_ci95_pct"]
        out["lift_ci95_low_pct"], out["lift_ci95_high_pct"] = round(low, 2), round(high, 2)
    return out
