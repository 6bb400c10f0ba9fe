"""Shared setup for the scenario benches: moto in-process, Kaeri tables, a journey state machine,
a counter of items DynamoDB reads return and a counter of AWS requests by operation (botocore hooks)."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

for name, value in (
    ("AWS_ACCESS_KEY_ID", "bench"),
    ("AWS_SECRET_ACCESS_KEY", "bench"),
    ("AWS_DEFAULT_REGION", "ap-northeast-1"),
    ("POWERTOOLS_SERVICE_NAME", "kaeri"),
    # The benches run the functions' code as on AWS (moto in-process), where the API's URL is required.
    ("KAERI_API_URL", "https://bench.invalid"),
):
    os.environ.setdefault(name, value)
os.environ.pop("AWS_ENDPOINT_URL", None)

READ_OPERATIONS = ("GetItem", "Query", "Scan", "BatchGetItem")


class ReadCounter:
    def __init__(self) -> None:
        self.items = Counter()
        self.calls = Counter()

    def __call__(
        self, http_response: Any = None, parsed: dict | None = None, model: Any = None, **_: Any
    ) -> None:
        if model is None or model.name not in READ_OPERATIONS or not parsed:
            return
        self.calls[model.name] += 1
        if "Items" in parsed:
            self.items[model.name] += len(parsed["Items"])
        elif "Item" in parsed:
            self.items[model.name] += 1
        elif "Responses" in parsed:
            self.items[model.name] += sum(len(v) for v in parsed["Responses"].values())

    @property
    def total(self) -> int:
        return sum(self.items.values())

    def reset(self) -> None:
        self.items.clear()
        self.calls.clear()


WRITE_ITEMS = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
# The services whose clients a bench's handlers reach through AwsClients.
SERVICES = ("dynamodb", "stepfunctions", "sqs", "sesv2", "sns", "scheduler", "s3", "secretsmanager")


class RequestCounter:
    """Every AWS request sent by the clients it is attached to, by operation, and DynamoDB write
    requests as the cost model counts them (BatchWriteItem / TransactWriteItems: one per item).

    Attach it to the AwsClients the handlers are injected with (``module.wired.use(clients)``):
    kaeri.aws caches clients per process, so those are the very clients the handlers call.
    """

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.writes = 0

    def __call__(self, model: Any = None, params: dict[str, Any] | None = None, **_: Any) -> None:
        if model is None:
            return
        name = model.name
        self.requests[name] += 1
        if name in WRITE_ITEMS:
            self.writes += 1
        elif name == "BatchWriteItem":
            self.writes += sum(len(v) for v in (params or {}).get("RequestItems", {}).values())
        elif name == "TransactWriteItems":
            self.writes += len((params or {}).get("TransactItems", []))

    def attach(self, clients: Any) -> RequestCounter:
        seen: set[int] = set()
        for client in (clients.dynamodb_resource.meta.client, *(clients.client(s) for s in SERVICES)):
            if id(client) not in seen:
                seen.add(id(client))
                client.meta.events.register("before-call", self)
        return self

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def snapshot(self) -> tuple[Counter[str], int]:
        return Counter(self.requests), self.writes


def per_event(requests: Counter[str], events: int) -> str:
    """Requests per event by operation, most frequent first: 'UpdateItem 0.78, GetItem 0.67'."""
    parts = [f"{name} {count / max(events, 1):.3f}" for name, count in requests.most_common() if count]
    return ", ".join(parts) or "none"


def setup_clients() -> tuple[Any, ReadCounter]:
    from kaeri.aws import AwsClients
    from kaeri.settings import Settings
    from kaeri.tables import TABLES
    from kaeri_ops.definitions.state_machine import build_definition

    clients = AwsClients(Settings.from_env())
    for table in TABLES:
        clients.dynamodb.create_table(**table.create_table_kwargs())
    arn = clients.stepfunctions.create_state_machine(
        name="kaeri-journey",
        definition=json.dumps(build_definition({"evaluate-step": "arn:step", "send-message": "arn:send"})),
        roleArn="arn:aws:iam::123456789012:role/kaeri-journey",
    )["stateMachineArn"]
    clients = AwsClients(clients.settings.model_copy(update={"journey_state_machine_arn": arn}))
    counter = ReadCounter()
    for client in (clients.dynamodb, clients.dynamodb_resource.meta.client):
        client.meta.events.register("after-call.dynamodb", counter)
    return clients, counter
