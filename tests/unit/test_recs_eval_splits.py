"""`kaeri eval recs`'s harness: the hyper-parameter search never sees the months it reports on."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from kaeri_ops.evaluation import Family, RetailLines, Splits, _days, _search, tune_and_report

SPLITS = Splits(date(2011, 7, 1), date(2011, 8, 1), date(2011, 10, 1))


def _lines(rows: list[tuple[str, str, date]]) -> RetailLines:
    customers, items, days = zip(*rows, strict=True)
    return RetailLines(
        customer=np.array(customers, dtype=object),
        guest=np.zeros(len(rows), dtype=bool),
        invoice=np.array([f"{c}-{d.isoformat()}" for c, _, d in rows], dtype=object),
        item=np.array(items, dtype=object),
        day=np.array([_days(d) for d in days]),
        value=np.ones(len(rows)),
    )


def _shop() -> RetailLines:
    rows = []
    for c in ("c1", "c2", "c3", "c4"):
        rows += [(c, "mug", date(2011, 3, 1)), (c, "mug", date(2011, 6, 20))]
        rows += [(c, "july_pick", date(2011, 7, 10))]  # what validation rewards
        rows += [
            (c, "autumn_pick", date(2011, 8, 15)),
            (c, "autumn_pick", date(2011, 9, 20)),
        ]  # what the report does
    return _lines(rows)


def test_the_search_trains_and_scores_before_the_report_months_and_picks_what_july_rewards():
    calls: list[tuple[float, dict]] = []

    def spy(train: RetailLines, users: list[str], k: int, params: dict) -> list[list[str]]:
        calls.append((float(train.day.max()), dict(params)))
        return [[params["pick"]] for _ in users]

    family = Family("spy", spy, {"pick": ["autumn_pick", "july_pick", "mug"]}, strategy="grid")
    result = tune_and_report(_shop(), [family], SPLITS, k=10)

    *tuning, report = calls
    assert len(tuning) == 3  # one training per trial, then one retraining for the report
    assert all(last_day < _days(SPLITS.validate_from) for last_day, _ in tuning)
    assert _days(SPLITS.validate_from) <= report[0] < _days(SPLITS.report_from)  # retrained up to July
    # July rewards july_pick; a harness peeking at August–September would have chosen autumn_pick.
    assert result["search"]["spy"]["best_params"] == {"pick": "july_pick"}
    assert result["validation_recall_at_10"]["spy"] == pytest.approx(1.0)
    assert result["report"]["spy"]["recall_at_10"] == pytest.approx(0.0)
    assert result["report"]["spy"]["params"] == {"pick": "july_pick"}
    assert [t["params"]["pick"] for t in result["search"]["spy"]["trials"]] == [
        "autumn_pick",
        "july_pick",
        "mug",
    ]


def test_customers_scored_are_those_known_before_the_window():
    rows = [
        ("old", "mug", date(2011, 5, 1)),
        ("old", "tea", date(2011, 7, 5)),
        ("new", "tea", date(2011, 7, 6)),
    ]
    rows += [
        ("old", "tea", date(2011, 8, 5)),
        ("new", "tea", date(2011, 8, 6)),
        ("late", "tea", date(2011, 9, 1)),
    ]
    seen: list[list[str]] = []

    def spy(train: RetailLines, users: list[str], k: int, params: dict) -> list[list[str]]:
        seen.append(list(users))
        return [["tea"] for _ in users]

    result = tune_and_report(_lines(rows), [Family("spy", spy)], SPLITS)
    assert seen == [["old"], ["new", "old"]]  # "new" first bought in July: scored only in the report
    assert result["tune_customers"] == 1 and result["report_customers"] == 2


def test_coordinate_search_sweeps_one_axis_at_a_time_from_the_first_values():
    def score(params: dict) -> float:
        return -((params["a"] - 3) ** 2) - (params["b"] - 1) ** 2

    family = Family("f", lambda *_: [], {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2]}, strategy="coordinate")
    best, trials = _search(family, score)
    assert best == {"a": 3, "b": 1}
    assert trials[0]["params"] == {"a": 0, "b": 0}
    assert len(trials) < 5 * 3  # fewer than the full grid, each configuration scored once
    assert len({tuple(sorted(t["params"].items())) for t in trials}) == len(trials)


CSV_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def test_kaeri_eval_recs_prints_the_search_and_the_report(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kaeri_ops import evaluation
    from kaeri_ops.cli import app

    lines = []
    for n, (month, day) in enumerate([(3, 1), (6, 20), (7, 10), (8, 15), (9, 20)]):
        for c in range(6):
            for code in ("10001", "10002") if c % 2 else ("10002", "10003"):
                lines.append(
                    f"{500000 + n * 10 + c},{code},X,1,2011-{month:02d}-{day:02d} 10:00:00,1.0,{1000 + c}.0,UK\n"
                )
    path = tmp_path / "shop.csv"
    path.write_text(CSV_HEADER + "".join(lines))
    monkeypatch.setattr(evaluation, "OURS_AXES", {"weighting": ["bm25", "none"], "neighbours": [10, 5]})
    result = CliRunner().invoke(
        app, ["eval", "recs", "--data", str(path), "--skip-baselines", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "coordinate search" in result.output and "weighting ['bm25', 'none']" in result.output
    assert "report: retrain < 2011-08-01, test [2011-08-01, 2011-10-01)" in result.output
    assert "most_popular" in result.output and "ours" in result.output
    bad = CliRunner().invoke(app, ["eval", "recs", "--data", str(path), "--report-from", "2011-06-01"])
    assert bad.exit_code != 0 and "validate-from" in bad.output


def _csv(tmp_path) -> str:
    lines = []
    for n, (month, day) in enumerate([(3, 1), (6, 20), (7, 10), (8, 15), (9, 20)]):
        for c in range(6):
            for code in ("10001", "10002") if c % 2 else ("10002", "10003"):
                lines.append(
                    f"{500000 + n * 10 + c},{code},X,1,2011-{month:02d}-{day:02d} 10:00:00,1.0,{1000 + c}.0,UK\n"
                )
    path = tmp_path / "shop.csv"
    path.write_text(CSV_HEADER + "".join(lines))
    return str(path)


def test_runs_of_single_models_merge_into_one_comparison(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from kaeri_ops import evaluation
    from kaeri_ops.cli import app

    monkeypatch.setattr(evaluation, "OURS_AXES", {"neighbours": [10, 5]})
    data = _csv(tmp_path)
    runner = CliRunner()
    parts = []
    for model in ("ours", "most_popular"):
        out = runner.invoke(app, ["eval", "recs", "--data", data, "--model", model, "--json"])
        assert out.exit_code == 0, out.output
        part = tmp_path / f"{model}.json"
        part.write_text(out.stdout)
        parts.append(part)
        assert list(json.loads(out.stdout)["report"]) == [model]
    merged = runner.invoke(app, ["eval", "recs", "--merge", str(parts[0]), "--merge", str(parts[1])])
    assert merged.exit_code == 0, merged.output
    assert "ours vs best tuned baseline (most_popular)" in merged.output
    unknown = runner.invoke(app, ["eval", "recs", "--data", data, "--model", "magic"])
    assert unknown.exit_code == 2 and "magic" in unknown.output
    other = json.loads(parts[1].read_text()) | {"splits": {"tune_train": "< 2011-06-01"}}
    with pytest.raises(ValueError, match="different data or splits"):
        evaluation.merge_recs_results([json.loads(parts[0].read_text()), other])


def test_the_lift_comes_with_a_paired_bootstrap_interval_that_narrows_with_more_customers():
    from kaeri_ops.evaluation import lift_interval, merge_recs_results

    rng = np.random.default_rng(1)
    for n, width_cap in ((200, 40.0), (20_000, 4.0)):
        baseline = rng.integers(0, 11, n) / 10.0
        ours = np.clip(baseline + rng.choice([0.0, 0.1], n, p=[0.6, 0.4]), 0.0, 1.0)
        point = 100.0 * (ours.mean() / baseline.mean() - 1.0)
        low, high = lift_interval(ours, baseline)
        assert low < point < high and high - low < width_cap
    # Paired: a model scored on the same customers as itself has a zero-width interval at 0%.
    assert lift_interval(baseline, baseline) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same"):
        lift_interval(ours[:10], baseline[:11])

    def part(name: str, recalls: list[float]) -> dict:
        report = {name: {"recall_at_10": float(np.mean(recalls)), "per_customer_recall_at_10": recalls}}
        return {"splits": {}, "data": "d", "search": {}, "validation_recall_at_10": {}, "report": report}

    merged = merge_recs_results([part("ours", [0.5, 0.6, 0.4, 0.7]), part("bm25_knn", [0.5, 0.5, 0.4, 0.6])])
    low, high = merged["lift_over_best_baseline_ci95_pct"]
    assert low <= 100.0 * (0.55 / 0.5 - 1.0) <= high
