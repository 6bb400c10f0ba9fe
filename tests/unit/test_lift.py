"""The holdout interval against textbook two-proportion numbers (Newcombe 1998, Stat Med 17:873, table II)."""

from math import sqrt

import pytest

from kaeri.analytics.lift import Z95, lift, newcombe, wald, wilson


def test_wald_interval_matches_the_hand_calculation():
    # Given 56/70 treated and 48/80 held out converted
    # When the Wald interval is computed
    d, low, high = wald(56, 70, 48, 80)
    # Then it is p1 - p2 ± 1.96 * sqrt(p1 q1 / n1 + p2 q2 / n2), worked out by hand:
    # 0.8*0.2/70 = 0.0022857, 0.6*0.4/80 = 0.0030000, se = sqrt(0.0052857) = 0.072703, 1.96*se = 0.14250
    se = sqrt(0.8 * 0.2 / 70 + 0.6 * 0.4 / 80)
    assert se == pytest.approx(0.072703, abs=1e-6)
    assert d == pytest.approx(0.2)
    assert (low, high) == (pytest.approx(0.0575, abs=1e-4), pytest.approx(0.3425, abs=1e-4))


def test_wilson_interval_matches_the_hand_calculation():
    # 56/70: (2*70*0.8 + z^2 ± z*sqrt(z^2 + 4*70*0.8*0.2)) / (2*(70 + z^2))
    #      = (112 + 3.8415 ± 1.96*sqrt(3.8415 + 44.8)) / 147.683 = (115.8415 ± 13.6690) / 147.683
    low, high = wilson(56, 70)
    assert low == pytest.approx((115.8415 - 13.6690) / 147.683, abs=1e-4)
    assert high == pytest.approx((115.8415 + 13.6690) / 147.683, abs=1e-4)
    assert wilson(0, 29)[0] == 0.0


def test_newcombe_interval_matches_the_published_examples():
    # Newcombe's method 10 for 56/70 vs 48/80 is 0.0524 to 0.3339; for 5/56 vs 0/29, -0.0381 to 0.1926.
    d, low, high = newcombe(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert low == pytest.approx(0.0524, abs=1e-4)
    assert high == pytest.approx(0.3339, abs=1e-4)
    # By hand from the Wilson limits: l1 = 0.69183, u1 = 0.87695, l2 = 0.49045, u2 = 0.70038
    assert low == pytest.approx(0.2 - sqrt((0.8 - 0.69183) ** 2 + (0.70038 - 0.6) ** 2), abs=1e-4)
    assert high == pytest.approx(0.2 + sqrt((0.87695 - 0.8) ** 2 + (0.6 - 0.49045) ** 2), abs=1e-4)
    _, low, high = newcombe(5, 56, 0, 29)
    assert (low, high) == (pytest.approx(-0.0381, abs=1e-4), pytest.approx(0.1926, abs=1e-4))


def test_lift_reports_newcombe_and_needs_both_arms():
    result = lift(56, 70, 48, 80)
    assert result.method == "newcombe" and result.significant
    assert result.treatment_rate == pytest.approx(0.8) and result.holdout_rate == pytest.approx(0.6)
    empty = lift(3, 10, 0, 0)
    assert empty.difference is None and empty.low is None and not empty.significant
    assert pytest.approx(1.96, abs=1e-3) == Z95
