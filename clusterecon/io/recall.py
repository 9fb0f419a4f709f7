"""Recall layouts: one interview row holding several benchmark years → one row per firm-year.

Two layouts (``docs/mapping.md``): *wide by year* (``sales_1995, sales_2000`` with the pattern ``sales_{year}``)
and *relative to the interview* (``sales_now, sales_3y_ago`` with offsets 0 and 3 from the survey year, as in the
World Bank Enterprise Surveys' ``d2``/``n3``). Each long row keeps the wide row's ``source_row``, and gets
``year``, ``recall_lag`` (survey year − year), ``is_recall`` (lag > 0: reported retrospectively) and
``survey_round``. Firm-years whose recall columns are all empty are not created (a firm founded after a benchmark
year has no row for it: rows are absent, not NaN), and the log records how many and which records.

pandas has ``wide_to_long``, but it needs a common stub/suffix layout and cannot take relative offsets or per-row
survey years, so the reshape is written here as one concatenation of column slices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from ..problems import Problem
from ..provenance import ProvenanceLog
from .errors import LoadError, MappingError
from .mapping import RecallSpec

#: firm-year columns that describe the interview, so they belong to every recalled year
_INTERVIEW_COLUMNS = ("currency", "survey_round")


def slots(spec: RecallSpec, columns: list[str]) -> dict[tuple[str, int], dict[str, str]]:
    """{(kind, key): {canonical column: raw column}} with kind "year" (absolute) or "lag" (relative)."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    for canon in spec.wide:
        pat = spec.pattern(canon)
        for c in columns:
            m = pat.match(c)
            if m:
                out.setdefault(("year", int(m.group("year"))), {})[canon] = c
    for canon, table in spec.relative.items():
        for raw, lag in table.items():
            out.setdefault(("lag", int(lag)), {})[canon] = raw
    return dict(sorted(out.items()))


