"""Load a raw survey into a validated :class:`~clusterecon.panel.SurveyPanel`: read → map → validate → panel.

``load_survey`` never raises on bad *data*: every defect is a Problem in the returned report, and the panel is
built only when there is no error. It raises :class:`~clusterecon.io.LoadError` only when the file or the mapping
cannot be used at all (missing file, unknown extension, non-UTF-8 text without an encoding, a mapping mistake).
``read_panel`` is the strict convenience: the panel, or a ``LoadError`` whose message is the full report.

Two threads (:mod:`clusterecon._threads`). The plain pandas read this loader is compared with
(``benchmarks/bench_load.py``) uses both cores; the work after the read was a single-threaded chain. Several of its
steps are independent, and numpy's and Arrow's kernels release the GIL, so they overlap:

* validation runs on the pool's worker while this thread builds the panel *speculatively*, before anyone knows
  whether the frame may become one (1M firm-years: validate 22 ms and ``SurveyPanel.from_frame`` 26 ms took 45 ms in
  turn and 31 ms overlapped from Parquet; 49 → 41 ms from CSV). When the report has errors the panel is discarded
  and whatever the build raised is swallowed, so errors behave exactly as before; when the report is clean, a
  ``PanelError`` from the build becomes the ``panel`` problem as before and any other exception is raised;
* canonicalisation factorises the firm ids on the worker while this thread recodes and casts the other columns
  (:func:`clusterecon.io.casting.cast_canonical`; 36 → 31 ms from Parquet, 50 → 30 ms from CSV);
* canonicalisation reads the year codes (:func:`clusterecon.firmyear.year_keys`) on this thread while the worker
  is still factorising the firm ids, and the keys reuse them and the firm blocks the factorisation found;
* the validation rules that need no firm-year keys (numbers, codes, founding years:
  :func:`clusterecon.validate.check_values`) run on the worker while this thread builds the keys and drops exact
  duplicates; when no row was dropped, validation goes on from them, else it runs them again on the rows left
  (run in the wait above instead, they left the worker idle here: no faster);
* the panel reorders half of its columns on the pool's other worker (:func:`clusterecon.panel._reordered`).

With the allocations cut (:mod:`clusterecon._buffers`) this took a 1M firm-year Parquet load from 3.4x to
2.2x a plain ``pd.read_parquet`` with another job running beside it (CSV 2.0x to 1.7x), and to 1.70-1.78x on an
idle 2-core machine (2M firm-years 1.59x; CSV 1.46-1.49x; 2026-12-06, ``benchmarks/bench_load.py``). All of it
keeps the results deterministic: the frame, the problems (in their order) and the provenance are those of doing the
steps in turn (``tests/test_load_threads.py``).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import firmyear
from ._threads import pool
from .io import LoadError, Mapping, MappingError, RawTable, as_mapping, canonicalise, read_table
from .io.mapping import phase_range_mistake
from .panel import PanelError, SurveyDesign, SurveyPanel
from .problems import Problem
from .provenance import ProvenanceEntry, ProvenanceLog

# the module itself, not the package's lazily exported ``validate`` function of the same name
_validate = importlib.import_module(".validate", __package__)


@dataclass(frozen=True)
class LoadResult:
    """``panel`` is ``None`` when the report has errors. ``frame`` is the canonical long frame that was validated
    (with ``source_row``); ``missing_reasons`` lists every cell a survey missing-value code set to NA
    (source_row, firm_id, year, column, code, reason)."""

    panel: SurveyPanel | None
    report: _validate.ValidationReport
    provenance: tuple[ProvenanceEntry, ...]
    frame: pd.DataFrame
    missing_reasons: pd.DataFrame
    design: SurveyDesign
    mapping: Mapping

    @property
    def ok(self) -> bool:
        return self.report.ok


def load_survey(path: str | os.PathLike | pd.DataFrame | RawTable | None = None,
                mapping: Mapping | dict | str | os.PathLike | None = None, *, strict: bool = False,
                sheet: str | int | None = None, encoding: str | None = None,
                today_year: int | None = None, allow_outside_paths: bool = False) -> LoadResult:
    """Read a survey file, apply its mapping, validate, and build the panel when there are no errors.

    Parameters
    ----------
    path : file path, DataFrame or RawTable; ``None`` takes ``[source] file`` from the mapping.
    mapping : mapping file path (TOML, ``docs/mapping.md``), a parsed :class:`~clusterecon.io.Mapping`, a dict
        with the same structure, or ``None`` when the file already uses canonical names.
    strict : warnings (the validator's and the loader's) become errors.
    sheet, encoding : passed to :func:`~clusterecon.io.read_table` (override ``[source]`` in the mapping).
    today_year : the "future" boundary for founding years (default: this calendar year).
    allow_outside_paths : accept ``[source]``/``[firms]`` files outside the mapping's folder (refused by default:
        :mod:`clusterecon.io.paths`).
    """
    # structural mistakes are reported with those found against the data
    m = as_mapping(mapping, lenient=True, allow_outside_paths=allow_outside_paths)
    try:
        raw = _read_main(path, m, sheet, encoding)
        firms = None
        if m.firms is not None:
            firms = read_table(m.firms.file, sheet=m.firms.sheet, encoding=m.firms.encoding,
                               text_columns=(m.firms.key_firms,))
    except LoadError as e:
        if m.mistakes:
            refused = path is None and any(x.startswith("[source] file") for x in m.mistakes)  # said already
            raise MappingError(m.path, [*m.mistakes, *([] if refused else [f"(and the data could not be read: {e})"])]
                               ) from e
        raise
    log = ProvenanceLog()
    source = raw.label
    ahead_years: list[firmyear.YearKeys] = []

    def meanwhile(df: pd.DataFrame) -> None:  # while the worker factorises the firm ids (module docstring)
        if "year" in df.columns:
            ahead_years.append(firmyear.year_keys(df["year"]))

    # a file read here is no one else's: its arrays may become the canonical frame's (a table passed in may not)
    can = canonicalise(raw, m, firms=firms, log=log, owns_raw=not isinstance(path, (RawTable, pd.DataFrame)),
                       meanwhile=meanwhile)
    sheets = [s for s in raw.sheets if s != raw.sheet]
    del raw, firms  # the raw table is not needed past this point: release it before the panel copy (peak memory)
    problems = list(can.problems)
    frame = can.frame
    # the rules that need no keys run on the pool's worker while this thread builds the keys (module docstring)
    ahead = pool().submit(_validate.check_values, frame, source=source, survey_year=can.survey_year,
                          today_year=today_year, years=ahead_years[0] if ahead_years else None)
    # the firm ids are factorised and the rows ordered once, for the duplicate rules, validation and the panel
    keys = (firmyear.keys_of(frame, frame["source_row"].to_numpy(), firm=can.firm_codes,
                             years=ahead_years[0] if ahead_years else None)
            if {"firm_id", "year"} <= set(frame) else None)
    frame = _validate.drop_exact_duplicates(frame, log, source=source, problems=problems, keys=keys)
    frame = resolve_duplicates(frame, m.duplicates, log, problems, source)
    if keys is not None and len(frame) < len(can.frame):
        keys = keys.subset(can.frame.index.isin(frame.index))
    design = _design(m, frame, can.recall_layout, can.survey_year)
    values = _values_ahead(ahead, frame is can.frame)
    # validation on the pool's worker while this thread builds the panel speculatively (module docstring)
    checked = pool().submit(_validate.validate, frame, source=source, strict=strict, survey_year=can.survey_year,
                            design=design, today_year=today_year, keys=keys, values=values)
    built, failed = _speculative_panel(frame, design, can.labels, log, keys)
    report = checked.result()
    if strict:
        problems = [p.as_error() if p.severity == "warning" else p for p in problems]
    report = _name_other_sheets(report.merged(problems), sheets)
    panel = None
    if report.ok:
        if isinstance(failed, PanelError):  # a defect the rules did not catch: one readable problem, no traceback
            report = report.merged([Problem.make("error", "panel", str(failed), source=source,
                                                 fix="see the message; correct the file or the mapping")])
        elif failed is not None:
            raise failed
        elif built is not None:
            # the panel was built before its report existed: it is new and seen by no one else yet, so the report
            # is set in place (dataclasses.replace would check the million-row index again)
            object.__setattr__(built, "validation", report)
            panel = built
        history = _history_mistake(panel, m) if panel is not None else None
        if history:  # the mapping's phase dates against the years the data cover: found by validate, not later
            panel = None
            report = report.merged([history])
    return LoadResult(panel, report, log.freeze(), frame, can.missing_reasons, design, m)


def _values_ahead(ahead, same_rows: bool) -> _validate.ValuesChecked | None:
    """The rules run ahead, if they ran on the rows that are validated (no duplicate was dropped meanwhile) and
    finished; else ``None``, and :func:`~clusterecon.validate.validate` runs them itself (whatever they raised
    is raised there, as before)."""
    try:
        values = ahead.result()
    except Exception:  # noqa: BLE001 (validate runs the rules again and raises it in its turn)
        return None
    return values if same_rows else None


def _speculative_panel(frame: pd.DataFrame, design: SurveyDesign, labels: dict, log: ProvenanceLog,
                       keys: firmyear.Keys | None) -> tuple[SurveyPanel | None, BaseException | None]:
    """``SurveyPanel.from_frame`` before validation has said whether the frame may become a panel: (panel, None),
    or (None, what it raised). On a frame with errors the panel is discarded and whatever the build raised is
    swallowed, so that the caller behaves exactly as if it had not been attempted."""
    try:
        return SurveyPanel.from_frame(frame, design=design, labels=labels, provenance=log, keys=keys), None
    except Exception as e:  # noqa: BLE001 (kept for the caller, which re-raises it only for a valid frame)
        return None, e


def read_panel(path: str | os.PathLike | pd.DataFrame | RawTable | None = None,
               mapping: Mapping | dict | str | os.PathLike | None = None, **kw: Any) -> SurveyPanel:
    """The validated panel, or :class:`~clusterecon.io.LoadError` whose message is the full validation report."""
    res = load_survey(path, mapping, **kw)
    if res.panel is None:
        raise LoadError(res.report.to_text())
    return res.panel


def _history_mistake(panel: SurveyPanel, m: Mapping) -> Problem | None:
    """The mapping's ``[history]`` dates checked against the years the data cover (the mapping alone cannot)."""
    d = panel.design
    if (d.expansion_start is None and d.quality_start is None) or not panel.years:
        return None
    wrong = phase_range_mistake(d.expansion_start, d.quality_start, int(panel.years[-1]))
    if not wrong:
        return None
    return Problem.make("error", "history_dates", f"[history] {wrong}", source=str(m.path or ""),
                        fix="correct the year in the mapping's [history] table (or leave it out to date the phase "
                            "from the data)")


