"""The demo under least privilege: no function is refused anything it does."""

from __future__ import annotations

import pytest

from kaeri_ops.local import iam

pytestmark = pytest.mark.slow


def test_a_short_demo_runs_every_function_without_a_single_denial(tmp_path):
    """The demo drives every function (tracking, stream, schedules, journeys, send, feedback, links,
    nightly jobs) through the local stack; handlers may swallow an error, so the refusals are counted."""
    from kaeri_ops.demo.driver import DemoOptions, run

    iam.DENIALS.clear()
    run(DemoOptions(days=2, customers=30, seed=5, out=tmp_path / "report.html", json=True))
    assert iam.DENIALS == []
