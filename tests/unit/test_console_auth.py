"""Console sign-in against moto's Cognito: who gets a session, and which shops it opens."""

from __future__ import annotations

import base64
import contextlib
import json

import boto3
import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto import mock_aws

from kaeri.console.auth import (
    SESSION_COOKIE,
    Challenge,
    ConsoleAuth,
    Marketer,
    SignInFailed,
    Tokens,
    cleared_session_cookie,
    default_jwks_url,
    session_cookie,
    shop_group,
)

REGION = "ap-northeast-1"
PASSWORD = "Correct-horse-42!"


def _fetch(url: str) -> dict:
    # moto answers Cognito's JWKS URL for requests made with `requests` inside mock_aws.
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


def _pool(idp, name: str = "kaeri-console") -> tuple[str, str]:
    from kaeri_ops.console_users import create_pool

    created = create_pool(idp, name)  # the one definition of the console's pool and client
    return created.user_pool_id, created.client_id


def _user(idp, pool: str, username: str, *shops: str, locale: str | None = None) -> None:
    attributes = [{"Name": "email", "Value": f"{username}@shop.example"}]
    if locale:
        attributes.append({"Name": "locale", "Value": locale})
    idp.admin_create_user(
        UserPoolId=pool, Username=username, UserAttributes=attributes, MessageAction="SUPPRESS"
    )
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    for shop in shops:
        with contextlib.suppress(idp.exceptions.GroupExistsException):
            idp.create_group(UserPoolId=pool, GroupName=shop_group(shop))
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=shop_group(shop))


@pytest.fixture
def cognito():
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name=REGION)
        pool, client = _pool(idp)
        yield idp, pool, client


def _auth(idp, pool, client, **kwargs) -> ConsoleAuth:
    return ConsoleAuth(
        idp,
        pool,
        client,
        jwks_url=default_jwks_url(pool),
        fetch_json=_fetch,
        signing_secret="s3cret",
        **kwargs,
    )


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_sign_in_gives_a_session_for_the_users_shops_and_language(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop", "second-shop")
    _user(idp, pool, "ben", "demo-shop", locale="en-US")
    auth = _auth(idp, pool, client)

    aiko = auth.marketer(auth.sign_in("aiko", PASSWORD))
    ben = auth.marketer(auth.sign_in("ben", PASSWORD))

    assert aiko == Marketer("aiko", frozenset({"demo-shop", "second-shop"}), "ja")
    assert ben == Marketer("ben", frozenset({"demo-shop"}), "en")
    assert ben.member_of("demo-shop") and not ben.member_of("second-shop")


def test_groups_that_are_not_shop_groups_open_no_shop(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko")
    idp.create_group(UserPoolId=pool, GroupName="admins")
    idp.admin_add_user_to_group(UserPoolId=pool, Username="aiko", GroupName="admins")
    auth = _auth(idp, pool, client)

    assert auth.marketer(auth.sign_in("aiko", PASSWORD)).shops == frozenset()


@pytest.mark.parametrize(("username", "password"), [("aiko", "wrong-password-1!"), ("nobody", PASSWORD)])
def test_wrong_password_or_unknown_user_is_refused_alike(cognito, username, password):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)

    with pytest.raises(SignInFailed, match="wrong username or password"):
        auth.sign_in(username, password)


def test_a_user_with_a_temporary_password_is_told_what_to_do(cognito):
    idp, pool, client = cognito
    idp.admin_create_user(
        UserPoolId=pool, Username="new", TemporaryPassword="Temp-pass-123!", MessageAction="SUPPRESS"
    )
    with pytest.raises(SignInFailed, match="temporary password"):
        _auth(idp, pool, client).sign_in("new", "Temp-pass-123!")


def test_a_temporary_password_is_replaced_through_the_new_password_challenge(cognito):
    idp, pool, client = cognito
    idp.admin_create_user(
        UserPoolId=pool, Username="new", TemporaryPassword="Temp-pass-123!", MessageAction="SUPPRESS"
    )
    idp.create_group(UserPoolId=pool, GroupName=shop_group("demo-shop"))
    idp.admin_add_user_to_group(UserPoolId=pool, Username="new", GroupName=shop_group("demo-shop"))
    auth = _auth(idp, pool, client)

    challenge = auth.authenticate("new", "Temp-pass-123!")
    assert isinstance(challenge, Challenge) and challenge.name == "NEW_PASSWORD_REQUIRED"
    assert challenge.username == "new" and challenge.session
    with pytest.raises(SignInFailed):
        auth.answer(challenge, "")
    tokens = auth.answer(challenge, "Brand-new-pass-9!")
    assert isinstance(tokens, Tokens) and tokens.refresh_token
    assert auth.marketer(tokens.id_token).shops == frozenset({"demo-shop"})
    # The new password is the password now; the temporary one is not.
    assert auth.marketer(auth.sign_in("new", "Brand-new-pass-9!")) is not None
    with pytest.raises(SignInFailed, match="wrong username or password"):
        auth.sign_in("new", "Temp-pass-123!")


def test_an_authenticator_user_signs_in_with_the_current_code_only(cognito, monkeypatch):
    import time

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")  # moto checks the code
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    access = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "aiko", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=access)["SecretCode"]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    app = TOTP(key, 6, SHA1(), 30, enforce_key_length=False)  # the marketer's authenticator app
    idp.verify_software_token(AccessToken=access, UserCode=app.generate(time.time()).decode())
    idp.admin_set_user_mfa_preference(
        UserPoolId=pool, Username="aiko", SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )

    challenge = auth.authenticate("aiko", PASSWORD)
    assert isinstance(challenge, Challenge) and challenge.name == "SOFTWARE_TOKEN_MFA"
    wrong = "000000" if app.generate(time.time()).decode() != "000000" else "111111"
    with pytest.raises(SignInFailed, match="code is not right"):
        auth.answer(challenge, wrong)
    challenge = auth.authenticate("aiko", PASSWORD)
    tokens = auth.answer(challenge, app.generate(time.time()).decode())
    assert isinstance(tokens, Tokens)
    assert auth.marketer(tokens.id_token).shops == frozenset({"demo-shop"})


