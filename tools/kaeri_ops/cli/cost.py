"""kaeri cost: one shop's monthly AWS bill from the requests counted on the local stack."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def cost(
        customers: int = typer.Option(..., min=1, help="customers (contacts) of the shop"),
        events_per_month: float | None = typer.Option(
            None, min=0, help="tracking events a month (default: customers x the mix's events per customer)"
        ),
        units: Path | None = typer.Option(
            None,
            help="counted per-unit figures (default: the packaged counted.json; `python -m bench cost` writes build/cost-units.json)",
        ),
        mix: Path | None = typer.Option(None, help="a JSON file overriding fields of the stated mix"),
        prices: Path | None = typer.Option(None, help="a prices file (default: the packaged prices.json)"),
        detail: bool = typer.Option(False, help="one row per billed item instead of per service"),
        as_json: bool = typer.Option(False, "--json", help="print the bill as JSON"),
    ) -> None:
        """The month's AWS bill for one shop, by service (ap-northeast-1, USD, free tier excluded)."""
        from pydantic import ValidationError

        from kaeri_ops.cost import model
        from kaeri_ops.cost.counted import load_units
        from kaeri_ops.cost.prices import load_prices
        from kaeri_ops.cost.report import bill_json, print_bill

        try:
            figures = load_units(units)
            price_list = load_prices(prices)
            overrides = json.loads(mix.read_text(encoding="utf-8")) if mix else {}
            stated = model.Mix.model_validate(overrides)
        except FileNotFoundError as exc:
            raise typer.BadParameter(f"no such file {Path(str(exc.filename)).name} ({exc.filename})") from exc
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"{mix} is not JSON: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(file)"
            raise typer.BadParameter(f"{where}: {first['msg']}") from exc
        bill = model.monthly_bill(customers, events_per_month, figures, price_list, stated)
        if as_json:
            typer.echo(json.dumps(bill_json(bill, figures, price_list), indent=2))
            return
        print_bill(bill, figures, price_list, detail=detail)
