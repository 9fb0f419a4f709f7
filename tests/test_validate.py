"""Validation rules: each fires on the right ORIGINAL row numbers; strict mode; report API; exact duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.problems import Problem
from clusterecon.provenance import ProvenanceLog
from clusterecon.validate import ValidationError, ValidationReport, drop_exact_duplicates, validate

DATA = Path(__file__).resolve().parents[1] / "data" / "sample_survey"


def rows_of(report: ValidationReport, rule: str, column: str | None = None) -> list[int]:
    out: list[int] = []
    for p in report.by_rule(rule):
        if column is None or p.column == column:
            out.extend(p.rows)
    return sorted(out)


def clean_frame() -> pd.DataFrame:
    """Two firms, three benchmark years, nothing wrong; source rows 11.. to prove positions are not used."""
    df = pd.DataFrame({
        "firm_id": ["A", "A", "A", "B", "B", "B"],
        "year": [1995, 2000, 2005] * 2,
        "sales": [100.0, 150, 200, 50, 60, 80],
        "material_cost": [50.0, 70, 90, 20, 30, 40],
        "employees": [5.0, 6, 8, 2, 2, 3],
        "capital": [80.0, 90, 100, 30, 35, 40],
        "wage_bill": [10.0, 12, 15, 5, 6, 7],
        "founding_year": [1990] * 3 + [1994] * 3,
        "founder_prior_occupation": ["merchant"] * 3 + ["farmer"] * 3,
        "manager_schooling_years": [12.0] * 3 + [6.0] * 3,
        "exporter": [False, False, True, False, False, False],
    })
    df["source_row"] = np.arange(11, 17)
    return df


def test_clean_frame_has_no_problems():
    r = validate(clean_frame(), today_year=2026)
    assert r.problems == () and r.ok and r.clean
    assert "no problems" in r.to_text()


# ------------------------------------------------------------------------------------------- the defects file
@pytest.fixture(scope="module")
def defects_report() -> ValidationReport:
    df = pd.read_csv(DATA / "defects.csv", dtype={"firm_id": str})
    df["source_row"] = np.arange(1, len(df) + 1)
    return validate(df, source="defects.csv", today_year=2026, required=["wage_bill"])


@pytest.mark.parametrize("rule, column, rows", [
    ("missing_required_column", "wage_bill", []),
    ("text_in_numeric", "sales", [3]),
    ("negative_value", "capital", [4]),
    ("negative_value", "material_cost", [19]),
    ("founding_after_year", "founding_year", [5, 7]),
    ("founding_in_future", "founding_year", [7]),
    ("schooling_out_of_range", "manager_schooling_years", [8, 9]),
    ("unknown_code", "founder_prior_occupation", [10, 11]),
    ("firm_attribute_varies", "founding_year", [12, 13]),
    ("duplicate_conflict", "firm_id/year", [14, 15]),
    ("out_of_range", "direct_sales_share", [18]),
])
def test_every_error_rule_fires_on_original_rows(defects_report, rule, column, rows):
    probs = [p for p in defects_report.by_rule(rule) if p.column == column]
    assert probs, f"{rule} on {column} not reported"
    assert all(p.severity == "error" for p in probs)
    assert rows_of(defects_report, rule, column) == rows
    assert all(p.source == "defects.csv" for p in probs)


def test_defects_report_counts_and_text(defects_report):
    assert not defects_report.ok
    counts = defects_report.counts()
    assert counts["negative_value"] == 2 and counts["missing_required_column"] == 1
    text = defects_report.to_text(max_examples=2)
    assert text.index("ERRORS") < text.index("WARNINGS")
    assert "duplicate_conflict" in text and "(in sales)" in text
    assert "text where a number is expected" in text and "'about 300'" in text
    # the exact duplicate (rows 16/17) is a warning, not a conflict
    assert rows_of(defects_report, "exact_duplicate") == [17]


def test_negative_missing_code_hint():
    df = clean_frame()
    df.loc[1, "sales"] = -9
    p = validate(df, today_year=2026).by_rule("negative_value")[0]
    assert p.rows == (12,) and "missing-value codes" in p.fix and "[missing]" in p.fix


# ------------------------------------------------------------------------------------------- single rules
def test_missing_required_columns_without_keys_still_checks_values():
    df = clean_frame().drop(columns=["firm_id"])
    df.loc[0, "sales"] = -1
    r = validate(df, today_year=2026)
    assert [p.column for p in r.by_rule("missing_required_column")] == ["firm_id"]
    assert rows_of(r, "negative_value") == [11]


def test_missing_required_column_names_a_header_that_differs_only_invisibly():
    # probe L09: a header 'firm_id' + U+200B gave "not in the data" with no hint of the header that prints the same
    r = validate(clean_frame().rename(columns={"firm_id": "firm_id\u200b", "year": " YEAR"}), today_year=2026)
    fixes = {p.column: p.fix for p in r.by_rule("missing_required_column")}
    assert fixes["firm_id"].startswith("the data has 'firm_id\\u200b', which differs from 'firm_id' only in case, "
                                       "spaces or invisible characters: rename it to 'firm_id'")
    assert fixes["year"].startswith("the data has ' YEAR', which differs")


def test_missing_key_values():
    df = clean_frame()
    df.loc[2, "firm_id"] = None
    assert rows_of(validate(df, today_year=2026), "missing_key") == [13]


def test_text_in_numeric_ignores_blanks_and_keeps_numbers():
    df = clean_frame()
    df["capital"] = df["capital"].astype(object)
    df.loc[0, "capital"] = "1,200"
    df.loc[1, "capital"] = "  "
    df.loc[2, "capital"] = "95"
    r = validate(df, today_year=2026)
    assert rows_of(r, "text_in_numeric") == [11]
    assert r.by_rule("text_in_numeric")[0].values == ("1,200",)


def test_unknown_codes_in_categorical_and_bool_columns():
    df = clean_frame()
    df["founder_prior_occupation"] = pd.Categorical(["merchant"] * 3 + ["pilot"] * 3)
    df["exporter"] = pd.array([False, False, "yes", False, False, False], dtype=object)
    r = validate(df, today_year=2026)
    assert rows_of(r, "unknown_code", "founder_prior_occupation") == [14, 15, 16]
    assert rows_of(r, "unknown_code", "exporter") == [13]


def test_year_in_future_and_after_survey_year():
    df = clean_frame()
    r = validate(df, today_year=2026, survey_year=2000)
    assert rows_of(r, "out_of_range", "year") == [13, 16]


def test_warning_rules():
    df = clean_frame()
    df.loc[0, "material_cost"] = 100.0  # VA = 0
    df.loc[4, "employees"] = 0.0
    df.loc[5, "sales"] = 60 * 21.0  # ×21 jump 2000 → 2005 for B
    df = df.drop(index=1)  # A skips 2000
    r = validate(df, today_year=2026)
    assert r.ok and not r.clean
    assert rows_of(r, "value_added_nonpositive") == [11]
    assert rows_of(r, "zero_employees") == [15]
    assert rows_of(r, "jump", "sales") == [16]
    assert rows_of(r, "year_gap") == [13]
    assert r.by_rule("year_gap")[0].values == ("A: missing 2000",)
    assert {p.severity for p in r.problems} == {"warning"}


def test_jump_downwards_and_benchmark_years():
    df = clean_frame()
    df.loc[2, "capital"] = 90 / 25
    r = validate(df, today_year=2026, benchmark_years=[1995, 1998, 2000, 2005])
    assert rows_of(r, "jump", "capital") == [13]
    assert rows_of(r, "year_gap") == [12, 15]  # 1998 missing for both firms


def test_survivor_only_info_from_design_or_recall_flag():
    r = validate(clean_frame(), today_year=2026, design="recall")
    assert [p.rule for p in r.infos] == ["survivor_only"] and r.clean
    df = clean_frame()
    df["is_recall"] = [True, True, False] * 2
    assert validate(df, today_year=2026).rules("info") == {"survivor_only"}
    assert validate(df, today_year=2026, design="rounds").infos == ()


def test_strict_promotes_warnings_only():
    df = clean_frame()
    df.loc[4, "employees"] = 0.0
    r = validate(df, today_year=2026, design="recall", strict=True)
    assert [p.rule for p in r.errors] == ["zero_employees"] and not r.ok
    assert [p.rule for p in r.infos] == ["survivor_only"]
    with pytest.raises(ValidationError, match="zero_employees") as ei:
        r.raise_if_errors()
    assert ei.value.report is r
    assert validate(df, today_year=2026).strict().errors[0].rule == "zero_employees"


def test_panel_frame_with_index_is_accepted():
    df = clean_frame()
    df.loc[0, "sales"] = -3
    r = validate(df.set_index(["firm_id", "year"]), today_year=2026)
    assert rows_of(r, "negative_value") == [11]


def test_without_source_row_positions_are_used():
    df = clean_frame().drop(columns="source_row")
    df.loc[3, "sales"] = -1
    assert rows_of(validate(df, today_year=2026), "negative_value") == [4]


# ------------------------------------------------------------------------------------------- report API
def test_report_api_merge_frame_json():
    df = clean_frame()
    df.loc[4, "employees"] = 0.0
    r = validate(df, source="x.csv", today_year=2026)
    extra = Problem.make("error", "mapping_code", "code 7 is not mapped", column="founder_prior_occupation",
                         rows=[3], source="x.csv")
    m = r.merged([extra])
    assert [p.rule for p in m.problems] == ["mapping_code", "zero_employees"]  # errors first
    assert m.counts() == {"mapping_code": 1, "zero_employees": 1}
    fr = m.to_frame()
    assert list(fr["rule"]) == ["mapping_code", "zero_employees"] and fr.loc[1, "rows"] == [15]
    d = json.loads(m.to_json())
    assert d["ok"] is False and d["problems"][1]["rows"] == [15]
    assert m.summary_line() == "x.csv: 1 error(s), 1 warning(s), 0 info"


def test_many_rows_capped_examples_exact_count():
    n = 300
    df = pd.DataFrame({"firm_id": [f"f{i}" for i in range(n)], "year": 2000, "sales": -1.0,
                       "source_row": np.arange(1, n + 1)})
    p = validate(df, today_year=2026).by_rule("negative_value")[0]
    assert p.n == n and len(p.rows) == 50 and p.rows[:3] == (1, 2, 3)
    assert "(+295 more)" in p.to_text(5)


# ------------------------------------------------------------------------------------------- exact duplicates
def test_drop_exact_duplicates_logs_original_rows():
    df = clean_frame()
    df = pd.concat([df, df.iloc[[1, 4]].assign(source_row=[30, 31])], ignore_index=True)
    conflicting = df.iloc[[0]].assign(source_row=40, sales=999.0)
    df = pd.concat([df, conflicting], ignore_index=True)
    log = ProvenanceLog()
    out = drop_exact_duplicates(df, log, source="f.csv")
    assert len(out) == len(df) - 2
    (e,) = log.entries
    assert e.step == "drop" and e.rows == (30, 31) and e.n_rows == 2 and "f.csv" in e.action
    r = validate(out, today_year=2026)
    assert rows_of(r, "duplicate_conflict") == [11, 40]
    assert drop_exact_duplicates(clean_frame(), log) is not None and len(log) == 1


# ------------------------------------------------------------------------------------------- invariance
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_shuffling_rows_and_relabelling_firms_changes_nothing(seed):
    df = pd.read_csv(DATA / "defects.csv", dtype={"firm_id": str})
    df["source_row"] = np.arange(1, len(df) + 1)
    base = validate(df, today_year=2026)
    rng = np.random.default_rng(seed)
    shuffled = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    ids = {f: f"Z{rng.integers(10**6)}-{i}" for i, f in enumerate(sorted(df["firm_id"].unique()))}
    shuffled["firm_id"] = shuffled["firm_id"].map(ids)
    other = validate(shuffled, today_year=2026)
    key = lambda r: sorted((p.rule, p.column, tuple(sorted(p.rows)), p.n) for p in r.problems)  # noqa: E731
    assert key(base) == key(other)


def test_empty_and_single_row_frames():
    empty = pd.DataFrame({"firm_id": pd.Series([], dtype="string"), "year": pd.Series([], dtype="int64"),
                          "sales": pd.Series([], dtype=float), "founding_year": pd.Series([], dtype="Int64")})
    (p,) = validate(empty).problems  # a header-only file: one clear error, not a silent pass
    assert p.rule == "no_records" and p.severity == "error"
    one = pd.DataFrame({"firm_id": ["a"], "year": [2000.0], "sales": [1.0], "cluster": ["x"]})
    assert validate(one).problems == ()


@settings(max_examples=40, deadline=None)
@given(picks=st.lists(st.integers(0, 5), min_size=1, max_size=25), seed=st.integers(0, 1000))
def test_drop_exact_duplicates_rows_in_equal_rows_out_plus_dropped(picks, seed):
    base = clean_frame().drop(columns="source_row")
    df = base.iloc[picks].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    df["source_row"] = rng.permutation(np.arange(100, 100 + len(df)))
    log = ProvenanceLog()
    out = drop_exact_duplicates(df, log)
    dropped = [r for e in log.entries for r in e.rows]
    assert len(df) == len(out) + len(dropped)
    assert sorted(set(out["source_row"]) | set(dropped)) == sorted(df["source_row"])
    assert not out.drop(columns="source_row").duplicated().any()
    assert len(out) == len(set(picks))
    kept = out.set_index(list(base.columns))["source_row"]
    assert (kept == df.groupby(list(base.columns))["source_row"].min().reindex(kept.index)).all()


def test_non_finite_values_are_errors_with_original_rows():
    df = clean_frame()
    df.loc[[1, 4], "sales"] = [np.inf, -np.inf]
    df.loc[2, "capital"] = np.inf
    r = validate(df, today_year=2026)
    assert rows_of(r, "non_finite", "sales") == [12, 15] and rows_of(r, "non_finite", "capital") == [13]
    assert all(p.severity == "error" for p in r.by_rule("non_finite"))
    # reported once: not again as a negative value, a jump or a non-positive value added
    assert not r.by_rule("negative_value") and not r.by_rule("jump") and not r.by_rule("value_added_nonpositive")


def test_a_constant_key_column_and_a_census_that_missed_entrants_are_warnings():
    # user sweep: sales = 1000 in every record, and a "census" whose firms were all founded in 1970 but first seen
    # up to 44 years later, passed with "no problems found" and the battery issued verdicts on them
    from clusterecon.panel import SurveyDesign

    rows = [{"firm_id": f"f{i}", "year": y, "founding_year": 1970 if i < 3 else 1990, "sales": 1000.0,
             "employees": 5.0 + i} for i in range(6) for y in range(1990 + 2 * i, 2000)]
    df = pd.DataFrame(rows)
    r = validate(df, today_year=2026, design=SurveyDesign(kind="census"))
    (c,) = r.by_rule("constant_column")
    assert c.column == "sales" and c.severity == "warning" and c.n == len(df)
    (m,) = r.by_rule("census_entry_missed")
    # f0-f2 were founded (1970) before the census's first year (1990): not flagged; f3, f4 founded in 1990 are
    # first seen in 1996 and 1998
    assert m.values == ("f3", "f4") and m.message.startswith("2 firm(s)")
    assert not validate(df, today_year=2026, design=SurveyDesign(kind="rounds")).by_rule("census_entry_missed")
    df["sales"] = np.arange(len(df), dtype=float) + 1.0
    assert not validate(df, today_year=2026).by_rule("constant_column")
