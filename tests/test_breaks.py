"""Structural-break tests: the simulated sup-Wald null against published critical values, the Chow test against
the equivalent dummy-interaction F test, and break dating on series with known breaks."""

import numpy as np
import pytest
import statsmodels.api as sm

from clusterecon.estimators.breaks import (
    _supw_null_draws,
    bai_perron_critical_value,
    chow_test,
    sequential_breaks,
    sup_f_test,
)


@pytest.mark.parametrize("q", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.10, 0.05, 0.01])
def test_simulated_null_matches_bai_perron_2003_table(q, alpha):
    # Bai & Perron (2003, JAE 18:1-22) critical values of supF(1|0), trimming 0.15 (Wald scale): q=1: 7.04/8.58/12.29.
    # Our quantiles come from a seeded simulation (20k draws, 1,000-point grid): agree within 2.5%.
    draws = _supw_null_draws(q, 0.15)
    ours = np.quantile(draws, 1 - alpha)
    assert ours == pytest.approx(bai_perron_critical_value(q, 0, alpha), rel=0.025)


@pytest.mark.parametrize("l", [1, 2, 3])
def test_sequential_critical_values_from_the_simulated_null_match_the_table(l):
    # Bai & Perron (2003) supF(l+1|l), q = 1, trim 0.15, 5%: 10.13, 11.14, 11.83 — reproduced from the sup-F(1|0)
    # draws as the (0.95)^(1/(l+1)) quantile (maximum of l+1 independent segments), within 2.5%.
    draws = _supw_null_draws(1, 0.15)
    assert np.quantile(draws, 0.95 ** (1 / (l + 1))) == pytest.approx(bai_perron_critical_value(1, l, 0.05), rel=0.025)


def test_chow_equals_interaction_f_test():
    rng = np.random.default_rng(1)
    T = 40
    t = np.arange(T, dtype=float)
    X = np.column_stack([np.ones(T), t])
    y = 1 + 0.1 * t + np.where(t >= 25, 0.8 * (t - 25), 0) + rng.normal(0, 1, T)
    ours = chow_test(y, X, 25)
    d = (t >= 25).astype(float)
    full = sm.OLS(y, np.column_stack([X, X * d[:, None]])).fit()
    ref = full.f_test(np.array([[0, 0, 1, 0], [0, 0, 0, 1]]))
    assert ours.stat == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-10)
    assert ours.pvalue == pytest.approx(float(ref.pvalue), rel=1e-8)
    assert ours.df == (2, T - 4)


def test_sup_f_finds_a_mean_shift_and_not_noise():
    rng = np.random.default_rng(7)
    y = np.r_[rng.normal(0, 1, 30), rng.normal(2.0, 1, 30)]
    res = sup_f_test(y)
    assert abs(res.break_at - 30) <= 2
    assert res.pvalue < 0.01
    rejections = sum(sup_f_test(rng.normal(0, 1, 60)).pvalue < 0.05 for _ in range(200))
    assert 2 <= rejections <= 22  # nominal 5% of 200 = 10; binomial 99.9% band


def test_sequential_dates_two_trend_breaks():
    rng = np.random.default_rng(3)
    T = 45
    t = np.arange(T, dtype=float)
    trend = np.where(t < 15, 0.0, np.where(t < 30, 0.5 * (t - 15), 7.5 + 0.0 * (t - 30)))
    y = trend + rng.normal(0, 0.3, T)
    X = np.column_stack([np.ones(T), t])
    dating = sequential_breaks(y, X, max_breaks=3)
    assert len(dating.breaks) == 2
    assert abs(dating.breaks[0] - 15) <= 2 and abs(dating.breaks[1] - 30) <= 2


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="missing"):
        sup_f_test([1.0, np.nan, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    with pytest.raises(ValueError, match="at least"):
        chow_test(np.arange(10.0), np.column_stack([np.ones(10), np.arange(10.0)]), 1)


def test_exact_piecewise_linear_series_is_degenerate_not_a_division_by_zero():
    # issue 10: a bootstrap draw that is exactly piecewise linear made sup_f_test divide by a zero SSR
    t = np.arange(20, dtype=float)
    y = np.where(t < 10, 1.0 + 0.1 * t, 3.0 + 0.8 * (t - 10))
    X = np.column_stack([np.ones(20), t])
    res = sup_f_test(y, X)
    assert np.isfinite(res.stat) and res.degenerate and res.break_at == 10
    chow = chow_test(y, X, 10)
    assert np.isfinite(chow.stat) and "degenerate" in chow.note
    assert sequential_breaks(y, X, max_breaks=1).breaks == (10,)
