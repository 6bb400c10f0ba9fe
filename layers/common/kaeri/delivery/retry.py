"""Bounded exponential backoff with full jitter, on top of botocore's adaptive retries."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerErrorException",
        "TransactionConflictException",
    }
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    """A ClientError the service asks us to retry (throttling, 5xx)."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    return error_code(exc) in THROTTLING_CODES or status >= 500 or status == 429


class Backoff:
    def __init__(
        self,
        attempts: int = 6,
        base: float = 0.05,
        cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts, self.base, self.cap, self.sleep = attempts, base, cap, sleep

    def call(self, fn: Callable[[], T], retryable: Callable[[BaseException], bool] = is_transient) -> T:
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as exc:
                if attempt == self.attempts - 1 or not retryable(exc):
                    raise
                self.sleep(random.uniform(0, min(self.cap, self.base * 2**attempt)))
        raise AssertionError("unreachable")
