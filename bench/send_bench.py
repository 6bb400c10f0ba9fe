"""send.messages_per_second: render + hand-off to a provider adapter, one core, no AWS.

A personalised cart-abandonment email (name, 3 cart lines, 4 recommendations joined with the catalog,
tracked links, unsubscribe link, compliance footer, MIME build) handed to a fake adapter.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from kaeri.delivery.channels import OutboundMessage, build_mime
from kaeri.delivery.context import build_context
from kaeri.delivery.links import LinkSigner
from kaeri.delivery.service import compliance_footer
from kaeri.delivery.templates_engine import default_templates, render
from kaeri.profiles.model import CartLine, Consent, Profile
from kaeri_ops.fakes import FakeChannel

N = 3000


class _Catalog:
    def __init__(self) -> None:
        self._products = {
            f"p{i}": {
                "product_id": f"p{i}",
                "name": f"商品 {i}",
                "price": 1000 + i,
                "url": f"https://shop.example/p{i}",
            }
            for i in range(50)
        }

    def products(self, shop_id, ids):
        return {i: self._products[i] for i in ids if i in self._products}

    def recommendations(self, shop_id, customer_id):
        n = int(customer_id[1:])
        return [
            {"product_id": f"p{(n + k) % 50}", "score": 1 - k / 10, "reason": "similar"} for k in range(4)
        ]


def run() -> dict[str, float | int | str]:
    template = default_templates()["cart-abandonment-1"]
    signer = LinkSigner("bench-secret", "https://api.example")
    catalog = _Catalog()
    shop = SimpleNamespace(
        shop_id="s",
        name="カエリ商店",
        sender_name="カエリ商店",
        postal_address="東京都",
        from_email="news@kaeri.example",
        reply_to=None,
        locale="ja",
    )
    adapter = FakeChannel("email")
    now = datetime(2025, 5, 1, tzinfo=UTC)
    profiles = [
        Profile(
            shop_id="s",
            customer_id=f"c{i}",
            email=f"c{i}@example.com",
            first_name=f"花子{i}",
            last_name="山田",
            locale="ja",
            consent={"email": Consent(status="granted", at=now)},
            cart={
                f"p{(i + k) % 50}": CartLine(product_id=f"p{(i + k) % 50}", price=Decimal(1200), quantity=1)
                for k in range(3)
            },
        )
        for i in range(N)
    ]

    def one(profile: Profile) -> None:
        message_id = f"j{profile.customer_id}:s1"
        context = build_context(
            profile=profile,
            shop=shop,
            channel="email",
            message_id=message_id,
            trigger=None,
            extra={},
            signer=signer,
            catalog=catalog,
        )  # type: ignore[arg-type]
        rendered = render(template, "email", context, profile.locale)
        footer_text, footer_html = compliance_footer(shop, context["unsubscribe_url"], rendered.locale)
        message = OutboundMessage(
            shop_id="s",
            message_id=message_id,
            channel="email",
            recipient=profile.email or "",
            subject=rendered.subject,
            text=(rendered.text or "") + footer_text,
            html=(rendered.html or "") + footer_html,
            from_address="news@kaeri.example",
            headers={
                "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        build_mime(message)
        adapter.send(message)

    for profile in profiles[:50]:  # warm the compiled-template cache
        one(profile)
    started = time.perf_counter()
    cpu_started = time.process_time()
    for profile in profiles:
        one(profile)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "messages_per_second": round(N / cpu, 1),  # per core: CPU time, so a shared machine does not skew it
        "messages_per_second_wall": round(N / wall, 1),
        "ms_per_message": round(1000 * cpu / N, 3),
        "recommendations_per_message": 4,
    }


if __name__ == "__main__":
    print(run())
