"""Panel-aware lag/lead/diff in formulas: calendar years, not rows; every observation lost is counted."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators import first_difference, pooled_ols
from clusterecon.estimators.design import SpecificationError, build_design


@pytest.fixture
def gappy():
    # firm 1 skips 2003: its 2004 row has no lag (plm #27: the previous row is 2002, not 2003)
    return pd.DataFrame({"firm": [1, 1, 1, 2, 2, 2, 2], "year": [2001, 2002, 2004, 2001, 2002, 2003, 2004],
                         "y": [1.0, 2.0, 4.0, 2.0, 3.0, 5.0, 6.5], "x": [0.0, 1.0, 3.0, 1.0, 2.0, 3.5, 4.0]}
                        ).set_index(["firm", "year"])


def test_lag_follows_calendar_years_not_rows(gappy):
    d = build_design(gappy, "y ~ lag(x) + lead(x) + diff(x) + lag(x, 2) - 1")
    assert d.names == ("lag(x)", "lead(x)", "diff(x)", "lag(x, 2)")
    # the only row with a lag, a lead and a lag of 2: firm 2, 2003 (firm 1 has a gap in 2003)
    assert list(d.index) == [(2, 2003)]
    np.testing.assert_allclose(d.X[0], [2.0, 4.0, 1.5, 1.0])
    assert sum(o.n for o in d.omitted) == len(gappy) - 1
    assert any("lag(x, 2)" in o.reason and "t-2" in o.reason for o in d.omitted)


def test_diff_regression_equals_first_difference(gappy):
    a = pooled_ols(gappy, "diff(y) ~ diff(x)")
    b = first_difference(gappy, "y ~ x")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10)
    assert a.nobs == b.nobs == 4
    assert a.n_omitted == 3  # 2 first years + 1 gap, named
    np.testing.assert_allclose(a.predict(gappy).dropna(), a.fitted.to_numpy())


def test_bad_panel_terms_are_refused(gappy):
    with pytest.raises(SpecificationError, match="column name and an integer"):
        build_design(gappy, "y ~ lag(x + 1)")
    with pytest.raises(SpecificationError, match="numeric calendar years"):
        build_design(gappy.rename(index=str, level=1), "y ~ lag(x)")
