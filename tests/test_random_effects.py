"""Random effects (Stata xtreg, re): Baltagi Table 2.1, Wooldridge Table 14.2, Stata logs, and limiting cases."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.random_effects import random_effects

REF = json.loads((Path(__file__).parent / "reference" / "random_effects.json").read_text())


def half_unit(x: float) -> float:
    """Half a unit in the last printed digit of a reference value."""
    s = np.format_float_positional(float(x), trim="-")
    dec = len(s.split(".")[1]) if "." in s else 0
    return 0.5 * 10.0 ** (-dec) * 1.0001


@pytest.fixture(scope="module")
def grunfeld(plm_grunfeld):
    """plm's Grunfeld (the Baltagi/plm reference values are on it), not pydataset's."""
    return plm_grunfeld


def test_grunfeld_baltagi_table_2_1(grunfeld):
    ref = REF["grunfeld_swamy_arora"]
    r = random_effects(grunfeld, ref["formula"])
    assert r.nobs == ref["nobs"] and r.n_entities == 10
    for src in ("baltagi_printed", "plm_printed"):
        for k, v in ref[src]["coef"].items():
            assert abs(r.params[k] - v) <= half_unit(v), (src, k)
        for k, v in ref[src]["se"].items():
            assert abs(r.std_errors[k] - v) <= half_unit(v), (src, k)
    b = ref["baltagi_printed"]
    assert abs(r.stats["sigma_u"] - b["sigma_u"]) <= half_unit(b["sigma_u"])
    assert abs(r.stats["sigma_e"] - b["sigma_e"]) <= half_unit(b["sigma_e"])
    p = ref["plm_printed"]
    assert abs(r.stats["sigma_e"] ** 2 - p["sigma2_e"]) <= half_unit(p["sigma2_e"])
    assert abs(r.stats["sigma_u"] ** 2 - p["sigma2_u"]) <= half_unit(p["sigma2_u"])
    assert abs(r.stats["theta"] - p["theta"]) <= half_unit(p["theta"])
    assert r.uses_t is False  # z statistics as Stata
    assert "Swamy-Arora" in r.summary()


def test_wagepan_wooldridge_table_14_2(wagepan):
    ref = REF["wooldridge_table_14_2_re"]
    r = random_effects(wagepan, ref["formula"])
    assert r.nobs == ref["nobs"]
    for k, v in ref["coef"].items():
        assert abs(r.params[k] - v) <= half_unit(v), k
    for k, v in ref["se"].items():
        assert abs(r.std_errors[k] - v) <= half_unit(v), k
    assert abs(r.stats["theta"] - ref["theta"]) <= half_unit(ref["theta"])


def _stata_log():
    try:
        import linearmodels.tests.panel.results.parse_stata_results as p
    except ImportError:
        pytest.skip("linearmodels test files not installed")
    path = os.path.join(os.path.dirname(p.__file__), "simulated-panel.dta")
    if not os.path.exists(path):
        pytest.skip("linearmodels simulated-panel.dta not installed")
    return p.data(), pd.read_stata(path).set_index(["firm", "time"])


@pytest.mark.parametrize("missing", ["", "_light", "_heavy"])
# Stata's xtreg, re vce(robust) is the firm-clustered sandwich: vcov="cluster" here ("robust" is HC1)
@pytest.mark.parametrize("vcov,key", [("classical", "conventional"), ("cluster", "robust"), ("cluster", "cluster")])
def test_matches_stata_log_balanced_and_unbalanced(missing, vcov, key):
    logs, data = _stata_log()
    st = logs[f"random_effect-{key}--{missing}"]
    xs = " + ".join(f"x{i}{missing}" for i in range(1, 6))
    r = random_effects(data, f"y{missing} ~ {xs}", vcov=vcov)
    order = [f"x{i}{missing}" for i in range(1, 6)] + ["Intercept"]
    np.testing.assert_allclose(r.params[order].to_numpy(), st.params.iloc[:, 0].to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.cov.loc[order, order].to_numpy(), np.asarray(st.variance, dtype=float), rtol=2e-6)
    assert r.nobs == int(st.N)
    np.testing.assert_allclose([r.stats["sigma_u"], r.stats["sigma_e"], r.stats["rho"]],
                               [st.sigma_u, st.sigma_e, st.rho], rtol=1e-8)
    np.testing.assert_allclose([r.rsquared["within"], r.rsquared["between"], r.rsquared["overall"]],
                               [st.r2_w, st.r2_b, st.r2_o], rtol=1e-8)
    if missing:
        assert r.t_min < r.t_max and "theta_min" in r.stats and r.stats["theta_min"] < r.stats["theta_max"]


def _sim(n=300, T=5, su=1.0, se=1.0, seed=0, unbalanced=False, corr=0.0):
    rng = np.random.default_rng(seed)
    u = rng.normal(0, su, n)
    firm = np.repeat(np.arange(n), T)
    year = np.tile(np.arange(2000, 2000 + T), n)
    x = rng.normal(size=n * T) + corr * u[firm] / su  # same correlation with u whatever its scale
    school = rng.integers(6, 16, n).astype(float)[firm]
    y = 1 + 0.5 * x + 0.1 * school + u[firm] + rng.normal(0, se, n * T)
    df = pd.DataFrame({"firm_id": firm, "year": year, "y": y, "x": x, "school": school})
    if unbalanced:
        df = df.sample(frac=0.75, random_state=seed)
    return df.set_index(["firm_id", "year"]).sort_index()


def _within_slope(df):
    g = df.groupby(level=0)
    yw = df.y - g.y.transform("mean")
    xw = df.x - g.x.transform("mean")
    return float((xw * yw).sum() / (xw * xw).sum())


def test_re_tends_to_fe_as_sigma_u_grows():
    gaps = []
    for su in (1.0, 10.0, 1000.0):
        df = _sim(su=su, corr=0.5, unbalanced=True, seed=3)
        r = random_effects(df, "y ~ x")
        gaps.append(abs(r.params["x"] - _within_slope(df)))
        assert r.stats["theta_min"] > 0
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-3 and r.stats["theta_min"] > 0.99


def test_no_firm_effect_truncates_sigma_u_and_equals_pooled_ols():
    # a between-variance below σ_e²/T̄ gives σ_u² < 0 → 0, θ = 0: RE is pooled OLS
    rng = np.random.default_rng(5)
    n, T = 200, 4
    firm = np.repeat(np.arange(n), T)
    x = rng.normal(size=n * T)
    ybar_noise = np.zeros(n * T)
    df = pd.DataFrame({"firm_id": firm, "year": np.tile(np.arange(T), n), "x": x,
                       "y": 2 * x + rng.normal(size=n * T) + ybar_noise}).set_index(["firm_id", "year"])
    df["y"] = df["y"] - df.groupby(level=0)["y"].transform("mean") + df.groupby(level=0)["x"].transform("mean") * 2
    r = random_effects(df, "y ~ x")
    assert r.stats["sigma_u"] == 0 and r.stats["theta"] == 0
    X = np.column_stack([np.ones(len(df)), df.x])
    b = np.linalg.lstsq(X, df.y.to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(r.coef, b, rtol=1e-10)
    assert any("set to 0" in n for n in r.notes)


def test_time_invariant_regressor_is_estimated_and_true_values_recovered():
    df = _sim(n=2000, T=5, seed=11)
    r = random_effects(df, "y ~ x + school", vcov="cluster")
    assert abs(r.params["x"] - 0.5) < 4 * r.std_errors["x"]
    assert abs(r.params["school"] - 0.1) < 4 * r.std_errors["school"]
    assert abs(r.stats["sigma_u"] - 1) < 0.1 and abs(r.stats["sigma_e"] - 1) < 0.05


def test_relabel_and_shuffle_change_nothing():
    df = _sim(unbalanced=True, seed=2)
    r0 = random_effects(df, "y ~ x + school", vcov="cluster")
    df2 = df.sample(frac=1.0, random_state=1)
    df2.index = pd.MultiIndex.from_arrays([df2.index.get_level_values(0) * 7 + 1000,
                                           df2.index.get_level_values(1)], names=["firm_id", "year"])
    r1 = random_effects(df2, "y ~ x + school", vcov="cluster")
    np.testing.assert_allclose(r0.coef, r1.coef, rtol=1e-10)
    np.testing.assert_allclose(r0.vcov, r1.vcov, rtol=1e-8)


def test_robust_is_hc1_on_the_gls_regression_and_other_cluster_columns():
    import statsmodels.api as sm

    df = _sim(seed=4)
    df["region"] = df.index.get_level_values(0) % 30
    a = random_effects(df, "y ~ x", vcov="robust")
    b = random_effects(df, "y ~ x", vcov="cluster")
    assert a.variance.kind == "robust" and b.variance.clusters == ("firm_id",)
    # HC1 of OLS on the quasi-demeaned data (statsmodels as the oracle)
    th = a.extra["theta_i"][pd.factorize(df.index.get_level_values(0), sort=True)[0]]
    X = np.column_stack([np.ones(len(df)), df["x"]])
    Xs = X - th[:, None] * pd.DataFrame(X, index=df.index).groupby(level=0).transform("mean").to_numpy()
    ys = df["y"] - th * df.groupby(level=0)["y"].transform("mean")
    ols = sm.OLS(ys.to_numpy(), Xs).fit(cov_type="HC1")
    np.testing.assert_allclose(a.vcov, ols.cov_params(), rtol=1e-9)
    assert a.with_vcov("cluster").std_errors.equals(b.std_errors)
    c = random_effects(df, "y ~ x", vcov="cluster", cluster="region")
    assert c.variance.n_clusters == (30,) and c.variance.clusters == ("region",)
    with pytest.warns(UserWarning, match="clusters"):
        df["big"] = df.index.get_level_values(0) % 5
        random_effects(df, "y ~ x", vcov="cluster", cluster="big")


def test_missing_values_are_counted():
    df = _sim(seed=6)
    df.iloc[:7, df.columns.get_loc("x")] = np.nan
    r = random_effects(df, "y ~ x")
    assert r.nobs == len(df) - 7 and r.n_omitted == 7


def test_firm_constant_regressor_not_counted_in_within_dof():
    """σ_e² uses N − n − k_w with k_w the time-varying slopes only, whatever the firm labels (regression test: the
    within cross-products of a firm-constant column are rounding noise, not variation)."""
    df = _sim(n=400, T=4, seed=3, unbalanced=True)
    df["z"] = np.random.default_rng(1).normal(size=400)[df.index.get_level_values(0)]
    f = "y ~ x + z + school"
    a = random_effects(df, f)
    ds = df.copy()
    ds.index = pd.MultiIndex.from_arrays([df.index.get_level_values(0).astype(str), df.index.get_level_values(1)],
                                         names=["firm_id", "year"])
    b = random_effects(ds.sort_index(), f)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
    comp = a.extra["components"]
    assert comp.df_within == a.nobs - a.n_entities - 1
