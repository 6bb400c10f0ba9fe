"""boto3 clients built once per process and injected into adapters.

Local mode sets an endpoint URL (moto's server on loopback); on AWS it is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from kaeri.settings import Settings, get_settings

_RETRIES = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=3, read_timeout=10)


@dataclass
class AwsClients:
    settings: Settings = field(default_factory=get_settings)

    def _session(self) -> boto3.session.Session:
        if self.settings.aws_endpoint_url:
            # The local emulation accepts any credentials; never pick up a real profile by accident.
            return boto3.session.Session(
                aws_access_key_id="kaeri-local", aws_secret_access_key="kaeri-local", region_name=self.settings.region
            )
        return boto3.session.Session(region_name=self.settings.region)

    def client(self, service: str) -> Any:
        return self._session().client(service, endpoint_url=self.settings.aws_endpoint_url, config=_RETRIES)

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def dynamodb_resource(self) -> Any:
        return self._session().resource("dynamodb", endpoint_url=self.settings.aws_endpoint_url, config=_RETRIES)

    def table(self, logical: str) -> Any:
        return self.dynamodb_resource.Table(self.settings.table(logical))

    @cached_property
    def sesv2(self) -> Any:
        return self.client("sesv2")

    @cached_property
    def sns(self) -> Any:
        return self.client("sns")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @cached_property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @cached_property
    def scheduler(self) -> Any:
        return self.client("scheduler")

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")
