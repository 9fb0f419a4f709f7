"""Regression tables: layout rules, indicator rows, stars, adapters, golden text.

Golden files live in tests/golden/; regenerate them deliberately with ``UPDATE_GOLDEN=1 pytest tests/test_tables.py``
and review the diff.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clusterecon.estimators.results import EstimationResult, VarianceInfo
from clusterecon.report.adapters import as_result
from clusterecon.report.tables import TableError, regression_table

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"golden file {path} is missing; run with UPDATE_GOLDEN=1 once and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from the golden file"


def make_result(names, coef, se, *, depvar="log_sales", df_resid=200.0, effects=None, cluster=("firm_id",),
                n_clusters=(60,), kind="cluster", nobs=480, n_entities=60, rsquared=None, loglik=None,
                model="Within", **kw) -> EstimationResult:
    return EstimationResult(
        model=model, estimator=model, depvar=depvar, names=tuple(names), coef=np.asarray(coef, float),
        vcov=np.diag(np.asarray(se, float) ** 2),
        variance=VarianceInfo(kind, cluster if kind.startswith("cluster") else (),
                              n_clusters if kind.startswith("cluster") else (), "Stata xtreg"),
        nobs=nobs, df_resid=df_resid, n_entities=n_entities, rsquared=rsquared or {}, loglik=loglik,
        effects=effects or {}, **kw)


@pytest.fixture
def fits() -> list[EstimationResult]:
    """Three models of a spin-off performance regression with deterministic numbers."""
    r1 = make_result(["manager_schooling_years", "is_spinoff[T.True]"], [0.0812, 0.2301], [0.0213, 0.1402],
                     effects={"Year FE": "Yes"}, rsquared={"within": 0.2114, "between": 0.1032, "overall": 0.1533})
    r2 = make_result(["manager_schooling_years", "is_spinoff[T.True]", "manager_schooling_years:is_spinoff[T.True]"],
                     [0.0641, 0.1510, -0.0297], [0.0250, 0.1311, 0.0140],
                     effects={"Firm FE": "Yes", "Year FE": "Yes"}, rsquared={"within": 0.2410})
    r3 = make_result(["const", "manager_schooling_years", "is_spinoff[T.True]"], [4.1203, 0.1020, 0.3120],
                     [0.5021, 0.0188, 0.1201], kind="robust", df_resid=477.0, n_entities=None,
                     rsquared={"r2": 0.3012}, model="Pooled OLS")
    return [r1, r2, r3]


LABELS = {"log_sales": "log sales", "manager_schooling_years": "Manager's years of schooling",
          "is_spinoff": "Spin-off"}


def test_fixed_effect_indicator_rows_and_cluster_row(fits):
    t = regression_table(fits, labels=LABELS)
    f = t.frame.xs("indicator", level="row").droplevel("panel")
    # Keys are collected across models: "Firm FE" appears although model (1) lacks it ("No" there);
    # cf. the maketables split("+") bug that printed "-" for absorbed effects.
    assert f.loc["Year FE"].tolist() == ["Yes", "Yes", "No"]
    assert f.loc["Firm FE"].tolist() == ["No", "Yes", "No"]
    assert f.loc["SE clustered by"].tolist() == ["firm", "firm", "—"]
    md = t.to_markdown()
    assert "| Firm FE | No | Yes | No |" in md
    assert "| SE clustered by | firm | firm | — |" in md


def test_stars_follow_each_models_pvalues():
    # t = 1.7, 2.1, 2.7 under t(30): p ≈ 0.0995, 0.044, 0.011 -> *, **, ** ; t = 3.0 -> ***
    names = ["a", "b", "c", "d"]
    r = make_result(names, [1.7, 2.1, 2.7, 3.0], [1, 1, 1, 1], df_resid=30.0)
    p = 2 * stats.t.sf([1.7, 2.1, 2.7, 3.0], 30)
    expected = ["*" * sum(pi < c for c in (0.1, 0.05, 0.01)) for pi in p]
    est = regression_table([r]).frame.xs("estimate", level="row")["(1)"].tolist()
    assert [e.split(".")[1][3:] for e in est] == expected == ["*", "**", "**", "***"]
    # The normal distribution (ML models) gives t = 2.7 three stars? No: p = 0.0069 < 0.01 -> ***.
    rz = dataclasses.replace(r, df_resid=None, df_inference=None)
    est_z = regression_table([rz]).frame.xs("estimate", level="row")["(1)"].tolist()
    assert est_z[2].endswith("***")
    assert "* p<0.1, ** p<0.05, *** p<0.01." in regression_table([r]).layout.notes
    none = regression_table([r], stars=None)
    assert not any("*" in v for v in none.frame.xs("estimate", level="row")["(1)"])
    assert not any("p<" in n for n in none.layout.notes)


def test_statistic_under_the_coefficient(fits):
    r = fits[0]
    by_stat = {s: regression_table([r], stat=s).frame.xs(s, level="row")["(1)"].iloc[0]
               for s in ("se", "t", "p", "ci")}
    assert by_stat["se"] == "(0.021)"
    assert by_stat["t"] == f"({0.0812 / 0.0213:.3f})"
    assert by_stat["p"] == f"[{2 * stats.t.sf(0.0812 / 0.0213, 200):.3f}]"
    lo, hi = r.conf_int().iloc[0]
    assert by_stat["ci"] == f"[{lo:.3f}, {hi:.3f}]"
    assert "95% confidence intervals in brackets." in regression_table([r], stat="ci").layout.notes
    # 2 estimates; Year FE and cluster rows; N, Firms and three R²
    assert len(regression_table([r], stat=None).frame) == 2 + 2 + 5
    with pytest.raises(TableError, match="stat="):
        regression_table([r], stat="z")


def test_labels_order_keep_drop_rename_and_constant_last(fits):
    t = regression_table(fits, labels=LABELS)
    est = t.frame.xs("estimate", level="row").droplevel("panel")
    assert list(est.index) == ["manager_schooling_years", "is_spinoff[T.True]",
                               "manager_schooling_years:is_spinoff[T.True]", "Intercept"]
    first_col = [r[0].text for r in t.layout.sections[0].rows[::2]]
    assert first_col == ["Manager's years of schooling", "Spin-off: True",
                         "Manager's years of schooling × Spin-off: True", "Constant"]
    t2 = regression_table(fits, order=["Intercept", "is_spinoff*"], drop=["*:*"])
    assert list(t2.frame.xs("estimate", level="row").droplevel("panel").index) == [
        "Intercept", "is_spinoff[T.True]", "manager_schooling_years"]
    t3 = regression_table(fits, keep=["manager_schooling_years"], rename={"manager_schooling_years": "Schooling"})
    assert list(t3.frame.xs("estimate", level="row").droplevel("panel").index) == ["Schooling"]
    assert t3.layout.sections[0].rows[0][0].text == "Schooling"


def test_rename_merges_rows_and_refuses_collisions():
    a = make_result(["L.y", "x"], [0.5, 1.0], [0.1, 0.1])
    b = make_result(["lag_y", "x"], [0.4, 0.9], [0.1, 0.1])
    t = regression_table([a, b], rename={"L.y": "Lagged y", "lag_y": "Lagged y"})
    row = t.frame.loc[("", "Lagged y", "estimate")]
    assert row.tolist() == ["0.500***", "0.400***"]
    both = make_result(["L.y", "lag_y"], [0.5, 0.4], [0.1, 0.1])
    with pytest.raises(TableError, match="both 'L.y' and 'lag_y'"):
        regression_table([both], rename={"L.y": "Lagged y", "lag_y": "Lagged y"})


def test_model_statistics_rows(fits):
    t = regression_table(fits)
    s = t.frame.xs("stat", level="row").droplevel("panel")
    assert list(s.index) == ["Observations", "Firms", "R² within", "R² between", "R² overall", "R²"]
    assert s.loc["Observations"].tolist() == ["480", "480", "480"]
    assert s.loc["R² within"].tolist() == ["0.211", "0.241", ""]
    t2 = regression_table(fits, stats={"N": "N", "R2": "R-squared"})
    assert list(t2.frame.xs("stat", level="row").droplevel("panel").index) == ["N", "R-squared"]
    with pytest.raises(TableError, match="no model reports"):
        regression_table(fits, stats=["AIC"])
    ll = make_result(["x"], [1.0], [0.5], loglik=-1234.5678, df_resid=None, stats={"Pseudo R2": 0.1234})
    s = regression_table([ll], stats=["N", "Log-likelihood", "Pseudo R2"]).frame
    assert s.xs("stat", level="row")["(1)"].tolist() == ["480", "-1234.568", "0.123"]


def test_marginal_effects_panel_and_blank_columns(fits):
    ame = make_result(["manager_schooling_years"], [0.0211], [0.0051], model="AME", df_resid=None)
    t = regression_table(panels={"Coefficients": fits[:2], "Average marginal effects": [ame, None]},
                         model_names=["Probit", "RE probit"])
    titles = [s.title for s in t.layout.sections]
    assert titles[:2] == ["Coefficients", "Average marginal effects"]
    assert t.frame.loc[("Average marginal effects", "manager_schooling_years", "estimate")].tolist() == [
        "0.021***", ""]
    md = t.to_markdown()
    assert "| *Coefficients* |" in md and "| *Average marginal effects* |" in md
    with pytest.raises(TableError, match="same, non-zero number of columns"):
        regression_table(panels={"A": fits, "B": fits[:1]})
    with pytest.raises(TableError, match="either results"):
        regression_table(fits, panels={"A": fits})


def test_variance_note_and_depvar_header(fits):
    t = regression_table(fits, labels=LABELS, notes="Sample: survivors.")
    assert t.layout.notes[0] == "Sample: survivors."
    assert t.layout.notes[-2].startswith("Variance (1), (2): cluster-robust by firm_id (G=60)")
    assert t.layout.notes[-1].startswith("Variance (3): heteroskedasticity-robust")
    dv = t.layout.header[0]
    assert dv[1].text == "log sales" and dv[1].span == 3


def test_table_is_immutable_and_data_holds_numbers(fits):
    t = regression_table(fits)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.caption = "x"  # type: ignore[misc]
    d = t.data.set_index(["model", "term"])
    assert d.loc[("(3)", "Intercept"), "estimate"] == pytest.approx(4.1203)
    assert d.loc[("(1)", "manager_schooling_years"), "std_error"] == pytest.approx(0.0213)


def test_save_writes_every_format(fits, tmp_path):
    paths = regression_table(fits).save(tmp_path / "sub" / "table1", float=False)
    assert sorted(paths) == ["csv", "html", "md", "tex"]
    assert paths["tex"].read_text().startswith("\\begin{threeparttable}\n\\begin{tabular}")  # notes travel with it
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "table.clusterecon-table" in page and page.count("<table") == 1
    back = pd.read_csv(paths["csv"], header=None, keep_default_na=False, dtype=str)  # the table as displayed
    layout = regression_table(fits).layout
    assert back.shape == (len(list(layout.all_rows())) + 1 + len(layout.notes), layout.n_columns)
    with pytest.raises(ValueError, match="unknown table format"):
        regression_table(fits).save(tmp_path / "x", formats=("docx",))


def test_golden_markdown_and_latex(fits):
    t = regression_table(fits, labels=LABELS, notes="Spin-off performance, 1995–2005.")
    check_golden("regression_table.md", t.to_markdown())
    check_golden("regression_table.tex", t.to_latex(caption="Spin-off performance", label="tab:spinoff"))
    check_golden("regression_table_bare_siunitx.tex", t.to_latex(float=False, siunitx=True))
    check_golden("regression_table.html", t.to_html())


# ------------------------------------------------------------------------------------------------ adapters
def test_statsmodels_adapter_matches_source():
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=200), "g": np.repeat(np.arange(40), 5)})
    df["y"] = 1 + 0.3 * df["x"] + rng.normal(size=200)
    df["d"] = (df["y"] > 1).astype(int)
    ols = smf.ols("y ~ x", df).fit(cov_type="cluster", cov_kwds={"groups": df["g"]})
    logit = smf.logit("d ~ x", df).fit(disp=0)
    r, lr = as_result(ols), as_result(logit)
    np.testing.assert_allclose(r.std_errors, ols.bse)
    np.testing.assert_allclose(r.pvalues, ols.pvalues)  # t(G-1) as statsmodels uses for cluster
    np.testing.assert_allclose(lr.pvalues, logit.pvalues)  # normal for ML
    assert r.variance.kind == "cluster" and r.variance.n_clusters == (40,)
    t = regression_table([ols, logit])  # raw results are converted on the way in
    assert t.frame.loc[("", "x", "se"), "(1)"] == f"({ols.bse['x']:.3f})"
    assert t.frame.loc[("", "Pseudo R²", "stat"), "(2)"] == f"{logit.prsquared:.3f}"
    assert t.frame.loc[("", "Log-likelihood", "stat"), "(2)"] == f"{logit.llf:.3f}"
    with pytest.raises(TypeError, match="cannot make a table column"):
        as_result(object())


def test_linearmodels_adapter_effects_rows():
    from linearmodels import PanelOLS
    from linearmodels.datasets import wage_panel

    d = wage_panel.load().set_index(["nr", "year"])
    fe = PanelOLS.from_formula("lwage ~ expersq + union + EntityEffects + TimeEffects", d).fit(
        cov_type="clustered", cluster_entity=True)
    r = as_result(fe)
    np.testing.assert_allclose(r.pvalues, fe.pvalues)
    assert r.effects == {"Firm FE": "Yes", "Year FE": "Yes"}
    assert r.n_entities == 545 and r.variance.n_clusters == (545,)
    t = regression_table([fe])
    ind = t.frame.xs("indicator", level="row")["(1)"].droplevel("panel")
    assert ind.to_dict() == {"Firm FE": "Yes", "Year FE": "Yes", "SE clustered by": "firm"}
    assert t.frame.loc[("", "R² within", "stat"), "(1)"] == f"{fe.rsquared_within:.3f}"


# ------------------------------------------------------------------------------------------------ real fits
def test_table_from_clusterecon_estimators():
    """End to end on the Vella-Verbeek wage panel with the package's own estimators (issue 3/4 contracts)."""
    from linearmodels.datasets import wage_panel

    from clusterecon.estimators.binary import probit
    from clusterecon.estimators.margins import margins
    from clusterecon.estimators.pooled import pooled_ols
    from clusterecon.estimators.within import within

    d = wage_panel.load().set_index(["nr", "year"])
    fe = within(d, "lwage ~ expersq + union + married", vcov="cluster")
    ols = pooled_ols(d, "lwage ~ expersq + union + married + educ", vcov="robust")
    t = regression_table([fe, ols], labels={"lwage": "log wage", "union": "Union member"})
    assert t.frame.loc[("", "union", "estimate"), "(1)"].startswith(f"{fe.params['union']:.3f}")
    assert t.frame.loc[("", "union", "se"), "(2)"] == f"({ols.std_errors['union']:.3f})"
    ind = t.frame.xs("indicator", level="row").droplevel("panel")
    assert ind.loc["Firm FE"].tolist() == ["Yes", "No"]
    assert ind.loc["SE clustered by"].tolist() == ["nr", "—"]
    assert t.frame.loc[("", "Observations", "stat")].tolist() == ["4,360", "4,360"]
    pr = probit(d, "union ~ married + educ + black", vcov="cluster")
    t2 = regression_table(panels={"Probit coefficients": [pr], "Average marginal effects": [margins(pr)]})
    assert t2.frame.loc[("", "Pseudo R²", "stat"), "(1)"] == f"{pr.r2_pseudo:.3f}"
    assert any(n.startswith("Average marginal effects: variance: delta method") for n in t2.layout.notes)


