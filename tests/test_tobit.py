"""Tobit: Wooldridge Example 17.2 (Stata values), marginal-effect identities, two-limit recovery, bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.tobit import ConvergenceError, tobit

REF = json.loads((Path(__file__).parent / "reference" / "censored.json").read_text())["tobit_mroz_hours"]


@pytest.fixture(scope="module")
def fit(mroz):
    return tobit(mroz, REF["formula"], lower=REF["lower"])


def test_example_17_2_matches_stata(fit):
    assert fit.nobs == REF["nobs"] and fit.n_left == REF["n_left"] and fit.n_uncensored == REF["n_uncensored"]
    assert fit.loglik == pytest.approx(REF["loglik"], abs=REF["tolerance"]["loglik_abs"])
    for name, v in REF["params"].items():
        assert fit.params[name] == pytest.approx(v, rel=REF["tolerance"]["params_rel"]), name
    for name, v in REF["std_errors"].items():
        assert fit.std_errors[name] == pytest.approx(v, rel=REF["tolerance"]["se_rel"]), name
    assert fit.df_resid == REF["df_resid"]  # Stata's tobit reports t(N - K)
    lo, hi = fit.conf_int().loc["educ"]
    assert (lo, hi) == pytest.approx(REF["ci_educ"], abs=5e-4)
    assert fit.tests["lr"].stat == pytest.approx(REF["lr_chi2"], abs=0.005)
    assert fit.r2_pseudo == pytest.approx(REF["pseudo_r2"], abs=5e-5)  # one key for every pseudo-R²
    assert "observed information" in fit.summary()


def test_example_17_2_average_partial_effects(fit):
    scale = fit.predict(kind="uncensored_probability")
    assert scale.mean() == pytest.approx(REF["mean_scale_factor"], rel=1e-6)
    me = fit.margins("censored")
    for name, v in REF["ape_censored_mean"].items():
        assert me.params[name] == pytest.approx(v, rel=1e-6), name
    assert fit.predict(kind="censored").mean() == pytest.approx(REF["mean_fitted_censored_mean"], rel=1e-6)


def test_margins_delta_method_matches_analytic_jacobian(fit):
    """With a lower limit only, APE_j = β_j·mean Φ(x'β/σ); its θ-Jacobian has a closed form."""
    X, b, s = fit.X, fit.coef[:-1], fit.coef[-1]
    xb = X @ b
    z = xb / s
    phi, Phi = stats.norm.pdf(z), stats.norm.cdf(z)
    j = fit.names.index("educ")
    grad = np.r_[b[j] * (phi[:, None] * X / s).mean(0), -b[j] * (phi * xb / s**2).mean()]
    grad[j] += Phi.mean()
    se = np.sqrt(grad @ fit.vcov @ grad)
    me = fit.margins("censored", ["educ"])
    from clusterecon.estimators.margins import margins

    assert margins(fit, dydx=["educ"]).std_errors["educ"] == pytest.approx(se, rel=1e-5)
    assert me.std_errors["educ"] == pytest.approx(se, rel=1e-5)
    # latent-mean effects are the coefficients themselves
    lat = fit.margins("latent", ["educ", "age"])
    assert np.allclose(lat.params, fit.params[["educ", "age"]], rtol=1e-7)
    assert np.allclose(lat.std_errors, fit.std_errors[["educ", "age"]], rtol=1e-5)


def test_truncated_mean_identity(fit):
    """E[y|x] = P(y>0|x)·E[y|x, y>0] for a lower limit at zero."""
    assert np.allclose(fit.predict(kind="censored"),
                       fit.predict(kind="uncensored_probability") * fit.predict(kind="truncated"), rtol=1e-10)


def _simulate(n=4000, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 0.4).astype(float)
    ystar = 0.5 + 0.3 * x - 0.2 * d + rng.normal(scale=0.4, size=n)
    y = ystar.clip(0, 1)
    idx = pd.MultiIndex.from_arrays([np.arange(n) // 4, np.tile(np.arange(4), n // 4)], names=["firm", "year"])
    return pd.DataFrame({"share": y, "x": x, "d": d}, index=idx)


def test_two_limits_recover_parameters_and_mirror():
    df = _simulate()
    r = tobit(df, "share ~ x + d", lower=0, upper=1)
    assert r.n_left > 100 and r.n_right > 100
    truth = {"Intercept": 0.5, "x": 0.3, "d": -0.2, "sigma": 0.4}
    for k, v in truth.items():
        assert abs(r.params[k] - v) < 4 * r.std_errors[k], k
    # Mirror: censoring 1 - y at the same limits flips the slopes and leaves σ and the likelihood unchanged.
    m = tobit(df.assign(share=1 - df.share), "share ~ x + d", lower=0, upper=1)
    assert m.loglik == pytest.approx(r.loglik, abs=1e-6)
    assert np.allclose(m.params[["x", "d"]], -r.params[["x", "d"]], rtol=1e-5)
    assert m.params["sigma"] == pytest.approx(r.params["sigma"], rel=1e-6)
    # A 0/1 regressor is differentiated unless declared a factor (Stata without i.); named, it gets the discrete
    # change. E[y] = P(a<y<b)·E[y|a<y<b] + 1·P(y≥1) with a = 0.
    assert r.margins("censored").extra["discrete"] == ()
    me = r.margins("censored", dummies=["d"])
    assert me.extra["discrete"] == ("d",)
    assert me.params["x"] < r.params["x"]


def test_cluster_and_robust(mroz):
    r = tobit(mroz, REF["formula"], lower=0, vcov="robust")
    c = tobit(mroz.assign(cid=np.arange(len(mroz))), REF["formula"], lower=0, vcov="cluster", cluster="cid")
    # each observation its own cluster: G/(G−1) = N/(N−1), so both sandwiches coincide
    assert np.allclose(r.std_errors, c.std_errors, rtol=1e-8)
    assert c.variance.kind == "cluster" and c.variance.n_clusters == (753,)
    assert not np.allclose(r.std_errors, tobit(mroz, REF["formula"], lower=0).std_errors, rtol=1e-3)


def test_bad_limits_are_refused(mroz):
    with pytest.raises(SpecificationError, match="beyond the lower limit"):
        tobit(mroz, REF["formula"], lower=100)
    with pytest.raises(SpecificationError, match="below upper"):
        tobit(mroz, REF["formula"], lower=1, upper=0)
    with pytest.raises(SpecificationError, match="lower and/or an upper"):
        tobit(mroz, REF["formula"], lower=None)
    with pytest.raises(SpecificationError, match="vcov"):
        tobit(mroz, REF["formula"], vcov="hc3")


def test_non_convergence_reports_optimiser_and_advice():
    # A dummy that puts every observation with d = 1 at the limit: its coefficient runs to −∞.
    df = _simulate(n=800, seed=3)
    df.loc[df.d == 1, "share"] = 0.0
    with pytest.raises(ConvergenceError, match="Try rescaling"):
        tobit(df, "share ~ x + d", lower=0, upper=1)


@pytest.mark.parametrize("kind", ["censored", "truncated", "uncensored_probability"])
def test_analytic_index_slopes_match_numerical_derivatives(kind):
    from dataclasses import replace

    from clusterecon.estimators.margins import average_effects

    r = tobit(_simulate(n=800, seed=5), "share ~ x + d", lower=0, upper=1)
    spec = r.margins_spec(kind)
    a, _, _, _ = average_effects(spec, r.coef, r.vcov, variables=["x"])
    n, _, _, _ = average_effects(replace(spec, dydx=None), r.coef, r.vcov, variables=["x"])
    assert a == pytest.approx(n, rel=1e-6)


def test_survey_panel_input_and_firm_clusters():
    from clusterecon.panel import SurveyDesign, SurveyPanel

    df = _simulate(n=2000, seed=9)
    panel = SurveyPanel.from_frame(df.reset_index().rename(columns={"firm": "firm_id"}),
                                   design=SurveyDesign(kind="rounds"))
    a = tobit(df, "share ~ x + d", lower=0, upper=1)
    b = tobit(panel, "share ~ x + d", lower=0, upper=1, vcov="cluster")
    assert np.allclose(a.coef, b.coef, rtol=1e-8)
    assert b.variance.kind == "cluster" and b.variance.n_clusters == (500,) and b.n_entities == 500
    assert "cluster-robust by firm_id (G=500)" in b.summary()


def test_sampling_weights_equal_expanded_rows_clustered_by_row(mroz):
    """Stata ``tobit ... [pw=w]``: Σ wᵢℓᵢ with the robust variance on the N sampled rows. Identity: with integer
    weights the fit equals the data with row i repeated wᵢ times, clustered by the original row (G = N clusters,
    the same G/(G−1) = N/(N−1) factor), to rounding; zero weights are omitted and counted."""
    rng = np.random.default_rng(0)
    df = mroz.assign(w=rng.integers(1, 4, len(mroz)).astype(float))
    fw = tobit(df, REF["formula"], weights="w")
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index()
    fr = tobit(rep, REF["formula"], vcov="cluster", cluster="firm")
    assert fw.variance.kind == "robust" and fw.nobs == len(df) and "sampling weights w" in fw.estimator
    np.testing.assert_allclose(fw.coef, fr.coef, rtol=1e-8)
    np.testing.assert_allclose(fw.std_errors, fr.std_errors, rtol=1e-7)
    assert fw.loglik == pytest.approx(fr.loglik, rel=1e-10)
    assert fw.rsquared["pseudo"] == pytest.approx(fr.rsquared["pseudo"], rel=1e-8)
    assert "lr" not in fw.tests and "wald" in fw.tests  # Stata: no LR test with pweights
    # unit weights reproduce the unweighted robust fit; scaling the weights changes nothing
    _same_vcov(tobit(df.assign(w=1.0), REF["formula"], weights="w").vcov, tobit(df, REF["formula"], vcov="robust").vcov)
    _same_vcov(tobit(df.assign(w=df.w * 7.5), REF["formula"], weights="w").vcov, fw.vcov)
    zero = tobit(df.assign(w=np.where(np.arange(len(df)) < 5, 0.0, df.w)), REF["formula"], weights="w")
    assert zero.nobs == len(df) - 5 and any(o.reason == "zero sampling weight (w)" and o.n == 5 for o in zero.omitted)
    with pytest.raises(SpecificationError, match="weights_type='aweight' is not available for tobit"):
        tobit(df, REF["formula"], weights="w", weights_type="aweight")
    with pytest.raises(SpecificationError, match="robust or cluster"):
        tobit(df, REF["formula"], weights="w", vcov="oim")


def _same_vcov(a, b, tol=1e-7):
    """Equal to rounding: variances relatively, covariances on the correlation scale (an entry near 0 has no
    meaningful relative error: two fits that stop 1e-10 apart differed by 1.3e-7 relatively there on one machine)."""
    a, b = np.asarray(a), np.asarray(b)
    np.testing.assert_allclose(np.diag(a), np.diag(b), rtol=tol)
    sd = np.sqrt(np.outer(np.diag(b), np.diag(b)))
    np.testing.assert_allclose(a / sd, b / sd, rtol=0, atol=tol)
