"""YAML in, Scenario out, with errors that name the field path and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kaeri.scenarios.model import Scenario
from kaeri.scenarios.source import (  # noqa: F401  (the CLI's names for the runtime's reader)
    ScenarioError,
    format_errors,
    load_text,
    parse_rules,
    parse_scenario,
    to_yaml,
)


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    return load_text(path.read_text(encoding="utf-8"), str(path))


def scenario_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/kaeri/kaeri/docs/scenario.schema.json"
    return schema


def write_schema(path: str | Path) -> None:
    Path(path).write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