def test_package_exports_resolve_lazily_without_matplotlib():
    import subprocess
    import sys

    code = ("import sys, clusterecon.report as r; r.regression_table; r.summary_table; r.escape_latex; "
            "print('matplotlib' in sys.modules); [getattr(r, n) for n in r.__all__]")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=True)
    assert out.stdout.strip() == "False"


def test_test_rows_and_dropped_regressor_note():
    from clusterecon.estimators.results import TestResult

    wald = TestResult("Wald", 12.3456, 0.00206, 2, "chi2", "all slopes = 0")
    a = make_result(["x", "z"], [1.0, 2.0], [0.5, 0.5], tests={"model": wald},
                    dropped_regressors=(("w", "collinear with x"),))
    b = make_result(["x"], [1.0], [0.5])
    t = regression_table([a, b], tests=["model"])
    assert t.frame.loc[("", "Wald χ²(2)", "test")].tolist() == ["12.346 [0.002]", ""]
    assert "(1) dropped w (collinear with x)." in t.layout.notes
    assert ("", "Joint test", "test") in regression_table([a], tests={"model": "Joint test"}).frame.index
    with pytest.raises(TableError, match="no model has a test 'hausman'; available: \\['model'\\]"):
        regression_table([a, b], tests=["hausman"])


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside pyfixest, not ours
def test_pyfixest_adapter_fixed_effects_with_spaces():
    """maketables marked FE as "-" for "y ~ x | f1 + f2" (spaces); here every effect gets "Yes"."""
    pf = pytest.importorskip("pyfixest")
    from linearmodels.datasets import wage_panel

    d = wage_panel.load().rename(columns={"nr": "firm_id"})
    spaced = pf.feols("lwage ~ expersq + union | firm_id + year", d, vcov={"CRV1": "firm_id"})
    tight = pf.feols("lwage ~ expersq + union|firm_id+year", d, vcov="hetero")
    r = as_result(spaced)
    np.testing.assert_allclose(r.pvalues, spaced.pvalue(), rtol=1e-5)  # t(G - 1), as pyfixest reports
    np.testing.assert_allclose(r.std_errors, spaced.se())
    t = regression_table([spaced, tight])
    ind = t.frame.xs("indicator", level="row").droplevel("panel")
    assert ind.loc["Firm FE"].tolist() == ["Yes", "Yes"] and ind.loc["Year FE"].tolist() == ["Yes", "Yes"]
    assert ind.loc["SE clustered by"].tolist() == ["firm", "—"]
    assert t.frame.loc[("", "R² within", "stat"), "(1)"] == f"{spaced._r2_within:.3f}"


