"""Durations as people type them: 30m, 2h, 1d2h, 90s, 1w, or ISO 8601 (PT2H, P1DT2H)."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"^(?:(\d+(?:\.\d+)?)([wdhms]))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_ISO = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """A positive or zero duration; raises ValueError naming the accepted forms."""
    raw = text.strip()
    lowered = raw.lower()
    if lowered and _SHORT.match(lowered):
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _PART.findall(lowered)))
    iso = _ISO.match(raw.upper())
    if iso and raw.upper() not in ("P", "PT") and not raw.upper().endswith("T"):
        return timedelta(seconds=sum(float(v) * _UNITS[k] for k, v in iso.groupdict().items() if v))
    raise ValueError(
        f"not a duration: {text!r} (use e.g. 30m, 2h, 1d, 1d2h, 90s, or ISO 8601 such as PT2H, P1DT2H)"
    )
