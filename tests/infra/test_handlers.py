"""The deployed handlers are wired one way, traced one way and named after their functions (issue 12).

The list of handlers is the topology's (plus the archive pipe's transform, which the CDK app deploys
outside it): a handler added there is held to the same rules without touching this file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kaeri_cdk.archive import ARCHIVE_TRANSFORM
from kaeri_ops.definitions.topology import FUNCTIONS, Function

REPO = Path(__file__).resolve().parents[2]
HANDLERS = (*FUNCTIONS, ARCHIVE_TRANSFORM)
IDS = [f.name for f in HANDLERS]
# Names that build clients or read settings; at module level they would run at import (cold start
# before the first request, and before a test could point them at moto).
CONSTRUCTORS = {"AwsClients", "client", "resource", "Session", "get_settings", "Settings"}


def _path(function: Function) -> Path:
    return REPO / function.code_dir / f"{function.handler.rpartition('.')[0]}.py"


def _tree(function: Function) -> ast.Module:
    return ast.parse(_path(function).read_text(), filename=str(_path(function)))


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _imported(tree: ast.Module) -> set[str]:
    return {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }


def _uses_aws(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "AwsClients" for n in ast.walk(tree))


def test_every_handler_file_is_listed_and_every_listed_handler_exists():
    listed = {_path(f) for f in HANDLERS}
    on_disk = set((REPO / "functions").glob("**/*.py"))
    assert listed == on_disk


@pytest.mark.parametrize("function", HANDLERS, ids=IDS)
def test_handler_file_is_named_as_its_function_in_the_folder_of_its_stage(function):
    stage, _, role = function.name.partition("-")
    module, _, attr = function.handler.rpartition(".")
    assert function.code_dir == f"functions/{stage}"
    # "track-api" -> track_api.py; a function with a one-word name (the console) is <name>_app.py.
    assert module == (f"{stage}_{role}" if role else f"{stage}_app")
    assert attr == "handler"


@pytest.mark.parametrize("function", HANDLERS, ids=IDS)
def test_handler_is_wired_through_kaeri_wiring_once(function):
    tree = _tree(function)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Global | ast.Nonlocal)], "no global singletons"
    assert not {"boto3", "botocore", "functools"} & _imported(tree), "clients only through kaeri.aws/wiring"
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign | ast.Expr):
            built = CONSTRUCTORS & _called_names(statement)
            assert not built, f"line {statement.lineno}: {built} at import time; build it in _wire"
    wirings = [
        s
        for s in tree.body
        if isinstance(s, ast.Assign)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "once"
    ]
    if not _uses_aws(tree):
        assert not wirings  # nothing to wire (the archive transform only maps records)
        return
    assert len(wirings) == 1
    (wiring,) = wirings
    assert [t.id for t in wiring.targets if isinstance(t, ast.Name)] == ["wired"]
    assert [a.id for a in wiring.value.args if isinstance(a, ast.Name)] == ["_wire"]
    wire = [s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "_wire"]
    assert len(wire) == 1 and [a.arg for a in wire[0].args.args] == ["clients"]
    # AwsClients appears only as _wire's parameter type (and its import): the handler never builds one.
    assert "AwsClients" not in _called_names(tree)


@pytest.mark.parametrize("function", HANDLERS, ids=IDS)
def test_handler_is_traced(function):
    tree = _tree(function)
    handler = next(s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "handler")
    decorators = [ast.unparse(d) for d in handler.decorator_list]
    assert "tracer.capture_lambda_handler" in decorators
    assert any(
        isinstance(s, ast.ImportFrom)
        and s.module == "kaeri.tracing"
        and [a.name for a in s.names] == ["tracer"]
        for s in tree.body
    )


def test_the_wired_seam_builds_once_and_tests_inject_through_use():
    from kaeri.wiring import once

    built: list[object] = []

    def wire(clients):
        built.append(clients)
        return ("services", clients)

    wired = once(wire)
    first = wired()
    assert wired() is first and len(built) == 1  # warm invocations reuse the first build
    with wired.use("fake-clients") as injected:
        assert wired() == injected == ("services", "fake-clients")
    assert wired() is first  # the previous wiring comes back after the block
    wired.reset()
    assert wired() is not first and len(built) == 3


@pytest.mark.slow
def test_every_lambda_function_has_active_tracing_and_may_write_traces(synth):
    functions = synth.resources("AWS::Lambda::Function")
    ours = {k: v for k, v in functions.items() if v["Properties"].get("FunctionName")}
    assert len(ours) >= len(HANDLERS)
    untraced = [k for k, v in functions.items() if v["Properties"].get("TracingConfig") != {"Mode": "Active"}]
    assert untraced == []
    policies = synth.resources("AWS::IAM::Policy")
    for logical, function in functions.items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        actions = {
            action
            for policy in policies.values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            for action in (
                [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            )
        }
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, logical


@pytest.mark.slow
def test_every_lambda_function_keeps_responses_and_errors_out_of_traces(synth):
    for logical, function in synth.resources("AWS::Lambda::Function").items():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        assert env.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false", logical
        assert env.get("POWERTOOLS_TRACER_CAPTURE_ERROR") == "false", logical
