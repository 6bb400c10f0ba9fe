"""Faster paths through moto for the local stack, with the same answers.

moto is written to be correct, not fast, and a few of its paths grow with the size of a table (or
with the number of executions) on every request. A demo shop of a few thousand customers makes
tens of thousands of requests against tables of tens of thousands of items, so these paths decide
whether the local stack takes minutes or hours. Each speed-up below changes how moto finds its
answer, never the answer (tests/local/test_moto_speedups.py runs the same requests with and without
them and compares the responses):

* Query. moto lists every item of the table, sorted by primary key with its own (slow) value
  comparisons, and then keeps the items of the queried partition. The listing is only filtered and
  re-sorted afterwards, so during a query it is handed just the candidates, unsorted: the items of
  the partition for a table query, the items whose index hash key matches for an index query.
* UpdateItem. moto checks "one SET / REMOVE / ADD / DELETE clause each" on every node of the
  expression's tree, and each check walks the node's whole subtree: quadratic in the number of
  actions. The check at the root sees every clause, so only the root is checked.
* Every request. moto lists its handler class's methods (with `inspect.getmembers`) to find the
  action's method; a class's methods do not change, so the list is kept per class.
* Responses of the item operations (GetItem, Query, PutItem, ...). moto builds them as plain JSON
  ready dicts and then walks them against the botocore model one attribute at a time. For these
  operations the dict already has the wire shape (attribute values are `{"S": ...}`, `{"N": ...}`),
  so it is dumped as JSON directly. A response holding a binary value (`"B"` / `"BS"`, which the
  walk base64-encodes) takes moto's own path, as does any error.
* StartExecution. moto looks for an execution of the same name among all executions of the state
  machine; a set of the names seen answers "no such name" without the scan.

`install()` applies them (idempotent) on the moto releases they were checked against (TESTED_MOTO;
another release runs as released); `uninstall()` restores moto's own methods.

One change is a fix, not a speed-up, and is installed on every moto release:

* Stream records. moto numbers a table's stream record `len(records) + start` and then appends it,
  with no lock. The local stack serves requests in the calling threads, and the track API writes a
  batch's events in parallel, so two writers could take one number: the record list and the
  sequence numbers fell out of step, and a stream reader asking for the records after the last one
  it read (AFTER_SEQUENCE_NUMBER) got that last record again, for ever (the demo hung at 100% CPU
  in the archiver). The number and the append are made one step under a lock.
"""

from __future__ import annotations

import json
import threading
from typing import Any

# (class, attribute) -> (moto's original, whether the class defined it itself rather than inherit it)
_installed: dict[tuple[Any, str], tuple[Any, bool]] = {}
_stream_lock = threading.RLock()  # one stream record numbered and appended at a time, process-wide
_query = threading.local()  # the query in progress in this thread: (table, index, hash key, conditions)

ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
_BINARY_MARKERS = ('"B": ', '"BS": ')


def _same_key(value: Any, expected: Any) -> bool:
    """DynamoType equality, comparing strings without moto's casting (exactly what __eq__ gives)."""
    if value is None or value.type != expected.type:
        return False
    if value.type == "S":
        return bool(value.value == expected.value)
    return bool(value == expected)


def _items_of(table: Any, partition: Any) -> list[Any]:
    """The items of one partition (moto's defaultdict can hold an empty dict for a missing key)."""
    if isinstance(partition, dict):
        return list(partition.values()) if table.range_key_attr else []
    return [partition]


def _patched_all_items(original: Any) -> Any:
    def all_items(self: Any) -> list[Any]:
        current = getattr(_query, "current", None)
        if current is None or current[0] is not self:
            return list(original(self))
        _, index_name, hash_key, conditions = current
        if index_name is None and hash_key is not None:
            partition = self.items.get(hash_key)
            return [] if partition is None else _items_of(self, partition)
        candidates: list[Any] = []
        if len(conditions) == 1 and conditions[0][1].type == "S":
            # The usual index query (one string hash key) in a single pass over the table.
            name, wanted = conditions[0][0], conditions[0][1].value
            for partition in self.items.values():
                for item in _items_of(self, partition):
                    value = item.attrs.get(name)
                    if value is not None and value.type == "S" and value.value == wanted:
                        candidates.append(item)
            return candidates
        for partition in self.items.values():
            candidates.extend(_items_of(self, partition))
        if conditions:
            candidates = [
                item
                for item in candidates
                if all(_same_key(item.attrs.get(name), value) for name, value in conditions)
            ]
        return candidates

    return all_items


