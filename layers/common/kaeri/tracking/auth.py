"""Which shop a request comes from, and whether its credential is trusted enough for the route.

Three credentials, by trust (docs/tracking.md, "Keys"):
- the write key (public, in browser SDKs): HTTP Basic user name or `writeKey` in the body; it only
  ingests events;
- the server key (secret, the shop's backend): HTTP Basic user name or `Authorization: Bearer`; it
  also opens the catalog feed, recommendations and customer tokens;
- a customer token (short-lived, minted by `POST /v1/tokens` with the server key): lets a browser read
  one customer's recommendations and nothing else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from kaeri import shops
from kaeri.aws import AwsClients
from kaeri.tracking.errors import Forbidden, Unauthorized


def basic_auth_user(headers: Mapping[str, str] | None) -> str | None:
    """The user name of an `Authorization: Basic ...` header (Segment SDKs send `key:`)."""
    for name, value in (headers or {}).items():
        if name.lower() != "authorization" or not value:
            continue
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    return None


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer ...` header."""
    for name, value in (headers or {}).items():
        if name.lower() != "authorization" or not value:
            continue
        scheme, _, token = value.strip().partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None
    return None


def write_key_of(headers: Mapping[str, str] | None, body: Any) -> str | None:
    key = basic_auth_user(headers)
    if key:
        return key
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"] or None
    return None


def authenticate(clients: AwsClients, headers: Mapping[str, str] | None, body: Any = None) -> str:
    """The shop id for an ingest request: the write key (or the server key, which may also ingest)."""
    key = write_key_of(headers, body)
    if not key:
        raise Unauthorized(
            "missing write key: send it as the HTTP Basic user name or as writeKey in the body"
        )
    found = shops.resolve_key(clients, key)
    if not found:
        raise Unauthorized("unknown write key")
    return found[0]


def server_key_of(headers: Mapping[str, str] | None) -> str | None:
    return basic_auth_user(headers) or bearer_token(headers)


def authenticate_server(clients: AwsClients, headers: Mapping[str, str] | None) -> str:
    """The shop id for a route only the shop's backend may call; 403 for the public write key."""
    key = server_key_of(headers)
    if not key:
        raise Unauthorized("missing server key: send it as the HTTP Basic user name or a Bearer token")
    found = shops.resolve_key(clients, key)
    if not found:
        raise Unauthorized("unknown server key")
    if found[1] != "server":
        raise Forbidden(
            "this route needs the shop's server key; the write key is public and only ingests events"
        )
    return found[0]


def authenticate_customer(clients: AwsClients, headers: Mapping[str, str] | None, customer_id: str) -> str:
    """The shop id for reading one customer's data: the server key, or that customer's token."""
    token = bearer_token(headers)
    if token and token.count(".") == 1 and not token.startswith(tuple(shops.KEY_PREFIXES.values())):
        from kaeri.delivery.links import InvalidToken, stack_signing_secret
        from kaeri.tracking.tokens import CustomerTokens

        try:
            claim = CustomerTokens(stack_signing_secret(clients)).read(token)
        except InvalidToken as exc:
            raise Unauthorized(f"customer token refused: {exc}") from None
        if claim.customer_id != customer_id:
            raise Forbidden("this customer token is for another customer")
        return claim.shop_id
    return authenticate_server(clients, headers)
