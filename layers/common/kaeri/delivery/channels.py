"""Provider adapters: SES v2 (email), LINE Messaging API (push) and SNS (SMS).

Each adapter takes its client in the constructor and turns one OutboundMessage into a provider
message id. Errors are sorted into three kinds, because exactly-once depends on it:
- ProviderRetryable: the provider certainly did not accept the message; try again later.
- ProviderRejected: it never will (bad address, paused account); the message fails.
- anything else (timeouts, dropped connections): the outcome is unknown.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol

from kaeri.aws import SECRET_MAX_AGE, ClientError, error_code, get_secret
from kaeri.delivery.retry import is_transient

# Long unfoldable header values (List-Unsubscribe URLs) stay on one line, up to RFC 5322's 998.
_POLICY = policy.SMTP.clone(max_line_length=998)
RETRY_KEY_NAMESPACE = uuid.UUID("6f1c1a52-3c57-4d0e-9a53-4b6b2f5e6b01")


class ProviderRetryable(RuntimeError):
    """Certainly not accepted (throttled, 5xx before acceptance): safe to send again."""


class ProviderRejected(RuntimeError):
    """Refused for good (invalid recipient, account paused): do not retry."""


@dataclass
class OutboundMessage:
    shop_id: str
    message_id: str
    channel: str
    recipient: str
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    from_address: str | None = None  # "Sender Name <from@shop>"
    reply_to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sms_sender_id: str | None = None
    sms_type: str = "Promotional"

    @property
    def key(self) -> str:
        return f"{self.shop_id}#{self.message_id}"


def line_retry_key(shop_id: str, message_id: str) -> str:
    """Deterministic per message, so every retry of the same message carries the same key."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{shop_id}#{message_id}"))


class ChannelAdapter(Protocol):
    name: str

    def send(self, message: OutboundMessage) -> str: ...


def _classify_client_error(exc: ClientError) -> Exception:
    if is_transient(exc):
        return ProviderRetryable(f"{error_code(exc)}: {exc}")
    return ProviderRejected(f"{error_code(exc)}: {exc}")


# Email -----------------------------------------------------------------------------------------


def build_mime(message: OutboundMessage) -> bytes:
    """multipart/alternative with text then HTML, UTF-8, plus our headers (List-Unsubscribe ...)."""
    mime = EmailMessage(policy=_POLICY)
    mime["Subject"] = message.subject or ""
    mime["From"] = message.from_address or ""
    mime["To"] = message.recipient
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    domain = (message.from_address or "kaeri@localhost").rsplit("@", 1)[-1].strip(">")
    mime["Message-ID"] = make_msgid(domain=domain)
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text or "", charset="utf-8", cte="base64")
    if message.html:
        mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="base64")
    return mime.as_bytes()


def format_sender(sender_name: str | None, address: str) -> str:
    if not sender_name:
        return address
    return formataddr((sender_name, address))  # encodes a non-ASCII name (RFC 2047)


class EmailChannel:
    name = "email"

    def __init__(self, sesv2: Any, configuration_set: str | None) -> None:
        self._ses = sesv2
        self._configuration_set = configuration_set

    def send(self, message: OutboundMessage) -> str:
        kwargs: dict[str, Any] = {
            "FromEmailAddress": message.from_address,
            "Destination": {"ToAddresses": [message.recipient]},
            "Content": {"Raw": {"Data": build_mime(message)}},
            "EmailTags": [{"Name": "kaeri_shop", "Value": _tag(message.shop_id)}],
        }
        if message.reply_to:
            kwargs["ReplyToAddresses"] = [message.reply_to]
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._ses.send_email(**kwargs)
        except ClientError as exc:
            raise _classify_client_error(exc) from exc
        return str(response["MessageId"])


def _tag(value: str) -> str:
    """SES tag values allow letters, digits, '_' and '-' only."""
    return "".join(c if c.isalnum() and c.isascii() or c in "_-" else "_" for c in value)[:256] or "_"


# LINE ------------------------------------------------------------------------------------------


class LineChannel:
    """Push through line-bot-sdk v3; the X-Line-Retry-Key makes a resend of one message a no-op."""

    name = "line"

    def __init__(self, api_for_shop: Callable[[str], Any]) -> None:
        self._api_for_shop = api_for_shop

    def send(self, message: OutboundMessage) -> str:
        from linebot.v3.messaging import PushMessageRequest, TextMessage
        from linebot.v3.messaging.exceptions import ApiException

        api = self._api_for_shop(message.shop_id)
        request = PushMessageRequest(to=message.recipient, messages=[TextMessage(text=message.text or "")])
        key = line_retry_key(message.shop_id, message.message_id)

        try:
            result = api.push_message_with_http_info(request, x_line_retry_key=key)
        except ApiException as exc:
            if exc.status != 409:  # 409: this retry key was accepted before, already delivered
                if exc.status == 429 or (exc.status or 0) >= 500:
                    raise ProviderRetryable(f"LINE {exc.status}: {exc.reason}") from exc
                raise ProviderRejected(f"LINE {exc.status}: {exc.reason} {exc.body!r}") from exc
            result = exc
        headers = {k.lower(): v for k, v in dict(result.headers or {}).items()}
        return str(headers.get("x-line-accepted-request-id") or headers.get("x-line-request-id") or key)


def line_api_factory(endpoint: str, token_for_shop: Callable[[str], str]) -> Callable[[str], Any]:
    """MessagingApi per shop (each shop has its own channel access token), rebuilt when its token changes.

    token_for_shop is asked on every send (it answers from its own max-age cache), so a token that was
    reissued in Secrets Manager (a new long-lived token, or a short-lived one issued from the channel
    secret before the old one expires) is used from the next send after the cache ages out.
    """
    from linebot.v3.messaging import ApiClient, Configuration, MessagingApi

    apis: dict[str, tuple[str, Any]] = {}

    def api_for_shop(shop_id: str) -> Any:
        token = token_for_shop(shop_id)
        known = apis.get(shop_id)
        if known is None or known[0] != token:
            configuration = Configuration(host=endpoint, access_token=token)
            known = apis[shop_id] = (token, MessagingApi(ApiClient(configuration)))
        return known[1]

    return api_for_shop


def line_token_secret_name(table_prefix: str, shop_id: str) -> str:
    return f"{table_prefix}/{shop_id}/line-channel-access-token"


def secrets_token_provider(
    secretsmanager: Any, table_prefix: str, max_age: int = SECRET_MAX_AGE
) -> Callable[[str], str]:
    """Channel access token per shop from Secrets Manager, re-read after max_age seconds (Powertools
    parameters); the local stack stores its shop's token there too."""

    def token(shop_id: str) -> str:
        return get_secret(secretsmanager, line_token_secret_name(table_prefix, shop_id), max_age)

    return token


# SMS -------------------------------------------------------------------------------------------


class SmsChannel:
    name = "sms"

    def __init__(self, sns: Any, default_sender_id: str | None = None) -> None:
        self._sns = sns
        self._default_sender_id = default_sender_id

    def send(self, message: OutboundMessage) -> str:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": message.sms_type}}
        sender = message.sms_sender_id or self._default_sender_id
        if sender:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender}
        try:
            response = self._sns.publish(
                PhoneNumber=message.recipient, Message=message.text or "", MessageAttributes=attributes
            )
        except ClientError as exc:
            raise _classify_client_error(exc) from exc
        return str(response["MessageId"])
