"""Segment HTTP Tracking API payloads: validation, identify traits and conversion to StoredEvent.

Every item of a request is validated before anything is stored, and every problem is reported with
the item's index and the field at fault, so an integrator can fix a batch in one go.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from kaeri.events import StoredEvent
from kaeri.profiles.customers import ADDR_PREFIX, ANON_PREFIX, POPULAR
from kaeri.tracking.errors import InvalidRequest, ItemError
from kaeri.tracking.limits import MAX_ERRORS_REPORTED, MAX_EVENT_BYTES, MAX_ID_CHARS
from kaeri.tracking.skew import corrected_timestamp
from kaeri.tracking.validation import (
    check_commerce,
    check_json,
    iso_time_problem,
    preview,
    time_problem,
    utc_time,
)
from kaeri.vocabulary import CHANNELS

CallType = Literal["track", "identify", "page", "screen", "alias", "group"]
RESERVED_USER_PREFIXES = (ANON_PREFIX, ADDR_PREFIX)  # customers-table key prefixes; see docs/tables.md
RESERVED_USER_IDS = frozenset({POPULAR})
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
CONSENT_STATUSES = frozenset({"granted", "revoked"})


def _id_text(value: Any) -> Any:
    """Segment SDKs may send numeric ids; they are stored as text. Booleans are not ids."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=MAX_ID_CHARS)]


class Call(BaseModel):
    """Fields common to every Segment call."""

    model_config = ConfigDict(extra="ignore")

    type: CallType | None = None
    userId: Id | None = None
    anonymousId: Id | None = None
    messageId: Id | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    integrations: dict[str, Any] = Field(default_factory=dict)

    @field_validator("userId")
    @classmethod
    def _not_reserved(cls, value: str | None) -> str | None:
        if value is not None and (value.startswith(RESERVED_USER_PREFIXES) or value in RESERVED_USER_IDS):
            raise ValueError(f"userId must not start with {' or '.join(RESERVED_USER_PREFIXES)} (reserved)")
        return value


class TrackCall(Call):
    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class IdentifyCall(Call):
    traits: dict[str, Any] = Field(default_factory=dict)


class PageCall(Call):
    name: str | None = None
    category: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class AliasCall(Call):
    userId: Id
    previousId: Id


class GroupCall(Call):
    groupId: Id
    traits: dict[str, Any] = Field(default_factory=dict)


MODELS: dict[str, type[Call]] = {
    "track": TrackCall,
    "identify": IdentifyCall,
    "page": PageCall,
    "screen": PageCall,
    "alias": AliasCall,
    "group": GroupCall,
}


class BatchEnvelope(BaseModel):
    """POST /v1/batch. Items are validated one by one so errors can name their index."""

    model_config = ConfigDict(extra="ignore")

    batch: list[Any] = Field(min_length=1)
    sentAt: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)


# Trait names scenarios read, with the camelCase spellings Segment SDKs and shops use.
TRAIT_ALIASES = {
    "firstName": "first_name",
    "lastName": "last_name",
    "lineUserId": "line_user_id",
    "pointsBalance": "points_balance",
    "pointsExpireOn": "points_expire_on",
    "createdAt": "created_at",
}


def _as_date(value: Any) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise ValueError(f"expected a date like 1990-04-01, got {preview(value)}")


