"""BG/NBD and Gamma-Gamma: our numpy implementation against the published CDNOW fit and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kaeri.predictions import bgnbd, gamma_gamma
from kaeri.predictions.special import gammaln, hyp2f1


def _cdnow_summary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from kaeri_ops.evaluation import CDNOW_CALIBRATION_END, _days, lifetimes_datasets, load_cdnow
    from kaeri_ops.rfm import summarise

    try:
        folder = lifetimes_datasets()
    except FileNotFoundError:
        pytest.skip("lifetimes (with the CDNOW files) is not installed")
    tx = load_cdnow(folder / "CDNOW_sample.txt")
    s = summarise(tx.customer, tx.day, tx.value, _days(CDNOW_CALIBRATION_END))
    return s.frequency, s.recency / 7.0, s.age / 7.0


def test_gammaln_matches_math_lgamma():
    xs = np.array([1e-6, 0.1, 0.5, 1.0, 2.5, 10.0, 123.4, 1e5])
    expected = np.array([math.lgamma(v) for v in xs])
    assert np.allclose(gammaln(xs), expected, rtol=1e-13, atol=1e-12)


def test_hyp2f1_matches_scipy():
    special = pytest.importorskip("scipy.special")
    a, b, c = np.array([0.24, 3.2, 12.0]), np.array([2.4, 5.4, 14.0]), np.array([2.2, 6.1, 13.5])
    z = np.array([0.2, 0.8, 0.97])
    assert np.allclose(hyp2f1(a, b, c, z), special.hyp2f1(a, b, c, z), rtol=1e-10)


def test_fit_on_cdnow_sample_matches_published_parameters():
    # Given the CDNOW sample with a 39-week calibration, in weeks, as in Fader, Hardie & Lee (2005)
    x, t_x, T = _cdnow_summary()
    assert x.size == 2357
    # When BG/NBD is fitted
    fit = bgnbd.fit(x, t_x, T)
    # Then parameters and log-likelihood are the published ones (within 1%)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in fit.params.as_dict().items():
        assert value == pytest.approx(published[name], rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert fit.converged


def test_predictions_behave_as_the_model_says():
    params = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    # A one-time buyer cannot have dropped out yet; a frequent buyer silent for long probably has.
    alive = bgnbd.p_alive(params, [0, 10, 10], [0.0, 30.0, 5.0], [38.0, 38.0, 38.0])
    assert alive[0] == 1.0
    assert alive[1] > 0.5 > 0.05 > alive[2]
    # Expected orders grow with the horizon and with past frequency.
    e30, e90 = (bgnbd.expected_orders(params, t, [1, 5], [20.0, 30.0], [38.0, 38.0]) for t in (30.0, 90.0))
    assert np.all(e90 > e30) and e30[1] > e30[0]
    # Cross-check equation 10 against scipy's hyp2f1 at a = 0.793 < 1.
    special = pytest.importorskip("scipy.special")
    x, tx, T, t = 3.0, 20.0, 38.0, 39.0
    r, al, a, b = 0.243, 4.414, 0.793, 2.426
    body = 1 - ((al + T) / (al + T + t)) ** (r + x) * special.hyp2f1(
        r + x, b + x, a + b + x - 1, t / (al + T + t)
    )
    expected = (a + b + x - 1) / (a - 1) * body / (1 + a / (b + x - 1) * ((al + T) / (al + tx)) ** (r + x))
    assert bgnbd.expected_orders(params, t, [3], [tx], [T])[0] == pytest.approx(expected, rel=1e-9)


def test_median_time_to_next_order_halves_survival():
    params = bgnbd.BgNbdParams(r=1.0, alpha=10.0, a=1.0, b=2.0)
    wait = bgnbd.median_time_to_next_order(params, [2], [30.0], [50.0])[0]
    # P(no order within the median wait | alive) = 1/2
    assert ((params.alpha + 50.0) / (params.alpha + 50.0 + wait)) ** (params.r + 2) == pytest.approx(0.5)


def test_fit_rejects_impossible_summaries():
    with pytest.raises(ValueError):
        bgnbd.fit([1], [5.0], [2.0])
    with pytest.raises(ValueError):
        bgnbd.fit([1.5], [1.0], [2.0])


def test_gamma_gamma_recovers_simulated_parameters():
    # Given customers whose order values follow the Gamma-Gamma model with known parameters
    rng = np.random.default_rng(7)
    p, q, g = 6.0, 4.0, 15.0
    n = 4000
    nu = rng.gamma(q, 1.0 / g, n)
    x = rng.integers(1, 8, n)
    means = np.array([rng.gamma(p, 1.0 / v, k).mean() for v, k in zip(nu, x, strict=True)])
    # When fitted
    fit = gamma_gamma.fit(x, means)
    # Then the population mean spend is recovered and individual estimates shrink towards it
    assert fit.params.population_mean == pytest.approx(p * g / (q - 1), rel=0.08)
    est = gamma_gamma.expected_order_value(fit.params, [1, 50, 0], [1000.0, 1000.0, 0.0])
    assert est[0] < est[1] < 1000.0
    assert est[2] == pytest.approx(fit.params.population_mean)
