"""docs/scenario.schema.json, as an editor uses it: every property described, durations and times checked."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from kaeri_ops.scenarios.loader import json_schema
from kaeri_ops.scenarios.presets import presets

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "scenario.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def _properties(schema: dict) -> list[tuple[str, dict]]:
    models = {"Scenario": schema, **schema.get("$defs", {})}
    return [
        (f"{m}.{name}", prop) for m, d in models.items() for name, prop in d.get("properties", {}).items()
    ]


def _cart() -> dict:
    return json.loads(json.dumps(presets("ja")[0].model_dump(mode="json", by_alias=True, exclude_none=True)))


def test_every_property_has_a_description():
    undescribed = [key for key, prop in _properties(json_schema()) if not prop.get("description", "").strip()]
    assert len(_properties(json_schema())) > 60
    assert undescribed == []


def test_the_published_schema_is_valid_and_every_preset_passes_it():
    Draft202012Validator.check_schema(SCHEMA)
    for scenario in presets("ja"):
        data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert list(VALIDATOR.iter_errors(data)) == [], scenario.id


def _first_wait(data: dict) -> dict:
    return next(step["wait"] for step in data["steps"] if "wait" in step)


@pytest.mark.parametrize("duration", ["1 hour", "1H", "60", "h", "1h30", "", "PT1H"])
def test_a_duration_the_model_refuses_fails_schema_validation(duration):
    data = _cart()
    assert _first_wait(data)["duration"] == "1h"
    _first_wait(data)["duration"] = duration

    wait = Draft202012Validator({"$ref": "#/$defs/WaitSpec", "$defs": SCHEMA["$defs"]})

    assert list(VALIDATOR.iter_errors(data)), duration  # the whole file is flagged
    (error,) = wait.iter_errors({"duration": duration})  # and the editor can point at the field
    assert list(error.absolute_path) == ["duration"]
    assert any(c.validator == "pattern" for c in error.context)  # str | None: the string form failed


@pytest.mark.parametrize("duration", ["30m", "1h", "2d", "1d12h", "90s"])
def test_durations_the_model_accepts_pass(duration):
    data = _cart()
    _first_wait(data)["duration"] = duration
    assert list(VALIDATOR.iter_errors(data)) == []


@pytest.mark.parametrize(
    ("start", "ok"), [("09:00", True), ("23:59", True), ("24:00", False), ("9:00", False)]
)
def test_window_times_are_hh_mm(start, ok):
    data = copy.deepcopy(_cart())
    _first_wait(data)["window"] = {"start": start, "end": "21:00"}
    assert (list(VALIDATOR.iter_errors(data)) == []) is ok
