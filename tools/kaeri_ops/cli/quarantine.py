"""`kaeri events failed` and `kaeri events replay`: events accepted but not projected (quarantined)."""

from __future__ import annotations

import json

import typer

from kaeri_ops.cli.context import SHOP_OPTION, STACK_OPTION, target_or_exit
from kaeri_ops.cli.data import AS_JSON, events_app


def register(app: typer.Typer) -> None:
    """Attach `kaeri events failed|replay` beside `kaeri events list` (kaeri_ops.cli.data)."""

    @events_app.command("failed")
    def failed(
        as_json: bool = AS_JSON,
        stack: str | None = STACK_OPTION,
        shop: str | None = SHOP_OPTION,
    ) -> None:
        """List the events that could not be projected, with their reason (exit 1 if any)."""
        from kaeri.profiles.quarantine import Quarantine

        target = target_or_exit(stack, shop)
        rows = Quarantine(target.clients).summary(target.shop_id)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        elif rows:
            from rich.console import Console
            from rich.table import Table

            table = Table(
                "message id", "event", "failed at", "failures", "reason", title="quarantined events"
            )
            for r in rows:
                table.add_row(
                    r["message_id"], r["event"] or r["type"], r["failed_at"], str(r["failures"]), r["reason"]
                )
            Console().print(table)
        else:
            typer.echo(f"no quarantined events in shop {target.shop_id!r}", err=True)
        if rows:
            raise typer.Exit(1)

    @events_app.command("replay")
    def replay(
        message_ids: list[str] = typer.Argument(None, help="only these message ids (default: every one)"),
        stack: str | None = STACK_OPTION,
        shop: str | None = SHOP_OPTION,
    ) -> None:
        """Project the quarantined events again; those that now apply leave the quarantine."""
        from kaeri.profiles import quarantine

        target = target_or_exit(stack, shop)
        counts = quarantine.replay(target.clients, target.shop_id, message_ids or None)
        typer.echo(f"applied {counts['applied']}, still quarantined {counts['quarantined']}")
        if counts["quarantined"]:
            raise typer.Exit(1)
