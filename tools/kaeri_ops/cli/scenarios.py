"""`kaeri scenarios ...`: validate, push, list, show, enable, disable, init, preview, rules."""

from __future__ import annotations

from pathlib import Path

import typer

from kaeri_ops.cli.context import SHOP_OPTION, STACK_OPTION, NoStackError, target_or_exit

group = typer.Typer(help="Scenarios: what to send, to whom and when.", no_args_is_help=True)


def _load(path: Path):
    from kaeri_ops.scenarios.loader import ScenarioError, load_file

    try:
        return load_file(path)
    except ScenarioError as exc:
        typer.echo(f"{exc.source}: invalid", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1) from None


def _refuse_unknown_templates(source: str, scenario, target=None) -> None:
    """Every send step must name an existing template (the shop's pushed ones, or the packaged)."""
    from kaeri.delivery.template_store import TemplateStore, missing_templates

    store = TemplateStore(target.clients.table("config")) if target is not None else None
    lines = _template_lines(Path(source)) if Path(source).is_file() else {}
    problems = []
    for template_id in scenario.template_ids():
        for problem in missing_templates([template_id], store, target.shop_id if target else None):
            if target is None and "did you mean" not in problem:
                # Offline only the packaged ids are known: refuse near-misses of them (typos); an id
                # of a shop's own template is checked by push and enable against the stack.
                continue
            at = lines.get(template_id)
            problems.append(f"line {', '.join(map(str, at))}: {problem}" if at else problem)
    if problems:
        typer.echo(f"{source}: invalid", err=True)
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)


def _template_lines(path: Path) -> dict[str, list[int]]:
    """The 1-based lines where each `template: ID` value stands in a scenario file."""
    import yaml

    found: dict[str, list[int]] = {}

    def walk(node) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                named = isinstance(key, yaml.ScalarNode) and key.value == "template"
                if named and isinstance(value, yaml.ScalarNode):
                    found.setdefault(value.value, []).append(value.start_mark.line + 1)
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    try:
        for document in yaml.compose_all(path.read_text(encoding="utf-8")):
            walk(document)
    except yaml.YAMLError:
        return {}
    return found


def _sync(target, stored) -> str:
    from kaeri.journeys.schedule import sync_schedule

    try:
        name = sync_schedule(target.clients, target.shop_id, stored)
    except Exception as exc:  # the scenario is stored; the schedule can be synced again by enable
        return f" (schedule not updated: {exc})"
    return f", schedule {name}" if name else ""


@group.command()
def validate(file: Path = typer.Argument(..., exists=True, readable=True)) -> None:
    """Check a scenario YAML file; errors name the field path."""
    from kaeri_ops.scenarios.loader import scenario_files

    for path in scenario_files(file):
        scenario = _load(path)
        _refuse_unknown_templates(str(path), scenario)
        typer.echo(
            f"{path}: ok ({scenario.id}, {len(scenario.steps)} steps, templates {', '.join(scenario.template_ids())})"
        )


