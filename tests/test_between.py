"""Between estimator: Baltagi Table 2.1 (Between row) and identities."""

import json
from pathlib import Path

import numpy as np
import pytest

from clusterecon.estimators.between import between
from clusterecon.estimators.design import SpecificationError

REF = json.loads((Path(__file__).parent / "reference" / "linear_panel.json").read_text())


def test_grunfeld_baltagi_table_2_1_between(grunfeld):
    ref = REF["grunfeld_baltagi_table_2_1"]
    r = between(grunfeld, ref["formula"])
    for k, (b, se) in ref["between"].items():
        assert round(r.params[k], 3) == b and round(r.std_errors[k], 3) == se
    # the regression has one observation per firm (plm and linearmodels report nobs = 10); 200 firm-years
    assert r.df_resid == 10 - 3 and r.nobs == 10 and r.stats["Firm-years"] == 200


def test_equals_ols_on_means_and_linearmodels(grunfeld):
    import statsmodels.formula.api as smf

    df = grunfeld.iloc[np.r_[0:150, 160:200]]  # unbalanced
    means = df.groupby(level=0).mean()
    m = smf.ols("inv ~ value + capital", means).fit()
    r = between(df, "inv ~ value + capital")
    np.testing.assert_allclose(r.coef, m.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.vcov, m.cov_params().to_numpy(), rtol=1e-9)
    assert r.rsquared["between"] == pytest.approx(m.rsquared, rel=1e-10)
    lm = pytest.importorskip("linearmodels")
    b = lm.BetweenOLS.from_formula("inv ~ 1 + value + capital", df).fit()
    np.testing.assert_allclose(r.coef, b.params.to_numpy(), rtol=1e-9)
    # wls: firm means weighted by T_i (xtreg, be wls)
    rw = between(df, "inv ~ value + capital", wls=True)
    T = df.groupby(level=0).size().to_numpy()
    mw = smf.wls("inv ~ value + capital", means, weights=T).fit()
    np.testing.assert_allclose(rw.coef, mw.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(rw.std_errors.to_numpy(), mw.bse.to_numpy(), rtol=1e-9)


def test_cluster_needs_a_column(grunfeld):
    with pytest.raises(SpecificationError, match="cluster column above the firm"):
        between(grunfeld, "inv ~ value + capital", vcov="cluster")
    import warnings
    df = grunfeld.assign(region=grunfeld.index.get_level_values(0) % 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = between(df, "inv ~ value + capital", vcov="cluster", cluster="region")
    assert r.variance.n_clusters == (3,)
