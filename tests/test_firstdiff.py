"""First differences: Wooldridge Example 14.1 (FD version), gaps are not one-year changes, FD = FE when T = 2."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.firstdiff import first_difference
from clusterecon.estimators.within import within

REF = json.loads((Path(__file__).parent / "reference" / "linear_panel.json").read_text())


def test_jtrain_example_14_1_first_differences(jtrain):
    ref = REF["jtrain_wooldridge_example_14_1"]
    r = first_difference(jtrain, "lscrap ~ d89 + grant + grant_1")
    for k in ("grant", "grant_1"):
        b, se = ref["fd"][k]
        assert round(r.params[k], 3) == b and round(r.std_errors[k], 3) == se
    assert r.nobs == ref["fd"]["nobs"]
    # independent check: OLS on differences built by hand with pandas
    import statsmodels.formula.api as smf

    d = jtrain[["lscrap", "d89", "grant", "grant_1"]].dropna().sort_index()
    dd = d.groupby(level=0).diff().dropna()
    m = smf.ols("lscrap ~ d89 + grant + grant_1", dd).fit()
    np.testing.assert_allclose(r.coef, m.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.vcov, m.cov_params().to_numpy(), rtol=1e-9)


def test_gaps_are_dropped_and_reported():
    df = pd.DataFrame({"firm": [1, 1, 1, 2, 2, 2, 3, 3], "year": [2000, 2001, 2003, 2000, 2001, 2002, 2005, 2007],
                       "y": [1.0, 2.0, 4.5, 0.0, 1.5, 1.0, 3.0, 2.0], "x": [0.0, 1.0, 3.0, 1.0, 2.0, 2.5, 0.0, 1.0]})
    r = first_difference(df.set_index(["firm", "year"]), "y ~ x")
    assert r.nobs == 3
    om = {o.reason: o.n for o in r.omitted}
    assert om["differences across a gap in years"] == 2
    assert om["first observed year of each firm (nothing to difference)"] == 3
    assert r.nobs + r.n_omitted == len(df)
    dy, dx = np.array([1.0, 1.5, -0.5]), np.array([1.0, 1.0, 0.5])
    b = np.linalg.lstsq(np.column_stack([np.ones(3), dx]), dy, rcond=None)[0]
    np.testing.assert_allclose(r.coef, b, rtol=1e-12)
    # a missing value in the middle year makes a gap too
    df.loc[4, "x"] = np.nan
    extra = pd.DataFrame({"firm": 4, "year": [2000, 2001, 2002], "y": [0.0, 1.0, 3.0], "x": [1.0, 0.0, 2.0]})
    r2 = first_difference(pd.concat([df, extra]).set_index(["firm", "year"]), "y ~ x")
    om2 = {o.reason: o.n for o in r2.omitted}
    assert om2["missing x"] == 1 and om2["differences across a gap in years"] == 3


def test_fd_equals_fe_when_T_is_2():
    rng = np.random.default_rng(5)
    G = 50
    df = pd.DataFrame({"firm": np.repeat(np.arange(G), 2), "year": np.tile([2015, 2016], G)})
    a = rng.normal(size=G)[df.firm]
    df["x"] = rng.normal(size=2 * G) + a
    df["d16"] = (df.year == 2016).astype(float)
    df["y"] = 0.7 * df.x + a + 0.3 * df.d16 + rng.normal(size=2 * G)
    d = df.set_index(["firm", "year"])
    fd = first_difference(d, "y ~ x")  # the FD constant is the year-2016 effect
    fe = within(d, "y ~ x + d16")
    assert fd.params["x"] == pytest.approx(fe.params["x"], rel=1e-10)
    assert fd.params["Intercept"] == pytest.approx(fe.params["d16"], rel=1e-10)
    assert fd.std_errors["x"] == pytest.approx(fe.std_errors["x"], rel=1e-10)
    fdc = first_difference(d, "y ~ x", vcov="cluster")
    fec = within(d, "y ~ x + d16", vcov="cluster", dof="none")
    fdn = first_difference(d, "y ~ x", vcov="cluster", dof="none")
    assert fdn.std_errors["x"] == pytest.approx(fec.std_errors["x"], rel=1e-10)
    assert fdc.df_inference == G - 1


def test_time_invariant_regressor_named(jtrain):
    with pytest.warns(UserWarning, match="union.*hausman_taylor"):
        r = first_difference(jtrain, "lscrap ~ d89 + grant + union")
    assert "union" not in r.names


def test_non_numeric_years_refused():
    df = pd.DataFrame({"firm": [1, 1], "year": ["a", "b"], "y": [1.0, 2.0], "x": [0.0, 1.0]}).set_index(
        ["firm", "year"])
    from clusterecon.estimators.design import SpecificationError
    with pytest.raises(SpecificationError, match="numeric calendar years"):
        first_difference(df, "y ~ x")
