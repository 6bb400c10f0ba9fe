"""Environment parsed once into a typed model; nothing else reads os.environ.

Shipped code holds no local-mode values: the local stack (kaeri_ops.local) and the test fixtures
supply them. On AWS (local off) a setting every function needs and cannot guess fails the cold start
with the environment variable to set (MissingSetting); a setting only some functions need is asked
for by name where it is used (Settings.required).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, model_validator

from kaeri.tables import TABLES

_ENV_NAMES = {"local": "KAERI_LOCAL_MODE"}

# Set on every deployed function (infra/kaeri_cdk; tests/infra/test_stack.py checks the template).
REQUIRED_ON_AWS = ("api_url",)


def env_name(setting: str) -> str:
    """The environment variable a setting is read from."""
    return _ENV_NAMES.get(setting, f"KAERI_{setting.upper()}")


class MissingSetting(RuntimeError):
    """A setting this function needs is not configured: a deployment error, never retried."""

    def __init__(self, *settings: str) -> None:
        self.settings = settings
        names = ", ".join(env_name(s) for s in settings)
        super().__init__(f"missing setting: set {names} in the function's environment")


class Settings(BaseModel):
    # The stack's table prefix (infra/kaeri_cdk: context "table_prefix", default "kaeri").
    table_prefix: str = "kaeri"
    region: str = "ap-northeast-1"
    # Set in local mode (moto's server on loopback); None means real AWS.
    aws_endpoint_url: str | None = None
    # Base URL of the public API (unsubscribe and tracked links point here).
    api_url: str | None = None
    journey_state_machine_arn: str | None = None
    fanout_queue_url: str | None = None
    # EventBridge Scheduler: one schedule per scheduled scenario, targeting evaluate-schedule.
    schedule_group: str = "kaeri"
    schedule_target_arn: str | None = None
    schedule_role_arn: str | None = None
    send_queue_url: str | None = None
    line_api_endpoint: str = "https://api.line.me"
    # Secrets Manager secret that signs links, unsubscribe and customer tokens (kaeri.delivery.links).
    link_signing_secret_name: str | None = None
    ses_configuration_set: str = "kaeri"
    # S3 bucket the nightly report (functions/report/report_nightly.py) is written to.
    report_bucket: str | None = None
    # The event archive (docs/scale.md): a local folder of Parquet (DuckDB), or Athena over Glue tables.
    archive_path: str | None = None
    archive_database: str | None = None
    athena_workgroup: str = "kaeri"
    # DynamoDB keeps an event this many days after it was stored (TTL); history lives in the archive.
    events_ttl_days: int = Field(default=400, ge=366, le=3650)
    # The console's Cognito user pool and app client; the JWKS its ID tokens are verified with.
    console_user_pool_id: str | None = None
    console_client_id: str | None = None
    console_jwks_url: str | None = None
    # Where the console's URLs start: the API stage (e.g. "/prod") when reached through execute-api's URL.
    console_path_prefix: str = ""
    local: bool = False

    @model_validator(mode="after")
    def _required_on_aws(self) -> Settings:
        if not self.local:
            self.require(*REQUIRED_ON_AWS)
        return self

    def require(self, *settings: str) -> Settings:
        """This model, or MissingSetting naming every one of `settings` that is not set."""
        missing = [s for s in settings if getattr(self, s) in (None, "")]
        if missing:
            raise MissingSetting(*missing)
        return self

    def required(self, setting: str) -> str:
        """The value of a setting this code path cannot do without, or MissingSetting naming it."""
        self.require(setting)
        return str(getattr(self, setting))

    @property
    def public_api_url(self) -> str:
        """The API's base URL, where unsubscribe and tracked links point."""
        return self.required("api_url")

    def table(self, logical: str) -> str:
        return f"{self.table_prefix}-{logical}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(env_name(name))
            if raw is not None:
                values[name] = raw
        if "region" not in values and env.get("AWS_REGION"):
            values["region"] = env["AWS_REGION"]
        if "aws_endpoint_url" not in values and env.get("AWS_ENDPOINT_URL"):
            values["aws_endpoint_url"] = env["AWS_ENDPOINT_URL"]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def table_names(prefix: str = "kaeri") -> dict[str, str]:
    return {t.logical: t.physical_name(prefix) for t in TABLES}
