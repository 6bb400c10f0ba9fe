"""The local stack's moto speed-ups give the very answers moto gives without them.

Each scenario runs twice on a fresh moto, once with kaeri_ops.local.moto_speedups installed and once
without, and every response (or error) is compared.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from kaeri_ops.local import moto_speedups

REGION = "ap-northeast-1"
untested_moto = pytest.mark.skipif(
    not moto_speedups.applicable(), reason="this moto release is not one the speed-ups were checked against"
)


def _both(scenario: Callable[[], list[Any]]) -> tuple[list[Any], list[Any]]:
    results = []
    for patched in (False, True):
        if patched:
            moto_speedups.install()
        try:
            with mock_aws():
                results.append(scenario())
        finally:
            moto_speedups.uninstall()
    return results[0], results[1]


def _outcome(call: Callable[[], dict[str, Any]]) -> Any:
    try:
        response = call()
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"], exc.response["Error"].get("Message"))
    response.pop("ResponseMetadata", None)
    return response


def _tables(ddb: Any) -> None:
    ddb.create_table(
        TableName="events",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "shop", "AttributeType": "S"},
            {"AttributeName": "ts", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_shop_time",
                "KeySchema": [
                    {"AttributeName": "shop", "KeyType": "HASH"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_score",
                "KeySchema": [{"AttributeName": "score", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="messages",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_customer",
                "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _fill(ddb: Any, rng: random.Random) -> None:
    for i in range(300):
        item: dict[str, Any] = {
            "pk": {"S": f"c{rng.randrange(12)}"},
            "sk": {"S": f"{rng.randrange(10_000):05d}#{i}"},
            "n": {"N": str(rng.randrange(-50, 50))},
            "tags": {"SS": [f"t{rng.randrange(4)}", "all"]},
            "doc": {
                "M": {"a": {"L": [{"N": "1.50"}, {"S": "x"}, {"NULL": True}]}, "b": {"BOOL": i % 2 == 0}}
            },
        }
        if rng.random() < 0.8:
            item["shop"] = {"S": f"shop{rng.randrange(3)}"}
            item["ts"] = {"S": f"2025-01-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z"}
        if rng.random() < 0.5:
            item["score"] = {"N": str(rng.choice(["1", "1.0", "2", "10", "2e0"]))}
        ddb.put_item(TableName="events", Item=item)
    for i in range(80):
        item = {"pk": {"S": f"m{i}"}, "customer": {"S": f"c{rng.randrange(5)}"}, "k": {"N": str(i)}}
        if i % 7 == 0:
            item["raw"] = {"B": bytes([i, 255, 0])}
        ddb.put_item(TableName="messages", Item=item)
    ddb.get_item(TableName="messages", Key={"pk": {"S": "absent"}})  # moto's defaultdict gets a hole


def _paged(ddb: Any, **kwargs: Any) -> list[Any]:
    pages = []
    while True:
        page = _outcome(lambda: ddb.query(**kwargs))
        pages.append(page)
        if not isinstance(page, dict) or "LastEvaluatedKey" not in page:
            return pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _values(**values: dict[str, str]) -> dict[str, Any]:
    return {"ExpressionAttributeValues": {f":{k}": v for k, v in values.items()}}


def _queries() -> list[dict[str, Any]]:
    """Table and index queries of every shape the speed-ups touch."""
    queries: list[dict[str, Any]] = []
    for customer in ("c0", "c3", "c11", "nobody"):
        c = {"S": customer}
        queries += [
            {"TableName": "events", "KeyConditionExpression": "pk = :p", **_values(p=c)},
            {
                "TableName": "events",
                "Limit": 4,
                "ScanIndexForward": False,
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                **_values(p=c, a={"S": "02"}, b={"S": "07"}),
            },
            {
                "TableName": "events",
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
                "FilterExpression": "n > :z",
                "ProjectionExpression": "sk, n, doc.a[1]",
                **_values(p=c, s={"S": "0"}, z={"N": "0"}),
            },
        ]
    for shop in ("shop0", "shop2", "shop9"):
        by_shop = {"TableName": "events", "IndexName": "by_shop_time"}
        queries += [
            {
                **by_shop,
                "Limit": 7,
                "KeyConditionExpression": "shop = :s AND ts >= :t",
                **_values(s={"S": shop}, t={"S": "2025-01-10"}),
            },
            {
                **by_shop,
                "ScanIndexForward": False,
                "KeyConditionExpression": "shop = :s",
                "Select": "COUNT",
                **_values(s={"S": shop}),
            },
        ]
    for score in ("1", "2.0", "10", "3"):  # numbers compare by value: 1 == 1.0, 2 == 2e0
        queries.append(
            {
                "TableName": "events",
                "IndexName": "by_score",
                "KeyConditionExpression": "score = :n",
                **_values(n={"N": score}),
            }
        )
    for customer in ("c1", "c4"):
        queries.append(
            {
                "TableName": "messages",
                "IndexName": "by_customer",
                "KeyConditionExpression": "customer = :c",
                **_values(c={"S": customer}),
            }
        )
    for key in ("m14", "absent"):  # a binary attribute; a key moto's defaultdict holds as a hole
        queries.append(
            {"TableName": "messages", "KeyConditionExpression": "pk = :p", **_values(p={"S": key})}
        )
    return queries


@untested_moto
def test_queries_answer_the_same_items_in_the_same_order() -> None:
    def scenario() -> list[Any]:
        ddb = boto3.client("dynamodb", region_name=REGION)
        _tables(ddb)
        _fill(ddb, random.Random(5))
        out: list[Any] = [_paged(ddb, **query) for query in _queries()]
        out.append(_outcome(lambda: ddb.scan(TableName="events", Limit=50)))
        out.append(
            _outcome(
                lambda: ddb.query(
                    TableName="events",
                    IndexName="nope",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "c1"}},
                )
            )
        )
        return out

    plain, fast = _both(scenario)
    assert fast == plain
    assert any(isinstance(r, list) and r[0].get("Count", 0) > 3 for r in plain)  # the fixture is not empty


@untested_moto
def test_updates_and_item_reads_answer_the_same() -> None:
    def scenario() -> list[Any]:
        ddb = boto3.client("dynamodb", region_name=REGION)
        _tables(ddb)
        _fill(ddb, random.Random(9))
        key = {"pk": {"S": "c1"}, "sk": {"S": "99999#x"}}
        sets = ", ".join(f"#a{i} = :v{i}" for i in range(40))
        names = {f"#a{i}": f"attr{i}" for i in range(40)}
        values = {f":v{i}": {"N": str(i)} for i in range(40)}
        out = [
            _outcome(
                lambda: ddb.update_item(
                    TableName="events",
                    Key=key,
                    UpdateExpression=f"SET {sets}",
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            ),
            _outcome(
                lambda: ddb.update_item(
                    TableName="events",
                    Key=key,
                    UpdateExpression="SET #a0 = :v0 REMOVE #a1, #a2 ADD #a3 :v3",
                    ExpressionAttributeNames={k: names[k] for k in ("#a0", "#a1", "#a2", "#a3")},
                    ExpressionAttributeValues={":v0": values[":v0"], ":v3": values[":v3"]},
                    ReturnValues="UPDATED_OLD",
                )
            ),
            # Two SET sections: refused, with moto's message
            _outcome(
                lambda: ddb.update_item(
                    TableName="events",
                    Key=key,
                    UpdateExpression="SET #a0 = :v0 SET #a1 = :v1",
                    ExpressionAttributeNames={"#a0": "x", "#a1": "y"},
                    ExpressionAttributeValues={":v0": values[":v0"], ":v1": values[":v1"]},
                )
            ),
            _outcome(
                lambda: ddb.update_item(
                    TableName="events",
                    Key=key,
                    UpdateExpression="SET #a0 = :v0",
                    ConditionExpression="attr5 = :v6",
                    ExpressionAttributeNames={"#a0": "x"},
                    ExpressionAttributeValues={":v0": values[":v0"], ":v6": values[":v6"]},
                )
            ),
            _outcome(lambda: ddb.get_item(TableName="events", Key=key, ConsistentRead=True)),
            _outcome(lambda: ddb.get_item(TableName="messages", Key={"pk": {"S": "m7"}})),  # binary
            _outcome(lambda: ddb.get_item(TableName="messages", Key={"pk": {"S": "gone"}})),
            _outcome(
                lambda: ddb.batch_get_item(
                    RequestItems={"messages": {"Keys": [{"pk": {"S": f"m{i}"}} for i in range(5)]}}
                )
            ),
            _outcome(
                lambda: ddb.put_item(TableName="messages", Item={"pk": {"S": "m1"}}, ReturnValues="ALL_OLD")
            ),
            _outcome(
                lambda: ddb.put_item(
                    TableName="messages",
                    Item={"pk": {"S": "m2"}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            ),
            _outcome(
                lambda: ddb.delete_item(TableName="messages", Key={"pk": {"S": "m3"}}, ReturnValues="ALL_OLD")
            ),
            _outcome(lambda: ddb.describe_table(TableName="messages")["Table"]["ItemCount"] and {}),
        ]
        return out

    plain, fast = _both(scenario)
    assert fast == plain
    assert plain[2][0] == "error"  # the two-SET expression really is refused
    assert plain[0]["Attributes"]["attr39"] == {"N": "39"}


@untested_moto
def test_execution_names_are_still_idempotent_and_unique() -> None:
    def scenario() -> list[Any]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="journey",
            definition='{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}',
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        out = []
        for name, payload in [("j1", "{}"), ("j2", "{}"), ("j1", "{}"), ("j1", '{"other": 1}'), ("j3", "{}")]:
            result = _outcome(
                lambda n=name, p=payload: sfn.start_execution(stateMachineArn=arn, name=n, input=p)
            )
            out.append(result if isinstance(result, tuple) else result["executionArn"])
        out.append(len(sfn.list_executions(stateMachineArn=arn)["executions"]))
        return out

    plain, fast = _both(scenario)
    assert fast == plain
    assert plain[2] == plain[0] and plain[3][1] == "ExecutionAlreadyExists" and plain[-1] == 3


@untested_moto
@pytest.mark.parametrize("twice", [False, True])
def test_install_is_reversible(twice: bool) -> None:
    from moto.dynamodb.models.table import Table

    original = Table.__dict__["all_items"]
    moto_speedups.install()
    if twice:
        moto_speedups.install()
    assert moto_speedups.installed() and Table.__dict__["all_items"] is not original
    moto_speedups.uninstall()
    assert not moto_speedups.installed() and Table.__dict__["all_items"] is original


def test_the_local_stack_runs_with_them_and_leaves_moto_as_released() -> None:
    from kaeri_ops.local.stack import EmbeddedStack

    with EmbeddedStack(clock="manual") as stack:
        assert moto_speedups.installed() == moto_speedups.applicable()
        stack.drain()
    assert not moto_speedups.installed()


def test_parallel_writers_get_one_stream_number_each_in_record_order() -> None:
    """The track API writes a batch's events in parallel; moto numbered stream records without a lock,
    so two writers could take one number, and a reader of the records after it was handed the same
    record for ever. With the stack's moto fixes installed, the numbers follow the record list."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from moto.dynamodb.models import dynamodb_backends

    interval = sys.getswitchinterval()
    moto_speedups.install()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows in every run
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name=REGION)
            ddb.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: ddb.put_item(TableName="t", Item={"pk": {"S": str(i)}}), range(1500)))
            shard = dynamodb_backends["123456789012"][REGION].get_table("t").stream_shard
            numbers = [int(r.record["dynamodb"]["SequenceNumber"]) for r in shard.items]
    finally:
        sys.setswitchinterval(interval)
        moto_speedups.uninstall()

    assert len(numbers) == 1500
    assert numbers == [shard.starting_sequence_number + i for i in range(1500)]
