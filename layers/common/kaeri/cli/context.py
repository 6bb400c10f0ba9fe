"""Which stack a CLI command talks to: the running local stack, or a deployed one (--stack NAME)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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
