"""Which stack a CLI command talks to: the running local stack, or a deployed one (--stack NAME)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from kaeri.aws import AwsClients
from kaeri.settings import Settings

LOCAL_FILE = Path(".kaeri/local.json")


class NoStackError(RuntimeError):
    pass


@dataclass
class Target:
    settings: Settings
    shop_id: str
    api_url: str | None = None
    write_key: str | None = None
    local: bool = False
    server_key: str | None = None

    @property
    def clients(self) -> AwsClients:
        return AwsClients(self.settings)

    def now(self) -> datetime:
        """The stack's time: the local stack's clock (manual or system, as it was started), else now."""
        from kaeri import clock

        if not self.local or not self.api_url:
            return clock.now()
        import requests

        try:
            answer = requests.get(f"{self.api_url}/_local/clock", timeout=10)
            answer.raise_for_status()
        except requests.RequestException as exc:
            raise NoStackError(f"the local stack at {self.api_url} does not answer: {exc}") from None
        return clock.parse_iso(answer.json()["now"])


def local_file() -> Path:
    """KAERI_LOCAL names the local stack's JSON file; else .kaeri/local.json in the working directory."""
    named = os.environ.get("KAERI_LOCAL")
    return Path(named) if named else LOCAL_FILE


# CloudFormation outputs of the Kaeri stack (infra/kaeri_cdk/constants.py) and the setting each fills.
STACK_OUTPUTS = {
    "TablePrefix": "table_prefix",
    "Region": "region",
    "ApiUrl": "api_url",
    "JourneyStateMachineArn": "journey_state_machine_arn",
    "FanoutQueueUrl": "fanout_queue_url",
    "ReportsBucket": "report_bucket",
    "SesConfigurationSet": "ses_configuration_set",
    "ScheduleGroup": "schedule_group",
    "SchedulerRoleArn": "schedule_role_arn",
    "ScheduleTargetArn": "schedule_target_arn",
    "LinkSigningSecretName": "link_signing_secret_name",
    "ConsoleUserPoolId": "console_user_pool_id",
    "ConsoleClientId": "console_client_id",
}


def stack_settings(stack: str, cloudformation: Any = None) -> Settings:
    """Settings of a deployed stack, read from its CloudFormation outputs.

    The region is the AWS profile's (AWS_REGION / AWS_DEFAULT_REGION / ~/.aws/config, as boto3 reads
    it); the table prefix, API URL and the rest come from the stack itself, never from defaults.
    """
    import boto3
    from botocore.exceptions import ClientError, NoRegionError

    session = boto3.session.Session()
    region = os.environ.get("KAERI_REGION") or session.region_name
    if not region:
        raise NoStackError("no AWS region: set one in your AWS profile (aws configure) or AWS_REGION")
    try:
        cfn = cloudformation or session.client("cloudformation", region_name=region)
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except (ClientError, NoRegionError) as exc:
        raise NoStackError(f"stack {stack!r} not found in {region}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [key for key in ("TablePrefix", "ApiUrl") if key not in outputs]
    if missing:
        raise NoStackError(f"stack {stack!r} has no {', '.join(missing)} output: is it a Kaeri stack?")
    values: dict[str, object] = {"region": region, "aws_endpoint_url": None}
    for key, field in STACK_OUTPUTS.items():
        if key in outputs:
            values[field] = outputs[key]
    return Settings.model_validate(values)


def resolve(stack: str | None = None, shop: str | None = None) -> Target:
    """A deployed stack when --stack is given, else the local stack described by .kaeri/local.json."""
    if stack:
        if not shop:
            raise NoStackError("--shop is required with --stack")
        settings = stack_settings(stack)
        return Target(settings=settings, shop_id=shop, api_url=settings.api_url)
    path = local_file()
    if not path.exists():
        raise NoStackError(
            f"no local stack: {path} not found (start one with `kaeri local`, or pass --stack NAME)"
        )
    info = json.loads(path.read_text())
    settings = Settings(
        aws_endpoint_url=info["aws_endpoint_url"],
        region=info["region"],
        api_url=info["api_url"],
        table_prefix=info.get("table_prefix", "kaeri"),
        console_user_pool_id=info.get("console_user_pool_id"),
        console_client_id=info.get("console_client_id"),
        local=True,
    )
    return Target(
        settings=settings,
        shop_id=shop or info["shop_id"],
        api_url=info["api_url"],
        write_key=info.get("write_key"),
        local=True,
        server_key=info.get("server_key"),
    )


def resolve_stack(stack: str | None = None) -> Target:
    """The stack only (admin commands such as `kaeri shops`, which name the shop themselves)."""
    if stack:
        settings = stack_settings(stack)
        return Target(settings=settings, shop_id="", api_url=settings.api_url)
    return resolve(None, None)


def stack_or_exit(stack: str | None) -> Target:
    try:
        return resolve_stack(stack)
    except NoStackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


# Options and target resolution shared by every command group.
STACK_OPTION = typer.Option(None, "--stack", help="deployed stack name (default: the running local stack)")
SHOP_OPTION = typer.Option(None, "--shop", help="shop id (default: the local stack's shop)")


def target_or_exit(stack: str | None, shop: str | None) -> Target:
    """resolve(), or a one-line error and exit status 2 when there is no stack to talk to."""
    try:
        return resolve(stack, shop)
    except NoStackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
