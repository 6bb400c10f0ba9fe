"""The one check every tracked value passes before anything is written.

DynamoDB, the stream projector and the scenarios meet exactly what the track API stores, so whatever
they could not hold or read is refused here, with the item's index and the field's path: numbers
DynamoDB cannot hold, strings that do not encode as UTF-8 (lone surrogates, in values and keys),
nesting deeper than MAX_DEPTH, times outside [MIN_TIME, MAX_TIME), and e-commerce fields of the wrong
shape. The limits are listed in docs/tracking.md.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, overload

from kaeri.tracking.errors import ItemError
from kaeri.tracking.limits import (
    MAX_DEPTH,
    MAX_ERRORS_REPORTED,
    MAX_EXPONENT,
    MAX_NUMBER_DIGITS,
    MAX_TIME,
    MIN_EXPONENT,
    MIN_TIME,
)

# Amounts the projector adds up; each must be a finite number >= 0 (a refund is stated positive).
AMOUNT_FIELDS = ("price", "total", "revenue", "value", "subtotal", "tax", "discount", "shipping")
COUNT_FIELDS = ("quantity",)
PREVIEW_CHARS = 32


def preview(value: Any) -> str:
    """A rejected value as error text: ASCII-escaped and cut short, never echoed in full."""
    text = ascii(value)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _path(parts: tuple[Any, ...]) -> str:
    return ".".join(str(p) if _encodes(str(p)) else ascii(p) for p in parts) or "body"


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def number_problem(value: Any) -> str | None:
    """Why DynamoDB cannot hold this number (None when it can)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite (NaN and Infinity are not JSON numbers)"
    try:
        number = (
            value if isinstance(value, Decimal) else Decimal(value if isinstance(value, int) else repr(value))
        )
    except (InvalidOperation, ValueError):
        return "not a number"
    if not number.is_finite():
        return "numbers must be finite"
    if number.is_zero():
        return None
    digits = len(number.as_tuple().digits)
    if isinstance(value, int) and digits > MAX_NUMBER_DIGITS:
        return f"integers have at most {MAX_NUMBER_DIGITS} digits"
    if digits > MAX_NUMBER_DIGITS:
        return f"numbers have at most {MAX_NUMBER_DIGITS} significant digits"
    if not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        return f"numbers must lie between 1E{MIN_EXPONENT} and 9.9E+{MAX_EXPONENT} in magnitude (or be 0)"
    return None


def check_json(value: Any, index: int | None, prefix: tuple[Any, ...] = ()) -> list[ItemError]:
    """Every value DynamoDB could not hold, walked without recursion (depth counts objects/arrays)."""
    errors: list[ItemError] = []
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(value, prefix, 0)]
    while stack and len(errors) < MAX_ERRORS_REPORTED:
        current, path, depth = stack.pop()
        if isinstance(current, dict | list):
            if depth >= MAX_DEPTH:
                errors.append(
                    ItemError(index, _path(path), f"nested more than {MAX_DEPTH} objects or arrays deep")
                )
                continue
            if isinstance(current, dict):
                for key, child in current.items():
                    if not isinstance(key, str):
                        errors.append(ItemError(index, _path(path), "object keys must be strings"))
                        continue
                    if not _encodes(key):
                        errors.append(
                            ItemError(index, _path((*path, key)), "key is not valid UTF-8 (lone surrogate)")
                        )
                        continue
                    stack.append((child, (*path, key), depth + 1))
            else:
                stack.extend((child, (*path, i), depth + 1) for i, child in enumerate(current))
        elif isinstance(current, str):
            if not _encodes(current):
                errors.append(ItemError(index, _path(path), "text is not valid UTF-8 (lone surrogate)"))
        elif isinstance(current, bool) or current is None:
            continue
        elif isinstance(current, int | float | Decimal):
            problem = number_problem(current)
            if problem:
                errors.append(ItemError(index, _path(path), problem))
        else:
            errors.append(
                ItemError(index, _path(path), f"unsupported value of type {type(current).__name__}")
            )
    return errors


def _amount(value: Any, count: bool) -> str | None:
    """Why an amount or count is unusable (None when fine). Numeric strings are accepted."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "expected a number, got a boolean"
    number: Decimal | None
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return "expected a finite number"
        number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return f"expected a number, got {preview(value)}"
        if not number.is_finite():
            return "expected a finite number"
        if number_problem(float(number)) or len(number.normalize().as_tuple().digits) > MAX_NUMBER_DIGITS:
            return "number out of range"
    else:
        return f"expected a number, got {type(value).__name__}"
    if number < 0:
        return "must not be negative"
    if count and number != number.to_integral_value():
        return "expected a whole number"
    return None


def check_commerce(
    properties: dict[str, Any], index: int | None, prefix: str = "properties"
) -> list[ItemError]:
    """E-commerce fields the profile projector reads: amounts, quantities and products[]."""
    errors: list[ItemError] = []

    def check_fields(values: dict[str, Any], where: str) -> None:
        for name in (*AMOUNT_FIELDS, *COUNT_FIELDS):
            if name in values:
                problem = _amount(values[name], name in COUNT_FIELDS)
                if problem:
                    errors.append(ItemError(index, f"{where}.{name}", problem))

    check_fields(properties, prefix)
    if "products" in properties and properties["products"] is not None:
        products = properties["products"]
        if not isinstance(products, list):
            errors.append(
                ItemError(
                    index,
                    f"{prefix}.products",
                    f"expected an array of objects, got {type(products).__name__}",
                )
            )
        else:
            for i, product in enumerate(products):
                if not isinstance(product, dict):
                    errors.append(
                        ItemError(
                            index,
                            f"{prefix}.products.{i}",
                            f"expected an object, got {type(product).__name__}",
                        )
                    )
                else:
                    check_fields(product, f"{prefix}.products.{i}")
    return errors


@overload
def utc_time(value: datetime) -> datetime: ...


@overload
def utc_time(value: None) -> None: ...


def utc_time(value: datetime | None) -> datetime | None:
    """A time in UTC (naive means UTC); OverflowError when it cannot be expressed there."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def time_problem(value: datetime) -> str | None:
    if not MIN_TIME <= value < MAX_TIME:
        return f"time out of range: must be from {MIN_TIME:%Y-%m-%d} up to {MAX_TIME:%Y-%m-%d} (UTC)"
    return None


def iso_time_problem(value: Any) -> str | None:
    """Why an ISO 8601 time the projector will read is unusable; None when fine or not a time at all."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        when = utc_time(when)
    except ValueError:
        return None  # not a time: the projector ignores it
    except OverflowError:
        return "time cannot be expressed in UTC (out of range)"
    return time_problem(when) if when else None