def test_the_refresh_token_renews_an_expired_session_until_sign_out_revokes_it(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    tokens = auth.authenticate("aiko", PASSWORD)
    assert isinstance(tokens, Tokens) and tokens.refresh_token

    later = _auth(idp, pool, client, clock=lambda: _claims(tokens.id_token)["exp"] + 60)
    assert later.marketer(tokens.id_token) is None  # the ID token has expired
    renewed = auth.refresh(tokens.refresh_token)
    assert renewed and auth.marketer(renewed).shops == frozenset({"demo-shop"})
    assert auth.refresh("not-a-refresh-token") is None
    assert auth.refresh(None) is None

    auth.sign_out(tokens.refresh_token)
    assert auth.refresh(tokens.refresh_token) is None
    auth.sign_out(tokens.refresh_token)  # a revoked token signs out quietly


def test_an_expired_session_is_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    cookie = _auth(idp, pool, client).sign_in("aiko", PASSWORD)
    expires = _claims(cookie)["exp"]

    just_before = _auth(idp, pool, client, clock=lambda: expires - 5)
    after = _auth(idp, pool, client, clock=lambda: expires + 1)

    assert just_before.marketer(cookie) is not None
    assert after.marketer(cookie) is None


def test_a_token_signed_with_another_key_is_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    genuine = _claims(auth.sign_in("aiko", PASSWORD))
    forged_claims = {**genuine, "cognito:groups": [shop_group("demo-shop"), shop_group("other-shop")]}
    key = RSAKey.generate_key(2048, parameters={"kid": "dummy"})  # moto's key id, not its key

    forged = jwt.encode({"alg": "RS256", "kid": "dummy"}, forged_claims, key)

    assert auth.marketer(forged) is None


def test_a_tampered_payload_is_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    header, payload, signature = auth.sign_in("aiko", PASSWORD).split(".")
    claims = _claims(f"{header}.{payload}.{signature}")
    claims["cognito:groups"].append(shop_group("other-shop"))
    widened = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    assert auth.marketer(f"{header}.{widened}.{signature}") is None


def test_an_unsigned_token_is_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    claims = _claims(auth.sign_in("aiko", PASSWORD))

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    assert auth.marketer(f"{part({'alg': 'none', 'kid': 'dummy'})}.{part(claims)}.") is None


def test_a_token_of_another_pool_or_another_client_is_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    other_pool, other_pool_client = _pool(idp, "someone-elses-pool")
    _user(idp, other_pool, "aiko", "demo-shop")
    other_client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="another-app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    auth = _auth(idp, pool, client)

    # moto signs every pool's tokens with one key, so only the issuer check tells these apart.
    from_other_pool = _auth(idp, other_pool, other_pool_client).sign_in("aiko", PASSWORD)
    for_other_client = _auth(idp, pool, other_client).sign_in("aiko", PASSWORD)

    assert auth.marketer(from_other_pool) is None
    assert auth.marketer(for_other_client) is None


def test_an_access_token_is_not_a_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    access = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "aiko", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]

    assert _auth(idp, pool, client).marketer(access) is None


