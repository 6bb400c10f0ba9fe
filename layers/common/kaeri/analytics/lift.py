"""Incremental conversion against the holdout, with a 95% interval for the difference of two proportions.

The reported interval is Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the
Wilson score interval of each proportion: it stays inside [-1, 1] and keeps its coverage with the small
counts and rates near zero that holdouts produce. The Wald interval is kept for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import sqrt

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Lift:
    treatment_converted: int
    treatment_n: int
    holdout_converted: int
    holdout_n: int
    difference: float | None  # treatment rate - holdout rate
    low: float | None
    high: float | None
    method: str = "newcombe"

    @property
    def treatment_rate(self) -> float | None:
        return self.treatment_converted / self.treatment_n if self.treatment_n else None

    @property
    def holdout_rate(self) -> float | None:
        return self.holdout_converted / self.holdout_n if self.holdout_n else None

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for x successes out of n."""
    if n <= 0:
        raise ValueError("n must be positive")
    p = x / n
    centre = 2 * n * p + z * z
    spread = z * sqrt(z * z + 4 * n * p * (1 - p))
    denominator = 2 * (n + z * z)
    return (centre - spread) / denominator, (centre + spread) / denominator


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(p1 - p2, low, high) by Newcombe's hybrid score method."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d, d - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def wald(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """(p1 - p2, low, high) by the Wald (normal approximation) method."""
    p1, p2 = x1 / n1, x2 / n2
    se = sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return d, d - z * se, d + z * se


def lift(treatment_converted: int, treatment_n: int, holdout_converted: int, holdout_n: int) -> Lift:
    """The lift of treatment over holdout; difference and interval are None while either group is empty."""
    if treatment_n == 0 or holdout_n == 0:
        return Lift(treatment_converted, treatment_n, holdout_converted, holdout_n, None, None, None)
    d, low, high = newcombe(treatment_converted, treatment_n, holdout_converted, holdout_n)
    return Lift(treatment_converted, treatment_n, holdout_converted, holdout_n, d, low, high)
