"""The one AWS seam: boto3 clients built once per process and injected into the repositories, and
the few DynamoDB helpers every repository shares (following pages, batch reads, condition checks).

Local mode sets an endpoint URL (moto's server on loopback); on AWS it is None. Clients and Table
objects are cached process-wide: creating them costs milliseconds that a warm Lambda or the local
stack should pay once. We only call actions on Table objects (never load() or mutate attributes),
which go through the underlying thread-safe client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "Attr",
    "AwsClients",
    "BotoCoreError",
    "ClientError",
    "GetParameterError",
    "Key",
    "TypeDeserializer",
    "TypeSerializer",
    "all_items",
    "batch_get",
    "condition_failed",
    "error_code",
    "get_secret",
]

from kaeri.settings import Settings, get_settings

_RETRIES = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=3, read_timeout=10)

_cache: dict[tuple[str, ...], Any] = {}
_lock = threading.RLock()  # building a Table builds the resource under the same lock


def _session(settings: Settings) -> boto3.session.Session:
    if settings.aws_endpoint_url:
        # The local emulation accepts any credentials; never pick up a real profile by accident.
        return boto3.session.Session(
            aws_access_key_id="kaeri-local", aws_secret_access_key="kaeri-local", region_name=settings.region
        )
    return boto3.session.Session(region_name=settings.region)


def reset_cache() -> None:
    """Forget cached clients and tables."""
    with _lock:
        _cache.clear()


def _cached(key: tuple[str, ...], build: Any) -> Any:
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _cache[key] = build()
    return found


@dataclass
class AwsClients:
    settings: Settings = field(default_factory=get_settings)

    def _key(self, *parts: str) -> tuple[str, ...]:
        return (*parts, self.settings.region, self.settings.aws_endpoint_url or "")

    def client(self, service: str) -> Any:
        return _cached(
            self._key("client", service),
            lambda: _session(self.settings).client(
                service, endpoint_url=self.settings.aws_endpoint_url, config=_RETRIES
            ),
        )

    @property
    def dynamodb_resource(self) -> Any:
        return _cached(
            self._key("resource", "dynamodb"),
            lambda: _session(self.settings).resource(
                "dynamodb", endpoint_url=self.settings.aws_endpoint_url, config=_RETRIES
            ),
        )

    def table(self, logical: str) -> Any:
        name = self.settings.table(logical)
        return _cached(self._key("table", name), lambda: self.dynamodb_resource.Table(name))

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def sesv2(self) -> Any:
        return self.client("sesv2")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @property
    def scheduler(self) -> Any:
        return self.client("scheduler")

    @property
    def s3(self) -> Any:
        return self.client("s3")


BATCH_GET_MAX = 100  # keys per BatchGetItem request
BATCH_GET_ATTEMPTS = 8


def all_items(call: Callable[..., dict[str, Any]], **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query or Scan (``table.query`` / ``table.scan``), page after page.

    Pages are read as the items are consumed: a caller that stops early reads no further page.
    """
    while True:
        page = call(**request)
        yield from page.get("Items", [])
        last = page.get("LastEvaluatedKey")
        if last is None:
            return
        request = {**request, "ExclusiveStartKey": last}


def batch_get(resource: Any, request: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """BatchGetItem over any number of keys: table name -> items found (any order, missing ones absent).

    ``request`` is BatchGetItem's RequestItems; keys beyond 100 go in further requests, and keys
    DynamoDB leaves unprocessed are asked again (a bounded number of times, then RuntimeError).
    """
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in request}
    chunks: list[dict[str, Any]] = []
    for name, spec in request.items():
        keys = spec["Keys"]
        for start in range(0, len(keys), BATCH_GET_MAX):
            chunks.append({name: {**spec, "Keys": keys[start : start + BATCH_GET_MAX]}})
    pending: dict[str, Any] = {}
    for chunk in chunks:
        pending = chunk
        for _ in range(BATCH_GET_ATTEMPTS):
            response = resource.batch_get_item(RequestItems=pending)
            for name, items in response.get("Responses", {}).items():
                found.setdefault(name, []).extend(items)
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
        if pending:
            left = sum(len(spec["Keys"]) for spec in pending.values())
            raise RuntimeError(f"BatchGetItem left {left} keys unprocessed")
    return found


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def condition_failed(exc: ClientError) -> bool:
    """The write's ConditionExpression did not hold (the one expected refusal of a conditional write)."""
    return error_code(exc) == "ConditionalCheckFailedException"


SECRET_MAX_AGE = 300  # seconds a secret read is reused; a rotated secret reaches warm functions this fast


def get_secret(secretsmanager: Any, name: str, max_age: int = SECRET_MAX_AGE, *, force: bool = False) -> str:
    """A secret's string through Powertools parameters: read at most once per max_age per process.

    One SecretsProvider per Secrets Manager client (so the local stack's endpoint is honoured);
    GetParameterError names the secret when it cannot be read.
    """
    provider = _cached(
        ("secrets", str(id(secretsmanager))), lambda: SecretsProvider(boto3_client=secretsmanager)
    )
    return str(provider.get(name, max_age=max_age, force_fetch=force))