@group.command()
def push(
    path: Path = typer.Argument(..., exists=True),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Store a new version of each scenario in FILE or DIR (earlier versions are kept)."""
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.loader import scenario_files

    files = scenario_files(path)
    scenarios = [_load(p) for p in files]
    target = target_or_exit(stack, shop)
    for file, scenario in zip(files, scenarios, strict=True):
        _refuse_unknown_templates(str(file), scenario, target)
    store = ScenarioStore(target.clients)
    for scenario in scenarios:
        stored = store.push(target.shop_id, scenario)
        state = "enabled" if stored.enabled else "disabled"
        typer.echo(f"{scenario.id}: version {stored.version} ({state}){_sync(target, stored)}")


@group.command("list")
def list_(stack: str | None = STACK_OPTION, shop: str | None = SHOP_OPTION) -> None:
    """The shop's scenarios with version, state and trigger."""
    from kaeri.scenarios.store import ScenarioStore

    target = target_or_exit(stack, shop)
    for stored in sorted(ScenarioStore(target.clients).list(target.shop_id), key=lambda s: s.id):
        trigger = stored.scenario.trigger
        what = trigger.event.event if trigger.event else trigger.cron()
        state = "enabled " if stored.enabled else "disabled"
        typer.echo(f"{stored.id:<20} v{stored.version:<4} {state} {trigger.kind:<8} {what}")


@group.command()
def show(
    scenario_id: str,
    version: int | None = typer.Option(None, "--version"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Print a scenario (latest version unless --version) as YAML."""
    from kaeri.scenarios.store import ScenarioNotFound, ScenarioStore
    from kaeri_ops.scenarios.loader import to_yaml

    target = target_or_exit(stack, shop)
    store = ScenarioStore(target.clients)
    try:
        stored = store.get(target.shop_id, scenario_id, version)
    except ScenarioNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    versions = store.versions(target.shop_id, scenario_id)
    typer.echo(
        f"# version {stored.version} of {max(versions)}, {'enabled' if stored.enabled else 'disabled'}"
    )
    typer.echo(to_yaml(stored.scenario), nl=False)


def _set_enabled(scenario_id: str, enabled: bool, stack: str | None, shop: str | None) -> None:
    from kaeri.scenarios.store import ScenarioNotFound, ScenarioStore

    target = target_or_exit(stack, shop)
    try:
        stored = ScenarioStore(target.clients).set_enabled(target.shop_id, scenario_id, enabled)
    except ScenarioNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{scenario_id}: {'enabled' if enabled else 'disabled'} (version {stored.version}){_sync(target, stored)}"
    )


@group.command()
def enable(scenario_id: str, stack: str | None = STACK_OPTION, shop: str | None = SHOP_OPTION) -> None:
    """Start running a scenario (creates its schedule when it is scheduled)."""
    from kaeri.scenarios.store import ScenarioNotFound, ScenarioStore

    target = target_or_exit(stack, shop)
    try:
        stored = ScenarioStore(target.clients).get(target.shop_id, scenario_id)
    except ScenarioNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    _refuse_unknown_templates(scenario_id, stored.scenario, target)
    _set_enabled(scenario_id, True, stack, shop)


@group.command()
def disable(scenario_id: str, stack: str | None = STACK_OPTION, shop: str | None = SHOP_OPTION) -> None:
    """Stop starting new journeys (running journeys finish on their version)."""
    _set_enabled(scenario_id, False, stack, shop)


@group.command()
def init(
    lang: str = typer.Option("ja", "--lang", help="default copy language: ja or en"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Install the eleven built-in scenarios, disabled until enabled."""
    from kaeri.scenarios.store import ScenarioNotFound, ScenarioStore
    from kaeri_ops.scenarios.presets import presets

    if lang not in ("ja", "en"):
        typer.echo("--lang must be ja or en", err=True)
        raise typer.Exit(2)
    target = target_or_exit(stack, shop)
    store = ScenarioStore(target.clients)
    for scenario in presets(lang):
        try:
            existing = store.get(target.shop_id, scenario.id)
        except ScenarioNotFound:
            existing = None
        if existing and existing.scenario == scenario:
            typer.echo(f"{scenario.id}: up to date (version {existing.version})")
            continue
        stored = store.push(target.shop_id, scenario)
        typer.echo(f"{scenario.id}: version {stored.version} ({'enabled' if stored.enabled else 'disabled'})")


@group.command()
def preview(
    scenario_id: str,
    user: str = typer.Option(..., "--user", help="customer (user) id"),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Which steps would fire for this customer, when, and why or why not."""
    from kaeri import clock
    from kaeri.journeys.preview import preview as run_preview
    from kaeri.scenarios.store import ScenarioNotFound

    target = target_or_exit(stack, shop)
    try:
        now = target.now()  # the stack's clock: `kaeri local --clock manual` is judged at its time
    except NoStackError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        lines = run_preview(target.clients, target.shop_id, scenario_id, user, now)
    except ScenarioNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    for line in lines:
        when = clock.iso(line.at) if line.at else "-"
        typer.echo(f"{line.step:<20} {line.action:<6} {when}  {line.why}")


@group.command()
def rules(
    file: Path | None = typer.Argument(
        None, help="YAML with timezone, frequency_caps, quiet_hours, daily_limit"
    ),
    stack: str | None = STACK_OPTION,
    shop: str | None = SHOP_OPTION,
) -> None:
    """Show the shop-wide rules, or replace them from FILE."""
    import yaml

    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.loader import ScenarioError, parse_rules

    target = target_or_exit(stack, shop)
    store = ScenarioStore(target.clients)
    if file is not None:
        try:
            store.put_rules(target.shop_id, parse_rules(yaml.safe_load(file.read_text()), str(file)))
        except ScenarioError as exc:
            for problem in exc.problems:
                typer.echo(f"  {problem}", err=True)
            raise typer.Exit(1) from None
    typer.echo(yaml.safe_dump(store.rules(target.shop_id).model_dump(mode="json"), sort_keys=False), nl=False)


def register(app: typer.Typer) -> None:
    """Attach `kaeri scenarios ...` to the root app."""
    app.add_typer(group, name="scenarios")
