"""SES feedback: events back into the stream, suppression after bounce, pause after complaints."""

from __future__ import annotations

import json

import pytest
from boto3.dynamodb.conditions import Key

from kaeri.delivery.compliance import Compliance
from kaeri.delivery.feedback import Feedback, ses_records
from kaeri.delivery.log import MessageLog
from kaeri.delivery.service import Delivery
from tests.integration.test_send_email import SHOP, request, seed

pytestmark = pytest.mark.slow  # moto in-process: a few seconds per test


def _feedback(aws) -> Feedback:
    compliance = Compliance.of(aws)
    return Feedback(MessageLog(aws.table("messages")), compliance, aws.table("events"))


def _sns(record: dict) -> dict:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(record)}}]}


def _events(aws, customer="c1"):
    resp = aws.table("events").query(
        IndexName="by_identity", KeyConditionExpression=Key("identity").eq(f"{SHOP}#{customer}")
    )
    return [i["event"] for i in resp["Items"]]


def test_bounce_suppresses_the_address_and_the_next_send_skips(aws):
    seed(aws)
    delivery = Delivery.from_clients(aws)
    sent = delivery.send(request())
    bounce = {
        "eventType": "Bounce",
        "mail": {"messageId": sent.provider_message_id, "timestamp": "2025-05-01T00:00:00Z"},
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "c1@example.com"}],
            "timestamp": "2025-05-01T00:00:05Z",
        },
    }
    feedback = _feedback(aws)
    outcomes = [feedback.handle(r) for r in ses_records(_sns(bounce))]
    feedback.handle(bounce)  # SNS redelivery writes nothing twice

    assert outcomes[0].message_id == "j1:s1" and outcomes[0].suppressed == ["c1@example.com"]
    assert _events(aws).count("Email Bounced") == 1
    assert delivery.send(request(message_id="j2:s1")).skip_reason == "suppressed"


def test_delivery_open_click_come_back_as_events(aws):
    seed(aws)
    sent = Delivery.from_clients(aws).send(request())
    feedback = _feedback(aws)
    for kind, extra in (("Delivery", {}), ("Open", {}), ("Click", {"link": "https://shop.example/p1"})):
        detail = {"timestamp": "2025-05-01T00:01:00Z", **extra}
        feedback.handle(
            {"eventType": kind, "mail": {"messageId": sent.provider_message_id}, kind.lower(): detail}
        )
    assert sorted(_events(aws)) == ["Email Delivered", "Email Link Clicked", "Email Opened"]


def test_complaints_past_the_rate_pause_the_shop(aws):
    seed(aws)
    messages = aws.table("messages")
    for i in range(300):  # the shop's recent email history
        messages.put_item(
            Item={
                "pk": f"{SHOP}#h{i}",
                "shop_id": SHOP,
                "message_id": f"h{i}",
                "customer_id": "c1",
                "channel": "email",
                "status": "sent",
                "created_at": f"2025-04-01T00:00:{i % 60:02d}.{i:03d}Z",
                "provider_message_id": f"ses-h{i}",
            }
        )
    feedback = _feedback(aws)
    first = feedback.handle(
        {
            "eventType": "Complaint",
            "mail": {"messageId": "ses-h1"},
            "complaint": {"complainedRecipients": [{"emailAddress": "c1@example.com"}]},
        }
    )
    assert first.paused_reason and "complaint rate" in first.paused_reason

    seed(aws, customer="c2")
    result = Delivery.from_clients(aws).send(request(message_id="j9:s1", customer="c2"))
    assert result.status == "skipped" and result.skip_reason == "paused" and "complaint rate" in result.detail


def test_feedback_reconciles_a_message_whose_provider_id_was_never_recorded(aws):
    seed(aws)
    aws.table("messages").put_item(
        Item={
            "pk": f"{SHOP}#lost",
            "shop_id": SHOP,
            "message_id": "lost",
            "customer_id": "c1",
            "channel": "email",
            "status": "failed",
            "created_at": "2025-05-01T00:00:00.000Z",
            "detail": "unknown_outcome",
        }
    )
    _feedback(aws).handle(
        {
            "eventType": "Delivery",
            "mail": {"messageId": "ses-x", "headers": [{"name": "X-Kaeri-Message", "value": f"{SHOP}#lost"}]},
            "delivery": {},
        }
    )
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#lost"})["Item"]
    assert item["status"] == "sent" and item["provider_message_id"] == "ses-x"