def test_split_equations_side_by_side_and_as_panels():
    from clusterecon.report.tables import split_equations

    mn = make_result(["engineer:Intercept", "engineer:schooling", "merchant:Intercept", "merchant:schooling",
                      "sigma"], [0.1, 0.2, 0.3, 0.4, 1.5], [0.1, 0.1, 0.1, 0.1, 0.2], df_resid=None)
    eqs = split_equations(mn)
    assert list(eqs) == ["engineer", "merchant", "Other"]
    assert eqs["merchant"].names == ("Intercept", "schooling")
    assert eqs["merchant"].coef.tolist() == [0.3, 0.4]
    assert eqs["merchant"].std_errors.tolist() == pytest.approx([0.1, 0.1])
    t = regression_table({k: v for k, v in eqs.items() if k != "Other"})
    assert [(c.text, c.span) for c in t.layout.header[0][1:]] == [("log(sales)", 2)]  # ln_/log_ names labelled
    assert [c.text for c in t.layout.header[1][1:]] == ["engineer", "merchant"]
    assert t.frame.loc[("", "schooling", "estimate")].tolist() == ["0.200**", "0.400***"]
    stacked = regression_table(panels=split_equations(mn))
    assert [s.title for s in stacked.layout.sections[:3]] == ["engineer", "merchant", "Other"]


