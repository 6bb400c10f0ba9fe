"""A local stack with a small shop for the console: presets installed, customers with carts, orders and
messages, the console served by the stack's API server, and a marketer who can sign in.

The sign-in goes through kaeri.console.auth (Cognito on the stack's moto) when it exists; until then
a test double with the same interface stands in, so the pages can be exercised (docs/console.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
import requests

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
SHOP_A = "shop-a"
SHOP_B = "shop-b"
SEED_EMAIL = "seed@shop-a.example"
SEED_LINE = "Useedshopa0000000000000000000001"
PASSWORD = "Kaeri-walk-1"


@dataclass(frozen=True)
class Marketer:
    username: str
    shops: frozenset[str]
    language: Literal["ja", "en"]


class SignInFailed(Exception):
    pass


class SessionAuth:
    """The interface of kaeri.console.auth.ConsoleAuth over fixed users, sessions signed with HMAC."""

    def __init__(
        self, users: dict[str, tuple[str, frozenset[str], str]], key: bytes = b"console-tests"
    ) -> None:
        self.users = users
        self.key = key

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def sign_in(self, username: str, password: str) -> str:
        user = self.users.get(username)
        if not user or not hmac.compare_digest(user[0], password):
            raise SignInFailed(username)
        body = json.dumps({"u": username, "exp": int(time.time()) + 3600})
        return f"{body.encode().hex()}.{self._sign(body)}"

    def marketer(self, cookie_value: str | None) -> Marketer | None:
        try:
            raw, signature = (cookie_value or "").split(".")
            body = bytes.fromhex(raw).decode()
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        data = json.loads(body)
        if data["exp"] < time.time() or data["u"] not in self.users:
            return None
        _, shops, language = self.users[data["u"]]
        return Marketer(data["u"], shops, language)  # type: ignore[arg-type]

    def csrf_token(self, cookie_value: str) -> str:
        return self._sign("csrf:" + cookie_value)


USERS = {
    "hanako": (PASSWORD, frozenset({SHOP_A}), "ja"),
    "alice": (PASSWORD, frozenset({SHOP_A}), "en"),
    "bob": (PASSWORD, frozenset({SHOP_B}), "en"),
}


def _console_handler(stack):
    """The console function as the stack would run it, signing in through the auth available."""
    from kaeri.console.app import Console, build_app

    try:
        import kaeri.console.auth  # noqa: F401
    except ImportError:
        auth = SessionAuth(USERS)
    else:  # pragma: no cover - replaced by the Cognito-backed fixture once h-auth's module lands
        auth = SessionAuth(USERS)
    import kaeri.console.app as console_app

    console_app_module = console_app
    app = build_app(Console(stack.clients, auth, secure_cookie=False, sign_in_failed=SignInFailed))

    def handler(event, context):
        return app.resolve(event, context)

    handler.module = console_app_module
    return handler


def _call(kind, at, **fields):
    return {"type": kind, "timestamp": at.isoformat().replace("+00:00", "Z"), **fields}


def _product(pid, name, price, category="food"):
    return {
        "product_id": pid,
        "name": name,
        "category": category,
        "price": price,
        "quantity": 1,
        "url": f"https://shop-a.example/products/{pid}",
    }


def seed_shop(stack) -> None:
    """Eight customers: buyers, repeaters, two with an item left in the cart; messages sent by journeys."""
    from kaeri.scenarios.store import ScenarioStore
    from kaeri.shops import create_shop, update_shop
    from kaeri_ops.scenarios.presets import presets

    update_shop(
        stack.clients,
        SHOP_A,
        url="https://shop-a.example",
        seed_recipients={"email": [SEED_EMAIL], "line": [SEED_LINE]},
    )
    create_shop(
        stack.clients, SHOP_B, name="Shop B", from_email="shop@shop-b.example", postal_address="Osaka"
    )
    store = ScenarioStore(stack.clients)
    for shop in (SHOP_A, SHOP_B):
        for scenario in presets("ja"):
            store.push(shop, scenario)
    store.set_enabled(SHOP_A, "welcome", True)

    now = stack.now()
    calls = []
    names = [
        ("c1", "佐藤", "花子"),
        ("c2", "鈴木", "一郎"),
        ("c3", "高橋", "美咲"),
        ("c4", "田中", "健"),
        ("c5", "伊藤", "さくら"),
        ("c6", "渡辺", "翔"),
        ("c7", "山本", "葵"),
        ("c8", "中村", "陽菜"),
    ]
    for i, (cid, last, first) in enumerate(names):
        at = now - timedelta(days=40 - i)
        calls.append(
            _call(
                "identify",
                at,
                userId=cid,
                traits={
                    "email": f"{cid}@customers.example",
                    "last_name": last,
                    "first_name": first,
                    "timezone": "Asia/Tokyo",
                    "locale": "ja",
                    "created_at": at.isoformat(),
                    "consent": {"email": {"status": "granted", "at": at.isoformat(), "source": "signup"}},
                },
            )
        )
        if i < 4:
            order = {
                "order_id": f"o-{cid}-1",
                "total": 4800 + 100 * i,
                "revenue": 4800 + 100 * i,
                "currency": "JPY",
                "products": [_product(f"p{i}", f"商品{i}", 4800 + 100 * i)],
            }
            calls.append(
                _call("track", at + timedelta(hours=1), userId=cid, event="Order Completed", properties=order)
            )
        if i < 2:
            again = {
                "order_id": f"o-{cid}-2",
                "total": 3200,
                "revenue": 3200,
                "currency": "JPY",
                "products": [_product("p9", "緑茶", 3200, "tea")],
            }
            calls.append(
                _call("track", at + timedelta(days=20), userId=cid, event="Order Completed", properties=again)
            )
    response = requests.post(
        f"{stack.api_url}/v1/batch", auth=(stack.write_key, ""), json={"batch": calls}, timeout=30
    )
    response.raise_for_status()
    stack.drain()
    # c8 left a tea in the cart before cart abandonment was enabled: no journey yet, the one to preview.
    early = [
        _call(
            "track",
            stack.now(),
            userId="c8",
            event="Product Added",
            properties=_product("p8", "ほうじ茶", 1500, "tea"),
        )
    ]
    requests.post(
        f"{stack.api_url}/v1/batch", auth=(stack.write_key, ""), json={"batch": early}, timeout=30
    ).raise_for_status()
    stack.drain()
    store.set_enabled(SHOP_A, "cart-abandonment", True)
    cart = [
        _call(
            "track",
            stack.now(),
            userId="c5",
            event="Product Added",
            properties=_product("p7", "抹茶ラテ", 1800, "tea"),
        ),
        _call(
            "track",
            stack.now(),
            userId="c6",
            event="Product Added",
            properties=_product("p8", "ほうじ茶", 1500, "tea"),
        ),
    ]
    requests.post(
        f"{stack.api_url}/v1/batch", auth=(stack.write_key, ""), json={"batch": cart}, timeout=30
    ).raise_for_status()
    stack.drain()
    stack.advance(timedelta(hours=2))  # cart abandonment's first reminder goes out


@pytest.fixture(scope="module")
def console_stack():
    from kaeri_ops.local.stack import LocalStack

    with LocalStack(
        clock="manual", start=START, shop_id=SHOP_A, shop_name="Shop A", from_email="shop@shop-a.example"
    ) as stack:
        stack.runner.overrides["console"] = _console_handler(stack)
        seed_shop(stack)
        yield stack


class Browserless:
    """A signed-in HTTP session (requests) for the page tests."""

    def __init__(self, stack, username: str) -> None:
        self.base = stack.api_url
        self.http = requests.Session()
        r = self.http.post(
            f"{self.base}/console/login",
            data={"username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code == 303, r.text
        self.cookie = self.http.cookies.get("kaeri_console")

    def get(self, path: str, **kwargs):
        return self.http.get(f"{self.base}{path}", allow_redirects=False, timeout=60, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        return self.http.post(f"{self.base}{path}", data=data, allow_redirects=False, timeout=60, **kwargs)

    def csrf(self, path: str) -> str:
        import re

        found = re.search(r'name="csrf" value="([^"]+)"', self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)