def wide_to_long(df: pd.DataFrame, spec: RecallSpec, *, survey_year: int | str | None = None,
                 survey_round: int | None = None, log: ProvenanceLog | None = None,
                 mapping_path: str = "<mapping>", problems: list[Problem] | None = None,
                 source: str = "") -> pd.DataFrame:
    """Reshape a recall layout to firm-year rows.

    ``df`` must hold ``source_row``; ``survey_year`` is a year, the name of a column holding each row's interview
    year, or ``None`` (then the latest year of a wide layout is taken as the interview year, and recorded). Records
    whose interview-year column is blank or not a year get a ``survey_year_invalid`` error in ``problems`` (a
    LoadError when no list is given): their recall lags are unknown, and nothing of theirs is dropped.
    """
    log = log if log is not None else ProvenanceLog()
    cols = [str(c) for c in df.columns]
    sl = slots(spec, cols)
    recall_raw = sorted({raw for m in sl.values() for raw in m.values()})
    if "year" in df.columns:
        raise MappingError(mapping_path, ["[recall]: the file already has a 'year' column; a recall layout creates "
                                          "year from the column names – drop the [recall] section or the year column"])
    sy = spec.survey_year if spec.survey_year is not None else survey_year
    if sy is None:
        years = [k for (kind, k) in sl if kind == "year"]
        if any(kind == "lag" for (kind, _) in sl) or not years:
            raise MappingError(mapping_path, ["[recall.relative] needs the interview year: set survey_year = 2005 "
                                              "(or the name of a column holding it) in [survey] or [recall]"])
        sy = max(years)
        log.add("reshape", f"survey year not given; taken as the latest recall year {sy}", n_rows=0,
                survey_year=sy)
    if isinstance(sy, str):
        sy_values = pd.to_numeric(df[sy], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(sy_values) | (np.floor(sy_values) != sy_values) | (sy_values < 1800) | (sy_values > 2200)
        if bad.any():
            _bad_survey_year(df, sy, bad, problems, source)
            sy_values = np.where(bad, np.nan, sy_values)
    else:
        sy_values = np.full(len(df), float(sy))
    keep = [c for c in cols if c not in recall_raw]
    at_interview = [c for c in keep if c in schema.BY_NAME and schema.BY_NAME[c].level == "firm-year"
                    and c not in _INTERVIEW_COLUMNS]
    base = df[[c for c in keep if c not in at_interview]]
    canon_cols = list(dict.fromkeys([*spec.wide, *spec.relative]))
    pieces = []
    for (kind, key), m in sl.items():
        piece = base.copy()
        if kind == "year":
            year = np.full(len(df), float(key))
        else:
            year = sy_values - key
        lag = sy_values - year
        piece["year"] = pd.array(year, dtype="Float64").astype("Int64") if np.isnan(year).any() else year.astype(
            np.int64)
        piece["recall_lag"] = pd.array(lag, dtype="Float64").round().astype("Int64")
        for c in canon_cols:
            piece[c] = df[m[c]].to_numpy() if c in m else np.nan
        for c in at_interview:
            piece[c] = df[c].where(pd.Series(lag == 0, index=df.index))
        pieces.append(piece)
    long = pd.concat(pieces, ignore_index=True) if pieces else base.iloc[:0].copy()
    no_interview_slot = at_interview and not any(
        (kind == "lag" and key == 0) or (kind == "year" and np.any(sy_values == key)) for (kind, key) in sl)
    if no_interview_slot:
        raise MappingError(mapping_path, [
            f"[recall]: column(s) {', '.join(map(repr, at_interview))} are firm-year data outside the recall layout, "
            "so they describe the interview year, but no recall column is for the interview year; add them to "
            "[recall.wide]/[recall.relative] or rename them to non-canonical names"])
    # a firm-year is empty when no recall column and no interview-year answer has a value
    empty = long[canon_cols + at_interview].isna().all(axis=1).to_numpy()
    if empty.any():
        dropped_rows = long.loc[empty, "source_row"].to_numpy()
        log.add("reshape", f"{int(empty.sum())} recalled firm-years have no value in any recall column and were not "
                "created (rows absent, not NaN)", rows=dropped_rows, columns=canon_cols)
        long = long.loc[~empty]
    long = long.sort_values(["source_row", "year"], kind="stable").reset_index(drop=True)
    long["is_recall"] = pd.array(long["recall_lag"].to_numpy(dtype=float, na_value=np.nan) > 0, dtype="boolean")
    if "survey_round" not in long.columns:
        long["survey_round"] = pd.array(np.full(len(long), spec.round or survey_round or 1), dtype="Int64")
    log.add("reshape", f"recall layout: {len(df)} interview records → {len(long)} firm-year rows",
            n_rows=len(long), slots=[f"{k}={v}" for (k, v) in sl], columns=canon_cols,
            raw_columns=recall_raw, survey_year=sy if not isinstance(sy, float) else int(sy))
    return long


def _bad_survey_year(df: pd.DataFrame, col: str, bad: np.ndarray, problems: list[Problem] | None,
                     source: str) -> None:
    rows = df["source_row"].to_numpy()[bad]
    vals = sorted({"(blank)" if pd.isna(v) else str(v) for v in df[col].to_numpy(dtype=object)[bad]})[:20]
    p = Problem.make(
        "error", "survey_year_invalid", f"the interview year in column {col!r} is blank or not a year, so these "
        "records' recall answers cannot be dated (recall_lag unknown) and their answers about the interview year "
        "cannot be placed", column=col, rows=rows, values=vals, source=source,
        fix=f"fill in the interview year (e.g. 2005) in column {col!r} for these records")
    if problems is None:
        raise LoadError(p.to_text())
    problems.append(p)


def long_to_wide(long: pd.DataFrame, spec: RecallSpec) -> pd.DataFrame:
    """Inverse of :func:`wide_to_long` (one row per ``source_row``, raw recall column names restored); the
    round-trip property tests rely on it."""
    canon_cols = list(dict.fromkeys([*spec.wide, *spec.relative]))
    other = [c for c in long.columns if c not in canon_cols
             and c not in ("year", "recall_lag", "is_recall", "survey_round")]
    wide = long[other].groupby("source_row", sort=True).first()
    for canon in spec.wide:
        pat = spec.wide[canon]
        p = long.pivot(index="source_row", columns="year", values=canon)
        for y in p.columns:
            wide[pat.replace("{year}", str(int(y)))] = p[y]
    for canon, table in spec.relative.items():
        p = long.pivot(index="source_row", columns="recall_lag", values=canon)
        for raw, lag in table.items():
            if lag in p.columns:
                wide[raw] = p[lag]
    return wide.reset_index()

