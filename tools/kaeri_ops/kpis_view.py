"""KPI tables for the terminal (rich)."""

from __future__ import annotations

from rich import box
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

    # Two narrow tables instead of one wide one, so an 80-column terminal shows every id and figure.
    funnel = _table(
        "Scenarios: funnel", ("scenario", "entered", "holdout", "sent", "delivered", "opened", "clicked")
    )
    outcome = _table("Scenarios: outcome", ("scenario", "skipped", "converted", "revenue", "lift", "95% CI"))
    for sid, r in k.scenarios.items():
        f, lf = r.funnel, r.lift
        funnel.add_row(
            sid, *(f"{n:,}" for n in (f.entered, f.holdout, f.sent, f.delivered, f.opened, f.clicked))
        )
        if lf.difference is None:
            lift, interval = "–", "–"
        else:
            lift = f"{100 * lf.difference:+.1f} pt"
            interval = f"[{100 * lf.low:+.1f}, {100 * lf.high:+.1f}]"  # type: ignore[operator]
        outcome.add_row(sid, f"{f.skipped:,}", f"{f.converted:,}", f"{f.revenue:,.0f}", lift, interval)
    console.print(funnel)
    console.print(outcome)


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in columns:
        left = name == "scenario"
        table.add_column(name, justify="left" if left else "right", no_wrap=True, overflow="fold")
    return table
