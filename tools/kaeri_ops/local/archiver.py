"""The local stack's archive delivery: what Firehose does on AWS, played against moto's table streams.

Reads the events and messages streams in order, maps each new image to an archive row
(kaeri.archive.rows) and buffers them; `flush()` writes the buffer as Parquet files in the archive's
layout (like Firehose's buffering interval). The stack flushes before any scheduled job runs and
when it goes quiet, so the nightly job and the report always see every stored event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from kaeri import clock
from kaeri.archive.rows import event_row_from_item, message_row
from kaeri_ops.local.parquet import ParquetArchive
from kaeri_ops.local.streams import moto_lambda_record, moto_stream_shard

log = logging.getLogger("kaeri_ops.local")
_deserializer = TypeDeserializer()
# Logical table -> archive dataset.
ARCHIVED_TABLES = {"events": "events", "messages": "messages"}


@dataclass
class LocalArchiver:
    clients: Any  # kaeri.aws.AwsClients
    archive: ParquetArchive
    max_buffer: int = 20_000
    rows_written: int = 0
    _positions: dict[tuple[str, str], str] = field(default_factory=dict)
    read_backend: bool = True  # read moto's stream in-process (False: get_records over the API)
    # Records already read from moto's in-process stream shard, per logical table.
    _offsets: dict[str, int] = field(default_factory=dict)
    _buffer: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _last_version: datetime | None = None

    def _streams(self) -> Any:
        if not hasattr(self, "_client"):
            self._client = self.clients.client("dynamodbstreams")
            self._arns: dict[str, str] = {}
            for logical in ARCHIVED_TABLES:
                table = self.clients.dynamodb.describe_table(TableName=self.clients.settings.table(logical))
                self._arns[logical] = table["Table"]["LatestStreamArn"]
        return self._client

    def _version(self) -> datetime:
        """A strictly increasing archive time, so a message's later change always wins."""
        now = clock.now()
        if self._last_version is not None and now <= self._last_version:
            now = self._last_version + timedelta(milliseconds=1)
        self._last_version = now
        return now

    def poll_once(self) -> int:
        """Read every new stream record into the buffer; returns records read.

        moto runs in this process, so new records are read straight from its stream shard (as the
        stream poller does): serialising every record through get_records cost most of a demo's time.
        The get_records path is kept for a moto server in another process.
        """
        self._streams()
        read = 0
        for logical, arn in self._arns.items():
            shard = (
                moto_stream_shard(arn, self.clients.settings.table(logical)) if self.read_backend else None
            )
            if shard is None:
                return self._poll_api()
            start = self._offsets.get(logical, 0)
            new = shard.items[start:]
            for stored in new:
                self._add(logical, moto_lambda_record(stored.to_json(), "", self.clients.settings.region))
            self._offsets[logical] = start + len(new)
            read += len(new)
        if self.pending() >= self.max_buffer:
            self.flush()
        return read

    def _poll_api(self) -> int:
        client = self._streams()
        read = 0
        for logical, arn in self._arns.items():
            shards = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            for shard in shards:
                key = (logical, shard["ShardId"])
                kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard["ShardId"]}
                if key in self._positions:
                    kwargs |= {
                        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                        "SequenceNumber": self._positions[key],
                    }
                else:
                    kwargs["ShardIteratorType"] = "TRIM_HORIZON"
                iterator = client.get_shard_iterator(**kwargs)["ShardIterator"]
                last = int(self._positions[key]) if key in self._positions else None
                while iterator:
                    page = client.get_records(ShardIterator=iterator, Limit=1000)
                    # Only records past the last one read count: a page that does not move on ends
                    # the read, so a stream whose numbers repeat cannot hold it for ever.
                    records = [
                        r
                        for r in page.get("Records", [])
                        if last is None or int(r["dynamodb"]["SequenceNumber"]) > last
                    ]
                    for record in records:
                        self._add(logical, record)
                        self._positions[key] = record["dynamodb"]["SequenceNumber"]
                        last = int(record["dynamodb"]["SequenceNumber"])
                    read += len(records)
                    if not records:
                        break
                    iterator = page.get("NextShardIterator")
        if sum(len(rows) for rows in self._buffer.values()) >= self.max_buffer:
            self.flush()
        return read

    def _add(self, logical: str, record: dict[str, Any]) -> None:
        image = (record.get("dynamodb") or {}).get("NewImage")
        if not image or record.get("eventName") == "REMOVE":
            return  # TTL expiry and deletes leave the archive as it is
        item = {k: _deserializer.deserialize(v) for k, v in image.items()}
        try:
            if logical == "events":
                row: dict[str, Any] | None = event_row_from_item(item)
            else:
                row = message_row(item, self._version())
        except Exception:  # a malformed item must not stop the archive; it stays in its table
            log.warning("archive: could not map a %s item %s", logical, item.get("pk"), exc_info=True)
            return
        if row is not None:
            self._buffer.setdefault(ARCHIVED_TABLES[logical], []).append(row)

    def pending(self) -> int:
        return sum(len(rows) for rows in self._buffer.values())

    def flush(self) -> int:
        written = 0
        for dataset, rows in list(self._buffer.items()):
            if rows:
                written += self.archive.write(dataset, rows)
        self._buffer.clear()
        self.rows_written += written
        return written
