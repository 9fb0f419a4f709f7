"""Formulas that pass the whitelist work in every estimator, or are refused with one sentence (sweep 11): the
documented transforms center/scale/poly/bs, the year index as a trend, multi-part formulas, C(x, levels=[...]) and
the reason a derived log is missing."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon import derive
from clusterecon.cli import main
from clusterecon.estimators import pooled_ols, within
from clusterecon.estimators.design import SpecificationError
from clusterecon.formula_guard import FormulaError, formula_columns
from clusterecon.panel import SurveyPanel


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n_firms, years = 30, [2000, 2001, 2002, 2003]
    df = pd.DataFrame({"firm_id": np.repeat([f"F{i:02d}" for i in range(n_firms)], len(years)),
                       "year": np.tile(years, n_firms)})
    df["employees"] = rng.integers(1, 9, len(df)).astype(float)
    df["capital"] = rng.uniform(1, 100, len(df))
    df["sales"] = 10 + 2 * df["employees"] + 0.1 * df["capital"] + rng.normal(0, 1, len(df))
    df.loc[[3, 17, 40], "employees"] = np.nan  # missing values of a transformed regressor
    return df.set_index(["firm_id", "year"])


TRANSFORMS = ["center(employees)", "scale(employees)", "scale(employees, ddof=0)", "poly(employees, 2)",
              "bs(employees, df=4)", "center(np.log(employees))"]


@pytest.mark.parametrize("estimator", [pooled_ols, within], ids=["pooled", "within"])
@pytest.mark.parametrize("term", TRANSFORMS)
def test_every_allowed_transform_works_and_counts_the_rows_left_out(frame, estimator, term):
    r = estimator(frame, f"sales ~ {term} + capital")
    assert r.nobs == len(frame) - 3
    assert [(o.reason, o.n) for o in r.omitted] == [("missing employees", 3)]
    assert any(n.startswith(term.split(",")[0].rstrip(")")) for n in r.names)


def test_center_matches_the_plain_regressor_slope(frame):
    a, b = pooled_ols(frame, "sales ~ center(employees)"), pooled_ols(frame, "sales ~ employees")
    assert a.params["center(employees)"] == pytest.approx(b.params["employees"])


def test_formula_columns_include_transform_arguments():
    assert formula_columns("y ~ center(x) + poly(z, 2) + bs(w, df=3) + scale(np.log(v)) + C(g, Sum) + Q('a b')") \
        == ["y", "x", "z", "w", "v", "g", "a b"]
    assert formula_columns("y ~ x + C(g) + I(t - 1)", bare=True) == ["y", "x"]
    with pytest.raises(FormulaError, match="keyword 'ddof'"):  # formulaic's center takes no options
        formula_columns("y ~ center(x, ddof=1)")


# ------------------------------------------------------------------------------------------ index levels, '|'
@pytest.mark.parametrize("estimator", [pooled_ols, within], ids=["pooled", "within"])
def test_the_year_index_is_a_trend_regressor(frame, estimator):
    r = estimator(frame, "sales ~ year + employees")
    same = estimator(frame, "sales ~ I(year - 2000) + employees")
    assert r.params["year"] == pytest.approx(same.params["I(year - 2000)"])
    flat = pooled_ols(frame.reset_index(), "sales ~ year", entity="firm_id", time="year")
    assert "year" in flat.params.index


@pytest.mark.parametrize("formula", ["firm_id ~ employees", "sales ~ employees + firm_id"])
def test_the_firm_index_as_a_variable_is_one_sentence(frame, formula):
    for estimator in (pooled_ols, within):
        with pytest.raises(SpecificationError, match=r"'firm_id' is the panel's firm identifier .* C\(firm_id\)"):
            estimator(frame, formula)


def test_multi_part_formulas_are_refused_by_name(frame, tmp_path, capsys):
    for estimator in (pooled_ols, within):
        with pytest.raises(SpecificationError, match=r"'\|' \(a multi-part formula\) is not supported"):
            estimator(frame, "sales ~ employees | capital")
    spec = tmp_path / "e.toml"
    spec.write_text('[data]\nsample = "garments"\n[[model]]\nname = "M"\nestimator = "pooled_ols"\n'
                    'formula = "sales ~ employees | capital"\n', encoding="utf-8")
    assert main(["replicate", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "multi-part formula" in err and "bug" not in err


# ------------------------------------------------------------------------------------------ C(x, levels=[...])
@pytest.mark.parametrize("estimator", [pooled_ols, within], ids=["pooled", "within"])
def test_values_outside_the_levels_are_left_out_and_counted(frame, estimator):
    outside = int((~frame["employees"].isin([1, 2, 3]) & frame["employees"].notna()).sum())
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*outside of the nominated levels.*")
        r = estimator(frame, "sales ~ C(employees, levels=[1, 2, 3])")
    assert ("employees not among the levels of C(employees, levels=[1, 2, 3])", outside) in [
        (o.reason, o.n) for o in r.omitted]
    assert r.nobs == len(frame) - 3 - outside


def test_levels_of_an_expression_are_refused(frame):
    with pytest.raises(SpecificationError, match="levels= needs a column"):
        pooled_ols(frame, "sales ~ C(employees + 1, levels=[2, 3])")


# ------------------------------------------------------------------------------------------ why a log is missing
def _panel_with_zero_sales(frame: pd.DataFrame) -> tuple[SurveyPanel, int, int]:
    data = frame.copy()
    data.loc[data.index[[5, 6, 7]], "sales"] = 0.0
    data.loc[data.index[[8, 9]], "sales"] = np.nan
    firms = pd.DataFrame(index=pd.Index(data.index.get_level_values(0).unique(), name="firm_id"))
    return derive.add_logs(SurveyPanel(data=data, firms=firms), ["sales"], prefix="log_"), 3, 2


def test_omission_record_says_why_a_log_is_missing(frame):
    panel, zeros, missing = _panel_with_zero_sales(frame)
    for data in (panel, panel.frame):
        for formula in ("log_sales ~ capital", "log_sales ~ center(capital)"):  # plain and formulaic paths
            r = pooled_ols(data, formula)
            assert [(o.reason, o.n) for o in r.omitted] == [("missing sales", missing),
                                                            ("sales <= 0 (log undefined)", zeros)]


def test_no_rows_left_is_a_sentence_not_a_repr(frame):
    with pytest.raises(SpecificationError) as e:
        pooled_ols(frame.assign(z=np.nan), "sales ~ z")
    assert "Omitted(" not in str(e.value) and f"{len(frame)} missing z" in str(e.value)


def test_report_lists_the_log_of_zero_apart_from_missing(tmp_path):
    survey = tmp_path / "sim.csv"
    assert main(["simulate", "--preset", "garments", "--firms", "60", "--seed", "3", "--out", str(survey)]) == 0
    df = pd.read_csv(survey)
    df.loc[df["sales"].notna().to_numpy().nonzero()[0][:4], "sales"] = 0
    df.to_csv(survey, index=False)
    out = tmp_path / "report"
    assert main(["analyse", str(survey), "--out", str(out), "--quiet"]) in (0, 1)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "sales \\<= 0 (log undefined)" in md or "sales <= 0 (log undefined)" in md
    assert "4 sales" in md


def test_the_battery_frame_keeps_the_reason_under_its_short_log_names():
    # analysis_frame renames log_value_added -> log_va and log_product_price -> log_price; the reason a log is
    # missing (value added <= 0) must follow the rename, or the report says only "missing log_va"
    from clusterecon.hypotheses._common import analysis_frame
    from clusterecon.samples import sample_panel

    panel = sample_panel("garments")
    first = panel.data.index[:3]
    data = panel.data.copy()
    data.loc[first, "sales"] = data.loc[first, "material_cost"]  # value added exactly 0
    f = analysis_frame(panel.replace(data=data))
    r = pooled_ols(f, "log_va ~ log_employees")
    assert ("value_added <= 0 (log undefined)", 3) in [(o.reason, o.n) for o in r.omitted]


def _productivity_panel(frame: pd.DataFrame) -> SurveyPanel:
    """employees 0 in rows 0-2, value added <= 0 in rows 4-5, material cost missing in rows 6-7 (employees are
    already missing in rows 3, 17 and 40)."""
    data = frame.assign(material_cost=frame["sales"] / 2)
    data.iloc[0:3, data.columns.get_loc("employees")] = 0.0
    data.iloc[4:6, data.columns.get_loc("material_cost")] = data["sales"].iloc[4:6] + 1
    data.iloc[6:8, data.columns.get_loc("material_cost")] = np.nan
    firms = pd.DataFrame(index=pd.Index(data.index.get_level_values(0).unique(), name="firm_id"))
    p = derive.add_labour_productivity(SurveyPanel(data=data, firms=firms))
    return derive.add_logs(p, ["value_added", "va_per_worker"], prefix="log_")


def test_omission_record_says_why_a_derived_ratio_is_missing(frame):
    # value added per worker used to be left out as just "missing va_per_worker", whatever the cause
    panel = _productivity_panel(frame)
    for data in (panel, panel.frame):
        ratio = pooled_ols(data, "va_per_worker ~ capital")
        assert [(o.reason, o.n) for o in ratio.omitted] == [
            ("missing employees", 3), ("employees <= 0 (no value per worker)", 3), ("missing material_cost", 2)]
        log = pooled_ols(data, "log_va_per_worker ~ center(capital)")  # the formulaic path follows the chain too
        assert [(o.reason, o.n) for o in log.omitted] == [
            ("missing employees", 3), ("employees <= 0 (no value per worker)", 3), ("missing material_cost", 2),
            ("va_per_worker <= 0 (log undefined)", 2)]
    va = pooled_ols(panel, "log_value_added ~ capital")
    assert [(o.reason, o.n) for o in va.omitted] == [("missing material_cost", 2),
                                                     ("value_added <= 0 (log undefined)", 2)]


def test_a_real_value_without_a_deflator_says_so(frame):
    data = frame.copy()
    data.iloc[0, data.columns.get_loc("sales")] = np.nan
    firms = pd.DataFrame(index=pd.Index(data.index.get_level_values(0).unique(), name="firm_id"))
    defl = pd.DataFrame({"year": [2000, 2001, 2002], "deflator": [100.0, 105.0, 110.0]})  # no 2003
    panel = derive.deflate(SurveyPanel(data=data, firms=firms), defl, columns=["sales"])
    r = pooled_ols(panel, "sales_real ~ capital")
    assert [(o.reason, o.n) for o in r.omitted] == [("missing sales", 1), ("no deflator for the firm-year's year", 30)]


def test_the_battery_trends_count_the_firm_years_they_leave_out():
    # the stagnation trends were fitted on a pre-filtered frame, so their results said "no rows left out"
    from clusterecon.hypotheses.stagnation import _fe_trend

    f = pd.DataFrame({"firm_id": ["a", "a", "a", "b", "b", "b", "c", "c"], "year": [1, 2, 3, 1, 2, 3, 1, 2],
                      "y": [1.0, 2.1, 2.9, 0.5, np.nan, 2.6, 1.0, np.nan]}).set_index(["firm_id", "year"])
    f["trend"] = f.index.get_level_values("year").astype(float) - 1
    r, sub = _fe_trend(f, "y", "robust")
    assert r.nobs == len(sub) == 5
    assert [(o.reason, o.n) for o in r.omitted] == [("missing y", 2), (
        "singleton firms (observed once; no within variation, dropped as reghdfe does)", 1)]