@pytest.mark.parametrize("cookie", [None, "", "not-a-jwt", "a.b.c", "x" * 20_000])
def test_garbage_is_no_session(cognito, cookie):
    idp, pool, client = cognito
    assert _auth(idp, pool, client).marketer(cookie) is None


def test_keys_are_fetched_once_and_kept(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    fetched: list[str] = []

    def counting(url: str) -> dict:
        fetched.append(url)
        return _fetch(url)

    auth = ConsoleAuth(
        idp, pool, client, jwks_url=default_jwks_url(pool), fetch_json=counting, signing_secret="s"
    )
    cookie = auth.sign_in("aiko", PASSWORD)
    for _ in range(5):
        assert auth.marketer(cookie) is not None

    assert fetched == [f"https://cognito-idp.{REGION}.amazonaws.com/{pool}/.well-known/jwks.json"]


def test_no_keys_means_no_session(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    cookie = _auth(idp, pool, client).sign_in("aiko", PASSWORD)

    def unreachable(url: str) -> dict:
        raise OSError("connection refused")

    auth = ConsoleAuth(
        idp, pool, client, jwks_url=default_jwks_url(pool), fetch_json=unreachable, signing_secret="s"
    )
    assert auth.marketer(cookie) is None


def test_csrf_token_is_bound_to_the_session_and_the_stack(cognito):
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    auth = _auth(idp, pool, client)
    first = auth.sign_in("aiko", PASSWORD)
    second = auth.sign_in("aiko", PASSWORD)  # another token (its own jti)
    other_stack = ConsoleAuth(idp, pool, client, jwks_url="https://x", signing_secret="another-secret")

    token = auth.csrf_token(first)

    assert auth.csrf_valid(first, token)
    assert not auth.csrf_valid(second, token)
    assert not auth.csrf_valid(first, other_stack.csrf_token(first))
    assert not auth.csrf_valid(first, None) and not auth.csrf_valid(None, token)


def test_session_cookie_attributes():
    cookie = session_cookie("tok", secure=True)
    assert cookie.startswith(f"{SESSION_COOKIE}=tok;")
    assert {"Path=/console", "HttpOnly", "Secure", "SameSite=Lax"} <= set(cookie.split("; "))
    assert "Secure" not in session_cookie("tok", secure=False).split("; ")
    assert "Max-Age=0" in cleared_session_cookie(secure=True)


def test_the_console_calls_only_operations_that_need_no_iam_grant(cognito):
    # kaeri_ops.definitions.access gives the console role no cognito-idp action: keep it that way.
    idp, pool, client = cognito
    _user(idp, pool, "aiko", "demo-shop")
    idp.admin_create_user(UserPoolId=pool, Username="new", TemporaryPassword="Temp-pass-123!")
    called: list[str] = []
    idp.meta.events.register(
        "before-call.cognito-identity-provider", lambda model, **_: called.append(model.name)
    )
    auth = _auth(idp, pool, client)

    auth.marketer(auth.sign_in("aiko", PASSWORD))
    with pytest.raises(SignInFailed):
        auth.sign_in("aiko", "wrong-password-1!")
    tokens = auth.authenticate("aiko", PASSWORD)
    auth.refresh(tokens.refresh_token)
    auth.sign_out(tokens.refresh_token)
    auth.answer(auth.authenticate("new", "Temp-pass-123!"), "Brand-new-pass-9!")

    assert set(called) == {"InitiateAuth", "GlobalSignOut", "RespondToAuthChallenge"}
    assert all(idp.meta.service_model.operation_model(name).auth_type == "none" for name in called)
