"""`kaeri local` as a process: READY line, .kaeri/local.json, and `kaeri clock` moving it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

KAERI = [sys.executable, "-c", "from kaeri_ops.cli import main; main()"]


@pytest.fixture
def running(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAERI_", "AWS_ENDPOINT"))}
    process = subprocess.Popen(
        [
            *KAERI,
            "local",
            "--port",
            "0",
            "--clock",
            "manual",
            "--start",
            "2025-01-06T09:00:00Z",
            "--write-key",
            "wk_cli",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line.startswith("READY "):
            process.kill()
            pytest.fail(f"no READY line: {line!r} {process.stderr.read()[-2000:]}")
        yield process, json.loads(line.removeprefix("READY ")), tmp_path, env
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def kaeri(args, cwd, env):
    return subprocess.run([*KAERI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_local_prints_ready_writes_local_json_and_clock_advances(running):
    process, ready, cwd, env = running

    assert set(ready) == {"api_url", "aws_endpoint_url", "region", "shop_id", "write_key"}
    assert ready["write_key"] == "wk_cli" and ready["api_url"].startswith("http://127.0.0.1:")
    written = json.loads((cwd / ".kaeri" / "local.json").read_text())
    assert {k: written[k] for k in ready} == ready and written["table_prefix"] == "kaeri"
    # The local shop's other credentials are only in the file (a deployed stack shows them once).
    assert written["server_key"].startswith("sk_") and written["webhook_secret"].startswith("whsec_")

    advanced = kaeri(["clock", "advance", "1d2h", "--json"], cwd, env)
    assert advanced.returncode == 0, advanced.stderr
    assert json.loads(advanced.stdout)["now"] == "2025-01-07T11:00:00.000Z"
    shown = kaeri(["clock", "show"], cwd, env)
    assert "2025-01-07T11:00:00.000Z" in shown.stdout
    bad = kaeri(["clock", "advance", "soon"], cwd, env)
    assert bad.returncode != 0

    process.terminate()
    assert process.wait(timeout=20) == 0
    assert not Path(cwd / ".kaeri" / "local.json").exists()


def test_clock_without_a_running_stack_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAERI_")}
    result = kaeri(["clock", "show"], tmp_path, env)
    assert result.returncode == 2 and "kaeri local" in result.stderr
