"""The loader's speed paths (issue 11, ``benchmarks/bench_load.py``) give what the plain paths give.

Validation resumed from the rules run ahead, keys built from the blocks and year codes found during
canonicalisation, one-chunk views of Arrow text, pooled result arrays, and float columns wrapped instead of copied
(only for files the loader read itself: a frame passed in is never shared).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from clusterecon import _buffers, firmyear
from clusterecon import validate as V
from clusterecon.load import load_survey
from tests.test_load_fast_paths import survey, with_errors, with_warnings


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    return load_survey(df, today_year=2026).frame


def test_validation_resumed_from_rules_run_ahead_is_the_same_report():
    for df in (survey(), with_warnings(survey()), with_errors(survey())):
        frame = _canonical(df)
        keys = firmyear.keys_of(frame, frame["source_row"].to_numpy())
        ahead = V.check_values(frame, source="s", today_year=2026)
        a = V.validate(frame, source="s", today_year=2026, keys=keys, values=ahead)
        b = V.validate(frame, source="s", today_year=2026)
        assert a.problems == b.problems
        # arguments that differ from those of the rules run ahead: they run again
        c = V.validate(frame, source="s", today_year=1990, values=ahead)
        assert c.problems == V.validate(frame, source="s", today_year=1990).problems


def test_keys_from_blocks_and_years_found_ahead_equal_the_plain_keys():
    for df in (survey(), survey().sample(frac=1, random_state=2).reset_index(drop=True), with_warnings(survey())):
        frame = _canonical(df).dropna(subset=["firm_id"]).reset_index(drop=True)
        rows = frame["source_row"].to_numpy()
        codes, ids, blocks = firmyear.factorize_blocks(frame["firm_id"])
        years = firmyear.year_keys(frame["year"])
        a = firmyear.keys_of(frame, rows, firm=(codes, ids, blocks), years=years)
        b = firmyear.keys_of(frame, rows)
        assert np.array_equal(a.firm, b.firm) and a.ids.equals(b.ids) and np.array_equal(a.ycodes, b.ycodes)
        assert (a.sorted.order is None) == (b.sorted.order is None)
        assert a.sorted.order is None or np.array_equal(a.sorted.order, b.sorted.order)
        assert np.array_equal(a.sorted.starts, b.sorted.starts) and a.pairs_in_file_order == b.pairs_in_file_order
        assert np.array_equal(a.same_firm_as_previous, b.same_firm_as_previous)


def test_year_keys_are_not_reused_for_another_column():
    frame = _canonical(survey())
    years = firmyear.year_keys(frame["year"])
    assert years.of(frame["year"])
    assert not years.of(frame["year"] + 1) and not years.of(frame["year"].copy())


def test_one_chunk_view_of_arrow_text():
    a = pa.array([f"F{i}" for i in range(1000)], type=pa.large_string())
    chunked = pa.chunked_array([a.slice(0, 300), a.slice(300, 500), a.slice(800)])
    one = firmyear._one_chunk(chunked)
    assert isinstance(one, pa.Array) and one.equals(a)
    other = pa.chunked_array([a.slice(0, 300), pa.array(["x"], type=pa.large_string())])
    assert firmyear._one_chunk(other) is other


def test_pooled_take_is_numpy_take():
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.int64, np.int8, bool):
        v = rng.integers(0, 100, 400_000).astype(dtype)
        order = rng.permutation(len(v))
        out = _buffers.take(v, order)
        assert out.dtype == v.dtype and out.flags.writeable and np.array_equal(out, v[order])


def test_a_frame_passed_in_is_never_shared_with_the_result(tmp_path):
    df = survey()
    res = load_survey(df, today_year=2026)
    frame, data = res.frame.copy(), res.panel.data.copy()
    df.loc[0, ["sales", "capital", "founding_year"]] = [-5.0, -5.0, 1800]  # writes to the caller's frame ...
    pd.testing.assert_frame_equal(res.frame, frame)  # ... reach neither the canonical frame nor the panel
    pd.testing.assert_frame_equal(res.panel.data, data)
    res.frame.loc[1, "sales"] = -7.0
    assert df.loc[1, "sales"] != -7.0
    path = tmp_path / "s.parquet"
    survey().to_parquet(path, index=False)
    from_file = load_survey(path, today_year=2026)  # the file's arrays become the frame's (owns_raw)
    assert from_file.ok
    before = from_file.panel.data.copy()
    from_file.frame.loc[0, "sales"] = -1.0  # the frame and the panel do not share what the file read gave
    pd.testing.assert_frame_equal(from_file.panel.data, before)


def test_a_file_in_firm_year_order_shares_nothing_writable_between_frame_and_panel(tmp_path):
    path = tmp_path / "sorted.parquet"
    survey().sort_values(["firm_id", "year"]).to_parquet(path, index=False)
    res = load_survey(path, today_year=2026)
    before = res.panel.data.copy()
    res.frame.loc[0, "sales"] = -1.0
    pd.testing.assert_frame_equal(res.panel.data, before)
    res.panel.data.iloc[1, 0] = -2.0
    assert res.frame.loc[1, "sales"] != -2.0
