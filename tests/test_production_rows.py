"""Every production-function result accounts for its firm-years: nobs + the listed omissions = the firm-years passed
in (project rule: each result says how many observations it used and why the others were left out).

Regression: Wooldridge's system uses only the firm-years with a lag and reported nobs=177 of the bundled survey's
316 firm-years with 19 listed, leaving 120 (each firm's first year) unexplained; on the garments sample nobs=2948 of
3148 with nothing listed."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clusterecon as ce
from clusterecon.productivity import production_function
from clusterecon.samples import bundled_sample, sample_panel

#: (method, options) for each control-function estimator; OP takes any positive column as proxy
CF_METHODS = [("acf", {}), ("lp", {}), ("op", {"proxy": "investment"}), ("wooldridge", {}),
              ("gnr", {"output": "gross"})]


def _listed(res) -> int:
    return sum(o.n for o in res.omitted)


def _gappy_panel(seed: int = 0, n_firms: int = 60) -> pd.DataFrame:
    """A small unbalanced panel: firms enter late, skip years (gaps), and some values are missing or zero."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_firms):
        years = [y for y in range(2000, 2008) if rng.uniform() > 0.25 and y >= 2000 + i % 3]
        om = rng.normal(0, 0.3)
        for y in years:
            om = 0.7 * om + rng.normal(0, 0.2)
            k = rng.normal(3, 0.5)
            lab = rng.normal(2, 0.4) + 0.3 * om
            mat = np.exp(1 + 0.8 * om + 0.3 * k + rng.normal(0, 0.05))
            va = np.exp(0.6 * lab + 0.3 * k + om + rng.normal(0, 0.1))
            rows.append({"firm_id": i, "year": y, "employees": np.exp(lab), "capital": np.exp(k),
                         "material_cost": mat, "sales": va + mat, "investment": np.exp(0.5 * k + om)})
    f = pd.DataFrame(rows).set_index(["firm_id", "year"])
    f.iloc[::17, f.columns.get_loc("capital")] = np.nan
    f.iloc[5::23, f.columns.get_loc("employees")] = 0.0
    f.iloc[7::29, f.columns.get_loc("investment")] = np.nan
    return f


@pytest.mark.parametrize("lag", ["calendar", "previous"])
@pytest.mark.parametrize("method,kw", CF_METHODS)
def test_production_rows_add_up_on_an_unbalanced_panel_with_gaps(method, kw, lag):
    f = _gappy_panel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = production_function(f, method=method, reps=0, lag=lag, **kw)
    assert res.nobs + _listed(res) == len(f), [(o.reason, o.n) for o in res.omitted]
    if method == "wooldridge":
        lag_rows = [o for o in res.omitted if o.reason.startswith("no previous observation (lag)")]
        assert len(lag_rows) == 1 and lag_rows[0].n > 0
        assert res.stats["System firm-years"] == res.nobs


def _bundled():
    s, m = bundled_sample()
    return {"survey": ce.read_panel(s, m), "garments": sample_panel("garments"), "machinery": sample_panel("machinery")}


@pytest.fixture(scope="module")
def bundled():
    return _bundled()


@pytest.mark.parametrize("name", ["survey", "garments", "machinery"])
@pytest.mark.parametrize("method,kw", [*CF_METHODS[:2], ("op", {"proxy": "material_cost"}), *CF_METHODS[3:]])
def test_production_rows_add_up_on_the_bundled_samples(bundled, name, method, kw):
    panel = bundled[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = production_function(panel, method=method, reps=0, lag="previous", **kw)
    assert res.nobs + _listed(res) == len(panel.frame), [(o.reason, o.n) for o in res.omitted]


def test_production_wooldridge_lists_the_firm_years_without_a_lag(bundled):
    """The sweep's numbers: 316 firm-years, 19 left out for missing or unloggable values, 120 first years."""
    panel = bundled["survey"]
    res = production_function(panel, method="wooldridge", lag="previous")
    lag_rows = {o.reason: o.n for o in res.omitted if "lag" in o.reason}
    assert lag_rows == {"no previous observation (lag): the firm's first observed year": 120}
    assert res.nobs == 177 and res.nobs + _listed(res) == 316
    assert "120 no previous observation (lag)" in res.summary()
    g = production_function(bundled["garments"], method="wooldridge", lag="previous")
    assert g.nobs == 2948 and [(o.reason.split(":")[0], o.n) for o in g.omitted] == [
        ("no previous observation (lag)", 200)]


def test_production_best_survey_fit_lists_the_rows_the_deflator_left_out(bundled):
    """Garments: 15 firm-years whose cluster-year has too few prices for the index were listed as
    'missing value_added' though their value added was present before deflation."""
    from clusterecon.productivity.registry import NO_PRICE, best_production_function

    panel = bundled["garments"]
    res, _ = best_production_function(panel.frame)
    reasons = {o.reason: o.n for o in res.omitted}
    assert reasons.get(NO_PRICE) == 15 and "missing value_added" not in reasons
    assert "no product price to deflate by" in NO_PRICE
    assert res.nobs + _listed(res) == len(panel.frame)


def test_production_deflator_reason_on_a_small_panel():
    """A cluster-year with fewer than MIN_PRICES prices: its firm-years with output are listed under the price
    reason; one whose sales are missing anyway is listed as 'missing sales'."""
    from clusterecon.productivity.registry import MIN_PRICES, NO_PRICE, survey_setup

    f = _gappy_panel(1, n_firms=80).drop(columns="investment")
    year = f.index.get_level_values("year")
    f["product_price"] = 10.0 * 1.02 ** (year - 2000)
    f.loc[year == 2003, "product_price"] = np.nan
    first = f.index[year == 2003][: MIN_PRICES - 1]
    f.loc[first, "product_price"] = 10.0  # too few prices in 2003 for the index
    f.loc[f.index[year == 2003][-1], "sales"] = np.nan
    n_2003 = int((year == 2003).sum())
    setup = survey_setup(f)
    assert {o.reason: o.n for o in setup.omitted} == {NO_PRICE: n_2003 - 1}
    res = setup.account(production_function(setup.frame, method="acf", reps=0, **{
        k: v for k, v in setup.options("acf").items() if k != "reps"}))
    reasons = {o.reason: o.n for o in res.omitted}
    # the firm-year without sales keeps its own cause (it was "missing value_added" when deflating blanked its
    # material cost too and the recorded causes had to be dropped)
    assert reasons[NO_PRICE] == n_2003 - 1 and reasons.get("missing sales", 0) >= 1, reasons
    assert "missing value_added" not in reasons
    assert res.nobs + _listed(res) == len(f)


def test_a_firm_year_without_an_input_in_an_unpriced_year_is_listed_by_a_true_cause(bundled):
    """Garments, a cluster-year with too few prices: a firm-year lacking its material cost was listed as 'missing
    value_added' (deflating blanked its sales and the recorded causes were dropped); one lacking sales likewise."""
    from clusterecon.productivity.registry import NO_PRICE, best_production_function, output_price_index

    f = bundled["garments"].frame.copy()
    unpriced = f.index[(output_price_index(f).isna() & f["sales"].notna()).to_numpy()]
    assert len(unpriced) == 15
    f.loc[unpriced[0], "material_cost"] = np.nan  # has output, cannot be deflated: the price reason
    f.loc[unpriced[1], "sales"] = np.nan  # no output at all: its own cause
    res, _ = best_production_function(f)
    reasons = {o.reason: o.n for o in res.omitted}
    assert reasons[NO_PRICE] == 14 and reasons["missing sales"] == 1 and "missing value_added" not in reasons
    assert res.nobs + _listed(res) == len(f)
