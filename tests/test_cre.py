"""Mundlak CRE: time-varying coefficients equal FE exactly (balanced and unbalanced, RE-GLS and pooled)."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.cre import correlated_re
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.within import within

# exper rises by one a year for everyone, so under FE it is not separable from the year dummies (Wooldridge
# Table 14.2 reports only expersq, married, union for FE); leave it out so every within coefficient is identified.
WAGE = "lwage ~ educ + black + hisp + expersq + married + union + d81 + d82 + d83 + d84 + d85 + d86 + d87"
VARYING = ["expersq", "married", "union", "d81", "d82", "d83", "d84", "d85", "d86", "d87"]


@pytest.fixture(scope="module")
def wagepan_unbalanced(wagepan):
    rng = np.random.default_rng(0)
    return wagepan[rng.random(len(wagepan)) > 0.3]


def _fe(df):
    return within(df, WAGE.replace("educ + black + hisp + ", ""))


@pytest.mark.parametrize("method", ["re", "pooled"])
@pytest.mark.parametrize("balanced", [True, False])
def test_time_varying_coefficients_equal_fixed_effects(wagepan, wagepan_unbalanced, method, balanced):
    df = wagepan if balanced else wagepan_unbalanced
    cre = correlated_re(df, WAGE, method=method)
    fe = _fe(df)
    names = [n for n in VARYING if n in fe.names]
    np.testing.assert_allclose(cre.params[names].to_numpy(), fe.params[names].to_numpy(), rtol=1e-9, atol=1e-12)
    # time-invariant regressors keep a coefficient (the reason to use CRE in cluster surveys)
    assert {"educ", "black", "hisp"} <= set(cre.names)
    means = cre.extra["mean_terms"]
    if balanced:  # year-dummy means are constant on a balanced panel: dropped as collinear with the intercept
        assert not any(m.startswith("mean_d8") for m in means)
    else:
        assert any(m.startswith("mean_d8") for m in means)


def test_unbalanced_needs_year_dummy_means(wagepan_unbalanced):
    """Documented condition: without the means of the year dummies the equality fails on an unbalanced panel."""
    df = wagepan_unbalanced.copy()
    g = df.groupby(level=0)
    for v in ["expersq", "married", "union"]:
        df["m_" + v] = g[v].transform("mean")
    f = WAGE + " + m_expersq + m_married + m_union"
    cre_partial = correlated_re(df, f, method="pooled")
    fe = _fe(df)
    # correlated_re itself adds the missing year-dummy means, so it still matches ...
    np.testing.assert_allclose(cre_partial.params["union"], fe.params["union"], rtol=1e-9)
    # ... while a hand-made Mundlak regression without them does not
    X = np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in
                                               ["educ", "black", "hisp", *VARYING, "m_expersq", "m_married",
                                                "m_union"]])
    b = np.linalg.lstsq(X, df["lwage"].to_numpy(), rcond=None)[0]
    assert abs(b[1 + 3 + VARYING.index("union")] - fe.params["union"]) > 1e-4


def test_mundlak_test_attached(wagepan):
    r = correlated_re(wagepan, WAGE, vcov="cluster")
    t = r.tests["mundlak"]
    assert t.df == len(r.extra["mean_terms"]) and t.dist == "chi2" and "robust" in t.name
    assert t.stat == pytest.approx(r.wald_test([f"{m} = 0" for m in r.extra["mean_terms"]]).stat)
    p = correlated_re(wagepan, WAGE, method="pooled", vcov="cluster")
    assert p.tests["mundlak"].dist == "F"


def test_balanced_grunfeld_and_errors(plm_grunfeld):
    gr = plm_grunfeld
    cre = correlated_re(gr, "inv ~ value + capital")
    fe = within(gr, "inv ~ value + capital")
    np.testing.assert_allclose(cre.params[["value", "capital"]], fe.params[["value", "capital"]], rtol=1e-10)
    df = gr.copy()
    df["z"] = df.index.get_level_values(0).astype(float)
    with pytest.raises(SpecificationError, match="no regressor varies"):
        correlated_re(df, "inv ~ z")
    with pytest.raises(SpecificationError, match="method"):
        correlated_re(gr, "inv ~ value", method="gmm")
    assert isinstance(cre.params, pd.Series)
