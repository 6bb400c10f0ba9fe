"""Checks before a template or a scenario is stored: it must render, non-blank, for sample customers.

Compiling catches syntax errors and unknown filters; rendering against the documented context
(kaeri.delivery.context) catches misspelled variables (StrictUndefined) and bodies that come out
empty. Two sample customers are used: one with every field, one with only an address, so an
optional field a template uses without `is defined`/`or` guards is refused at push, not skipped at
send time.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from kaeri.delivery.context import build_context
from kaeri.delivery.links import LinkSigner
from kaeri.delivery.templates_engine import RenderError, RenderUndefined, Template, render
from kaeri.profiles.model import CartLine, Consent, Profile, ViewedProduct

SAMPLE_SHOP = SimpleNamespace(
    shop_id="sample-shop",
    name="Sample Shop",
    url="https://shop.example",
    link_domains=["shop.example"],
    sender_name="Sample Shop",
    from_email="news@shop.example",
    reply_to=None,
    postal_address="1-1 Chiyoda, Tokyo",
    timezone="Asia/Tokyo",
    locale="ja",
)
_SIGNER = LinkSigner("sample-signing-secret", "https://api.example")
_AT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def _product(n: int) -> dict[str, Any]:
    return {
        "product_id": f"p{n}",
        "name": f"Product {n}",
        "price": Decimal(1000 * n),
        "category": "shirts",
        "url": f"https://shop.example/p{n}",
        "image_url": f"https://shop.example/p{n}.jpg",
    }


def sample_profiles() -> dict[str, Profile]:
    """`full`: every documented field; `minimal`: a new subscriber with an address and consent only."""
    granted = {c: Consent(status="granted", at=_AT, source="sample") for c in ("email", "line", "sms")}
    full = Profile(
        shop_id=SAMPLE_SHOP.shop_id,
        customer_id="sample-full",
        email="hana@example.com",
        phone="+819012345678",
        line_user_id="U" + "0" * 32,
        first_name="Hana",
        last_name="Yamada",
        birthday=date(1990, 1, 15),
        locale="ja",
        consent=granted,
        order_count=2,
        total_spent=Decimal(12000),
        first_order_at=_AT,
        last_order_at=_AT,
        cart={"p1": CartLine(**_product(1), quantity=2, added_at=_AT)},
        cart_updated_at=_AT,
        recently_viewed=[ViewedProduct(**_product(3), at=_AT)],
        points_balance=1200,
        points_expire_on=date(2026, 2, 28),
    )
    minimal = Profile(
        shop_id=SAMPLE_SHOP.shop_id,
        customer_id="sample-minimal",
        email="new@example.com",
        phone="+819000000000",
        line_user_id="U" + "1" * 32,
        consent=granted,
    )
    return {"full": full, "minimal": minimal}


def _trigger() -> dict[str, Any]:
    return {
        "event": "Order Completed",
        "type": "track",
        "timestamp": _AT.isoformat(),
        "properties": {"order_id": "o1", "total": 3000, "products": [_product(1) | {"quantity": 1}]},
    }


def sample_contexts(channel: str) -> Iterable[tuple[str, dict[str, Any]]]:
    for label, profile in sample_profiles().items():
        trigger = _trigger() if label == "full" else None
        recs = [_product(4) | {"score": 1.0, "reason": "similar"}] if label == "full" else []
        yield (
            label,
            build_context(
                profile=profile,
                shop=SAMPLE_SHOP,
                channel=channel,
                message_id="sample",
                trigger=trigger,
                extra={"coupon": "SAMPLE10"} if label == "full" else {},
                signer=_SIGNER,
                catalog=None,
                recommendations=recs,
            ),
        )


def render_problems(template: Template) -> list[str]:
    """Why the template would fail or come out blank for a sample customer; [] when it is fine."""
    problems: list[str] = []
    for channel in template.channels:
        for label, context in sample_contexts(channel):
            for locale in template.locales:
                try:
                    out = render(template, channel, context, locale)
                except RenderError as exc:
                    where = ""
                    if isinstance(exc, RenderUndefined) and exc.line and exc.part in template.lines:
                        where = f"line {template.lines[exc.part] + exc.line - 1}: "
                    problems.append(f"{where}{locale} {channel} ({label} customer): {exc}")
                    continue
                blank = [
                    part
                    for part, needed in (
                        ("subject", channel == "email"),
                        ("body", True),
                    )
                    if needed
                    and not (
                        (out.subject if part == "subject" else (out.text or out.html or out.line or out.sms))
                        or ""
                    ).strip()
                ]
                if blank:
                    problems.append(f"{locale} {channel} ({label} customer): renders a blank {blank[0]}")
    return list(dict.fromkeys(problems))


def unknown_template_ids(template_ids: Iterable[str], known: Iterable[str]) -> list[str]:
    """Problems for template ids that name no template, with the nearest known id as a hint."""
    known_ids = sorted(set(known))
    problems = []
    for tid in template_ids:
        if tid in known_ids:
            continue
        near = difflib.get_close_matches(tid, known_ids, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        problems.append(f"template {tid!r} does not exist{hint}")
    return problems
