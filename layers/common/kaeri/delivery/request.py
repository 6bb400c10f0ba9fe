"""What the journey asks the send function to do, and what it answers (the state machine's seam)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from kaeri.vocabulary import Channel

SkipReason = Literal[
    "no_consent",  # no channel in the preference list has consent
    "no_address",  # consent but no address on any channel
    "suppressed",  # address on the shop's suppression list
    "capped",  # frequency cap or daily send limit
    "quiet_hours",  # only when deferring is impossible; normally quiet hours defer
    "exited",  # exit event since entry
    "audience",  # no longer in the audience
    "holdout",  # customer is in the scenario's holdout
    "paused",  # shop's sending is paused (bounce/complaint rate)
    "render_failed",  # template failed to render for this customer (or is missing)
    "render_undefined",  # the template used a variable the context does not have
    "render_timeout",  # rendering passed its time limit
    "render_too_large",  # the output passed the size limit of the part or the channel
    "duplicate",  # this message id was already handled
]


class SendRequest(BaseModel):
    """One decided message. message_id is deterministic, so any retry names the same message."""

    shop_id: str
    customer_id: str
    message_id: str  # e.g. "{journey_id}:{step_id}" or "{scenario}:{run}:{customer}"
    scenario_id: str | None = None
    scenario_version: int | None = None
    journey_id: str | None = None
    step_id: str | None = None
    variant: str | None = None
    channels: list[Channel]  # preference order; fall back to the next
    template_id: str
    purpose: Literal["marketing", "transactional"] = "marketing"
    trigger: dict[str, Any] | None = None  # StoredEvent.model_dump(mode="json") that started the journey
    context: dict[str, Any] = Field(default_factory=dict)  # extra template context (coupon, ...)
    # A test send (the console): delivered to this seed address or LINE id of the shop instead of the
    # customer's, recorded with test=True so that no KPI counts it.
    test_recipient: str | None = None


class SendResult(BaseModel):
    message_id: str
    status: Literal["sent", "skipped", "failed"]
    channel: Channel | None = None
    skip_reason: SkipReason | None = None
    provider_message_id: str | None = None
    detail: str | None = None
