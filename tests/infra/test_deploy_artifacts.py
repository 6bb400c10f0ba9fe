"""The deploy artifacts pass the tools AWS users check them with: cfn-lint on the synthesized template,
asl-validator (npm, installed by `make setup` from package-lock.json) on the journey state machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = REPO / "node_modules" / ".bin" / "asl-validator"
# W3005: CDK makes each function depend on its role's default policy and also references the role;
# cfn-lint calls the first dependency redundant. It is CDK's deliberate ordering, not ours to change.
CFN_LINT_IGNORED = ("W3005",)


def _resolve(value, account="123456789012", region="ap-northeast-1"):
    """A CloudFormation value with intrinsics replaced by plausible concrete values."""
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, parts = value["Fn::Join"]
            return delimiter.join(_resolve(p, account, region) for p in parts)
        if "Ref" in value:
            return {"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": account}.get(
                value["Ref"], value["Ref"]
            )
        if "Fn::GetAtt" in value:
            logical, _ = value["Fn::GetAtt"]
            return f"arn:aws:lambda:{region}:{account}:function:{logical}"
        return {k: _resolve(v, account, region) for k, v in value.items()}
    return value


def test_cfn_lint_finds_nothing_in_the_synthesized_template(synth, tmp_path):
    template = tmp_path / "Kaeri.template.json"
    template.write_text(json.dumps(synth.template))
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--regions",
            "ap-northeast-1",
            "--ignore-checks",
            *CFN_LINT_IGNORED,
        ]
        + ["--", str(template)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def _definition(synth) -> dict:
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    return json.loads(_resolve(machine["Properties"]["DefinitionString"]))


def test_asl_validator_accepts_the_deployed_journey_state_machine(synth, tmp_path):
    assert ASL_VALIDATOR.exists(), "run `make setup` (npm ci installs asl-validator from package-lock.json)"
    definition = tmp_path / "journey.asl.json"
    definition.write_text(json.dumps(_definition(synth)))
    run = subprocess.run([str(ASL_VALIDATOR), "--json-path", str(definition)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_asl_validator_rejects_a_broken_definition(synth, tmp_path):
    """The check can fail: a state pointing nowhere is refused."""
    broken = _definition(synth)
    first = broken["StartAt"]
    broken["States"][first].pop("End", None)
    broken["States"][first]["Next"] = "NoSuchState"
    definition = tmp_path / "broken.asl.json"
    definition.write_text(json.dumps(broken))
    run = subprocess.run([str(ASL_VALIDATOR), "--json-path", str(definition)], capture_output=True, text=True)
    assert run.returncode != 0


def test_the_template_holds_no_nodejs_lambda_on_an_end_of_life_runtime(synth):
    """CDK picks a Node runtime only for its own helper functions; none may be end of life."""
    supported = {"nodejs22.x", "nodejs24.x"}
    for logical, resource in synth.template["Resources"].items():
        runtime = resource.get("Properties", {}).get("Runtime", "")
        if isinstance(runtime, str) and runtime.startswith("nodejs"):
            assert runtime in supported, f"{logical}: {runtime}"
