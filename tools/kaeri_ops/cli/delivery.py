"""`kaeri templates ...` (push, list, preview) and `kaeri outbox list`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kaeri_ops.cli.context import SHOP_OPTION, STACK_OPTION, target_or_exit

templates = typer.Typer(help="Message templates: push, list, preview.", no_args_is_help=True)
outbox = typer.Typer(help="What was delivered, as rendered.", no_args_is_help=True)


@templates.command("push")
def push(
    path: Path = typer.Argument(..., exists=True, help="a template file (.j2) or a directory of them"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Check and store templates as new versions (unchanged ones keep their version).

    Refused, naming the file: syntax errors, unknown filters, and templates that fail (undefined
    variables) or render blank for the sample customers. Nothing is stored if any file is refused.
    """
    from kaeri.delivery.template_store import TemplateStore, check_template
    from kaeri.delivery.templates_engine import TemplateCompileError, load_file, template_files

    files = template_files(path)
    parsed = []
    failed = False
    for file in files:
        try:
            template = load_file(file)
            check_template(template, str(file))  # unknown filters, undefined variables, blank output
            parsed.append(template)
        except TemplateCompileError as exc:
            typer.echo(f"refused {exc}", err=True)
            failed = True
    if failed:
        raise typer.Exit(1)
    target = target_or_exit(stack, shop)
    store = TemplateStore(target.clients.table("config"))
    for template in parsed:
        result = store.push(target.shop_id, template)
        state = "stored" if result.changed else "unchanged"
        typer.echo(f"{template.id}: v{result.version} {state}")


@templates.command("list")
def list_(
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Templates of the shop: pushed versions and the packaged defaults."""
    from kaeri.delivery.template_store import TemplateStore

    target = target_or_exit(stack, shop)
    rows = TemplateStore(target.clients.table("config")).list(target.shop_id)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['id']:<24} v{row['version']:<4} {','.join(row['channels']):<16} {row['source']}")


@templates.command("preview")
def preview(
    template_id: str = typer.Argument(...),
    user: str = typer.Option(..., "--user", help="customer (user) id whose profile fills the template"),
    channel: str | None = typer.Option(None, "--channel", help="email, line or sms (default: the first)"),
    out: Path | None = typer.Option(None, "--out", help="write the rendered HTML here"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Render a template for a real customer of the target stack (nothing is sent)."""
    from kaeri.delivery.preview import PreviewError, preview_message

    target = target_or_exit(stack, shop)
    try:
        result = preview_message(target.clients, target.shop_id, template_id, user, channel)
    except PreviewError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if out:
        out.write_text(result.html_page(), encoding="utf-8")
        typer.echo(f"wrote {out}")
    typer.echo(result.as_text())


@outbox.command("list")
def outbox_list(
    limit: int = typer.Option(20, "--limit"),
    include_skipped: bool = typer.Option(False, "--all", help="also skipped and failed messages"),
    as_json: bool = typer.Option(False, "--json"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Messages delivered (newest first): channel, recipient, user, scenario, step, subject, headers, text."""
    from kaeri.delivery.outbox import list_outbox

    target = target_or_exit(stack, shop)
    rows = list_outbox(
        target.clients.table("messages"), target.shop_id, limit=limit, include_skipped=include_skipped
    )
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        typer.echo("outbox is empty")
    for row in rows:
        typer.echo(
            f"[{row['created_at']}] {row['status']} {row.get('channel') or '-'} to {row.get('recipient') or '-'} "
            f"user={row['user_id']} scenario={row.get('scenario_id') or '-'} step={row.get('step_id') or '-'}"
            + (f" skip={row['skip_reason']}" if row.get("skip_reason") else "")
        )
        if row.get("subject"):
            typer.echo(f"  Subject: {row['subject']}")
        for name, value in (row.get("headers") or {}).items():
            typer.echo(f"  {name}: {value}")
        for line in (row.get("text") or "").splitlines():
            typer.echo(f"  | {line}")


def register(app: typer.Typer) -> None:
    """Attach `kaeri templates ...` and `kaeri outbox ...` to the root app."""
    app.add_typer(templates, name="templates")
    app.add_typer(outbox, name="outbox")
