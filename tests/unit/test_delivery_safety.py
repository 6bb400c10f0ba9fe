"""Link targets, the documented template context, render limits, template and scenario checks, PII."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaeri.delivery.context import SHOP_FIELDS, build_context
from kaeri.delivery.links import InvalidToken, LinkPolicy, LinkSigner, RedirectClaim, UnsafeLink, check_link
from kaeri.delivery.template_store import check_template, missing_templates
from kaeri.delivery.templates_engine import (
    RenderTimeout,
    RenderTooLarge,
    RenderUndefined,
    TemplateCompileError,
    default_templates,
    parse,
    render,
)
from kaeri.delivery.validation import SAMPLE_SHOP, render_problems, sample_contexts, sample_profiles
from kaeri.pii import MaskingFormatter, mask_text, masked
from kaeri.profiles.model import CartLine

SIGNER = LinkSigner("secret", "https://api.example")


def _template(body: str, channels: str = "[line]") -> str:
    return f"---\nid: t-1\nchannels: {channels}\n---\n=== en line\n{body}\n"


# Links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example/p1\r\nSet-Cookie: a=b",
        "https://shop.example/p1\nLocation: https://evil.example",
        "javascript:alert(1)",
        "data:text/html,<script>",
        "//evil.example/x",
        "https://shop.example@evil.example/",
        "https://shop.example/ x",
        "ftp://shop.example/x",
        "https:/\\evil.example",
    ],
)
def test_unsafe_urls_are_refused_at_creation_and_at_redirect(url):
    with pytest.raises(UnsafeLink):
        check_link(url)
    with pytest.raises(UnsafeLink):
        SIGNER.redirect_url(RedirectClaim("shop-a", "c1", url))
    # A token minted for it anyway (an older minter, a leaked key) still never redirects.
    token = SIGNER.redirect_token(RedirectClaim("shop-a", "c1", url))
    with pytest.raises(InvalidToken):
        SIGNER.read_redirect(token)


def test_policy_allows_catalog_urls_and_the_shops_domains_only():
    policy = LinkPolicy.for_shop(SAMPLE_SHOP, ["https://cdn.partner.example/p9"])
    assert policy.allows("https://shop.example/p1")
    assert policy.allows("https://www.shop.example/p1")  # subdomain of an allowed domain
    assert policy.allows("https://cdn.partner.example/p9")  # exactly a catalog URL
    assert not policy.allows("https://cdn.partner.example/other")
    assert not policy.allows("https://evil.example/phish")
    assert not policy.allows("https://shop.example.evil.example/")


@pytest.mark.parametrize(
    "payload",
    [
        {"s": "shop-a", "ch": "email"},  # no customer
        {"s": "shop-a", "c": "c1"},  # no channel
        {"s": "shop-a", "c": 5, "ch": "email"},  # not a string
        {"s": "shop-a", "c": "c1", "ch": "fax"},  # unknown channel
        {"s": "", "c": "c1", "ch": "email"},  # empty shop
    ],
)
def test_signed_unsubscribe_token_missing_a_field_is_invalid_not_a_crash(payload):
    token = SIGNER.mint("u", payload)  # correctly signed, but not a complete claim
    with pytest.raises(InvalidToken):
        SIGNER.read_unsubscribe(token)


def test_event_urls_outside_the_shop_never_reach_the_context():
    profile = sample_profiles()["full"].model_copy(deep=True)
    profile.cart = {"p9": CartLine(product_id="p9", name="Phish", url="https://evil.example/phish")}
    trigger = {
        "event": "Product Added",
        "properties": {
            "product_id": "p9",
            "url": "https://evil.example/phish",
            "image_url": "https://evil.example/i",
        },
    }
    context = build_context(
        profile=profile,
        shop=SAMPLE_SHOP,
        channel="email",
        message_id="m1",
        trigger=trigger,
        extra={},
        signer=SIGNER,
        catalog=None,
        recommendations=[],
    )
    assert "evil.example" not in json.dumps(
        {k: v for k, v in context.items() if k != "track_link"}, default=str
    )
    with pytest.raises(Exception, match="not in the shop's catalog"):
        context["track_link"]("https://evil.example/phish")


# Context -------------------------------------------------------------------------------------


def test_shop_context_has_no_secret_and_using_one_fails_by_name():
    shop = SAMPLE_SHOP.__dict__ | {"webhook_secret": "whsec-123", "paused_reason": "x", "write_key": "wk"}
    _, context = next(iter(sample_contexts("line")))
    context = context | {"shop": build_context.__globals__["shop_context"](shop)}
    assert set(context["shop"]) == set(SHOP_FIELDS)
    assert "whsec-123" not in json.dumps(context["shop"])
    with pytest.raises(RenderUndefined, match="webhook_secret"):
        render(parse(_template("{{ shop.webhook_secret }}")), "line", context)


def test_undefined_variables_fail_instead_of_rendering_blank():
    _, context = next(iter(sample_contexts("line")))
    for body in ("{{ customer.nickname }}さん", "{{ cusotmer.points.balance }}ポイント"):
        with pytest.raises(RenderUndefined):
            render(parse(_template(body)), "line", context)
    guarded = "{{ customer.nickname if customer.nickname is defined else 'お客' }}様"
    assert render(parse(_template(guarded)), "line", context).line == "お客様"


def test_every_shipped_template_renders_for_full_and_minimal_customers():
    problems = {tid: render_problems(t) for tid, t in default_templates().items()}
    assert {tid: p for tid, p in problems.items() if p} == {}


# Limits --------------------------------------------------------------------------------------


def test_a_runaway_loop_stops_at_the_time_limit():
    runaway = parse(
        _template("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}x")
    )
    _, context = next(iter(sample_contexts("line")))
    with pytest.raises(RenderTimeout) as info:
        render(runaway, "line", context, seconds=0.2)
    assert info.value.reason == "render_timeout"
    # The same in a worker thread (the local stack runs functions in threads), and nothing stray
    # is left behind for the renders that follow.
    from concurrent.futures import ThreadPoolExecutor

    def attempt():
        try:
            render(runaway, "line", context, seconds=0.2)
        except RenderTimeout as exc:
            return exc.reason
        return "finished"

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda _: attempt(), range(2))) == ["render_timeout", "render_timeout"]
    assert render(parse(_template("ok")), "line", context).line == "ok"


@pytest.mark.parametrize(
    "expression", ["{{ 'x' * 1000000000 }}", "{{ [1] * 100000000 }}", "{{ 10 ** 100000000 }}"]
)
def test_huge_values_are_refused_before_they_are_built(expression):
    _, context = next(iter(sample_contexts("line")))
    with pytest.raises(RenderTooLarge):
        render(parse(_template(expression)), "line", context)


def test_output_over_the_limit_is_refused():
    big = parse(_template("{% for a in range(100000) %}0123456789{% endfor %}"))
    _, context = next(iter(sample_contexts("line")))
    with pytest.raises(RenderTooLarge) as info:
        render(big, "line", context)  # LINE text messages are at most 5,000 characters
    assert info.value.reason == "render_too_large"


# Template and scenario checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("{{ customer.total_spent | mony }}", "No filter named 'mony'"),
        ("{{ cusotmer.points.balance }}", "undefined"),
        ("{% if false %}x{% endif %}", "blank"),
        ("{% for x in %}", "line"),
    ],
)
def test_push_check_refuses_unknown_filters_undefined_and_blank(body, why):
    with pytest.raises(TemplateCompileError, match=why):
        check_template(parse(_template(body)))


def test_unknown_template_ids_are_named_with_a_hint():
    assert missing_templates(["cart-abandonment-1"]) == []
    [problem] = missing_templates(["cart-abandonmnet-1"])
    assert "cart-abandonmnet-1" in problem and "did you mean 'cart-abandonment-1'" in problem


def test_scenarios_validate_refuses_a_misspelled_template_id(tmp_path: Path):
    from kaeri_ops.cli import app
    from kaeri_ops.scenarios.presets import __file__ as presets_init

    preset = (Path(presets_init).parent / "cart-abandonment.yaml").read_text()
    good = tmp_path / "good.yaml"
    good.write_text(preset)
    bad = tmp_path / "bad.yaml"
    bad.write_text(preset.replace("template: cart-abandonment-1", "template: cart-abandonmnet-1"))
    assert CliRunner().invoke(app, ["scenarios", "validate", str(good)]).exit_code == 0
    result = CliRunner().invoke(app, ["scenarios", "validate", str(bad)])
    assert result.exit_code == 1
    assert "cart-abandonmnet-1" in result.output and "cart-abandonment-1" in result.output


# PII -----------------------------------------------------------------------------------------


def test_logs_mask_emails_phones_line_ids_and_tokens():
    from aws_lambda_powertools import Logger

    stream = io.StringIO()
    logger = Logger(service="t", logger_formatter=MaskingFormatter(), logger_handler=None, stream=stream)
    line_id = "U" + "ab" * 16
    logger.info(
        "sent to hana.yamada@example.com",
        extra={
            "recipient": "+819012345678",
            "line": line_id,
            "url": "https://api.example/v1/u/eyJrIjoidSJ9eyJrIjoidSJ9.abcdefghijklmnopqrst",
            "webhook_secret": "whsec-123",
            "tel": "090-1234-5678",
        },
    )
    written = stream.getvalue()
    for secret in ("hana.yamada@", "9012345678", "1234-5678", line_id, "eyJrIjoidSJ9", "whsec-123"):
        assert secret not in written
    record = json.loads(written)
    assert record["message"] == "sent to h***@example.com" and record["recipient"].endswith("5678")
    assert mask_text("on 2026-12-01, order 12345") == "on 2026-12-01, order 12345"
    assert masked({"nested": [{"email": "a@b.example"}]}) == {"nested": [{"email": "a***@b.example"}]}
