"""The Lambda layer ships exactly the runtime: every module of `kaeri` is reachable from a handler, and none
of them reaches into the operator tooling or its dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

from kaeri_cdk import constants as c
from kaeri_cdk.layer_build import build_common_layer

RUNTIME_ROOT = c.REPO_ROOT / "layers" / "common"
FUNCTIONS = c.REPO_ROOT / "functions"
# Imported only by the operator tooling; a runtime module importing one would fail in Lambda.
TOOLING_ONLY = {"kaeri_ops", "typer", "rich", "moto", "pandas", "lifetimes", "implicit", "scipy"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(RUNTIME_ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _source(module: str) -> Path | None:
    base = RUNTIME_ROOT.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _runtime_modules() -> set[str]:
    return {_module_name(p) for p in (RUNTIME_ROOT / "kaeri").rglob("*.py")}


def _reachable_from_handlers() -> set[str]:
    pending = [name for handler in FUNCTIONS.rglob("*.py") for name in _imports(handler)]
    seen: set[str] = set()
    while pending:
        parts = pending.pop().split(".")
        for i in range(1, len(parts) + 1):
            module = ".".join(parts[:i])
            source = _source(module) if parts[0] == "kaeri" else None
            if source is not None and module not in seen:
                seen.add(module)
                pending.extend(_imports(source))
    return seen


def test_every_runtime_module_is_used_by_a_deployed_function() -> None:
    unused = _runtime_modules() - _reachable_from_handlers()
    assert not unused, (
        f"shipped in the layer but imported by no handler (move to tools/kaeri_ops): {sorted(unused)}"
    )


def test_the_runtime_never_imports_the_operator_tooling() -> None:
    offenders = {
        f"{_module_name(path)} imports {name}"
        for path in (RUNTIME_ROOT / "kaeri").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in TOOLING_ONLY
    }
    assert not offenders, sorted(offenders)


def test_the_layer_holds_the_whole_runtime_package_and_nothing_else() -> None:
    layer = build_common_layer(placeholder=True) / "python"
    shipped = {p.relative_to(layer).as_posix() for p in (layer / "kaeri").rglob("*") if p.is_file()}
    source = {
        p.relative_to(RUNTIME_ROOT).as_posix()
        for p in (RUNTIME_ROOT / "kaeri").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped == source
    assert not (layer / "kaeri_ops").exists()