def test_column_groups_and_custom_star_symbols():
    """esttab's mgroups() and star(): a spanning header row over groups of columns, your own symbols and
    thresholds with their legend; a stars row is never blank-padded."""
    r = make_result(["x", "z"], [0.5, -0.25], [0.1, 0.2])  # p(x) ~ 1e-6, p(z) ~ 0.21
    t = regression_table([r, r, r, r], groups=[("OLS", 2), ("FE", 2)], stars={0.1: "†", 0.05: "*", 0.01: "**"})
    top = t.layout.header[0]
    assert [(c.text, c.span) for c in top[1:]] == [("OLS", 2), ("FE", 2)]
    assert t.frame.loc[("", "x", "estimate")].tolist() == ["0.500**"] * 4
    assert t.frame.loc[("", "z", "estimate")].tolist() == ["-0.250"] * 4
    assert "† p<0.1, * p<0.05, ** p<0.01." in t.layout.notes
    assert r"\cmidrule(lr){2-3} \cmidrule(lr){4-5}" in t.to_latex()
    with pytest.raises(TableError, match="span 3 columns"):
        regression_table([r, r, r, r], groups={"A": 1, "B": 2})
    with pytest.raises(TableError, match="between 0 and 1"):
        regression_table([r], stars=(5,))


def test_no_blank_standard_error_row():
    """A coefficient without a standard error in every column (a bootstrap that was not run) gets no empty row."""
    from dataclasses import replace

    import numpy as np

    r = make_result(["x", "z"], [0.5, -0.25], [0.1, 0.2])
    v = np.array(r.vcov, dtype=float)
    v[1, 1] = np.nan
    t = regression_table([replace(r, vcov=v)])
    rows = [c[0].text for s in t.layout.sections for c in s.rows]
    assert rows[:3] == ["x", "", "z"]  # x, its s.e., then z directly


