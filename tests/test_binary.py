"""Pooled logit/probit: Wooldridge Example 17.1, Stata's robust/cluster factors vs statsmodels, bad input."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.binary import ConvergenceError, SeparationError, logit, probit
from clusterecon.estimators.design import SpecificationError

REF = json.loads((Path(__file__).parent / "reference" / "binary.json").read_text())
EX = REF["wooldridge_example_17_1"]


def _half_unit(x: float) -> float:
    """Half a unit in the last printed digit of a number printed with up to 3 significant digits."""
    s = f"{abs(x):.6f}".rstrip("0")
    decimals = len(s.split(".")[1]) if "." in s else 0
    return 0.5 * 10 ** (-decimals) + 1e-12


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_wooldridge_17_1(mroz, model):
    fit = {"logit": logit, "probit": probit}[model](mroz, EX["formula"])
    pub = EX[model]
    assert fit.nobs == EX["nobs"]
    for name, b in pub["coef"].items():
        assert abs(fit.params[name] - b) <= _half_unit(b), (name, fit.params[name], b)
    for name, se in pub["se"].items():
        assert abs(fit.std_errors[name] - se) <= _half_unit(se), (name, fit.std_errors[name], se)
    assert abs(fit.loglik - pub["loglik"]) <= 0.005
    assert abs(fit.r2_pseudo - pub["pseudo_r2"]) <= 0.0005
    assert abs(fit.stats["Percent correctly predicted"] - pub["percent_correct"]) <= 0.05
    assert fit.variance.kind == "oim" and "observed information" in fit.summary()


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_matches_statsmodels_oim(mroz, model):
    import statsmodels.formula.api as smf

    ours = {"logit": logit, "probit": probit}[model](mroz, EX["formula"])
    sm = getattr(smf, model)(EX["formula"], mroz.reset_index()).fit(disp=0, method="newton")
    np.testing.assert_allclose(ours.params[sm.params.index], sm.params, rtol=1e-7)
    np.testing.assert_allclose(ours.std_errors[sm.params.index], sm.bse, rtol=1e-6)


WP_FORMULA = "union ~ educ + exper + married + black + hisp"


@pytest.mark.parametrize("model", ["logit", "probit"])
def test_cluster_and_robust_stata_factors(wagepan, model):
    import statsmodels.formula.api as smf

    cfg = REF["cluster_convention"]
    df = wagepan.reset_index()
    fn = {"logit": logit, "probit": probit}[model]
    smfit = getattr(smf, model)
    n, k = len(df), 6
    cl = fn(wagepan, WP_FORMULA, vcov="cluster")
    sm_cl = smfit(WP_FORMULA, df).fit(disp=0, cov_type="cluster", cov_kwds={"groups": df["nr"]})
    names = list(sm_cl.params.index)
    np.testing.assert_allclose(cl.cov.loc[names, names], sm_cl.cov_params() * (n - k) / (n - 1), rtol=cfg["rtol"])
    assert cl.variance.n_clusters == (545,) and cl.variance.clusters == ("nr",)
    assert "G/(G-1)" in cl.summary()
    rb = fn(wagepan, WP_FORMULA, vcov="robust")
    sm_rb = smfit(WP_FORMULA, df).fit(disp=0, cov_type="HC0")
    np.testing.assert_allclose(rb.cov.loc[names, names], sm_rb.cov_params() * n / (n - 1), rtol=cfg["rtol"])
    assert rb.tests["model"].name == "Wald"


def test_cluster_by_other_column(wagepan):
    fit = logit(wagepan, WP_FORMULA, vcov="cluster", cluster="occ1")
    assert fit.variance.clusters == ("occ1",) and fit.variance.n_clusters == (2,)


def test_non_binary_outcome_refused(mroz):
    with pytest.raises(SpecificationError, match=r"'hours' must be coded 0/1.*distinct values: 0, 12"):
        logit(mroz, "hours ~ educ")


def _separated(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 0.1).astype(float)
    y = (x + rng.normal(size=n) > 0).astype(float)
    y[d == 1] = 1.0
    df = pd.DataFrame({"y": y, "x": x, "d": d, "firm": np.arange(n) // 4, "year": np.arange(n) % 4})
    return df.set_index(["firm", "year"]), int(d.sum())


def test_dummy_perfect_prediction_dropped_like_stata():
    df, nd = _separated()
    fit = logit(df, "y ~ x + d")
    assert "d" not in fit.names and fit.nobs == len(df) - nd
    assert any(o.reason == "perfectly predicted by d" and o.n == nd for o in fit.omitted)
    assert fit.dropped_regressors[0][0] == "d"
    assert f"d = 1 predicts success (outcome = 1) perfectly; d dropped and {nd} observations" in fit.summary()
    ref = logit(df[df["d"] == 0], "y ~ x")
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)


def test_dummy_perfect_prediction_can_refuse():
    df, nd = _separated()
    with pytest.raises(SeparationError, match=rf"d = 1 predicts success.*{nd} observations"):
        probit(df, "y ~ x + d", separation="raise")


def test_continuous_complete_separation_refused():
    df, _ = _separated()
    df["y"] = (df["x"] > 0.3).astype(float)
    with pytest.raises(SeparationError, match=r"outcome = 1 exactly when x > 0\.\d+ \(complete separation\)"):
        logit(df, "y ~ x")


def test_complete_separation_by_combination_refused():
    df, _ = _separated(seed=3)
    df["w"] = np.random.default_rng(1).normal(size=len(df))
    df["y"] = (df["x"] + df["w"] > 0).astype(float)
    with pytest.raises(SeparationError, match="complete separation.*x, w|complete separation.*w, x"):
        logit(df, "y ~ x + w")


def test_continuous_quasi_separation_dropped_like_stata():
    df, _ = _separated(seed=4)
    x = df["x"].round(1)
    df["x"] = x
    rng = np.random.default_rng(2)
    df["z"] = rng.normal(size=len(df))
    df["y"] = np.where(x > 0, 1.0, np.where(x < 0, 0.0, (rng.uniform(size=len(df)) < 0.5).astype(float)))
    n_off = int((x != 0).sum())
    fit = logit(df, "y ~ x + z")
    assert "x" not in fit.names and fit.nobs == len(df) - n_off
    assert "outcome = 1 exactly when x > 0, except for the x == 0 subsample" in fit.summary()
    with pytest.raises(SeparationError, match=f"quasi-complete separation.*{n_off} observations"):
        logit(df, "y ~ x + z", separation="raise")


def test_quasi_separation_by_combination_reported():
    df, _ = _separated(seed=3)
    rng = np.random.default_rng(1)
    df["w"] = rng.normal(size=len(df))
    df.iloc[:60, df.columns.get_loc("w")] = -df["x"].iloc[:60]
    s = df["x"] + df["w"]
    df["y"] = np.where(s > 1e-12, 1.0, 0.0)
    df.iloc[:60, df.columns.get_loc("y")] = (rng.uniform(size=60) < 0.5).astype(float)
    with pytest.raises(SeparationError, match=r"\d+ failures and \d+ successes completely determined.*x, w|w, x"):
        logit(df, "y ~ x + w", separation="raise")
    # the default (Stata's behaviour) keeps the fit and reports the determined observations in a note
    fit = logit(df, "y ~ x + w")
    assert any(re.search(r"\d+ failures and \d+ successes completely determined", n) for n in fit.notes)


def test_non_convergence_reports_what_to_try(mroz):
    with pytest.raises(ConvergenceError, match="did not converge.*rescale"):
        logit(mroz, EX["formula"], maxiter=1)


def test_collinear_regressor_omitted(mroz):
    d = mroz.copy()
    d["educ2"] = 2 * d["educ"]
    fit = logit(d, "inlf ~ educ + educ2 + age")
    assert "educ2" not in fit.names and fit.dropped_regressors[0][0] == "educ2"


def test_missing_values_reported(mroz):
    d = mroz.copy()
    d.iloc[:7, d.columns.get_loc("educ")] = np.nan
    fit = probit(d, "inlf ~ educ + age")
    assert fit.nobs == 746 and fit.omitted[0].reason == "missing educ" and fit.omitted[0].n == 7


def test_year_with_no_successes_dropped_with_its_dummy(wagepan):
    d = wagepan.copy()
    yr = d.index.get_level_values("year")
    d.loc[yr == 1985, "union"] = 0
    fit = probit(d, "union ~ educ + exper + C(year)")
    assert "C(year)[T.1985]" not in fit.names and fit.nobs == len(d) - 545
    assert "C(year)[T.1985] = 1 predicts failure (outcome = 0) perfectly" in fit.summary()


def test_stata_probit_spector(spector):
    ref = REF["stata_spector_probit"]
    fit = probit(spector, ref["formula"])
    np.testing.assert_allclose(fit.params[ref["names"]], ref["coef"], rtol=ref["rtol"])
    np.testing.assert_allclose(fit.std_errors[ref["names"]], ref["se"], rtol=ref["rtol"])
    # the recorded llf differs in the 7th digit from the log-likelihood at Stata's own coefficients
    # (-12.8188040689 by scipy's norm.logcdf): compare at Stata's printed precision
    assert fit.loglik == pytest.approx(ref["llf"], abs=1e-6)
    assert fit.stats["Log-likelihood (constant only)"] == pytest.approx(ref["llnull"], rel=1e-9)
    assert fit.r2_pseudo == pytest.approx(ref["prsquared"], rel=1e-6)


def _weighted_sample(seed=11, n=600):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 0.4).astype(float)
    y = (0.3 + 0.8 * x - 0.5 * d + rng.logistic(size=n) > 0).astype(float)
    w = rng.integers(1, 5, size=n).astype(float)
    df = pd.DataFrame({"y": y, "x": x, "d": d, "w": w, "firm": np.arange(n), "year": 2000})
    return df.set_index(["firm", "year"])


@pytest.mark.parametrize("fn", [logit, probit])
def test_sampling_weights(fn):
    from clusterecon.estimators.margins import margins

    df = _weighted_sample()
    fw = fn(df, "y ~ x + d", weights="w")
    # integer weights: the same point estimates as the data with each row repeated w times
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index()
    rep["firm"] = np.arange(len(rep))
    rep = rep.set_index(["firm", "year"])
    fr = fn(rep, "y ~ x + d")
    np.testing.assert_allclose(fw.coef, fr.coef, rtol=1e-8)
    np.testing.assert_allclose(margins(fw).coef, margins(fr).coef, rtol=1e-8)
    assert fw.loglik == pytest.approx(fr.loglik, rel=1e-10)
    # pweights force the robust variance, computed on the N sampled rows (not the weighted count)
    assert fw.variance.kind == "robust" and fw.nobs == len(df) and "pweights" in fw.summary()
    # scale invariance of pweights; unit weights reproduce the unweighted robust fit
    df2 = df.assign(w=df["w"] * 7.5)
    np.testing.assert_allclose(fn(df2, "y ~ x + d", weights="w").vcov, fw.vcov, rtol=1e-8)
    ones = fn(df.assign(w=1.0), "y ~ x + d", weights="w")
    rob = fn(df, "y ~ x + d", vcov="robust")
    np.testing.assert_allclose(ones.vcov, rob.vcov, rtol=1e-8)


def test_weights_bad_values():
    df = _weighted_sample()
    df.iloc[:4, df.columns.get_loc("w")] = 0.0
    fit = logit(df, "y ~ x + d", weights="w")
    assert fit.nobs == len(df) - 4 and any(o.reason == "zero sampling weight (w)" and o.n == 4 for o in fit.omitted)
    df.iloc[5, df.columns.get_loc("w")] = -1.0
    with pytest.raises(SpecificationError, match="negative in 1 rows"):
        logit(df, "y ~ x + d", weights="w")
