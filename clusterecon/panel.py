"""SurveyPanel: the validated canonical firm-year panel every estimator and hypothesis test starts from.

A SurveyPanel holds
* ``data``: the firm-year frame indexed by ``(firm_id, year)`` (unique, sorted), firm-year columns only;
* ``firms``: one row per firm indexed by ``firm_id`` with the firm-level attributes;
* ``labels``: variable labels (canonical codebook labels, overridden by the survey's own);
* ``provenance``: the frozen log of every change from the raw file(s) to this panel;
* ``design``: how the survey was collected (one interview with recall, repeated rounds, a census), which decides
  whether exits are observable;
* ``validation``: the validation report it passed (may be ``None`` for panels built in code);
* ``truth``: for simulated panels, the true parameters and phases (``None`` otherwise).

``frame`` joins the two levels into the single (firm_id, year)-indexed DataFrame that formulas run on. The object
is immutable: transformations (``clusterecon.derive``) return a new panel with extra provenance entries.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import _buffers, firmyear, schema
from ._threads import in_pool, pool
from .provenance import ProvenanceEntry, ProvenanceLog, to_json

SurveyKind = Literal["recall", "rounds", "census", "unknown"]


class PanelError(ValueError):
    """A panel cannot be built from the data as given; the message names the columns, rows and the fix."""


@dataclass(frozen=True)
class SurveyDesign:
    """How the data were collected.

    ``kind``: ``"recall"`` = one interview with recall questions for benchmark years (survivors only: exits are
    not observable); ``"rounds"`` = repeated survey rounds; ``"census"`` = every firm ever active (simulated truth,
    administrative data). ``exits_observable`` defaults from ``kind`` but can be set explicitly.

    ``expansion_start`` / ``quality_start``: phase dates known from outside the data (the cluster's history, with
    ``history_source`` saying where from, e.g. a mapping's ``[history]``); the battery uses them instead of dating
    the transitions, which a survey of survivors cannot do.
    """

    kind: SurveyKind = "unknown"
    survey_years: tuple[int, ...] = ()
    exits_observable: bool | None = None
    source: str = ""
    expansion_start: int | None = None
    quality_start: int | None = None
    history_source: str = ""
    #: the price index the mapping's ``[deflator]`` names (declared here, applied by ``analyse`` and ``describe``,
    #: which make every money value real by it: :func:`clusterecon.derive.deflate_money`)
    deflator: Path | None = None
    deflator_base_year: int | None = None
    #: money values are real, in prices of this year (a deflator was applied); None = as recorded. Deflating twice
    #: is refused.
    deflated_to: int | None = None

    @property
    def can_study_exit(self) -> bool:
        if self.exits_observable is not None:
            return bool(self.exits_observable)
        return self.kind in ("rounds", "census")

    def explain_exit(self) -> str:
        if self.can_study_exit:
            return "exits are observable"
        if self.kind == "recall":
            return ("the panel comes from one interview with recall questions, so it holds survivors only: firms that "
                    "exited before the interview were never surveyed and exit cannot be studied")
        return ("the survey design is unknown, so exits are not known to be observable; declare "
                "SurveyDesign(kind='rounds' or 'census') if firms that closed are in the data")


#: ``DataFrame.attrs`` key under which derived columns say why they are missing: ``{column: [condition, ...]}``
#: (one condition may stand alone), each ``{"source": "sales", "at_most": 0.0, "why": "sales <= 0 (log
#: undefined)"}`` (a missing source is explained by its own rule, else "missing <source>"; a value <= ``at_most`` by
#: ``why``) or ``{"why": ...}`` for every row still unexplained. Written by :mod:`clusterecon.derive` (logs, value
#: added, per-worker ratios, real values) via ``explain_missing``; the estimators' omission records name the causes.
MISSING_WHY = "clusterecon_missing_why"


@dataclass(frozen=True)
class SurveyPanel:
    data: pd.DataFrame
    firms: pd.DataFrame
    labels: Mapping[str, str] = field(default_factory=dict)
    provenance: tuple[ProvenanceEntry, ...] = ()
    design: SurveyDesign = SurveyDesign()
    validation: Any = None
    truth: Any = None

    def __post_init__(self) -> None:
        idx = self.data.index
        if not isinstance(idx, pd.MultiIndex) or list(idx.names) != ["firm_id", "year"]:
            raise PanelError("SurveyPanel.data must be indexed by (firm_id, year); use SurveyPanel.from_frame")
        if idx is not getattr(_built, "index", None) and not _unique_sorted(idx) and not idx.is_unique:
            dup = idx[idx.duplicated()].unique()[:5]
            raise PanelError(f"duplicate (firm_id, year) rows, e.g. {list(dup)}; resolve them before building a panel")
        if self.firms.index.name != "firm_id" or not (_strictly_increasing(self.firms.index)
                                                      or self.firms.index.is_unique):
            raise PanelError("SurveyPanel.firms must be indexed by a unique firm_id")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        *,
        firm_columns: tuple[str, ...] | None = None,
        design: SurveyDesign | None = None,
        labels: Mapping[str, str] | None = None,
        provenance: ProvenanceLog | tuple[ProvenanceEntry, ...] = (),
        validation: Any = None,
        truth: Any = None,
        keys: firmyear.Keys | None = None,
    ) -> SurveyPanel:
        """Build a panel from one long frame with ``firm_id`` and ``year`` columns (or that index).

        Firm-level columns (canonical firm-level names present, or ``firm_columns``) move to ``firms``; they must be
        constant within a firm (non-missing values), else :class:`PanelError` names the firms. Duplicate
        (firm_id, year) rows are refused: the loaders resolve or report them first. ``keys`` are the frame's
        firm-year keys when the caller has them (``clusterecon.firmyear.keys_of``, with text firm ids).
        """
        # Integer codes and one counting sort (clusterecon.firmyear) instead of groupby/set_index/sort_index:
        # building the panel was the largest cost of loading a 1M firm-year survey (benchmarks/bench_load.py).
        d = df.reset_index() if isinstance(df.index, pd.MultiIndex) else df
        for key in ("firm_id", "year"):
            if key not in d.columns:
                raise PanelError(f"column {key!r} is missing; the panel needs firm_id and year")
        if keys is None:
            keys = firmyear.keys_of(d.assign(firm_id=_as_text(d["firm_id"])))
        fcodes, firm_ids, fy = _compact(keys)
        if (fcodes < 0).any():
            raise PanelError(f"{int((fcodes < 0).sum())} rows have no firm_id; every row needs one")
        ycodes, year_vals = keys.ycodes, keys.years
        if (ycodes < 0).any() or not np.array_equal(year_vals, np.floor(year_vals)):
            raise PanelError("every row needs a year, and years must be whole numbers; validate the data first")
        if len(year_vals) and not (-2.0**63 <= year_vals[0] and year_vals[-1] < 2.0**63):  # inf or beyond int64
            raise PanelError(f"years from {year_vals[0]:g} to {year_vals[-1]:g} do not fit a 64-bit integer; "
                             "validate the data first")
        # the index's codes in the integer width pandas would narrow them to anyway (narrowed before the reordering
        # take, which then moves a quarter or an eighth of the bytes)
        if keys.file_blocks is not None and len(keys.file_blocks) == len(firm_ids):
            # each firm one block of rows, every row keyed: in firm-year order the codes are 0, 1, 2, … repeated
            # over each firm's rows (written once, not gathered from the million codes and narrowed)
            lengths = np.diff(np.r_[fy.starts, len(fcodes)])
            fs = firmyear.repeat_by(_narrow(np.arange(len(firm_ids)), len(firm_ids)), lengths)
        else:
            fs = fy.take(_narrow(fcodes, len(firm_ids)))
        ys = fy.take(_narrow(ycodes, len(year_vals)))
        # listed firm by firm with increasing years: no (firm, year) repeats, nothing to compare
        same = None if keys.pairs_in_file_order else (fs[1:] == fs[:-1]) & (ys[1:] == ys[:-1])
        if same is not None and same.any():
            o = np.arange(len(fs)) if fy.order is None else fy.order
            dup_rows = np.unique(np.r_[o[1:][same], o[:-1][same]])
            ex = list(dict.fromkeys(zip(firm_ids[fcodes[dup_rows]].tolist(),
                                        year_vals[ycodes[dup_rows]].astype(int).tolist())))[:5]
            raise PanelError(f"{len(dup_rows)} rows share a (firm_id, year) with another row, e.g. {ex}; "
                             "drop exact duplicates or choose a duplicate policy in the mapping")
        fcols = [c for c in (firm_columns if firm_columns is not None else schema.FIRM_COLUMNS)
                 if c in d.columns and c != "firm_id"]
        firm_index = pd.Index(firm_ids, dtype="string", name="firm_id")
        rest = [c for c in d.columns if c not in fcols and c not in ("firm_id", "year")]
        index = pd.MultiIndex(levels=[firm_index, pd.Index(year_vals.astype(np.int64), name="year")],
                              codes=[fs, ys], names=["firm_id", "year"], verify_integrity=False)
        # the columns' arrays are reordered directly: Series/DataFrame.take also takes (and checks) the row index,
        # which cost three times the data's own reordering (benchmarks/bench_load.py)
        if fy.order is None:  # nothing to reorder: the frame's columns, shared copy-on-write
            data = d[rest]
            data = data.assign(**{c: _text(data[c]) for c in rest if _needs_text(c, data[c])})
            data.index = index
        else:  # new arrays, owned by the panel
            cols = _reordered(d, rest, fy.order)
            data = pd.DataFrame(cols, index=index, columns=pd.Index(rest, dtype=d.columns.dtype), copy=False)
        # the firm table last: the loader's validator, on the other thread, computes the firm attributes'
        # reductions first, and they are shared through ``keys``
        firms = _firm_table(d, fcols, keys, firm_index)
        lab = dict(schema.LABELS)
        lab.update(labels or {})
        prov = provenance.freeze() if isinstance(provenance, ProvenanceLog) else tuple(provenance)
        _built.index = index  # sorted and unique by construction: __post_init__ need not check it again
        try:
            return cls(data=data, firms=firms, labels=lab, provenance=prov, design=design or SurveyDesign(),
                       validation=validation, truth=truth)
        finally:
            _built.index = None

    def replace(self, **changes: Any) -> SurveyPanel:
        return replace(self, **changes)

    # ------------------------------------------------------------------ views
    @cached_property
    def frame(self) -> pd.DataFrame:
        """Firm-year rows with the firm attributes joined on: what formulas run on. Index (firm_id, year)."""
        if self.firms.shape[1] == 0:
            return self.data
        joined = self.data.join(self.firms, on="firm_id", how="left")
        joined.attrs = dict(self.data.attrs)  # e.g. MISSING_WHY (pandas drops attrs in a join)
        return joined

    @property
    def n_obs(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_firms(self) -> int:
        return int(self.firms.shape[0])

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(int(y) for y in np.unique(self.data.index.get_level_values("year")))

    @cached_property
    def obs_per_firm(self) -> pd.Series:
        return self.data.groupby(level="firm_id", observed=True).size()

    @property
    def is_balanced(self) -> bool:
        return bool((self.obs_per_firm == len(self.years)).all())

    def gaps(self) -> pd.DataFrame:
        """Firms whose observed years, among the panel's own years, skip one that lies between their first and last:
        columns firm_id, missing_years."""
        all_years = np.array(self.years)
        rows = []
        for fid, ys in self.data.reset_index().groupby("firm_id", observed=True)["year"]:
            inside = all_years[(all_years > ys.min()) & (all_years < ys.max())]
            missing = sorted(set(inside.tolist()) - set(ys.tolist()))
            if missing:
                rows.append({"firm_id": fid, "missing_years": missing})
        return pd.DataFrame(rows, columns=["firm_id", "missing_years"])

    def structure(self) -> dict[str, Any]:
        """Counts a reader wants first: firms, observations, years, T min/mean/max, balance, gaps."""
        t = self.obs_per_firm
        return {
            "firms": self.n_firms,
            "firm_years": self.n_obs,
            "years": list(self.years),
            "T_min": int(t.min()) if len(t) else 0,
            "T_mean": float(t.mean()) if len(t) else 0.0,
            "T_max": int(t.max()) if len(t) else 0,
            "balanced": self.is_balanced,
            "firms_with_gaps": int(len(self.gaps())),
            "design": self.design.kind,
            "exits_observable": self.design.can_study_exit,
        }

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    def provenance_json(self, indent: int | None = 2) -> str:
        return to_json(self.provenance, indent=indent)

    def __repr__(self) -> str:
        s = self.structure()
        return (f"SurveyPanel({s['firms']} firms, {s['firm_years']} firm-years, years {s['years'][:1]}…"
                f"{s['years'][-1:]}, T {s['T_min']}–{s['T_max']}, design={s['design']})")


#: the index :meth:`SurveyPanel.from_frame` is building on this thread (it checked the order itself)
_built = threading.local()


def _narrow(codes: np.ndarray, n: int) -> np.ndarray:
    """Codes into ``n`` values in the integer type a MultiIndex keeps them in (pandas' ``coerce_indexer_dtype``)."""
    for t in (np.int8, np.int16, np.int32):
        if n < np.iinfo(t).max:
            return codes.astype(t, copy=False)
    return codes.astype(np.int64, copy=False)


#: rows from which :func:`_reordered` hands half of the columns to the pool's worker
_SPLIT_ROWS = 200_000


def _reordered(d: pd.DataFrame, cols: list[str], order: np.ndarray) -> dict:
    """The columns' arrays taken in ``order`` (text columns as text). On a large frame half of the columns are taken
    on the pool's other worker meanwhile (numpy's take releases the GIL): reordering seven 1M-row columns was the
    largest step of building the panel, and the loader's validator holds only one of the pool's two workers
    (:mod:`clusterecon._threads`; a pool thread itself never waits on the pool)."""
    def one(c: str):
        return _text(d[c], order) if _needs_text(c, d[c]) else _take(d[c].array, order)

    later = cols[1::2] if len(order) >= _SPLIT_ROWS and len(cols) > 1 and not in_pool() else []
    done = pool().submit(lambda: {c: one(c) for c in later}) if later else None
    mine = {c: one(c) for c in cols if c not in later}
    theirs = done.result() if done is not None else {}
    return {c: mine[c] if c in mine else theirs[c] for c in cols}


def _take(a, order: np.ndarray):
    """``a.take(order)``; a nullable column without missing values gets a new all-false mask instead of its mask
    reordered (one take of the two, for the same array); numpy values are taken into pooled memory
    (:mod:`clusterecon._buffers`)."""
    data, mask = getattr(a, "_data", None), getattr(a, "_mask", None)  # pandas' masked arrays (Float64, boolean…)
    if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray) and data.dtype.kind in "iufb" and not mask.any():
        return type(a)(_buffers.take(data, order), np.zeros(len(order), dtype=bool))
    if isinstance(a, pd.arrays.NumpyExtensionArray):  # (a numpy column: source_row)
        return pd.arrays.NumpyExtensionArray(_buffers.take(a.to_numpy(), order))
    return a.take(order)


def _text(s: pd.Series, order: np.ndarray | None = None):
    """A categorical column as text: its categories taken by code (much cheaper than ``astype("string")``), the
    rows in ``order`` when given."""
    codes = s.array.codes
    return pd.array(s.cat.categories, dtype="string").take(codes if order is None else codes[order], allow_fill=True)


def _unique_sorted(idx: pd.MultiIndex) -> bool:
    """Rows in strictly increasing (firm, year) code order, hence unique: what from_frame builds, checked in O(n)
    on the codes without hashing the pairs."""
    f, y = (np.asarray(c) for c in idx.codes)
    step = (f[1:] > f[:-1]) | ((f[1:] == f[:-1]) & (y[1:] > y[:-1]))
    return bool(step.all()) and (len(f) == 0 or (f.min() >= 0 and y.min() >= 0))


def _strictly_increasing(idx: pd.Index) -> bool:
    """Sorted without repeats (hence unique), checked by comparing neighbours rather than hashing every id."""
    if len(idx) < 2:
        return True
    v = idx.array
    try:
        return bool((v[1:] > v[:-1]).all())
    except TypeError:  # ids that do not compare (mixed types): let the caller hash them
        return False


def _as_text(s: pd.Series) -> pd.Series:
    """Firm ids compare as text (so "10" sorts before "9", as it always has); categories keep their codes."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        return s if pd.api.types.is_string_dtype(cats.dtype) else s.cat.rename_categories(cats.astype("string"))
    return s if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object else s.astype("string")


def _needs_text(col: str, s: pd.Series) -> bool:
    """Canonical text columns travel through loading as categories (cheap to compare and group); the panel holds
    them as text, their schema type."""
    spec = schema.BY_NAME.get(col)
    return spec is not None and spec.kind in ("string", "id") and isinstance(s.dtype, pd.CategoricalDtype)


def _compact(keys: firmyear.Keys) -> tuple[np.ndarray, pd.Index, firmyear.FirmYearOrder]:
    """Firm codes and ids without the ids no row uses (rows dropped since the keys were made); neither the order
    of the rows nor where each firm's rows start changes."""
    f = keys.firm
    if keys.file_blocks is not None and len(keys.file_blocks) == len(keys.ids):  # every id has its block of rows
        return f, keys.ids, keys.sorted
    present = np.bincount(f[f >= 0], minlength=len(keys.ids)) > 0
    if present.all():
        return f, keys.ids, keys.sorted
    remap = np.append(np.cumsum(present) - 1, -1)
    return remap[f], keys.ids[present], keys.sorted


def _firm_table(d: pd.DataFrame, fcols: list[str], keys: firmyear.Keys, firm_index: pd.Index) -> pd.DataFrame:
    """One row per firm (the first non-missing value of each attribute in year order); refuses attributes that
    vary within a firm, ignoring missing values."""
    out = {}
    bad = {}
    for c in fcols:
        first, varies = keys.first_and_varies(d[c])
        if varies.any():
            bad[c] = firm_index[np.flatnonzero(varies)[:5]].tolist()
        col = d[c]
        if (first >= 0).all():  # the column's array, not the Series: no row index to take along
            out[c] = _text(col, first) if _needs_text(c, col) else _take(col.array, first)
        else:
            vals = col.reset_index(drop=True).reindex(first)
            out[c] = _text(vals) if _needs_text(c, vals) else vals.array
    if bad:
        detail = "; ".join(f"{c}: firms {ids}" for c, ids in bad.items())
        raise PanelError(f"firm-level attributes vary within a firm ({detail}); fix the data or declare the "
                         "column firm-year level")
    return pd.DataFrame(out, index=firm_index, copy=False)  # (new arrays, the table's own)
