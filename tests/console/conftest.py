"""A local stack with a small shop for the console: presets installed, customers with carts, orders and
messages, the console function served by the stack's API server, and marketers who sign in through
Cognito (moto's cognito-idp on the stack) with kaeri.console.auth, as a deployed stack does.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
import requests

START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # Monday 09:00 in Tokyo
SHOP_A = "shop-a"
SHOP_B = "shop-b"
SEED_EMAIL = "seed@shop-a.example"
SEED_LINE = "Useedshopa0000000000000000000001"
PASSWORD = "Kaeri-walk-1!"

# username -> (shops, Cognito locale)
MARKETERS = {"hanako": ((SHOP_A,), "ja"), "alice": ((SHOP_A,), "en"), "bob": ((SHOP_B,), "en")}


def console_pool(stack) -> dict[str, str]:
    """The console's user pool and app client on the stack's moto (the one definition, as the stack and
    the CDK app use), and its marketers; the settings env."""
    from kaeri_ops.console_users import ConsoleUsers, create_pool

    idp = stack.clients.client("cognito-idp")
    pool = create_pool(idp, "kaeri-console-tests")
    users = ConsoleUsers(idp, pool.user_pool_id)
    for username, (shops, locale) in MARKETERS.items():
        users.add(
            username, list(shops), email=f"{username}@marketers.example", language=locale, password=PASSWORD
        )
    return {"KAERI_CONSOLE_USER_POOL_ID": pool.user_pool_id, "KAERI_CONSOLE_CLIENT_ID": pool.client_id}


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
    from kaeri.settings import get_settings
    from kaeri_ops.local.stack import EmbeddedStack

    with EmbeddedStack(
        clock="manual", start=START, shop_id=SHOP_A, shop_name="Shop A", from_email="shop@shop-a.example"
    ) as stack:
        env = console_pool(stack)
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        get_settings.cache_clear()  # the console function reads them when it first starts
        try:
            seed_shop(stack)
            yield stack
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_settings.cache_clear()


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