def _name_other_sheets(report: _validate.ValidationReport, others: list[str]) -> _validate.ValidationReport:
    """A workbook whose first sheet is a cover page lacks the survey's columns: say which other sheets there are."""
    if not others or not report.by_rule("missing_required_column"):
        return report
    hint = (f"; this workbook has other sheets ({', '.join(map(repr, others))}): choose the one holding the survey "
            "with --sheet or [source] sheet = \"...\" in the mapping")
    return _validate.ValidationReport(tuple(replace(p, fix=p.fix + hint) if p.rule == "missing_required_column"
                                            else p for p in report.problems), report.source)


def resolve_duplicates(frame: pd.DataFrame, policy: str, log: ProvenanceLog, problems: list[Problem],
                       source: str = "") -> pd.DataFrame:
    """Apply the mapping's ``[duplicates] policy`` to rows that share (firm_id, year) but differ.

    ``"error"`` leaves them for the validator (``duplicate_conflict``); ``"first"``/``"last"`` keep the row with the
    lowest/highest original record number; ``"contemporaneous"`` keeps the row with the smallest ``recall_lag``
    (a value reported in its own year beats a recalled one; ties go to the later record, i.e. the later round).
    The other rows are logged as dropped.
    """
    if policy == "error" or not {"firm_id", "year"} <= set(frame.columns) or not len(frame):
        return frame
    if policy == "contemporaneous":
        lag = (frame["recall_lag"].to_numpy(dtype=float, na_value=np.inf) if "recall_lag" in frame.columns
               else np.zeros(len(frame)))
        # sort so that the row to keep comes last within its (firm_id, year)
        order = np.lexsort((frame["source_row"].to_numpy(), -lag))
        keep = "last"
    else:
        order = np.argsort(frame["source_row"].to_numpy(), kind="stable")
        keep = "first" if policy == "first" else "last"
    f = frame.iloc[order]
    dup = f.duplicated(["firm_id", "year"], keep=keep).to_numpy()
    if not dup.any():
        return frame
    rows = np.sort(f["source_row"].to_numpy()[dup])
    what = {"first": "the first record", "last": "the last record",
            "contemporaneous": "the record with the shortest recall"}[policy]
    log.add("drop", f"dropped {int(dup.sum())} conflicting duplicate record(s) by [duplicates] policy = "
            f"{policy!r} (kept {what} of each firm-year)", rows=rows.tolist(), policy=policy)
    problems.append(Problem.make(
        "info", "duplicate_resolved", f"conflicting (firm_id, year) records resolved by policy {policy!r}",
        rows=rows, values=f.loc[dup, ["firm_id", "year"]].astype(str).agg(" ".join, axis=1).unique()[:20],
        source=source))
    return frame.loc[frame.index.isin(f.index[~dup])]


