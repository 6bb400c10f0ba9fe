"""The `kaeri` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from kaeri_ops.cli import (
    console,
    cost,
    data,
    delivery,
    evaluation,
    local,
    measure,
    quarantine,
    scenarios,
    shops,
)

app = typer.Typer(
    name="kaeri",
    help="Kaeri: serverless CRM automation for online shops.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Kaeri: serverless CRM automation for online shops."""


local.register(app)  # kaeri local, kaeri clock ...
data.register(app)  # kaeri profiles ..., kaeri events ...
quarantine.register(app)  # kaeri events failed, kaeri events replay
scenarios.register(app)  # kaeri scenarios ...
delivery.register(app)  # kaeri templates ..., kaeri outbox ...
evaluation.register(app)  # kaeri eval ...
measure.register(app)  # kaeri kpis, kaeri report, kaeri demo
shops.register(app)  # kaeri shops ...
shops.register_doctor(app)  # kaeri doctor
cost.register(app)  # kaeri cost
console.register(app)  # kaeri console users ...


@app.command()
def version() -> None:
    """Print Kaeri's version."""
    from kaeri import __version__

    typer.echo(__version__)


def main() -> None:
    app()
