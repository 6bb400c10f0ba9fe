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


# --- one repository per table (issue 12) ----------------------------------------------------------


def _table_opens(path: Path) -> list[tuple[int, str]]:
    """(line, logical table) of every `<anything>.table("<logical>")` call in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "table"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def test_every_table_has_its_repository_modules_and_they_exist() -> None:
    from kaeri.tables import REPOSITORIES, TABLES_BY_NAME

    assert set(REPOSITORIES) == set(TABLES_BY_NAME)
    for modules in REPOSITORIES.values():
        for module in modules:
            assert (RUNTIME_ROOT / module).is_file(), module


def test_each_table_is_opened_only_by_its_repository() -> None:
    from kaeri.tables import REPOSITORIES, TABLES_BY_NAME

    offenders = []
    for path in sorted((RUNTIME_ROOT / "kaeri").rglob("*.py")):
        module = path.relative_to(RUNTIME_ROOT).as_posix()
        for line, logical in _table_opens(path):
            if logical not in TABLES_BY_NAME:
                offenders.append(f"{module}:{line} opens an unknown table {logical!r}")
            elif module not in REPOSITORIES[logical]:
                offenders.append(
                    f"{module}:{line} opens {logical!r} (its repository: {REPOSITORIES[logical]})"
                )
    assert not offenders, offenders


def test_handlers_only_hand_tables_to_repositories() -> None:
    """functions/ wires clients once per function: a table may be passed to a constructor, never used."""
    offenders = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        handed = {id(arg) for node in ast.walk(tree) if isinstance(node, ast.Call) for arg in node.args}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "table"
                and id(node) not in handed
            ):
                offenders.append(f"{path.relative_to(FUNCTIONS)}:{node.lineno} uses a table directly")
    assert not offenders, offenders


def test_no_handler_imports_boto() -> None:
    """Handlers reach AWS through kaeri.aws like the rest of the runtime."""
    importing = {
        path.relative_to(FUNCTIONS).as_posix()
        for path in FUNCTIONS.rglob("*.py")
        if any(name.split(".")[0] in {"boto3", "botocore"} for name in _imports(path))
    }
    assert not importing, importing


def test_only_kaeri_aws_imports_boto() -> None:
    offenders = sorted(
        f"{_module_name(path)} imports {name}"
        for path in (RUNTIME_ROOT / "kaeri").rglob("*.py")
        if path.relative_to(RUNTIME_ROOT).as_posix() != "kaeri/aws.py"
        for name in _imports(path)
        if name.split(".")[0] in {"boto3", "botocore"}
    )
    assert not offenders, offenders


# Sort keys and partitions of the customers table's item kinds: spelled only by its repository.
CUSTOMERS_KEY_PREFIXES = ("CONSENT#", "INTEREST#", "__popular__#", "__together__#")
CUSTOMERS_KEYS = {"SUPPRESSION", "RECS", "__popular__", "__together__"}


def test_only_the_customers_repository_spells_its_keys() -> None:
    from kaeri.tables import REPOSITORIES

    owners = {*REPOSITORIES["customers"], "kaeri/profiles/repository.py"}
    offenders = []
    for path in sorted((RUNTIME_ROOT / "kaeri").rglob("*.py")):
        module = path.relative_to(RUNTIME_ROOT).as_posix()
        if module in owners:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and (node.value in CUSTOMERS_KEYS or node.value.startswith(CUSTOMERS_KEY_PREFIXES))
            ):
                offenders.append(f"{module}:{node.lineno} spells {node.value!r}")
    assert not offenders, offenders
