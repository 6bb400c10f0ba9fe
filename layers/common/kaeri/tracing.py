"""The one X-Ray tracer of the Lambda handlers (Powertools), decorating each handler:

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event, context): ...

On Lambda (tracing ACTIVE in the CDK app) it records each invocation with its cold start and a
subsegment per AWS call (botocore is patched: every AWS call Kaeri makes goes through it). Responses
and errors are not attached to traces (POWERTOOLS_TRACER_CAPTURE_RESPONSE/ERROR=false in the CDK app):
they can hold personal data.

Outside Lambda (tests, the local stack, the benches) Powertools disables tracing by itself; there the
tracer gets a provider that records nothing, so the X-Ray SDK's recorder is never built: off Lambda it
creates two botocore clients for sampling at import, about 100 ms of every fresh interpreter's start.
On Lambda only botocore is patched: X-Ray's patch_all would also import requests, sqlite3, httpx and
the like to patch them, which Kaeri does not call (cold-start time for nothing).
"""

from __future__ import annotations

import numbers
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

PATCHED_MODULES = ("botocore",)


class _Untraced(BaseSegment):
    """A subsegment that records nothing."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(
        self, exception: BaseException, stack: list[traceback.StackSummary], remote: bool = False
    ) -> None:
        return None


class Untraced(BaseProvider):
    """The provider where tracing is off: the handler runs as it is, nothing is recorded or patched."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield _Untraced()

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield _Untraced()

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


def build_tracer() -> Tracer:
    """Powertools' own rule decides whether tracing is on (off outside Lambda, under SAM local or with
    POWERTOOLS_TRACE_DISABLED); only when it is on is the X-Ray recorder built."""
    if Tracer._is_tracer_disabled():  # the rule Tracer() applies to itself
        return Tracer(provider=Untraced(), disabled=True)
    return Tracer(patch_modules=PATCHED_MODULES)


tracer = build_tracer()
