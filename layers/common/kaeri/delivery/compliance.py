"""Consent history, unsubscribes, the suppression list and the shop's sending pause.

Items in the customers table (read and written through kaeri.profiles.customers.CustomersTable):
- `{shop}#{customer}` / `CONSENT#{at}#{channel}`: one consent change (status, source, wording).
- `{shop}#addr:{address}` / `SUPPRESSION`: an address the shop must not mail (bounce, complaint,
  unsubscribe), checked before every email.
Item in the config table:
- `SHOP#{shop}` / `SENDING`: paused_reason and the rates that caused it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.delivery.log import MessageLog
from kaeri.events import StoredEvent
from kaeri.profiles.customers import CustomersTable, consent_record, normalise_address, suppression_key
from kaeri.shops import SendingPauses
from kaeri.tracking.store import EventStore
from kaeri.vocabulary import UNSUBSCRIBED

COMPLAINT_RATE_LIMIT = 0.001  # pause when passed (SES reviews accounts above 0.1%)
BOUNCE_RATE_LIMIT = 0.05
RATE_WINDOW = 1000  # the shop's last 1,000 emails
MIN_DENOMINATOR = 100  # a shop with only a handful of emails is judged as if it had sent 100
UNSUBSCRIBE_WORDING = "unsubscribe-link-v1"
PAUSE_CACHE_SECONDS = 30.0  # a pause set by the feedback function reaches a warm send Lambda this fast


__all__ = ["Compliance", "SendingStatus", "normalise_address", "suppression_key"]


@dataclass
class SendingStatus:
    paused_reason: str | None
    complaint_rate: float = 0.0
    bounce_rate: float = 0.0
    window: int = 0


class Compliance:
    def __init__(
        self, customers: CustomersTable, pauses: SendingPauses, messages: MessageLog, events: EventStore
    ) -> None:
        self._customers = customers
        self._pauses_store = pauses
        self._messages = messages
        self._events = events
        self._pauses: dict[str, tuple[float, str | None]] = {}  # shop -> (read at, paused_reason)

    @classmethod
    def of(cls, clients: AwsClients) -> Compliance:
        """The compliance checks on the stack's customers, config, messages and events tables."""
        return cls(
            CustomersTable.of(clients),
            SendingPauses.of(clients),
            MessageLog.of(clients),
            EventStore(clients),
        )

    # Suppression ----------------------------------------------------------------------------
    def suppression(self, shop_id: str, address: str) -> dict[str, Any] | None:
        return self._customers.suppression(shop_id, address)

    def is_suppressed(self, shop_id: str, address: str, consent_at: str | None = None) -> bool:
        """Suppressed, unless an unsubscribe was followed by a newer opt-in (consent_at)."""
        item = self.suppression(shop_id, address)
        if item is None:
            return False
        reopted = item.get("reason") == "unsubscribe" and consent_at and consent_at > item.get("at", "")
        return not reopted

    def suppress(self, shop_id: str, address: str, reason: str, detail: str | None = None) -> None:
        self._customers.put_suppression(shop_id, address, reason, clock.iso(clock.now()), detail)

    def unsuppress(self, shop_id: str, address: str) -> None:
        self._customers.delete_suppression(shop_id, address)

    # Consent --------------------------------------------------------------------------------
    def record_consent(
        self,
        shop_id: str,
        customer_id: str,
        channel: str,
        status: str,
        source: str,
        wording_version: str | None,
    ) -> str:
        at = clock.iso(clock.now())
        self._customers.put_consent(
            consent_record(shop_id, customer_id, channel, status, at, source, wording_version)
        )
        return at

    def consent_history(self, shop_id: str, customer_id: str) -> list[dict[str, Any]]:
        return self._customers.consent_history(shop_id, customer_id)

    def unsubscribe(
        self,
        shop_id: str,
        customer_id: str,
        channel: str,
        *,
        source: str = "unsubscribe_link",
        message_id: str | None = None,
        address: str | None = None,
    ) -> bool:
        """Takes effect at once: profile consent revoked, history kept, journeys told to exit.

        Idempotent: when the channel is already revoked (a second one-click POST, a mail client that
        posts twice, a retry after a crash) no new history entry is written; the suppression and the
        `Unsubscribed` event of that revocation are completed if a crash left them out, and False is
        returned. True when this call revoked the consent.
        """
        at = self._revoked_at(shop_id, customer_id, channel)
        changed = at is None
        if at is None:
            at = self.record_consent(shop_id, customer_id, channel, "revoked", source, UNSUBSCRIBE_WORDING)
            consent = {
                "status": "revoked",
                "at": at,
                "source": source,
                "wording_version": UNSUBSCRIBE_WORDING,
            }
            self._revoke_on_profile(shop_id, customer_id, channel, consent)
        if address:
            # A repeat completes a suppression a crash left out, keeping one that exists.
            self._customers.put_suppression(shop_id, address, "unsubscribe", at, only_new=not changed)
        now = clock.now()
        event = StoredEvent(
            shop_id=shop_id,
            message_id=f"unsub-{uuid.uuid5(uuid.NAMESPACE_URL, f'{shop_id}#{customer_id}#{channel}#{at}')}",
            type="track",
            event=UNSUBSCRIBED,
            user_id=customer_id,
            properties={
                k: v for k, v in {"channel": channel, "source": source, "message_id": message_id}.items() if v
            },
            timestamp=clock.parse_iso(at) if not changed else now,
            received_at=now,
            source="kaeri",
        )
        # One event per revocation: a repeat finds it written and leaves it alone.
        self._events.put(event)
        return changed

    def _revoked_at(self, shop_id: str, customer_id: str, channel: str) -> str | None:
        """When the channel's current consent is a revocation, its time; None if granted or unknown."""
        profile = self._customers.profile_item(shop_id, customer_id, consistent=True)
        if profile is not None:
            current = (profile.get("consent") or {}).get(channel) or {}
            if current.get("status") == "revoked":
                return str(current.get("at") or "") or self._latest_history_at(shop_id, customer_id, channel)
            if current:
                return None
        history = [h for h in self.consent_history(shop_id, customer_id) if h.get("channel") == channel]
        if history and max(history, key=lambda h: h["sk"]).get("status") == "revoked":
            return str(max(history, key=lambda h: h["sk"])["at"])
        return None

    def _latest_history_at(self, shop_id: str, customer_id: str, channel: str) -> str | None:
        history = [h for h in self.consent_history(shop_id, customer_id) if h.get("channel") == channel]
        return str(max(history, key=lambda h: h["sk"])["at"]) if history else None

    def _revoke_on_profile(
        self, shop_id: str, customer_id: str, channel: str, consent: dict[str, Any]
    ) -> None:
        """Set profile.consent[channel]; the projector keeps the rest of the profile.

        No profile at all leaves the history and suppression only.
        """
        self._customers.set_profile_consent(shop_id, customer_id, channel, consent)

    # Sending pause --------------------------------------------------------------------------
    def sending_paused(self, shop: Any) -> str | None:
        if getattr(shop, "paused_reason", None):
            return str(shop.paused_reason)
        cached = self._pauses.get(shop.shop_id)
        if cached and time.monotonic() - cached[0] < PAUSE_CACHE_SECONDS:
            return cached[1]
        item = self._pauses_store.get(shop.shop_id)
        reason = item.get("paused_reason") if item else None
        self._pauses[shop.shop_id] = (time.monotonic(), reason)
        return reason

    def email_rates(self, shop_id: str) -> SendingStatus:
        """Bounce and complaint rates over the shop's last 1,000 sent emails."""
        sent = bounced = complained = 0
        newest_first = self._messages.newest_first(
            shop_id,
            ProjectionExpression="#s, channel, bounced, complained",
            ExpressionAttributeNames={"#s": "status"},
        )
        for item in newest_first:
            if item.get("channel") != "email" or item.get("status") != "sent":
                continue
            sent += 1
            bounced += 1 if item.get("bounced") else 0
            complained += 1 if item.get("complained") else 0
            if sent >= RATE_WINDOW:
                break
        denominator = max(sent, MIN_DENOMINATOR)
        return SendingStatus(None, complained / denominator, bounced / denominator, sent)

    def check_rates(self, shop_id: str) -> SendingStatus:
        """Pause the shop's sending when a rate passes its limit; says why in the SENDING item."""
        status = self.email_rates(shop_id)
        reason = None
        if status.complaint_rate > COMPLAINT_RATE_LIMIT:
            reason = (
                f"complaint rate {status.complaint_rate:.2%} over the last {status.window} emails "
                f"passed {COMPLAINT_RATE_LIMIT:.1%}"
            )
        elif status.bounce_rate > BOUNCE_RATE_LIMIT:
            reason = (
                f"bounce rate {status.bounce_rate:.2%} over the last {status.window} emails "
                f"passed {BOUNCE_RATE_LIMIT:.0%}"
            )
        if reason:
            self._pauses_store.put(
                shop_id,
                {
                    "paused_reason": reason,
                    "paused_at": clock.iso(clock.now()),
                    "complaint_rate": Decimal(str(round(status.complaint_rate, 6))),
                    "bounce_rate": Decimal(str(round(status.bounce_rate, 6))),
                    "window": status.window,
                },
            )
        status.paused_reason = reason
        self._pauses.pop(shop_id, None)
        return status

    def resume(self, shop_id: str) -> None:
        self._pauses_store.delete(shop_id)
        self._pauses.pop(shop_id, None)
