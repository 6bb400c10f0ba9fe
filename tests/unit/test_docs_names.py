"""The docs name what exists: files, `kaeri` commands and KAERI_* variables (issue 12, "docs match the code").

Read from README.md and docs/*.md: every backticked repository path under functions/, layers/common/kaeri/,
tools/kaeri_ops/ or infra/ must exist; every backticked `kaeri ...` command must be a command of the
CLI (its words down to a registered command or group); every KAERI_* name must be a setting of
kaeri.settings or be read or set by code in the repository (the CDK app, the local stack, the tooling).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from kaeri.settings import Settings, env_name
from kaeri_ops.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PATH_PREFIXES = ("functions/", "layers/common/kaeri/", "tools/kaeri_ops/", "infra/")
CODE_DIRS = ("layers", "tools/kaeri_ops", "infra", "bench", "functions")


def _spans(doc: Path) -> list[tuple[int, str]]:
    text = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), doc.read_text(), flags=re.S)
    return [
        (line_no, span)
        for line_no, line in enumerate(text.splitlines(), 1)
        for span in re.findall(r"`([^`\n]+)`", line)
    ]


def _where(doc: Path, line: int) -> str:
    return f"{doc.relative_to(REPO)}:{line}"


def _paths() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for line, span in _spans(doc):
            for word in span.split():
                path = word.strip("(),;:").split("::")[0].split("#")[0]
                if path.startswith(PATH_PREFIXES) and not any(c in path for c in "*{}<>"):
                    found.append((_where(doc, line), path.rstrip("/")))
    return found


def _commands() -> list[tuple[str, str]]:
    inline = [(_where(doc, line), span) for doc in DOCS for line, span in _spans(doc)]
    shell = [  # command lines of the fenced examples
        (_where(doc, line_no), re.sub(r"^\s*\$?\s*", "", line).split(" #")[0])
        for doc in DOCS
        for line_no, line in enumerate(doc.read_text().splitlines(), 1)
        if re.match(r"\s*\$?\s*kaeri [a-z]", line)
    ]
    return [(where, text) for where, text in inline + shell if re.match(r"kaeri [a-z]", text)]


def _env_names() -> list[tuple[str, str]]:
    return [
        (_where(doc, line_no), name)
        for doc in DOCS
        for line_no, line in enumerate(doc.read_text().splitlines(), 1)
        for name in re.findall(r"\bKAERI_[A-Z0-9_]*[A-Z0-9]\b", line)
    ]


def _code_text() -> str:
    return "\n".join(
        path.read_text(errors="replace")
        for folder in CODE_DIRS
        for path in (REPO / folder).rglob("*.py")
        if "node_modules" not in path.parts and "cdk.out" not in path.parts
    )


def _unknown_words(command: str, root: Any) -> str | None:
    """The first word of `kaeri ...` that names no command where one is expected, else None."""
    node = parent = root
    for word in (w.lstrip("[") for w in command.split()[1:]):
        if word == "|":  # "kaeri scenarios list | show ID": alternatives of the same group
            node = parent
            continue
        group = getattr(node, "commands", None)  # a group (typer's click) lists its subcommands
        if word.startswith("--"):
            option = word.rstrip("]").split("=")[0]
            known = {opt for param in node.params for opt in (*param.opts, *param.secondary_opts)}
            if re.fullmatch(r"--[a-z][a-z-]*", option) and option not in known | {"--help"}:
                return option
            continue
        if group is None:
            continue  # arguments follow a command; their values are not checked here
        sub = group.get(word)
        if sub is None:
            return word if re.fullmatch(r"[a-z][a-z-]*", word) else None
        node, parent = sub, node
    return None


def test_the_docs_are_read():
    assert len(DOCS) > 5 and _paths() and _commands() and _env_names()


@pytest.mark.parametrize(("where", "path"), _paths(), ids=[f"{w} {p}" for w, p in _paths()])
def test_a_path_named_in_the_docs_exists(where, path):
    assert (REPO / path).exists(), f"{where}: `{path}` does not exist"


def test_every_kaeri_command_named_in_the_docs_is_registered():
    root = typer.main.get_command(app)
    assert "scenarios" in root.commands
    wrong = [
        f"{where}: `{command}` ({word!r} is no command)"
        for where, command in _commands()
        if (word := _unknown_words(command, root)) is not None
    ]
    assert wrong == []


def test_the_command_check_catches_a_command_that_does_not_exist():
    root = typer.main.get_command(app)
    assert _unknown_words("kaeri scenarios frobnicate s1", root) == "frobnicate"
    assert _unknown_words("kaeri frobnicate", root) == "frobnicate"
    assert _unknown_words("kaeri demo --frobnicate 3", root) == "--frobnicate"
    assert _unknown_words("kaeri demo --days 3 --json", root) is None


def test_every_kaeri_variable_named_in_the_docs_is_read_or_set_by_the_code():
    settings = {env_name(name) for name in Settings.model_fields}
    code = _code_text()
    wrong = [
        f"{where}: {name}"
        for where, name in _env_names()
        if name not in settings and not re.search(rf"\b{name}\b", code)
    ]
    assert wrong == []
