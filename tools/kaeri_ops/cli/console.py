"""`kaeri console users add|list|remove`: who may sign in to the console, and for which shops."""

from __future__ import annotations

import json

import typer

from kaeri_ops.cli.context import STACK_OPTION, stack_or_exit

group = typer.Typer(help="The marketers' console.", no_args_is_help=True)
users = typer.Typer(
    help="Console users: a user of the stack's Cognito pool, a member of each shop they work for.",
    no_args_is_help=True,
)
group.add_typer(users, name="users")


def _users(stack: str | None):
    from kaeri_ops.console_users import ConsoleUsers

    target = stack_or_exit(stack)
    pool = target.settings.console_user_pool_id
    if not pool:
        where = f"stack {stack!r} has no ConsoleUserPoolId output" if stack else "the local stack has no pool"
        typer.echo(f"error: {where} (deploy or start a stack with the console)", err=True)
        raise typer.Exit(2)
    return ConsoleUsers(target.clients.client("cognito-idp"), pool)


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(1) from None


def _line(user) -> str:
    shops = ", ".join(sorted(user.shops)) or "(no shop)"
    state = "" if user.enabled else " disabled"
    return f"{user.username:<24} {user.language}  {shops}{state}"


@users.command("add")
def add(
    username: str = typer.Argument(..., help="sign-in name"),
    shop: list[str] = typer.Option(..., "--shop", help="shop id the marketer works for (repeat for more)"),
    email: str | None = typer.Option(None, "--email", help="the marketer's address (stored, not mailed)"),
    language: str | None = typer.Option(None, "--language", help="console language: ja (default) or en"),
    password: str | None = typer.Option(
        None, "--password", help="set this password (default for a new user: a generated one, printed once)"
    ),
    stack: str | None = STACK_OPTION,
) -> None:
    """Create a console user, or add an existing one to more shops."""
    from kaeri_ops.console_users import ConsoleUserError

    if language not in (None, "ja", "en"):
        raise typer.BadParameter("use ja or en", param_hint="--language")
    try:
        user, chosen = _users(stack).add(username, shop, email=email, language=language, password=password)
    except ConsoleUserError as exc:
        _fail(exc)
    typer.echo(_line(user))
    if chosen is not None and password is None:
        typer.echo(f"password: {chosen}  (shown once: hand it to {user.username} over a safe channel)")


@users.command("list")
def list_(
    shop: str | None = typer.Option(None, "--shop", help="only the members of this shop"),
    as_json: bool = typer.Option(False, "--json"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Console users with their language and shops."""
    from kaeri_ops.console_users import ConsoleUserError

    try:
        found = _users(stack).list(shop)
    except ConsoleUserError as exc:
        _fail(exc)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "username": u.username,
                        "shops": sorted(u.shops),
                        "language": u.language,
                        "email": u.email,
                    }
                    for u in found
                ]
            )
        )
        return
    for user in found:
        typer.echo(_line(user))
    if not found:
        typer.echo("no console users" + (f" for shop {shop}" if shop else ""), err=True)


@users.command("remove")
def remove(
    username: str = typer.Argument(...),
    shop: list[str] = typer.Option(None, "--shop", help="only take the user out of this shop (repeatable)"),
    stack: str | None = STACK_OPTION,
) -> None:
    """Take a user out of shops (--shop), or delete the user (no --shop)."""
    from kaeri_ops.console_users import ConsoleUserError

    try:
        left = _users(stack).remove(username, shop or None)
    except ConsoleUserError as exc:
        _fail(exc)
    typer.echo(_line(left) if left else f"{username}: deleted")


def register(app: typer.Typer) -> None:
    """Attach `kaeri console ...` to the root app."""
    app.add_typer(group, name="console")
