"""Run every benchmark section, print a table, write build/bench.json.

A section is a module bench/<name>_bench.py with a function run() -> dict[str, float | int | str].
Run some sections with `python -m bench --only scale` (or `python -m bench scale ingest`); the keys of
the other sections already in build/bench.json are kept.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

OUT = Path("build/bench.json")


def _wanted(argv: list[str], names: list[str]) -> list[str]:
    """Section names from `--only a,b` and/or positional names; every section when none is given."""
    wanted: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--only":
            arg = next(args, "")
        elif arg.startswith("--only="):
            arg = arg.removeprefix("--only=")
        wanted += [name for name in arg.split(",") if name]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise SystemExit(f"unknown bench section(s) {unknown}; known: {names}")
    return wanted or names


def main(argv: list[str]) -> int:
    import bench

    names = sorted(
        m.name[: -len("_bench")] for m in pkgutil.iter_modules(bench.__path__) if m.name.endswith("_bench")
    )
    wanted = _wanted(argv, names)
    results: dict = json.loads(OUT.read_text()) if OUT.exists() else {}
    console = Console()
    for name in wanted:
        module = importlib.import_module(f"bench.{name}_bench")
        console.print(f"[bold]bench[/] {name} ...")
        started = time.perf_counter()
        section = module.run()
        section.setdefault("bench_seconds", round(time.perf_counter() - started, 2))
        for key, value in section.items():
            results[f"{name}.{key}" if "." not in key else key] = value
        # Written after each section, so a later section's failure keeps what was measured.
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    table = Table("metric", "value")
    for key in sorted(results):
        table.add_row(key, str(results[key]))
    console.print(table)
    console.print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
