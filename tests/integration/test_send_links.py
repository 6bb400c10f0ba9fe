"""Unsubscribe (GET page, POST one-click), tracked redirects through the API handler, and LINE/SMS."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from boto3.dynamodb.conditions import Key

from kaeri.delivery.service import Delivery
from tests.integration.test_send_email import SHOP, request, seed

pytestmark = pytest.mark.slow  # moto in-process: a few seconds per test


def _api(method: str, path: str, body: str | None = None) -> dict:
    return {
        "resource": path.rsplit("/", 1)[0] + "/{token}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": {"token": path.rsplit("/", 1)[1]},
        "requestContext": {"httpMethod": method, "path": path, "stage": "v1", "requestId": "r"},
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def links(aws):
    import send_links

    with send_links.wired.use(aws):
        yield send_links


def _ctx():
    return SimpleNamespace(
        function_name="links", memory_limit_in_mb=128, invoked_function_arn="arn", aws_request_id="r"
    )


def test_one_click_unsubscribe_takes_effect_before_the_next_send(aws, links):
    seed(aws)
    delivery = Delivery.from_clients(aws)
    delivery.send(request())
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]
    url = item["headers"]["List-Unsubscribe"].strip("<>")
    path = url.split("127.0.0.1:8787", 1)[1]

    page = links.handler(_api("GET", path), _ctx())
    assert page["statusCode"] == 200 and "<form" in page["body"] and "カエリ商店" in page["body"]
    assert delivery.send(request(message_id="j1:s2")).status == "sent"  # GET changes nothing

    done = links.handler(_api("POST", path, "List-Unsubscribe=One-Click"), _ctx())
    assert done["statusCode"] == 200

    assert delivery.send(request(message_id="j1:s3")).skip_reason in ("no_consent", "suppressed")
    history = aws.table("customers").query(
        KeyConditionExpression=Key("pk").eq(f"{SHOP}#c1") & Key("sk").begins_with("CONSENT#")
    )
    assert [h["status"] for h in history["Items"]] == ["revoked"]
    assert history["Items"][0]["wording_version"]
    events = aws.table("events").query(
        IndexName="by_identity", KeyConditionExpression=Key("identity").eq(f"{SHOP}#c1")
    )
    assert [e["event"] for e in events["Items"]] == ["Unsubscribed"]


def test_forged_and_cross_shop_tokens_are_refused(aws, links):
    seed(aws)
    from kaeri.delivery.links import LinkSigner, UnsubscribeClaim

    forged = LinkSigner("guessed-secret", "x").unsubscribe_token(UnsubscribeClaim(SHOP, "c1", "email"))
    assert links.handler(_api("POST", f"/v1/u/{forged}", ""), _ctx())["statusCode"] == 404
    assert links.handler(_api("GET", "/v1/r/not-a-token", None), _ctx())["statusCode"] == 404
    profile = aws.table("customers").get_item(Key={"pk": f"{SHOP}#c1", "sk": "PROFILE"})["Item"]
    assert profile["consent"]["email"]["status"] == "granted"


def test_tracked_link_redirects_and_records_the_click(aws, links):
    seed(aws)
    Delivery.from_clients(aws).send(request())
    html = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]["html"]
    path = "/v1/r/" + html.split("/v1/r/", 1)[1].split('"', 1)[0]
    resp = links.handler(_api("GET", path), _ctx())
    assert resp["statusCode"] == 302
    assert (
        resp["multiValueHeaders"]["Location"][0].startswith("https://shop.example/")
        if "multiValueHeaders" in resp
        else resp["headers"]["Location"].startswith("https://shop.example/")
    )
    events = aws.table("events").query(
        IndexName="by_identity", KeyConditionExpression=Key("identity").eq(f"{SHOP}#c1")
    )
    clicked = [e for e in events["Items"] if e["event"] == "Message Link Clicked"]
    assert clicked and clicked[0]["properties"]["message_id"] == "j1:s1"


def test_line_then_sms_fallback_and_outbox(aws):
    from kaeri.delivery.channels import LineChannel, SmsChannel, line_api_factory
    from kaeri.delivery.outbox import list_outbox
    from kaeri_ops.local.line_server import LineServer

    seed(
        aws,
        consent={"email": {"status": "revoked"}, "line": {"status": "granted"}, "sms": {"status": "granted"}},
        line_user_id="U" + "a" * 32,
        phone="+819012345678",
    )
    seed(aws, customer="c2", consent={"sms": {"status": "granted"}}, phone="+819000000000")
    with LineServer() as server:
        channels = {
            "line": LineChannel(line_api_factory(server.url, lambda s: server.token)),
            "sms": SmsChannel(aws.sns, "KAERI"),
        }
        delivery = Delivery.from_clients(aws, channels=channels)
        line = delivery.send(request(channels=("email", "line", "sms")))
        sms = delivery.send(request(message_id="j2:s1", customer="c2", channels=("email", "line", "sms")))
        assert [p.to for p in server.received] == ["U" + "a" * 32]
        assert server.received[0].retry_key
    assert line.channel == "line" and line.status == "sent"
    assert sms.channel == "sms" and sms.status == "sent"
    rows = list_outbox(aws.table("messages"), SHOP)
    assert {r["channel"] for r in rows} == {"line", "sms"}
    assert all(r["text"] and r["user_id"] for r in rows)
    json.dumps(rows, default=str)


def test_a_line_token_reissued_in_secrets_manager_is_used_once_its_read_ages_out(aws):
    from kaeri.delivery.channels import (
        LineChannel,
        line_api_factory,
        line_token_secret_name,
        secrets_token_provider,
    )
    from kaeri_ops.local.line_server import LineServer

    # Given a shop whose LINE channel access token lives in Secrets Manager, read with no reuse
    seed(
        aws,
        consent={"email": {"status": "revoked"}, "line": {"status": "granted"}},
        line_user_id="U" + "b" * 32,
    )
    name = line_token_secret_name(aws.settings.table_prefix, SHOP)
    aws.secretsmanager.create_secret(Name=name, SecretString="token-1")
    tokens = secrets_token_provider(aws.secretsmanager, aws.settings.table_prefix, max_age=0)
    with LineServer(token="token-1") as server:
        delivery = Delivery.from_clients(
            aws, channels={"line": LineChannel(line_api_factory(server.url, tokens))}
        )
        assert delivery.send(request(channels=("line",))).status == "sent"
        # When the token is reissued (LINE now accepts only the new one)
        server.token = "token-2"
        aws.secretsmanager.put_secret_value(SecretId=name, SecretString="token-2")
        # Then the next send authenticates with the new token
        result = delivery.send(request(message_id="j2:s1", channels=("line",)))
    assert result.status == "sent", result
    assert len(server.received) == 2


def _redirect_targets(links, item) -> list[str]:
    """Where every tracked link of a logged message redirects (the handler's Location)."""
    import re

    bodies = " ".join(item.get(k) or "" for k in ("html", "text"))
    targets = []
    for token in set(re.findall(r"/v1/r/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", bodies)):
        resp = links.handler(_api("GET", f"/v1/r/{token}"), _ctx())
        assert resp["statusCode"] == 302
        headers = resp.get("multiValueHeaders") or {}
        targets.append((headers.get("Location") or [resp["headers"]["Location"]])[0])
    return targets


def test_product_added_with_a_foreign_url_never_becomes_a_redirect(aws, links):
    """The write key is public: a Product Added's url is attacker-controlled, the catalog is not."""
    seed(
        aws,
        cart={
            # In the catalog (p2): the catalog's URL is used, not the one the event carried.
            "p2": {"product_id": "p2", "name": "帽子", "quantity": 1, "url": "https://evil.example/phish"},
            # Not in the catalog and not on the shop's domains: no link at all.
            "p9": {"product_id": "p9", "name": "罠", "quantity": 1, "url": "https://evil.example/phish"},
        },
    )
    delivery = Delivery.from_clients(aws)
    assert delivery.send(request()).status == "sent"
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]
    targets = _redirect_targets(links, item)
    assert targets and all(t.startswith("https://shop.example/") for t in targets)
    assert "evil.example" not in json.dumps(item, default=str)


