"""A small demo run through the real local stack: messages go out and the KPIs add up."""

from __future__ import annotations

import pytest

from kaeri_ops.demo.driver import DemoOptions, run

pytestmark = pytest.mark.slow


def test_a_short_demo_sends_messages_and_reports_consistent_kpis(tmp_path):
    # Given a small shop over two days (day 0 is the first Monday of a month: the monthly recommendations run)
    out = tmp_path / "report.html"
    # When the demo drives it through the local stack
    result = run(DemoOptions(days=2, customers=50, seed=3, out=out, json=True))
    kpis = result.kpis
    # Then scenarios were installed and messages were sent through the real pipeline
    assert len(kpis["enabled_scenarios"]) == 11
    scenarios = kpis["scenarios"]
    # and a scheduled scenario ran: its schedule was created when it was enabled
    assert scenarios["recommendations"]["entered"] > 0
    # and the events sent are counted: imported history plus simulated visits
    tracking = kpis["tracking"]
    assert tracking["history_events"] > 0
    assert tracking["events"] == tracking["history_events"] + tracking["simulated_events"]
    assert tracking["visits"] <= tracking["requests"]
    assert sum(s["sent"] for s in scenarios.values()) > 0
    assert result.responses["sent"] == sum(s["sent"] for s in scenarios.values())
    # and every funnel narrows
    for sid, s in scenarios.items():
        assert s["sent"] >= s["delivered"] >= s["opened"] >= s["clicked"], sid
        assert s["entered"] >= s["holdout"], sid
        assert s["sent"] >= s["converted"], sid
        assert sum(s["sent_by_channel"].values()) == s["sent"], sid
        assert sum(s["skipped_by_reason"].values()) == s["skipped"], sid
    # and simulated engagement came back through the feedback function and the tracked links
    assert sum(s["opened"] for s in scenarios.values()) > 0
    assert "f2_rate_90d" in kpis and kpis["report"] == str(out)
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html
