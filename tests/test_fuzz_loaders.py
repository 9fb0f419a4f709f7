"""Fuzzing the loader (hypothesis): random raw surveys in every format, with known defects at known rows.

Invariants (issue 11):

* never a traceback: ``load_survey`` returns a report or raises the project's ``LoadError``; the CLI exits 0
  (clean), 1 (problems) or 2 (unusable file or mapping) with one ``clusterecon: error:`` line, never "looks like a
  bug";
* every injected defect is reported by its rule, with its ORIGINAL row number (record number in the file);
* rows in = rows out + rows logged as dropped (and each record is either kept or named in a drop entry).

Example counts are small so that the whole file runs in well under 40 s on one core.
"""

from __future__ import annotations

import io
import math
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusterecon.cli import main
from clusterecon.io import LoadError, Mapping, MappingError
from clusterecon.load import load_survey
from clusterecon.provenance import rows_dropped
from tests.survey_files import FORMATS, write_survey

MAPPING = {
    "rename": {"fid": "firm_id", "yr": "year", "rev": "sales", "emp": "employees", "occ": "founder_prior_occupation",
               "founded": "founding_year", "exp": "exporter"},
    "codes": {"founder_prior_occupation": {"1": "merchant", "2": "engineer", "3": "artisan"}},
}
MAPPING_TOML = """
[rename]
fid = "firm_id"
yr = "year"
rev = "sales"
emp = "employees"
occ = "founder_prior_occupation"
founded = "founding_year"
exp = "exporter"
[codes.founder_prior_occupation]
1 = "merchant"
2 = "engineer"
3 = "artisan"
"""
TODAY = 2026

#: defect -> (rule, canonical column) the report must show at the defect's row
DEFECTS = {
    "missing_id": ("missing_key", "firm_id/year"),
    "blank_id": ("missing_key", "firm_id/year"),
    "negative_sales": ("negative_value", "sales"),
    "infinite_sales": ("non_finite", "sales"),
    "bad_code": ("unknown_code", "founder_prior_occupation"),
    "year_out_of_range": ("out_of_range", "year"),
    "text_in_numeric": ("text_in_numeric", "employees"),
    "founded_after_year": ("founding_after_year", "founding_year"),
    "conflicting_duplicate": ("duplicate_conflict", "firm_id/year"),
    "exact_duplicate": ("exact_duplicate_dropped", "firm_id/year"),
}
INFINITE_TEXT = ("inf", "-inf", "Infinity", "1e309")


@st.composite
def surveys(draw):
    """(raw frame in file order, [(rule, column, row)] expected, number of records)."""
    n_firms = draw(st.integers(1, 4))
    rows: list[dict] = []
    for f in range(n_firms):
        years = draw(st.lists(st.sampled_from([2000, 2001, 2002, 2003]), min_size=1, max_size=4, unique=True))
        occ, founded = draw(st.sampled_from([1, 2, 3])), draw(st.integers(1950, 1999))
        for y in sorted(years):
            rows.append({"fid": f"F{f}", "yr": y, "rev": float(draw(st.integers(100, 10_000))),
                         "emp": float(draw(st.integers(1, 40))), "occ": occ, "founded": founded,
                         "exp": draw(st.sampled_from([0, 1]))})
    kinds = draw(st.lists(st.sampled_from(sorted(DEFECTS)), max_size=min(3, len(rows)), unique=True))
    targets = draw(st.lists(st.integers(0, len(rows) - 1), min_size=len(kinds), max_size=len(kinds), unique=True))
    expected: list[tuple[str, str, int]] = []  # (rule, column, id of the row dict)
    text_cols: set[str] = set()
    extra = []
    for kind, t in zip(kinds, targets):
        r = rows[t]
        if kind == "missing_id":
            r["fid"] = None
        elif kind == "blank_id":
            r["fid"] = "   "
        elif kind == "negative_sales":
            r["rev"] = -r["rev"]
        elif kind == "infinite_sales":
            r["rev"] = draw(st.sampled_from(INFINITE_TEXT))
            text_cols.add("rev")
        elif kind == "bad_code":
            r["occ"] = 9
        elif kind == "year_out_of_range":
            r["yr"] = draw(st.sampled_from([1700, 2090]))
        elif kind == "text_in_numeric":
            r["emp"] = draw(st.sampled_from(["many", "n/a", "1,234", "#N/A"]))
            text_cols.add("emp")
        elif kind == "founded_after_year":
            r["founded"] = r["yr"] + 5 if isinstance(r["yr"], int) and r["yr"] < 2010 else 2019
        if kind in ("conflicting_duplicate", "exact_duplicate"):
            copy = dict(r)
            if kind == "conflicting_duplicate":
                copy["rev"] = (r["rev"] + 1.0) if isinstance(r["rev"], float) else 7.0
            extra.append(copy)
            expected.append((*DEFECTS[kind], id(copy)))
            if kind == "conflicting_duplicate":
                expected.append((*DEFECTS[kind], id(r)))
        else:
            expected.append((*DEFECTS[kind], id(r)))
    rows += extra
    order = draw(st.permutations(range(len(rows))))
    ordered = [rows[i] for i in order]
    where = {id(r): k + 1 for k, r in enumerate(ordered)}  # 1-based record numbers in the file
    exp = [(rule, col, where[i]) for rule, col, i in expected]
    exp = _exact_duplicate_rows(exp, ordered, where, extra, kinds)
    df = pd.DataFrame(ordered)
    for c in text_cols:  # a column holding text defects is text in every format
        df[c] = [None if v is None else (str(v) if not isinstance(v, float) else repr(v)) for v in df[c]]
    return df, exp, len(ordered)


