"""A small Nelder–Mead minimiser (numpy only), enough for 3–4 log-parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Minimum:
    x: NDArray[np.float64]
    fun: float
    iterations: int
    evaluations: int
    converged: bool


def nelder_mead(
    fun: Callable[[NDArray[np.float64]], float],
    x0: NDArray[np.float64],
    step: float = 0.5,
    xtol: float = 1e-9,
    ftol: float = 1e-11,
    max_iter: int = 5000,
) -> Minimum:
    """Minimise `fun` from `x0`; non-finite values count as +inf (a wall the simplex backs off)."""
    n = len(x0)
    evaluations = 0

    def f(x: NDArray[np.float64]) -> float:
        nonlocal evaluations
        evaluations += 1
        value = float(fun(x))
        return value if np.isfinite(value) else np.inf

    simplex = np.vstack([x0] + [x0 + step * np.eye(n)[i] for i in range(n)]).astype(np.float64)
    values = np.array([f(p) for p in simplex])
    # Adaptive coefficients (Gao & Han 2012) keep the method effective as n grows.
    alpha, gamma, rho, sigma = 1.0, 1.0 + 2.0 / n, 0.75 - 1.0 / (2 * n), 1.0 - 1.0 / n
    iteration = 0
    converged = False
    while iteration < max_iter:
        iteration += 1
        order = np.argsort(values)
        simplex, values = simplex[order], values[order]
        if np.max(np.abs(simplex[1:] - simplex[0])) <= xtol and np.max(
            np.abs(values[1:] - values[0])
        ) <= ftol * max(1.0, abs(values[0])):
            converged = True
            break
        centroid = simplex[:-1].mean(axis=0)
        worst = simplex[-1]
        reflected = centroid + alpha * (centroid - worst)
        fr = f(reflected)
        if fr < values[0]:
            expanded = centroid + gamma * (reflected - centroid)
            fe = f(expanded)
            if fe < fr:
                simplex[-1], values[-1] = expanded, fe
            else:
                simplex[-1], values[-1] = reflected, fr
            continue
        if fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
            continue
        if fr < values[-1]:
            contracted = centroid + rho * (reflected - centroid)
            fc = f(contracted)
            accept = fc <= fr
        else:
            contracted = centroid + rho * (worst - centroid)
            fc = f(contracted)
            accept = fc < values[-1]
        if accept:
            simplex[-1], values[-1] = contracted, fc
            continue
        for i in range(1, n + 1):
            simplex[i] = simplex[0] + sigma * (simplex[i] - simplex[0])
            values[i] = f(simplex[i])
    best = int(np.argmin(values))
    return Minimum(simplex[best].copy(), float(values[best]), iteration, evaluations, converged)


def bfgs(
    fun_grad: Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]],
    x0: NDArray[np.float64],
    gtol: float = 1e-8,
    max_iter: int = 500,
) -> Minimum:
    """Quasi-Newton minimisation with an Armijo backtracking line search (needs the gradient)."""
    x = np.asarray(x0, dtype=np.float64).copy()
    n = x.size
    evaluations = 1
    f, g = fun_grad(x)
    if not np.isfinite(f):
        raise ValueError("objective is not finite at the starting point")
    h = np.eye(n)
    iteration = 0
    converged = False
    while iteration < max_iter:
        iteration += 1
        if np.max(np.abs(g)) <= gtol:
            converged = True
            break
        direction = -h @ g
        slope = float(direction @ g)
        if slope >= 0:  # lost positive definiteness: restart from steepest descent
            h = np.eye(n)
            direction, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            candidate = x + step * direction
            fc, gc = fun_grad(candidate)
            evaluations += 1
            if np.isfinite(fc) and fc <= f + 1e-4 * step * slope:
                break
            step *= 0.5
            if step < 1e-12:
                return Minimum(x, f, iteration, evaluations, bool(np.max(np.abs(g)) <= 1e-5))
        s, y = candidate - x, gc - g
        x, f, g = candidate, fc, gc
        sy = float(s @ y)
        if sy > 1e-12:
            rho = 1.0 / sy
            eye = np.eye(n)
            h = (eye - rho * np.outer(s, y)) @ h @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)
    return Minimum(x, f, iteration, evaluations, converged)
