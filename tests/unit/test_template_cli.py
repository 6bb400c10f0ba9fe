"""`kaeri templates push` and `kaeri scenarios push|enable` refuse what would fail at send time (moto)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kaeri.delivery.template_store import TemplateStore
from kaeri_ops.cli import app

TARGET = ["--stack", "kaeri", "--shop", "shop-a"]
TEMPLATE = """---
id: {id}
channels: [line]
---
=== ja line
{body}
"""


def _preset(name: str) -> str:
    from kaeri_ops.scenarios.presets import __file__ as presets_init

    return (Path(presets_init).parent / f"{name}.yaml").read_text()


def test_templates_push_refuses_unknown_filter_and_undefined_variable_and_stores_nothing(aws, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "good.j2").write_text(
        TEMPLATE.format(id="note-1", body="{{ customer.first_name or 'お客' }}様")
    )
    (folder / "filter.j2").write_text(TEMPLATE.format(id="note-2", body="{{ customer.total_spent | mony }}"))
    (folder / "typo.j2").write_text(
        TEMPLATE.format(id="note-3", body="{{ cusotmer.points.balance }}ポイント")
    )

    result = CliRunner().invoke(app, ["templates", "push", str(folder), *TARGET])

    assert result.exit_code == 1
    assert "filter.j2" in result.output and "No filter named 'mony'" in result.output
    assert "typo.j2" in result.output and "cusotmer" in result.output
    assert "note-1" not in TemplateStore(aws.table("config")).ids("shop-a")  # not even the good one

    (folder / "filter.j2").unlink()
    (folder / "typo.j2").unlink()
    ok = CliRunner().invoke(app, ["templates", "push", str(folder), *TARGET])
    assert ok.exit_code == 0, ok.output
    assert "note-1" in TemplateStore(aws.table("config")).ids("shop-a")


def test_scenarios_push_and_enable_refuse_a_template_id_that_does_not_exist(aws, tmp_path):
    from kaeri.scenarios.store import ScenarioStore
    from kaeri_ops.scenarios.loader import load_text

    runner = CliRunner()
    bad = tmp_path / "cart.yaml"
    bad.write_text(
        _preset("cart-abandonment").replace("template: cart-abandonment-1", "template: cart-abandonmnet-1")
    )
    result = runner.invoke(app, ["scenarios", "push", str(bad), *TARGET])
    assert result.exit_code == 1
    assert "'cart-abandonmnet-1' does not exist; did you mean 'cart-abandonment-1'?" in result.output
    assert ScenarioStore(aws).list("shop-a") == []

    # A shop's own template counts once pushed.
    custom = tmp_path / "custom.yaml"
    custom.write_text(_preset("cart-abandonment").replace("template: cart-abandonment-1", "template: note-1"))
    assert runner.invoke(app, ["scenarios", "push", str(custom), *TARGET]).exit_code == 1
    note = tmp_path / "note-1.j2"
    note.write_text(TEMPLATE.format(id="note-1", body="{{ customer.first_name or 'お客' }}様"))
    assert runner.invoke(app, ["templates", "push", str(note), *TARGET]).exit_code == 0
    pushed = runner.invoke(app, ["scenarios", "push", str(custom), *TARGET])
    assert pushed.exit_code == 0, pushed.output

    # A scenario stored around the CLI (or before the check) cannot be enabled.
    ScenarioStore(aws).push("shop-a", load_text(bad.read_text(), "cart.yaml"))
    refused = runner.invoke(app, ["scenarios", "enable", "cart-abandonment", *TARGET])
    assert refused.exit_code == 1 and "cart-abandonmnet-1" in refused.output
    assert not ScenarioStore(aws).get("shop-a", "cart-abandonment").enabled