def _exact_duplicate_rows(exp, ordered, where, extra, kinds):
    """An exact copy is dropped as the LATER of the two identical records, whichever of them was the copy."""
    if "exact_duplicate" not in kinds:
        return exp
    out = [e for e in exp if e[0] != "exact_duplicate_dropped"]
    for r in extra:
        twins = [k + 1 for k, o in enumerate(ordered) if o == r]
        if len(twins) > 1 and any(e[2] in twins for e in exp if e[0] == "exact_duplicate_dropped"):
            out.append(("exact_duplicate_dropped", "firm_id/year", max(twins)))
    return out


def _write(df: pd.DataFrame, folder: Path, fmt: str) -> Path:
    if fmt in ("dta", "sav"):  # pyreadstat wants one type per column: missing text as "", numbers as float
        df = df.copy()
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = ["" if v is None else v for v in df[c]]
    return write_survey(df, folder / f"survey.{fmt}")


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _check_invariants(res, expected, n_records):
    for rule, col, row in expected:
        probs = [p for p in res.report.by_rule(rule) if p.column == col]
        assert probs, f"{rule} on {col} not reported:\n{res.report.to_text()}"
        assert any(row in p.rows for p in probs), f"{rule} on {col} misses row {row}:\n{res.report.to_text()}"
    assert len(res.frame) + rows_dropped(res.provenance) == n_records
    kept = set(res.frame["source_row"])
    dropped = {r for e in res.provenance if e.step == "drop" for r in e.rows}
    assert kept | dropped == set(range(1, n_records + 1)) and not kept & dropped
    if res.panel is not None:
        assert res.panel.n_obs == len(res.frame)


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(survey=surveys())
def test_every_injected_defect_is_reported_with_its_row(fmt, survey):
    df, expected, n_records = survey
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(df, Path(tmp), fmt)
        res = load_survey(path, MAPPING, today_year=TODAY)  # never raises on bad data
        _check_invariants(res, expected, n_records)
        assert res.ok == (not res.report.errors)
        if expected and any(r != "exact_duplicate_dropped" for r, _, _ in expected):
            assert res.panel is None


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(survey=surveys(), fmt=st.sampled_from(FORMATS))
def test_cli_exit_codes_follow_the_report(survey, fmt):
    df, expected, _ = survey
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(df, Path(tmp), fmt)
        mp = Path(tmp) / "mapping.toml"
        mp.write_text(MAPPING_TOML)
        code, out, err = _cli("validate", str(path), "--mapping", str(mp))
        res = load_survey(path, mp)
        assert code == (0 if res.report.clean else 1), out + err
        assert "Traceback" not in out + err and err == ""


# ------------------------------------------------------------------------------------------ broken files
@settings(max_examples=12, deadline=None)
@given(fmt=st.sampled_from(FORMATS), cut=st.floats(0.0, 0.95), noise=st.binary(max_size=40))
def test_truncated_or_corrupted_files_give_one_clear_message(fmt, cut, noise):
    df = pd.DataFrame({"fid": ["A", "B", "C"], "yr": [2000, 2001, 2002], "rev": [1.0, 2.0, 3.0]})
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(df, Path(tmp), fmt)
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * cut)] + noise)
        try:
            load_survey(path, {"rename": {"fid": "firm_id", "yr": "year", "rev": "sales"}}, today_year=TODAY)
        except LoadError:
            pass
        code, out, err = _cli("validate", str(path), "--mapping", str(_mapping_file(Path(tmp))))
        assert code in (0, 1, 2) and "Traceback" not in err and "looks like a bug" not in err
        if code == 2:
            assert err.startswith("clusterecon: error:")


def _mapping_file(folder: Path) -> Path:
    p = folder / "m.toml"
    p.write_text('[rename]\nfid = "firm_id"\nyr = "year"\nrev = "sales"\n')
    return p


# ------------------------------------------------------------------------------------------ hostile mappings
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 3000), st.floats(allow_nan=True),
                     st.text(max_size=8), st.sampled_from(["no", "yes", "thousands", "error", "unknown", "GHS"]))
_VALUES = st.recursive(_SCALARS.filter(lambda v: v is not None), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)
_KEYS = {
    "source": ["file", "sheet", "encoding"], "survey": ["design", "survey_year", "round", "exits_observable"],
    "rename": ["fid", "yr", "rev"], "codes": ["founder_prior_occupation", "exporter", "unknown_policy"],
    "missing": ["codes", "columns", "exclude"], "scale": ["sales", "employees"],
    "currency": ["unit", "column", "target", "rates", "redenomination", "columns"],
    "recall": ["survey_year", "round", "wide", "relative"], "duplicates": ["policy"],
}


@st.composite
def mappings(draw):
    d = {}
    for section in draw(st.lists(st.sampled_from(sorted(_KEYS)), max_size=4, unique=True)):
        keys = draw(st.lists(st.sampled_from(_KEYS[section]), max_size=3, unique=True))
        d[section] = {k: draw(_VALUES) for k in keys}
    return d


@settings(max_examples=60, deadline=None)
@given(d=mappings())
def test_hostile_mappings_raise_only_mapping_errors(d):
    try:
        m = Mapping.from_dict(d)
    except MappingError as e:
        assert e.mistakes and all(isinstance(x, str) for x in e.mistakes)
        return
    for v in m.scale.values():
        assert math.isfinite(v) and v > 0
    if m.currency:
        for r in m.currency.redenomination:
            assert math.isfinite(r.ratio) and r.ratio > 0
    assert m.exits_observable in (None, True, False)
    try:
        load_survey(pd.DataFrame({"fid": ["A", "B"], "yr": [2000, 2001], "rev": [1.0, np.nan]}), m, today_year=TODAY)
    except LoadError:
        pass
