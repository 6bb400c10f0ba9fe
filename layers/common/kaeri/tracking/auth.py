"""Which shop a request comes from: the write key as HTTP Basic user name, or `writeKey` in the body."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from kaeri import shops
from kaeri.aws import AwsClients
from kaeri.tracking.errors import Unauthorized


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


def write_key_of(headers: Mapping[str, str] | None, body: Any) -> str | None:
    key = basic_auth_user(headers)
    if key:
        return key
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return body["writeKey"] or None
    return None


def authenticate(clients: AwsClients, headers: Mapping[str, str] | None, body: Any = None) -> str:
    """The shop id for the request's write key; Unauthorized when missing or unknown."""
    key = write_key_of(headers, body)
    if not key:
        raise Unauthorized(
            "missing write key: send it as the HTTP Basic user name or as writeKey in the body"
        )
    shop_id = shops.shop_for_write_key(clients, key)
    if not shop_id:
        raise Unauthorized("unknown write key")
    return shop_id
