"""cost.*: the monthly AWS bill of the stated realistic mix, from requests counted on the local stack.

Drives kaeri_ops.demo's synthetic shop on the local stack with every scenario enabled
(kaeri_ops.cost.harness), counts every AWS request per function, writes the per-unit figures to
build/cost-units.json, and prices the stated mix (kaeri_ops.cost.model.Mix) at 1,000 customers with
prices.json. `kaeri cost --units build/cost-units.json` prices any other shop size from the same run.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

UNITS_OUT = Path("build/cost-units.json")
CUSTOMERS = int(os.environ.get("KAERI_COST_CUSTOMERS", "80"))
DAYS = int(os.environ.get("KAERI_COST_DAYS", "21"))


def run() -> dict[str, float | int | str]:
    from kaeri_ops.cost import model
    from kaeri_ops.cost.counted import save_units
    from kaeri_ops.cost.harness import HarnessOptions, count
    from kaeri_ops.cost.prices import load_prices

    units = count(HarnessOptions(customers=CUSTOMERS, days=DAYS))
    units.counted_on = date.today().isoformat()
    units.command = f"KAERI_COST_CUSTOMERS={CUSTOMERS} KAERI_COST_DAYS={DAYS} python -m bench cost"
    save_units(units, UNITS_OUT)
    prices = load_prices()
    out: dict[str, float | int | str] = {}
    for n in (1_000, 10_000, 100_000, 1_000_000):
        bill = model.monthly_bill(n, None, units, prices, model.Mix())
        out[f"usd_per_1000_customers_month_at_{n}"] = round(bill.usd_per_1000_customers, 3)
    out["usd_per_1000_customers_month"] = out["usd_per_1000_customers_month_at_1000"]
    for key, value in units.headline().items():
        out[key] = round(value, 4)
    out["counted_events"] = units.events
    out["counted_journeys"] = units.journeys
    out["counted_messages"] = units.messages_total
    out["counted_customers"] = units.customers
    out["counted_days"] = units.days
    return out


if __name__ == "__main__":
    print(run())