def test_summary_keeps_names_whole_and_separates_interval_columns():
    """result.summary(): a long term name is never cut, and negative interval bounds never run together."""
    long = "manager_schooling_years_time_invariant_endogenous"
    r = make_result([long, "x"], [-0.5, -0.3], [0.2, 0.15])
    text = r.summary()
    assert long in text
    row = next(line for line in text.splitlines() if line.startswith(long))
    lo, hi = r.conf_int().loc[long]
    assert row.split()[-2:] == [f"{lo:.4g}", f"{hi:.4g}"]


def test_derived_variables_are_labelled():
    """The names the battery and derive create are shown with labels, never raw (issue 15)."""
    from clusterecon.report.labels import label_of, level_label

    want = {"ln_value_added": "log(value added)", "log_tfp": "log(TFP)", "profit_rate": "Profit rate",
            "entry_year": "Entry year", "log_output": "log(cluster output)", "ln_employees": "log(employees)",
            "mean_any_innovation": "Firm mean of any innovation", "log_duration": "log(duration)",
            "log_age": "log(firm age)"}
    assert {k: label_of(k) for k in want} == want
    assert level_label("prior_occupation", "other") == "Founder's prior occupation: other"
    assert label_of("x_unknown") == "x_unknown"  # a name nobody knows is shown as written
    t = regression_table([make_result(["prior_occupation[T.worker_same_industry]", "ln_capital"], [0.1, 0.2],
                                      [0.05, 0.05], depvar="ln_value_added")])
    text = t.to_markdown()
    assert "Founder's prior occupation: worker same industry" in text and "log(value added)" in text
    assert "ln\\_" not in text and "prior\\_occupation" not in text