def _read_main(path, m: Mapping, sheet, encoding) -> RawTable:
    if isinstance(path, RawTable):
        return path
    if isinstance(path, pd.DataFrame):
        return RawTable.from_frame(path)
    if path is None:
        if m.source_file is None:
            raise LoadError("no survey file given: pass a path, or set [source] file = \"...\" in the mapping "
                            f"{m.path}")
        path = m.source_file
    return read_table(Path(path), sheet=sheet if sheet is not None else m.source_sheet,
                      encoding=encoding or m.source_encoding,
                      text_columns=(m.raw_id_column, *((m.firms.key_firm_years,) if m.firms else ())))


def _design(m: Mapping, frame: pd.DataFrame, recall_layout: bool, survey_year: int | None) -> SurveyDesign:
    """The survey design: the mapping's, else inferred from the frame (see :func:`_design_for`)."""
    rounds = set(frame["survey_round"].dropna().unique().tolist()) if "survey_round" in frame.columns else set()
    recall = "is_recall" in frame.columns and bool(frame["is_recall"].astype("boolean").fillna(False).any())
    interview: set = set()
    if recall and "recall_lag" in frame.columns:
        interview = set((pd.to_numeric(frame["year"], errors="coerce")
                         + pd.to_numeric(frame["recall_lag"], errors="coerce")).dropna().unique().tolist())
    return _design_for(m, recall_layout, survey_year, rounds, recall, interview)


def _design_for(m: Mapping, recall_layout: bool, survey_year: int | None, rounds: set, recall: bool,
                interview: set) -> SurveyDesign:
    """Without ``[survey] design``: a recall layout → recall; several survey rounds → rounds; one round holding
    recall rows of one interview year (a canonical file that already went through reshaping) → recall."""
    kind = m.design
    if kind is None:
        if recall_layout:
            kind = "recall"
        elif len(rounds) > 1:
            kind = "rounds"
        elif recall and len(interview) == 1:
            kind = "recall"
            if survey_year is None:
                survey_year = int(max(interview))
        else:
            kind = "unknown"
    years: tuple[int, ...] = (survey_year,) if isinstance(survey_year, int) else ()
    return SurveyDesign(kind=kind, survey_years=years, exits_observable=m.exits_observable, source=m.path,
                        expansion_start=m.expansion_start, quality_start=m.quality_start,
                        history_source=m.history_source, deflator=m.deflator_file,
                        deflator_base_year=m.deflator_base_year)
