"""The local stack's console pool: the demo marketer signs in, `kaeri console users` manages the rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from kaeri.console.auth import ConsoleAuth, SignInFailed
from kaeri.settings import get_settings
from kaeri_ops.cli import app
from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack():
    # A manual clock far from the wall clock: sessions still follow the wall clock.
    with EmbeddedStack(
        clock="manual", start=datetime(2025, 1, 6, 9, tzinfo=UTC), shop_id="shop-a"
    ) as running:
        yield running


@pytest.fixture
def kaeri(stack, tmp_path, monkeypatch):
    path = tmp_path / "local.json"
    path.write_text(json.dumps(stack.info()))
    monkeypatch.setenv("KAERI_LOCAL", str(path))
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, list(args))
        return result

    return run


def _auth(stack) -> ConsoleAuth:
    return ConsoleAuth.from_settings(get_settings(), stack.clients)


def test_the_demo_marketer_signs_in_to_the_demo_shop_with_the_password_in_local_json(stack):
    info = stack.info()
    auth = _auth(stack)

    marketer = auth.marketer(auth.sign_in(info["console_username"], info["console_password"]))

    assert info["console_url"] == f"{stack.api_url}/console"
    assert marketer is not None and marketer.shops == frozenset({"shop-a"}) and marketer.language == "ja"
    # The keys came over HTTP from moto's JWKS at Cognito's path.
    assert get_settings().console_jwks_url == (
        f"{stack.aws_endpoint_url}/{info['console_user_pool_id']}/.well-known/jwks.json"
    )


def test_users_add_list_and_remove_through_the_cli(stack, kaeri):
    added = kaeri(
        "console", "users", "add", "ben", "--shop", "shop-b", "--shop", "shop-c", "--language", "en"
    )
    assert added.exit_code == 0, added.output
    password = added.output.split("password: ", 1)[1].split()[0]
    auth = _auth(stack)
    assert auth.marketer(auth.sign_in("ben", password)).shops == frozenset({"shop-b", "shop-c"})

    listed = kaeri("console", "users", "list", "--shop", "shop-b", "--json")
    assert json.loads(listed.output) == [
        {"username": "ben", "shops": ["shop-b", "shop-c"], "language": "en", "email": None}
    ]
    everyone = kaeri("console", "users", "list")
    assert "demo-marketer" in everyone.output and "ben" in everyone.output

    left = kaeri("console", "users", "remove", "ben", "--shop", "shop-b")
    assert left.exit_code == 0, left.output
    assert auth.marketer(auth.sign_in("ben", password)).shops == frozenset({"shop-c"})
    assert "ben" not in kaeri("console", "users", "list", "--shop", "shop-b").output

    deleted = kaeri("console", "users", "remove", "ben")
    assert deleted.exit_code == 0 and "deleted" in deleted.output
    with pytest.raises(SignInFailed):
        auth.sign_in("ben", password)


def test_the_cli_refuses_what_the_pool_would_not_take(kaeri):
    weak = kaeri("console", "users", "add", "carla", "--shop", "shop-a", "--password", "short")
    assert weak.exit_code == 1 and "password" in weak.output.lower()
    assert "carla" not in kaeri("console", "users", "list").output  # nothing half-made

    no_shop = kaeri("console", "users", "add", "carla")
    assert no_shop.exit_code != 0 and "--shop" in no_shop.output

    bad_shop = kaeri("console", "users", "add", "carla", "--shop", "shop a/../b")
    assert bad_shop.exit_code == 1 and "shop id" in bad_shop.output

    unknown = kaeri("console", "users", "remove", "nobody")
    assert unknown.exit_code == 1 and "no console user 'nobody'" in unknown.output
