"""Who is signed in to the console, and which shops they may see.

A marketer signs in with the username and password of a user in the stack's Cognito user pool
(USER_PASSWORD_AUTH on an app client without secret). The session cookie holds the ID token Cognito
returns; every request verifies it again (RS256 signature by the pool's JWKS, issuer = the pool,
audience = the console's app client, token_use = id, not expired) so nothing about a session is kept
server-side. Shop membership is the token's `cognito:groups` claim: a group named `shop-<shop_id>` per
shop (Cognito puts the user's groups in the ID token, and moto does too), so no lookup per request;
the language is the user's `locale` attribute ("ja" unless it starts with "en").

Token expiry is judged by the wall clock (the issuer's), never the local stack's manual clock: that
one moves simulated customers, not marketers. The ID token lasts an hour (the app client's setting);
the refresh token Cognito returns with it is kept in its own cookie (HttpOnly, SameSite=Strict, Secure
on HTTPS, Path=/console) and, once the ID token has expired, buys a new one with REFRESH_TOKEN_AUTH, so
the marketer stays signed in until the refresh token expires or is revoked (sign-out: GlobalSignOut).

Cognito may answer a password with a challenge instead of tokens: NEW_PASSWORD_REQUIRED (a user
created with a temporary password) and SOFTWARE_TOKEN_MFA (a user who turned on an authenticator app)
are answered with RespondToAuthChallenge (`authenticate` returns the Challenge, `answer` completes it).
Every call here is unsigned (no IAM policy applies), so the console's role holds no Cognito grant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kaeri.aws import ClientError

log = logging.getLogger(__name__)

SESSION_COOKIE = "kaeri_console"
REFRESH_COOKIE = "kaeri_console_refresh"
# How long the browser keeps the refresh cookie: the app client's refresh token validity.
REFRESH_TOKEN_HOURS = 12
COOKIE_PATH = "/console"
SHOP_GROUP_PREFIX = "shop-"
# A Cognito ID token is 1-2 KB; anything far larger is not one of ours (and is not worth parsing).
MAX_TOKEN_LENGTH = 8192
# Keys are re-read after this long, or sooner when a token names a key id we have not seen (Cognito
# rotates keys rarely); an unknown key id refetches at most once a minute.
JWKS_MAX_AGE = 3600.0
JWKS_MIN_REFRESH = 60.0

Language = Literal["ja", "en"]


@dataclass(frozen=True)
class Marketer:
    username: str
    shops: frozenset[str]
    language: Language = "ja"

    def member_of(self, shop_id: str) -> bool:
        return shop_id in self.shops


class SignInFailed(Exception):
    """Sign-in refused; the message is safe to show on the sign-in page (it names no account). `key`
    names the console catalog's text for it (kaeri.console.i18n), so pages show it in their language."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class ChallengeRequired(SignInFailed):
    """`sign_in` met a challenge: the console's sign-in page answers it with `authenticate`/`answer`."""


ChallengeName = Literal["NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA"]
CHALLENGES: tuple[ChallengeName, ...] = ("NEW_PASSWORD_REQUIRED", "SOFTWARE_TOKEN_MFA")


@dataclass(frozen=True)
class Tokens:
    """A verified ID token (the session cookie) and the refresh token that renews it."""

    id_token: str
    refresh_token: str | None = None


@dataclass(frozen=True)
class Challenge:
    """What Cognito asks before it issues tokens; `session` is Cognito's opaque challenge session."""

    name: ChallengeName
    username: str
    session: str


def shop_group(shop_id: str) -> str:
    """The Cognito group whose members may use a shop in the console."""
    return f"{SHOP_GROUP_PREFIX}{shop_id}"


def shops_of(groups: object) -> frozenset[str]:
    if not isinstance(groups, list):
        return frozenset()
    return frozenset(
        g[len(SHOP_GROUP_PREFIX) :]
        for g in groups
        if isinstance(g, str) and g.startswith(SHOP_GROUP_PREFIX) and len(g) > len(SHOP_GROUP_PREFIX)
    )


def language_of(locale: object) -> Language:
    return "en" if isinstance(locale, str) and locale.lower().startswith("en") else "ja"


def issuer_of(user_pool_id: str) -> str:
    """The `iss` of the pool's tokens (the pool id starts with its region: ap-northeast-1_AbC...)."""
    region = user_pool_id.split("_", 1)[0]
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def default_jwks_url(user_pool_id: str, endpoint_url: str | None = None) -> str:
    """Cognito's JWKS for the pool; moto serves the same path on its own endpoint."""
    base = endpoint_url.rstrip("/") if endpoint_url else issuer_of(user_pool_id).rsplit("/", 1)[0]
    return f"{base}/{user_pool_id}/.well-known/jwks.json"


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"the JWKS URL must be http(s): {url!r}")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (scheme checked above)
        data = json.loads(response.read())
    if not isinstance(data, dict):
        raise ValueError(f"the JWKS at {url!r} is not a JSON object")
    return data


