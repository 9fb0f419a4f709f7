"""SurveyPanel: construction, firm/firm-year split, refusal of duplicates and varying firm attributes, structure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.panel import PanelError, SurveyDesign, SurveyPanel
from clusterecon.provenance import ProvenanceLog, rows_dropped


def long_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "firm_id": ["b", "a", "a", "a", "b", "c"],
        "year": [2005, 1995, 2000, 2005, 1995, 2005],
        "sales": [5.0, 1, 2, 3, 4, 6],
        "founding_year": [1990, 1980, 1980, 1980, 1990, 2001],
        "founder_prior_occupation": ["farmer", "merchant", "merchant", "merchant", "farmer", None],
    })


def test_from_frame_splits_levels_and_sorts():
    p = SurveyPanel.from_frame(long_frame(), design=SurveyDesign(kind="recall", survey_years=(2005,)))
    assert list(p.data.index.names) == ["firm_id", "year"] and p.data.index.is_monotonic_increasing
    assert list(p.data.columns) == ["sales"]
    assert list(p.firms.columns) == ["founding_year", "founder_prior_occupation"]
    assert p.firms.loc["b", "founding_year"] == 1990
    assert p.n_obs == 6 and p.n_firms == 3 and p.years == (1995, 2000, 2005)
    f = p.frame
    assert f.loc[("a", 2000), "founder_prior_occupation"] == "merchant" and len(f) == 6
    assert p.obs_per_firm.to_dict() == {"a": 3, "b": 2, "c": 1}
    assert not p.is_balanced


def test_structure_and_gaps():
    p = SurveyPanel.from_frame(long_frame())
    s = p.structure()
    assert (s["firms"], s["firm_years"], s["T_min"], s["T_max"]) == (3, 6, 1, 3)
    assert s["T_mean"] == pytest.approx(2.0) and s["firms_with_gaps"] == 1
    g = p.gaps()
    assert g["firm_id"].tolist() == ["b"] and g["missing_years"].tolist() == [[2000]]
    assert "3 firms, 6 firm-years" in repr(p)


def test_duplicates_and_varying_attributes_are_refused():
    df = long_frame()
    with pytest.raises(PanelError, match="share a \\(firm_id, year\\)"):
        SurveyPanel.from_frame(pd.concat([df, df.iloc[[0]]]))
    df.loc[1, "founding_year"] = 1981
    with pytest.raises(PanelError, match="founding_year: firms \\['a'\\]"):
        SurveyPanel.from_frame(df)
    with pytest.raises(PanelError, match="'year' is missing"):
        SurveyPanel.from_frame(df.drop(columns="year"))


def test_design_and_exit():
    recall = SurveyDesign(kind="recall")
    assert not recall.can_study_exit and "survivors only" in recall.explain_exit()
    assert SurveyDesign(kind="rounds").can_study_exit
    assert SurveyDesign(kind="recall", exits_observable=True).can_study_exit
    assert "unknown" in SurveyDesign().explain_exit()


def test_provenance_is_frozen_and_exportable():
    log = ProvenanceLog()
    log.add("rename", "renamed q1 to sales", column="sales", n_rows=6)
    log.add("drop", "dropped exact duplicates", rows=[7, 9])
    p = SurveyPanel.from_frame(long_frame(), provenance=log)
    log.add("drop", "later change", rows=[1])
    assert len(p.provenance) == 2 and rows_dropped(p.provenance) == 2
    d = json.loads(p.provenance_json())
    assert d[1]["rows"] == [7, 9] and d[0]["column"] == "sales"


def test_labels_default_to_codebook_and_can_be_overridden():
    p = SurveyPanel.from_frame(long_frame(), labels={"sales": "Turnover"})
    assert p.label("sales") == "Turnover" and p.label("year") == "Year" and p.label("zzz") == "zzz"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_shuffling_rows_and_relabelling_firms_changes_nothing(seed):
    rng = np.random.default_rng(seed)
    df = long_frame()
    base = SurveyPanel.from_frame(df)
    shuffled = df.iloc[rng.permutation(len(df))]
    other = SurveyPanel.from_frame(shuffled)
    pd.testing.assert_frame_equal(base.data, other.data)
    pd.testing.assert_frame_equal(base.firms, other.firms)
    ids = {f: f"firm-{rng.integers(10**6)}-{f}" for f in df["firm_id"].unique()}
    relab = SurveyPanel.from_frame(shuffled.assign(firm_id=shuffled["firm_id"].map(ids)))
    assert relab.structure() == base.structure()
    assert sorted(relab.data["sales"]) == sorted(base.data["sales"])
