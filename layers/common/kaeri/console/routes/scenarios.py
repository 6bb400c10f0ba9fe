"""The shop's scenario list and one scenario's page: timeline, YAML and form editing, versions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from kaeri import clock
from kaeri.console.i18n import translator
from kaeri.console.pages import FormEdit, first_wait, lift_warning, timeline, window, yaml_diff
from kaeri.console.routes.common import currency, kpis, scenario_store, stored_or_404
from kaeri.console.web import BadRequest, Signed, current, new_router, page, query, see_other, shop, signed_in

if TYPE_CHECKING:
    from kaeri.scenarios.store import StoredScenario

router = new_router()


@router.get("/console/shops/<shop_id>")
def scenarios(shop_id: str) -> Response[str]:
    signed, _ = shop(shop_id)
    since, until = window(clock.now())
    stored = sorted(scenario_store().list(shop_id), key=lambda s: s.id)
    results = kpis(shop_id, since, until).scenarios
    rows = []
    for s in stored:
        result = results.get(s.id)
        rows.append({"stored": s, "result": result, "warning": lift_warning(result.lift) if result else None})
    notice = query("notice")
    return page(
        "scenarios",
        signed,
        shop_id=shop_id,
        rows=rows,
        since=since,
        until=until,
        currency=currency(shop_id),
        notice=notice,
    )


@router.post("/console/shops/<shop_id>/scenarios/<scenario_id>/enabled")
def set_enabled(shop_id: str, scenario_id: str) -> Response[str]:
    from kaeri.delivery.template_store import TemplateStore, missing_templates
    from kaeri.scenarios.store import StoredScenario

    console = current()
    signed, fields = shop(shop_id, post=True)
    stored = stored_or_404(shop_id, scenario_id)
    t = translator(signed.marketer.language)
    enabled = fields.get("enabled") == "1"
    if enabled:
        store = TemplateStore.of(console.clients)
        problems = missing_templates(stored.scenario.template_ids(), store, shop_id)
        if problems:
            raise BadRequest("; ".join(problems))
    # The schedule first: when Scheduler refuses, the scenario stays as it was.
    synced = _sync_schedule(
        shop_id, StoredScenario(stored.scenario, stored.version, enabled, stored.pushed_at)
    )
    if isinstance(synced, ScheduleFailed):
        return page("error", signed, 503, title=t("scenario.not_changed"), message=synced.message(t))
    stored = scenario_store().set_enabled(shop_id, scenario_id, enabled)
    key = "scenario.enabled_now" if enabled else "scenario.disabled_now"
    notice = " ".join(filter(None, [t(key, version=stored.version), synced]))
    return see_other(console.url(f"/shops/{shop_id}", notice=notice))


def _diff(shop_id: str, scenario_id: str) -> tuple[int, int, list[tuple[str, str]]] | None:
    """The diff between the versions ?from= and ?to= name, when both do."""
    from kaeri.scenarios.source import to_yaml

    a, b = query("from"), query("to")
    if not (a.isdigit() and b.isdigit()):
        return None
    store = scenario_store()
    old = store.get(shop_id, scenario_id, int(a)).scenario
    new = store.get(shop_id, scenario_id, int(b)).scenario
    return int(a), int(b), yaml_diff(to_yaml(old, concise=True), to_yaml(new, concise=True), f"v{a}", f"v{b}")


def scenario_page(
    signed: Signed,
    shop_id: str,
    stored: Any,
    *,
    status: int = 200,
    yaml_text: str | None = None,
    problems: list[Any] | None = None,
    notice: str = "",
    alert: str = "",
) -> Response[str]:
    from kaeri.scenarios.source import to_yaml

    t = translator(signed.marketer.language)
    versions = sorted(scenario_store().versions(shop_id, stored.id), reverse=True)
    latest = max(versions) if versions else stored.version
    return page(
        "scenario",
        signed,
        status,
        shop_id=shop_id,
        stored=stored,
        latest=latest,
        versions=versions,
        timeline=timeline(stored.scenario, t),
        yaml_text=yaml_text if yaml_text is not None else to_yaml(stored.scenario, concise=True),
        problems=problems or [],
        diff=_diff(shop_id, stored.id),
        notice=notice or query("notice"),
        alert=alert,
        steps=stored.scenario.steps,
        first_wait=first_wait(stored.scenario),
    )


@router.get("/console/shops/<shop_id>/scenarios/<scenario_id>")
def scenario(shop_id: str, scenario_id: str) -> Response[str]:
    signed, _ = shop(shop_id)
    version = query("version")
    stored = stored_or_404(shop_id, scenario_id, int(version) if version.isdigit() else None)
    return scenario_page(signed, shop_id, stored)


def save(signed: Signed, shop_id: str, current_: Any, text: str | None, data: Any) -> Response[str]:
    """Validate like `kaeri scenarios push`, then store a new version (running journeys keep theirs)."""
    from kaeri.delivery.template_store import TemplateStore, missing_templates
    from kaeri.scenarios.source import Problem, ScenarioError, load_text, parse_scenario, to_yaml
    from kaeri.scenarios.store import StoredScenario

    console = current()
    t = translator(signed.marketer.language)
    try:
        scenario = load_text(text, current_.id) if text is not None else parse_scenario(data, current_.id)
    except ScenarioError as exc:
        return scenario_page(
            signed,
            shop_id,
            current_,
            status=422,
            yaml_text=text,
            problems=exc.located,
            alert=t("scenario.refused"),
        )
    problems: list[Any] = []
    if scenario.id != current_.id:
        problems.append(Problem("id", f"stays {current_.id!r}: save a new scenario with the CLI"))
    store = TemplateStore.of(console.clients)
    for problem in missing_templates(scenario.template_ids(), store, shop_id):
        problems.append(_template_problem(problem, text, scenario))
    if problems:
        return scenario_page(
            signed,
            shop_id,
            current_,
            status=422,
            yaml_text=text if text is not None else to_yaml(scenario, concise=True),
            problems=problems,
            alert=t("scenario.refused"),
        )
    if scenario == current_.scenario:
        return see_other(
            console.url(f"/shops/{shop_id}/scenarios/{current_.id}", notice=t("scenario.unchanged"))
        )
    # The schedule first (for the version about to be stored): when Scheduler refuses, nothing is saved.
    latest = max(scenario_store().versions(shop_id, current_.id), default=current_.version)
    synced = _sync_schedule(shop_id, StoredScenario(scenario, latest + 1, current_.enabled))
    if isinstance(synced, ScheduleFailed):
        return scenario_page(
            signed,
            shop_id,
            current_,
            status=503,
            yaml_text=text if text is not None else to_yaml(scenario, concise=True),
            alert=synced.message(t),
        )
    saved = scenario_store().push(shop_id, scenario)
    notice = " ".join(filter(None, [t("scenario.saved", version=saved.version), synced]))
    return see_other(console.url(f"/shops/{shop_id}/scenarios/{current_.id}", notice=notice))


@router.post("/console/shops/<shop_id>/scenarios/<scenario_id>/yaml")
def save_yaml(shop_id: str, scenario_id: str) -> Response[str]:
    signed, fields = shop(shop_id, post=True)
    stored = stored_or_404(shop_id, scenario_id)
    return save(signed, shop_id, stored, fields.get("yaml", ""), None)


@router.post("/console/shops/<shop_id>/scenarios/<scenario_id>/form")
def save_form(shop_id: str, scenario_id: str) -> Response[str]:
    signed, fields = shop(shop_id, post=True)
    stored = stored_or_404(shop_id, scenario_id)
    fields.pop("csrf", None)
    return save(signed, shop_id, stored, None, FormEdit(fields).apply(stored.scenario))


@dataclass(frozen=True)
class ScheduleFailed:
    """Scheduler refused or could not be reached; the scenario was not changed."""

    scenario_id: str
    error: str

    def message(self, t: Callable[..., str]) -> str:
        return t("scenario.schedule_failed", scenario=self.scenario_id, error=self.error)


def _sync_schedule(shop_id: str, stored: StoredScenario) -> str | ScheduleFailed:
    """Create, update or delete a scenario's EventBridge schedule as `kaeri scenarios enable` does (the
    same kaeri.journeys.schedule.sync_schedule); what the marketer is told, or why it failed."""
    from kaeri.aws import BotoCoreError, ClientError
    from kaeri.journeys.schedule import sync_schedule

    t = translator(signed_in().marketer.language)
    try:
        name = sync_schedule(current().clients, shop_id, stored)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return ScheduleFailed(stored.id, f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip())
    except BotoCoreError as exc:
        return ScheduleFailed(stored.id, str(exc))
    if name is None:
        return ""
    trigger = stored.scenario.trigger
    state = t("schedule.enabled") if stored.enabled else t("schedule.disabled")
    return t("scenario.schedule_synced", cron=trigger.cron(), timezone=trigger.timezone or "UTC", state=state)


def _template_problem(problem: str, text: str | None, scenario: Any) -> Any:
    """A missing-template problem placed on the line that names the template, when there is a text."""
    from kaeri.scenarios.source import Problem

    template_id = problem.split("'")[1] if "'" in problem else ""
    path = next(
        (
            f"steps.{i}.send.template"
            for i, s in enumerate(scenario.steps)
            if hasattr(s, "send") and s.send.template == template_id
        ),
        "steps",
    )
    line = column = None
    if text and template_id:
        for number, row in enumerate(text.splitlines(), start=1):
            at = row.find(template_id)
            if at >= 0 and "template" in row:
                line, column = number, at + 1
                break
    return Problem(path, problem, line, column)
