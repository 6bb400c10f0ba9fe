"""The DynamoDB stream -> Lambda event source mapping, played against moto's stream API.

Reads each shard in order, hands the function real-shaped batches (up to 100 records), honours
`batchItemFailures` by retrying from the first failed record, bisects a batch whose invocation
raises, and after `max_attempts` sets the record aside in `on_failure` (the deployed stack's
on-failure queue) so the shard keeps moving. A record set aside is never silent: it is logged and,
for an INSERT, quarantined with its error (kaeri.profiles.quarantine), so `kaeri events failed` lists
it and `kaeri events replay` applies it again.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kaeri_ops.definitions.topology import Function
from kaeri_ops.local.functions import FunctionRunner

log = logging.getLogger("kaeri_ops.local")


@dataclass
class FailedRecord:
    record: dict[str, Any]
    error: str
    attempts: int


@dataclass
class _Shard:
    shard_id: str
    position: int  # next sequence number to deliver
    batch_size: int
    attempts: int = 0  # failed attempts at `position`


def _attribute_to_event(value: dict[str, Any]) -> dict[str, Any]:
    """boto3's low-level attribute value to the JSON form a Lambda stream event carries (binary as base64)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode("ascii") for v in inner]}
    if kind == "M":
        return {"M": {k: _attribute_to_event(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_attribute_to_event(v) for v in inner]}
    return {kind: inner}


def _image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if image is None else {k: _attribute_to_event(v) for k, v in image.items()}


def _moto_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as moto stores it in a stream record, in the Lambda event's JSON form.

    moto keeps top-level binaries as their base64 text and nested ones as bytes; the event carries base64.
    """
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii") if isinstance(inner, bytes) else inner}
    if kind == "BS":
        return {"BS": [base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v for v in inner]}
    if kind == "M":
        return {"M": {k: _moto_attribute(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_moto_attribute(v) for v in inner]}
    if isinstance(inner, list):
        return {kind: list(inner)}
    return {kind: inner}


def moto_lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A stream record read from moto's backend, in the shape the Lambda service delivers it.

    Builds new containers throughout, so the handler can never modify moto's stored record.
    """
    ddb: dict[str, Any] = {}
    for name, value in (record.get("dynamodb") or {}).items():
        if name == "ApproximateCreationDateTime" and isinstance(value, datetime):
            created = value if value.tzinfo else value.replace(tzinfo=UTC)  # moto keeps naive UTC
            ddb[name] = int(created.timestamp())
        elif name in ("Keys", "NewImage", "OldImage"):
            ddb[name] = {k: _moto_attribute(v) for k, v in value.items()}
        else:
            ddb[name] = value
    return _envelope(record, ddb, stream_arn, region)


def _envelope(record: dict[str, Any], ddb: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """The Lambda service's stream record around one record's `dynamodb` part."""
    return {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }


def lambda_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A get_records record in the shape the Lambda service delivers it."""
    ddb = dict(record.get("dynamodb") or {})
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        ddb["ApproximateCreationDateTime"] = int(created.timestamp())
    for name in ("Keys", "NewImage", "OldImage"):
        if name in ddb:
            ddb[name] = _image(ddb[name])
    return _envelope(record, ddb, stream_arn, region)


def moto_stream_shard(stream_arn: str, table_name: str) -> Any:
    """moto's stream shard of `table_name` when moto runs in this process (the embedded stack), else None:
    readers then take new records straight from it instead of serialising them through get_records."""
    try:
        from moto.dynamodb.models import dynamodb_backends

        parts = stream_arn.split(":")
        return dynamodb_backends[parts[4]][parts[3]].get_table(table_name).stream_shard
    except Exception:
        log.debug("moto's DynamoDB backend is not reachable in-process", exc_info=True)
        return None


class _SetAside(Exception):
    """The error a stream record was set aside with, as the quarantine's reason."""


@dataclass
class StreamPoller:
    """One event source mapping: the stream of `table_name` -> `function`."""

    clients: Any  # kaeri.aws.AwsClients
    runner: FunctionRunner
    function: Function
    table_name: str
    batch_size: int = 100
    max_attempts: int = 3
    on_failure: list[FailedRecord] = field(default_factory=list)
    invocations: int = 0
    delivered: int = 0
    read_backend: bool = True  # read moto's stream in-process (False: get_records over the API)

    def __post_init__(self) -> None:
        self._backend_table: Any = None
        self._lock = threading.Lock()
        self._shards: dict[str, _Shard] = {}
        self._stream_arn: str | None = None
        self._refreshed = 0.0

    @property
    def stream_arn(self) -> str:
        if self._stream_arn is None:
            table = self.clients.dynamodb.describe_table(TableName=self.table_name)["Table"]
            self._stream_arn = table["LatestStreamArn"]
        return self._stream_arn

    def _streams(self) -> Any:
        if not hasattr(self, "_streams_client"):
            self._streams_client = self.clients.client("dynamodbstreams")
        return self._streams_client

    def _refresh_shards(self) -> None:
        description = self._streams().describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self._shards:
                start = int(shard["SequenceNumberRange"]["StartingSequenceNumber"])
                self._shards[shard["ShardId"]] = _Shard(shard["ShardId"], start, self.batch_size)

    def _moto_shard(self) -> Any:
        """moto's stream shard for the table: moto runs in this process, so the poller reads new records
        straight from its backend instead of serialising them through get_records. None when the
        backend cannot be reached that way (the API path is used then)."""
        if self._backend_table is None:
            self._backend_table = moto_stream_shard(self.stream_arn, self.table_name) or False
        return self._backend_table or None

    def poll_once(self) -> int:
        """Deliver at most one batch per shard; returns how many records were handled (0 = idle)."""
        with self._lock:
            moto_shard = self._moto_shard() if self.read_backend else None
            if moto_shard is not None:
                shard = self._shards.get(moto_shard.id)
                if shard is None:
                    start = int(moto_shard.starting_sequence_number)
                    shard = self._shards[moto_shard.id] = _Shard(moto_shard.id, start, self.batch_size)
                offset = shard.position - int(moto_shard.starting_sequence_number)
                if offset >= len(moto_shard.items):
                    return 0  # nothing written since the last batch: no call at all
                stored = moto_shard.items[offset : offset + shard.batch_size]
                return self._deliver(shard, [r.to_json() for r in stored], moto_lambda_record)
            if not self._shards or time.monotonic() - self._refreshed > 5:
                self._refresh_shards()
                self._refreshed = time.monotonic()
            return sum(self._poll_shard(shard) for shard in self._shards.values())

    def _poll_shard(self, shard: _Shard) -> int:
        streams = self._streams()
        iterator = streams.get_shard_iterator(
            StreamArn=self.stream_arn,
            ShardId=shard.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(shard.position),
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=shard.batch_size)["Records"]
        return self._deliver(shard, records, lambda_record)

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], shape: Any) -> int:
        if not records:
            return 0
        region = self.clients.settings.region
        event = {"Records": [shape(r, self.stream_arn, region) for r in records]}
        self.invocations += 1
        try:
            response = self.runner.invoke(self.function, event)
        except Exception as exc:
            log.warning(
                "%s raised on a batch of %d: %s", self.function.name, len(records), exc, exc_info=True
            )
            return self._failed(shard, records, 0, f"{type(exc).__name__}: {exc}", bisect=True)
        failures = [f.get("itemIdentifier") for f in (response or {}).get("batchItemFailures", []) or []]
        if failures:
            sequence = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
            indexes = [sequence[str(f)] for f in failures if str(f) in sequence]
            first = min(indexes) if indexes else 0  # an unknown identifier fails the whole batch, as on AWS
            self.delivered += first
            return max(1, first) + self._failed(
                shard, records, first, "reported in batchItemFailures", bisect=False
            )
        self.delivered += len(records)
        # Never re-read a delivered batch, even if moto's sequence numbers fall out of step with its
        # record list (seen once under parallel test workers: the poller re-delivered one batch for ever).
        shard.position = max(
            int(records[-1]["dynamodb"]["SequenceNumber"]) + 1, shard.position + len(records)
        )
        shard.attempts = 0
        shard.batch_size = self.batch_size
        return len(records)

    def _failed(
        self, shard: _Shard, records: list[dict[str, Any]], index: int, error: str, bisect: bool
    ) -> int:
        failed = records[index]
        shard.position = int(failed["dynamodb"]["SequenceNumber"])
        shard.attempts += 1
        if bisect and shard.batch_size > 1 and len(records) > 1:
            shard.batch_size = max(1, len(records) // 2)
            shard.attempts = 0
            return 1
        if shard.attempts >= self.max_attempts:
            log.error(
                "%s: giving up on stream record %s after %d attempts (%s); set aside as on-failure",
                self.function.name,
                shard.position,
                shard.attempts,
                error,
            )
            self.on_failure.append(FailedRecord(failed, error, shard.attempts))
            self._quarantine(failed, error)
            shard.position += 1
            shard.attempts = 0
            shard.batch_size = self.batch_size
        return 1

    def _quarantine(self, record: dict[str, Any], error: str) -> None:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            return
        from boto3.dynamodb.types import TypeDeserializer

        from kaeri.profiles.quarantine import Quarantine

        try:
            deserializer = TypeDeserializer()
            item = {k: deserializer.deserialize(v) for k, v in image.items()}
            Quarantine(self.clients).put(item, _SetAside(f"set aside by the stream after retries: {error}"))
        except Exception:
            log.exception(
                "%s: could not quarantine stream record %s", self.function.name, record.get("eventID")
            )
