"""Heckman selection: Wooldridge Example 17.5 two-step and Stata's ML on MROZ, simulated recovery, bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.heckman import heckman

REFS = json.loads((Path(__file__).parent / "reference" / "censored.json").read_text())


def test_example_17_5_twostep_matches_stata(mroz):
    ref = REFS["heckman_twostep_mroz"]
    r = heckman(mroz, ref["formula"], select=ref["select"], method="twostep")
    assert r.nobs == ref["nobs"] and r.stats["Selected"] == ref["n_selected"]
    for name, v in ref["params"].items():
        assert r.params[name] == pytest.approx(v, abs=1.5e-7, rel=2e-6), name
    for name, v in ref["std_errors"].items():
        assert r.std_errors[name] == pytest.approx(v, rel=ref["tolerance"]["se_rel"]), name
    assert r.stats["rho"] == pytest.approx(ref["rho"], abs=1e-5)
    assert r.stats["sigma"] == pytest.approx(ref["sigma"], rel=1e-6)
    # the book's rounded numbers: λ̂ = .032 (se .134)
    assert round(r.params["lambda"], 3) == 0.032 and round(r.std_errors["lambda"], 3) == 0.134


def test_heckman_ml_matches_stata(mroz):
    ref = REFS["heckman_ml_mroz"]
    tol = ref["tolerance"]
    r = heckman(mroz, ref["formula"], select=ref["select"])
    assert r.loglik == pytest.approx(ref["loglik"], abs=tol["loglik_abs"])
    for name, v in ref["params"].items():
        assert r.params[name] == pytest.approx(v, abs=tol["params_abs"]), name
    for name, v in ref["std_errors"].items():
        assert r.std_errors[name] == pytest.approx(v, rel=tol["se_rel"]), name
    assert r.tests["lr_rho"].pvalue == pytest.approx(ref["lr_rho0_p"], abs=5e-4)
    assert r.tests["wald"].stat == pytest.approx(ref["wald_chi2_3"], abs=0.01)
    ci = r.conf_int()
    for row in ("rho", "sigma", "lambda"):
        assert tuple(ci.loc[row]) == pytest.approx(ref[f"ci_{row}"], abs=5e-4), row


def test_selection_from_missing_outcome_equals_explicit_indicator(mroz):
    ref = REFS["heckman_ml_mroz"]
    rhs = ref["select"].split("~", 1)[1]
    a = heckman(mroz, ref["formula"], select=ref["select"])
    b = heckman(mroz, ref["formula"], select="~" + rhs)
    assert b.loglik == pytest.approx(a.loglik, abs=1e-6)
    assert np.allclose(a.coef, b.coef, atol=1e-6)


def _independent_loglik(theta, X, y, Z, s):
    """Bivariate-normal selection likelihood written from the joint density, for an independent check."""
    ky, kz = X.shape[1], Z.shape[1]
    beta, gamma, rho, sig = theta[:ky], theta[ky:ky + kz], np.tanh(theta[-2]), np.exp(theta[-1])
    ll = stats.norm.logcdf(-(Z[~s] @ gamma)).sum()
    e = y[s] - X[s] @ beta
    # P(s=1 | e) = P(u > -z'γ | e) with u | e ~ N(ρe/σ, 1-ρ²)
    cond = stats.norm.logsf(-(Z[s] @ gamma), loc=rho * e / sig, scale=np.sqrt(1 - rho**2))
    return ll + (cond + stats.norm.logpdf(e, scale=sig)).sum()


def _simulate(n=3000, rho=0.6, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    w = rng.normal(size=n)
    u = rng.normal(size=n)
    eps = 0.8 * (rho * u + np.sqrt(1 - rho**2) * rng.normal(size=n))
    s = (0.3 + 0.5 * x + 1.0 * w + u > 0).astype(float)
    y = np.where(s == 1, 1.0 + 0.5 * x + eps, np.nan)
    idx = pd.MultiIndex.from_arrays([np.arange(n) // 3, np.tile(np.arange(3), n // 3)], names=["firm", "year"])
    return pd.DataFrame({"y": y, "x": x, "w": w, "s": s}, index=idx)


def test_ml_recovers_parameters_and_maximises_the_independent_likelihood():
    df = _simulate()
    r = heckman(df, "y ~ x", select="s ~ x + w")
    truth = {"y:Intercept": 1.0, "y:x": 0.5, "select:x": 0.5, "select:w": 1.0, "rho": 0.6, "sigma": 0.8}
    for k, v in truth.items():
        assert abs(r.params[k] - v) < 4 * r.std_errors[k], k
    s = df.s.to_numpy() == 1
    X = np.column_stack([np.ones(len(df)), df.x])
    Z = np.column_stack([np.ones(len(df)), df.x, df.w])
    theta = r.coef[:7]
    y = df.y.fillna(0).to_numpy()
    assert _independent_loglik(theta, X, y, Z, s) == pytest.approx(r.loglik, abs=1e-8)
    # a maximum: small moves in any direction lower the independent likelihood
    for j in range(7):
        for h in (-1e-3, 1e-3):
            t = theta.copy()
            t[j] += h
            assert _independent_loglik(t, X, y, Z, s) < r.loglik
    two = heckman(df, "y ~ x", select="s ~ x + w", method="twostep")
    assert abs(two.params["lambda"] - 0.48) < 4 * two.std_errors["lambda"]
    assert two.params["y:x"] == pytest.approx(r.params["y:x"], abs=0.05)


def test_cluster_robust_ml_runs_and_differs():
    df = _simulate(n=1200)
    oim = heckman(df, "y ~ x", select="s ~ x + w")
    cl = heckman(df, "y ~ x", select="s ~ x + w", vcov="cluster")
    assert cl.variance.kind == "cluster" and cl.variance.n_clusters == (400,)
    assert np.allclose(cl.coef, oim.coef)
    assert not np.allclose(cl.std_errors, oim.std_errors, rtol=1e-3)


def test_bad_input_is_refused(mroz):
    ref = REFS["heckman_ml_mroz"]
    with pytest.raises(SpecificationError, match="must be 0/1"):
        heckman(mroz, ref["formula"], select="kidslt6 ~ educ + age")
    with pytest.raises(SpecificationError, match="robust or clustered"):
        heckman(mroz, ref["formula"], select=ref["select"], method="twostep", vcov="robust")
    with pytest.raises(SpecificationError, match="all 1"):
        heckman(mroz.assign(one=1), ref["formula"], select="one ~ educ + age")
    with pytest.raises(SpecificationError, match="method"):
        heckman(mroz, ref["formula"], select=ref["select"], method="fiml")


def test_heckman_ml_standard_errors_are_those_of_the_exact_hessian(mroz):
    """Wooldridge Example 17.5 / Stata heckman (ML): the standard errors are those of the Hessian of the analytic
    score to 1e-6 relative (a Richardson-extrapolated central difference, accurate to ~1e-9, as the reference), and
    Stata's printed SEs (7 decimals) to 2e-7: one unit in the last printed digit plus the optimisers' different
    stopping points along the flat ρ direction (Stata's intercept is 1e-6 from ours)."""
    import importlib

    heckman_module = importlib.import_module("clusterecon.estimators.heckman")
    ref = REFS["heckman_ml_mroz"]
    r = heckman(mroz, ref["formula"], select=ref["select"])
    prep = heckman_module._prepare(mroz, ref["formula"], ref["select"], extra=[])
    lik = heckman_module._HeckLik(prep["outcome"].X, prep["outcome"].y, prep["selection"].X, prep["s"])
    k = len(r.names) - 3
    theta = r.coef[:k]
    D = r.fit.bread  # H^-1 of the result; the reference Hessian below is built independently of it
    scale = np.sqrt(np.abs(np.diag(D)))

    def central(h):
        H = np.empty((k, k))
        for j in range(k):
            e = np.zeros(k)
            e[j] = h[j]
            H[:, j] = (lik.grad(theta + e) - lik.grad(theta - e)) / (2 * h[j])
        return (H + H.T) / 2

    H_ref = (4 * central(5e-3 * scale) - central(1e-2 * scale)) / 3
    se_ref = np.sqrt(np.diag(np.linalg.inv(-H_ref)))
    np.testing.assert_allclose(r.std_errors.to_numpy()[:k], se_ref, rtol=1e-6)
    for name, v in ref["std_errors"].items():
        assert r.std_errors[name] == pytest.approx(v, abs=2e-7), name


def test_sampling_weights_equal_expanded_rows_clustered_by_row(mroz):
    """Stata ``heckman ... [pw=w]``: Σ wᵢℓᵢ with the robust variance on the N sampled rows. Identity: with integer
    weights, the fit equals the data with row i repeated wᵢ times clustered by the original row (G = N, the same
    N/(N−1) factor); the LR test of ρ = 0 gives way to the Wald test of atanh ρ = 0; zero weights are counted."""
    ref = REFS["heckman_ml_mroz"]
    rng = np.random.default_rng(2)
    df = mroz.assign(w=rng.integers(1, 4, len(mroz)).astype(float))
    fw = heckman(df, ref["formula"], select=ref["select"], weights="w")
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index()
    fr = heckman(rep, ref["formula"], select=ref["select"], vcov="cluster", cluster="firm")
    assert fw.variance.kind == "robust" and fw.nobs == len(df) and "sampling weights w" in fw.estimator
    np.testing.assert_allclose(fw.coef, fr.coef, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fw.std_errors, fr.std_errors, rtol=1e-5)
    assert fw.loglik == pytest.approx(fr.loglik, rel=1e-10)
    assert "lr_rho" not in fw.tests
    z = fw.params["/athrho"] / fw.std_errors["/athrho"]
    assert fw.tests["wald_rho"].stat == pytest.approx(z**2)
    zero = heckman(df.assign(w=np.where(np.arange(len(df)) < 5, 0.0, df.w)), ref["formula"], select=ref["select"],
                   weights="w")
    assert zero.nobs == len(df) - 5 and any(o.reason == "zero sampling weight (w)" and o.n == 5 for o in zero.omitted)
    with pytest.raises(SpecificationError, match="method='ml'"):
        heckman(df, ref["formula"], select=ref["select"], weights="w", method="twostep")
    with pytest.raises(SpecificationError, match="robust or cluster"):
        heckman(df, ref["formula"], select=ref["select"], weights="w", vcov="oim")
