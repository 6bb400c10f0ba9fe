"""The counted per-unit figures the CLI uses: a harness run's output, kept as data.

`python -m bench cost` counts afresh and writes build/cost-units.json; counted.json next to this
module is the copy of such a run the CLI uses by default (its `command` and `counted_on` say which).
"""

from __future__ import annotations

from pathlib import Path

from kaeri_ops.cost.model import UnitFigures

COUNTED_FILE = Path(__file__).with_name("counted.json")


def load_units(path: Path | None = None) -> UnitFigures:
    return UnitFigures.model_validate_json((path or COUNTED_FILE).read_text(encoding="utf-8"))


def save_units(units: UnitFigures, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(units.model_dump_json(indent=1) + "\n", encoding="utf-8")
