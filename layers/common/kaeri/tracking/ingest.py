"""The Segment-compatible ingest: validate a whole request, then store each event once."""

from __future__ import annotations

import json
from typing import Any

from kaeri import clock
from kaeri.aws import AwsClients
from kaeri.events import StoredEvent
from kaeri.tracking.errors import InvalidRequest, ItemError
from kaeri.tracking.limits import MAX_REQUEST_BYTES
from kaeri.tracking.segment import parse_request
from kaeri.tracking.store import EventStore


def parse_json_body(raw: str | bytes | None) -> Any:
    """The request body as JSON, enforcing the request size limit first."""
    data = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
    if len(data) > MAX_REQUEST_BYTES:
        raise InvalidRequest(
            [
                ItemError(
                    None,
                    "body",
                    f"request is {len(data)} bytes; the limit is {MAX_REQUEST_BYTES} bytes (500 KB)",
                )
            ]
        )
    if not data.strip():
        raise InvalidRequest([ItemError(None, "body", "empty body; expected a JSON object")])
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest([ItemError(None, "body", f"malformed JSON: {str(exc)[:120]}")]) from None
    except RecursionError:
        raise InvalidRequest([ItemError(None, "body", "JSON nested too deeply")]) from None


class IngestService:
    def __init__(self, clients: AwsClients, store: EventStore | None = None) -> None:
        self.clients = clients
        self.store = store or EventStore(clients)

    def ingest(self, shop_id: str, body: Any, *, call_type: str | None, body_bytes: int) -> list[StoredEvent]:
        """Validate everything, then store; nothing is written when any item is invalid.

        call_type is the endpoint's call ("track", "identify", ...) or None for /v1/batch.
        """
        events = parse_request(
            body, call_type=call_type, shop_id=shop_id, received_at=clock.now(), body_bytes=body_bytes
        )
        items = self.store.prepare(events)  # every item serialised before the first write
        self.store.put_items(items)
        return events
