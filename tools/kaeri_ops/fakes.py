"""In-memory fakes and fault injection for tests and the benchmark (no network)."""

from __future__ import annotations

import random
import threading
from typing import Any

from botocore.exceptions import ClientError

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


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Injected",
    )


class Faulty:
    """Wraps a boto3 client or Table: the named calls fail on a share of invocations, before the call.

    Errors alternate between throttling and a 5xx, the two kinds the send must survive.
    """

    def __init__(self, target: Any, rate: float, methods: tuple[str, ...], seed: int = 11) -> None:
        self._target = target
        self._rate = rate
        self._methods = set(methods)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if name not in self._methods or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                fail = self._random.random() < self._rate
                if fail:
                    self.injected += 1
                    kind = self.injected % 2
            if fail:
                raise (
                    client_error("ThrottlingException", 400) if kind else client_error("InternalFailure", 500)
                )
            return attr(*args, **kwargs)

        return call
