"""The results contract, checked on every public estimator (statsmodels' CheckModelResults / linearmodels'
access_attributes idea): summary, tidy, glance, conf_int, wald_test, predict, with_vcov, pickling, repr, the
read-only guarantee, and an error — never a silent default — for every option the estimator cannot honour.

Each case fits on a small simulated panel (one data set for all, so the whole file stays a few seconds of CPU)."""

import dataclasses
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

import clusterecon.estimators as est
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.results import EstimationResult


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(2024)
    G, T = 120, 4
    firm, year = np.repeat(np.arange(G), T), np.tile(np.arange(2001, 2001 + T), G)
    a = rng.normal(size=G)[firm]
    df = pd.DataFrame({"firm_id": firm, "year": year, "x": rng.normal(size=G * T) + 0.5 * a,
                       "z": rng.normal(size=G * T), "school": rng.integers(6, 16, G)[firm].astype(float),
                       "region": (np.arange(G) % 12)[firm]})
    df["y"] = 1 + 0.5 * df.x - 0.3 * df.z + 0.05 * df.school + a + rng.normal(size=G * T)
    df["yb"] = (df.y > df.y.median()).astype(float)
    df["yc"] = np.maximum(df.y - 1.5, 0.0)
    df["occ"] = np.array(["merchant", "engineer", "worker"])[rng.integers(0, 3, G * T)]
    df["s"] = (0.2 + df.z + rng.normal(size=G * T) > 0).astype(float)
    df["ys"] = np.where(df.s == 1, df.y, np.nan)
    t = rng.exponential(1 / np.exp(0.5 * df.x))
    df["duration"], df["event"] = np.minimum(t, 2.0), (t < 2.0).astype(float)
    df["exit"] = (rng.random(G * T) < 0.15).astype(float)
    return df.set_index(["firm_id", "year"])


F = "y ~ x + z + school"
# (name, call, vcov choices that must work, options that must be refused)
CASES = {
    "pooled_ols": (lambda d, **k: est.pooled_ols(d, F, **k), ["classical", "hc3", "cluster", "driscoll-kraay"]),
    "within": (lambda d, **k: est.within(d, "y ~ x + z", **k), ["classical", "robust", "cluster"]),
    "between": (lambda d, **k: est.between(d, F, **k), ["classical", "hc2"]),
    "first_difference": (lambda d, **k: est.first_difference(d, "y ~ x + z", **k), ["classical", "cluster"]),
    "random_effects": (lambda d, **k: est.random_effects(d, F, **k), ["classical", "robust", "cluster"]),
    "correlated_re": (lambda d, **k: est.correlated_re(d, F, **k), ["classical", "cluster"]),
    "hausman_taylor": (lambda d, **k: est.hausman_taylor(d, F, endog_varying=["x"], **k), ["classical", "cluster"]),
    "logit": (lambda d, **k: est.logit(d, "yb ~ x + z", **k), ["oim", "robust", "cluster"]),
    "probit": (lambda d, **k: est.probit(d, "yb ~ x + z", **k), ["oim", "opg", "cluster"]),
    "conditional_logit": (lambda d, **k: est.conditional_logit(d, "yb ~ x + z", **k), ["oim", "robust"]),
    "re_probit": (lambda d, **k: est.re_probit(d, "yb ~ x + z", quadrature_check=None, **k), ["oim", "cluster"]),
    "cre_probit": (lambda d, **k: est.cre_probit(d, "yb ~ x + z", quadrature_check=None, **k), ["oim", "robust"]),
    "mnlogit": (lambda d, **k: est.mnlogit(d, "occ ~ x", level="row", **k), ["oim", "robust"]),
    "tobit": (lambda d, **k: est.tobit(d, "yc ~ x + z", **k), ["oim", "robust", "cluster"]),
    "heckman": (lambda d, **k: est.heckman(d, "ys ~ x", select="s ~ x + z", **k), ["oim", "cluster"]),
    "discrete_hazard": (lambda d, **k: est.discrete_hazard(d.assign(duration=np.tile(np.arange(1.0, 5.0), 120)),
                                                           "~ x", duration="log", **k), ["oim", "cluster"]),
    "cox": (lambda d, **k: est.cox(d, "~ x", entry=None, **k), ["oim", "robust", "cluster"]),
    "margins": (lambda d, **k: est.margins(est.probit(d, "yb ~ x + z", **k)), []),
    "arellano_bond": (lambda d, **k: est.arellano_bond(d, "y ~ lag(y, 1) + x", gmm=est.gmm("y", (2, None),
                                                                                         collapse=True),
                                                       iv=est.iv("x"), **k), ["classical", "cluster"]),
    "blundell_bond": (lambda d, **k: est.blundell_bond(d, "y ~ lag(y, 1) + x", gmm=est.gmm("y", (2, None),
                                                                                         collapse=True),
                                                       iv=est.iv("x"), **k), ["classical", "cluster"]),
}


