"""YAML in, Scenario out, with errors that name the field path and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kaeri.scenarios.model import Scenario, ShopRules


class ScenarioError(ValueError):
    """A scenario or rules file that does not validate; `problems` are 'path: message' lines."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        text = str(item)
        if parts and parts[-1] == text:  # a tagged union repeats its tag
            continue
        parts.append(text)
    return ".".join(parts) or "(top)"


def format_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        path = _path(item["loc"])
        if message.startswith("steps.") and path == "(top)":
            problems.append(message)
        else:
            problems.append(f"{path}: {message}")
    return problems


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(source, ["(top): a scenario is a mapping with id, name, trigger, steps"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, format_errors(exc)) from None


def parse_rules(data: Any, source: str = "rules") -> ShopRules:
    try:
        return ShopRules.model_validate(data or {})
    except ValidationError as exc:
        raise ScenarioError(source, format_errors(exc)) from None


def load_text(text: str, source: str = "scenario") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [f"(yaml): {exc}"]) from None
    return parse_scenario(data, source)


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    return load_text(path.read_text(encoding="utf-8"), str(path))


def scenario_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def to_yaml(scenario: Scenario) -> str:
    data = json.loads(scenario.model_dump_json(by_alias=True, exclude_defaults=False))
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def json_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/kaeri/kaeri/docs/scenario.schema.json"
    return schema


def write_schema(path: str | Path) -> None:
    Path(path).write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
