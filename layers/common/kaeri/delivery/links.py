"""Signed tokens for unsubscribe links and tracked redirects.

A token is `base64url(json payload).base64url(hmac-sha256)`. The payload names the shop, so a token
minted for one shop can never act on another, and the HMAC makes forging or editing one impossible
without the signing secret (the Secrets Manager secret named by settings.link_signing_secret_name).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

from kaeri.aws import SECRET_MAX_AGE, get_secret

TokenKind = Literal["u", "r", "c"]  # unsubscribe, redirect, customer (kaeri.tracking.tokens)
CHANNELS = ("email", "line", "sms")
MAX_URL_LENGTH = 2048


class InvalidToken(ValueError):
    """The token is malformed, forged, of the wrong kind, or for another shop."""


class UnsafeLink(ValueError):
    """A URL that must never become a tracked link or a redirect target."""


def check_link(url: Any) -> str:
    """The URL if it is a plain absolute http(s) URL; raises UnsafeLink otherwise.

    Refused: other schemes (javascript:, data:, mailto:), control characters and whitespace (CR/LF
    would inject response headers at the redirect), credentials in the authority
    (`https://shop.example@evil.example`), no host, and anything longer than 2,048 characters.
    """
    if not isinstance(url, str) or not url:
        raise UnsafeLink("not a URL")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeLink(f"URL longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise UnsafeLink("URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise UnsafeLink("URL does not parse") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeLink(f"only http(s) links, not {parts.scheme or 'a relative URL'}")
    if not host or "@" in parts.netloc or "\\" in url:
        raise UnsafeLink("URL has no plain host")
    return url


def link_host(url: str) -> str | None:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".") or None
    except ValueError:
        return None


@dataclass(frozen=True)
class LinkPolicy:
    """Where a shop's messages may link: its catalog's product URLs and its allowed domains.

    Event properties are written with the public write key (browser SDKs embed it), so a URL that
    arrived in an event is only used when its host is one of the shop's domains (or a subdomain).
    """

    domains: frozenset[str] = frozenset()
    catalog_urls: frozenset[str] = frozenset()

    @classmethod
    def for_shop(cls, shop: Any, catalog_urls: Any = ()) -> LinkPolicy:
        domains = {str(d).lower().strip().rstrip(".") for d in getattr(shop, "link_domains", None) or []}
        shop_url = getattr(shop, "url", None)
        if shop_url and (host := link_host(shop_url)):
            domains.add(host)
        return cls(frozenset(d for d in domains if d), frozenset(u for u in catalog_urls if u))

    def allows(self, url: Any) -> bool:
        try:
            check_link(url)
        except UnsafeLink:
            return False
        if url in self.catalog_urls:
            return True
        host = link_host(url)
        if not host:
            return False
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def keep(self, url: Any) -> str | None:
        """The URL if the shop may link there, else None (it is dropped from the message context)."""
        return url if self.allows(url) else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class UnsubscribeClaim:
    shop_id: str
    customer_id: str
    channel: str
    message_id: str | None = None


@dataclass(frozen=True)
class RedirectClaim:
    shop_id: str
    customer_id: str
    url: str
    message_id: str | None = None
    channel: str | None = None


class LinkSigner:
    """Mints and verifies tokens; the api_url is where /v1/u and /v1/r are served."""

    def __init__(self, secret: str | bytes, api_url: str) -> None:
        if not secret:
            raise ValueError("the link signing secret is empty")
        self._key = secret.encode() if isinstance(secret, str) else secret
        self.api_url = api_url.rstrip("/")

    def _sign(self, body: bytes, shop_id: str) -> str:
        # Each shop signs with its own key derived from the secret: a token can only ever speak for
        # the shop it was minted for, even if one shop's key leaked.
        shop_key = hmac.new(self._key, f"shop:{shop_id}".encode(), hashlib.sha256).digest()
        return _b64(hmac.new(shop_key, body, hashlib.sha256).digest()[:20])

    def mint(self, kind: TokenKind, payload: dict[str, Any]) -> str:
        body = json.dumps({"k": kind, **payload}, separators=(",", ":"), ensure_ascii=False).encode()
        return f"{_b64(body)}.{self._sign(body, payload['s'])}"

    def verify(self, kind: TokenKind, token: str) -> dict[str, Any]:
        try:
            body_text, signature = token.split(".", 1)
            body = _unb64(body_text)
        except (ValueError, TypeError) as exc:
            raise InvalidToken("malformed token") from exc
        try:
            payload = json.loads(body)
            shop_id = payload["s"] if isinstance(payload, dict) else None
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidToken("malformed token") from exc
        if not isinstance(shop_id, str) or not hmac.compare_digest(self._sign(body, shop_id), signature):
            raise InvalidToken("bad signature")
        if payload.get("k") != kind:
            raise InvalidToken("wrong token kind")
        return cast("dict[str, Any]", payload)

    # Unsubscribe -----------------------------------------------------------------------------
    def unsubscribe_token(self, claim: UnsubscribeClaim) -> str:
        payload = {"s": claim.shop_id, "c": claim.customer_id, "ch": claim.channel}
        if claim.message_id:
            payload["m"] = claim.message_id
        return self.mint("u", payload)

    def unsubscribe_url(self, claim: UnsubscribeClaim) -> str:
        return f"{self.api_url}/v1/u/{self.unsubscribe_token(claim)}"

    def read_unsubscribe(self, token: str, shop_id: str | None = None) -> UnsubscribeClaim:
        p = self.verify("u", token)
        channel = _field(p, "ch")
        if channel not in CHANNELS:
            raise InvalidToken("unknown channel")
        claim = UnsubscribeClaim(
            shop_id=_field(p, "s"),
            customer_id=_field(p, "c"),
            channel=channel,
            message_id=_field(p, "m", required=False),
        )
        if shop_id is not None and claim.shop_id != shop_id:
            raise InvalidToken("token belongs to another shop")
        return claim

    # Redirect --------------------------------------------------------------------------------
    def redirect_token(self, claim: RedirectClaim) -> str:
        payload = {"s": claim.shop_id, "c": claim.customer_id, "u": claim.url}
        if claim.message_id:
            payload["m"] = claim.message_id
        if claim.channel:
            payload["ch"] = claim.channel
        return self.mint("r", payload)

    def redirect_url(self, claim: RedirectClaim) -> str:
        """Raises UnsafeLink for a target that is not a plain http(s) URL."""
        check_link(claim.url)
        return f"{self.api_url}/v1/r/{self.redirect_token(claim)}"

    def read_redirect(self, token: str) -> RedirectClaim:
        p = self.verify("r", token)
        url = _field(p, "u")
        try:
            check_link(url)
        except UnsafeLink as exc:
            raise InvalidToken(f"redirect target refused: {exc}") from exc
        return RedirectClaim(
            shop_id=_field(p, "s"),
            customer_id=_field(p, "c"),
            url=url,
            message_id=_field(p, "m", required=False),
            channel=_field(p, "ch", required=False),
        )


def _field(payload: dict[str, Any], name: str, required: bool = True) -> Any:
    """A claim field: a non-empty string (a signed token from an older or buggy minter may lack one)."""
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"token lacks field {name!r}")
    return value


def stack_signing_secret(clients: Any) -> str:
    """The signing secret of the stack `clients` talk to (links, unsubscribe and customer tokens)."""
    return signing_secret(clients.settings, clients.secretsmanager)


def signing_secret(settings: Any, secretsmanager: Any | None = None, max_age: int = SECRET_MAX_AGE) -> str:
    """The link signing secret, from the Secrets Manager secret the settings name (MissingSetting if none),
    re-read after max_age seconds."""
    name = settings.required("link_signing_secret_name")
    if secretsmanager is None:
        raise ValueError(f"the link signing secret {name} needs a Secrets Manager client to be read")
    return get_secret(secretsmanager, name, max_age)
