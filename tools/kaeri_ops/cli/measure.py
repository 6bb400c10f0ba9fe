"""kaeri kpis, kaeri report, kaeri demo: what the shop's automation earned."""

from __future__ import annotations

import json
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import typer

from kaeri_ops.cli.context import NoStackError, Target, resolve


def _now(target: Target) -> datetime:
    """The local stack's clock (it may be manual), else the wall clock."""
    if target.local and target.api_url:
        try:
            with urllib.request.urlopen(f"{target.api_url}/_local/clock", timeout=5) as response:
                from kaeri.clock import parse_iso

                return parse_iso(json.loads(response.read())["now"])
        except (OSError, ValueError, KeyError):
            pass
    return datetime.now(UTC)


def _target(stack: str | None, shop: str | None) -> Target:
    try:
        return resolve(stack, shop)
    except NoStackError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError as exc:
        raise typer.BadParameter(f"--since wants a date like 2025-01-31, not {text!r}") from exc


def register(app: typer.Typer) -> None:
    """Attach kpis, report and demo to the root app."""

    @app.command()
    def kpis(
        since: str | None = typer.Option(None, help="first day counted (YYYY-MM-DD); default: a year back"),
        as_json: bool = typer.Option(False, "--json", help="print the KPIs as JSON"),
        stack: str | None = typer.Option(None, help="a deployed stack's name (default: the local stack)"),
        shop: str | None = typer.Option(None, help="shop id (default: the local stack's shop)"),
    ) -> None:
        """F2 conversion, repeat rate, RFM and every scenario's funnel and lift."""
        from kaeri.analytics.reader import KpiReader
        from kaeri.analytics.summary import compute, to_json
        from kaeri_ops.kpis_view import print_kpis

        target = _target(stack, shop)
        start = _since(since)
        result = compute(
            KpiReader(target.clients).read(target.shop_id, since=start, until=_now(target)), start
        )
        if as_json:
            sys.stdout.write(json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n")
        else:
            print_kpis(result)

    @app.command()
    def report(
        out: Path = typer.Option(Path("report.html"), help="where to write the HTML report"),
        since: str | None = typer.Option(None, help="first day counted (YYYY-MM-DD)"),
        stack: str | None = typer.Option(None, help="a deployed stack's name (default: the local stack)"),
        shop: str | None = typer.Option(None, help="shop id (default: the local stack's shop)"),
    ) -> None:
        """Write a self-contained HTML report (charts inline, no external assets)."""
        from kaeri.analytics.reader import KpiReader
        from kaeri.analytics.report import render
        from kaeri.analytics.summary import compute

        target = _target(stack, shop)
        start = _since(since)
        result = compute(
            KpiReader(target.clients).read(target.shop_id, since=start, until=_now(target)), start
        )
        out.write_text(render(result, shop=target.shop_id), encoding="utf-8")
        typer.echo(f"wrote {out}")

    @app.command()
    def demo(
        days: int = typer.Option(120, min=1, help="days of shop activity to simulate"),
        customers: int = typer.Option(2000, min=1, help="synthetic customers"),
        seed: int = typer.Option(1, help="random seed (same seed, same run)"),
        data: Path | None = typer.Option(
            None, help="replay orders from an Online Retail CSV (.csv or .csv.gz)"
        ),
        out: Path = typer.Option(Path("report.html"), help="where to write the HTML report"),
        as_json: bool = typer.Option(False, "--json", help="print the KPIs as JSON at the end"),
        serve: bool = typer.Option(
            False, "--serve", help="then keep the stack up on :8787 and print the console's URL and sign-in"
        ),
    ) -> None:
        """Run months of a shop through the local stack and show what Kaeri earned."""
        from kaeri_ops.demo.driver import DemoOptions, run_demo

        code = run_demo(
            DemoOptions(
                days=days,
                customers=customers,
                seed=seed,
                data=data,
                out=out,
                json=as_json,
                serve_port=8787 if serve else None,
            )
        )
        if code == 0 and not serve:
            typer.echo(
                "The marketer console on this demo's data: `make console` (the same run, then the stack stays up"
                " at http://127.0.0.1:8787/console with the demo marketer's sign-in printed; docs/console.md)."
            )
        raise typer.Exit(code)
