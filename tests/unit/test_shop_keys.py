"""Keys by trust: write keys ingest, server keys open the private routes, tokens speak for one customer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from kaeri import clock, shops
from kaeri.delivery.links import signing_secret
from kaeri.tracking.auth import authenticate, authenticate_customer, authenticate_server
from kaeri.tracking.errors import Forbidden, Unauthorized
from kaeri.tracking.tokens import CustomerTokens
from kaeri_ops.cli import app

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def basic(key: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def manual_clock():
    shops.clear_cache()
    manual = clock.ManualClock(T0)
    previous = clock.use(manual)
    yield manual
    clock.use(previous)
    shops.clear_cache()


def test_created_keys_are_random_distinct_and_stored_only_as_digests(aws, manual_clock):
    shop = shops.create_shop(aws, "shop-a", name="A")
    other = shops.create_shop(aws, "shop-b", name="B")

    assert shop.write_key.startswith("wk_") and shop.server_key.startswith("sk_")
    assert len({shop.write_key, shop.server_key, other.write_key, other.server_key}) == 4
    dump = json.dumps(aws.table("config").scan()["Items"], default=str)
    for key in (shop.write_key, shop.server_key, other.write_key, other.server_key):
        assert key not in dump
    assert {r.kind for r in shops.list_keys(aws, "shop-a")} == {"write", "server"}


def test_write_key_only_ingests_and_server_key_opens_server_routes(aws, manual_clock):
    shop = shops.create_shop(aws, "shop-a", name="A")

    assert authenticate(aws, basic(shop.write_key)) == "shop-a"
    assert authenticate(aws, basic(shop.server_key)) == "shop-a"  # a backend may also send events
    assert authenticate_server(aws, basic(shop.server_key)) == "shop-a"
    assert authenticate_server(aws, bearer(shop.server_key)) == "shop-a"
    with pytest.raises(Forbidden, match="server key"):
        authenticate_server(aws, basic(shop.write_key))
    with pytest.raises(Unauthorized):
        authenticate_server(aws, basic("sk_unknown"))
    with pytest.raises(Unauthorized):
        authenticate_server(aws, {})


def test_rotation_keeps_old_key_for_the_grace_period_only(aws, manual_clock):
    shop = shops.create_shop(aws, "shop-a", name="A")

    new = shops.rotate_key(aws, "shop-a", "server", timedelta(hours=1))

    assert authenticate_server(aws, basic(new)) == "shop-a"
    assert authenticate_server(aws, basic(shop.server_key)) == "shop-a"  # both work during rotation
    manual_clock.advance(timedelta(hours=1, seconds=1))
    shops.clear_cache()
    assert authenticate_server(aws, basic(new)) == "shop-a"
    with pytest.raises(Unauthorized):
        authenticate_server(aws, basic(shop.server_key))
    assert authenticate(aws, basic(shop.write_key)) == "shop-a"  # other kinds untouched


def test_rotation_with_no_grace_revokes_at_once_even_in_a_warm_cache(aws, manual_clock):
    shop = shops.create_shop(aws, "shop-a", name="A")
    assert authenticate(aws, basic(shop.write_key)) == "shop-a"  # cached

    new = shops.rotate_key(aws, "shop-a", "write", timedelta(0))

    with pytest.raises(Unauthorized):
        authenticate(aws, basic(shop.write_key))
    assert authenticate(aws, basic(new)) == "shop-a"


def test_key_of_another_shop_is_refused_at_registration(aws, manual_clock):
    shops.create_shop(aws, "shop-a", name="A", write_key="wk_shared")
    with pytest.raises(shops.ShopError):
        shops.create_shop(aws, "shop-b", name="B", write_key="wk_shared")


def test_key_cache_is_bounded():
    cache = shops._TtlCache(60.0, max_entries=100)
    for i in range(1000):
        cache.put(("scope", "key", str(i)), None)
    assert len(cache) == 100
    assert cache.get(("scope", "key", "999")) is None  # newest kept
    assert cache.get(("scope", "key", "0")) is shops._MISSING  # oldest evicted


def test_customer_token_reads_one_customer_until_it_expires(aws, manual_clock):
    shops.create_shop(aws, "shop-a", name="A")
    tokens = CustomerTokens(signing_secret(aws.settings, aws.secretsmanager))
    token, claim = tokens.mint("shop-a", "u1", ttl_seconds=600)

    assert claim.expires_at == T0 + timedelta(seconds=600)
    assert authenticate_customer(aws, bearer(token), "u1") == "shop-a"
    with pytest.raises(Forbidden, match="another customer"):
        authenticate_customer(aws, bearer(token), "u2")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(Unauthorized):
        authenticate_customer(aws, bearer(tampered), "u1")
    manual_clock.advance(timedelta(seconds=601))
    with pytest.raises(Unauthorized, match="expired"):
        authenticate_customer(aws, bearer(token), "u1")


def test_shops_cli_round_trip(aws, manual_clock):
    runner = CliRunner()
    created = runner.invoke(app, ["shops", "create", "tea-shop", "--name", "Tea", "--stack", "kaeri"])
    assert created.exit_code == 0, created.output
    keys = json.loads(created.output)
    assert keys["shopify_webhook_url"].endswith("/v1/webhooks/shopify/{topic}?shop=tea-shop")
    assert shops.get_shop(aws, "tea-shop").webhook_secret == keys["webhook_secret"]
    assert authenticate(aws, basic(keys["write_key"])) == "tea-shop"

    again = runner.invoke(app, ["shops", "create", "tea-shop", "--name", "Tea", "--stack", "kaeri"])
    assert again.exit_code == 1 and "exists" in again.output

    listed = runner.invoke(app, ["shops", "list", "--stack", "kaeri"])
    assert "tea-shop\tTea" in listed.output

    rotated = runner.invoke(
        app, ["shops", "rotate-key", "tea-shop", "--kind", "server", "--grace", "0s", "--stack", "kaeri"]
    )
    assert rotated.exit_code == 0, rotated.output
    new_key = json.loads(rotated.output)["server_key"]
    assert authenticate_server(aws, basic(new_key)) == "tea-shop"
    with pytest.raises(Unauthorized):
        authenticate_server(aws, basic(keys["server_key"]))

    shown = json.loads(runner.invoke(app, ["shops", "show", "tea-shop", "--stack", "kaeri"]).output)
    assert shown["webhook_secret"] == "set" and keys["webhook_secret"] not in json.dumps(shown)
    assert sorted((k["kind"], k["active"]) for k in shown["keys"]) == [
        ("server", False),
        ("server", True),
        ("write", True),
    ]

    deleted = runner.invoke(app, ["shops", "delete", "tea-shop", "--yes", "--stack", "kaeri"])
    assert deleted.exit_code == 0, deleted.output
    with pytest.raises(Unauthorized):
        authenticate(aws, basic(keys["write_key"]))
    assert shops.get_shop(aws, "tea-shop") is None


def test_cli_refuses_a_stack_that_does_not_exist(aws):
    result = CliRunner().invoke(app, ["shops", "list", "--stack", "nope"])
    assert result.exit_code == 2 and "stack 'nope' not found" in result.output


def test_doctor_cli_names_each_problem_with_its_fix_and_exits_1(aws, manual_clock):
    shops.create_shop(aws, "shop-a", name="A", from_email="shop@unverified.example")

    result = CliRunner().invoke(app, ["doctor", "--no-probe", "--stack", "kaeri"])

    assert result.exit_code == 1, result.output
    assert "[ok  ] table events" in result.output
    assert "[FAIL] ses identity shop@unverified.example" in result.output
    assert "fix: aws sesv2 create-email-identity --email-identity unverified.example" in result.output
