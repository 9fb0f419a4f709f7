"""Recall layouts → firm-year rows: wide by year, relative to the interview, and the wide→long→wide round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.io import MappingError, long_to_wide, wide_to_long
from clusterecon.io.mapping import RecallSpec
from clusterecon.load import load_survey
from clusterecon.provenance import ProvenanceLog

WIDE = pd.DataFrame({
    "id": ["A", "B", "C"],
    "founded": [1990, 1998, 2003],
    "sales_1995": [10.0, np.nan, np.nan],
    "sales_2000": [20.0, 5.0, np.nan],
    "sales_2005": [30.0, 6.0, 1.0],
    "emp1995": [3.0, np.nan, np.nan],
    "emp2000": [4.0, 2.0, np.nan],
    "emp2005": [5.0, 2.0, 1.0],
    "brand": ["yes", "no", "no"],
})
MAP = {"survey": {"survey_year": 2005},
       "rename": {"id": "firm_id", "founded": "founding_year", "brand": "own_brand"},
       "recall": {"wide": {"sales": "sales_{year}", "employees": "emp{year}"}}}


def test_wide_layout_to_firm_years():
    res = load_survey(WIDE, MAP, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.data
    assert list(d.index) == [("A", 1995), ("A", 2000), ("A", 2005), ("B", 2000), ("B", 2005), ("C", 2005)]
    assert d["sales"].tolist() == [10.0, 20.0, 30.0, 5.0, 6.0, 1.0]
    assert d["employees"].tolist() == [3.0, 4.0, 5.0, 2.0, 2.0, 1.0]
    assert d["recall_lag"].tolist() == [10, 5, 0, 5, 0, 0]
    assert d["is_recall"].tolist() == [True, True, False, True, False, False]
    assert d["survey_round"].tolist() == [1] * 6
    assert d["source_row"].tolist() == [1, 1, 1, 2, 2, 3]  # the wide row's record number
    # a firm-year answer outside the recall layout describes the interview year only
    assert d["own_brand"].isna().tolist() == [True, True, False, True, False, False]
    assert res.panel.firms["founding_year"].tolist() == [1990, 1998, 2003]
    assert res.design.kind == "recall" and res.design.survey_years == (2005,)
    assert not res.panel.design.can_study_exit
    assert res.report.by_rule("survivor_only")
    skipped = [e for e in res.provenance if e.step == "reshape" and "not created" in e.action]
    assert skipped[0].n_rows == 3 and skipped[0].rows == (2, 3, 3)


def test_interview_year_answer_keeps_its_row_when_recall_columns_are_empty():
    wide = WIDE.assign(sales_2005=[30.0, 6.0, np.nan], emp2005=[5.0, 2.0, np.nan])
    res = load_survey(wide, MAP, today_year=2026)
    assert res.ok, res.report.to_text()
    assert res.panel.data.loc[("C", 2005), "own_brand"] == False  # noqa: E712
    assert pd.isna(res.panel.data.loc[("C", 2005), "sales"])


def test_relative_layout_with_survey_year_column():
    df = pd.DataFrame({"id": [1, 2], "iy": [2010, 2011], "d2": [100.0, 50.0], "n3": [80.0, -9.0],
                       "l1": [5.0, 3.0], "l2": [4.0, 3.0]})
    m = {"rename": {"id": "firm_id"}, "missing": {"codes": {"-9": "don't know"}},
         "recall": {"survey_year": "iy", "relative": {"sales": {"d2": 0, "n3": 3}, "employees": {"l1": 0, "l2": 3}}}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.data.reset_index()
    assert list(zip(d["firm_id"], d["year"], d["recall_lag"])) == [("1", 2007, 3), ("1", 2010, 0),
                                                                   ("2", 2008, 3), ("2", 2011, 0)]
    assert d["sales"].isna().tolist() == [False, False, True, False]
    assert res.missing_reasons[["source_row", "year", "column"]].values.tolist() == [[2, 2008, "sales"]]


def test_relative_layout_needs_survey_year():
    df = pd.DataFrame({"id": [1], "d2": [1.0], "n3": [2.0]})
    with pytest.raises(MappingError, match="needs the interview year"):
        load_survey(df, {"rename": {"id": "firm_id"}, "recall": {"relative": {"sales": {"d2": 0, "n3": 3}}}})


def test_survey_year_inferred_from_wide_layout_is_logged():
    m = {k: v for k, v in MAP.items() if k != "survey"}
    res = load_survey(WIDE, m, today_year=2026)
    assert res.ok
    assert any("taken as the latest recall year 2005" in e.action for e in res.provenance)


def test_existing_year_column_conflicts():
    with pytest.raises(MappingError, match="already has a 'year' column"):
        load_survey(WIDE.assign(yr=2005), {**MAP, "rename": {**MAP["rename"], "yr": "year"}})


# ---------------------------------------------------------------------------------------------------- round trip
SPEC = RecallSpec(wide={"sales": "sales_{year}", "employees": "emp_{year}"})


@st.composite
def wide_frames(draw):
    n = draw(st.integers(1, 12))
    years = draw(st.lists(st.sampled_from([1990, 1995, 2000, 2005]), min_size=1, max_size=4, unique=True))
    vals = st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False))
    data = {"firm_id": [f"F{i}" for i in range(n)], "source_row": np.arange(1, n + 1)}
    for y in sorted(years):
        for stub in ("sales", "emp"):
            data[f"{stub}_{y}"] = [draw(vals) for _ in range(n)]
    df = pd.DataFrame(data)
    for c in df.columns[2:]:
        df[c] = df[c].astype(float)
    return df


@settings(max_examples=50, deadline=None)
@given(wide_frames())
def test_wide_long_wide_round_trip(wide):
    log = ProvenanceLog()
    long = wide_to_long(wide, SPEC, survey_year=2005, log=log)
    # every non-empty cell is in exactly one long row; empty firm-years are absent, and logged
    value_cols = [c for c in wide.columns if c[:1] in "se" and c != "source_row"]
    assert long[["sales", "employees"]].notna().sum().sum() == wide[value_cols].notna().sum().sum()
    n_empty = sum(e.n_rows for e in log if "not created" in e.action)
    assert len(long) + n_empty == len(wide) * (len(value_cols) // 2)
    back = long_to_wide(long, SPEC)
    kept = wide[wide["source_row"].isin(back["source_row"])].reset_index(drop=True)
    back = back.reindex(columns=kept.columns)  # years with no value anywhere cannot come back as columns
    for c in kept.columns:
        if back[c].isna().all() and c not in long.columns:
            back[c] = np.nan
    pd.testing.assert_frame_equal(back.astype({c: float for c in value_cols}), kept, check_dtype=False)
    # rows whose every recall cell was empty vanish entirely, and only those
    gone = set(wide["source_row"]) - set(back["source_row"])
    assert all(wide.loc[wide["source_row"] == r, value_cols].isna().all(axis=None) for r in gone)


def test_two_rounds_with_recall_keep_the_contemporaneous_report():
    """Round 2 (2008) recalls 2005, which round 1 reported at the time: the round-1 value is kept, and logged."""
    df = pd.DataFrame({"id": ["A", "A", "B"], "rnd": [1, 2, 2], "iy": [2005, 2008, 2008],
                       "s_now": [100.0, 130.0, 40.0], "s_3y": [90.0, 95.0, 30.0]})
    m = {"survey": {"design": "rounds"}, "rename": {"id": "firm_id", "rnd": "survey_round"},
         "recall": {"survey_year": "iy", "relative": {"sales": {"s_now": 0, "s_3y": 3}}},
         "duplicates": {"policy": "contemporaneous"}}
    res = load_survey(df, m, today_year=2026)
    assert res.ok, res.report.to_text()
    d = res.panel.data
    assert d.loc[("A", 2005), "sales"] == 100.0 and d.loc[("A", 2005), "survey_round"] == 1
    assert list(d.loc["A"].index) == [2002, 2005, 2008]
    (drop,) = [e for e in res.provenance if e.step == "drop"]
    assert drop.rows == (2,) and drop.detail["policy"] == "contemporaneous"
    assert res.panel.design.kind == "rounds" and res.panel.design.can_study_exit
