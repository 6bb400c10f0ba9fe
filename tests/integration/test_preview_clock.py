"""`kaeri scenarios preview` judges at the stack's time: the local stack's manual clock, not the machine's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests

from kaeri_ops.local.stack import EmbeddedStack

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
KAERI = [sys.executable, "-c", "from kaeri_ops.cli import main; main()"]


def test_preview_in_another_process_uses_the_manual_clock(tmp_path):
    with EmbeddedStack(clock="manual", start=START, shop_id="shop-a", write_key="wk_preview") as stack:
        path = tmp_path / "local.json"
        path.write_text(json.dumps(stack.info()))
        # The CLI runs as its own process, as for a marketer: its clock is the machine's.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAERI_", "AWS_ENDPOINT"))}
        env["KAERI_LOCAL"] = str(path)

        def kaeri(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([*KAERI, *args], env=env, capture_output=True, text=True, timeout=300)

        assert kaeri("scenarios", "init").returncode == 0
        identified = requests.post(
            f"{stack.api_url}/v1/identify",
            auth=("wk_preview", ""),
            json={"userId": "u1", "traits": {"email": "u1@example.com"}, "timestamp": "2025-01-06T08:00:00Z"},
            timeout=30,
        )
        assert identified.status_code == 200, identified.text
        stack.advance("1h")  # 10:00 on the stack's clock

        result = kaeri("scenarios", "preview", "welcome", "--user", "u1")

    assert result.returncode == 0, result.stderr
    entry = next(line for line in result.stdout.splitlines() if line.startswith("entry"))
    assert "2025-01-06T10:00:00.000Z" in entry, result.stdout
