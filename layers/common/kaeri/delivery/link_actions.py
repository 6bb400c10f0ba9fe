"""What the public link routes do: the unsubscribe page, the one-click unsubscribe, tracked clicks."""

from __future__ import annotations

import uuid
from html import escape
from typing import Any

from kaeri import clock
from kaeri.delivery.compliance import Compliance
from kaeri.delivery.links import InvalidToken, LinkSigner, RedirectClaim, UnsubscribeClaim
from kaeri.events import StoredEvent
from kaeri.vocabulary import MESSAGE_LINK_CLICKED

__all__ = ["InvalidToken", "LinkActions"]

_CHANNEL_NAMES = {"email": "メール / email", "line": "LINE", "sms": "SMS"}


class LinkActions:
    def __init__(
        self, signer: LinkSigner, compliance: Compliance, events_table: Any, profiles: Any, shops: Any
    ) -> None:
        self.signer = signer
        self.compliance = compliance
        self.events = events_table
        self.profiles = profiles
        self.shops = shops

    def unsubscribe_page(self, token: str) -> str:
        """GET: a confirmation form; nothing changes until it is posted."""
        claim = self.signer.read_unsubscribe(token)
        shop = self.shops(claim.shop_id)
        shop_name = escape(getattr(shop, "name", None) or claim.shop_id)
        channel = escape(_CHANNEL_NAMES.get(claim.channel, claim.channel))
        action = escape(f"{self.signer.api_url}/v1/u/{token}")
        return _page(
            f"{shop_name}: 配信停止 / Unsubscribe",
            f"<p>{shop_name} からの{channel}の配信を停止しますか?<br>"
            f"Stop receiving {channel} messages from {shop_name}?</p>"
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">配信を停止する / Unsubscribe</button></form>',
        )

    def unsubscribe(self, token: str) -> UnsubscribeClaim:
        """POST (RFC 8058 one-click, or the form): revoke consent now, before any later send."""
        claim = self.signer.read_unsubscribe(token)
        profile = self.profiles(claim.shop_id, claim.customer_id)
        address = profile.address(claim.channel) if profile is not None else None
        self.compliance.unsubscribe(
            claim.shop_id,
            claim.customer_id,
            claim.channel,
            source="unsubscribe_link",
            message_id=claim.message_id,
            address=address,
        )
        return claim

    def done_page(self, claim: UnsubscribeClaim) -> str:
        shop = self.shops(claim.shop_id)
        shop_name = escape(getattr(shop, "name", None) or claim.shop_id)
        return _page(
            f"{shop_name}: 配信停止 / Unsubscribed",
            f"<p>配信を停止しました。<br>You have been unsubscribed from {shop_name}.</p>",
        )

    def click(self, token: str, user_agent: str | None = None) -> RedirectClaim:
        """Record `Message Link Clicked` and return where to send the browser."""
        claim = self.signer.read_redirect(token)
        now = clock.now()
        properties = {
            "url": claim.url,
            "message_id": claim.message_id,
            "channel": claim.channel,
            "user_agent": user_agent,
        }
        event = StoredEvent(
            shop_id=claim.shop_id,
            message_id=f"click-{uuid.uuid4().hex}",
            type="track",
            event=MESSAGE_LINK_CLICKED,
            user_id=claim.customer_id,
            properties={k: v for k, v in properties.items() if v},
            timestamp=now,
            received_at=now,
            source="kaeri",
        )
        self.events.put_item(Item=event.to_item())
        return claim


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title></head><body style="font-family:sans-serif;max-width:32em;margin:3em auto">'
        f'<h1 style="font-size:1.2em">{title}</h1>{body}</body></html>'
    )
