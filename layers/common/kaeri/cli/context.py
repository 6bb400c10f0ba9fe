"""Which stack a CLI command talks to: the running local stack, or a deployed one (--stack NAME)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def clients(self) -> AwsClients:
        return AwsClients(self.settings)


def local_file() -> Path:
    """KAERI_LOCAL names the local stack's JSON file; else .kaeri/local.json in the working directory."""
    named = os.environ.get("KAERI_LOCAL")
    return Path(named) if named else LOCAL_FILE


def resolve(stack: str | None = None, shop: str | None = None) -> Target:
    """A deployed stack when --stack is given, else the local stack described by .kaeri/local.json."""
    if stack:
        settings = Settings.from_env().model_copy(
            update={"table_prefix": stack.lower(), "aws_endpoint_url": None}
        )
        if not shop:
            raise NoStackError("--shop is required with --stack")
        return Target(settings=settings, shop_id=shop)
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
        local=True,
    )
    return Target(
        settings=settings,
        shop_id=shop or info["shop_id"],
        api_url=info["api_url"],
        write_key=info.get("write_key"),
        local=True,
    )


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
