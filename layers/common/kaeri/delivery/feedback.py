"""SES event-publishing records back into Kaeri: events, suppression, message flags, shop pause.

Accepts a configuration set's event destination delivered through SNS (Lambda gets `Records[].Sns`)
or EventBridge (`detail-type`/`detail`). Every record is idempotent: the event it stores is keyed by
the SES message id, event type and time, so SNS redeliveries write nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kaeri import clock
from kaeri.aws import ClientError, condition_failed
from kaeri.delivery.compliance import Compliance
from kaeri.delivery.log import MessageLog, message_pk
from kaeri.events import StoredEvent
from kaeri.vocabulary import (
    EMAIL_BOUNCED,
    EMAIL_COMPLAINED,
    EMAIL_DELIVERED,
    EMAIL_LINK_CLICKED,
    EMAIL_OPENED,
)

EVENT_NAMES = {
    "Delivery": EMAIL_DELIVERED,
    "Open": EMAIL_OPENED,
    "Click": EMAIL_LINK_CLICKED,
    "Bounce": EMAIL_BOUNCED,
    "Complaint": EMAIL_COMPLAINED,
}


@dataclass
class FeedbackOutcome:
    event_type: str
    message_id: str | None = None
    event: str | None = None
    suppressed: list[str] | None = None
    paused_reason: str | None = None
    ignored: str | None = None


def ses_records(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The SES event records inside an SNS or EventBridge Lambda event (or a bare record)."""
    if "Records" in event:
        for record in event["Records"]:
            message = record.get("Sns", {}).get("Message")
            if message:
                yield json.loads(message)
    elif "detail" in event:
        yield event["detail"]
    elif "mail" in event:
        yield event


class Feedback:
    def __init__(self, log: MessageLog, compliance: Compliance, events_table: Any) -> None:
        self.log = log
        self.compliance = compliance
        self.events = events_table

    def handle(self, record: dict[str, Any]) -> FeedbackOutcome:
        event_type = record.get("eventType") or record.get("notificationType") or ""
        outcome = FeedbackOutcome(event_type)
        mail = record.get("mail") or {}
        ses_id = mail.get("messageId")
        message = self._message_for(mail)
        if message is None:
            outcome.ignored = f"no Kaeri message for SES message {ses_id}"
            return outcome
        outcome.message_id = message["message_id"]
        shop_id = message["shop_id"]
        detail = record.get(event_type[:1].lower() + event_type[1:]) or {}

        if event_type in ("Send", "Delivery") and message.get("status") != "sent":
            self._reconcile(message, ses_id)
        if event_type == "Bounce":
            hard = detail.get("bounceType") == "Permanent"
            self.log.update(message["pk"], {"bounced": True, "bounce_type": detail.get("bounceType", "")})
            if hard:
                outcome.suppressed = self._suppress(
                    shop_id, detail.get("bouncedRecipients"), "bounce", detail
                )
            outcome.paused_reason = self.compliance.check_rates(shop_id).paused_reason
        elif event_type == "Complaint":
            self.log.update(message["pk"], {"complained": True})
            outcome.suppressed = self._suppress(
                shop_id, detail.get("complainedRecipients"), "complaint", detail
            )
            outcome.paused_reason = self.compliance.check_rates(shop_id).paused_reason

        name = EVENT_NAMES.get(event_type)
        if name:
            self._store_event(name, record, message, detail, ses_id)
            outcome.event = name
        return outcome

    def _message_for(self, mail: dict[str, Any]) -> dict[str, Any] | None:
        # SES event publishing carries the original headers: our X-Kaeri-Message names the item
        # (one key read, and it works even when the provider id was never recorded, e.g. a crash
        # between SES accepting and our write). Without headers, the provider id index finds it.
        for header in mail.get("headers") or []:
            if header.get("name", "").lower() == "x-kaeri-message":
                shop_id, _, message_id = header.get("value", "").partition("#")
                found = self.log.get(shop_id, message_id) if shop_id and message_id else None
                if found:
                    return found
        ses_id = mail.get("messageId")
        return self.log.by_provider_id(ses_id) if ses_id else None

    def _reconcile(self, message: dict[str, Any], ses_id: str | None) -> None:
        """SES says it sent a message our log does not show as sent: record the truth."""
        values: dict[str, Any] = {"status": "sent", "detail": "reconciled from SES feedback"}
        if ses_id:
            values["provider_message_id"] = ses_id
        if not message.get("sent_at"):
            values["sent_at"] = clock.iso(clock.now())
        self.log.update(message_pk(message["shop_id"], message["message_id"]), values)

    def _suppress(self, shop_id: str, recipients: Any, reason: str, detail: dict[str, Any]) -> list[str]:
        addresses = [r.get("emailAddress", "") for r in recipients or [] if r.get("emailAddress")]
        for address in addresses:
            self.compliance.suppress(shop_id, address, reason, json.dumps(detail, default=str)[:1000])
        return addresses

    def _store_event(
        self,
        name: str,
        record: dict[str, Any],
        message: dict[str, Any],
        detail: dict[str, Any],
        ses_id: str | None,
    ) -> None:
        at = detail.get("timestamp") or record.get("mail", {}).get("timestamp")
        when = clock.parse_iso(at) if at else clock.now()
        fingerprint = hashlib.sha256(f"{ses_id}|{name}|{at}|{detail.get('link', '')}".encode()).hexdigest()[
            :32
        ]
        properties: dict[str, Any] = {
            "message_id": message["message_id"],
            "channel": "email",
            "provider_message_id": ses_id,
        }
        for name_ in ("scenario_id", "scenario_version", "journey_id", "step_id", "variant", "template_id"):
            if message.get(name_) is not None:
                properties[name_] = message[name_]
        if detail.get("link"):
            properties["url"] = detail["link"]
        if detail.get("bounceType"):
            properties["bounce_type"] = detail["bounceType"]
            properties["bounce_subtype"] = detail.get("bounceSubType")
        if detail.get("complaintFeedbackType"):
            properties["complaint_type"] = detail["complaintFeedbackType"]
        event = StoredEvent(
            shop_id=message["shop_id"],
            message_id=f"ses-{fingerprint}",
            type="track",
            event=name,
            user_id=message["customer_id"],
            properties={k: v for k, v in properties.items() if v is not None},
            timestamp=when,
            received_at=clock.now(),
            source="kaeri",
        )
        try:
            self.events.put_item(Item=event.to_item(), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not condition_failed(exc):
                raise
