"""Chunked validation of a Parquet survey (clusterecon.chunked): the same report as the in-memory path, however
small the pieces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.chunked import validate_parquet
from clusterecon.cli import main
from clusterecon.io import LoadError
from clusterecon.load import load_survey

DATA = Path(__file__).resolve().parents[1] / "data" / "sample_survey"


def _key(report):
    return sorted((p.severity, p.rule, p.column or "", p.message, p.n, p.rows, p.fix) for p in report.problems)


def assert_same_report(chunked, memory):
    """Same problems (rules, columns, messages with their counts, rows, fixes); the examples a rule lists (its first
    few) may differ, but the in-memory ones are among the chunked ones (each piece lists its own first few)."""
    assert _key(chunked) == _key(memory)
    examples = {(p.severity, p.rule, p.column, p.message): {str(v) for v in p.values} for p in chunked.problems}
    for p in memory.problems:
        assert {str(v) for v in p.values} <= examples[(p.severity, p.rule, p.column, p.message)], p.rule
    assert chunked.summary_line() == memory.summary_line()


def _messy_survey(n_firms: int = 40, seed: int = 3) -> pd.DataFrame:
    """Many firms over four years with every kind of defect spread over the file (so that pieces split them)."""
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_firms):
        fid = f"K{f:03d}"
        for y in sorted(rng.choice([2000, 2001, 2002, 2003], size=rng.integers(1, 5), replace=False)):
            rows.append({"fid": fid, "yr": int(y), "rev": float(rng.integers(10, 1000)),
                         "emp": float(rng.integers(1, 9)), "occ": ["1", "2", "3"][f % 3], "founded": 1980 + f % 15})
    df = pd.DataFrame(rows)
    df.loc[3, "rev"] = -5.0                       # negative value
    df.loc[7, "rev"] = np.inf                     # non-finite
    df.loc[11, "occ"] = "9"                       # unknown code, and an attribute that varies within the firm
    df.loc[15, "founded"] = 2010                  # founding after the year
    df.loc[19, "emp"] = 0.0                       # zero employees (warning)
    df.loc[23, "rev"] = 1e6                       # a jump
    df.loc[27, "fid"] = None                      # missing key
    df.loc[30, "fid"] = df.loc[31, "fid"] + " "   # ids merged by trimming
    df.loc[33, "fid"] = df.loc[33, "fid"].lower()  # ids that differ in case
    dup = df.iloc[[5, 9]].copy()                  # an exact duplicate and a conflicting one
    dup.iloc[1, dup.columns.get_loc("rev")] += 1
    df = pd.concat([df, dup], ignore_index=True)
    return df.sample(frac=1, random_state=seed).reset_index(drop=True)  # firms interleaved in the file


MAP = {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales", "emp": "employees",
                  "occ": "founder_prior_occupation", "founded": "founding_year"},
       "codes": {"founder_prior_occupation": {"1": "merchant", "2": "engineer", "3": "artisan"}}}


@pytest.mark.parametrize("chunk_rows", [1, 7, 1000])
def test_chunked_report_equals_in_memory_report(tmp_path, chunk_rows):
    p = tmp_path / "s.parquet"
    _messy_survey().to_parquet(p, index=False)
    memory = load_survey(p, MAP, today_year=2026).report
    chunked = validate_parquet(p, MAP, chunk_rows=chunk_rows, today_year=2026)
    rules = memory.rules()
    assert {"negative_value", "non_finite", "unknown_code", "firm_attribute_varies", "founding_after_year", "jump",
            "missing_key", "firm_ids_merged", "firm_ids_differ_in_case", "exact_duplicate_dropped",
            "duplicate_conflict", "year_gap"} <= rules, rules
    assert_same_report(chunked, memory)


def test_chunked_defects_file_and_duplicate_policy(tmp_path):
    from clusterecon.validate import missing_columns

    p = tmp_path / "d.parquet"
    pd.read_csv(DATA / "defects.csv", dtype={"firm_id": str}).to_parquet(p, index=False)
    for mapping in (None, {"duplicates": {"policy": "last"}}):
        res = load_survey(p, mapping, today_year=2026)
        memory = res.report.merged(missing_columns(res.frame, ["wage_bill"], str(p)))
        chunked = validate_parquet(p, mapping, chunk_rows=2, today_year=2026, required=("wage_bill",))
        assert_same_report(chunked, memory)


def test_chunked_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(LoadError, match="chunked validation reads Parquet files"):
        validate_parquet(DATA / "defects.csv")
    pd.DataFrame({"firm_id": pd.Series([], dtype=str), "year": pd.Series([], dtype=int)}).to_parquet(
        tmp_path / "e.parquet")
    with pytest.raises(LoadError, match="no records"):
        validate_parquet(tmp_path / "e.parquet")


def test_cli_validate_chunked(tmp_path, capsys):
    p = tmp_path / "s.parquet"
    _messy_survey().to_parquet(p, index=False)
    mp = tmp_path / "m.toml"
    mp.write_text('[rename]\nfid = "firm_id"\nyr = "year"\nrev = "sales"\nemp = "employees"\n'
                  'occ = "founder_prior_occupation"\nfounded = "founding_year"\n'
                  '[codes.founder_prior_occupation]\n1 = "merchant"\n2 = "engineer"\n3 = "artisan"\n')
    assert main(["validate", str(p), "--mapping", str(mp), "--chunked", "--chunk-rows", "5", "--json"]) == 1
    chunked = json.loads(capsys.readouterr().out)
    assert main(["validate", str(p), "--mapping", str(mp), "--json"]) == 1
    memory = json.loads(capsys.readouterr().out)
    assert chunked["counts"] == memory["counts"]
    def key(d):
        return sorted((x["rule"], str(x["column"]), x["message"], x["n"], tuple(x["rows"])) for x in d["problems"])
    assert key(chunked) == key(memory)
    assert main(["validate", str(p), "--chunked", "--chunk-rows", "0"]) == 2


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 5, 10, 13, 50])
def test_chunked_report_equals_in_memory_when_a_piece_has_only_nulls_in_a_column(tmp_path, chunk_rows):
    """Sweep 11: a spill piece whose bool/text/int column is all missing took type null, and the next piece's values
    could not be cast to it ("Unsupported cast from bool to null")."""
    df = _messy_survey()
    n = len(df)
    mostly_null = np.full(n, None, dtype=object)
    mostly_null[n - 3:] = [True, False, True]
    df["exporter"] = mostly_null                                          # bool with nulls, values late
    df["note"] = [None] * (n - 2) + ["checked", "recall"]                 # text, nearly all missing
    df["branch_count"] = pd.array([pd.NA] * (n - 1) + [2], dtype="Int64")  # nullable integer
    df["empty"] = [None] * n                                               # missing everywhere
    p = tmp_path / "s.parquet"
    df.to_parquet(p, index=False)
    memory = load_survey(p, MAP, today_year=2026).report
    assert_same_report(validate_parquet(p, MAP, chunk_rows=chunk_rows, today_year=2026), memory)


def test_chunked_cli_on_a_file_with_late_values_in_a_null_column(tmp_path, capsys):
    df = _messy_survey()
    df["exporter"] = [None] * (len(df) - 1) + [True]
    p = tmp_path / "s.parquet"
    df.rename(columns=MAP["rename"]).to_parquet(p, index=False)
    code = main(["validate", str(p), "--chunked", "--chunk-rows", "10"])
    err = capsys.readouterr().err
    assert code in (0, 1) and "bug" not in err and "cast" not in err
