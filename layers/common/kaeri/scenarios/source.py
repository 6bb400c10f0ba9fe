"""Scenario YAML text in, Scenario out; every problem names its field path, line and column.

The CLI (`kaeri scenarios validate/push`) and the console's editor read scenarios through here, so a
marketer sees the same message in both, placed where the mistake is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from kaeri.scenarios.model import Scenario, ShopRules


@dataclass(frozen=True)
class Problem:
    path: str  # "steps.0.wait.duration", "(yaml)" or "(top)"
    message: str
    line: int | None = None  # 1-based, in the source text
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def located(self) -> str:
        where = f"line {self.line}, column {self.column}: " if self.line else ""
        return f"{where}{self}"


class ScenarioError(ValueError):
    """A scenario or rules text that does not validate; `problems` are 'path: message' lines."""

    def __init__(self, source: str, problems: list[str], located: list[Problem] | None = None) -> None:
        self.source = source
        self.problems = problems
        self.located = located or [Problem("(top)", p) for p in problems]
        super().__init__(f"{source}: " + "; ".join(problems))


def _path(loc: tuple[Any, ...]) -> tuple[str, list[Any]]:
    parts: list[Any] = []
    for item in loc:
        if parts and str(parts[-1]) == str(item):  # a tagged union repeats its tag
            continue
        parts.append(item)
    return ".".join(str(p) for p in parts) or "(top)", parts


def _errors(error: ValidationError) -> list[tuple[str, list[Any], str]]:
    found = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        path, parts = _path(item["loc"])
        if message.startswith("steps.") and path == "(top)":
            # A model-level check names its own path first: "steps.2.branch.then: ...".
            head, _, rest = message.partition(": ")
            parts = [int(p) if p.isdigit() else p for p in head.split(".")]
            found.append((head, parts, rest or message))
        else:
            found.append((path, parts, message))
    return found


def format_errors(error: ValidationError) -> list[str]:
    return [f"{path}: {message}" for path, _, message in _errors(error)]


def _node_at(root: yaml.Node | None, parts: list[Any]) -> yaml.Node | None:
    """The deepest YAML node along a pydantic location (parts that name no node, like tags, are skipped)."""
    node = root
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if child is not None:
                node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
    return node


def _located(text: str, error: ValidationError) -> list[Problem]:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        root = None
    problems = []
    for path, parts, message in _errors(error):
        node = _node_at(root, parts)
        mark = node.start_mark if node is not None else None
        problems.append(
            Problem(path, message, mark.line + 1 if mark else None, mark.column + 1 if mark else None)
        )
    return problems


def parse_scenario(data: Any, source: str = "scenario", text: str | None = None) -> Scenario:
    if not isinstance(data, dict):
        message = "a scenario is a mapping with id, name, trigger, steps"
        raise ScenarioError(source, [f"(top): {message}"], [Problem("(top)", message, 1, 1)])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        located = _located(text, exc) if text is not None else None
        raise ScenarioError(source, format_errors(exc), located) from None


def parse_rules(data: Any, source: str = "rules") -> ShopRules:
    try:
        return ShopRules.model_validate(data or {})
    except ValidationError as exc:
        raise ScenarioError(source, format_errors(exc)) from None


def load_text(text: str, source: str = "scenario") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = Problem(
            "(yaml)", str(exc), mark.line + 1 if mark else None, mark.column + 1 if mark else None
        )
        raise ScenarioError(source, [f"(yaml): {exc}"], [problem]) from None
    return parse_scenario(data, source, text)


def to_yaml(scenario: Scenario, *, concise: bool = False) -> str:
    """YAML for a stored scenario; concise leaves out unset (null) fields, as a person writes it."""
    data = json.loads(scenario.model_dump_json(by_alias=True, exclude_defaults=False, exclude_none=concise))
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
