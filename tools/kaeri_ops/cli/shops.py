"""`kaeri shops create | list | show | rotate-key | delete`: onboard shops on a local or deployed stack.

Keys are printed once, at creation and rotation; only their digests are stored (kaeri/shops.py).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import typer

from kaeri_ops.cli.context import STACK_OPTION, stack_or_exit

shops_app = typer.Typer(help="Shops (tenants) of a stack and their keys.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d+)([smhd])$")


def parse_grace(text: str) -> timedelta:
    """`24h`, `30m`, `7d`, `0s`: how long old keys keep working after a rotation."""
    match = _DURATION.match(text.strip())
    if not match:
        raise typer.BadParameter(f"{text!r}: use a number and s, m, h or d (e.g. 24h, 0s)")
    amount, unit = int(match[1]), match[2]
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def _echo(data: dict) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@shops_app.command("create")
def create(
    shop_id: str = typer.Argument(..., help="the shop's id: letters, digits, '-' and '_'"),
    name: str = typer.Option(..., "--name", help="the shop's display name"),
    from_email: str | None = typer.Option(None, "--from-email", help="sender address (SES identity)"),
    sender_name: str | None = typer.Option(None, "--sender-name"),
    postal_address: str | None = typer.Option(None, "--postal-address", help="shown in every mail"),
    url: str | None = typer.Option(None, "--url", help="the storefront; messages may link to it"),
    timezone: str = typer.Option("Asia/Tokyo", "--timezone"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Create a shop; prints its write key, server key and Shopify webhook secret (once)."""
    from kaeri import shops

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", shop_id):
        raise typer.BadParameter(f"{shop_id!r}: use 1-64 letters, digits, '-' or '_'")
    target = stack_or_exit(stack)
    clients = target.clients
    if shops.get_shop(clients, shop_id) is not None:
        typer.echo(f"error: shop {shop_id!r} exists (use `kaeri shops rotate-key` for new keys)", err=True)
        raise typer.Exit(1)
    secret = shops.new_webhook_secret()
    shop = shops.create_shop(
        clients,
        shop_id,
        name=name,
        webhook_secret=secret,
        from_email=from_email,
        sender_name=sender_name,
        postal_address=postal_address,
        timezone=timezone,
    )
    if url:
        shops.update_shop(clients, shop_id, url=url)
    api = (target.api_url or clients.settings.public_api_url).rstrip("/")
    _echo(
        {
            "shop_id": shop_id,
            "write_key": shop.write_key,
            "server_key": shop.server_key,
            "webhook_secret": secret,
            "shopify_webhook_url": f"{api}/v1/webhooks/shopify/{{topic}}?shop={shop_id}",
            "note": "keys are shown once; Kaeri stores only their digests",
        }
    )


@shops_app.command("seeds")
def seeds(
    shop_id: str = typer.Argument(...),
    email: list[str] = typer.Option([], "--email", help="a seed inbox (repeat for more)"),
    line: list[str] = typer.Option([], "--line", help="a seed LINE user id (repeat for more)"),
    sms: list[str] = typer.Option([], "--sms", help="a seed phone number, E.164 (repeat for more)"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Set where the console's test sends may go (replaces the list; none given: show it)."""
    from kaeri import shops

    clients = stack_or_exit(stack).clients
    shop = shops.get_shop(clients, shop_id)
    if shop is None:
        typer.echo(f"error: no shop {shop_id!r}", err=True)
        raise typer.Exit(1)
    if email or line or sms:
        listed = {k: v for k, v in {"email": email, "line": line, "sms": sms}.items() if v}
        shop = shops.update_shop(clients, shop_id, seed_recipients=listed)
    _echo({"shop_id": shop_id, "seed_recipients": shop.seed_recipients})


@shops_app.command("list")
def list_(stack: str | None = STACK_OPTION) -> None:
    """Every shop of the stack."""
    from kaeri import shops

    clients = stack_or_exit(stack).clients
    for shop in shops.list_shops(clients):
        paused = f"  paused: {shop.paused_reason}" if shop.paused_reason else ""
        typer.echo(f"{shop.shop_id}\t{shop.name}{paused}")


@shops_app.command("show")
def show(shop_id: str = typer.Argument(...), stack: str | None = STACK_OPTION) -> None:
    """A shop's settings and its keys' state (digests only)."""
    from kaeri import clock, shops

    clients = stack_or_exit(stack).clients
    shop = shops.get_shop(clients, shop_id)
    if shop is None:
        typer.echo(f"error: no shop {shop_id!r}", err=True)
        raise typer.Exit(1)
    now = clock.now()
    settings = shop.model_dump(exclude={"webhook_secret"})
    settings["webhook_secret"] = "set" if shop.webhook_secret else "not set"
    keys = [
        {
            "kind": r.kind,
            "digest": r.digest[:12],
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "active": r.active(now),
        }
        for r in shops.list_keys(clients, shop_id)
    ]
    _echo({**settings, "keys": sorted(keys, key=lambda k: (k["kind"], str(k["created_at"])))})


@shops_app.command("rotate-key")
def rotate_key(
    shop_id: str = typer.Argument(...),
    kind: str = typer.Option("server", "--kind", help="write, server or webhook-secret"),
    grace: str = typer.Option("24h", "--grace", help="how long old keys keep working (0s: revoke now)"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Issue a new key; old keys of that kind keep working for --grace. Prints the new key once."""
    from kaeri import shops

    clients = stack_or_exit(stack).clients
    if kind == "webhook-secret":
        secret = shops.new_webhook_secret()
        try:
            shops.update_shop(clients, shop_id, webhook_secret=secret)
        except shops.ShopError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        _echo({"shop_id": shop_id, "webhook_secret": secret})
        return
    if kind not in ("write", "server"):
        raise typer.BadParameter(f"--kind {kind!r}: use write, server or webhook-secret")
    try:
        key = shops.rotate_key(clients, shop_id, kind, parse_grace(grace))  # type: ignore[arg-type]
    except shops.ShopError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _echo({"shop_id": shop_id, f"{kind}_key": key, "old_keys_valid_for": grace})


@shops_app.command("delete")
def delete(
    shop_id: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="do not ask"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Delete a shop and revoke its keys (its customers' data is kept)."""
    from kaeri import shops

    if not yes:
        typer.confirm(f"delete shop {shop_id!r} and revoke its keys?", abort=True)
    clients = stack_or_exit(stack).clients
    if not shops.delete_shop(clients, shop_id):
        typer.echo(f"error: no shop {shop_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"deleted {shop_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(shops_app, name="shops")


def register_doctor(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        stack: str | None = STACK_OPTION,
        probe: bool = typer.Option(True, "--probe/--no-probe", help="send a test event through the API"),
    ) -> None:
        """Check a deployed stack (or the local one): each problem with its fix. Exit 1 on a problem."""
        from kaeri_ops import doctor as checks

        target = stack_or_exit(stack)
        results = checks.run(target.clients, probe=probe)
        marks = {"ok": "ok  ", "problem": "FAIL", "skipped": "skip"}
        for check in results:
            typer.echo(f"[{marks[check.status]}] {check.name}: {check.detail}")
            if check.fix:
                typer.echo(f"       fix: {check.fix}")
        problems = [c for c in results if c.status == "problem"]
        typer.echo(f"{len(results)} checks, {len(problems)} problem(s)")
        if problems:
            raise typer.Exit(1)
