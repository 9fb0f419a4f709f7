"""Descriptive and balance tables: numbers against pandas/scipy identities, grouping rules, rendering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_tables import check_golden

from clusterecon.panel import SurveyDesign, SurveyPanel
from clusterecon.report.descriptive import (
    DescriptiveError,
    assign_phases,
    balance_table,
    phase_spans,
    summary_table,
    yearly_aggregates,
)


@pytest.fixture
def survey() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n_firms, years = 30, [1995, 2000, 2005]
    firm = np.repeat(np.arange(n_firms), len(years))
    return pd.DataFrame({
        "firm_id": [f"f{i:02d}" for i in firm],
        "year": np.tile(years, n_firms),
        "sales": np.round(rng.lognormal(3, 1, firm.size), 2),
        "employees": rng.integers(1, 50, firm.size).astype(float),
        "own_brand": rng.random(firm.size) < 0.3,
        "is_spinoff": np.repeat(rng.random(n_firms) < 0.4, len(years)),
        "founder_prior_occupation": pd.Categorical(np.repeat(rng.choice(["merchant", "engineer", "farmer"], n_firms),
                                                             len(years))),
    })


def test_summary_by_year_matches_groupby(survey):
    t = summary_table(survey, ["sales", "own_brand"], by="year")
    g = survey.groupby("year")
    for year in (1995, 2000, 2005):
        assert t.frame.loc["sales", (year, "mean")] == pytest.approx(g["sales"].mean()[year])
        assert t.frame.loc["sales", (year, "sd")] == pytest.approx(g["sales"].std(ddof=1)[year])
        assert t.frame.loc["own_brand", (year, "mean")] == pytest.approx(g["own_brand"].mean()[year])
    md = t.to_markdown()
    assert "| Observations | 30 |  | 30 |  | 30 |  |" in md
    assert "| Firms | 30 |" in md


def test_categorical_levels_are_shares_and_spinoff_groups(survey):
    with_na = survey.assign(is_spinoff=survey.is_spinoff.astype("boolean"))
    with_na.loc[:2, "is_spinoff"] = pd.NA
    t = summary_table(with_na, ["sales"], by="is_spinoff", stats=["N"])
    assert t.frame[(False, "N")].iloc[0] + t.frame[(True, "N")].iloc[0] == len(survey) - 3
    assert t.layout.notes == ("3 observations with missing is_spinoff are left out.",)
    t = summary_table(survey, ["founder_prior_occupation", "sales"], by="is_spinoff", stats=["mean", "N"])
    occ = t.frame.loc[[i for i in t.frame.index if i.startswith("founder_prior_occupation")]]
    np.testing.assert_allclose(occ.xs("mean", axis=1, level="statistic").sum(), 1.0)
    assert [c.text for c in t.layout.header[0][1:]] == ["Not spin-off", "Spin-off"]
    assert t.frame.loc["sales", (True, "N")] == int(survey["is_spinoff"].sum())


def test_overall_statistics_and_panel_labels(survey):
    panel = SurveyPanel.from_frame(survey, design=SurveyDesign(kind="rounds"))
    t = summary_table(panel, ["sales", "employees"])
    assert list(t.frame.index) == ["Sales", "Employees"]  # codebook labels from the panel
    row = t.frame.loc["Sales"]
    assert (row["mean"], row["min"], row["max"], row["N"]) == pytest.approx(
        (survey.sales.mean(), survey.sales.min(), survey.sales.max(), 90))
    assert [c.text for c in t.layout.header[0][1:]] == ["Mean", "SD", "Min", "Max", "N"]
    with pytest.raises(DescriptiveError, match="unknown statistics"):
        summary_table(survey, ["sales"], stats=["kurtosis"])
    with pytest.raises(DescriptiveError, match=r"\['nope'\] not in the data"):
        summary_table(survey, ["nope"])


def test_phases_group_years_and_count_what_is_left_out(survey):
    phases = [("Initiation", 1990, 1997), ("Quantity expansion", 1998, 2002)]
    t = summary_table(survey, ["sales"], by="phase", phases=phases)
    assert list(t.frame.columns.get_level_values(0).unique()) == ["Initiation", "Quantity expansion"]
    assert t.layout.notes == ("30 observations outside the dated phases are left out.",)
    assert t.frame.loc["sales", ("Quantity expansion", "mean")] == pytest.approx(
        survey.loc[survey.year == 2000, "sales"].mean())
    with pytest.raises(DescriptiveError, match="overlaps"):
        assign_phases(survey["year"], [("a", 1990, 2000), ("b", 2000, 2005)])
    with pytest.raises(DescriptiveError, match="needs phases"):
        summary_table(survey, ["sales"], by="phase")


@pytest.fixture
def rct() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    treat = np.tile([0, 1], n // 2).astype(bool)
    return pd.DataFrame({"treat_offered": treat, "profit": rng.normal(10, 3, n) + 1.5 * rng.normal(size=n) * treat,
                         "employees": rng.poisson(8, n).astype(float), "strata_id": np.repeat(np.arange(6), n // 6)})


def test_balance_difference_se_and_normalized_difference(rct):
    x0 = rct.loc[~rct.treat_offered, "profit"]
    x1 = rct.loc[rct.treat_offered, "profit"]
    # HC2 on a binary regressor is exactly Welch's unequal-variance standard error.
    hc2 = balance_table(rct, ["profit"], vcov="HC2").frame.loc["profit"]
    welch = stats.ttest_ind(x1, x0, equal_var=False)
    assert hc2["difference"] == pytest.approx(x1.mean() - x0.mean())
    assert hc2["std_error"] == pytest.approx(np.sqrt(x1.var() / len(x1) + x0.var() / len(x0)))
    assert hc2["difference"] / hc2["std_error"] == pytest.approx(welch.statistic)
    # Classical OLS reproduces the pooled two-sample t-test, p-value included.
    cl = balance_table(rct, ["profit"], vcov="classical").frame.loc["profit"]
    pooled = stats.ttest_ind(x1, x0, equal_var=True)
    assert cl["p_value"] == pytest.approx(pooled.pvalue)
    assert cl["normalized_difference"] == pytest.approx((x1.mean() - x0.mean()) / np.sqrt((x1.var() + x0.var()) / 2))
    assert (cl["control_n"], cl["treatment_n"]) == (60, 60)


def test_balance_with_strata_missing_values_and_errors(rct):
    df = rct.assign(treat_offered=rct.treat_offered.astype("boolean"))
    df.loc[:4, "employees"] = np.nan
    df.loc[5, "treat_offered"] = None
    t = balance_table(df, ["profit", "employees"], strata="strata_id", labels={"employees": "Workers"})
    assert t.frame.loc["Workers", "control_n"] + t.frame.loc["Workers", "treatment_n"] == 114
    assert any("1 rows with missing" in n for n in t.layout.notes)
    assert any("Workers (5)" in n for n in t.layout.notes)
    assert any("Randomisation stratum (training RCT) fixed effects" in n for n in t.layout.notes)
    bad = rct.assign(strata_id=rct.treat_offered.astype(int))
    with pytest.raises(DescriptiveError, match="does not vary within strata_id"):
        balance_table(bad, ["profit"], strata="strata_id")
    with pytest.raises(DescriptiveError, match="must be 0/1"):
        balance_table(rct.assign(treat_offered=2), ["profit"])


def test_golden_descriptive_text(survey, rct):
    t = summary_table(survey, ["sales", "own_brand", "founder_prior_occupation"], by="year",
                      labels={"own_brand": "Own brand (share)"})
    check_golden("summary_by_year.md", t.to_markdown())
    check_golden("summary_by_year.tex", t.to_latex(float=False))
    b = balance_table(rct, ["profit", "employees"], strata="strata_id")
    check_golden("balance.md", b.to_markdown())
    check_golden("balance.tex", b.to_latex(caption="Baseline balance"))


def test_yearly_aggregates_feed_trajectories(survey):
    df = survey.assign(product_price=1.0 + survey.year % 10, active=survey.firm_id != "f00")
    tfp = pd.Series(1.0, index=pd.MultiIndex.from_frame(survey[["firm_id", "year"]]))
    agg = yearly_aggregates(df, tfp=tfp)
    assert list(agg.columns) == ["firms", "output", "price", "tfp", "innovation_share"]
    live = df[df.active]
    assert agg.loc[2000, "firms"] == 29  # f00 is inactive
    assert agg.loc[2000, "output"] == pytest.approx(live.loc[live.year == 2000, "sales"].sum())
    assert agg.loc[1995, "innovation_share"] == pytest.approx(live.loc[live.year == 1995, "own_brand"].mean())
    assert agg["tfp"].tolist() == [1.0, 1.0, 1.0]
    assert list(yearly_aggregates(survey[["firm_id", "year", "sales"]]).columns) == ["firms", "output"]


def test_by_prior_occupation_keeps_category_order_and_drops_empty_levels(survey):
    df = survey.assign(founder_prior_occupation=survey.founder_prior_occupation.cat.set_categories(
        ["farmer", "merchant", "engineer", "soe_employee"]))
    t = summary_table(df, ["sales"], by="founder_prior_occupation", stats=["mean"])
    assert list(t.frame.columns.get_level_values(0)) == ["farmer", "merchant", "engineer"]
    for occ in ("farmer", "merchant", "engineer"):
        assert t.frame.loc["sales", (occ, "mean")] == pytest.approx(
            df.loc[df.founder_prior_occupation == occ, "sales"].mean())
    # one statistic: group names are the only header row
    assert len(t.layout.header) == 1


def test_phase_spans_from_start_years():
    starts = {"initiation": 1970, "quality_improvement": 1997, "quantity_expansion": 1975, "stagnation": None}
    assert phase_spans(starts, 2014) == [("initiation", 1970, 1974), ("quantity_expansion", 1975, 1996),
                                         ("quality_improvement", 1997, 2014)]
    assert phase_spans({"initiation": 1970, "quantity_expansion": 2020}, 2014) == [("initiation", 1970, 2014)]
    df = pd.DataFrame({"year": [1971, 1980, 2000], "x": [1.0, 2.0, 3.0]})
    t = summary_table(df, ["x"], by="phase", phases=phase_spans(starts, 2014), stats=["mean"])
    assert [c.text for c in t.layout.header[0][1:]] == ["Initiation", "Quantity expansion", "Quality improvement"]


def test_balance_joint_orthogonality_test(rct):
    # Classical variance, no strata: the Wald F of all slopes is the regression F = (R²/k) / ((1 − R²)/(n − k − 1)).
    t = balance_table(rct, ["profit", "employees"], vcov="classical")
    jt = t.frame.attrs["joint_test"]
    X = np.column_stack([np.ones(len(rct)), rct[["profit", "employees"]].to_numpy()])
    y = rct.treat_offered.to_numpy(float)
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    n, k = len(y), 2
    assert jt["F"] == pytest.approx((r2 / k) / ((1 - r2) / (n - k - 1)))
    assert jt["p_value"] == pytest.approx(stats.f.sf(jt["F"], k, n - k - 1))
    assert jt["df"] == (2, 117.0) and jt["n"] == 120
    assert any(n.startswith("Joint test that the variables do not predict treatment: F(2, 117)")
               for n in t.layout.notes)
    assert "joint_test" not in balance_table(rct, ["profit"], joint=False).frame.attrs
