"""Synthesize the CDK app once per change of its inputs, shared by every test and xdist worker.

The template and cdk-nag's validation report are written under build/cdk-test/<inputs hash>/; a worker
that finds them (under a file lock) reuses them instead of paying another ~20 s synth.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

for _warning in ("DEPRECATED", "END_OF_LIFE"):
    os.environ.setdefault(f"JSII_SILENCE_WARNING_{_warning}_NODE_VERSION", "1")

REPO = Path(__file__).resolve().parents[2]
INPUTS = (
    "infra",
    "layers/common/kaeri",
    "functions",
    "tools/kaeri_ops/definitions",
    "cdk.json",
    "pyproject.toml",
)


@dataclass
class Synth:
    template: dict
    ok: bool
    error: str | None
    report: dict | None

    def resources(self, type_: str) -> dict[str, dict]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}


def _inputs_hash() -> str:
    from importlib.metadata import version

    from kaeri_cdk.layer_build import _digest, tree_digest

    parts = [version("aws-cdk-lib"), version("cdk-nag")]
    for rel in INPUTS:
        path = REPO / rel
        parts.append(tree_digest(path) if path.is_dir() else path.read_text() if path.exists() else "")
    return _digest(parts)


def _synthesize(out: Path) -> None:
    from app import build_app

    cdk_out = out / "cdk.out"
    app, stack = build_app(outdir=str(cdk_out))
    ok, error = True, None
    try:
        assembly = app.synth()
        template = assembly.get_stack_artifact(stack.artifact_id).template
    except RuntimeError as exc:  # cdk-nag's unacknowledged errors fail the synth
        ok, error = False, str(exc)
        template_file = cdk_out / f"{stack.artifact_id}.template.json"
        template = json.loads(template_file.read_text()) if template_file.exists() else {"Resources": {}}
    report_file = cdk_out / "validation-report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    (out / "result.json").write_text(
        json.dumps({"template": template, "ok": ok, "error": error, "report": report})
    )
    shutil.rmtree(cdk_out, ignore_errors=True)  # assets are copies of build/ and the function dirs


@pytest.fixture(scope="session")
def synth() -> Synth:
    root = REPO / "build" / "cdk-test"
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = root / _inputs_hash()
        if not (out / "result.json").exists():
            for old in root.iterdir():
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            out.mkdir()
            _synthesize(out)
        data = json.loads((out / "result.json").read_text())
    return Synth(**data)
