"""Errors the tracking API answers with; the handler maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ItemError:
    """What is wrong with one item of a request: its index (None for the request as a whole) and field."""

    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


class InvalidRequest(Exception):
    """400: the request is rejected as a whole; nothing of it was stored."""

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__("; ".join(f"[{e.index}] {e.field}: {e.message}" for e in errors))
        self.errors = errors


def request_errors(errors: Sequence[Mapping[str, Any]], whole: str = "request") -> InvalidRequest:
    """A pydantic ValidationError's errors (``exc.errors()``) as one InvalidRequest, field by field."""
    return InvalidRequest(
        [ItemError(None, ".".join(str(p) for p in e["loc"]) or whole, e["msg"]) for e in errors]
    )


class Unauthorized(Exception):
    """401: missing or unknown write key, or a webhook signature that does not verify."""


class Forbidden(Exception):
    """403: a valid credential that is not trusted for this route (the public write key on a server
    route, a customer token for another customer)."""
