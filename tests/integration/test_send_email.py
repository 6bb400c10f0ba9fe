"""The send path on moto: email through SES v2 with headers, consent, suppression, exactly-once."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

import pytest

from kaeri.delivery.compliance import Compliance
from kaeri.delivery.request import SendRequest
from kaeri.delivery.service import Delivery
from kaeri.shops import clear_cache, create_shop

pytestmark = pytest.mark.slow  # moto in-process: a few seconds per test

SHOP = "shop-a"


def seed(clients, customer="c1", **profile):
    clear_cache()
    create_shop(
        clients,
        SHOP,
        name="カエリ商店",
        write_key=f"wk-{SHOP}",
        from_email="news@kaeri.example",
        sender_name="カエリ商店",
        postal_address="東京都千代田区1-1",
        reply_to="help@kaeri.example",
    )
    clients.sesv2.create_email_identity(EmailIdentity="kaeri.example")
    item = {
        "pk": f"{SHOP}#{customer}",
        "sk": "PROFILE",
        "shop_id": SHOP,
        "customer_id": customer,
        "email": f"{customer}@example.com",
        "first_name": "Hana",
        "last_name": "山田",
        "locale": "ja",
        "consent": {"email": {"status": "granted"}},
        "cart": {
            "p1": {
                "product_id": "p1",
                "name": "リネンシャツ",
                "price": 4900,
                "quantity": 1,
                "url": "https://shop.example/p1",
            }
        },
    }
    item.update(profile)
    clients.table("customers").put_item(Item=item)
    clients.table("catalog").put_item(
        Item={
            "shop_id": SHOP,
            "product_id": "p2",
            "name": "帽子",
            "price": 2900,
            "url": "https://shop.example/p2",
        }
    )
    clients.table("customers").put_item(
        Item={
            "pk": f"{SHOP}#{customer}",
            "sk": "RECS",
            "items": [{"product_id": "p2", "score": 1, "reason": "similar"}],
        }
    )


def request(message_id="j1:s1", customer="c1", channels=("email",)):
    return SendRequest(
        shop_id=SHOP,
        customer_id=customer,
        message_id=message_id,
        scenario_id="cart-abandonment",
        step_id="s1",
        channels=list(channels),
        template_id="cart-abandonment-1",
    )


def sent_emails(clients):
    from moto.backends import get_backend

    backend = get_backend("ses")[clients.settings.region if False else "123456789012"]["ap-northeast-1"]
    return list(backend.sent_messages)


def test_email_is_sent_once_with_unsubscribe_headers_and_footer(aws):
    seed(aws)
    delivery = Delivery.from_clients(aws)

    first = delivery.send(request())
    again = delivery.send(request())

    assert first.status == "sent" and first.channel == "email" and first.provider_message_id
    assert again.status == "sent" and again.provider_message_id == first.provider_message_id
    raws = sent_emails(aws)
    assert len(raws) == 1
    mime = email.message_from_string(raws[0].raw_data)
    assert mime["List-Unsubscribe"].startswith("<http://127.0.0.1:8787/v1/u/")
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "カエリ商店" in str(make_header(decode_header(mime["From"])))
    assert mime["Reply-To"] == "help@kaeri.example"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode() for p in mime.walk() if not p.is_multipart()
    }
    assert "リネンシャツ" in parts["text/plain"] and "東京都千代田区1-1" in parts["text/plain"]
    assert "/v1/r/" in parts["text/html"] and "帽子" in parts["text/html"]
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]
    assert (
        item["status"] == "sent" and item["template_version"] == 0 and item["recipient"] == "c1@example.com"
    )


def test_without_consent_falls_back_then_skips_with_reason(aws):
    seed(aws, consent={"email": {"status": "revoked"}})
    delivery = Delivery.from_clients(aws)

    result = delivery.send(request(channels=("email", "sms")))

    assert result.status == "skipped" and result.skip_reason == "no_consent"
    assert sent_emails(aws) == []


def test_suppressed_address_is_not_mailed(aws):
    seed(aws)
    Compliance.of(aws).suppress(SHOP, "C1@example.com", "bounce")
    result = Delivery.from_clients(aws).send(request())
    assert result.skip_reason == "suppressed"
    assert sent_emails(aws) == []


@pytest.mark.parametrize("reason", ["capped", "holdout"])
def test_record_skip_logs_once(aws, reason):
    from kaeri.delivery.service import record_skip

    first = record_skip(aws, request(), reason)
    second = record_skip(aws, request(), "audience")
    assert first.skip_reason == reason and second.skip_reason == reason
