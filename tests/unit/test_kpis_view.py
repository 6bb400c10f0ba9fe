"""`kaeri kpis` on an 80-column terminal: every scenario id and figure whole, each lift on one line."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from kaeri.analytics.attribution import Funnel, ScenarioResult
from kaeri.analytics.lift import lift
from kaeri.analytics.summary import compute
from kaeri_ops.kpis_view import print_kpis
from tests.unit.test_kpi_customers import fixture

SCENARIOS = ["browse-abandonment", "points-statement", "recommendations", "cart-abandonment", "f1-f2"]


def _kpis():
    results = {}
    for n, sid in enumerate(SCENARIOS):
        funnel = Funnel(
            entered=123_456 + n,
            holdout=12_345,
            sent=234_567,
            skipped=34_567,
            delivered=229_876,
            opened=98_765,
            clicked=45_678,
            converted=8_642,
            revenue=86_420_000.0 + n,
        )
        results[sid] = ScenarioResult(sid, funnel, {}, lift(8_642, 111_111, 740, 12_345))
    return dataclasses.replace(compute(fixture()), scenarios=results)


def test_kpis_fit_80_columns_without_cutting_ids_or_figures():
    out = io.StringIO()
    kpis = _kpis()
    print_kpis(kpis, Console(file=out, width=80, color_system=None, legacy_windows=False))
    text = out.getvalue()
    lines = text.splitlines()

    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    headers = (
        "entered",
        "holdout",
        "sent",
        "delivered",
        "opened",
        "clicked",
        "skipped",
        "converted",
        "revenue",
    )
    for header in (*headers, "lift", "95% CI"):
        assert any(header in line.split("  ") or f" {header}" in line for line in lines), header
    assert any(line.split()[-1:] == ["clicked"] for line in lines)  # the last header is whole
    for n, sid in enumerate(SCENARIOS):
        funnel, outcome = [line for line in lines if line.lstrip().startswith(sid + " ")]
        assert f"{123_456 + n:,}" in funnel and "229,876" in funnel and "45,678" in funnel
        r = kpis.scenarios[sid].lift
        shown = f"{100 * r.difference:+.1f} pt"
        interval = f"[{100 * r.low:+.1f}, {100 * r.high:+.1f}]"
        assert (
            f"{86_420_000 + n:,}" in outcome and shown in outcome and interval in outcome
        )  # lift on one line
