"""Validation of the canonical long frame: every rule yields :class:`~clusterecon.problems.Problem` records.

The frame has one row per firm-year, the firm-level columns repeated on each row, and an integer ``source_row``
column holding the 1-based record number in the ORIGINAL file (header excluded; Stata ``_n``). Every problem reports
those numbers, so a user can find the records in the raw survey. All rules run on every call and all problems are
returned together (:class:`ValidationReport`): a user fixes a file in one pass, not one error at a time.

Rules (``rule`` names are stable; tests and users filter on them):

errors
    ``missing_required_column``, ``missing_key`` (firm_id or year empty), ``duplicate_conflict`` (several rows for
    one (firm_id, year) that disagree; exact duplicates are dropped and logged by :func:`drop_exact_duplicates`),
    ``text_in_numeric``, ``negative_value`` (sales, material_cost, capital, employees, wage_bill),
    ``founding_after_year``, ``founding_in_future``, ``schooling_out_of_range`` (0–25), ``unknown_code`` (a value
    outside the schema's allowed codes, or a non-boolean in a yes/no column), ``firm_attribute_varies``,
    ``out_of_range`` (other schema ranges), ``non_finite`` (inf, -inf, Infinity, 1e309 in a numeric column),
    ``no_records`` (nothing to validate).
warnings
    ``value_added_nonpositive`` (sales − material_cost ≤ 0), ``zero_employees``, ``jump`` (a year-on-year ratio
    beyond ×20 or below ÷20 in sales, employees or capital between a firm's consecutive observations),
    ``year_gap`` (a firm skips one of the panel's benchmark years between its first and last observation),
    ``constant_column`` (sales, material cost, employees or capital identical in every record),
    ``census_entry_missed`` (in a census, a firm founded inside the years covered but first seen later).
info
    ``survivor_only`` (a recall panel: firms that exited before the interview were never surveyed). The loader adds
    its own (``exact_duplicate_dropped``, ``firm_ids_merged``, ``duplicate_resolved``, ...) next to these.

``strict=True`` promotes warnings to errors. Everything is vectorised with numpy/pandas (one factorisation of the
firm ids and one sort by (firm, year) shared by the grouped rules) so that a million firm-years validate in well under
a second; no library offers survey rules of this kind, hence the hand-written checks.

Modules: the report object is in :mod:`clusterecon.validate_report`, the rules on single values and columns in
:mod:`clusterecon.validate_values`, the rules over firms and years in :mod:`clusterecon.validate_panel`, the state
they share in :mod:`clusterecon.validate_context`; this module runs them (:func:`validate`) and holds the loader's
:func:`drop_exact_duplicates`. Every name is importable from here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import firmyear, schema
from .io.errors import same_name, visible
from .problems import Problem
from .provenance import ProvenanceLog
from .validate_context import _Ctx, _source_rows
from .validate_panel import (  # noqa: F401 (JUMP_*: re-exported)
    JUMP_COLUMNS,
    JUMP_FACTOR,
    _check_census_entry,
    _check_duplicates,
    _check_firm_constant,
    _check_keys,
    _check_panel_rules,
)
from .validate_report import ValidationError, ValidationReport  # noqa: F401 (ValidationError: re-exported)
from .validate_values import (  # noqa: F401 (NONNEGATIVE, SCHOOLING: re-exported)
    NONNEGATIVE,
    SCHOOLING,
    _check_codes,
    _check_founding,
    _check_numeric,
    _check_warnings,
)


def missing_columns(frame: pd.DataFrame, required: Iterable[str] = schema.REQUIRED, source: str = "") -> list[Problem]:
    """``missing_required_column`` errors for each of ``required`` not in ``frame``."""
    cols = set(frame.columns) | set(n for n in frame.index.names if n)
    out = []
    for c in required:
        if c not in cols:
            # a header that prints as the name ('firm_id' + a zero-width space, 'FIRM_ID') is the likely culprit
            alike = [visible(x) for x in cols if isinstance(x, str) and same_name(x, c)]
            fix = (f"the data has {', '.join(alike)}, which differs from {c!r} only in case, spaces or invisible "
                   f"characters: rename it to {c!r} in the file or map it under [rename] in the mapping" if alike
                   else f"add {c!r} to the file or map a raw column to it under [rename] in the mapping")
            out.append(Problem.make("error", "missing_required_column", f"required column {c!r} is not in the data",
                                    column=c, fix=fix, source=source, n=0))
    return out


def _design_kind(design: Any) -> str:
    if design is None:
        return "unknown"
    if isinstance(design, str):
        return design
    return getattr(design, "kind", "unknown")


# ---------------------------------------------------------------------------------------------------- entry points
def validate(frame: pd.DataFrame, *, source: str = "", strict: bool = False, survey_year: int | None = None,
             design: Any = None, today_year: int | None = None, required: Iterable[str] = (),
             benchmark_years: Iterable[int] | None = None, keys: firmyear.Keys | None = None,
             values: ValuesChecked | None = None) -> ValidationReport:
    """Check a canonical long frame against every rule and return all problems at once.

    Parameters
    ----------
    frame : DataFrame
        One row per firm-year in canonical column names, firm-level columns repeated on each row, and ``source_row``
        (1-based record number in the original file; positions are used when it is absent). A frame indexed by
        (firm_id, year), such as ``SurveyPanel.frame``, is accepted too.
    source : str
        File name shown in every problem.
    strict : bool
        Promote warnings to errors.
    survey_year : int, optional
        Interview year (recall surveys); observation years after it are ``out_of_range``.
    design : SurveyDesign or str, optional
        ``"recall"`` adds the ``survivor_only`` info.
    today_year : int, optional
        The "future" boundary for founding and observation years (default: the current calendar year).
    required : iterable of str
        Columns the analysis needs in addition to the schema's required ``firm_id`` and ``year``.
    benchmark_years : iterable of int, optional
        The years a firm is expected in (default: every year present in the panel) for ``year_gap``.
    keys : clusterecon.firmyear.Keys, optional
        Firm-year keys of exactly these rows (``firmyear.keys_of(frame)``), when the caller has them already.
    values : ValuesChecked, optional
        The rules that need no keys, run ahead on this very frame (:func:`check_values`) with the same
        ``source``, ``today_year``, ``survey_year`` and ``required``; otherwise they run here.
    """
    if isinstance(frame.index, pd.MultiIndex) or (frame.index.name in ("firm_id", "year")):
        frame = frame.reset_index()
    today_year = _today(today_year, survey_year)
    # a value near the float limit (1e308) overflows the rules' arithmetic (the jump rule's ×20 band) into inf,
    # which still compares as meant; the value itself is reported with its rows by the range rule
    # (schema.MAX_AMOUNT). numpy's error state is per thread: set here, in the thread that validates.
    with np.errstate(over="ignore"):
        if keys is not None:
            # the firm attributes' reductions first: the loader builds the panel on the other thread meanwhile, and
            # its firm table reads them from the shared keys (firmyear.Keys.first_and_varies), not computing them
            for c in schema.FIRM_COLUMNS:
                if c in frame.columns and c != "firm_id":
                    keys.first_and_varies(frame[c])
        if values is not None and values.frame is frame and values.args == (source, today_year, tuple(required)):
            ctx = values.ctx.resumed()
        else:
            ctx = _value_rules(frame, source, today_year, required, keys)
        _keyed_rules(ctx, keys, benchmark_years, design)
    report = ValidationReport(tuple(ctx.problems), source).merged(())
    return report.strict() if strict else report


@dataclass(frozen=True)
class ValuesChecked:
    """What :func:`check_values` found on ``frame``, for :func:`validate` to go on from."""

    frame: pd.DataFrame
    args: tuple
    ctx: _Ctx


def check_values(frame: pd.DataFrame, *, source: str = "", survey_year: int | None = None,
                 today_year: int | None = None, required: Iterable[str] = (),
                 years: firmyear.YearKeys | None = None) -> ValuesChecked:
    """The rules that need no firm-year keys (required columns, numbers, codes, founding years), run ahead: the
    loader runs them on its worker while it builds the keys, which the other rules wait for. Pass the result to
    :func:`validate` (``values=``) with the same frame and arguments: the report is the one :func:`validate` alone
    gives, problems in the same order. ``years``: :func:`clusterecon.firmyear.year_keys` of the year column, if the
    caller has them (their float years are used while the column holds the array they were read from)."""
    today = _today(today_year, survey_year)
    with np.errstate(over="ignore"):
        ctx = _value_rules(frame, source, today, required, None, years)
    return ValuesChecked(frame, (source, today, tuple(required)), ctx)


def _today(today_year: int | None, survey_year: int | None) -> int:
    today = int(today_year or _dt.date.today().year)
    return min(today, int(survey_year)) if survey_year is not None else today


def _value_rules(frame: pd.DataFrame, source: str, today_year: int, required, keys,
                 years: firmyear.YearKeys | None = None) -> _Ctx:
    ctx = _Ctx(frame, source)
    year = None
    if keys is not None and "year" in frame.columns and isinstance(frame["year"].dtype, np.dtype) \
            and frame["year"].dtype.kind in "iu":
        year = keys.year  # an integer year column as float64 is what the keys hold already (firmyear.keys_of)
    elif years is not None and "year" in frame.columns and years.of(frame["year"]):
        year = years.year  # (the same, computed ahead)
    if year is not None:
        year = year.view()  # read-only, shared
        year.flags.writeable = False
        ctx.numeric["year"] = year
    req = list(dict.fromkeys([*schema.REQUIRED, *required]))
    ctx.problems.extend(missing_columns(frame, req, source))
    if not len(frame):
        ctx.add("error", "no_records", "the data hold no firm-year records", n=0,
                fix="check that the file (or the sheet read) holds the survey records and that the mapping does not "
                    "leave every record empty")
    cols = set(frame.columns)
    for col in [c.name for c in schema.COLUMNS if c.name in cols and c.kind in ("int", "float")]:
        _check_numeric(ctx, col, today_year)
    for col in [c.name for c in schema.COLUMNS if c.name in cols and (c.allowed or c.kind == "bool")]:
        _check_codes(ctx, col)
    if "founding_year" in cols:
        _check_founding(ctx, today_year)
    return ctx


def _keyed_rules(ctx: _Ctx, keys, benchmark_years, design) -> None:
    frame = ctx.frame
    cols = set(frame.columns)
    has_keys = "firm_id" in cols and "year" in cols
    if has_keys:
        _check_keys(ctx, keys)
        _check_duplicates(ctx)
        firm_cols = [c for c in schema.FIRM_COLUMNS if c in cols and c != "firm_id"]
        if firm_cols:
            _check_firm_constant(ctx, firm_cols)
    _check_warnings(ctx)
    if has_keys:
        _check_panel_rules(ctx, tuple(benchmark_years) if benchmark_years else None)
    kind = _design_kind(design)
    if kind == "census":
        _check_census_entry(ctx)
    recall_flag = "is_recall" in cols and bool(frame["is_recall"].fillna(False).astype(bool).any())
    if kind == "recall" or (kind == "unknown" and recall_flag):
        ctx.add("info", "survivor_only", "recall panel from one interview: it holds survivors only, so firms that "
                "exited before the interview are missing and exit cannot be studied", column=None,
                fix="study exit only with repeated survey rounds or a census (SurveyDesign(kind='rounds'))")


def drop_exact_duplicates(frame: pd.DataFrame, log: ProvenanceLog, source: str = "",
                          problems: list[Problem] | None = None, keys: firmyear.Keys | None = None) -> pd.DataFrame:
    """``frame`` without records identical to an earlier one in every column except ``source_row``.

    The dropped records' original row numbers are logged as one ``drop`` entry in ``log`` and, when ``problems`` is
    given, listed in an ``exact_duplicate_dropped`` info (so the validation report shows them too). ``keys``: the
    frame's firm-year keys, if the caller has them.
    """
    cols = [c for c in frame.columns if c != "source_row"]
    if not len(frame):
        return frame
    names = [c for c in ("firm_id", "year") if c in frame.columns]
    if keys is not None and keys.pairs_in_file_order:
        # listed firm by firm with years strictly increasing: no (firm_id, year) repeats, hence no exact duplicates
        # (the keys' check is cached and reused by the validator and the panel)
        return frame
    if names:
        # cheap pre-filter on one int64 key: only rows sharing (firm_id, year) can be exact duplicates
        if keys is not None:
            key = (keys.firm + 1) * (len(keys.years) + 1) + keys.ycodes + 1
        else:
            key = np.zeros(len(frame), dtype=np.int64)
            for k in names:
                codes, uniq = pd.factorize(frame[k], use_na_sentinel=True)
                key = key * (len(uniq) + 1) + codes + 1
        if len(key) and key.max() < 8 * len(key):  # dense key: counting beats hashing
            cand = np.bincount(key)[key] > 1
        else:
            cand = pd.Series(key).duplicated(keep=False).to_numpy()
        if not cand.any():
            return frame
        dup = np.zeros(len(frame), dtype=bool)
        pos = np.flatnonzero(cand)
        pos = pos[np.argsort(_source_rows(frame)[pos], kind="stable")]  # keep the earliest record of the file
        dup[pos] = frame.iloc[pos][cols].duplicated(keep="first").to_numpy()
    else:
        dup = frame.duplicated(cols, keep="first").to_numpy()
    if not dup.any():
        return frame
    rows = np.sort(_source_rows(frame)[dup])
    where = f" in {source}" if source else ""
    log.add("drop", f"dropped {int(dup.sum())} exact duplicate record(s){where} (identical to an earlier record)",
            rows=rows.tolist())
    if problems is not None:
        problems.append(Problem.make(
            "info", "exact_duplicate_dropped", "records identical to an earlier record (same firm, year and values) "
            "were dropped; the earlier record is kept", column="firm_id/year", rows=rows, source=source,
            fix="nothing to do unless the survey double-counts records; the provenance log lists them"))
    return frame.loc[~dup]
