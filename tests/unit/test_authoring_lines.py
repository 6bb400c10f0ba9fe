"""Push refusals name the line of the mistake: a misspelled template id, an unknown filter, a variable
the documented context does not have."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kaeri.scenarios.store import ScenarioStore
from kaeri_ops.cli import app

TARGET = ["--stack", "kaeri", "--shop", "shop-a"]


def _preset(name: str) -> str:
    from kaeri_ops.scenarios.presets import __file__ as presets_init

    return (Path(presets_init).parent / f"{name}.yaml").read_text()


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_scenarios_push_names_the_line_of_a_misspelled_template_id(aws, tmp_path):
    text = _preset("cart-abandonment").replace("cart-abandonment-1", "cart-abandonmnet-1", 1)
    path = tmp_path / "cart.yaml"
    path.write_text(text)

    result = CliRunner().invoke(app, ["scenarios", "push", str(path), *TARGET])

    assert result.exit_code == 1
    expected = _line_of(text, "cart-abandonmnet-1")
    assert f"line {expected}: template 'cart-abandonmnet-1' does not exist" in result.output
    assert "did you mean 'cart-abandonment-1'" in result.output
    assert ScenarioStore(aws).list("shop-a") == []


def _template(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "note.j2"
    path.write_text(
        f"---\nid: note-1\nchannels: [line]\n---\n=== ja line\n{{{{ customer.first_name or 'お客' }}}}様\n{body}\n"
    )
    return path


def test_templates_push_names_the_line_of_an_unknown_filter(aws, tmp_path):
    path = _template(tmp_path, "合計 {{ customer.total_spent | mony }}")

    result = CliRunner().invoke(app, ["templates", "push", str(path), *TARGET])

    assert result.exit_code == 1
    assert f"{path}:7: ja line: No filter named 'mony'" in result.output


def test_templates_push_names_the_line_of_an_undocumented_variable(aws, tmp_path):
    path = _template(tmp_path, "{{ customer.nickname }}さん")

    result = CliRunner().invoke(app, ["templates", "push", str(path), *TARGET])

    assert result.exit_code == 1
    assert f"{path}:7:" in result.output and "nickname" in result.output
    assert "`{{ customer.nickname }}さん`" in result.output
