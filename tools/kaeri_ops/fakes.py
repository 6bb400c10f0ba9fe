"""In-memory fakes and fault injection for tests and the benchmark (no network)."""

from __future__ import annotations

import json
import random
import threading
from typing import Any

from botocore.exceptions import EndpointConnectionError

from kaeri.delivery.channels import OutboundMessage, ProviderRetryable


class FakeChannel:
    """Accepts every message; counts hand-offs per message id so tests can assert exactly-once."""

    def __init__(self, name: str = "email", fail_rate: float = 0.0, seed: int = 7) -> None:
        self.name = name
        self.sent: list[OutboundMessage] = []
        self._fail_rate = fail_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> str:
        with self._lock:
            if self._fail_rate and self._random.random() < self._fail_rate:
                raise ProviderRetryable("injected throttling")
            self.sent.append(message)
            return f"fake-{len(self.sent)}"


class Faulty:
    """Makes the named calls of a boto3 client or Table fail on a share of their HTTP attempts.

    Faults are injected below botocore's retry handler (a ``before-send`` hook on the client), as a
    flaky network would cause them: botocore's retry mode (kaeri.aws) retries them, and only a call
    whose every attempt failed reaches the caller. A failed attempt never reached the service (an
    EndpointConnectionError raised before moto's own hook), so it has no effect there. Use as a
    context manager: the hook is removed on exit (clients are shared process-wide).
    """

    def __init__(self, target: Any, rate: float, methods: tuple[str, ...], seed: int = 11) -> None:
        self._client = getattr(target.meta, "client", target)
        self._table = getattr(target, "name", None) if self._client is not target else None
        self._rate = rate
        mapping = self._client.meta.method_to_api_mapping
        self._operations = {mapping[m] for m in methods}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._service = self._client.meta.service_model.service_id.hyphenize()
        self._id = f"kaeri-faulty-{id(self)}"
        self.injected = 0

    def __enter__(self) -> Faulty:
        self._client.meta.events.register_first(f"before-send.{self._service}", self._maybe_fail, self._id)
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.meta.events.unregister(f"before-send.{self._service}", unique_id=self._id)

    def _maybe_fail(self, request: Any, event_name: str, **_: Any) -> Any:
        if event_name.rsplit(".", 1)[-1] not in self._operations:
            return None
        if self._table is not None and json.loads(request.body or b"{}").get("TableName") != self._table:
            return None  # a Table's client serves every table: only this one's calls fail
        with self._lock:
            if self._random.random() >= self._rate:
                return None
            self.injected += 1
        raise EndpointConnectionError(endpoint_url=request.url)
