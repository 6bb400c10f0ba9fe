"""`make bench`'s recs section copies the saved `kaeri eval recs --json` figures, lift included."""

from __future__ import annotations

import json

from bench.recs_bench import eval_figures
from kaeri_ops.evaluation import merge_recs_results


def _part(name: str, recall: float, validation: float) -> dict:
    splits = {"tune_train": "< 2011-07-01"}
    return {
        "splits": splits,
        "data": "retail.csv.gz",
        "search": {name: {"best_params": {}}},
        "validation_recall_at_10": {name: validation},
        "report": {name: {"recall_at_10": recall}},
    }


def test_bench_reports_the_lift_over_the_best_tuned_baseline(tmp_path):
    merged = merge_recs_results(
        [_part("ours", 0.44, 0.40), _part("bm25_knn", 0.40, 0.35), _part("als", 0.30, 0.31)]
    )
    path = tmp_path / "recs_eval.json"
    path.write_text(json.dumps(merged))
    got = eval_figures(path)
    assert got["best_tuned_baseline"] == "bm25_knn"
    assert got["lift_over_best_tuned_baseline_pct"] == 10.0
    assert got["eval_ours_recall_at_10"] == 0.44
    assert got["eval_als_validation_recall_at_10"] == 0.31
    assert "lift_ci95_low_pct" not in got  # the parts carry no per-customer recalls


def test_bench_copies_the_lifts_interval_when_the_run_has_per_customer_recalls(tmp_path):
    ours, theirs = _part("ours", 0.55, 0.5), _part("bm25_knn", 0.5, 0.45)
    ours["report"]["ours"]["per_customer_recall_at_10"] = [0.5, 0.6, 0.4, 0.7]
    theirs["report"]["bm25_knn"]["per_customer_recall_at_10"] = [0.5, 0.5, 0.4, 0.6]
    path = tmp_path / "recs_eval.json"
    path.write_text(json.dumps(merge_recs_results([ours, theirs])))
    got = eval_figures(path)
    assert got["lift_ci95_low_pct"] <= got["lift_over_best_tuned_baseline_pct"] <= got["lift_ci95_high_pct"]


def test_without_a_saved_evaluation_the_bench_adds_nothing(tmp_path):
    assert eval_figures(tmp_path / "missing.json") == {}
