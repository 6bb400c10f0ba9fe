"""Tenancy: a marketer of shop A can neither read nor change shop B through any console route.

Every route the console app registers under /console/shops/<shop_id>/... is called with shop B's ids,
signed in through kaeri.console.auth against moto's Cognito (the real token check, the real groups).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import boto3
import pytest
import requests

from kaeri.console.app import Console, build_app
from kaeri.console.auth import SESSION_COOKIE, ConsoleAuth, default_jwks_url
from kaeri_ops.console_users import ConsoleUsers, create_pool

SHOP_A, SHOP_B = "shop-a", "shop-b"
PASSWORD = "Tenancy-check-42!"
SCENARIO = "cart-abandonment"
TEMPLATE = "cart-abandonment-1"


def _fetch(url: str) -> dict:
    return requests.get(url, timeout=5).json()


@pytest.fixture
def console(aws):
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.presets import presets

    idp = boto3.client("cognito-idp", region_name=aws.settings.region)
    pool = create_pool(idp, "kaeri-console")
    users = ConsoleUsers(idp, pool.user_pool_id)
    users.add("anna", [SHOP_A], password=PASSWORD)
    users.add("bert", [SHOP_B], password=PASSWORD)
    store = ScenarioStore(aws)
    for shop in (SHOP_A, SHOP_B):
        for scenario in presets("ja"):
            store.push(shop, scenario)
    auth = ConsoleAuth(
        idp,
        pool.user_pool_id,
        pool.client_id,
        jwks_url=default_jwks_url(pool.user_pool_id),
        fetch_json=_fetch,
        signing_secret="tenancy",
    )
    app = build_app(Console(aws, auth, secure_cookie=False))
    return app, auth, store


def _shop_routes(app) -> list[tuple[str, str]]:
    routes = [*app._static_routes, *app._dynamic_routes]
    found = sorted({(r.method, r.path) for r in routes if "<shop_id>" in r.path})
    assert found, "the console registers no shop route"
    return found


def _fill(path: str, shop: str) -> str:
    values = {"shop_id": shop, "scenario_id": SCENARIO, "template_id": TEMPLATE}
    filled = re.sub(r"<(\w+)>", lambda m: values.get(m.group(1), "x"), path)
    assert "<" not in filled, path
    return filled


def _call(app, method: str, path: str, cookie: str | None, form: dict[str, str] | None = None) -> dict:
    headers = {"host": "console.test", "content-type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["cookie"] = f"{SESSION_COOKIE}={cookie}"
    event = {
        "resource": "/console/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"customer": "u1", "version": "1"},
        "multiValueQueryStringParameters": {"customer": ["u1"], "version": ["1"]},
        "pathParameters": {"proxy": path.removeprefix("/console/")},
        "requestContext": {"stage": "prod", "path": path, "httpMethod": method, "requestId": "r"},
        "body": urlencode(form or {}),
        "isBase64Encoded": False,
    }
    return app.resolve(event, {})


def _state(store, shop: str) -> list:
    return sorted((s.id, s.version, s.enabled, tuple(store.versions(shop, s.id))) for s in store.list(shop))


def _methods(method: str) -> list[str]:
    return ["GET", "POST"] if method == "ANY" else [method]


def test_a_marketer_of_shop_a_gets_404_on_every_shop_b_route(console):
    app, auth, _ = console
    anna = auth.sign_in("anna", PASSWORD)
    bert = auth.sign_in("bert", PASSWORD)

    for method, path in _shop_routes(app):
        for verb in _methods(method):
            url = _fill(path, SHOP_B)
            form = {"csrf": auth.csrf_token(anna), "enabled": "true", "yaml": "id: x", "source": "x"}
            refused = _call(app, verb, url, anna, form)
            assert refused["statusCode"] == 404, (verb, url, refused["statusCode"])
            assert SHOP_B not in refused["body"] and SCENARIO not in refused["body"], (verb, url)
            if verb == "GET":
                # The same route answers B's own marketer: the 404 is the guard, not a missing page.
                own = _call(app, verb, url, bert)
                assert own["statusCode"] == 200, (verb, url, own["statusCode"], own["body"][:300])


def test_a_shop_b_path_for_something_that_does_not_exist_looks_the_same_to_anna(console):
    app, auth, _ = console
    anna = auth.sign_in("anna", PASSWORD)

    existing = _call(app, "GET", f"/console/shops/{SHOP_B}/scenarios/{SCENARIO}", anna)
    missing = _call(app, "GET", "/console/shops/no-such-shop/scenarios/no-such-scenario", anna)

    assert existing["statusCode"] == missing["statusCode"] == 404
    assert existing["body"] == missing["body"]


def test_posts_from_shop_a_change_nothing_in_shop_b(console):
    app, auth, store = console
    anna = auth.sign_in("anna", PASSWORD)
    before = _state(store, SHOP_B)

    for method, path in _shop_routes(app):
        if "POST" not in _methods(method):
            continue
        form = {
            "csrf": auth.csrf_token(anna),
            "enabled": "false",
            "yaml": f"id: {SCENARIO}\n",
            "source": "changed",
            "first_wait": "5m",
            "to": "seed@shop-b.example",
        }
        assert _call(app, "POST", _fill(path, SHOP_B), anna, form)["statusCode"] == 404

    assert _state(store, SHOP_B) == before


def test_without_a_session_every_shop_route_sends_to_sign_in(console):
    app, auth, _ = console
    for method, path in _shop_routes(app):
        for verb in _methods(method):
            for cookie in (None, "forged.token.value"):
                answer = _call(app, verb, _fill(path, SHOP_A), cookie, {"csrf": "x"})
                assert answer["statusCode"] == 303, (verb, path, answer["statusCode"])
                location = (
                    answer.get("headers", {}).get("Location") or answer["multiValueHeaders"]["Location"][0]
                )
                assert location.endswith("/console/login")


def test_a_post_to_ones_own_shop_needs_the_sessions_csrf_token(console):
    app, auth, store = console
    anna = auth.sign_in("anna", PASSWORD)
    other_session = auth.sign_in("anna", PASSWORD)
    before = _state(store, SHOP_A)
    url = f"/console/shops/{SHOP_A}/scenarios/{SCENARIO}/enabled"

    for token in ("", "guess", auth.csrf_token(other_session)):
        refused = _call(app, "POST", url, anna, {"csrf": token, "enabled": "1"})
        assert refused["statusCode"] == 400, token
    assert _state(store, SHOP_A) == before

    accepted = _call(app, "POST", url, anna, {"csrf": auth.csrf_token(anna), "enabled": "1"})
    assert accepted["statusCode"] == 303
    assert _state(store, SHOP_A) != before
