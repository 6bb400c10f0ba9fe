"""The shop's message templates: the list, one template's source with a live preview, and saving."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from kaeri.console.i18n import translator
from kaeri.console.web import NotFound, Signed, current, new_router, page, query, see_other, shop

if TYPE_CHECKING:
    from kaeri.delivery.template_store import TemplateStore

router = new_router()


def template_store() -> TemplateStore:
    from kaeri.delivery.template_store import TemplateStore

    return TemplateStore.of(current().clients)


@router.get("/console/shops/<shop_id>/templates")
def templates(shop_id: str) -> Response[str]:
    signed, _ = shop(shop_id)
    return page("templates", signed, shop_id=shop_id, rows=template_store().list(shop_id))


def template_page(
    signed: Signed,
    shop_id: str,
    template_id: str,
    source: str,
    customer: str,
    channel: str,
    status: int = 200,
    notice: str = "",
    error: str = "",
) -> Response[str]:
    from kaeri.delivery.preview import PreviewError, preview_source

    rendered, render_error = None, ""
    if customer and not error:
        try:
            rendered = preview_source(current().clients, shop_id, source, customer, channel or None)
        except PreviewError as exc:
            render_error = str(exc)
    return page(
        "template",
        signed,
        status,
        shop_id=shop_id,
        template_id=template_id,
        source=source,
        customer=customer,
        channel=channel,
        rendered=rendered,
        render_error=render_error,
        notice=notice,
        error=error,
    )


@router.get("/console/shops/<shop_id>/templates/<template_id>")
def template(shop_id: str, template_id: str) -> Response[str]:
    from kaeri.delivery.template_store import TemplateNotFound
    from kaeri.delivery.templates_engine import to_source

    signed, _ = shop(shop_id)
    try:
        found = template_store().get(shop_id, template_id)
    except TemplateNotFound:
        raise NotFound() from None
    return template_page(
        signed,
        shop_id,
        template_id,
        to_source(found),
        query("customer"),
        query("channel"),
        notice=query("notice"),
    )


@router.post("/console/shops/<shop_id>/templates/<template_id>")
def save_template(shop_id: str, template_id: str) -> Response[str]:
    from kaeri.delivery.templates_engine import TemplateCompileError, parse

    signed, fields = shop(shop_id, post=True)
    t = translator(signed.marketer.language)
    source, customer, channel = (
        fields.get("source", ""),
        fields.get("customer", ""),
        fields.get("channel", ""),
    )
    if fields.get("action") != "save":
        return template_page(signed, shop_id, template_id, source, customer, channel)
    try:
        parsed = parse(source, template_id)
        if parsed.id != template_id:
            raise TemplateCompileError(template_id, 2, f"id {parsed.id!r} must stay {template_id!r}")
        result = template_store().push(shop_id, parsed, author=f"console:{signed.marketer.username}")
    except TemplateCompileError as exc:
        return template_page(
            signed,
            shop_id,
            template_id,
            source,
            customer,
            channel,
            422,
            error=t("template.refused", error=str(exc)),
        )
    key = "template.saved" if result.changed else "template.unchanged"
    return see_other(
        current().url(
            f"/shops/{shop_id}/templates/{quote(template_id)}",
            customer=customer,
            channel=channel,
            notice=t(key, version=result.version),
        )
    )
