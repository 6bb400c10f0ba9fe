"""Signed unsubscribe and redirect tokens: forgery and cross-shop tokens are refused."""

from __future__ import annotations

import base64
import json

import pytest

from kaeri.delivery.links import InvalidToken, LinkSigner, RedirectClaim, UnsubscribeClaim

SIGNER = LinkSigner("secret", "https://api.example")


def _tamper(token: str, **changes) -> str:
    body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    new_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{new_body}.{signature}"


def test_round_trip():
    token = SIGNER.unsubscribe_token(UnsubscribeClaim("shop-a", "c1", "email", "m1"))
    assert SIGNER.read_unsubscribe(token) == UnsubscribeClaim("shop-a", "c1", "email", "m1")


@pytest.mark.parametrize("changes", [{"c": "victim"}, {"s": "shop-b"}, {"ch": "line"}])
def test_edited_tokens_are_refused(changes):
    token = SIGNER.unsubscribe_token(UnsubscribeClaim("shop-a", "c1", "email"))
    with pytest.raises(InvalidToken):
        SIGNER.read_unsubscribe(_tamper(token, **changes))


def test_other_secret_and_other_shop_are_refused():
    token = LinkSigner("other", "https://x").unsubscribe_token(UnsubscribeClaim("shop-a", "c1", "email"))
    with pytest.raises(InvalidToken):
        SIGNER.read_unsubscribe(token)
    mine = SIGNER.unsubscribe_token(UnsubscribeClaim("shop-a", "c1", "email"))
    with pytest.raises(InvalidToken, match="another shop"):
        SIGNER.read_unsubscribe(mine, shop_id="shop-b")


def test_redirect_token_is_not_an_unsubscribe_token_and_only_http():
    token = SIGNER.redirect_token(RedirectClaim("shop-a", "c1", "https://shop.example/p1"))
    with pytest.raises(InvalidToken):
        SIGNER.read_unsubscribe(token)
    assert SIGNER.read_redirect(token).url == "https://shop.example/p1"
    with pytest.raises(ValueError):
        SIGNER.redirect_url(RedirectClaim("shop-a", "c1", "javascript:alert(1)"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "....", "eyJrIjoidSJ9.xx"])
def test_garbage_is_refused(garbage):
    with pytest.raises(InvalidToken):
        SIGNER.read_unsubscribe(garbage)
