"""Special functions in plain numpy, so the Lambda layer needs no scipy.

`gammaln` is a Lanczos approximation (g=7, 9 terms; relative error ~1e-15 for x > 0).
`log_rising` is the exact log of the rising factorial for integer steps, which is all the BG/NBD
likelihood needs and is far cheaper than evaluating log-gamma per customer.
`hyp2f1` sums the Gauss hypergeometric series, valid for |z| < 1 (our arguments are in [0, 1)).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

_G = 7.0
_LANCZOS = np.array(
    [
        0.99999999999980993,
        676.5203681218851,
        -1259.1392167224028,
        771.32342877765313,
        -176.61502916214059,
        12.507343278686905,
        -0.13857109526572012,
        9.9843695780195716e-6,
        1.5056327351493116e-7,
    ]
)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

Array = NDArray[np.float64]


def gammaln(x: ArrayLike) -> Array:
    """log Γ(x) for x > 0, elementwise."""
    x = np.asarray(x, dtype=np.float64)
    small = x < 0.5
    # Γ(x) = Γ(x + 1) / x keeps the approximation on its accurate range.
    z = np.where(small, x + 1.0, x) - 1.0
    series = np.full_like(z, _LANCZOS[0])
    for i in range(1, len(_LANCZOS)):
        series = series + _LANCZOS[i] / (z + i)
    t = z + _G + 0.5
    out = _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(series)
    return np.where(small, out - np.log(x), out)


def log_rising(a: float, n: NDArray[np.int64]) -> Array:
    """log Γ(a + n) − log Γ(a) for non-negative integers n: the sum of log(a + k), k < n."""
    n = np.asarray(n, dtype=np.int64)
    top = int(n.max(initial=0))
    table = np.zeros(top + 1)
    if top:
        table[1:] = np.cumsum(np.log(a + np.arange(top, dtype=np.float64)))
    return table[n]


def rising_reciprocal_sum(a: float, n: NDArray[np.int64]) -> Array:
    """d/da of log_rising(a, n): the sum of 1/(a + k), k < n."""
    n = np.asarray(n, dtype=np.int64)
    top = int(n.max(initial=0))
    table = np.zeros(top + 1)
    if top:
        table[1:] = np.cumsum(1.0 / (a + np.arange(top, dtype=np.float64)))
    return table[n]


def hyp2f1(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike, tol: float = 1e-14, max_terms: int = 200_000
) -> Array:
    """Gauss hypergeometric ₂F₁(a, b; c; z) by its power series, elementwise, for 0 ≤ z < 1."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    shape = arrays[0].shape
    a_, b_, c_, z_ = (np.ravel(v) for v in arrays)
    if np.any(z_ >= 1.0) or np.any(z_ < 0.0):
        raise ValueError("hyp2f1 series needs 0 <= z < 1")
    term = np.ones(a_.shape)
    total = np.ones(a_.shape)
    idx = np.arange(a_.size)
    for k in range(max_terms):
        if idx.size == 0:
            break
        t = term[idx] * (a_[idx] + k) * (b_[idx] + k) / ((c_[idx] + k) * (k + 1.0)) * z_[idx]
        term[idx] = t
        total[idx] += t
        # A term can also vanish exactly (a or b a non-positive integer): the series has ended.
        idx = idx[np.abs(t) > tol * np.abs(total[idx])]
    return total.reshape(shape)
