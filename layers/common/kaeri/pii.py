"""Mask personal data before it reaches a log line.

Logs leave the tenant boundary (CloudWatch, log shippers, support tickets), so an email address, a
phone number, a LINE user id or a signed link token must never be written in full. `mask_text`
rewrites them inside any string; `masked` walks dicts and lists; `MaskingFormatter` applies the
same to every record a Powertools `Logger` writes (`Logger(logger_formatter=MaskingFormatter())`).

Masks keep just enough to tell two values apart in an incident (first character, domain, last
digits), never enough to contact the person.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

__all__ = [
    "MaskingFormatter",
    "mask_email",
    "mask_line_id",
    "mask_phone",
    "mask_text",
    "mask_token",
    "masked",
    "preview",
]

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-]+)@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")
# LINE user, group and room ids: U/C/R + 32 hex digits.
_LINE_ID = re.compile(r"\b([UCR])[0-9a-f]{32}\b")
# Link tokens: /v1/u/<token> or /v1/r/<token> (base64url body "." signature), and any bare
# base64url.base64url pair long enough to be one of ours.
_LINK_TOKEN = re.compile(r"(/v1/[ur]/)[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
_BARE_TOKEN = re.compile(r"\b[A-Za-z0-9_\-]{24,}\.[A-Za-z0-9_\-]{16,}\b")
# Phone numbers: E.164 (+819012345678) or national forms with separators (090-1234-5678).
_PHONE = re.compile(r"(?<![\w.])(\+?\d[\d\-()]{8,}\d)(?![\w.])")
_SECRET_KEYS = re.compile(r"(secret|token|password|authorization|api[_-]?key|write[_-]?key)", re.I)


def mask_email(address: str) -> str:
    """`hana.yamada@example.com` -> `h***@example.com`."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(number: str) -> str:
    """`+819012345678` -> `+81*****5678`; only the country prefix and the last 4 digits stay."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 10:  # dates (2026-12-01) and short codes are not phone numbers
        return number
    prefix = "+" + digits[:2] if number.strip().startswith("+") else ""
    return f"{prefix}*****{digits[-4:]}"


def mask_line_id(user_id: str) -> str:
    """`U` + 32 hex -> `U…` + last 4."""
    return f"{user_id[:1]}…{user_id[-4:]}"


def mask_token(token: str) -> str:
    """Never log a credential: only its length."""
    return f"<token:{len(token)} chars>"


def mask_text(text: str) -> str:
    """Mask every email, phone number, LINE id and link token inside free text."""
    if not text:
        return text
    text = _LINK_TOKEN.sub(lambda m: m.group(1) + "<token>", text)
    text = _BARE_TOKEN.sub("<token>", text)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _LINE_ID.sub(lambda m: mask_line_id(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), text)


def preview(value: Any, limit: int = 40) -> str:
    """A rejected value as it may appear in a log or an error: masked and cut to `limit` characters."""
    text = mask_text(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def masked(value: Any, key: str | None = None) -> Any:
    """A copy of `value` with personal data masked; values under secret-like keys are dropped."""
    if key is not None and _SECRET_KEYS.search(key) and value not in (None, ""):
        return mask_token(str(value))
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [masked(v) for v in value]
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with every field of every record masked (message and extras)."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        keep = {k: v for k, v in log.items() if k in ("level", "location", "timestamp", "service")}
        return super().serialize({**masked(log), **keep})
