"""Count the AWS requests a run makes, with botocore's `before-call` / `after-call` hooks.

Nothing here runs in a Lambda: the harness installs the hooks on every client botocore builds while
it counts (the way kaeri_ops.local.inprocess reaches moto), and each call is attributed to the function
acting when it was made (kaeri_ops.local.iam.current_function). Calls made by nobody (the local stack's
own pollers, the driver) are kept apart: they play AWS services, they are not requests the
deployed system pays for.

DynamoDB is billed by size, so each write and read is turned into request units the way on-demand
mode bills them: a write is one WRU per started KB of the larger of the old and new item, again for
each global secondary index the item is in (projection ALL); a read is one RRU per started 4 KB of
what was read (half for an eventually consistent read), transactions twice. The item sizes come
from `item_size` (DynamoDB's documented sizing) over the request, the response or, when a lookup
can see it, the emulator's stored item.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
WRITE_UNIT = KB
READ_UNIT = 4 * KB
HARNESS = "(stack)"  # the actor of calls no function made

Lookup = Callable[[str, dict[str, Any]], dict[str, Any] | None]  # (table, key) -> stored item or None


def _number_size(text: str) -> int:
    """DynamoDB: about one byte per two significant digits, plus one byte."""
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    digits = digits.rstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's wire format ({"S": ...}, {"M": {...}}, ...)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"not a DynamoDB attribute value: {value!r}")


_WIRE_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"})


def _is_wire(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _WIRE_TYPES


def native_size(value: Any) -> int:
    """Bytes of one attribute given as a Python value (boto3's resource layer hands these around)."""
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, int | float | Decimal):
        return _number_size(str(value))
    if isinstance(value, bytes | bytearray):
        return len(value)
    if hasattr(value, "value") and isinstance(value.value, bytes | bytearray):  # boto3 Binary
        return len(value.value)
    if isinstance(value, set | frozenset):
        return sum(native_size(v) for v in value)
    if isinstance(value, list | tuple):
        return 3 + sum(1 + native_size(v) for v in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(str(k).encode("utf-8")) + native_size(v) for k, v in value.items())
    return len(str(value).encode("utf-8"))


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes DynamoDB bills an item as: attribute names plus values (wire format or Python values)."""
    if not item:
        return 0
    wire = all(_is_wire(v) for v in item.values())
    size = value_size if wire else native_size
    return sum(len(name.encode("utf-8")) + size(v) for name, v in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT))
    return float(units) if consistent else units / 2


@dataclass
class Usage:
    """What one actor (a function, or the stack) asked of AWS."""

    calls: Counter = field(default_factory=Counter)  # "service:Operation" -> requests
    wru: defaultdict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )  # table -> write request units (GSIs included)
    rru: defaultdict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )  # table -> read request units
    bytes_out: Counter = field(default_factory=Counter)  # service -> request body bytes (S3 PUTs)
    aws_seconds: float = 0.0  # wall time spent inside these calls (the emulator's work, locally)
    aws_cpu_seconds: float = 0.0  # CPU time of the calling thread inside them (moto runs in-process)


class CallCounter:
    """botocore hooks that count requests, request units and bytes per acting function.

    `table_indexes` names the global secondary indexes of each table and the key attributes each
    needs, so a write can be charged for the indexes the item is in.
    """

    def __init__(
        self,
        actor: Callable[[], str | None] = lambda: None,
        table_indexes: dict[str, list[tuple[str, ...]]] | None = None,
        lookup: Lookup | None = None,
    ) -> None:
        self.actor = actor
        self.table_indexes = table_indexes or {}
        self.lookup = lookup
        self.usage: dict[str, Usage] = defaultdict(Usage)
        self.active = True
        self._lock = threading.Lock()
        self._thread_aws_cpu: dict[int, float] = defaultdict(float)
        self.errors: Counter = Counter()  # calls whose units could not be worked out, by reason

    # botocore hooks (the request context is shared by one call's events) ----------------------

    def register(self, events: Any) -> None:
        """Attach to one botocore event system (a client's `meta.events`).

        Last to see the parameters and first to see the response: boto3's DynamoDB resource turns
        Python values into the wire format before us and back after us, so sizes are of the wire.
        """
        events.register_last("before-parameter-build", self.before_parameter_build)
        events.register("before-call", self.before_call)
        events.register_first("after-call", self.after_call)

    def handlers(self) -> list[tuple[Any, ...]]:
        """The same, as entries of botocore.handlers.BUILTIN_HANDLERS (every session built later)."""
        from botocore.handlers import REGISTER_FIRST, REGISTER_LAST

        return [
            ("before-parameter-build", self.before_parameter_build, REGISTER_LAST),
            ("before-call", self.before_call),
            ("after-call", self.after_call, REGISTER_FIRST),
        ]

    def before_parameter_build(self, params: Any = None, context: Any = None, **_: Any) -> None:
        if self.active and isinstance(context, dict) and isinstance(params, dict):
            context["kaeri_cost_params"] = dict(params)

    def before_call(self, model: Any = None, context: Any = None, **_: Any) -> None:
        if not self.active or model is None or not isinstance(context, dict):
            return
        request = context.get("kaeri_cost_params") or {}
        before = None
        if model.service_model.endpoint_prefix == "dynamodb":
            before = self._old_item(model.name, request)
        context["kaeri_cost_started"] = (time.perf_counter(), time.thread_time(), before)

    def after_call(self, model: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
        if not self.active or model is None or not isinstance(context, dict):
            return
        now = (time.perf_counter(), time.thread_time(), None)
        *started, before = context.get("kaeri_cost_started", now)
        request = context.get("kaeri_cost_params") or {}
        service = model.service_model.endpoint_prefix
        self._count(service, model.name, request, parsed or {}, before, (started[0], started[1]))

    def record(self, service: str, operation: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Count one call given directly, as the hooks would (tests, callers that are not botocore)."""
        before = self._old_item(operation, request) if service == "dynamodb" else None
        self._count(service, operation, request, response, before, (time.perf_counter(), time.thread_time()))

    def _count(
        self,
        service: str,
        operation: str,
        request: dict[str, Any],
        parsed: dict[str, Any],
        before: Any,
        started: tuple[float, float],
    ) -> None:
        elapsed = time.perf_counter() - started[0]
        elapsed_cpu = time.thread_time() - started[1]
        actor = self.actor() or HARNESS
        with self._lock:
            usage = self.usage[actor]
            usage.calls[f"{service}:{operation}"] += 1
            usage.aws_seconds += elapsed
            usage.aws_cpu_seconds += elapsed_cpu
            self._thread_aws_cpu[threading.get_ident()] += elapsed_cpu
            try:
                if service == "dynamodb":
                    self._dynamodb(usage, operation, request, parsed, before)
                elif service == "s3" and operation in ("PutObject", "UploadPart"):
                    usage.bytes_out["s3"] += _body_length(request.get("Body"))
            except Exception as exc:  # counting must never break the call; the miss is reported
                self.errors[f"{service}:{operation}: {type(exc).__name__}: {exc}"] += 1

    # DynamoDB request units --------------------------------------------------------------------

    def _old_item(self, operation: str, request: dict[str, Any]) -> dict[str, Any] | None:
        if self.lookup is None or operation not in ("PutItem", "UpdateItem", "DeleteItem"):
            return None
        key = request.get("Key") or _key_of(request.get("Item") or {}, ("pk", "sk"))
        return self._lookup(request.get("TableName", ""), key)

    def _lookup(self, table: str, key: dict[str, Any] | None) -> dict[str, Any] | None:
        if not key or self.lookup is None:
            return None
        try:
            return self.lookup(table, key)
        except Exception:  # an emulator detail; the request's own sizes still count
            return None

    def _charge_write(self, usage: Usage, table: str, old: dict | None, new: dict | None) -> None:
        size = max(item_size(old), item_size(new))
        usage.wru[table] += write_units(size)
        for keys in self.table_indexes.get(_logical(table), []):
            in_new = new is not None and bool(new) and all(k in new for k in keys)
            in_old = old is not None and bool(old) and all(k in old for k in keys)
            if in_new:
                usage.wru[table] += write_units(item_size(new))
            if in_old and (not in_new or any(old[k] != new[k] for k in keys)):  # type: ignore[index]
                usage.wru[table] += write_units(item_size(old))  # the old index entry is deleted

    def _dynamodb(
        self, usage: Usage, operation: str, request: dict[str, Any], parsed: dict[str, Any], before: Any
    ) -> None:
        table = request.get("TableName", "")
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self._single_write(usage, operation, table, request, "Error" in parsed, before)
        elif operation == "BatchWriteItem":
            self._batch_write(usage, request)
        elif operation == "TransactWriteItems":
            for entry in request.get("TransactItems") or []:
                (_kind, body), *_ = entry.items()
                item = body.get("Item") or body.get("Key") or {}
                usage.wru[body.get("TableName", "")] += 2 * write_units(
                    item_size(item)
                )  # twice: transactional
        elif operation in ("Query", "Scan"):
            usage.rru[table] += read_units(
                self._query_bytes(table, request, parsed), bool(request.get("ConsistentRead"))
            )
        else:
            self._item_reads(usage, operation, table, request, parsed)

    def _single_write(
        self, usage: Usage, operation: str, table: str, request: dict[str, Any], failed: bool, before: Any
    ) -> None:
        if failed:  # a write whose condition fails is charged for the item it judged
            usage.wru[table] += write_units(item_size(before))
        elif operation == "PutItem":
            self._charge_write(usage, table, before, request.get("Item"))
        elif operation == "UpdateItem":
            after = self._lookup(table, request.get("Key")) or request.get("Key")
            self._charge_write(usage, table, before, after)
        else:
            self._charge_write(usage, table, before, None)

    def _batch_write(self, usage: Usage, request: dict[str, Any]) -> None:
        for name, writes in (request.get("RequestItems") or {}).items():
            for write in writes:
                if "PutRequest" in write:
                    self._charge_write(usage, name, None, write["PutRequest"]["Item"])
                else:
                    self._charge_write(usage, name, write.get("DeleteRequest", {}).get("Key"), None)

    def _item_reads(
        self, usage: Usage, operation: str, table: str, request: dict[str, Any], parsed: dict[str, Any]
    ) -> None:
        if operation == "GetItem":
            item = parsed.get("Item")
            if request.get("ProjectionExpression") and item:
                item = self._lookup(table, request.get("Key")) or item
            usage.rru[table] += read_units(item_size(item), bool(request.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            for name, items in (parsed.get("Responses") or {}).items():
                ask = (request.get("RequestItems") or {}).get(name, {})
                for item in items:
                    usage.rru[name] += read_units(item_size(item), bool(ask.get("ConsistentRead")))
        elif operation == "TransactGetItems":
            for entry in parsed.get("Responses") or []:
                usage.rru[table or "transact"] += 2 * read_units(item_size(entry.get("Item")), True)

    def _query_bytes(self, table: str, request: dict[str, Any], parsed: dict[str, Any]) -> int:
        """Bytes a Query or Scan page is charged for: full items read, filtered ones included."""
        items = parsed.get("Items") or []
        sizes = [item_size(i) for i in items]
        if request.get("ProjectionExpression") and items:
            full = [self._lookup(table, _key_of(i, ("pk", "sk"))) for i in items]
            sizes = [item_size(f) if f else s for f, s in zip(full, sizes, strict=True)]
        read = sum(sizes)
        unreturned = max(0, int(parsed.get("ScannedCount", len(items))) - len(items))
        if unreturned:  # filtered out after the read: charged all the same, at the average size
            read += unreturned * (read // len(items) if items else 1)
        return read

    def aws_cpu_in_this_thread(self) -> float:
        """CPU seconds this thread has spent inside counted calls (the emulator's work, locally)."""
        return self._thread_aws_cpu.get(threading.get_ident(), 0.0)

    # totals ------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.usage.clear()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        previous, self.active = self.active, False
        try:
            yield
        finally:
            self.active = previous


def _body_length(body: Any) -> int:
    if isinstance(body, bytes | bytearray):
        return len(body)
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        body.seek(0, 2)
        size = body.tell()  # the whole body: checksum handlers may have read it already
        body.seek(position)
        return size
    return 0


def _key_of(item: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any] | None:
    key = {n: item[n] for n in names if n in item}
    return key or None


def _logical(table: str) -> str:
    return table.rsplit("-", 1)[-1]
