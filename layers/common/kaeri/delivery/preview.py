"""Render a template for a real customer without sending (`kaeri templates preview`)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any, cast

from kaeri.delivery.templates_engine import Rendered, RenderError, render

if TYPE_CHECKING:
    from kaeri.vocabulary import Channel


class PreviewError(RuntimeError):
    pass


@dataclass
class Preview:
    template_id: str
    version: int
    channel: str
    rendered: Rendered
    subject: str | None
    text: str | None
    html: str | None

    def html_page(self) -> str:
        if self.html:
            return self.html
        return f"<!doctype html><meta charset='utf-8'><pre>{escape(self.text or '')}</pre>"

    def as_text(self) -> str:
        head = f"{self.template_id} v{self.version} {self.channel} ({self.rendered.locale})"
        subject = f"\nSubject: {self.subject}" if self.subject else ""
        return f"{head}{subject}\n\n{self.text or ''}"


def preview_message(
    clients: Any, shop_id: str, template_id: str, customer_id: str, channel: str | None = None
) -> Preview:
    from kaeri.delivery.service import Delivery
    from kaeri.delivery.template_store import TemplateNotFound

    delivery = Delivery.from_clients(clients, channels={})
    try:
        template = delivery.templates.get(shop_id, template_id)
    except TemplateNotFound as exc:
        raise PreviewError(str(exc)) from exc
    return _render_for(delivery, shop_id, template, customer_id, channel)


def preview_source(
    clients: Any, shop_id: str, source: str, customer_id: str, channel: str | None = None
) -> Preview:
    """Render template text that is not stored yet (the console's live render while editing)."""
    from kaeri.delivery.service import Delivery
    from kaeri.delivery.templates_engine import TemplateCompileError, parse

    try:
        template = parse(source, "template")
    except TemplateCompileError as exc:
        raise PreviewError(str(exc)) from exc
    return _render_for(Delivery.from_clients(clients, channels={}), shop_id, template, customer_id, channel)


def _render_for(delivery: Any, shop_id: str, template: Any, customer_id: str, channel: str | None) -> Preview:
    from kaeri.delivery.context import build_context
    from kaeri.delivery.service import compliance_footer

    template_id = template.id
    shop = delivery.shops(shop_id)
    if shop is None:
        raise PreviewError(f"no shop {shop_id!r}")
    profile = delivery.profiles(shop_id, customer_id)
    if profile is None:
        raise PreviewError(f"no profile for customer {customer_id!r} in shop {shop_id!r}")
    channel = channel or template.channels[0]
    if channel not in template.channels:
        raise PreviewError(f"{template_id} has no {channel} body (channels: {', '.join(template.channels)})")
    context = build_context(
        profile=profile,
        shop=shop,
        channel=channel,
        message_id=f"preview:{template_id}",
        trigger=None,
        extra={},
        signer=delivery.signer,
        catalog=delivery.catalog,
    )
    try:
        # checked against template.channels above; the template is untyped here (Any)
        rendered = render(
            template, cast("Channel", channel), context, profile.locale, getattr(shop, "locale", None)
        )
    except RenderError as exc:
        raise PreviewError(f"render failed: {exc}") from exc
    text = rendered.text or rendered.line or rendered.sms
    html = rendered.html
    if channel == "email":
        footer_text, footer_html = compliance_footer(shop, context["unsubscribe_url"], rendered.locale)
        text = (text or "") + footer_text
        html = html + footer_html if html else None
    return Preview(template_id, template.version, channel, rendered, rendered.subject, text, html)
