"""The shop's report (KPIs, funnels, F2 curves) and its message log."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from kaeri import clock
from kaeri.console.pages import MIN_GROUP_FOR_LIFT, lift_warning, step_order
from kaeri.console.routes.common import currency, kpis, scenario_store
from kaeri.console.web import current, new_router, page, shop

router = new_router()


@router.get("/console/shops/<shop_id>/report")
def report(shop_id: str) -> Response[str]:
    from kaeri.analytics.report import f2_curves_svg

    signed, _ = shop(shop_id)
    now = clock.now()
    result = kpis(shop_id, None, now)
    stored = {s.id: s.scenario for s in scenario_store().list(shop_id)}
    funnels = []
    for sid, r in sorted(result.scenarios.items()):
        order = step_order(stored.get(sid), r.steps)
        funnels.append(
            {
                "id": sid,
                "result": r,
                "steps": [(s, r.steps[s]) for s in order],
                "warning": lift_warning(r.lift),
            }
        )
    return page(
        "report",
        signed,
        shop_id=shop_id,
        k=result,
        funnels=funnels,
        currency=currency(shop_id),
        curves_svg=f2_curves_svg(result.f2_curves) if result.f2_curves else "",
        minimum=MIN_GROUP_FOR_LIFT,
    )


@router.get("/console/shops/<shop_id>/messages")
def messages(shop_id: str) -> Response[str]:
    from kaeri.delivery.log import MessageLog

    signed, _ = shop(shop_id)
    rows = MessageLog.of(current().clients).outbox(shop_id, limit=100, include_skipped=True)
    return page("messages", signed, shop_id=shop_id, rows=rows)
