"""The console's sign-in steps and session over its routes, against moto's Cognito: the new-password
and authenticator-code pages, the refresh cookie keeping a marketer signed in, and sign-out revoking it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import boto3
import pytest
import requests

from kaeri.console.app import Console, build_app
from kaeri.console.auth import REFRESH_COOKIE, SESSION_COOKIE, ConsoleAuth, default_jwks_url
from kaeri_ops.console_users import ConsoleUsers, create_pool

SHOP = "shop-a"
PASSWORD = "Session-check-42!"


def _fetch(url: str) -> dict:
    return requests.get(url, timeout=5).json()


@pytest.fixture
def pool(aws):
    idp = boto3.client("cognito-idp", region_name=aws.settings.region)
    created = create_pool(idp, "kaeri-console")
    ConsoleUsers(idp, created.user_pool_id).add("anna", [SHOP], password=PASSWORD)
    return idp, created


def _app(aws, pool, *, secure: bool = False, clock=None):
    idp, created = pool
    kwargs = {"clock": clock} if clock else {}
    auth = ConsoleAuth(
        idp,
        created.user_pool_id,
        created.client_id,
        jwks_url=default_jwks_url(created.user_pool_id),
        fetch_json=_fetch,
        signing_secret="session",
        **kwargs,
    )
    return build_app(Console(aws, auth, secure_cookie=secure)), auth


def _call(
    app,
    method: str,
    path: str,
    cookies: dict[str, str] | None = None,
    form: dict | None = None,
    host: str = "console.test",
) -> dict:
    headers = {"host": host, "content-type": "application/x-www-form-urlencoded"}
    if cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    event = {
        "resource": "/console/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.removeprefix("/console/")},
        "requestContext": {"stage": "prod", "path": f"/prod{path}", "httpMethod": method, "requestId": "r"},
        "body": urlencode(form or {}),
        "isBase64Encoded": False,
    }
    return app.resolve(event, {})


def _set_cookies(response: dict) -> dict[str, str]:
    """Each Set-Cookie of a response by cookie name (the whole header value)."""
    values = (response.get("multiValueHeaders") or {}).get("Set-Cookie", [])
    return {v.split("=", 1)[0]: v for v in values}


def _value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def _hidden(body: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', body)
    assert found, f"no hidden {name} field"
    return found.group(1)


def test_a_temporary_password_leads_to_the_new_password_page_and_then_in(aws, pool):
    idp, created = pool
    ConsoleUsers(idp, created.user_pool_id).add("newbie", [SHOP], password="Temp-pass-1234!")
    idp.admin_set_user_password(
        UserPoolId=created.user_pool_id, Username="newbie", Password="Temp-pass-1234!", Permanent=False
    )
    app, _ = _app(aws, pool)

    r = _call(app, "POST", "/console/login", form={"username": "newbie", "password": "Temp-pass-1234!"})
    assert r["statusCode"] == 200 and 'name="new_password"' in r["body"]
    assert not _set_cookies(r)
    fields = {
        "challenge": "NEW_PASSWORD_REQUIRED",
        "username": "newbie",
        "session": _hidden(r["body"], "session"),
    }

    r = _call(
        app,
        "POST",
        "/console/login/challenge",
        form={**fields, "new_password": "Brand-new-pass-9!", "confirm_password": "other-Pass-9!x"},
    )
    assert r["statusCode"] == 400 and "一致しません" in r["body"]
    r = _call(
        app,
        "POST",
        "/console/login/challenge",
        form={**fields, "new_password": "short", "confirm_password": "short"},
    )
    # Cognito's refusal is shown in the page's language, not as the pool's English message.
    assert r["statusCode"] == 401 and "条件を満たしていません" in r["body"]

    r = _call(
        app,
        "POST",
        "/console/login/challenge",
        form={**fields, "new_password": "Brand-new-pass-9!", "confirm_password": "Brand-new-pass-9!"},
    )
    assert r["statusCode"] == 303, r["body"]
    cookies = _set_cookies(r)
    assert SESSION_COOKIE in cookies and REFRESH_COOKIE in cookies
    page = _call(app, "GET", f"/console/shops/{SHOP}", {SESSION_COOKIE: _value(cookies[SESSION_COOKIE])})
    assert page["statusCode"] == 200
    # The new password is the password from now on.
    again = _call(app, "POST", "/console/login", form={"username": "newbie", "password": "Brand-new-pass-9!"})
    assert again["statusCode"] == 303


def test_a_forged_challenge_session_is_sent_back_to_sign_in(aws, pool):
    app, _ = _app(aws, pool)
    form = {"challenge": "SOFTWARE_TOKEN_MFA", "username": "anna", "session": "forged", "code": "123456"}
    r = _call(app, "POST", "/console/login/challenge", form=form)
    assert r["statusCode"] == 400 and not _set_cookies(r)
    r = _call(app, "POST", "/console/login/challenge", form={**form, "session": "f" * 40})
    assert r["statusCode"] == 401 and not _set_cookies(r)
    assert "期限切れ" in r["body"]
    r = _call(app, "POST", "/console/login/challenge", form={**form, "challenge": "ADMIN_NO_SRP_AUTH"})
    assert r["statusCode"] == 400 and not _set_cookies(r)


@pytest.mark.parametrize("secure", [False, True])
def test_the_refresh_cookie_is_http_only_strict_and_scoped_to_the_console(aws, pool, secure):
    app, _ = _app(aws, pool, secure=secure)
    r = _call(app, "POST", "/console/login", form={"username": "anna", "password": PASSWORD})
    assert r["statusCode"] == 303
    attributes = {a.strip() for a in _set_cookies(r)[REFRESH_COOKIE].split(";")[1:]}
    assert {"Path=/console", "HttpOnly", "SameSite=Strict"} <= attributes
    assert ("Secure" in attributes) is secure
    session_attributes = {a.strip() for a in _set_cookies(r)[SESSION_COOKIE].split(";")[1:]}
    assert ("Secure" in session_attributes) is secure


def test_an_expired_session_is_renewed_with_the_refresh_cookie_until_sign_out(aws, pool):
    app, auth = _app(aws, pool)
    r = _call(app, "POST", "/console/login", form={"username": "anna", "password": PASSWORD})
    id_token = _value(_set_cookies(r)[SESSION_COOKIE])
    refresh = _value(_set_cookies(r)[REFRESH_COOKIE])
    # Stand-ins for an ID token past its hour (auth's own tests cover expiry by the clock): one whose
    # signature no longer verifies, and none at all (the browser dropped it).
    stale = id_token[:-6] + ("AAAAAA" if not id_token.endswith("AAAAAA") else "BBBBBB")
    assert auth.marketer(stale) is None

    assert _call(app, "GET", f"/console/shops/{SHOP}", {SESSION_COOKIE: stale})["statusCode"] == 303
    for cookies in ({SESSION_COOKIE: stale, REFRESH_COOKIE: refresh}, {REFRESH_COOKIE: refresh}):
        r = _call(app, "GET", f"/console/shops/{SHOP}", cookies)
        assert r["statusCode"] == 200, cookies
        renewed = _set_cookies(r)[SESSION_COOKIE]
        assert auth.marketer(_value(renewed)).shops == frozenset({SHOP}) and "HttpOnly" in renewed
    # A form rendered before the renewal still posts (it carries the old session's CSRF token).
    posted = _call(
        app,
        "POST",
        f"/console/shops/{SHOP}/scenarios/welcome/enabled",
        {SESSION_COOKIE: stale, REFRESH_COOKIE: refresh},
        {"csrf": auth.csrf_token(stale), "enabled": "0"},
    )
    assert posted["statusCode"] != 400, posted["body"]
    forged = _call(
        app,
        "POST",
        f"/console/shops/{SHOP}/scenarios/welcome/enabled",
        {SESSION_COOKIE: stale, REFRESH_COOKIE: refresh},
        {"csrf": auth.csrf_token("someone-else"), "enabled": "0"},
    )
    assert forged["statusCode"] == 400

    out = _call(app, "POST", "/console/logout", {SESSION_COOKIE: id_token, REFRESH_COOKIE: refresh})
    assert out["statusCode"] == 303
    cleared = _set_cookies(out)
    assert "Max-Age=0" in cleared[SESSION_COOKIE] and "Max-Age=0" in cleared[REFRESH_COOKIE]
    # Revoked at Cognito: the refresh token no longer opens a session, even if the browser kept it.
    r = _call(app, "GET", f"/console/shops/{SHOP}", {SESSION_COOKIE: stale, REFRESH_COOKIE: refresh})
    assert r["statusCode"] == 303 and r["multiValueHeaders"]["Location"] == ["/console/login"]


EXECUTE_API = "a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com"


def _links(body: str) -> list[str]:
    return re.findall(r'(?:href|action|src)="([^"#]+)"', body)


def _staged(link: str) -> bool:
    return link == "/prod/console" or link.startswith(("/prod/console/", "/prod/console?"))


def test_through_execute_apis_url_every_link_redirect_and_cookie_carries_the_stage(aws, pool):
    app, _ = _app(aws, pool, secure=True)

    r = _call(app, "GET", f"/console/shops/{SHOP}", host=EXECUTE_API)
    assert r["statusCode"] == 303 and r["multiValueHeaders"]["Location"] == ["/prod/console/login"]
    login = _call(app, "GET", "/console/login", host=EXECUTE_API)
    assert _links(login["body"]) and all(_staged(link) for link in _links(login["body"]))

    r = _call(
        app, "POST", "/console/login", form={"username": "anna", "password": PASSWORD}, host=EXECUTE_API
    )
    assert r["multiValueHeaders"]["Location"] == ["/prod/console"]
    cookies = _set_cookies(r)
    assert "Path=/prod/console" in cookies[SESSION_COOKIE] and "Path=/prod/console" in cookies[REFRESH_COOKIE]
    session = {SESSION_COOKIE: _value(cookies[SESSION_COOKIE])}

    r = _call(app, "GET", "/console", session, host=EXECUTE_API)
    assert r["multiValueHeaders"]["Location"] == [f"/prod/console/shops/{SHOP}"]
    for path in (
        f"/console/shops/{SHOP}",
        f"/console/shops/{SHOP}/templates",
        f"/console/shops/{SHOP}/scenarios/missing",  # the 404 page
        f"/console/shops/{SHOP}/report",
    ):
        body = _call(app, "GET", path, session, host=EXECUTE_API)["body"]
        links = [link for link in _links(body) if link.startswith("/")]
        assert links and all(_staged(link) for link in links), (path, links)

    out = _call(app, "POST", "/console/logout", session, host=EXECUTE_API)
    assert out["multiValueHeaders"]["Location"] == ["/prod/console/login"]
    assert "Path=/prod/console" in _set_cookies(out)[SESSION_COOKIE]


def test_on_a_custom_domain_the_console_is_at_the_root(aws, pool):
    app, _ = _app(aws, pool, secure=True)
    r = _call(
        app,
        "POST",
        "/console/login",
        form={"username": "anna", "password": PASSWORD},
        host="crm.shop.example",
    )
    assert r["multiValueHeaders"]["Location"] == ["/console"]
    assert "Path=/console;" in _set_cookies(r)[SESSION_COOKIE] + ";"
