"""The request counter: a known sequence of DynamoDB, S3 and SES calls gives known counts and units."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from kaeri_ops.cost.counter import CallCounter, item_size, read_units, value_size, write_units


def test_item_size_follows_dynamodb_sizing():
    # name bytes + value bytes; a number is about one byte per two significant digits, plus one
    assert item_size({"n": {"S": "abc"}}) == 4
    assert value_size({"N": "123.45"}) == 4
    assert value_size({"N": "1000"}) == 2
    assert value_size({"BOOL": True}) == 1
    assert item_size({"m": {"M": {"a": {"S": "b"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": [{"S": "xy"}, {"N": "7"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"名": {"S": "データ"}}) == 3 + 9  # UTF-8 bytes, not characters


def test_units_round_up_like_on_demand_billing():
    assert write_units(1) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(0, consistent=False) == 0.5  # an empty read still costs the minimum


@pytest.fixture
def table():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(
            TableName="kaeri-things",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_g",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _counter(actor: list[str]) -> CallCounter:
    from kaeri_ops.cost.harness import _backend_lookup

    return CallCounter(actor=lambda: actor[0], table_indexes={"things": [("g",)]}, lookup=_backend_lookup())


def test_a_known_call_sequence_is_counted_per_function(table):
    actor = ["track-api"]
    counter = _counter(actor)
    counter.register(table.meta.events)
    big = "x" * 2000  # item: pk (2 + 10) + data (4 + 2000) = 2,016 bytes -> 2 WRU
    table.put_item(TableName="kaeri-things", Item={"pk": {"S": "a" * 10}, "data": {"S": big}})
    # in the index too: another 2 WRU for the GSI copy (item 2,016 + g (1 + 1) = 2,018 bytes)
    table.put_item(
        TableName="kaeri-things", Item={"pk": {"S": "b" * 10}, "data": {"S": big}, "g": {"S": "1"}}
    )
    actor[0] = "send-message"
    table.get_item(TableName="kaeri-things", Key={"pk": {"S": "a" * 10}})  # eventual: 0.5 RRU
    table.get_item(TableName="kaeri-things", Key={"pk": {"S": "a" * 10}}, ConsistentRead=True)  # 1
    with pytest.raises(table.exceptions.ConditionalCheckFailedException):
        table.put_item(  # fails on the existing 2,016-byte item: charged 2 WRU all the same
            TableName="kaeri-things",
            Item={"pk": {"S": "a" * 10}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    track, send = counter.usage["track-api"], counter.usage["send-message"]
    assert track.calls == {"dynamodb:PutItem": 2}
    assert track.wru["kaeri-things"] == 2 + (2 + 2)
    assert send.calls == {"dynamodb:GetItem": 2, "dynamodb:PutItem": 1}
    assert send.rru["kaeri-things"] == 0.5 + 1
    assert send.wru["kaeri-things"] == 2
    assert not counter.errors


def test_an_update_is_charged_for_the_larger_image_and_its_index_moves(table):
    actor = ["evaluate-step"]
    counter = _counter(actor)
    table.put_item(TableName="kaeri-things", Item={"pk": {"S": "k"}, "g": {"S": "old"}})
    counter.register(table.meta.events)
    table.update_item(
        TableName="kaeri-things",
        Key={"pk": {"S": "k"}},
        UpdateExpression="SET g = :g, body = :b",
        ExpressionAttributeValues={":g": {"S": "new"}, ":b": {"S": "y" * 1500}},
    )
    usage = counter.usage["evaluate-step"]
    # table: larger image ~1.5 KB -> 2; index: new entry 2, old entry (a few bytes) deleted 1
    assert usage.wru["kaeri-things"] == 2 + 2 + 1


def test_a_query_is_charged_for_what_it_read_including_what_the_filter_dropped(table):
    for n in range(6):
        table.put_item(
            TableName="kaeri-things", Item={"pk": {"S": f"p{n}"}, "g": {"S": "same"}, "v": {"N": str(n)}}
        )
    actor = ["report-nightly"]
    counter = _counter(actor)
    counter.register(table.meta.events)
    found = table.query(
        TableName="kaeri-things",
        IndexName="by_g",
        KeyConditionExpression="g = :g",
        FilterExpression="v > :three",
        ExpressionAttributeValues={":g": {"S": "same"}, ":three": {"N": "3"}},
    )
    assert found["Count"] == 2 and found["ScannedCount"] == 6
    usage = counter.usage["report-nightly"]
    assert usage.calls == {"dynamodb:Query": 1}
    assert usage.rru["kaeri-things"] == 0.5  # six small items: well under 4 KB, eventually consistent


def test_s3_bytes_and_other_services_are_counted_and_nothing_is_counted_when_paused():
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        s3.create_bucket(
            Bucket="kaeri-reports", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        counter = CallCounter(actor=lambda: "report-nightly")
        counter.register(s3.meta.events)
        s3.put_object(Bucket="kaeri-reports", Key="a.html", Body=b"x" * 1234)
        with counter.paused():
            s3.put_object(Bucket="kaeri-reports", Key="b.html", Body=b"y" * 99)
        usage = counter.usage["report-nightly"]
        assert usage.calls == {"s3:PutObject": 1}
        assert usage.bytes_out["s3"] == 1234


def test_calls_made_by_no_function_are_kept_apart():
    counter = CallCounter(actor=lambda: None)
    counter.record("sqs", "ReceiveMessage", {}, {})
    assert set(counter.usage) == {"(stack)"}


def test_python_values_from_the_resource_layer_are_sized_the_same():
    from decimal import Decimal

    wire = {"pk": {"S": "shop#c1"}, "n": {"N": "1200"}, "ok": {"BOOL": True}, "m": {"M": {"a": {"S": "b"}}}}
    native = {"pk": "shop#c1", "n": Decimal(1200), "ok": True, "m": {"a": "b"}}
    assert item_size(native) == item_size(wire)
