"""The local archiver reads each stream record once and always comes back, whatever moto's numbering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from moto.dynamodb.models import dynamodb_backends

from kaeri.events import StoredEvent
from kaeri_ops.local.archiver import LocalArchiver
from kaeri_ops.local.parquet import ParquetArchive
from kaeri_ops.local.stack import EmbeddedStack

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def aws(tmp_path):
    """The local stack's clients (its moto serves the stream API); nothing is drained behind the test."""
    with EmbeddedStack(clock="manual", start=T0, archive_dir=str(tmp_path / "stack")) as stack:
        yield stack.clients


def _store(aws, first: int, count: int) -> None:
    table = aws.table("events")
    for i in range(first, first + count):
        at = T0 + timedelta(minutes=i)
        event = StoredEvent(
            shop_id="s",
            message_id=f"m{i}",
            user_id="u1",
            type="track",
            event="Product Viewed",
            properties={"product_id": "p1"},
            timestamp=at,
            received_at=at,
        )
        table.put_item(Item=event.to_item())


def _shard(aws):
    backend = dynamodb_backends[aws.client("sts").get_caller_identity()["Account"]][aws.settings.region]
    return backend.get_table(aws.settings.table("events")).stream_shard


def _repeat_a_number(shard, index: int) -> None:
    """What two racing writers left in moto: record `index` took its predecessor's number."""
    shard.items[index].record["dynamodb"]["SequenceNumber"] = shard.items[index - 1].record["dynamodb"][
        "SequenceNumber"
    ]


class BoundedStreams:
    """The stream client, failing the test where the reader would go on asking for ever."""

    def __init__(self, client, limit: int = 20) -> None:
        self.client, self.limit, self.calls = client, limit, 0

    def get_records(self, **kwargs):
        self.calls += 1
        assert self.calls <= self.limit, "the archiver keeps reading a stream that has nothing new"
        return self.client.get_records(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.fixture(params=[True, False], ids=["moto-in-process", "get-records"])
def read_backend(request) -> bool:
    return request.param


def _archiver(aws, tmp_path, read_backend: bool) -> LocalArchiver:
    archiver = LocalArchiver(aws, ParquetArchive(tmp_path), read_backend=read_backend)
    archiver._client = BoundedStreams(archiver._streams())
    return archiver


def test_a_repeated_sequence_number_at_the_end_of_the_stream_does_not_hold_the_read(
    aws, tmp_path, read_backend
):
    archiver = _archiver(aws, tmp_path, read_backend)
    _store(aws, 0, 3)
    assert archiver.poll_once() == 3
    _store(aws, 3, 2)
    shard = _shard(aws)
    _repeat_a_number(shard, len(shard.items) - 1)

    assert archiver.poll_once() == 2  # before the fix: the last record again and again, never returning
    assert archiver.poll_once() == 0
    assert [row["message_id"] for row in archiver._buffer["events"]] == [f"m{i}" for i in range(5)]


def test_each_record_is_read_once_over_many_polls(aws, tmp_path, read_backend):
    archiver = _archiver(aws, tmp_path, read_backend)
    reads = []
    for poll in range(3):
        _store(aws, 2 * poll, 2)
        reads.append(archiver.poll_once())
    assert reads == [2, 2, 2] and archiver.poll_once() == 0
    assert [row["message_id"] for row in archiver._buffer["events"]] == [f"m{i}" for i in range(6)]
