"""KPI tables for the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from kaeri.analytics.summary import Kpis


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def print_kpis(k: Kpis, console: Console | None = None) -> None:
    console = console or Console()
    head = Table(title=f"Customers (as of {k.as_of:%Y-%m-%d %H:%M} UTC)", show_header=False)
    head.add_column("kpi")
    head.add_column("value", justify="right")
    head.add_row("buyers", f"{k.buyers:,}")
    head.add_row("orders", f"{k.orders:,}")
    head.add_row("revenue", f"{k.revenue:,.0f}")
    for d, rate in k.f2.rates.items():
        head.add_row(f"F2 within {d} days", f"{_pct(rate.value)} ({rate.numerator}/{rate.denominator})")
    head.add_row("repeat rate", _pct(k.repeat_rate.value))
    head.add_row("orders per buyer", "–" if k.orders_per_customer is None else f"{k.orders_per_customer:.2f}")
    head.add_row("RFM", ", ".join(f"{n} {c}" for n, c in k.rfm.items() if c))
    head.add_row("attributed revenue", f"{k.attributed_revenue:,.0f}")
    console.print(head)

    cohorts = Table(title="F2 by first-order month")
    for name in ("cohort", "buyers", "30d", "60d", "90d"):
        cohorts.add_column(name, justify="left" if name == "cohort" else "right")
    for row in k.f2_by_cohort:
        cohorts.add_row(row.key, f"{row.buyers:,}", *(_pct(row.rates[d].value) for d in (30, 60, 90)))
    console.print(cohorts)

    table = Table(title="Scenarios")
    for name in (
        "scenario",
        "entered",
        "holdout",
        "sent",
        "skipped",
        "delivered",
        "opened",
        "clicked",
        "converted",
        "revenue",
        "lift (95% CI)",
    ):
        table.add_column(name, justify="left" if name == "scenario" else "right")
    for sid, r in k.scenarios.items():
        f, lf = r.funnel, r.lift
        lift = (
            "–"
            if lf.difference is None
            else f"{100 * lf.difference:+.1f} pt [{100 * lf.low:+.1f}, {100 * lf.high:+.1f}]"  # type: ignore[operator]
        )
        table.add_row(
            sid,
            f"{f.entered:,}",
            f"{f.holdout:,}",
            f"{f.sent:,}",
            f"{f.skipped:,}",
            f"{f.delivered:,}",
            f"{f.opened:,}",
            f"{f.clicked:,}",
            f"{f.converted:,}",
            f"{f.revenue:,.0f}",
            lift,
        )
    console.print(table)
