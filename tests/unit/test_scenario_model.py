"""The scenario config: presets, validation messages with field paths, the published schema, storage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaeri_ops.scenarios.loader import ScenarioError, json_schema, load_text, parse_scenario, to_yaml
from kaeri_ops.scenarios.presets import PRESET_IDS, preset, presets

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "scenario.schema.json"
DOC = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"

MINIMAL = {
    "id": "demo",
    "name": "Demo",
    "trigger": {"event": {"event": "Product Added"}},
    "steps": [{"id": "mail", "send": {"channels": ["email"], "template": "demo-1"}}],
}


def problems(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return info.value.problems


def test_all_eleven_presets_load_with_the_documented_ids():
    assert [s.id for s in presets()] == list(PRESET_IDS)
    assert len(PRESET_IDS) == 11


def test_every_preset_template_id_is_listed_in_the_docs():
    doc = DOC.read_text()
    for scenario in presets():
        for template_id in scenario.template_ids():
            assert f"`{template_id}`" in doc, template_id


def test_cart_abandonment_timing_follows_the_brief():
    cart = preset("cart-abandonment")
    assert cart.steps[0].wait.duration == "1h"
    sends = cart.send_steps()
    assert sends[1].send.channels[0] == "line"
    assert sends[-1].send.context.get("incentive") is True and not sends[0].send.context
    assert set(cart.exit.when) == {"order_completed", "cart_emptied", "unsubscribed"}


def test_lang_sets_the_default_copy_language():
    assert {s.locale for s in presets("en")} == {"en"}


def test_schema_file_is_current():
    assert json.loads(SCHEMA.read_text()) == json_schema(), (
        "run: python -c 'from kaeri_ops.scenarios.loader import write_schema; write_schema(\"docs/scenario.schema.json\")'"
    )


def test_yaml_round_trip_keeps_the_scenario():
    for scenario in presets():
        assert load_text(to_yaml(scenario)) == scenario


def test_bad_duration_names_the_step_path():
    data = {**MINIMAL, "steps": [{"id": "w", "wait": {"duration": "soon"}}, *MINIMAL["steps"]]}
    assert problems(data) == ["steps.0.wait.duration: 'soon' is not a duration like 30m, 1h, 2d or 1d12h"]


def test_unknown_condition_names_its_path():
    data = {**MINIMAL, "audience": {"all": [{"order_count": {"gte": 1}}, {"orders": 3}]}}
    [problem] = problems(data)
    assert problem.startswith("audience.all.1: a condition has exactly one of:")


def test_condition_value_error_names_the_nested_field():
    data = {**MINIMAL, "audience": {"not": {"total_spent": {"gte": "lots"}}}}
    [problem] = problems(data)
    assert problem.startswith("audience.not.total_spent.gte:")


def test_invalid_timezone_and_cron_are_explained():
    data = {**MINIMAL, "trigger": {"schedule": {"cron": "0 10 * * *", "timezone": "Tokyo"}}}
    found = problems(data)
    assert any(p.startswith("trigger.schedule.cron: '0 10 * * *' needs 6 fields") for p in found)
    assert "trigger.schedule.timezone: 'Tokyo' is not an IANA timezone such as Asia/Tokyo" in found


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("99 99 * * ? *", "minutes field '99' is out of range 0-59"),
        ("0 10 * * MON *", "one of day-of-month and day-of-week must be '?'"),
        ("0 10 32 * ? *", "day-of-month field '32' is out of range 1-31"),
        ("0 10 ? * FOO *", "day-of-week field: 'FOO' is not a number or name"),
    ],
)
def test_a_cron_eventbridge_would_refuse_is_refused_by_the_model(cron, problem):
    # Given a schedule trigger whose cron has six fields but values Scheduler rejects
    data = {**MINIMAL, "trigger": {"schedule": {"cron": cron}}}
    # When it is validated; then the problem names the field and what is wrong
    assert any(p.startswith("trigger.schedule.cron:") and problem in p for p in problems(data)), problems(
        data
    )


@pytest.mark.parametrize(
    "cron", ["0 10 ? * MON-FRI *", "cron(30 9 1 * ? *)", "0 9 ? * 2#1 *", "0 21 L * ? 2026"]
)
def test_valid_crons_pass_the_model(cron):
    parse_scenario({**MINIMAL, "trigger": {"schedule": {"cron": cron}}})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d12h", 129600), ("1w", 604800), ("90s", 90), ("0m", 0), ("PT2H", 7200)]
    + [("P1DT2H", 93600), ("p1w", 604800), ("2H", 7200)],
)
def test_one_duration_syntax_for_scenarios_and_the_clock(text, seconds):
    from kaeri.scenarios.timing import parse_duration

    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["1.5h", "soon", "", "2h1d", "-1h", "1 h", "P", "PT", "P1DT", "h"])
def test_durations_outside_the_syntax_are_rejected_in_the_model_and_the_cli(text):
    from kaeri.scenarios.timing import parse_duration

    with pytest.raises(ValueError, match="is not a duration like 30m, 1h, 2d or 1d12h"):
        parse_duration(text)
    data = {**MINIMAL, "steps": [{"id": "w", "wait": {"duration": text}}, *MINIMAL["steps"]]}
    assert any(p.startswith("steps.0.wait.duration:") for p in problems(data))


def test_branch_to_unknown_step_and_missing_send_are_rejected():
    data = {
        **MINIMAL,
        "steps": [{"id": "b", "branch": {"if": {"signed_up": True}, "then": "nowhere"}}, *MINIMAL["steps"]],
    }
    assert problems(data) == ["steps.0.branch: 'nowhere' is not a step id (or 'end')"]
    assert (
        "steps: a scenario needs at least one send step"
        in problems({**MINIMAL, "steps": [{"id": "w", "wait": {"duration": "1h"}}]})[0]
    )


def test_reentry_once_per_needs_days():
    assert problems({**MINIMAL, "reentry": {"policy": "once_per"}}) == ["reentry: once_per needs days"]


def test_variant_weights_and_holdout_bounds():
    data = {
        **MINIMAL,
        "holdout_percent": 120,
        "steps": [{"id": "m", "send": {"channels": ["email", "email"], "template": "t"}}],
    }
    found = problems(data)
    assert any(p.startswith("holdout_percent:") for p in found)
    assert "steps.0.send.channels: a channel appears twice" in found


def test_store_keeps_every_version_and_the_enabled_flag(aws):
    from kaeri.scenarios.store import ScenarioStore

    store = ScenarioStore(aws)
    first = store.push("s1", preset("welcome"))
    assert (first.version, first.enabled) == (1, False)
    store.set_enabled("s1", "welcome", True)
    changed = preset("welcome").model_copy(update={"holdout_percent": 20})
    second = store.push("s1", changed)
    assert (second.version, second.enabled) == (2, True)
    assert store.get("s1", "welcome", version=1).scenario.holdout_percent == 10
    assert store.get("s1", "welcome").scenario.holdout_percent == 20
    assert store.versions("s1", "welcome") == [1, 2]
    assert [s.id for s in store.enabled("s1", cached=False)] == ["welcome"]
    item = aws.table("config").get_item(Key={"pk": "SCENARIO#s1#welcome", "sk": "V#000001"})["Item"]
    assert json.loads(item["config"])["id"] == "welcome"
