"""Clock-skew correction as Segment does it: shift the device's timestamp by receivedAt - sentAt."""

from __future__ import annotations

from datetime import datetime


def corrected_timestamp(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime | None:
    """When the event happened on the server's clock.

    A device whose clock is off by an hour sends timestamp and sentAt both off by that hour; the
    difference to receivedAt removes it. Without a timestamp the event happened when it was received.
    None when the corrected time leaves the range a datetime can hold.
    """
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    try:
        return timestamp + (received_at - sent_at)
    except OverflowError:
        return None
