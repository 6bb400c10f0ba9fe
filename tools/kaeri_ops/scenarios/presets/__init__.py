"""The eleven proven scenarios, shipped as YAML next to this module and installed disabled."""

from __future__ import annotations

from importlib import resources

from kaeri.scenarios.model import Scenario
from kaeri_ops.scenarios.loader import load_text

PRESET_IDS: tuple[str, ...] = (
    "cart-abandonment",
    "browse-abandonment",
    "points-statement",
    "points-expiry",
    "birthday",
    "winback",
    "restock",
    "recommendations",
    "welcome",
    "f1-f2",
    "cross-sell",
)


def preset(preset_id: str, lang: str | None = None) -> Scenario:
    text = resources.files(__package__).joinpath(f"{preset_id}.yaml").read_text(encoding="utf-8")
    scenario = load_text(text, f"presets/{preset_id}.yaml")
    return scenario.model_copy(update={"locale": lang}) if lang else scenario


def presets(lang: str | None = None) -> list[Scenario]:
    return [preset(pid, lang) for pid in PRESET_IDS]
