"""kaeri cost: the bill by service, readable at 80 columns; bad input is refused by name."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kaeri_ops.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["cost", *args], env={"COLUMNS": "80", "TERM": "dumb"})


def test_the_bill_fits_80_columns_and_names_each_service():
    result = _run("--customers", "100000", "--events-per-month", "800000")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for service in ("Lambda", "DynamoDB", "Step Functions", "SES", "LINE", "CloudWatch", "total"):
        assert any(service in line for line in lines), service


def test_detail_lists_each_item_within_80_columns():
    result = _run("--customers", "10000", "--detail")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "write request units" in result.output


def test_json_total_is_the_sum_of_its_services_and_grows_with_customers():
    small = json.loads(_run("--customers", "10000", "--json").output)
    large = json.loads(_run("--customers", "1000000", "--json").output)
    assert abs(small["usd_per_month"] - sum(small["by_service"].values())) < 0.01
    assert large["usd_per_month"] > 10 * small["usd_per_month"] * 0.5
    assert small["prices"]["region"] == "ap-northeast-1"


def test_bad_input_is_refused_with_what_is_wrong(tmp_path):
    result = _run("--customers", "0")
    assert result.exit_code == 2
    assert "customers" in result.output
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps({"cart_abandon_share": 2}))
    result = _run("--customers", "10", "--mix", str(mix))
    assert result.exit_code == 2
    assert "cart_abandon_share" in result.output
    result = _run("--customers", "10", "--units", str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert "missing.json" in result.output