#: Estimators without predict(newdata) (they say so with NotImplementedError).
NO_PREDICT: set[str] = set()


def _fit(name, panel, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CASES[name][0](panel, **kw)


@pytest.fixture(scope="module")
def fits(panel):
    return {name: _fit(name, panel) for name in CASES}


def test_every_public_estimator_is_covered():
    estimators = {n for n in est.__all__ if callable(getattr(est, n)) and not isinstance(getattr(est, n), type)}
    tests_of_restrictions = {"hausman", "robust_hausman", "breusch_pagan_lm", "chow_test", "sup_f_test",
                             "sequential_breaks", "risk_set", "wild_bootstrap", "wild_cluster_bootstrap",
                             "gmm", "iv"}  # gmm()/iv(): instrument-group constructors of the dynamic GMM
    # (tests, risk sets, bootstrap inference and instrument specs: they return TestResult, frames, bootstrap results
    # or GMM instrument groups, not estimates)
    assert estimators - tests_of_restrictions == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_contract(fits, panel, name):
    r = fits[name]
    assert isinstance(r, EstimationResult)
    k = len(r.names)
    assert r.params.shape == r.std_errors.shape == r.bse.shape == r.pvalues.shape == r.tstats.shape == (k,)
    assert r.cov.shape == (k, k) and np.all(np.isfinite(r.std_errors))
    assert r.nobs > 0 and r.variance.describe()
    ci = r.conf_int(0.9)
    assert list(ci.columns) == ["lower", "upper"] and (ci["lower"] <= ci["upper"]).all()
    assert list(r.tidy().columns) == ["estimate", "std_error", "statistic", "p_value", "ci_lower", "ci_upper"]
    g = r.glance()
    assert g["N"] == r.nobs and all(isinstance(key, str) for key in g)
    assert r.variance.describe() in r.summary() and repr(r).startswith("<")
    assert (r.df_inference is None) != r.uses_t or r.df_inference is not None
    term = next(n for n in r.names if not n.endswith("Intercept"))
    w = r.wald_test(f"{term} = 0")
    assert w.stat == pytest.approx(r.tstats[term] ** 2 if w.dist == "chi2" else r.tstats[term] ** 2, rel=1e-8)
    if r.loglik is not None:
        assert r.llf == r.loglik and np.isfinite(r.aic) and np.isfinite(r.bic)
    back = pickle.loads(pickle.dumps(r))
    assert back.params.equals(r.params) and back.summary() == r.summary()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nobs = 1
    with pytest.raises(ValueError):
        r.coef[0] = 0.0


@pytest.mark.parametrize("name", [n for n in CASES if n != "margins"])
def test_predict_and_with_vcov(fits, panel, name):
    r = fits[name]
    before = (r.variance, r.vcov.copy())
    if r.fitted_values is not None:
        assert len(r.fitted) == len(r.index) and np.isfinite(r.fitted).all()
    if name in NO_PREDICT:
        with pytest.raises(NotImplementedError, match="no prediction"):
            r.predict(panel.head(8))
    elif name not in ("discrete_hazard", "cox", "heckman"):  # built frames / selection rows: in their own tests
        p = r.predict(panel.head(8))
        assert len(p) == 8
    for vcov in CASES[name][1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new = r.with_vcov(vcov)
            fresh = _fit(name, panel, vcov=vcov)
        np.testing.assert_allclose(new.vcov, fresh.vcov, rtol=1e-9, atol=1e-14)
        assert new.variance == fresh.variance and new.df_inference == fresh.df_inference
    assert r.variance == before[0] and np.array_equal(r.vcov, before[1])  # with_vcov left the original alone


@pytest.mark.parametrize("name", [n for n in CASES if n != "margins"])
@pytest.mark.parametrize("bad", [{"vcov": "hc7"}, {"vcov": "classical", "cluster": "region"},
                                 {"vcov": "cluster", "cluster": ("region", "firm_id", "year")},
                                 {"vcov": "robust", "cluster": "region"}, {"dof": "sas"}, {"no_such_option": 1}])
def test_unsupported_options_are_errors(panel, name, bad):
    if "dof" in bad and name not in ("pooled_ols", "within", "between", "first_difference", "random_effects",
                                     "correlated_re", "hausman_taylor"):
        bad = {"vcov": "hc3"}  # ML estimators take no dof=; HC3 is a least-squares estimator: refused
    with pytest.raises((SpecificationError, TypeError)):
        _fit(name, panel, **bad)