def test_redirect_token_with_cr_lf_or_missing_fields_is_a_404_not_a_5xx(aws, links):
    seed(aws)
    from kaeri.delivery.links import LinkSigner, RedirectClaim, stack_signing_secret

    signer = LinkSigner(stack_signing_secret(aws), aws.settings.api_url)
    injected = signer.redirect_token(RedirectClaim(SHOP, "c1", "https://shop.example/\r\nSet-Cookie: s=1"))
    no_customer = signer.mint("u", {"s": SHOP, "ch": "email"})
    no_url = signer.mint("r", {"s": SHOP, "c": "c1"})
    assert links.handler(_api("GET", f"/v1/r/{injected}"), _ctx())["statusCode"] == 404
    assert links.handler(_api("GET", f"/v1/r/{no_url}"), _ctx())["statusCode"] == 404
    assert links.handler(_api("POST", f"/v1/u/{no_customer}", ""), _ctx())["statusCode"] == 404
    assert links.handler(_api("GET", f"/v1/u/{no_customer}"), _ctx())["statusCode"] == 404


def test_a_second_one_click_post_answers_200_and_changes_nothing(aws, links):
    seed(aws)
    Delivery.from_clients(aws).send(request())
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]
    path = item["headers"]["List-Unsubscribe"].strip("<>").split("127.0.0.1:8787", 1)[1]

    def state():
        customers = aws.table("customers").scan()["Items"]
        events = aws.table("events").scan()["Items"]
        return sorted(json.dumps(i, sort_keys=True, default=str) for i in customers + events)

    assert links.handler(_api("POST", path, "List-Unsubscribe=One-Click"), _ctx())["statusCode"] == 200
    after_first = state()
    for _ in range(2):  # mail clients and proxies post again; the clock may not even have moved
        assert links.handler(_api("POST", path, "List-Unsubscribe=One-Click"), _ctx())["statusCode"] == 200
    assert state() == after_first
    unsubscribed = [i for i in aws.table("events").scan()["Items"] if i.get("event") == "Unsubscribed"]
    assert len(unsubscribed) == 1


