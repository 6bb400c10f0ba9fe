"""`kaeri eval ...`: rerunnable offline evaluations of the predictions on public data.

The numpy-backed logic lives in kaeri_ops.evaluation; it is imported only when a command
runs, so the rest of the CLI starts without numpy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

DEFAULT_RETAIL = Path("../shared/data/online_retail_2010-12_2011-09.csv.gz")

eval_app = typer.Typer(
    help="Offline evaluation of recommendations and predictions on real data.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(eval_app, name="eval")


def _emit_json(result: dict[str, Any]) -> None:
    typer.echo(json.dumps(result, indent=2, default=str))


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column != columns[0] else "left")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@eval_app.command("clv")
def clv(
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    skip_lifetimes: bool = typer.Option(
        False, "--skip-lifetimes", help="Do not time lifetimes' BetaGeoFitter."
    ),
) -> None:
    """BG/NBD on CDNOW (39-week calibration, 39-week holdout) against the published fit and lifetimes."""
    from kaeri_ops.evaluation import evaluate_clv

    result = evaluate_clv(compare_lifetimes=not skip_lifetimes)
    if as_json:
        _emit_json(result)
        return
    published = result["published"]
    rows = [
        [name, f"{value:.4f}", f"{published[name]}", f"{result['param_error_pct'][name]:+.3f}%"]
        for name, value in result["params"].items()
    ]
    rows.append(["log-likelihood", f"{result['log_likelihood']:.2f}", f"{published['log_likelihood']}", ""])
    _table(
        f"BG/NBD on CDNOW sample ({result['customers']} customers, weeks)",
        ["", "ours", "published", "diff"],
        rows,
    )
    hold = result["holdout_repeat_transactions"]
    cum = result["cumulative_repeat_transactions_at_holdout_end"]
    typer.echo(
        f"cumulative repeat transactions at week 78: predicted {cum['predicted']:.0f}, actual {cum['actual']:.0f} "
        f"({result['holdout_error_pct']:+.2f}%)"
    )
    typer.echo(
        f"holdout weeks 40-78 only: tracking {hold['predicted_tracking']:.0f}, conditional "
        f"{hold['predicted_conditional']:.0f}, actual {hold['actual']:.0f} "
        f"({result['holdout_period_error_pct']:+.2f}% / {result['holdout_conditional_error_pct']:+.2f}%)"
    )
    line = f"fit on CDNOW_master ({result['master_customers']} customers): ours {result['fit_seconds_master'] * 1000:.1f} ms"
    if "speedup_vs_lifetimes" in result:
        line += (
            f", lifetimes {result['lifetimes_fit_seconds_master'] * 1000:.1f} ms"
            f" -> {result['speedup_vs_lifetimes']:.1f}x faster"
        )
    typer.echo(line)


@eval_app.command("recs")
def recs(
    data: Path = typer.Option(
        DEFAULT_RETAIL, "--data", "--train", help="Online Retail layout CSV (.csv or .csv.gz)."
    ),
    validate_from: str = typer.Option("2011-07-01", help="Tuning trains before this date..."),
    report_from: str = typer.Option(
        "2011-08-01", help="...and validates up to this one; the report retrains up to it."
    ),
    report_until: str = typer.Option("2011-10-01", help="The report scores purchases up to this date."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result (every trial) as JSON."),
    skip_baselines: bool = typer.Option(
        False, "--skip-baselines", "--skip-als", help="Leave out implicit's ALS and BM25 item-kNN."
    ),
    show: int = typer.Option(5, "--show", help="Best trials printed per model (all with --json)."),
    verbose: bool = typer.Option(True, "--progress/--no-progress", help="Print every trial to stderr."),
    models: list[str] = typer.Option(  # noqa: B008
        [], "--model", help="Only this model (repeatable: ours, most_popular, als, bm25_knn)."
    ),
    merge: list[Path] = typer.Option(  # noqa: B008
        [], "--merge", help="Print the table of earlier --json results (one per --model run) merged."
    ),
) -> None:
    """Tune ours, implicit's ALS and BM25 item-kNN on a validation month; report recall@10 on later months."""
    from datetime import date

    from kaeri_ops.evaluation import Splits, evaluate_recs

    splits = Splits(
        date.fromisoformat(validate_from), date.fromisoformat(report_from), date.fromisoformat(report_until)
    )
    if not splits.validate_from < splits.report_from < splits.report_until:
        raise typer.BadParameter("need --validate-from < --report-from < --report-until")
    quiet: bool = as_json or not verbose
    if merge:
        from kaeri_ops.evaluation import merge_recs_results

        result = merge_recs_results([json.loads(p.read_text()) for p in merge])
    else:
        try:
            result = evaluate_recs(
                data,
                splits,
                baselines=not skip_baselines,
                progress=None if quiet else lambda m: typer.echo(m, err=True),
                models=models or None,
            )
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--model") from None
    if as_json:
        _emit_json(result)
        return
    sp = result["splits"]
    typer.echo(
        f"search: train {sp['tune_train']}, validate {sp['tune_validate']} ({result['tune_customers']} customers); "
        f"report: retrain {sp['report_train']}, test {sp['report_test']} ({result['report_customers']} customers)"
    )
    for name, found in result["search"].items():
        trials = sorted(found["trials"], key=lambda t: -t["recall_at_10"])
        if not found["axes"]:
            continue
        axes = ", ".join(f"{axis} {values}" for axis, values in found["axes"].items())
        typer.echo(f"{name}: {found['strategy']} search, {len(trials)} trials over {axes}")
        typer.echo(f"{name}: best on validation {_params(found['best_params'])}")
        _table(
            f"{name}: best {min(show, len(trials))} of {len(trials)} trials",
            ["params", "validation recall@10"],
            [[_params(t["params"]), f"{t['recall_at_10']:.4f}"] for t in trials[:show]],
        )
    rows = [
        [
            name,
            _params(m["params"]) or "-",
            f"{result['validation_recall_at_10'][name]:.4f}",
            f"{m['recall_at_10']:.4f}",
            f"{m['ndcg_at_10']:.4f}",
            f"{m['coverage']:.3f}",
            f"{m['train_seconds']:.2f}",
        ]
        for name, m in result["report"].items()
    ]
    _table(
        f"Report months {sp['report_test']}: models retrained {sp['report_train']} with their tuned params",
        ["model", "tuned params", "valid. recall@10", "recall@10", "NDCG@10", "coverage", "train s"],
        rows,
    )
    if "best_baseline" in result:
        typer.echo(
            f"ours vs best tuned baseline ({result['best_baseline']}) recall@10: "
            f"{result['ours_vs_best_baseline_recall']:.3f}x "
            f"({100.0 * (result['ours_vs_best_baseline_recall'] - 1.0):+.1f}%; goal +10%)"
        )
        if "lift_over_best_baseline_ci95_pct" in result:
            low, high = result["lift_over_best_baseline_ci95_pct"]
            typer.echo(
                f"  95% interval of that lift, paired bootstrap over the {result['report_customers']} "
                f"report customers: {low:+.1f}% to {high:+.1f}%"
            )
    if "full_file_customers" not in result:
        return
    typer.echo(
        f"training ours (fit + top-10 for all {result['full_file_customers']} customers) on the whole file: "
        f"{result['full_file_train_seconds']:.2f} s wall clock, {result['full_file_train_cpu_seconds']:.2f} s CPU"
    )
    ranker = result.get("full_file_ranker")
    if ranker:
        typer.echo(
            f"learned ranker on the whole file ({ranker['trained_rows']} candidate rows, "
            f"{ranker['trained_positives']} bought in its label window), standardised weights:"
        )
        typer.echo("  " + ", ".join(f"{name} {w:+.2f}" for name, w in ranker["weights"].items()))


def _params(params: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in params.items())


@eval_app.command("next-order")
def next_order(
    data: Path = typer.Option(DEFAULT_RETAIL, "--data", help="Online Retail layout CSV (.csv or .csv.gz)."),
    cutoff: str = typer.Option("2011-07-01", "--cutoff", help="Predict the first order after this date."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    """Median absolute error (days) of the expected next-order date vs "same gap as last time"."""
    from datetime import date

    from kaeri_ops.evaluation import evaluate_next_order

    result = evaluate_next_order(data, date.fromisoformat(cutoff))
    if as_json:
        _emit_json(result)
        return
    rows = [
        [
            name,
            f"{m['median_abs_error_days']:.1f}",
            f"{m['mean_abs_error_days']:.1f}",
            f"{m['within_14_days_pct']:.1f}%",
        ]
        for name, m in result["models"].items()
    ]
    _table(
        f"Next-order date: {result['customers_scored']} returning customers after {result['cutoff']}",
        ["model", "median |err| d", "mean |err| d", "within 14 d"],
        rows,
    )
