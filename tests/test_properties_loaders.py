"""Property tests of the loader (hypothesis): nothing is lost silently, and row order and firm labels do not matter."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.load import load_survey
from clusterecon.provenance import rows_dropped

MAP = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales", "emp": "employees", "occ":
                  "founder_prior_occupation"},
       "codes": {"founder_prior_occupation": {"1": "merchant", "2": "engineer", "3": "artisan"}}}


@st.composite
def raw_surveys(draw, with_conflicts: bool):
    """A raw firm-year survey with random exact duplicate records (and, optionally, conflicting ones)."""
    n_firms = draw(st.integers(1, 8))
    rows = []
    for f in range(n_firms):
        years = draw(st.lists(st.integers(1995, 2005), min_size=1, max_size=5, unique=True))
        occ = draw(st.sampled_from([1, 2, 3]))
        for y in years:
            rev = draw(st.one_of(st.none(), st.floats(1, 1e5, allow_nan=False).map(lambda x: round(x, 2))))
            emp = draw(st.integers(1, 50))
            rows.append({"fid": f"firm{f}", "yr": y, "rev": rev, "emp": emp, "occ": occ})
    df = pd.DataFrame(rows)
    dup_idx = draw(st.lists(st.integers(0, len(df) - 1), max_size=6))
    extra = [df.iloc[[i]] for i in dup_idx]
    if with_conflicts:
        conf_idx = draw(st.lists(st.integers(0, len(df) - 1), max_size=3))
        extra += [df.iloc[[i]].assign(emp=lambda d: d["emp"] + 1000) for i in conf_idx]
    df = pd.concat([df, *extra], ignore_index=True)
    order = draw(st.permutations(range(len(df))))
    return df.iloc[list(order)].reset_index(drop=True)


@settings(max_examples=50, deadline=None)
@given(raw_surveys(with_conflicts=True), st.sampled_from(["first", "last"]))
def test_rows_in_equal_rows_out_plus_rows_dropped(df, policy):
    res = load_survey(df, {**MAP, "duplicates": {"policy": policy}}, today_year=2026)
    assert res.ok, res.report.to_text()
    assert len(res.frame) + rows_dropped(res.provenance) == len(df)
    assert res.panel.n_obs == len(res.frame)
    # every original record is either in the panel or named in a drop entry, never both
    kept = set(res.panel.data["source_row"])
    dropped = {r for e in res.provenance if e.step == "drop" for r in e.rows}
    assert kept | dropped == set(range(1, len(df) + 1)) and not kept & dropped


@settings(max_examples=50, deadline=None)
@given(raw_surveys(with_conflicts=False))
def test_exact_duplicates_only_are_dropped_under_error_policy(df):
    res = load_survey(df, MAP, today_year=2026)
    assert res.ok
    n_unique = len(df.drop_duplicates())
    assert res.panel.n_obs == n_unique and rows_dropped(res.provenance) == len(df) - n_unique


def _canonical_view(panel, relabel=None):
    d = panel.frame.drop(columns=["source_row"]).reset_index()
    if relabel is not None:
        d["firm_id"] = d["firm_id"].map(relabel).astype("string")
    return d.sort_values(["firm_id", "year"]).reset_index(drop=True)


@settings(max_examples=50, deadline=None)
@given(raw_surveys(with_conflicts=False), st.randoms(use_true_random=False))
def test_shuffling_rows_and_relabelling_firms_changes_nothing(df, rnd):
    base = load_survey(df, MAP, today_year=2026)
    firms = sorted(df["fid"].unique())
    new_names = [f"X{i:03d}" for i in range(len(firms))]
    rnd.shuffle(new_names)
    to_new = dict(zip(firms, new_names))
    order = list(range(len(df)))
    rnd.shuffle(order)
    other = df.iloc[order].assign(fid=lambda d: d["fid"].map(to_new)).reset_index(drop=True)
    res = load_survey(other, MAP, today_year=2026)
    assert res.ok == base.ok
    assert res.report.rules() == base.report.rules()
    pd.testing.assert_frame_equal(_canonical_view(res.panel),
                                  _canonical_view(base.panel, relabel=to_new).sort_values(
                                      ["firm_id", "year"]).reset_index(drop=True))
    assert res.panel.structure() == base.panel.structure()
    assert np.array_equal(np.sort(res.panel.data["sales"].fillna(-1).to_numpy(dtype=float)),
                          np.sort(base.panel.data["sales"].fillna(-1).to_numpy(dtype=float)))