def test_a_stored_template_using_an_undefined_variable_skips_with_a_named_reason(aws):
    from kaeri.delivery.template_store import TemplateStore
    from kaeri.delivery.templates_engine import TemplateCompileError, parse

    seed(aws)
    broken = parse(
        "---\nid: cart-abandonment-1\nchannels: [email]\n---\n=== ja subject\n{{ customer.nickname }}さん\n"
        "=== ja text\n{{ cusotmer.points.balance }}ポイント\n"
    )
    store = TemplateStore(aws.table("config"))
    with pytest.raises(TemplateCompileError, match="undefined"):
        store.push(SHOP, broken)
    assert store.get(SHOP, "cart-abandonment-1").version == 0  # nothing stored: the default is used

    # A version stored before the check existed (or written around it) fails by name at send time.
    item = {**store._to_item(broken.model_copy(update={"version": 1})), "shop_id": SHOP}
    aws.table("config").put_item(Item={"pk": f"TEMPLATE#{SHOP}#cart-abandonment-1", "sk": "LATEST", **item})
    result = Delivery.from_clients(aws).send(request())
    assert result.status == "skipped" and result.skip_reason == "render_undefined"
    assert "nickname" in result.detail


def test_a_projected_product_added_with_a_phishing_url_yields_a_cart_mail_without_it(aws, links):
    """Through the projector, as `kaeri local` would: the event is stored and applied, then mailed."""
    from datetime import timedelta

    from kaeri import clock
    from kaeri.events import StoredEvent
    from kaeri.profiles.projector import ProfileProjector

    seed(aws, cart={})
    now = clock.now()
    event = StoredEvent(
        shop_id=SHOP,
        message_id="evil-1",
        type="track",
        event="Product Added",
        user_id="c1",
        properties={"product_id": "p2", "name": "帽子", "price": 2900, "url": "https://evil.example/phish"},
        timestamp=now - timedelta(hours=1),
        received_at=now - timedelta(hours=1),
    )
    ProfileProjector(aws).apply(event)
    profile = aws.table("customers").get_item(Key={"pk": f"{SHOP}#c1", "sk": "PROFILE"})["Item"]
    assert profile["cart"]["p2"]["url"] == "https://evil.example/phish"  # stored as sent ...

    assert Delivery.from_clients(aws).send(request()).status == "sent"
    item = aws.table("messages").get_item(Key={"pk": f"{SHOP}#j1:s1"})["Item"]
    targets = _redirect_targets(links, item)
    assert targets and all(t == "https://shop.example/p2" for t in targets)  # ... mailed as catalogued
    assert "evil.example" not in json.dumps(item, default=str)
