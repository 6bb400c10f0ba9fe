"""Customer tokens: a short-lived credential a shop's backend mints for one signed-in customer.

A storefront that shows recommendations in the browser must not hold the server key (it would let
anyone read any customer's picks). The backend calls `POST /v1/tokens` with the server key and hands
the token to that customer's page, which then calls `GET /v1/recommendations` with
`Authorization: Bearer <token>`; the token speaks for that shop and customer only, until it expires.

Tokens are signed with the stack's signing secret (one key derived per shop, as for links), so
nothing per token is stored and a rotation of the server key does not need to reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from kaeri import clock
from kaeri.delivery.links import InvalidToken, LinkSigner
from kaeri.tracking.errors import request_errors

DEFAULT_TTL_SECONDS = 900
MAX_TTL_SECONDS = 3600


class TokenRequest(BaseModel):
    """POST /v1/tokens body."""

    userId: str = Field(min_length=1, max_length=256)  # noqa: N815 (Segment's spelling)
    ttl: int = Field(default=DEFAULT_TTL_SECONDS, ge=60, le=MAX_TTL_SECONDS)


@dataclass(frozen=True)
class CustomerClaim:
    shop_id: str
    customer_id: str
    expires_at: datetime


def parse_request(body: Any) -> TokenRequest:
    try:
        return TokenRequest.model_validate(body)
    except ValidationError as exc:
        raise request_errors(exc.errors(include_url=False), "body") from None


class CustomerTokens:
    def __init__(self, secret: str | bytes) -> None:
        self._signer = LinkSigner(secret, api_url="")

    def mint(
        self, shop_id: str, customer_id: str, ttl_seconds: int = DEFAULT_TTL_SECONDS
    ) -> tuple[str, CustomerClaim]:
        expires = clock.now() + timedelta(seconds=ttl_seconds)
        token = self._signer.mint("c", {"s": shop_id, "c": customer_id, "e": int(expires.timestamp())})
        return token, CustomerClaim(shop_id, customer_id, expires)

    def read(self, token: str) -> CustomerClaim:
        """The claim of a valid, unexpired token; InvalidToken otherwise."""
        payload = self._signer.verify("c", token)
        customer, expires = payload.get("c"), payload.get("e")
        if not isinstance(customer, str) or not customer or not isinstance(expires, int):
            raise InvalidToken("malformed token")
        when = datetime.fromtimestamp(expires, clock.now().tzinfo)
        if when <= clock.now():
            raise InvalidToken("expired token")
        return CustomerClaim(payload["s"], customer, when)
