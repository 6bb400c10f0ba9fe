"""The HTTP wire format the SDKs speak: compressed bodies, error bodies, CORS.

One definition, used by the Lambda handler and the local API server alike.
"""

from __future__ import annotations

import zlib
from typing import Any

from kaeri.tracking.errors import InvalidRequest, ItemError
from kaeri.tracking.limits import MAX_REQUEST_BYTES

ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")

# CORS: a browser page on the shop's own domain posts with the public write key (analytics.js style).
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "Content-Encoding", "X-Requested-With")
CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "OPTIONS")
CORS_MAX_AGE = 600
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": ",".join(CORS_ALLOW_HEADERS),
    "Access-Control-Allow-Methods": ",".join(CORS_ALLOW_METHODS),
    "Access-Control-Max-Age": str(CORS_MAX_AGE),
}

# The `code` beside `errors[]`: Segment's and RudderStack's SDKs read `code` and `message`.
ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    413: "too_large",
    503: "unavailable",
}


def header(headers: dict[str, str] | None, name: str) -> str | None:
    """A header's value, whatever its case."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def _too_large(size_text: str) -> InvalidRequest:
    return InvalidRequest(
        [
            ItemError(
                None,
                "body",
                f"request is {size_text} bytes decoded; the limit is {MAX_REQUEST_BYTES} bytes (500 KB)",
            )
        ]
    )


def decode_body(raw: bytes, content_encoding: str | None) -> bytes:
    """The body with its Content-Encoding (gzip, deflate; several in order) undone.

    Decoding stops one byte past the request limit, so a small compressed bomb never expands in memory.
    """
    if not content_encoding:
        return raw
    data = raw
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):  # the last applied is listed last
        if coding not in ENCODINGS:
            raise InvalidRequest(
                [
                    ItemError(
                        None,
                        "Content-Encoding",
                        f"unsupported content coding; expected one of {', '.join(ENCODINGS)}",
                    )
                ]
            )
        if coding == "identity":
            continue
        data = _inflate(data, gzip=coding in ("gzip", "x-gzip"))
    return data


def _inflate(data: bytes, *, gzip: bool) -> bytes:
    # "deflate" is zlib-wrapped by the RFC, raw deflate by some clients: both are accepted.
    waits = (zlib.MAX_WBITS | 16,) if gzip else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in waits:
        decoder = zlib.decompressobj(wbits)
        try:
            out = decoder.decompress(data, MAX_REQUEST_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_REQUEST_BYTES or decoder.unconsumed_tail:
            raise _too_large(f"more than {MAX_REQUEST_BYTES}")
        if not decoder.eof:
            continue
        return out
    name = "gzip" if gzip else "deflate"
    raise InvalidRequest([ItemError(None, "body", f"the body is not valid {name} data (Content-Encoding)")])


def error_body(status: int, errors: list[ItemError]) -> dict[str, Any]:
    """`{"success": false, "code", "message", "errors": [...]}`: what every SDK we support parses."""
    first = errors[0] if errors else None
    message = first.message if first else "request failed"
    if first and first.field:
        where = f"[{first.index}] " if first.index is not None else ""
        message = f"{where}{first.field}: {first.message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return {
        "success": False,
        "code": ERROR_CODES.get(status, "error"),
        "message": message,
        "errors": [e.as_dict() for e in errors],
    }