def _consent(channel: str, value: Any, at: datetime, field: str) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"status": value}
    if not isinstance(value, dict):
        raise _TraitError(field, 'expected "granted", "revoked" or {"status": ..., "at": ..., "source": ...}')
    status = value.get("status")
    if status not in CONSENT_STATUSES:
        raise _TraitError(f"{field}.status", f"expected granted or revoked, got {preview(status)}")
    when = at
    if value.get("at") is not None:
        try:
            when = utc_time(datetime.fromisoformat(str(value["at"]).replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            raise _TraitError(
                f"{field}.at", f"expected an ISO 8601 time, got {preview(value['at'])}"
            ) from None
        assert when is not None
        problem = time_problem(when)
        if problem:
            raise _TraitError(f"{field}.at", problem)
    record: dict[str, Any] = {"status": status, "at": when.isoformat()}
    for extra in ("source", "wording_version"):
        if value.get(extra) is not None:
            if not isinstance(value[extra], str):
                raise _TraitError(f"{field}.{extra}", "expected a string")
            record[extra] = value[extra]
    return record


class _TraitError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalize_traits(traits: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Known traits under their canonical names, validated; every other trait kept as sent."""
    out: dict[str, Any] = {}
    for raw_name, value in traits.items():
        name = TRAIT_ALIASES.get(raw_name, raw_name)
        check = _TRAIT_CHECKS.get(name)
        out[name] = value if value is None or check is None else check(value, f"traits.{raw_name}", at)
    return out


def _email_trait(value: Any, field: str, at: datetime) -> Any:
    if not isinstance(value, str) or "@" not in value:
        raise _TraitError(field, f"expected an email address, got {preview(value)}")
    return value.strip()


def _string_trait(value: Any, field: str, at: datetime) -> Any:
    if not isinstance(value, str):
        raise _TraitError(field, "expected a string")
    return value


def _line_user_id_trait(value: Any, field: str, at: datetime) -> Any:
    if not isinstance(value, str) or not LINE_USER_ID.match(value):
        raise _TraitError(field, "expected a LINE user id: U followed by 32 hex digits")
    return value


def _timezone_trait(value: Any, field: str, at: datetime) -> Any:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise _TraitError(field, f"unknown IANA timezone {preview(value)}") from None
    return value


def _time_trait(value: Any, field: str, at: datetime) -> Any:
    problem = iso_time_problem(value)
    if problem:
        raise _TraitError(field, problem)
    return value


def _date_trait(value: Any, field: str, at: datetime) -> Any:
    try:
        return _as_date(value).isoformat()
    except ValueError as exc:
        raise _TraitError(field, str(exc)) from None


def _points_trait(value: Any, field: str, at: datetime) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _TraitError(field, "expected a whole number of points")
    try:
        number = float(value)
    except ValueError:
        raise _TraitError(field, f"expected a whole number of points, got {preview(value)}") from None
    if not math.isfinite(number) or number != int(number) or number < 0 or number > 2**53:
        raise _TraitError(field, f"expected a whole number of points >= 0, got {preview(value)}")
    return int(number)


def _consent_trait(value: Any, field: str, at: datetime) -> Any:
    if not isinstance(value, dict):
        raise _TraitError(field, 'expected an object like {"email": "granted"}')
    consent = {}
    for channel, given in value.items():
        if channel not in CHANNELS:
            raise _TraitError(f"{field}.{channel}", f"unknown channel; expected one of {', '.join(CHANNELS)}")
        consent[channel] = _consent(channel, given, at, f"{field}.{channel}")
    return consent


# The traits the projector reads, each with its check (value, field name, event time) -> stored value.
_TRAIT_CHECKS: dict[str, Callable[[Any, str, datetime], Any]] = {
    "email": _email_trait,
    "phone": _string_trait,
    "first_name": _string_trait,
    "last_name": _string_trait,
    "locale": _string_trait,
    "line_user_id": _line_user_id_trait,
    "timezone": _timezone_trait,
    "created_at": _time_trait,
    "birthday": _date_trait,
    "points_expire_on": _date_trait,
    "points_balance": _points_trait,
    "consent": _consent_trait,
}


def _field_of(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def event_size(item: Any) -> int:
    return len(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


_LIMIT = f"{MAX_EVENT_BYTES} bytes (32 KB)"


def parse_item(
    item: Any,
    index: int,
    *,
    call_type: str | None,
    shop_id: str,
    received_at: datetime,
    batch_sent_at: datetime | None = None,
    batch_context: dict[str, Any] | None = None,
    measure_size: bool = True,
) -> StoredEvent:
    """One Segment call to a StoredEvent, or InvalidRequest naming the item index and field."""

    def fail(field: str, message: str) -> InvalidRequest:
        return InvalidRequest([ItemError(index, field, message)])

    if not isinstance(item, dict):
        raise fail("body", f"expected a JSON object, got {type(item).__name__}")
    problems = check_json(item, index)
    if problems:
        raise InvalidRequest(problems)
    own_context = item.get("context")
    context = {**(batch_context or {}), **(own_context if isinstance(own_context, dict) else {})}
    if measure_size:
        # The event as stored: it carries the batch context it inherits, so that counts too.
        size = event_size({**item, "context": context}) if batch_context else event_size(item)
        if size > MAX_EVENT_BYTES:
            raise fail("body", f"event is {size} bytes with the batch context; the limit is {_LIMIT}")
    kind = call_type or item.get("type")
    model = MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise fail("type", f"expected one of {', '.join(MODELS)}, got {preview(kind)}")
    try:
        call = model.model_validate(item)
    except ValidationError as exc:
        errors = [ItemError(index, _field_of(e["loc"]), e["msg"]) for e in exc.errors()]
        raise InvalidRequest(errors) from None
    if not call.userId and not call.anonymousId:
        raise fail("userId", "either userId or anonymousId is required")

    timestamp = _event_time(call, batch_sent_at, received_at, fail)
    if isinstance(call, TrackCall | PageCall):
        problems = check_commerce(call.properties, index)
        if problems:
            raise InvalidRequest(problems)
        problem = iso_time_problem(call.properties.get("at"))  # consent-change times
        if problem:
            raise fail("properties.at", problem)
    values: dict[str, Any] = {
        "shop_id": shop_id,
        "message_id": call.messageId or str(uuid.uuid4()),
        "type": kind,
        "user_id": call.userId,
        "anonymous_id": call.anonymousId,
        "context": context,
        "timestamp": timestamp,
        "received_at": received_at,
        "source": "segment",
    }
    try:
        values |= _call_fields(call, timestamp)
    except _TraitError as exc:
        raise fail(exc.field, str(exc)) from None
    return StoredEvent(**values)


def _call_fields(call: Call, timestamp: datetime) -> dict[str, Any]:
    """What each call type adds to the stored event (event, traits, properties, previous id)."""
    if isinstance(call, TrackCall):
        return {"event": call.event, "properties": call.properties}
    if isinstance(call, IdentifyCall | GroupCall):
        values: dict[str, Any] = {"traits": normalize_traits(call.traits, timestamp)}
        if isinstance(call, GroupCall):
            values["properties"] = {"group_id": call.groupId}
        return values
    if isinstance(call, PageCall):
        properties = dict(call.properties)
        for key in ("name", "category"):
            value = getattr(call, key)
            if value is not None:
                properties.setdefault(key, value)
        return {"properties": properties}
    if isinstance(call, AliasCall):
        return {"previous_id": call.previousId}
    return {}


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _event_time(call: Call, batch_sent_at: datetime | None, received_at: datetime, fail: Any) -> datetime:
    """The skew-corrected time, or InvalidRequest when a time cannot be expressed in UTC or is out of range."""
    times: dict[str, datetime | None] = {}
    for name, value in (("timestamp", call.timestamp), ("sentAt", call.sentAt or batch_sent_at)):
        try:
            times[name] = utc_time(value)
        except OverflowError:
            raise fail(name, "time cannot be expressed in UTC (out of range)") from None
    timestamp = corrected_timestamp(times["timestamp"], times["sentAt"], received_at)
    if timestamp is None:
        raise fail("timestamp", "time after clock-skew correction (receivedAt - sentAt) is out of range")
    problem = time_problem(timestamp)
    if problem:
        raise fail("timestamp", f"after clock-skew correction: {problem}")
    return timestamp


def parse_request(
    body: Any, *, call_type: str | None, shop_id: str, received_at: datetime, body_bytes: int
) -> list[StoredEvent]:
    """Every event of a single call or a batch; InvalidRequest listing every bad item otherwise."""
    if call_type is not None:
        # A single call: the body is the event, so its size is the request's size.
        if body_bytes > MAX_EVENT_BYTES:
            raise InvalidRequest(
                [
                    ItemError(
                        0,
                        "body",
                        f"event is {body_bytes} bytes; the limit is {MAX_EVENT_BYTES} bytes (32 KB)",
                    )
                ]
            )
        return [
            parse_item(
                body, 0, call_type=call_type, shop_id=shop_id, received_at=received_at, measure_size=False
            )
        ]
    if not isinstance(body, dict):
        raise InvalidRequest([ItemError(None, "body", "expected a JSON object with a batch array")])
    if isinstance(body.get("context"), dict):
        problems = check_json(body["context"], None, ("context",))
        if problems:
            raise InvalidRequest(problems)
    try:
        envelope = BatchEnvelope.model_validate(body)
    except ValidationError as exc:
        raise InvalidRequest([ItemError(None, _field_of(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    events: list[StoredEvent] = []
    errors: list[ItemError] = []
    for index, item in enumerate(envelope.batch):
        try:
            events.append(
                parse_item(
                    item,
                    index,
                    call_type=None,
                    shop_id=shop_id,
                    received_at=received_at,
                    batch_sent_at=_utc(envelope.sentAt),
                    batch_context=envelope.context,
                )
            )
        except InvalidRequest as exc:
            errors.extend(exc.errors)
            if len(errors) >= MAX_ERRORS_REPORTED:
                break
    if errors:
        raise InvalidRequest(errors[:MAX_ERRORS_REPORTED])
    return events
