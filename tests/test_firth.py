"""Firth's penalised-likelihood logit against R logistf on Heinze & Schemper's (2002) endometrial data (complete
separation by NV), and identities: the estimate maximises the penalised likelihood, approaches ML in large samples
without separation, and stays finite under complete separation (tests/reference/firth.json cites the source)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.firth import _pll, firth_fit, firth_logit

REF = json.loads((Path(__file__).parent / "reference" / "firth.json").read_text())["endometrial"]


@pytest.fixture(scope="module")
def endometrial():
    d = pd.DataFrame(REF["data"], columns=REF["columns"])
    return d.assign(id=np.arange(len(d)), t=0).set_index(["id", "t"])


@pytest.fixture(scope="module")
def fit(endometrial):
    return firth_logit(endometrial, "HG ~ NV + PI + EH")


def test_coefficients_match_logistf(fit):
    for name, b in REF["coef"].items():
        assert fit.params[name] == pytest.approx(b, rel=1e-6)


def test_profile_intervals_match_logistf(fit):
    for name, (lo, hi) in REF["ci95"].items():
        ours = fit.extra["pl_ci"][name]
        assert ours[0] == pytest.approx(lo, rel=1e-5) and ours[1] == pytest.approx(hi, rel=1e-5)


def test_penalised_lr_tests_agree_with_the_intervals(fit):
    # an interval excludes 0 exactly when the penalised LR test rejects at 5%
    for name, (lo, hi) in fit.extra["pl_ci"].items():
        assert (lo > 0 or hi < 0) == (fit.extra["pl_pvalues"][name] < 0.05)


def test_estimate_maximises_the_penalised_likelihood(endometrial):
    y = endometrial["HG"].to_numpy(float)
    X = np.column_stack([np.ones(len(y)), endometrial[["NV", "PI", "EH"]].to_numpy(float)])
    f = firth_fit(y, X)
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert _pll(y, X, f.beta + rng.normal(0, 1e-3, 4))[0] < f.pll


def test_close_to_ml_without_separation_and_finite_with_it():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    n = 1500
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    X = sm.add_constant(x)
    ml = sm.Logit(y, X).fit(disp=0).params
    fi = firth_fit(y, X).beta
    assert np.max(np.abs(fi - ml)) < 0.02  # the penalty's effect is O(1/n)
    xs = x[:40]
    ysep = (xs > 0).astype(float)  # complete separation: no ML estimate
    f = firth_fit(ysep, sm.add_constant(xs))
    assert f.converged and np.all(np.isfinite(f.beta)) and f.beta[1] > 0
