#!/usr/bin/env python3
"""`cdk synth` / `python infra/app.py`: the Kaeri stack, checked by cdk-nag's AwsSolutions pack.

Works offline: no AWS credentials, no Docker, no lookups (the stack is environment-agnostic).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parent / "layers" / "common"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
for _warning in ("DEPRECATED", "END_OF_LIFE"):
    os.environ.setdefault(f"JSII_SILENCE_WARNING_{_warning}_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from kaeri_cdk import constants as c  # noqa: E402
from kaeri_cdk.stack import KaeriStack  # noqa: E402


def cdk_json_context() -> dict:
    """cdk.json's context, for runs without the CDK CLI (which would pass it in CDK_CONTEXT_JSON)."""
    cdk_json = c.REPO_ROOT / "cdk.json"
    if "CDK_CONTEXT_JSON" in os.environ or not cdk_json.exists():
        return {}
    return json.loads(cdk_json.read_text()).get("context", {})


def build_app(context: dict | None = None, outdir: str | None = None) -> tuple[cdk.App, KaeriStack]:
    merged = {**cdk_json_context(), **(context or {})}
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = str(c.REPO_ROOT / "cdk.out")
    app = cdk.App(context=merged, outdir=outdir)
    stack_name = app.node.try_get_context(c.CTX_STACK_NAME) or c.STACK_ID
    stack = KaeriStack(
        app,
        c.STACK_ID,
        stack_name=stack_name,
        description="Kaeri: serverless CRM automation for online shops",
    )
    cdk.Tags.of(stack).add("project", "kaeri")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
