"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"): expected value of an order.

A customer's order values are Gamma(p, ν) with ν ~ Gamma(q, γ); fitted on customers with at least
one repeat order, by maximum likelihood on log-parameters. The mean spend is shrunk towards the
population mean in proportion to how few orders we have seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from kaeri.predictions.optimize import nelder_mead
from kaeri.predictions.special import gammaln

Array = NDArray[np.float64]


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean(self) -> float:
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else math.inf


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    converged: bool


def _log_likelihood_rows(p: float, q: float, g: float, x: Array, m: Array) -> Array:
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - math.lgamma(q)
        + q * math.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def fit(frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaFit:
    """Fit on customers with frequency > 0 and positive mean order value (others are ignored)."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    if x.size < 3:
        raise ValueError("Gamma-Gamma needs at least a few repeat customers")
    n = float(x.size)

    if float(np.std(np.log(m))) < 1e-6:
        raise ValueError("order values do not vary: nothing to pool")

    def negative(theta: Array) -> float:
        if np.any(np.abs(theta) > 25.0):  # a degenerate optimum runs off to infinity: stop it
            return np.inf
        p, q, g = np.exp(theta)
        return -float(_log_likelihood_rows(p, q, g, x, m).sum()) / n

    start = np.log(np.array([1.0, 2.0, float(np.mean(m))]))
    best = nelder_mead(negative, start, max_iter=2000)
    best = nelder_mead(negative, best.x, step=0.1, max_iter=2000)
    p, q, g = (float(v) for v in np.exp(best.x))
    return GammaGammaFit(GammaGammaParams(p, q, g), -best.fun * n, best.converged)


def expected_order_value(params: GammaGammaParams, frequency: ArrayLike, monetary: ArrayLike) -> Array:
    """E[mean order value | x, m̄]; customers with no repeat order get the population mean."""
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    denom = p * x + q - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        conditional = p * (g + m * x) / denom
    fallback = (
        params.population_mean
        if math.isfinite(params.population_mean)
        else float(np.mean(m[m > 0]) if np.any(m > 0) else 0.0)
    )
    return np.where((x > 0) & (m > 0) & (denom > 0), conditional, fallback)
