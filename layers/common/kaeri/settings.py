"""Environment parsed once into a typed model; nothing else reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field

from kaeri.tables import TABLES

_ENV_NAMES = {"local": "KAERI_LOCAL_MODE"}


class Settings(BaseModel):
    table_prefix: str = "kaeri"
    region: str = "ap-northeast-1"
    # Set in local mode (moto's server on loopback); None means real AWS.
    aws_endpoint_url: str | None = None
    # Base URL of the public API (unsubscribe and tracked links point here).
    api_url: str = "http://127.0.0.1:8787"
    journey_state_machine_arn: str | None = None
    fanout_queue_url: str | None = None
    # EventBridge Scheduler: one schedule per scheduled scenario, targeting evaluate-schedule.
    schedule_group: str = "kaeri"
    schedule_target_arn: str | None = None
    schedule_role_arn: str | None = None
    send_queue_url: str | None = None
    line_api_endpoint: str = "https://api.line.me"
    link_signing_secret_name: str | None = None
    # Only used when no secret name is configured (local mode and tests).
    link_signing_secret: str = "kaeri-local-signing-secret"
    ses_configuration_set: str = "kaeri"
    # S3 bucket the nightly report (functions/evaluate/evaluate_report.py) is written to.
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

    def table(self, logical: str) -> str:
        return f"{self.table_prefix}-{logical}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(_ENV_NAMES.get(name, f"KAERI_{name.upper()}"))
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
