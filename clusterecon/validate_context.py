"""Shared state of one validation run (:class:`_Ctx`) and the value helpers every rule group uses.

One run keeps the source record numbers (``source_row``), the numeric columns read once as float64, and one
factorisation of the firm ids with one sort by (firm, year), which the grouped rules share
(:mod:`clusterecon.validate_panel`); the per-value rules are in :mod:`clusterecon.validate_values`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from . import _buffers, firmyear
from .problems import Problem
from .validate_report import _plain


def _source_rows(frame: pd.DataFrame) -> np.ndarray:
    if "source_row" in frame.columns:
        s = frame["source_row"]
        if s.dtype == np.int64:  # what the loader writes
            return s.to_numpy()
        return pd.to_numeric(frame["source_row"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    return np.arange(1, len(frame) + 1, dtype=np.int64)


def _as_float(s: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing (nullable, object and categorical columns alike)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s.dtype):
        parts = firmyear.masked_parts(s)
        if parts is not None and parts[0].dtype == np.float64 and not parts[1].any():
            v = parts[0].view()  # a complete Float64 column: its own values, read-only, no copy
            v.flags.writeable = False
            return v
        if parts is not None and parts[0].dtype == np.int64 and not parts[1].any():
            v = _buffers.empty(len(parts[0]), np.float64)  # a complete Int64 column: one conversion, no mask
            v[:] = parts[0]
            return v
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _is_textual(s: pd.Series) -> bool:
    return (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
            or isinstance(s.dtype, pd.CategoricalDtype))


def _fmt(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if not float(v).is_integer() else int(v)
    return _plain(v)


class _Ctx:
    """Shared state of one validation run: source rows, firm codes and the (firm, year) sort order."""

    def __init__(self, frame: pd.DataFrame, source: str) -> None:
        self.frame = frame
        self.source = source
        self.rows = _source_rows(frame)
        self.problems: list[Problem] = []
        self.numeric: dict[str, np.ndarray] = {}
        #: column -> (least, greatest value ignoring NaN, any NaN) of :meth:`num` once the range rules have read it
        #: (later rules decide from these whether they can hit, instead of passing over the column again)
        self.bounds: dict[str, tuple[float, float, bool]] = {}
        self.firm_codes: np.ndarray | None = None
        self.firm_uniques: Any = None
        self.year: np.ndarray | None = None
        self.order: np.ndarray | None = None
        self.sorted: firmyear.FirmYearOrder | None = None
        self.keys: firmyear.Keys | None = None

    def resumed(self) -> _Ctx:
        """A copy to go on from (its own problem list and caches; the arrays are shared, never written)."""
        c = copy.copy(self)
        c.problems, c.numeric, c.bounds = list(self.problems), dict(self.numeric), dict(self.bounds)
        return c

    def add(self, severity, rule, message, *, column=None, mask=None, rows=None, values=(), fix="", n=None):
        if mask is not None:
            idx = np.flatnonzero(mask)
            rows = self.rows[idx[:200]]
            n = len(idx) if n is None else n
        self.problems.append(Problem.make(severity, rule, message, column=column, rows=rows if rows is not None
                                          else (), values=values, fix=fix, source=self.source, n=n))

    def num(self, col: str) -> np.ndarray:
        if col not in self.numeric:
            self.numeric[col] = _as_float(self.frame[col])
        return self.numeric[col]
