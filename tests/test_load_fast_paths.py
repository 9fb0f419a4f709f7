"""The loader's shortcuts (benchmarks/bench_load.py) give the same panel and the same findings as the general paths.

Each shortcut skips work when a cheap check proves it unnecessary: rows already listed firm by firm, every firm
attribute complete and constant, numeric columns whose least and greatest values lie inside every rule, jump
candidates found by multiplication before the exact ratio. A file and the same file with its rows shuffled take
different paths; both must give the same panel, the same problems with the same original rows, and the same log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterecon import validate as V
from clusterecon.load import load_survey

YEARS = np.arange(2001, 2006)


def survey(n_firms: int = 300, seed: int = 0) -> pd.DataFrame:
    """Listed firm by firm, ids in text order that is not numeric order ("F10" before "F2")."""
    rng = np.random.default_rng(seed)
    fid = np.repeat(np.arange(n_firms), len(YEARS))
    n = len(fid)
    sales = np.round(100 * rng.lognormal(0, 1, n_firms)[fid] * rng.lognormal(0, 0.2, n), 2)
    return pd.DataFrame({
        "firm_id": np.char.add("F", fid.astype("U7")),
        "year": np.tile(YEARS, n_firms),
        "cluster": np.array(["north", "south"])[fid % 2],
        "founding_year": rng.integers(1950, 2001, n_firms)[fid],
        "founder_prior_occupation": np.array(["merchant", "engineer", "other"])[rng.integers(0, 3, n_firms)][fid],
        "manager_schooling_years": rng.integers(0, 19, n_firms)[fid].astype(float),
        "sales": sales,
        "material_cost": np.round(sales * 0.5, 2),
        "employees": rng.integers(1, 50, n_firms)[fid].astype(float),
        "capital": np.round(sales * 0.8, 2),
        "exporter": rng.random(n) < 0.1,
    })


def with_warnings(df: pd.DataFrame) -> pd.DataFrame:
    """Findings that leave the panel buildable: jumps both ways, zero employees, value added ≤ 0, year gaps."""
    d = df.copy()
    d.loc[6, "sales"] = d.loc[5, "sales"] * 50
    d.loc[12, "capital"] = d.loc[11, "capital"] / 30
    d.loc[21, "employees"] = 0
    d.loc[33, "material_cost"] = 1e9
    return d.drop(index=[101, 302]).reset_index(drop=True)


def with_errors(df: pd.DataFrame) -> pd.DataFrame:
    d = df.copy()
    d.loc[5, "sales"] = -3
    d.loc[7, "capital"] = np.inf
    d.loc[11, "founding_year"] = 1900  # varies within its firm
    d.loc[15, "manager_schooling_years"] = 40
    d.loc[60, "firm_id"] = None
    d.loc[70, "manager_schooling_years"] = np.nan  # a firm attribute with a gap: the general reduction
    d = pd.concat([d, d.iloc[[40, 41]]], ignore_index=True)  # exact duplicates
    d.loc[len(d)] = d.iloc[50]
    d.loc[len(d) - 1, "sales"] = 1.0  # a conflicting duplicate
    return d


def outcome(path):
    res = load_survey(path, today_year=2026)
    report = sorted((p.severity, p.rule, p.column, p.n, tuple(p.rows), tuple(map(str, p.values)))
                    for p in res.report.problems)
    log = sorted(repr(e) for e in res.provenance)
    return res, report, log


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("variant", [lambda d: d, with_warnings, with_errors])
def test_listed_firm_by_firm_and_shuffled_give_the_same_panel_and_findings(tmp_path, fmt, variant):
    ordered = variant(survey())
    shuffled = ordered.sample(frac=1, random_state=3).reset_index(drop=True)
    out = []
    for name, df in (("ordered", ordered), ("shuffled", shuffled)):
        p = tmp_path / f"{name}.{fmt}"
        df.to_parquet(p, index=False) if fmt == "parquet" else df.to_csv(p, index=False)
        out.append(outcome(p))
    (a, rep_a, log_a), (b, rep_b, log_b) = out
    # the same problems with the same original rows: the shuffled file's row numbers are a permutation, so compare
    # the records the rows point at
    assert [r[:4] for r in rep_a] == [r[:4] for r in rep_b]
    assert len(log_a) == len(log_b)
    assert (a.panel is None) == (b.panel is None)
    if a.panel is not None:
        pd.testing.assert_frame_equal(a.panel.data.drop(columns="source_row"), b.panel.data.drop(columns="source_row"))
        pd.testing.assert_frame_equal(a.panel.firms, b.panel.firms)
        assert a.panel.data.index.is_monotonic_increasing and a.panel.data.index.is_unique
        # each panel row still names its own record of its file
        for res, df in ((a, ordered), (b, shuffled)):
            src = df.iloc[res.panel.data["source_row"].to_numpy() - 1]
            assert src["firm_id"].tolist() == res.panel.data.index.get_level_values("firm_id").tolist()
            assert np.allclose(src["sales"], res.panel.data["sales"].to_numpy(dtype=float))
    for res, df in ((a, ordered), (b, shuffled)):  # reported rows point at records that hold the defect
        for p in res.report.problems:
            if p.rule == "negative_value":
                assert (df.iloc[np.array(p.rows) - 1][p.column] < 0).all()
            if p.rule == "non_finite":
                assert np.isinf(df.iloc[np.array(p.rows) - 1][p.column]).all()
            if p.rule == "jump":
                assert len(p.rows) == p.n > 0


def reference_jumps(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = cur / prev
    return np.flatnonzero((prev > 0) & (cur > 0) & ((ratio > V.JUMP_FACTOR) | (ratio < 1 / V.JUMP_FACTOR)))


def test_jump_rule_agrees_with_the_plain_ratio_at_the_boundaries():
    """Candidates come from a multiplication; the rule itself is still the exact ratio, ties at ×20 included."""
    tiny = np.nextafter(0, 1)
    pairs = [(1.0, 20.0), (1.0, np.nextafter(20.0, 21)), (20.0, 1.0), (np.nextafter(20.0, 21), 1.0), (3.0, 60.0),
             (3.0, 60.0000001), (0.1, 2.0), (0.1, 2.0000001), (tiny, 20 * tiny), (tiny, 21 * tiny), (0.0, 5.0),
             (-1.0, -30.0), (np.nan, 5.0), (5.0, np.nan), (1e300, 1e-10), (1e-300, 1e300), (7.0, 7.0)]
    n = len(pairs)
    frame = pd.DataFrame({
        "firm_id": np.repeat([f"f{i:02d}" for i in range(n)], 2), "year": np.tile([2001, 2002], n),
        "sales": np.array(pairs).ravel(), "source_row": np.arange(1, 2 * n + 1)})
    rep = V.validate(frame, today_year=2026)
    got = sorted(r for p in rep.by_rule("jump") for r in p.rows)
    prev, cur = np.array(pairs).T
    expect = sorted((2 * reference_jumps(prev, cur) + 2).tolist())  # the second record of each flagged pair
    assert got == expect
    assert 4 in got and 8 in got and 2 not in got and 6 not in got  # just past ×20 (either way) flagged, ×20 not


@pytest.mark.parametrize("values, rules", [
    ([1.0, 2.0, 3.0], set()),
    ([np.nan, np.nan, np.nan], set()),
    ([np.inf, -np.inf, np.nan], {"non_finite"}),
    ([np.inf, -3.0, 4.0], {"non_finite", "negative_value"}),
    ([-0.0, 0.0, 1.0], set()),
])
def test_numeric_rules_with_min_max_shortcut(values, rules):
    frame = pd.DataFrame({"firm_id": ["a", "b", "c"], "year": [2001, 2001, 2001],
                          "capital": pd.array(values, dtype="Float64"), "source_row": [1, 2, 3]})
    rep = V.validate(frame, today_year=2026)
    assert rep.rules() & {"non_finite", "negative_value", "out_of_range"} == rules
    if "non_finite" in rules:
        assert list(rep.by_rule("non_finite")[0].rows) == [i + 1 for i, v in enumerate(values) if np.isinf(v)]


@pytest.mark.parametrize("values, bad_rows", [([0.0, 25.0, 12.0], []), ([-1.0, 26.0, 12.0], [1, 2]),
                                              ([np.nan, 30.0, np.inf], [2])])
def test_schooling_range_with_min_max_shortcut(values, bad_rows):
    frame = pd.DataFrame({"firm_id": ["a", "b", "c"], "year": [2001, 2001, 2001],
                          "manager_schooling_years_t": values, "source_row": [1, 2, 3]})
    rep = V.validate(frame, today_year=2026)
    got = [r for p in rep.by_rule("schooling_out_of_range") for r in p.rows]
    assert got == bad_rows


def test_validation_leaves_the_frame_untouched_and_the_panel_owns_reordered_columns(tmp_path):
    """Complete Float64 columns are read without a copy: validation must not write to them, and a panel that
    reordered the rows must not share the loader's frame."""
    df = survey(50)
    df = df.iloc[::-1].reset_index(drop=True)  # needs reordering
    p = tmp_path / "s.parquet"
    df.to_parquet(p, index=False)
    res = load_survey(p, today_year=2026)
    before = res.frame.copy(deep=True)
    V.validate(res.frame, today_year=2026)
    pd.testing.assert_frame_equal(res.frame, before)
    data = res.panel.data
    data.iloc[0, data.columns.get_loc("sales")] = -1.0
    pd.testing.assert_frame_equal(res.frame, before)


def test_a_panel_in_file_order_shares_nothing_writable_with_the_frame(tmp_path):
    df = survey(50).sort_values(["firm_id", "year"]).reset_index(drop=True)
    p = tmp_path / "s.parquet"
    df.to_parquet(p, index=False)
    res = load_survey(p, today_year=2026)
    before = res.frame.copy(deep=True)
    res.panel.data.iloc[0, res.panel.data.columns.get_loc("sales")] = -1.0
    pd.testing.assert_frame_equal(res.frame, before)
