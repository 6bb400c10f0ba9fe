"""A scenario's audience now, its per-customer preview and the test send to a seed recipient."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from kaeri import clock
from kaeri.console.i18n import translator
from kaeri.console.routes.common import stored_or_404
from kaeri.console.web import BadRequest, Signed, current, new_router, page, query, shop
from kaeri.profiles.customers import CustomersTable

if TYPE_CHECKING:
    from kaeri.delivery.preview import Preview
    from kaeri.profiles.model import Profile

router = new_router()


@router.get("/console/shops/<shop_id>/scenarios/<scenario_id>/audience")
def audience(shop_id: str, scenario_id: str) -> Response[str]:
    from kaeri.journeys.reach import audience_now

    signed, _ = shop(shop_id)
    stored = stored_or_404(shop_id, scenario_id)
    reach = audience_now(current().clients, shop_id, stored, clock.now())
    return page("audience", signed, shop_id=shop_id, stored=stored, reach=reach)


def _matches(item: dict[str, Any], needle: str) -> bool:
    if item.get("sk", "PROFILE") != "PROFILE":
        return False
    hay = " ".join(str(item.get(k) or "") for k in ("customer_id", "email", "first_name", "last_name"))
    return needle in hay.lower()


def find_customers(shop_id: str, text: str, limit: int = 20) -> list[Profile]:
    from kaeri.profiles.repository import ProfileRepository

    clients = current().clients
    text = text.strip()
    if not text:
        return []
    exact = ProfileRepository(clients).get(shop_id, text)
    if exact is not None:
        return [exact]
    from kaeri.profiles.repository import profile_from_item

    found: list[Profile] = []
    needle = text.lower()
    for item in CustomersTable.of(clients).profile_items(shop_id):  # read only until enough match
        if _matches(item, needle):
            found.append(profile_from_item(item))
            if len(found) >= limit:
                break
    return found


def seeds(shop_id: str) -> list[tuple[str, str]]:
    from kaeri.shops import get_shop

    found = get_shop(current().clients, shop_id)
    listed: dict[str, list[str]] = getattr(found, "seed_recipients", None) or {}
    return [(channel, address) for channel, addresses in sorted(listed.items()) for address in addresses]


Rendered = tuple[str, "Preview | None", "str | None"]


def _rendered(shop_id: str, template: str, customer_id: str, channels: Any, t: Any) -> list[Rendered]:
    """Each channel's message for the customer, or why it could not be rendered."""
    from kaeri.delivery.preview import PreviewError, preview_message

    clients = current().clients
    rendered: list[Rendered] = []
    for channel in channels:
        try:
            rendered.append(
                (channel, preview_message(clients, shop_id, template, customer_id, channel), None)
            )
        except PreviewError as exc:
            rendered.append((channel, None, t("preview.render_failed", error=str(exc))))
    return rendered


def preview_page(
    signed: Signed,
    shop_id: str,
    stored: Any,
    customer: str,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> Response[str]:
    from kaeri.journeys.preview import preview
    from kaeri.scenarios.timing import zone

    t = translator(signed.marketer.language)
    now = clock.now()
    lines: list[Any] = []
    messages: dict[str, list[Rendered]] = {}
    matches = find_customers(shop_id, customer) if customer else []
    chosen = matches[0] if len(matches) == 1 else None
    if chosen is not None:
        lines = preview(current().clients, shop_id, stored.id, chosen.customer_id, now)
        for line in lines:
            if line.action == "send" and line.template:
                messages[line.step] = _rendered(shop_id, line.template, chosen.customer_id, line.channels, t)
    tz = zone(lines[0].timezone) if lines and lines[0].timezone else None
    return page(
        "preview",
        signed,
        status,
        shop_id=shop_id,
        stored=stored,
        customer=customer,
        matches=matches,
        chosen=chosen,
        lines=lines,
        messages=messages,
        zone=tz,
        stack_now=now,
        seeds=seeds(shop_id),
        sends=[s for s in stored.scenario.steps if hasattr(s, "send")],
        notice=notice,
        error=error,
    )


@router.get("/console/shops/<shop_id>/scenarios/<scenario_id>/preview")
def preview_route(shop_id: str, scenario_id: str) -> Response[str]:
    signed, _ = shop(shop_id)
    stored = stored_or_404(shop_id, scenario_id)
    return preview_page(signed, shop_id, stored, query("customer"))


@router.post("/console/shops/<shop_id>/scenarios/<scenario_id>/test-send")
def test_send(shop_id: str, scenario_id: str) -> Response[str]:
    import uuid

    from kaeri.delivery.request import SendRequest
    from kaeri.delivery.service import Delivery

    signed, fields = shop(shop_id, post=True)
    stored = stored_or_404(shop_id, scenario_id)
    t = translator(signed.marketer.language)
    customer, step_id = fields.get("customer", ""), fields.get("step", "")
    channel, _, recipient = fields.get("recipient", "").partition(":")
    if (channel, recipient) not in seeds(shop_id):
        return preview_page(
            signed, shop_id, stored, customer, 400, error=t("test.not_seed", recipient=recipient or "–")
        )
    step: Any = next((s for s in stored.scenario.steps if s.id == step_id and hasattr(s, "send")), None)
    if step is None:
        raise BadRequest(f"step: {step_id!r} is not a send step of {scenario_id}")
    if not find_customers(shop_id, customer, limit=1):
        raise BadRequest(f"customer: no customer {customer!r} in this shop")
    request = SendRequest(
        shop_id=shop_id,
        customer_id=customer,
        message_id=f"test:{scenario_id}:{step_id}:{uuid.uuid4().hex[:12]}",
        scenario_id=scenario_id,
        scenario_version=stored.version,
        step_id=step_id,
        channels=[channel],
        template_id=step.send.template,
        purpose=step.send.purpose,
        context=dict(step.send.context),
        test_recipient=recipient,
    )
    result = Delivery.from_clients(current().clients).send(request)
    if result.status == "sent":
        notice = t("test.sent", recipient=recipient, channel=channel, template=step.send.template)
        return preview_page(signed, shop_id, stored, customer, notice=notice)
    detail = result.detail or result.skip_reason or result.status
    return preview_page(signed, shop_id, stored, customer, 422, error=t("test.not_sent", detail=detail))
