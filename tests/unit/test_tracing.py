"""kaeri.tracing: on Lambda the X-Ray recorder traces the handler and its AWS calls (botocore patched,
nothing else imported to be patched); elsewhere the handler runs untraced without building the recorder.

Each case runs in a fresh interpreter: the tracer is built when kaeri.tracing is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
from kaeri.tracing import tracer

@tracer.capture_lambda_handler
def handler(event, context):
    return {"echo": event["n"]}

result = handler({"n": 7}, None)
built = "aws_xray_sdk.core" in sys.modules  # read before importing the patcher below
from aws_xray_sdk.core import patcher
print(json.dumps({
    "result": result,
    "disabled": bool(tracer.disabled),
    "xray_built": built,
    "provider": type(tracer.provider).__module__,
    "patched": sorted(patcher._PATCHED_MODULES),
    "imported": sorted(m for m in ("requests", "sqlite3", "httpx") if m in sys.modules),
}))
"""


def _probe(tmp_path: Path, **env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED")
    }
    clean.update(env, PYTHONPATH=str(ROOT / "layers" / "common"), AWS_XRAY_CONTEXT_MISSING="LOG_ERROR")
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True, cwd=tmp_path
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_off_lambda_the_handler_runs_untraced_and_the_recorder_is_never_built(tmp_path):
    seen = _probe(tmp_path)

    assert seen["result"] == {"echo": 7}
    assert seen["disabled"] is True
    assert seen["xray_built"] is False
    assert seen["patched"] == []


def test_on_lambda_the_recorder_traces_with_only_botocore_patched(tmp_path):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    seen = _probe(
        tmp_path,
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_LAMBDA_FUNCTION_NAME="track-api",
        _X_AMZN_TRACE_ID=trace,
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
    )

    assert seen["result"] == {"echo": 7}
    assert seen["disabled"] is False
    assert seen["provider"].startswith("aws_xray_sdk")
    assert seen["patched"] == ["botocore"]
    assert seen["imported"] == []  # patch_all would have imported these to patch them


def test_tracing_can_be_switched_off_on_lambda(tmp_path):
    seen = _probe(
        tmp_path,
        LAMBDA_TASK_ROOT=str(tmp_path),
        AWS_LAMBDA_FUNCTION_NAME="x",
        POWERTOOLS_TRACE_DISABLED="true",
    )

    assert (seen["result"], seen["disabled"], seen["xray_built"]) == ({"echo": 7}, True, False)
