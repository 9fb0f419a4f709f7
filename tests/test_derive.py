"""Derived variables: values by hand, the stated conventions, and a provenance entry for every column and row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon import derive
from clusterecon.derive import DeriveError
from clusterecon.panel import SurveyDesign, SurveyPanel
from clusterecon.provenance import rows_dropped

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def panel() -> SurveyPanel:
    df = pd.DataFrame({
        "firm_id": ["a", "a", "b", "b", "b", "c"],
        "year": [2000, 2005, 1995, 2000, 2005, 2005],
        "sales": [10.0, 0.0, 5, 6, 8, 20],
        "material_cost": [4.0, 1, 5, 2, 3, 5],
        "employees": [2.0, 0, 1, 2, 4, 5],
        "capital": [1.0, 2, 3, 4, 5, np.nan],
        "founding_year": [1990, 1990, 1994, 1994, 1994, 2001],
        "industry": ["shoes", "shoes", "garments", "garments", "garments", "garments"],
        "source_row": [3, 4, 7, 8, 9, 12],
    })
    return SurveyPanel.from_frame(df, design=SurveyDesign(kind="recall", survey_years=(2005,)))


def entries(p, column):
    return [e for e in p.provenance if e.column == column]


def test_age_and_cohort(panel):
    p = derive.add_age(panel)
    assert p.data["age"].tolist() == [10, 15, 1, 6, 11, 4]
    assert derive.add_age(panel, plus_one=True).data["age"].tolist() == [11, 16, 2, 7, 12, 5]
    assert entries(p, "age")[0].step == "derive" and "year - founding_year" in entries(p, "age")[0].action
    assert "age" not in panel.data.columns  # input untouched
    c = derive.add_cohort(panel)
    assert c.firms["entry_cohort"].tolist() == [1990, 1990, 2000]
    b = derive.add_cohort(panel, bins=[1980, 1992, 2000])
    assert b.firms["entry_cohort"].astype(object).tolist()[:2] == ["1980–1991", "1992–1999"]
    assert pd.isna(b.firms["entry_cohort"].iloc[2])
    outside = [e for e in b.provenance if "outside the bins" in e.action][0]
    assert outside.n_rows == 1 and outside.detail["firms"] == ["c"]


def test_negative_age_is_missing_and_recorded():
    df = pd.DataFrame({"firm_id": ["a", "a"], "year": [1995, 2000], "founding_year": [1998, 1998],
                       "source_row": [5, 6]})
    p = derive.add_age(SurveyPanel.from_frame(df))
    assert pd.isna(p.data["age"].iloc[0]) and p.data["age"].iloc[1] == 2
    assert entries(p, "age")[1].rows == (5,)


def test_first_last_balanced(panel):
    p = derive.add_balanced_flag(derive.add_first_last_year(panel))
    assert p.firms["first_year"].tolist() == [2000, 1995, 2005]
    assert p.firms["last_year"].tolist() == [2005, 2005, 2005]
    assert p.firms["balanced"].tolist() == [False, True, False]
    assert entries(p, "balanced")[0].detail["n_firms_balanced"] == 1


def test_value_added_and_productivity(panel):
    p = derive.add_labour_productivity(panel)  # derives value added first
    assert p.data["value_added"].tolist() == [6, -1, 0, 4, 5, 15]
    lp = p.data["va_per_worker"]
    assert lp.iloc[0] == 3 and pd.isna(lp.iloc[1]) and lp.iloc[3] == 2 and lp.iloc[5] == 3
    rec = [e for e in entries(p, "va_per_worker") if "missing" in e.action][0]
    assert rec.rows == (4,) and rec.n_rows == 1 and rec.detail["examples"] == ["a/2005"]
    assert entries(p, "value_added")[0].detail["n_nonpositive"] == 2
    s = derive.add_labour_productivity(panel, numerator="sales")
    assert s.data["sales_per_worker"].iloc[4] == 2 and "value_added" not in s.data.columns


def test_deflate_common_and_base_year(panel, tmp_path):
    defl = pd.DataFrame({"year": [1995, 2000, 2005], "deflator": [50.0, 80, 100]})
    p = derive.deflate(panel, defl)
    assert p.data["sales_real"].tolist() == pytest.approx([12.5, 0, 10, 7.5, 8, 20])
    assert p.label("sales_real") == "Sales (real, 2005 prices)"
    assert "2005 prices" in entries(p, "sales_real")[0].action
    # the shipped example file, base year 2005 = 100: real = nominal in 2005
    q = derive.deflate(panel, ROOT / "data" / "deflators_example.csv", columns=["sales"])
    in_2005 = q.data.xs(2005, level="year")
    assert in_2005["sales_real"].tolist() == in_2005["sales"].tolist()
    # explicit base year rebases: real values in 2000 prices
    r = derive.deflate(panel, defl, base_year=2000, columns=["sales"])
    assert r.data.loc[("b", 1995), "sales_real"] == pytest.approx(5 * 80 / 50)
    with pytest.raises(DeriveError, match="base year"):
        derive.deflate(panel, defl.assign(deflator=[50.0, 80, 90]))


def test_deflate_by_industry_records_missing(panel, tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame({"industry": ["garments"] * 3 + ["shoes"], "year": [1995, 2000, 2005, 2005],
                  "deflator": [50.0, 80, 100, 100]}).to_csv(path, index=False)
    p = derive.deflate(panel, path, columns=["sales"])
    assert p.data.loc[("b", 1995), "sales_real"] == pytest.approx(10)
    assert pd.isna(p.data.loc[("a", 2000), "sales_real"])  # no shoes deflator for 2000
    e = entries(p, "sales_real")[0]
    assert e.rows == (3,) and e.n_rows == 1


def test_deflator_table_errors(panel):
    with pytest.raises(DeriveError, match="lacks column"):
        derive.deflate(panel, pd.DataFrame({"year": [2000], "index": [1.0]}))
    with pytest.raises(DeriveError, match="positive"):
        derive.deflate(panel, pd.DataFrame({"year": [2000], "deflator": [0.0]}))


def test_logs_policies(panel):
    na = derive.add_logs(panel, ["sales"], policy="na")
    assert pd.isna(na.data["ln_sales"].iloc[1]) and na.data["ln_sales"].iloc[0] == pytest.approx(np.log(10))
    rec = [e for e in entries(na, "ln_sales") if "missing" in e.action][0]
    assert rec.rows == (4,)

    const = derive.add_logs(panel, ["sales"], policy="constant", constant=1.0)
    assert const.data["ln_sales"].iloc[1] == 0.0 and const.data["ln_sales"].iloc[0] == pytest.approx(np.log(11))
    assert entries(const, "ln_sales")[0].detail["constant"] == 1.0 and "ln(sales + 1)" in entries(
        const, "ln_sales")[0].action

    drop = derive.add_logs(panel, ["sales", "capital"], policy="drop")
    assert drop.n_obs == panel.n_obs - 1 and ("a", 2005) not in drop.data.index
    assert rows_dropped(drop.provenance) == 1
    assert [e for e in drop.provenance if e.step == "drop"][0].rows == (4,)
    assert pd.isna(drop.data.loc[("c", 2005), "ln_capital"])  # missing stays missing, not dropped
    with pytest.raises(DeriveError, match="policy"):
        derive.add_logs(panel, ["sales"], policy="zero")
    with pytest.raises(DeriveError, match="'profit'"):
        derive.add_logs(panel, ["profit"])


def test_drop_policy_removes_firms_left_without_rows():
    df = pd.DataFrame({"firm_id": ["a", "b"], "year": [2000, 2000], "sales": [0.0, 3], "founding_year": [1, 2]})
    p = derive.add_logs(SurveyPanel.from_frame(df), ["sales"], policy="drop")
    assert p.firms.index.tolist() == ["b"]


def test_derive_all_on_bundled_sample():
    from clusterecon.load import load_survey

    data = ROOT / "data" / "sample_survey"
    res = load_survey(data / "survey.dta", data / "mapping.toml")
    p = derive.derive_all(res.panel, deflator=ROOT / "data" / "deflators_example.csv")
    for c in ("age", "value_added", "sales_real", "va_per_worker", "ln_sales", "ln_value_added", "ln_va_per_worker"):
        assert c in p.data.columns
    for c in ("entry_cohort", "first_year", "last_year", "balanced"):
        assert c in p.firms.columns
    derived = [e for e in p.provenance if e.step == "derive"]
    assert len(p.provenance) == len(res.panel.provenance) + len(derived)
    # the planted defects show up as recorded NA rows, with original record numbers
    ln_va = [e for e in derived if e.column == "ln_value_added" and "missing" in e.action][0]
    assert 42 in ln_va.rows
    lp = [e for e in derived if e.column == "va_per_worker" and "missing" in e.action][0]
    assert 17 in lp.rows
    assert p.n_obs == res.panel.n_obs


@settings(max_examples=30, deadline=None)
@given(sales=st.lists(st.one_of(st.none(), st.floats(-5, 50, allow_nan=False)), min_size=1, max_size=12),
       policy=st.sampled_from(["na", "drop", "constant"]))
def test_rows_in_equal_rows_out_plus_rows_dropped(sales, policy):
    n = len(sales)
    df = pd.DataFrame({"firm_id": [f"f{i % 3}" for i in range(n)], "year": [2000 + i for i in range(n)],
                       "sales": pd.array(sales, dtype="Float64"), "source_row": np.arange(1, n + 1)})
    p = SurveyPanel.from_frame(df)
    q = derive.add_logs(p, ["sales"], policy=policy, constant=6.0)
    assert p.n_obs == q.n_obs + rows_dropped(q.provenance)
    x = df["sales"].to_numpy(dtype=float, na_value=np.nan)
    shift = 6.0 if policy == "constant" else 0.0
    bad_rows = sorted(df["source_row"][(x + shift <= 0)].tolist())
    recorded = sorted(r for e in q.provenance if e.step in ("drop", "derive") and e.n_rows for r in e.rows)
    assert recorded == bad_rows  # every non-positive value is accounted for, by its original row
    assert q.data["ln_sales"].isna().sum() == np.isnan(np.where(x + shift > 0, x, np.nan)).sum() - (
        p.n_obs - q.n_obs)


@pytest.mark.parametrize("text, message", [
    ("year,deflator\n1990,inf\n", r"column deflator: 1 value\(s\) that are not positive finite numbers \(rows \[2\], "
                                  r"e\.g\. inf\)"),
    ("year,deflator\n1990,-1\n", r"rows \[2\], e\.g\. -1\)"),
    ("year,deflator\n1990,100\n1991,90\n1990,100\n", r"more than one row for the same year \(rows \[2, 4\], e\.g\. "
                                                     r"year 1990\)"),
    ("year,deflator\n", "has no rows"),
    ("year,deflator\n1990,1\n1991,100\n", r"more than one year has deflator 100 or 1: 1990, 1991.*--base-year"),
])
def test_a_bad_deflator_file_is_named_with_its_rows_in_plain_numbers(panel, tmp_path, text, message):
    # a new user's sweep: numpy's repr (np.float64(inf)) in the message, duplicate years without file or rows, an
    # empty file asked for base_year=
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(DeriveError, match=message) as err:
        derive.deflate(panel, path)
    assert "d.csv" in str(err.value) and "np." not in str(err.value)