def _patched_query(original: Any) -> Any:
    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        conditions = kwargs.get("hash_key_conditions") or []
        previous = getattr(_query, "current", None)
        _query.current = (self, index_name, hash_key, conditions)
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            _query.current = previous

    return query


def _patched_count_traverse(original: Any) -> Any:
    # Defined by moto at runtime; its package does not declare it to type checkers.
    from moto.dynamodb.parsing.ast_nodes import UpdateExpression  # type: ignore[attr-defined]

    def traverse(self: Any, node: Any) -> Any:
        # The traversal only checks (it returns every node unchanged); the root's check sees every
        # clause, so it is the only one made.
        if isinstance(node, UpdateExpression):
            self.verify_action_counts(node)
        return node

    return traverse


def _patched_method_names(original: Any) -> Any:
    known: dict[Any, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        names = known.get(clazz)
        if names is None:
            names = known[clazz] = original(clazz)
        return names

    return method_names_from_class


def _patched_execute_result(original: Any) -> Any:
    from moto import settings

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if context.operation_model.name not in ITEM_OPERATIONS or not isinstance(result, dict):
            return original(self, context)
        try:
            body = json.dumps(result, indent=4 if settings.PRETTIFY_RESPONSES else None)
        except TypeError:  # bytes of a binary value
            return original(self, context)
        if any(marker in body for marker in _BINARY_MARKERS):
            return original(self, context)
        status = context.operation_model.http.get("responseCode", 200)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        return status, {"Content-Type": f"application/x-amz-json-{version}"}, body

    return execute_result


def _patched_idempotency(original: Any) -> Any:
    def handle_name_input_idempotency(self: Any, name: str, execution_input: str) -> Any:
        names: set[str] = self.__dict__.setdefault("_kaeri_names", set())
        seen = self.__dict__.get("_kaeri_seen", 0)
        if seen < len(self.executions):
            names.update(execution.name for execution in self.executions[seen:])
            self.__dict__["_kaeri_seen"] = len(self.executions)
        if name not in names:
            return None
        return original(self, name, execution_input)

    return handle_name_input_idempotency


def _patched_stream_add(original: Any) -> Any:
    def add(self: Any, old: Any, new: Any) -> None:
        with _stream_lock:
            original(self, old, new)

    return add


def _fixes() -> list[tuple[Any, str, Any]]:
    """Corrections of moto's answers, on every release that has the method."""
    from moto.dynamodb.models.table import StreamShard

    return [(StreamShard, "add", _patched_stream_add)] if hasattr(StreamShard, "add") else []


def _targets() -> list[tuple[Any, str, Any]]:
    from moto.core import responses as moto_responses
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.parsing.validators import ActionCountValidator
    from moto.dynamodb.responses import DynamoResult
    from moto.stepfunctions.models import StateMachine

    return [
        (Table, "all_items", _patched_all_items),
        (Table, "query", _patched_query),
        (ActionCountValidator, "traverse", _patched_count_traverse),
        (moto_responses, "method_names_from_class", _patched_method_names),
        (DynamoResult, "execute_result", _patched_execute_result),
        (StateMachine, "_handle_name_input_idempotency", _patched_idempotency),
    ]


TESTED_MOTO = ((5, 1), (5, 3))  # moto versions whose internals these were written and checked against


def applicable() -> bool:
    """True for a moto release in TESTED_MOTO; another one runs as released (slower, never wrong)."""
    from importlib.metadata import version

    try:
        release = tuple(int(part) for part in version("moto").split(".")[:2])
    except (ValueError, LookupError):
        return False
    return TESTED_MOTO[0] <= release < TESTED_MOTO[1]


def install() -> None:
    """Apply the fixes, and every speed-up on a tested moto, in this process (idempotent)."""
    for cls, name, patch in _fixes() + (_targets() if applicable() else []):
        if (cls, name) in _installed:
            continue
        own = name in cls.__dict__
        original = cls.__dict__[name] if own else getattr(cls, name)
        _installed[(cls, name)] = (original, own)
        setattr(cls, name, patch(original))


def uninstall() -> None:
    """Put moto's own methods back."""
    for (cls, name), (original, own) in list(_installed.items()):
        if own:
            setattr(cls, name, original)
        else:
            delattr(cls, name)  # inherited again
        del _installed[(cls, name)]


def installed() -> bool:
    """Whether the speed-ups are in place (the fixes go with them, and on any moto release)."""
    fixes = {(cls, name) for cls, name, _ in _fixes()}
    return any(key not in fixes for key in _installed)
