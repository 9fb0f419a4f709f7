"""Conditional logit: Chamberlain's T = 2 identity, brute-force enumeration, statsmodels, sample accounting."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from clusterecon.estimators.binary import logit
from clusterecon.estimators.clogit import conditional_logit
from clusterecon.estimators.design import SpecificationError


def _panel(n=400, T=2, seed=0):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n), T)
    year = np.tile(np.arange(T), n)
    c = np.repeat(rng.normal(scale=1.5, size=n), T)
    x1 = rng.normal(size=n * T) + 0.5 * c
    x2 = (rng.uniform(size=n * T) < 0.5).astype(float)
    z = np.repeat(rng.normal(size=n), T)  # time-invariant
    eta = 0.7 * x1 - 0.6 * x2 + c
    y = (rng.uniform(size=n * T) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"firm": firm, "year": year, "y": y, "x1": x1, "x2": x2, "z": z}).set_index(["firm", "year"])


def test_t2_equals_logit_on_differences():
    """Chamberlain (1980); Wooldridge (2010) §15.8.3: with T = 2 the FE logit is a logit of y_i2 on Δx_i among
    firms whose outcome changes, without a constant — same estimates and same OIM (and robust) SEs."""
    df = _panel()
    fe = conditional_logit(df, "y ~ x1 + x2")
    wide = df.unstack("year")
    sw = wide["y"][0] != wide["y"][1]
    cs = pd.DataFrame({"y2": wide["y"][1], "dx1": wide["x1"][1] - wide["x1"][0],
                       "dx2": wide["x2"][1] - wide["x2"][0]})[sw]
    cs.index = pd.MultiIndex.from_arrays([cs.index, np.zeros(len(cs), int)], names=["firm", "t"])
    lg = logit(cs, "y2 ~ dx1 + dx2 - 1")
    np.testing.assert_allclose(fe.coef, lg.coef, rtol=1e-8)
    np.testing.assert_allclose(fe.std_errors.to_numpy(), lg.std_errors.to_numpy(), rtol=1e-6)
    assert fe.nobs == 2 * int(sw.sum()) and fe.n_entities == int(sw.sum())
    fer = conditional_logit(df, "y ~ x1 + x2", vcov="robust")
    lgr = logit(cs, "y2 ~ dx1 + dx2 - 1", vcov="robust")
    np.testing.assert_allclose(fer.std_errors.to_numpy(), lgr.std_errors.to_numpy(), rtol=1e-6)
    # robust = HC1 on the per-firm scores, which is the firm-clustered sandwich x G/(G-1) (Stata clogit, vce(robust))
    fec = conditional_logit(df, "y ~ x1 + x2", vcov="cluster")
    assert fer.variance.kind == "robust" and fec.variance.n_clusters == (int(sw.sum()),)
    np.testing.assert_allclose(fer.vcov, fec.vcov, rtol=1e-12)


def _enumerated_loglik(beta, y, X, firm):
    ll = 0.0
    for i in np.unique(firm):
        rows = firm == i
        yi, Xi = y[rows], X[rows]
        xb = Xi @ beta
        n1 = int(yi.sum())
        denom = sum(np.exp(xb[list(s)].sum()) for s in itertools.combinations(range(len(yi)), n1))
        ll += yi @ xb - np.log(denom)
    return ll


def test_matches_brute_force_enumeration():
    df = _panel(n=60, T=4, seed=1)
    fe = conditional_logit(df, "y ~ x1 + x2")
    keep = df.groupby(level=0)["y"].transform(lambda s: 0 < s.mean() < 1).to_numpy(bool)
    sub = df[keep]
    y, X, firm = sub["y"].to_numpy(), sub[["x1", "x2"]].to_numpy(), sub.index.get_level_values(0).to_numpy()
    res = optimize.minimize(lambda b: -_enumerated_loglik(b, y, X, firm), np.zeros(2), method="BFGS",
                            options={"gtol": 1e-9})
    np.testing.assert_allclose(fe.coef, res.x, atol=1e-5)
    assert fe.loglik == pytest.approx(-res.fun, abs=1e-8)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ModelWarning")
def test_matches_statsmodels_conditional_logit():
    from statsmodels.discrete.conditional_models import ConditionalLogit

    df = _panel(n=200, T=5, seed=2)
    fe = conditional_logit(df, "y ~ x1 + x2")
    d = df.reset_index()
    sm = ConditionalLogit(d["y"], d[["x1", "x2"]], groups=d["firm"]).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(fe.coef, sm.params, rtol=1e-6)
    np.testing.assert_allclose(fe.std_errors.to_numpy(), sm.bse, rtol=1e-4)  # statsmodels: one-sided Hessian


def test_sample_accounting_and_absorbed_regressors():
    df = _panel(n=300, T=3, seed=3)
    ybar = df.groupby(level=0)["y"].mean()
    n0, n1 = int((ybar == 0).sum()), int((ybar == 1).sum())
    fe = conditional_logit(df, "y ~ x1 + x2 + z")
    reasons = {o.reason: o.n for o in fe.omitted}
    assert reasons[f"all-0 outcome within firm ({n0} firms)"] == 3 * n0
    assert reasons[f"all-1 outcome within firm ({n1} firms)"] == 3 * n1
    assert fe.nobs + 3 * (n0 + n1) == len(df)
    assert ("z", "constant within every firm (absorbed by the firm effect)") in fe.dropped_regressors
    assert "Intercept" not in fe.names and fe.effects["Firm FE"] == "Yes"
    assert "all-0 outcome within firm" in fe.summary()


def test_refusals():
    df = _panel(n=50, T=2, seed=4)
    df["y"] = np.tile([0.0, 0.0], 50)
    with pytest.raises(SpecificationError, match="always 0"):
        conditional_logit(df, "y ~ x1")
    df["y"] = 2.0 * (df["x1"] > 0)
    with pytest.raises(SpecificationError, match="coded 0/1"):
        conditional_logit(df, "y ~ x1")
    df["y"] = (df["x1"] > 0).astype(float)
    with pytest.raises(SpecificationError, match="no regressor varies within firms"):
        conditional_logit(df, "y ~ z")


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ModelWarning")
def test_unbalanced_panel_and_large_index_values():
    from statsmodels.discrete.conditional_models import ConditionalLogit

    df = _panel(n=300, T=6, seed=7)
    rng = np.random.default_rng(7)
    df = df[rng.uniform(size=len(df)) < 0.7]  # T_i from 1 to 6
    df["x1"] = df["x1"] * 50  # large x'b: the recursion is rescaled per firm, no overflow
    fe = conditional_logit(df, "y ~ x1 + x2")
    d = df.reset_index()
    sm = ConditionalLogit(d["y"], d[["x1", "x2"]], groups=d["firm"]).fit(method="newton", disp=0, tol=1e-12)
    np.testing.assert_allclose(fe.coef, sm.params, rtol=1e-6)
    assert fe.loglik == pytest.approx(sm.llf, rel=1e-10)
    assert fe.t_min < fe.t_max


@pytest.mark.parametrize("case", ["one_regressor", "two_regressors"])
def test_stata_values(case):
    import json
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "reference" / "clogit.json").read_text())["stata_small"]
    df = pd.DataFrame({k: ref[k] for k in ("y", "group", "x1", "x2")})
    df["t"] = df.groupby("group").cumcount()
    df = df.set_index(["group", "t"]).astype(float)
    fit = conditional_logit(df, ref[case]["formula"])
    np.testing.assert_allclose(fit.coef, ref[case]["coef"], rtol=ref["rtol"])
    np.testing.assert_allclose(fit.std_errors.to_numpy(), ref[case]["se"], rtol=ref["rtol"])
