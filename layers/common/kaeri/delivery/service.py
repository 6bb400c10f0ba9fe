"""Send one decided message exactly once: resolve channel, render, record intent, hand off, mark sent.

Order of a send (docs/delivery.md explains the guarantees):
1. read the message log; a handled message id returns its recorded result;
2. pick the first channel in the preference list with consent (marketing), an address and no
   suppression; render the template (a render failure skips this one message);
3. put the intent (status pending, attempt id) with a condition on absence;
4. call the provider (LINE with a retry key derived from the message id);
5. mark sent with the provider message id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.delivery.channels import (
    ChannelAdapter,
    EmailChannel,
    LineChannel,
    OutboundMessage,
    ProviderRejected,
    ProviderRetryable,
    SmsChannel,
    format_sender,
    line_api_factory,
    secrets_token_provider,
)
from kaeri.delivery.compliance import Compliance, normalise_address
from kaeri.delivery.context import CatalogReader, build_context
from kaeri.delivery.links import LinkSigner, stack_signing_secret
from kaeri.delivery.log import IntentConflict, MessageLog, base_item, record_skip, result_of
from kaeri.delivery.request import SendRequest, SendResult, SkipReason
from kaeri.delivery.template_store import TemplateNotFound, TemplateStore
from kaeri.delivery.templates_engine import Rendered, RenderError, Template, render
from kaeri.profiles.model import Profile
from kaeri.profiles.repository import ProfileRepository
from kaeri.vocabulary import Channel

__all__ = ["Delivery", "SendRequest", "SendResult", "SendRetryable", "SendInProgress", "record_skip"]

LEASE = timedelta(minutes=2)  # longer than one send attempt can take (the send function's timeout)
_REASON_ORDER: tuple[SkipReason, ...] = ("suppressed", "no_address", "no_consent")


class SendRetryable(RuntimeError):
    """The provider did not accept the message this time; the caller retries the same request."""


class SendInProgress(SendRetryable):
    """Another attempt for this message id holds the lease; retry after it ends."""


ProfileLoader = Callable[[str, str], Profile | None]
ShopLoader = Callable[[str], Any]


def dynamo_profile_loader(clients: AwsClients) -> ProfileLoader:
    """The profile the projector keeps, read consistently through the profile repository."""
    repository = ProfileRepository(clients)
    return lambda shop_id, customer_id: repository.get(shop_id, customer_id, consistent=True)


class Delivery:
    def __init__(
        self,
        *,
        log: MessageLog,
        compliance: Compliance,
        templates: TemplateStore,
        profiles: ProfileLoader,
        shops: ShopLoader,
        signer: LinkSigner,
        channels: dict[str, ChannelAdapter],
        catalog: CatalogReader | None = None,
        store_html: bool = True,
    ) -> None:
        self.log = log
        self.compliance = compliance
        self.templates = templates
        self.profiles = profiles
        self.shops = shops
        self.signer = signer
        self.channels = channels
        self.catalog = catalog
        self.store_html = store_html

    @classmethod
    def from_clients(cls, clients: Any, channels: dict[str, ChannelAdapter] | None = None) -> Delivery:
        """Wire the real adapters from one AwsClients (Lambda, local stack, CLI)."""
        from kaeri.shops import get_shop

        settings = clients.settings
        if channels is None:
            token = secrets_token_provider(clients.secretsmanager, settings.table_prefix)
            channels = {
                "email": EmailChannel(clients.sesv2, settings.ses_configuration_set),
                "line": LineChannel(line_api_factory(settings.line_api_endpoint, token)),
                "sms": SmsChannel(clients.sns),
            }
        secret = stack_signing_secret(clients)
        return cls(
            log=MessageLog.of(clients),
            compliance=Compliance.of(clients),
            templates=TemplateStore.of(clients),
            profiles=dynamo_profile_loader(clients),
            shops=lambda shop_id: get_shop(clients, shop_id),
            signer=LinkSigner(secret, settings.public_api_url),
            channels=channels,
            catalog=CatalogReader.of(clients),
            store_html=True,
        )

    # The send ---------------------------------------------------------------------------------
    def send(self, request: SendRequest) -> SendResult:
        existing = self.log.get(request.shop_id, request.message_id)
        if existing is not None:
            if existing["status"] != "pending":
                return result_of(existing, detail="already handled")
            if existing.get("attempt_id"):
                return self._resume_attempt(request, existing)
        return self._decide_and_send(request, existing)

    def _resume_attempt(self, request: SendRequest, item: dict[str, Any]) -> SendResult:
        """A pending intent whose provider call may or may not have been accepted."""
        started = clock.parse_iso(item["attempt_at"])
        if clock.now() - started < LEASE:
            raise SendInProgress(f"{request.message_id}: another attempt started at {item['attempt_at']}")
        if item.get("channel") == "line":
            # The retry key makes this push a no-op if LINE accepted it before.
            outbound = OutboundMessage(
                shop_id=request.shop_id,
                message_id=request.message_id,
                channel="line",
                recipient=item["recipient"],
                text=item.get("text"),
            )
            attempt_id = self._take_over(item)
            return self._hand_off(item["pk"], attempt_id, outbound)
        # SES and SNS have no idempotency key: resending could deliver twice, so we do not.
        detail = (
            "unknown_outcome: the provider may have accepted this message before a crash; not resent "
            "(SES feedback reconciles it via the X-Kaeri-Message header)"
        )
        try:
            self.log.update(
                item["pk"],
                {"status": "failed", "detail": detail},
                remove=("attempt_id",),
                condition="attempt_id = :a",
                condition_values={":a": item["attempt_id"]},
            )
        except IntentConflict:
            return self.send(request)
        return result_of({**item, "status": "failed"}, detail=detail)

    def _take_over(self, item: dict[str, Any]) -> str:
        attempt_id = uuid.uuid4().hex
        try:
            self.log.update(
                item["pk"],
                {"attempt_id": attempt_id, "attempt_at": clock.iso(clock.now())},
                condition="attempt_id = :a",
                condition_values={":a": item["attempt_id"]},
            )
        except IntentConflict as exc:
            raise SendInProgress(f"{item['message_id']}: taken over by another attempt") from exc
        return attempt_id

    def _skip(
        self,
        request: SendRequest,
        reason: SkipReason,
        detail: str | None,
        existing: dict[str, Any] | None,
        channel: str | None = None,
    ) -> SendResult:
        if existing is None:
            fields = request.model_dump()
            if channel:
                fields["channels"] = [channel]
            return self.log.record_skip(fields, reason, detail)
        values: dict[str, Any] = {"status": "skipped", "skip_reason": reason}
        if detail:
            values["detail"] = detail
        if not self._update_pending(existing, values):
            return self.send(request)
        return result_of({**existing, **values})

    def _update_pending(self, existing: dict[str, Any], values: dict[str, Any]) -> bool:
        """Update a pending intent that no attempt has claimed yet; False if another attempt did."""
        try:
            self.log.update(
                existing["pk"],
                values,
                condition="#status = :p AND attribute_not_exists(attempt_id)",
                condition_values={":p": "pending"},
            )
        except IntentConflict:
            return False
        return True

    def _decide_and_send(self, request: SendRequest, existing: dict[str, Any] | None) -> SendResult:
        shop = self.shops(request.shop_id)
        if shop is None:
            return self._fail(request, existing, f"unknown shop {request.shop_id!r}")
        paused = self.compliance.sending_paused(shop)
        if paused:
            return self._skip(request, "paused", paused, existing)
        try:
            template = self.templates.get(request.shop_id, request.template_id)
        except TemplateNotFound as exc:
            return self._skip(request, "render_failed", str(exc), existing)
        profile = self.profiles(request.shop_id, request.customer_id)
        if profile is None:
            return self._skip(request, "no_address", "no profile for this customer", existing)

        channel, recipient, reasons = self._choose_channel(request, profile, template)
        if channel is None:
            reason = next(r for r in _REASON_ORDER if r in reasons.values()) if reasons else "no_address"
            detail = ", ".join(f"{c}: {r}" for c, r in reasons.items())
            return self._skip(request, reason, detail, existing)

        try:
            context = build_context(
                profile=profile,
                shop=shop,
                channel=channel,
                message_id=request.message_id,
                trigger=request.trigger,
                extra=request.context,
                signer=self.signer,
                catalog=self.catalog,
            )
            rendered = render(template, channel, context, profile.locale, getattr(shop, "locale", None))
        except RenderError as exc:
            return self._skip(request, exc.reason, str(exc)[:1000], existing, channel)
        outbound = self._outbound(request, shop, channel, recipient, rendered, context["unsubscribe_url"])
        if channel == "email" and not outbound.from_address:
            return self._fail(request, existing, f"shop {request.shop_id} has no from_email")

        attempt_id = uuid.uuid4().hex
        intent = self._intent(request, template, outbound, rendered, attempt_id)
        if existing is None:
            if not self.log.put_new(intent):
                return self.send(request)  # a concurrent attempt wrote it first: follow its record
        else:
            values = {k: v for k, v in intent.items() if k not in ("pk", "created_at", "expires_at")}
            if not self._update_pending(existing, values):
                return self.send(request)  # another attempt claimed it: follow its record
        return self._hand_off(intent["pk"], attempt_id, outbound)

    def _hand_off(self, pk: str, attempt_id: str, outbound: OutboundMessage) -> SendResult:
        adapter = self.channels[outbound.channel]
        try:
            provider_id = adapter.send(outbound)
        except ProviderRetryable as exc:
            # Certainly not accepted: release the attempt so the retry sends it.
            self.log.update(
                pk,
                {"last_error": str(exc)[:500]},
                remove=("attempt_id", "attempt_at"),
                condition="attempt_id = :a",
                condition_values={":a": attempt_id},
            )
            raise SendRetryable(str(exc)) from exc
        except ProviderRejected as exc:
            self.log.update(
                pk,
                {"status": "failed", "detail": str(exc)[:1000]},
                remove=("attempt_id",),
                condition="attempt_id = :a",
                condition_values={":a": attempt_id},
            )
            return SendResult(
                message_id=outbound.message_id,
                status="failed",
                channel=outbound.channel,
                detail=str(exc)[:1000],
            )
        # Accepted: from here on a failure must not lead to a second send, so retry the write hard.
        self.log.update(
            pk,
            {"status": "sent", "sent_at": clock.iso(clock.now()), "provider_message_id": provider_id},
            remove=("attempt_id",),
            condition="attempt_id = :a",
            condition_values={":a": attempt_id},
        )
        return SendResult(
            message_id=outbound.message_id,
            status="sent",
            channel=outbound.channel,
            provider_message_id=provider_id,
        )

    def _fail(self, request: SendRequest, existing: dict[str, Any] | None, detail: str) -> SendResult:
        item = base_item(request.model_dump()) | {"status": "failed", "detail": detail}
        if existing is None:
            if not self.log.put_new(item):
                return self.send(request)
        else:
            self.log.update(existing["pk"], {"status": "failed", "detail": detail})
        return result_of(item)

    def _choose_channel(
        self, request: SendRequest, profile: Profile, template: Template
    ) -> tuple[Channel | None, str, dict[str, str]]:
        reasons: dict[str, str] = {}
        for channel in request.channels:
            if channel not in template.channels or channel not in self.channels:
                reasons[channel] = "no_address"  # nothing to send on this channel
                continue
            if request.test_recipient:
                # A seed address of the shop: the customer's consent and address do not apply to it.
                seed = request.test_recipient
                if self.compliance.is_suppressed(request.shop_id, seed, None):
                    reasons[channel] = "suppressed"
                    continue
                return channel, (normalise_address(seed) if channel == "email" else seed), reasons
            if request.purpose == "marketing" and not profile.has_consent(channel):
                reasons[channel] = "no_consent"
                continue
            address = profile.address(channel)
            if not address:
                reasons[channel] = "no_address"
                continue
            consent = profile.consent.get(channel)
            granted_at = (
                clock.iso(consent.at) if consent and consent.at and consent.status == "granted" else None
            )
            if self.compliance.is_suppressed(request.shop_id, address, granted_at):
                reasons[channel] = "suppressed"
                continue
            return channel, (normalise_address(address) if channel == "email" else address), reasons
        return None, "", reasons

    def _outbound(
        self,
        request: SendRequest,
        shop: Any,
        channel: str,
        recipient: str,
        rendered: Rendered,
        unsubscribe_url: str,
    ) -> OutboundMessage:
        message = OutboundMessage(
            shop_id=request.shop_id, message_id=request.message_id, channel=channel, recipient=recipient
        )
        if channel == "email":
            footer_text, footer_html = compliance_footer(shop, unsubscribe_url, rendered.locale)
            message.subject = rendered.subject
            message.text = ((rendered.text or "") + footer_text).strip()
            message.html = (rendered.html + footer_html) if rendered.html else None
            if shop.from_email:
                message.from_address = format_sender(shop.sender_name or shop.name, shop.from_email)
            message.reply_to = shop.reply_to
            message.headers = {
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "X-Kaeri-Message": f"{request.shop_id}#{request.message_id}",
            }
        elif channel == "line":
            message.text = rendered.line
        else:
            message.text = rendered.sms
            message.sms_sender_id = getattr(shop, "sms_sender_id", None)
            message.sms_type = "Transactional" if request.purpose == "transactional" else "Promotional"
        return message

    def _intent(
        self,
        request: SendRequest,
        template: Template,
        outbound: OutboundMessage,
        rendered: Rendered,
        attempt_id: str,
    ) -> dict[str, Any]:
        item = base_item(request.model_dump()) | {
            "status": "pending",
            "channel": outbound.channel,
            "recipient": outbound.recipient,
            "template_version": template.version,
            "locale": rendered.locale,
            "attempt_id": attempt_id,
            "attempt_at": clock.iso(clock.now()),
        }
        for name in ("subject", "text"):
            if getattr(outbound, name):
                item[name] = getattr(outbound, name)
        if outbound.headers:
            item["headers"] = dict(outbound.headers)
        if outbound.html and self.store_html and len(outbound.html) < 100_000:
            item["html"] = outbound.html
        return item


_FOOTER = {
    "ja": ("配信元: {sender}\n住所: {address}\n配信停止: {url}", "配信元", "住所", "配信停止はこちら"),
    "en": ("From: {sender}\nAddress: {address}\nUnsubscribe: {url}", "From", "Address", "Unsubscribe"),
}


def compliance_footer(shop: Any, unsubscribe_url: str, locale: str) -> tuple[str, str]:
    """Sender name, postal address and the unsubscribe link, on every email whatever its template."""
    from html import escape

    text_fmt, from_label, address_label, unsub_label = _FOOTER.get(locale[:2], _FOOTER["en"])
    sender = shop.sender_name or shop.name
    address = shop.postal_address or ""
    text = "\n\n--\n" + text_fmt.format(sender=sender, address=address, url=unsubscribe_url)
    html = (
        '<hr><p style="font-size:12px;color:#666">'
        f"{escape(from_label)}: {escape(sender)}<br>{escape(address_label)}: {escape(address)}<br>"
        f'<a href="{escape(unsubscribe_url)}">{escape(unsub_label)}</a></p>'
    )
    return text, html
