"""Which function may touch which table: the least-privilege matrix, reviewed in one place.

"r" grants read (GetItem, Query, BatchGetItem, ...), "rw" read and write. A table a function does
not list is out of its reach. Stream read for evaluate-stream comes with its event source mapping.
"""

from __future__ import annotations

from typing import Literal

Access = Literal["r", "rw"]

TABLE_ACCESS: dict[str, dict[str, Access]] = {
    # Ingest: writes events once per messageId, upserts the catalog, reads keys and recommendations.
    "track-api": {"events": "rw", "catalog": "rw", "config": "r", "customers": "rw"},
    # Profile projection, journey starts and exits.
    "evaluate-stream": {
        "events": "rw",
        "customers": "rw",
        "journeys": "rw",
        "config": "r",
        "catalog": "r",
        "messages": "r",
    },
    # Scheduled scenarios read their audience through indexes and start journeys (or fan out).
    "evaluate-schedule": {
        "customers": "r",
        "journeys": "rw",
        "config": "r",
        "events": "r",
        "messages": "rw",  # holdout skips are logged
    },
    "evaluate-fanout": {
        "customers": "r",
        "journeys": "rw",
        "config": "r",
        "events": "r",
        "catalog": "r",
        "messages": "rw",  # holdout skips are logged
    },
    # The state machine's check step: audience, exits, caps, quiet hours.
    # Writes skip records (capped, exited, ...) and the shop's daily send counter.
    "journey-step": {"customers": "r", "journeys": "rw", "config": "rw", "events": "r", "messages": "rw"},
    # Records the intent first, renders, delivers; suppression and consent live on customers.
    "send": {
        "customers": "rw",  # consent history and suppression reads/writes
        "messages": "rw",
        "config": "r",
        "catalog": "r",
        "events": "rw",
    },
    # SES feedback: message status, suppression list, feedback events into the stream.
    "send-feedback": {
        "messages": "rw",
        "customers": "rw",
        "events": "rw",
        "config": "r",
    },
    # Unsubscribe (consent change) and tracked-link redirects.
    "links-api": {"customers": "rw", "events": "rw", "messages": "r", "config": "r"},
    # Nightly models: read behaviour, write recommendations and predictions onto profiles.
    "recommend-nightly": {"events": "r", "customers": "rw", "catalog": "r", "config": "r"},
    # Nightly KPI report to S3.
    "report-nightly": {"events": "r", "customers": "r", "messages": "r", "journeys": "r", "config": "r"},
}
