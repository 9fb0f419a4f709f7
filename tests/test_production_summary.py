"""Summaries never print ``nan`` for a statistic that was not computed or is undefined.

Regressions: the stagnation ACF fitted with ``reps=0`` printed ``std err nan`` and "Variance: bootstrap by firm
(G=298); dof: no bootstrap"; the firm-FE profit trend printed ``R-squared between nan`` (every firm observed in the
same years: the firm means of the trend do not vary)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon.productivity import production_function
from tests.test_production_rows import _gappy_panel


@pytest.mark.parametrize("method,kw", [("acf", {}), ("lp", {}), ("op", {"proxy": "investment"}),
                                       ("gnr", {"output": "gross"})])
def test_production_summary_without_bootstrap_says_not_computed(method, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = production_function(_gappy_panel(), method=method, reps=0, lag="previous", **kw)
    text = res.summary()
    assert not re.search(r"\bnan\b", text), text
    assert "Variance: standard errors not computed (reps=0)" in text
    assert "bootstrap" not in text.split("Variance:")[1].splitlines()[0]
    assert res.variance.kind == "none" and np.isnan(res.std_errors).all()  # the numbers stay NaN
    assert "Returns to scale (s.e.)" in text and re.search(r"Returns to scale \(s\.e\.\)\s+n/a", text)


def test_production_summary_with_bootstrap_keeps_its_variance_line():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = production_function(_gappy_panel(), method="acf", reps=3, lag="previous")
    assert res.variance.kind == "bootstrap"
    assert "Variance: bootstrap by firm (G=" in res.summary()


def test_production_summary_prints_an_undefined_r2_between_as_na():
    from clusterecon.estimators.within import within

    rng = np.random.default_rng(0)
    idx = pd.MultiIndex.from_product([range(40), [2000, 2001]], names=["firm_id", "year"])
    f = pd.DataFrame({"trend": np.tile([0.0, 1.0], 40), "y": rng.normal(size=80)}, index=idx)
    res = within(f, "y ~ trend", effects="firm")
    assert np.isnan(res.rsquared["between"])
    text = res.summary()
    assert not re.search(r"\bnan\b", text) and re.search(r"R-squared between\s+n/a", text)
