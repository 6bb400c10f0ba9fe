"""The bill on a terminal (rich, readable at 80 columns) and as JSON."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from kaeri_ops.cost.model import Bill, UnitFigures
from kaeri_ops.cost.prices import Prices


def _quantity(value: float) -> str:
    if value >= 1e9:
        return f"{value / 1e9:.2f} G"
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e4:
        return f"{value / 1e3:.1f} k"
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _usd(value: float) -> str:
    return f"{value:,.2f}" if value >= 0.01 or value == 0 else f"{value:.4f}"


def print_bill(
    bill: Bill, units: UnitFigures, prices: Prices, *, detail: bool = False, console: Console | None = None
) -> None:
    console = console or Console()
    v = bill.volumes
    console.print(
        f"[bold]{bill.customers:,} customers[/], {bill.events:,.0f} events, "
        f"{v['journey']:,.0f} journeys, {v['message']:,.0f} messages a month"
    )
    console.print(f"AWS {prices.region}, list prices of {prices.date}, free tier excluded, USD")
    table = Table(expand=False)
    table.add_column("service" if not detail else "service: item", overflow="fold")
    if detail:
        table.add_column("quantity", justify="right")
        table.add_column("unit", overflow="fold")
    table.add_column("USD/month", justify="right")
    table.add_column("share", justify="right")
    total = bill.total or 1.0
    if detail:
        for line in sorted(bill.lines, key=lambda line: -line.usd):
            table.add_row(
                f"{line.service}: {line.item}",
                _quantity(line.quantity),
                line.unit,
                _usd(line.usd),
                f"{100 * line.usd / total:.0f}%",
            )
    else:
        for service, usd in bill.by_service().items():
            table.add_row(service, _usd(usd), f"{100 * usd / total:.0f}%")
    table.add_section()
    table.add_row("total", *(["", ""] if detail else []), f"[bold]{_usd(bill.total)}[/]", "")
    console.print(table)
    console.print(
        f"USD {bill.usd_per_1000_customers:,.2f} per 1,000 customers. Per-unit figures counted on the "
        f"local stack ({units.customers} customers, {units.days} days{', ' + units.counted_on if units.counted_on else ''}); "
        f"{len(prices.unconfirmed())} of {len(prices.prices)} prices not confirmed on a public page "
        "(docs/cost.md)."
    )
    _print_saas(bill, prices, console)


def _print_saas(bill: Bill, prices: Prices, console: Console) -> None:
    tiers = prices.saas_at(bill.customers)
    if not tiers:
        largest = max((t.contacts for t in prices.saas), default=0)
        console.print(
            f"No SaaS list price published for {bill.customers:,} contacts in prices.json "
            f"(largest tier there: {largest:,}; docs/cost.md)."
        )
    for tier in tiers:
        console.print(
            f"Beside: {tier.tool} {tier.plan}, up to {tier.contacts:,} contacts, USD {tier.monthly_usd:,.2f} "
            f"a month (list price read {tier.read_on}{'' if tier.confirmed else ', third-party page'})."
        )


def bill_json(bill: Bill, units: UnitFigures, prices: Prices) -> dict[str, Any]:
    return {
        "customers": bill.customers,
        "events_per_month": bill.events,
        "volumes": bill.volumes,
        "usd_per_month": round(bill.total, 4),
        "usd_per_1000_customers_month": round(bill.usd_per_1000_customers, 4),
        "by_service": {k: round(v, 4) for k, v in bill.by_service().items()},
        "lines": [
            {
                "service": x.service,
                "item": x.item,
                "quantity": x.quantity,
                "unit": x.unit,
                "usd": round(x.usd, 6),
            }
            for x in bill.lines
        ],
        "prices": {"date": prices.date.isoformat(), "region": prices.region, "currency": prices.currency},
        "counted": {"customers": units.customers, "days": units.days, "on": units.counted_on},
        "saas_list_prices": [
            {
                "tool": t.tool,
                "plan": t.plan,
                "contacts": t.contacts,
                "usd_per_month": t.monthly_usd,
                "source": str(t.source),
                "read_on": t.read_on.isoformat(),
                "confirmed": t.confirmed,
            }
            for t in prices.saas_at(bill.customers)
        ],
    }
