"""clusterecon.firmyear: the shared firm-year keys equal the plain numpy/pandas results they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon import firmyear


@st.composite
def firm_years(draw):
    n = draw(st.integers(1, 60))
    firms = draw(st.lists(st.one_of(st.none(), st.sampled_from(["b", "a", "c10", "c9", "Z"])), min_size=n, max_size=n))
    years = draw(st.lists(st.one_of(st.none(), st.integers(1998, 2003)), min_size=n, max_size=n))
    if draw(st.booleans()):  # the common case: listed firm by firm, years increasing
        pairs = sorted(set(zip([f or "a" for f in firms], [y or 2000 for y in years])), key=lambda p: (p[0] != "c9", p))
        firms, years = [p[0] for p in pairs], [p[1] for p in pairs]
    return pd.DataFrame({"firm_id": pd.Series(firms, dtype="str"), "year": pd.Series(years, dtype="Float64")})


@settings(max_examples=80, deadline=None)
@given(firm_years())
def test_sort_order_matches_lexsort_and_reductions_match_groupby(df):
    keys = firmyear.keys_of(df)
    codes, ids = keys.firm, keys.ids
    assert list(ids) == sorted(set(df["firm_id"].dropna()))
    assert all(ids[c] == f for c, f in zip(codes, df["firm_id"]) if c >= 0)
    # the order: firm, then year (missing year first within the firm), then record; rows without a firm last, in
    # record order
    ycode = np.where((codes < 0) | np.isnan(keys.year), -1, keys.ycodes)
    fkey = np.where(codes < 0, len(ids), codes)
    expect = np.lexsort((np.arange(len(df)), ycode, fkey))
    got = np.arange(len(df)) if keys.sorted.order is None else keys.sorted.order
    assert got.tolist() == expect.tolist()
    # firm reductions: first non-missing value in that order and "does it vary", as groupby says
    v = pd.Series(np.arange(len(df)) % 3, dtype="Float64").mask(pd.Series(np.arange(len(df)) % 4 == 0))
    first, varies = keys.first_and_varies(v.rename("v"))
    ref = df.assign(v=v).iloc[expect].dropna(subset=["firm_id"]).groupby("firm_id", sort=True)["v"]
    assert varies.tolist() == (ref.nunique() > 1).tolist()
    firsts = ref.first()
    for i, fid in enumerate(ids):
        if not varies[i]:
            assert (first[i] < 0 and pd.isna(firsts[fid])) or v[first[i]] == firsts[fid]


@settings(max_examples=120, deadline=None)
@given(firm_years(), st.lists(st.one_of(st.none(), st.sampled_from(["x", "y", "é", ""])), min_size=60, max_size=60),
       st.sampled_from(["str", "string[pyarrow]", object, "category"]), st.booleans(), st.booleans())
def test_first_and_varies_of_text_matches_groupby(df, values, dtype, per_firm, complete):
    """Text attributes (Arrow-backed text compared by Arrow's kernel, others by their codes) reduce as groupby
    does; ``per_firm`` makes them constant within each firm, ``complete`` leaves no value missing (the
    neighbour-comparison shortcut's case when the firms' rows are together)."""
    keys = firmyear.keys_of(df)
    if complete:
        values = [v or "x" for v in values]
    if per_firm:
        vals = [values[keys.firm[i] % 60] if keys.firm[i] >= 0 else values[i] for i in range(len(df))]
    else:
        vals = values[:len(df)]
    v = pd.Series(vals, dtype=dtype, name="v")
    first, varies = keys.first_and_varies(v)
    o = np.arange(len(df)) if keys.sorted.order is None else keys.sorted.order
    ref = df.assign(v=v.astype(object)).iloc[o].dropna(subset=["firm_id"]).groupby("firm_id", sort=True)["v"]
    assert varies.tolist() == (ref.nunique() > 1).tolist()
    firsts = ref.first()
    for i, fid in enumerate(keys.ids):
        if not varies[i]:
            assert (first[i] < 0 and pd.isna(firsts[fid])) or v[first[i]] == firsts[fid]


def test_subset_follows_dropped_rows():
    df = pd.DataFrame({"firm_id": ["b", "a", "a", "c"], "year": [2001, 2000, 2001, 2000]})
    keys = firmyear.keys_of(df)
    sub = keys.subset(np.array([True, True, False, True]))
    assert sub.sorted.order.tolist() == [1, 0, 2] and sub.firm.tolist() == [1, 0, 2]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "B", "é", "ab", "a ", "", "z9", "Ω", "10", "9"]), min_size=1, max_size=12),
       st.lists(st.integers(1, 4), min_size=1, max_size=12), st.booleans(),
       st.sampled_from(["str", "string[pyarrow]", object]))
def test_factorize_sorted_equals_pandas(ids, runs, missing, dtype):
    """The block shortcut for text ids listed firm by firm (and the fallbacks: split firms, missing ids, object
    columns) gives exactly pandas' sorted factorisation."""
    x = [v for v, k in zip(ids, runs * len(ids)) for _ in range(k)]
    if missing:
        x[len(x) // 2] = None
    s = pd.Series(x, dtype=dtype)
    want_codes, want_uniq = pd.factorize(s, sort=True, use_na_sentinel=True)
    codes, uniq = firmyear.factorize_sorted(s)
    assert codes.dtype == np.int64 and codes.tolist() == want_codes.tolist()
    assert list(uniq) == list(want_uniq) and uniq.dtype == pd.Index(want_uniq).dtype


def test_keys_of_a_nullable_year_with_missing_values_takes_the_general_path():
    # Found by the loader fuzz test: a truncated CSV leaves a row whose year is <NA> in an Int64 column; the
    # whole-year fast path must not try to bincount it.
    f = pd.DataFrame({"firm_id": pd.array(["A", "B"], dtype="string"),
                      "year": pd.array([2000, None], dtype="Int64")})
    k = firmyear.keys_of(f, np.array([1, 2]))
    assert k.years.tolist() == [2000.0]
    assert k.ycodes.tolist() == [0, -1]
    assert np.isnan(k.year[1])
