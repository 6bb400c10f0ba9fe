"""`kaeri profiles show` and `kaeri events list`: what Kaeri knows about a customer."""

from __future__ import annotations

import json
from typing import Any

import typer

from kaeri_ops.cli.context import SHOP_OPTION, STACK_OPTION, Target, target_or_exit

profiles_app = typer.Typer(help="Customer profiles kept from the tracked events.", no_args_is_help=True)
events_app = typer.Typer(help="Tracked events as stored.", no_args_is_help=True)

AS_JSON = typer.Option(False, "--json", help="print JSON instead of a table")


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def events_for(target: Target, user_id: str, limit: int) -> list[dict[str, Any]]:
    """The user's events and those filed under the anonymous ids merged into them, oldest first."""
    from boto3.dynamodb.conditions import Key

    from kaeri.events import StoredEvent
    from kaeri.profiles.repository import ProfileRepository

    clients = target.clients
    profile = ProfileRepository(clients).get(target.shop_id, user_id)
    identities = [user_id, *(f"anon:{a}" for a in (profile.anonymous_ids if profile else []))]
    table = clients.table("events")
    events: list[StoredEvent] = []
    for identity in identities:
        query: dict[str, Any] = {
            "IndexName": "by_identity",
            "KeyConditionExpression": Key("identity").eq(f"{target.shop_id}#{identity}"),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        response = table.query(**query)
        events.extend(StoredEvent.from_item(item) for item in response.get("Items", []))
    events.sort(key=lambda e: (e.timestamp, e.message_id))
    return [e.model_dump(mode="json") for e in events[-limit:]]


def register(app: typer.Typer) -> None:
    """Attach `kaeri profiles ...` and `kaeri events ...` to the root app."""

    @profiles_app.command("show")
    def show(
        user_id: str = typer.Argument(..., help="the customer's user id (or anon:ANONYMOUS_ID)"),
        as_json: bool = AS_JSON,
        stack: str | None = STACK_OPTION,
        shop: str | None = SHOP_OPTION,
    ) -> None:
        """Show one customer's profile."""
        from kaeri.profiles.repository import ProfileRepository

        target = target_or_exit(stack, shop)
        repo = ProfileRepository(target.clients)
        customer_id = repo.resolve(target.shop_id, user_id)
        profile = repo.get(target.shop_id, customer_id)
        if profile is None:
            typer.echo(f"no profile for {user_id!r} in shop {target.shop_id!r}", err=True)
            raise typer.Exit(1)
        data = profile.model_dump(mode="json")
        if as_json:
            _print_json(data)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("field", "value", title=f"profile {target.shop_id}/{customer_id}")
        for name, value in data.items():
            if value in (None, [], {}, ""):
                continue
            text = (
                json.dumps(value, ensure_ascii=False, default=str)
                if isinstance(value, dict | list)
                else str(value)
            )
            table.add_row(name, text)
        Console().print(table)

    @events_app.command("list")
    def list_events(
        user: str = typer.Option(..., "--user", help="the customer's user id"),
        limit: int = typer.Option(100, help="at most this many, newest kept"),
        as_json: bool = AS_JSON,
        stack: str | None = STACK_OPTION,
        shop: str | None = SHOP_OPTION,
    ) -> None:
        """List a customer's events (including those sent before they logged in), oldest first."""
        target = target_or_exit(stack, shop)
        events = events_for(target, user, limit)
        if as_json:
            _print_json(events)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("time", "type", "event", "identity", "source", "properties", title=f"events of {user}")
        for e in events:
            identity = e["user_id"] or f"anon:{e['anonymous_id']}"
            props = json.dumps(e["properties"] or e["traits"], ensure_ascii=False)
            table.add_row(e["timestamp"], e["type"], e["event"] or "", identity, e["source"], props[:80])
        Console().print(table)
        if not events:
            typer.echo(f"no events for {user!r} in shop {target.shop_id!r}", err=True)

    app.add_typer(profiles_app, name="profiles")
    app.add_typer(events_app, name="events")
