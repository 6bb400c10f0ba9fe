"""Skipped sends go to the message log so KPIs can count them (the delivery engine owns the table)."""

from __future__ import annotations

from typing import Any

from kaeri.aws import AwsClients


def record_skip(clients: AwsClients, fields: dict[str, Any], reason: str, detail: str | None = None) -> None:
    """Log one skipped message (idempotent per message id) through the delivery engine's message log."""
    from kaeri.delivery.log import record_skip as log_skip

    log_skip(clients, fields, reason, detail)