_REFUSALS = {
    "NotAuthorizedException": "wrong username or password",
    "UserNotFoundException": "wrong username or password",
    "UserNotConfirmedException": "this account is not confirmed yet: ask your administrator",
    "PasswordResetRequiredException": "this account needs a new password: ask your administrator",
}
_CHALLENGES = {
    "NEW_PASSWORD_REQUIRED": "this account still has its temporary password: choose a new one",
    "SOFTWARE_TOKEN_MFA": "enter the code of your authenticator app",
}
_ANSWER_REFUSALS = {
    "CodeMismatchException": "the code is not right: enter the current code of your authenticator app",
    "ExpiredCodeException": "the code has expired: enter the current one",
    "InvalidPasswordException": "the new password does not meet the pool's rules (12 characters or more, "
    "upper and lower case, digits and symbols)",
    "NotAuthorizedException": "this sign-in has expired: sign in again",
    "ResourceNotFoundException": "this sign-in has expired: sign in again",
}


class ConsoleAuth:
    def __init__(
        self,
        cognito_idp_client: Any,
        user_pool_id: str,
        client_id: str,
        *,
        jwks_url: str,
        clock: Callable[[], float] = time.time,
        signing_secret: str | Callable[[], str],
        fetch_json: Callable[[str], dict[str, Any]] = _fetch_json,
        jwks_max_age: float = JWKS_MAX_AGE,
    ) -> None:
        if not user_pool_id or not client_id or not jwks_url:
            raise ValueError("the console needs a user pool id, an app client id and a JWKS URL")
        self._cognito = cognito_idp_client
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.jwks_url = jwks_url
        self.issuer = issuer_of(user_pool_id)
        self._clock = clock
        # CSRF tokens are keyed by the stack's signing secret, so only this stack can mint them; the
        # secret is read on first use (no network call at import, and none for a page without a form).
        self._signing_secret = signing_secret
        self._csrf_key_value: bytes | None = None
        self._fetch = fetch_json
        self._max_age = jwks_max_age
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _csrf_key(self) -> bytes:
        if self._csrf_key_value is None:
            secret = self._signing_secret if isinstance(self._signing_secret, str) else self._signing_secret()
            if not secret:
                raise ValueError("the console's CSRF tokens need the stack's signing secret")
            self._csrf_key_value = hashlib.sha256(b"kaeri-console-csrf\0" + secret.encode()).digest()
        return self._csrf_key_value

    @classmethod
    def from_settings(cls, settings: Any, clients: Any) -> ConsoleAuth:
        """The console's auth for a stack: pool and client from settings (MissingSetting naming any that is
        not set), CSRF keyed by the stack's signing secret."""
        from kaeri.delivery.links import stack_signing_secret

        settings.require("console_user_pool_id", "console_client_id")  # the signing secret: at first use
        pool = settings.console_user_pool_id
        return cls(
            clients.client("cognito-idp"),
            pool,
            settings.console_client_id,
            jwks_url=settings.console_jwks_url or default_jwks_url(pool, settings.aws_endpoint_url),
            signing_secret=lambda: stack_signing_secret(clients),
        )

    # signing in ---------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> str:
        """The session cookie's value (the ID token) for a user's password; SignInFailed otherwise
        (ChallengeRequired when Cognito asks for a new password or an MFA code first)."""
        result = self.authenticate(username, password)
        if isinstance(result, Challenge):
            raise ChallengeRequired(_CHALLENGES[result.name])
        return result.id_token

    def authenticate(self, username: str, password: str) -> Tokens | Challenge:
        """USER_PASSWORD_AUTH: the tokens, or the challenge Cognito asks first; SignInFailed otherwise."""
        if not username or not password:
            raise SignInFailed("enter your username and password")
        try:
            answer = self._cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REFUSALS:
                raise SignInFailed(_REFUSALS[code]) from None
            raise
        return self._result(answer, username)

    def answer(self, challenge: Challenge, response: str) -> Tokens | Challenge:
        """Answer a challenge (the new password, or the authenticator code) with RespondToAuthChallenge."""
        if not response:
            raise SignInFailed(_CHALLENGES[challenge.name], key=f"challenge.needed.{challenge.name}")
        key = "NEW_PASSWORD" if challenge.name == "NEW_PASSWORD_REQUIRED" else "SOFTWARE_TOKEN_MFA_CODE"
        try:
            answer = self._cognito.respond_to_auth_challenge(
                ClientId=self.client_id,
                ChallengeName=challenge.name,
                Session=challenge.session,
                ChallengeResponses={"USERNAME": challenge.username, key: response},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _ANSWER_REFUSALS:
                raise SignInFailed(_ANSWER_REFUSALS[code], key=f"challenge.refused.{code}") from None
            raise
        return self._result(answer, challenge.username)

    def _result(self, answer: dict[str, Any], username: str) -> Tokens | Challenge:
        name = answer.get("ChallengeName")
        if name:
            if name not in CHALLENGES:
                raise SignInFailed(f"sign-in needs a step the console does not offer ({name})")
            who = (answer.get("ChallengeParameters") or {}).get("USERNAME") or username
            return Challenge(name, str(who), str(answer.get("Session") or ""))
        result = answer.get("AuthenticationResult", {})
        token = result.get("IdToken")
        if not token or self.marketer(token) is None:
            raise SignInFailed("the user pool answered with a token this console cannot verify")
        refresh = result.get("RefreshToken")
        return Tokens(str(token), str(refresh) if refresh else None)

    def refresh(self, refresh_token: str | None) -> str | None:
        """A new, verified ID token for a refresh token; None when it is refused (expired, revoked)."""
        if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
            return None
        try:
            answer = self._cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        except ClientError as exc:
            log.info("console refresh refused: %s", exc.response.get("Error", {}).get("Code"))
            return None
        token = answer.get("AuthenticationResult", {}).get("IdToken")
        return str(token) if token and self.marketer(token) is not None else None

    def sign_out(self, refresh_token: str | None) -> None:
        """Revoke the session at Cognito: GlobalSignOut with an access token the refresh token buys
        (the user's refresh tokens stop working everywhere). Best effort: the cookies are cleared anyway."""
        if not refresh_token or len(refresh_token) > MAX_TOKEN_LENGTH:
            return
        try:
            answer = self._cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
            access = answer.get("AuthenticationResult", {}).get("AccessToken")
            if access:
                self._cognito.global_sign_out(AccessToken=access)
        except ClientError as exc:
            log.info("console sign-out at Cognito refused: %s", exc.response.get("Error", {}).get("Code"))

    # every request ------------------------------------------------------------------------------

    def marketer(self, cookie_value: str | None) -> Marketer | None:
        """The signed-in marketer, or None when the cookie is missing, forged, expired or foreign."""
        if not cookie_value or len(cookie_value) > MAX_TOKEN_LENGTH:
            return None
        try:
            token = jwt.decode(cookie_value, self._key_set_for(cookie_value), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                now=lambda: int(self._clock()),
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                token_use={"essential": True, "value": "id"},
                exp={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            log.info("console session refused: %s", type(exc).__name__)
            return None
        claims = token.claims
        username = claims.get("cognito:username") or claims.get("sub")
        if not isinstance(username, str) or not username:
            return None
        return Marketer(
            username=username,
            shops=shops_of(claims.get("cognito:groups")),
            language=language_of(claims.get("locale")),
        )

    def csrf_token(self, cookie_value: str) -> str:
        """The token every state-changing form carries; bound to this session (and this stack)."""
        digest = hmac.new(self._csrf_key(), cookie_value.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def csrf_valid(self, cookie_value: str | None, token: str | None) -> bool:
        if not cookie_value or not token:
            return False
        return hmac.compare_digest(self.csrf_token(cookie_value), token)

    # keys ---------------------------------------------------------------------------------------

    def _key_set_for(self, token: str) -> KeySet:
        kid = _unverified_kid(token)
        with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at > self._max_age
            unknown = self._keys is not None and not _has_kid(self._keys, kid)
            if self._keys is None or stale or (unknown and now - self._fetched_at > JWKS_MIN_REFRESH):
                try:
                    self._keys = KeySet.import_key_set(self._fetch(self.jwks_url))  # type: ignore[arg-type]
                    self._fetched_at = now
                except Exception as exc:
                    log.warning("console JWKS %s could not be read: %s", self.jwks_url, exc)
                    if self._keys is None:
                        raise ValueError("no JWKS") from None
            return self._keys


def _unverified_kid(token: str) -> str | None:
    try:
        header = token.split(".", 1)[0]
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("not a JWT") from None
    kid = decoded.get("kid") if isinstance(decoded, dict) else None
    return kid if isinstance(kid, str) else None


def _has_kid(keys: KeySet, kid: str | None) -> bool:
    return any(key.kid == kid for key in keys.keys)


def session_cookie(value: str, *, secure: bool, max_age: int = 3600) -> str:
    """The Set-Cookie header value for a new session (Secure everywhere but local http)."""
    attributes = [f"{SESSION_COOKIE}={value}", f"Path={COOKIE_PATH}", f"Max-Age={max_age}", "HttpOnly"]
    if secure:
        attributes.append("Secure")
    attributes.append("SameSite=Lax")
    return "; ".join(attributes)


def cleared_session_cookie(*, secure: bool) -> str:
    """The Set-Cookie header value that signs the browser out."""
    return session_cookie("", secure=secure, max_age=0)
