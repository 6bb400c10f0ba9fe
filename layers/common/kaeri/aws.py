"""boto3 clients built once per process and injected into adapters.

Local mode sets an endpoint URL (moto's server on loopback); on AWS it is None. Clients and Table
objects are cached process-wide: creating them costs milliseconds that a warm Lambda or the local
stack should pay once. We only call actions on Table objects (never load() or mutate attributes),
which go through the underlying thread-safe client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

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
