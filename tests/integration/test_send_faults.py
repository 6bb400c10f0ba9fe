"""Fault injection: failed attempts of SES and DynamoDB calls (below botocore's retries), 429/5xx and
lost responses from LINE, on a share of calls, with the send retried the way Step Functions would.
No message is lost and none is delivered twice."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from linebot.v3.messaging.exceptions import ApiException

from kaeri import clock
from kaeri.delivery.channels import EmailChannel, LineChannel, line_api_factory
from kaeri.delivery.compliance import Compliance
from kaeri.delivery.context import CatalogReader
from kaeri.delivery.links import LinkSigner
from kaeri.delivery.log import MessageLog
from kaeri.delivery.request import SendRequest
from kaeri.delivery.service import Delivery, SendInProgress, SendRetryable, dynamo_profile_loader
from kaeri.delivery.template_store import TemplateStore
from kaeri.shops import clear_cache, create_shop, get_shop
from kaeri_ops.fakes import Faulty
from kaeri_ops.local.line_server import LineServer

SHOP = "shop-f"


class FlakyLine:
    """LINE API wrapper: 429/500 before the call, or a lost response after LINE accepted it."""

    def __init__(self, api, rate: float, seed: int = 5) -> None:
        self._api, self._rate, self._random = api, rate, random.Random(seed)

    def push_message_with_http_info(self, request, x_line_retry_key=None):
        roll = self._random.random()
        if roll < self._rate / 3:
            raise ApiException(status=429, reason="Too Many Requests")
        if roll < 2 * self._rate / 3:
            raise ApiException(status=500, reason="Internal Server Error")
        result = self._api.push_message_with_http_info(request, x_line_retry_key=x_line_retry_key)
        if roll < self._rate:
            raise TimeoutError("response lost after LINE accepted the push")
        return result


@pytest.fixture
def manual_clock():
    manual = clock.ManualClock(datetime(2025, 5, 1, 3, 0, tzinfo=UTC))
    previous = clock.use(manual)
    yield manual
    clock.use(previous)


def _seed(aws, n: int) -> None:
    clear_cache()
    create_shop(
        aws,
        SHOP,
        name="Shop F",
        write_key="wk-f",
        from_email="news@f.example",
        sender_name="Shop F",
        postal_address="Tokyo",
    )
    aws.sesv2.create_email_identity(EmailIdentity="f.example")
    for i in range(n):
        aws.table("customers").put_item(
            Item={
                "pk": f"{SHOP}#c{i}",
                "sk": "PROFILE",
                "shop_id": SHOP,
                "customer_id": f"c{i}",
                "locale": "en",
                "email": f"c{i}@example.com",
                "line_user_id": f"U{i:032x}",
                "consent": {
                    "email": {"status": "granted"} if i % 2 else {"status": "revoked"},
                    "line": {"status": "granted"},
                },
            }
        )


@contextlib.contextmanager
def _faults(aws, rate: float):
    """Flaky messages-table writes and reads and flaky SES sends, below botocore's retries."""
    with (
        Faulty(aws.table("messages"), rate, ("put_item", "update_item", "get_item"), seed=3) as log,
        Faulty(aws.sesv2, rate, ("send_email",), seed=4) as ses,
    ):
        yield log, ses
    assert log.injected and ses.injected  # the faults did happen


def _delivery(aws, line_url: str, rate: float) -> Delivery:
    messages, ses = aws.table("messages"), aws.sesv2
    api = line_api_factory(line_url, lambda shop: "kaeri-local-line-token")
    return Delivery(
        log=MessageLog(messages),
        compliance=Compliance.of(aws),
        templates=TemplateStore(aws.table("config")),
        profiles=dynamo_profile_loader(aws),
        shops=lambda shop_id: get_shop(aws, shop_id),
        signer=LinkSigner("s", "http://127.0.0.1:8787"),
        channels={
            "email": EmailChannel(ses, "kaeri"),
            "line": LineChannel(lambda shop: FlakyLine(api(shop), rate)),
        },
        catalog=CatalogReader.of(aws),
    )


def _send_until_done(delivery: Delivery, request: SendRequest, manual_clock) -> tuple:
    """Retry like the state machine: on any error, again; after a held lease, later."""
    for _ in range(60):
        try:
            return delivery.send(request)
        except SendInProgress:
            manual_clock.advance(timedelta(minutes=3))
        except (SendRetryable, Exception):  # noqa: BLE001 - every failure is retried by the caller
            pass
    raise AssertionError(f"{request.message_id} never finished")


@pytest.mark.slow
def test_faults_lose_nothing_and_deliver_nothing_twice(aws, manual_clock):
    n = 24
    _seed(aws, n)
    with LineServer() as line, _faults(aws, rate=0.3):
        delivery = _delivery(aws, line.url, rate=0.3)
        results = {}
        for i in range(n):
            request = SendRequest(
                shop_id=SHOP,
                customer_id=f"c{i}",
                message_id=f"j{i}:s1",
                channels=["email", "line"],
                template_id="cart-abandonment-1",
            )
            results[i] = _send_until_done(delivery, request, manual_clock)
            # A duplicate delivery of the same step (e.g. SQS redelivery) changes nothing.
            assert delivery.send(request).status == results[i].status

        from moto.backends import get_backend

        ses = get_backend("ses")["123456789012"]["ap-northeast-1"]
        emails = [m.destinations[0] for m in ses.sent_messages]
        pushes = [p.to for p in line.received]

    assert all(r.status == "sent" for r in results.values()), [
        r for r in results.values() if r.status != "sent"
    ]
    assert sorted(emails) == sorted(f"c{i}@example.com" for i in range(n) if i % 2)
    assert sorted(pushes) == sorted(f"U{i:032x}" for i in range(n) if not i % 2)
    assert len(set(emails)) == len(emails) and len(set(pushes)) == len(pushes)
    items = aws.table("messages").scan()["Items"]
    assert len(items) == n and {i["status"] for i in items} == {"sent"}
    assert all("attempt_id" not in i for i in items)
