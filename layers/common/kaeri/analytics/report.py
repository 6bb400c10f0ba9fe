"""A self-contained HTML report (inline SVG, inline CSS, no external assets) a marketer can read."""

from __future__ import annotations

from html import escape

from kaeri.analytics.attribution import ScenarioResult
from kaeri.analytics.customers import F2Row
from kaeri.analytics.summary import Kpis

PALETTE = ("#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04", "#dc2626", "#4b5563")

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans',sans-serif;margin:0;background:#f8fafc;color:#0f172a}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:32px 0 8px} h3{font-size:16px;margin:0 0 8px}
.sub{color:#64748b;margin:0 0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}
.card{background:#fff;border-radius:10px;padding:14px;box-shadow:0 1px 2px #0001}
.card b{display:block;font-size:24px} .card span{color:#64748b;font-size:13px}
.panel{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 2px #0001;margin-bottom:14px}
table{border-collapse:collapse;width:100%;font-size:13px} th,td{padding:5px 8px;text-align:right;border-bottom:1px solid #e2e8f0}
th:first-child,td:first-child{text-align:left} .muted{color:#94a3b8} .note{color:#64748b;font-size:12px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px} @media(max-width:760px){.grid2{grid-template-columns:1fr}}
"""


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _series_colour(n: int, count: int) -> str:
    """The palette while it lasts; beyond it, hues spread evenly so no two series share a colour."""
    if count <= len(PALETTE):
        return PALETTE[n]
    return f"hsl({round(360 * n / count)},70%,42%)"


def f2_curves_svg(curves: dict[str, list[tuple[int, float]]], width: int = 600, height: int = 280) -> str:
    """One line per first-order cohort: share who ordered again within x days."""
    left, right, top, bottom = 44, 110, 12, 30
    pw, ph = width - left - right, height - top - bottom
    top_value = max([v for pts in curves.values() for _, v in pts] + [0.05])
    y_max = min(1.0, (int(top_value * 20) + 1) / 20)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="F2 curves by cohort">']
    for i in range(5):
        v = y_max * i / 4
        y = top + ph - ph * v / y_max
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#64748b">{v:.0%}</text>'
        )
    for d in range(0, 91, 15):
        x = left + pw * d / 90
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle" fill="#64748b">{d}d</text>'
        )
    for n, (cohort, points) in enumerate(curves.items()):
        if not points:
            continue
        colour = _series_colour(n, len(curves))
        path = " ".join(f"{left + pw * d / 90:.1f},{top + ph - ph * v / y_max:.1f}" for d, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        ly = top + 14 + 16 * n
        parts.append(f'<rect x="{left + pw + 12}" y="{ly - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + pw + 26}" y="{ly}" font-size="12">{escape(cohort)}</text>')
    if not any(curves.values()):
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#94a3b8">no repeat data yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def funnel_svg(result: ScenarioResult, width: int = 460) -> str:
    f = result.funnel
    stages = [
        ("entered", f.entered),
        ("sent", f.sent),
        ("delivered", f.delivered),
        ("opened", f.opened),
        ("clicked", f.clicked),
        ("converted", f.converted),
    ]
    top_value = max([v for _, v in stages] + [1])
    bar_h, gap, label_w = 22, 6, 80
    height = len(stages) * (bar_h + gap)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="funnel">']
    for i, (name, value) in enumerate(stages):
        y = i * (bar_h + gap)
        w = (width - label_w - 60) * value / top_value
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{name}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{PALETTE[i % 6]}"/>'
        )
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lift_svg(results: dict[str, ScenarioResult], width: int = 760) -> str:
    """Forest plot: each scenario's incremental conversion with its 95% interval around zero."""
    rows = [(sid, r.lift) for sid, r in results.items()]
    row_h, label_w, right = 26, 150, 150
    height = max(1, len(rows)) * row_h + 30
    bounds = [abs(v) for _, lf in rows for v in (lf.low, lf.high) if v is not None] + [0.05]
    span = min(1.0, max(bounds) * 1.1)
    pw = width - label_w - right

    def x(v: float) -> float:
        return label_w + pw * (v + span) / (2 * span)

    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="lift over holdout">']
    parts.append(
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="0" y2="{height - 24}" stroke="#94a3b8" stroke-dasharray="4 3"/>'
    )
    for v in (-span, -span / 2, 0, span / 2, span):
        parts.append(
            f'<text x="{x(v):.1f}" y="{height - 8}" font-size="11" text-anchor="middle" fill="#64748b">{100 * v:+.1f} pt</text>'
        )
    for i, (sid, lf) in enumerate(rows):
        y = i * row_h + 14
        parts.append(f'<text x="0" y="{y + 4}" font-size="12">{escape(sid)}</text>')
        if lf.difference is None or lf.low is None or lf.high is None:
            parts.append(
                f'<text x="{x(0) + 6:.1f}" y="{y + 4}" font-size="11" fill="#94a3b8">no holdout or no entries yet</text>'
            )
            continue
        colour = "#16a34a" if lf.low > 0 else "#dc2626" if lf.high < 0 else "#2563eb"
        lo, hi = max(-span, lf.low), min(span, lf.high)
        parts.append(
            f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="3"/>'
        )
        parts.append(f'<circle cx="{x(lf.difference):.1f}" cy="{y}" r="5" fill="{colour}"/>')
        text = f"{100 * lf.difference:+.1f} pt [{100 * lf.low:+.1f}, {100 * lf.high:+.1f}]"
        parts.append(f'<text x="{label_w + pw + 8}" y="{y + 4}" font-size="11">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rfm_svg(rfm: dict[str, int], width: int = 460) -> str:
    total = max(sum(rfm.values()), 1)
    bar_h, gap, label_w = 20, 6, 140
    height = len(rfm) * (bar_h + gap)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="RFM segments">']
    for i, (name, n) in enumerate(rfm.items()):
        y = i * (bar_h + gap)
        w = (width - label_w - 80) * n / total
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(name.replace("_", " "))}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="12">{n:,} ({n / total:.0%})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _f2_table(rows: list[F2Row], title: str) -> str:
    head = f"<tr><th>{escape(title)}</th><th>buyers</th><th>F2 30d</th><th>F2 60d</th><th>F2 90d</th></tr>"
    body = []
    for r in rows:
        cells = []
        for d in (30, 60, 90):
            rate = r.rates[d]
            cells.append(
                f"<td>{_pct(rate.value)} <span class='muted'>{rate.numerator}/{rate.denominator}</span></td>"
                if rate.denominator
                else "<td class='muted'>not yet</td>"
            )
        body.append(f"<tr><td>{escape(r.key)}</td><td>{r.buyers:,}</td>{''.join(cells)}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _scenario_panel(r: ScenarioResult) -> str:
    f = r.funnel
    channels = ", ".join(f"{k} {v:,}" for k, v in sorted(f.sent_by_channel.items())) or "none"
    skipped = (
        ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(f.skipped_by_reason.items())) or "none"
    )
    lf = r.lift
    if lf.difference is not None:
        lift_text = (
            f"{_pct(lf.treatment_rate)} of {lf.treatment_n:,} treated vs {_pct(lf.holdout_rate)} of "
            f"{lf.holdout_n:,} held out: <b>{100 * lf.difference:+.1f} pt</b> "
            f"(95% CI {100 * lf.low:+.1f} to {100 * lf.high:+.1f})"  # type: ignore[operator]
        )
    else:
        lift_text = "<span class='muted'>needs entries in both the treated group and the holdout</span>"
    step_rows = "".join(
        f"<tr><td>{escape(step)}</td><td>{s.sent:,}</td><td>{s.skipped:,}</td><td>{s.delivered:,}</td>"
        f"<td>{s.opened:,}</td><td>{s.clicked:,}</td><td>{s.converted:,}</td><td>{_money(s.revenue)}</td></tr>"
        for step, s in r.steps.items()
    )
    return (
        f"<div class='panel'><h3>{escape(r.scenario_id)}</h3><div class='grid2'><div>{funnel_svg(r)}</div><div>"
        f"<p>Attributed revenue <b>{_money(f.revenue)}</b> from {f.orders:,} orders</p>"
        f"<p class='note'>Sent by channel: {escape(channels)}<br>Skipped: {escape(skipped)}"
        f"<br>Bounced {f.bounced:,} · complained {f.complained:,} · failed {f.failed:,}</p>"
        f"<p>Lift: {lift_text}</p></div></div>"
        f"<table><tr><th>step</th><th>sent</th><th>skipped</th><th>delivered</th><th>opened</th><th>clicked</th>"
        f"<th>converted</th><th>revenue</th></tr>{step_rows}</table></div>"
    )


def render(k: Kpis, shop: str = "", title: str = "Kaeri report") -> str:
    period = f"{k.since:%Y-%m-%d} to {k.as_of:%Y-%m-%d}" if k.since else f"up to {k.as_of:%Y-%m-%d %H:%M} UTC"
    cards = [
        ("buyers", f"{k.buyers:,}"),
        ("orders", f"{k.orders:,}"),
        ("revenue", _money(k.revenue)),
        ("F2 within 90 days", _pct(k.f2.rates[90].value)),
        ("repeat rate", _pct(k.repeat_rate.value)),
        ("orders per buyer", "–" if k.orders_per_customer is None else f"{k.orders_per_customer:.2f}"),
        ("attributed revenue", _money(k.attributed_revenue)),
    ]
    card_html = "".join(f"<div class='card'><b>{v}</b><span>{escape(n)}</span></div>" for n, v in cards)
    scenarios = (
        "".join(_scenario_panel(r) for r in k.scenarios.values())
        or "<p class='muted'>No scenario activity.</p>"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head><body><main>
<h1>{escape(title)}</h1><p class="sub">{escape(shop)} · {escape(period)}</p>
<div class="cards">{card_html}</div>
<h2>Do first-time buyers come back? (F2 by first-order month)</h2>
<div class="panel">{f2_curves_svg(k.f2_curves)}
<p class="note">Share of each month's first-time buyers who ordered again within N days. A cohort's line stops where
its youngest buyers have not had N days yet.</p>{_f2_table([k.f2] + k.f2_by_cohort, "cohort")}</div>
<div class="grid2"><div class="panel"><h3>F2 by category of the first order</h3>{_f2_table(k.f2_by_category[:12], "category")}</div>
<div class="panel"><h3>Customer segments (RFM)</h3>{rfm_svg(k.rfm)}</div></div>
<h2>What each scenario earned over doing nothing (lift against holdout)</h2>
<div class="panel">{lift_svg(k.scenarios)}<p class="note">Conversion rate of customers who entered and were sent messages,
minus that of the holdout who were sent nothing, within the scenario's goal window after entry; bars are
95% intervals (Newcombe). Green: a real gain; blue: not distinguishable from zero yet.</p></div>
<h2>Scenarios</h2>{scenarios}
<p class="note">Attribution: an order counts for the latest email opened or clicked (LINE/SMS: sent or clicked) within
the scenario's window (default 5 days) before it, once. Generated by Kaeri.</p>
</main></body></html>
"""
