"""Pooled OLS: Baltagi Table 2.1 (OLS row), Wooldridge Table 14.2 (pooled column), statsmodels oracles."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.pooled import pooled_ols
from tests.printed import assert_printed

REF = json.loads((Path(__file__).parent / "reference" / "linear_panel.json").read_text())


def test_grunfeld_baltagi_table_2_1_ols(grunfeld):
    ref = REF["grunfeld_baltagi_table_2_1"]
    r = pooled_ols(grunfeld, ref["formula"])
    for k, (b, se) in ref["ols"].items():
        assert round(r.params[k], 3) == b and round(r.std_errors[k], 3) == se
    assert r.nobs == 200 and r.n_entities == 10 and r.df_resid == 197


def test_wagepan_table_14_2_pooled(wagepan):
    ref = REF["wagepan_wooldridge_table_14_2"]
    r = pooled_ols(wagepan, ref["pooled_formula"])
    assert_printed(r, ref["pooled"])


@pytest.mark.parametrize("vcov", ["classical", "robust", "cluster"])
def test_statsmodels_oracle(grunfeld, vcov):
    import statsmodels.formula.api as smf

    df = grunfeld.reset_index()
    kw = {"classical": {}, "robust": {"cov_type": "HC1"},
          "cluster": {"cov_type": "cluster", "cov_kwds": {"groups": df.firm}}}[vcov]
    m = smf.ols("inv ~ value + capital", df).fit(**kw)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = pooled_ols(grunfeld, "inv ~ value + capital", vcov=vcov)
    np.testing.assert_allclose(r.coef, m.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.vcov, m.cov_params().to_numpy(), rtol=1e-9)
    assert r.rsquared["r2"] == pytest.approx(m.rsquared, rel=1e-10)
    assert r.rsquared["adj"] == pytest.approx(m.rsquared_adj, rel=1e-10)
    assert r.df_resid == 197 and r.df_inference == (9 if vcov == "cluster" else 197)


def test_weights_are_wls(grunfeld):
    import statsmodels.formula.api as smf

    df = grunfeld.assign(w=np.linspace(0.5, 3, len(grunfeld)))
    r = pooled_ols(df, "inv ~ value + capital", weights="w")
    m = smf.wls("inv ~ value + capital", df.reset_index(), weights=df.w.to_numpy()).fit()
    np.testing.assert_allclose(r.coef, m.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.bse.to_numpy(), rtol=1e-9)
    bad = df.assign(w=df.w.where(df.w > 1, -1.0))
    with pytest.raises(SpecificationError, match="non-positive"):
        pooled_ols(bad, "inv ~ value + capital", weights="w")


def test_missing_values_counted_and_formula_path_agrees(grunfeld):
    df = grunfeld.copy()
    df.iloc[:7, df.columns.get_loc("value")] = np.nan
    df.iloc[5:9, df.columns.get_loc("inv")] = np.nan
    fast = pooled_ols(df, "inv ~ value + capital")
    slow = pooled_ols(df, "inv ~ np.log(np.exp(value / 1000)) + capital")  # formulaic path
    assert fast.nobs == 200 - 9 == slow.nobs
    assert [(o.reason, o.n) for o in fast.omitted] == [(o.reason, o.n) for o in slow.omitted] == \
        [("missing inv", 4), ("missing value", 5)]
    np.testing.assert_allclose(fast.coef[2], slow.coef[2], rtol=1e-9)


def test_collinear_regressor_named(grunfeld):
    df = grunfeld.assign(v2=grunfeld.value * 2)
    with pytest.warns(UserWarning, match="v2 \\(collinear with other regressors"):
        r = pooled_ols(df, "inv ~ value + v2 + capital")
    assert r.names == ("Intercept", "value", "capital")
    with pytest.raises(SpecificationError, match="v2"):
        pooled_ols(df, "inv ~ value + v2", collinear="raise")


def test_cluster_on_column_and_two_way(grunfeld):
    df = grunfeld.assign(region=(grunfeld.index.get_level_values(0) % 4).astype(str))
    import warnings
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        r = pooled_ols(df, "inv ~ value + capital", vcov="cluster", cluster="region")
    assert r.variance.clusters == ("region",) and r.variance.n_clusters == (4,)
    assert any("only 4 clusters" in str(x.message) for x in rec)
    ref = REF["oracles_pyfixest_crv1"]["grunfeld_pooled_cluster2_firm_year"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r2 = pooled_ols(df, "inv ~ value + capital", vcov="cluster2")
    for k, v in ref.items():
        assert r2.std_errors[k] == pytest.approx(v, rel=1e-9)
    assert "Cameron-Gelbach-Miller" in r2.summary()


def test_plain_frame_is_a_cross_section_and_panel_estimators_ask_for_the_index():
    from clusterecon.estimators import within

    df = pd.DataFrame({"y": [1.0, 2.0, 2.5], "x": [0.0, 1.0, 3.0]})
    r = pooled_ols(df, "y ~ x", vcov="cluster")  # each row its own unit: clusters = observations
    assert r.nobs == 3 and r.variance.n_clusters == (3,)
    with pytest.raises(SpecificationError, match="indexed by \\(firm, year\\)"):
        within(df, "y ~ x")


def test_model_wald_test_is_missing_not_noise_when_clusters_are_fewer_than_restrictions():
    # a cluster-robust variance has rank ≤ G − 1: with 4 clusters and 6 slopes the joint test does not exist;
    # Stata prints "F(6, 3) = ." — before, the solve gave F = −3e16, and with 3 clusters and 3 slopes it raised
    import numpy as np
    import pandas as pd

    from clusterecon.estimators import pooled_ols

    rng = np.random.default_rng(0)
    n = 120
    d = pd.DataFrame({"firm": np.arange(n), "year": 2000, "town": np.arange(n) % 4, "g3": np.arange(n) % 3})
    X = rng.normal(size=(n, 6))
    for j in range(6):
        d[f"x{j}"] = X[:, j]
    d["y"] = 0.1 * X[:, 0] + rng.normal(size=n)
    df = d.set_index(["firm", "year"])
    r = pooled_ols(df, "y ~ x0 + x1 + x2 + x3 + x4 + x5", vcov="cluster", cluster="town")
    w = r.tests["wald"]
    assert np.isnan(w.stat) and np.isnan(w.pvalue) and w.df == (6, 3.0) and "rank 3 < 6" in w.note
    assert "F(6, 3) = ." in str(w) and "F(6, 3) = ." in r.summary()
    r3 = pooled_ols(df, "y ~ x0 + x1 + x2", vcov="cluster", cluster="g3")  # G − 1 = 2 < 3: no error
    assert np.isnan(r3.tests["wald"].stat) and np.isfinite(r3.std_errors).all()
    # enough clusters: the usual F, and the same test recomputed under another variance
    ok = r.with_vcov("robust").tests["wald"]
    assert np.isfinite(ok.stat) and 0 <= ok.pvalue <= 1
