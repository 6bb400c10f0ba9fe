"""`kaeri local` (the embedded stack) and `kaeri clock` (move its manual clock)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime
from typing import Any

import typer

from kaeri_ops.cli.context import NoStackError, local_file, resolve

clock_app = typer.Typer(
    help="Show or move the local stack's clock (started with `kaeri local --clock manual`)."
)

READY_KEYS = ("api_url", "aws_endpoint_url", "region", "shop_id", "write_key")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("local")(local)
    app.add_typer(clock_app, name="clock")


def local(
    port: int = typer.Option(8787, help="Port of the tracking API on 127.0.0.1 (0: any free port)."),
    aws_port: int = typer.Option(
        0, "--aws-port", help="Port of the AWS emulation (moto) on 127.0.0.1; 0: any."
    ),
    write_key: str | None = typer.Option(
        None, "--write-key", help="The demo shop's write key (default: random)."
    ),
    shop: str = typer.Option("demo-shop", "--shop", help="Id of the shop created at start."),
    clock: str = typer.Option("system", "--clock", help="system: real time; manual: moves only when told."),
    start: str | None = typer.Option(
        None, "--start", help="ISO time the manual clock starts at (default: now)."
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log every request and handler run to stderr."
    ),
) -> None:
    """Run the whole stack on loopback (no AWS account, no Docker) until Ctrl-C.

    Prints one line `READY {json}` to stdout and writes the same JSON to .kaeri/local.json, which the
    other commands read to find this stack.
    """
    from kaeri.clock import parse_iso
    from kaeri_ops.local.stack import EmbeddedStack

    if clock not in ("system", "manual"):
        raise typer.BadParameter("use --clock system or --clock manual", param_hint="--clock")
    start_at: datetime | None = None
    if start:
        if clock != "manual":
            raise typer.BadParameter("--start only makes sense with --clock manual", param_hint="--start")
        try:
            start_at = parse_iso(start)
        except ValueError as exc:
            raise typer.BadParameter(f"not an ISO time: {start!r}", param_hint="--start") from exc
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    path = local_file()
    # stdout carries exactly one line (READY); anything the handlers print goes to stderr.
    stdout, sys.stdout = sys.stdout, sys.stderr
    stack = EmbeddedStack(
        port=port,
        aws_port=aws_port,
        clock=clock,
        start=start_at,
        write_key=write_key,
        shop_id=shop,
        poll_interval=0.5,
    )
    stopping = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        info = stack.info()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(info, indent=2) + "\n")
        stdout.write("READY " + json.dumps({k: info[k] for k in READY_KEYS}) + "\n")
        stdout.flush()
        typer.echo(f"Kaeri local stack: API {stack.api_url} (clock: {clock}). Ctrl-C stops it.", err=True)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        path.unlink(missing_ok=True)
        stack.stop()
        sys.stdout = stdout


def _clock_request(method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    import requests

    try:
        target = resolve()
    except NoStackError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    try:
        response = requests.request(method, f"{target.api_url}/_local/clock", json=body, timeout=600)
    except requests.ConnectionError as exc:
        typer.echo(
            f"the local stack at {target.api_url} does not answer (is `kaeri local` running?)", err=True
        )
        raise typer.Exit(2) from exc
    payload = response.json()
    if response.status_code != 200:
        typer.echo(f"error: {payload.get('message', payload)}", err=True)
        raise typer.Exit(1)
    return payload


def _print_clock(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(state))
        return
    typer.echo(f"now       {state['now']}  ({state['clock']} clock)")
    typer.echo(f"next due  {state.get('next_due') or '-'}")


@clock_app.command("advance")
def clock_advance(
    duration: str | None = typer.Argument(None, help="How far: 30m, 2h, 1d, 1d2h, or ISO 8601 (PT2H)."),
    to: str | None = typer.Option(None, "--to", help="Move to this ISO time instead."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Move the clock; every wait, schedule and window that falls due runs, in time order, first."""
    from kaeri.scenarios.timing import parse_duration

    if (duration is None) == (to is None):
        raise typer.BadParameter("give a DURATION or --to ISO-TIME")
    if duration is not None:
        try:
            parse_duration(duration)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="DURATION") from exc
        body = {"advance": duration}
    else:
        body = {"to": str(to)}
    _print_clock(_clock_request("POST", body), as_json)


@clock_app.command("show")
def clock_show(as_json: bool = typer.Option(False, "--json")) -> None:
    """Print the local stack's time and when the next wait or schedule falls due."""
    _print_clock(_clock_request("GET"), as_json)
