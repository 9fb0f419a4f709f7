"""Units never decide a result: rescaling a regressor by 1e±4 or 1e±8 rescales its coefficient and s.e. inversely
and changes nothing else (no regressor dropped as "collinear" because of its scale, no direction lost in a
pseudo-inverse). Identity: b(x/c) = c·b(x)."""

import numpy as np
import pandas as pd
import pytest

import clusterecon.estimators as E
from clusterecon.estimators.firth import firth_logit


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(0)
    N, T = 200, 5
    firm, year = np.repeat(np.arange(N), T), np.tile(np.arange(T), N)
    u = rng.normal(size=N)[firm]
    x1, x2, z = rng.normal(size=N * T), rng.normal(size=N * T), rng.normal(size=N)[firm]
    y = 1 + 0.5 * x1 - 0.3 * x2 + 0.2 * z + u + rng.normal(size=N * T)
    return pd.DataFrame(dict(firm=firm, year=year, y=y, a=x1, b=x2, z=z)).set_index(["firm", "year"])


FITS = {
    "pooled_ols": lambda d: E.pooled_ols(d, "y ~ a + b + z"),
    "within": lambda d: E.within(d, "y ~ a + b"),
    "between": lambda d: E.between(d, "y ~ a + b + z"),
    "first_difference": lambda d: E.first_difference(d, "y ~ a + b"),
    "random_effects": lambda d: E.random_effects(d, "y ~ a + b + z"),
    "correlated_re": lambda d: E.correlated_re(d, "y ~ a + b + z"),
    "hausman_taylor": lambda d: E.hausman_taylor(d, "y ~ a + b + z", endog_varying=["a"]),
    "hausman_taylor_ti": lambda d: E.hausman_taylor(d, "y ~ a + b + z", endog_invariant=["z"]),
}


@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("name", sorted(FITS))
def test_rescaled_regressors_rescale_coefficients(panel, name, scale):
    base = FITS[name](panel)
    scaled = FITS[name](panel.assign(a=panel.a / scale, b=panel.b * scale, z=panel.z * scale))
    factor = pd.Series({"a": scale, "b": 1 / scale, "z": 1 / scale, "mean_a": scale, "mean_b": 1 / scale})
    f = factor.reindex(base.names).fillna(1.0).to_numpy()
    assert tuple(scaled.names) == tuple(base.names)
    np.testing.assert_allclose(scaled.coef / f, base.coef, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(scaled.std_errors.to_numpy() / f, base.std_errors.to_numpy(), rtol=1e-6)


# ------------------------------------------------------------------ maximum likelihood: one engine, unit-free
@pytest.fixture(scope="module")
def binary_panel():
    rng = np.random.default_rng(1)
    N, T = 300, 4
    firm, year = np.repeat(np.arange(N), T), np.tile(np.arange(T), N)
    u = 0.7 * rng.normal(size=N)[firm]
    x1, x2, e = rng.normal(size=N * T), rng.normal(size=N * T), rng.normal(size=N * T)
    ys = 0.2 + 0.5 * x1 - 0.4 * x2 + u + rng.normal(size=N * T)
    d = (ys > 0).astype(int)
    return pd.DataFrame(dict(firm=firm, year=year, d=d, c=np.maximum(ys, 0), a=x1, b=x2, o=rng.integers(0, 3, N * T),
                             yy=np.where(d == 1, x1 + x2 + e, np.nan))).set_index(["firm", "year"])


ML_FITS = {
    "logit": lambda d: E.logit(d, "d ~ a + b"),
    "probit": lambda d: E.probit(d, "d ~ a + b"),
    "tobit": lambda d: E.tobit(d, "c ~ a + b"),
    "re_probit": lambda d: E.re_probit(d, "d ~ a + b", quadrature_check=None),
    "cre_probit": lambda d: E.cre_probit(d, "d ~ a + b", quadrature_check=None),
    "conditional_logit": lambda d: E.conditional_logit(d, "d ~ a + b"),
    "mnlogit": lambda d: E.mnlogit(d, "o ~ a + b"),
    "heckman": lambda d: E.heckman(d, "yy ~ a", select="d ~ a + b"),
    "firth_logit": lambda d: firth_logit(d.iloc[:300], "d ~ a + b", intervals=False),
    "discrete_hazard": lambda d: E.discrete_hazard(d.assign(exit=d.d), "exit ~ a + b", duration=None),
}


@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("name", sorted(ML_FITS))
def test_ml_estimators_do_not_depend_on_units(binary_panel, name, scale):
    """A regressor in units 1e8 apart from another (1e16 in the Hessian) used to end in "Hessian not negative
    definite", "did not converge" or "collinear" for every ML estimator but logit/probit at 1e4."""
    d = binary_panel
    base = ML_FITS[name](d)
    scaled = ML_FITS[name](d.assign(a=d.a / scale, b=d.b * scale))
    last = [n.split(":")[-1] for n in base.names]
    f = np.array([scale if n in ("a", "mean(a)") else 1 / scale if n in ("b", "mean(b)") else 1.0 for n in last])
    np.testing.assert_allclose(scaled.coef / f, base.coef, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(scaled.std_errors.to_numpy() / f, base.std_errors.to_numpy(), rtol=1e-6)
