"""Entry point the stream consumer calls for every stored event (event triggers and exits).

Owned by the scenario engine; the stream consumer only calls on_event.
"""

from __future__ import annotations

from kaeri.aws import AwsClients
from kaeri.events import StoredEvent
from kaeri.profiles.model import Profile


def on_event(event: StoredEvent, profile: Profile | None, clients: AwsClients) -> None:
    """Start journeys this event triggers and end those it exits. Idempotent per event."""
