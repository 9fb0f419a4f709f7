"""Panel-aware ``lag(x, k)``, ``lead(x, k)`` and ``diff(x, k)`` in formulas.

``lag(x, k)`` of firm i in year t is x of the same firm in year t − k: the calendar year, not the previous row, so a
gap in a firm's years (2001, 2002, 2004) gives a missing lag in 2004, never the 2002 value (plm issue #27 is the
trap). ``lead(x, k)`` is x in year t + k and ``diff(x, k)`` = x_t − x_{t−k}; k defaults to 1 (Stata's ``L.x``,
``F.x``, ``D.x``). The values are taken from the whole frame before listwise deletion, as Stata's time-series
operators do (a lagged row may itself be out of the estimation sample); observations whose lag or lead does not
exist are left out with their reason in ``omitted``. The years must be numeric (calendar years); the formula guard
(:mod:`clusterecon.formula_guard`) admits only a column name and an integer literal as arguments.

Each term becomes a column named as written (``lag(x)``, ``lag(x, 2)``) and is referred to in backticks in the
formula handed to formulaic, so results name their coefficients ``lag(x)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import SpecificationError

__all__ = ["PanelTerm", "apply_panel_terms", "panel_terms"]

_CALL = re.compile(r"\b(lag|lead|diff)\(\s*(`[^`]+`|[A-Za-z_]\w*)\s*(?:,\s*(\d+)\s*)?\)")


@dataclass(frozen=True)
class PanelTerm:
    """One panel transform: its column name, the function, the source column and the order k."""

    name: str
    fn: str
    column: str
    k: int

    @property
    def reason(self) -> str:
        shift = {"lag": f"t-{self.k}", "lead": f"t+{self.k}", "diff": f"t-{self.k}"}[self.fn]
        return f"{self.name}: the firm has no {self.column} in year {shift} (first/last year, a gap, or missing)"


def panel_terms(formula: str) -> tuple[str, tuple[PanelTerm, ...]]:
    """The formula with every ``lag``/``lead``/``diff`` call replaced by its backticked column name, and the terms."""
    found: dict[str, PanelTerm] = {}

    def repl(m: re.Match) -> str:
        fn, col, k = m.group(1), m.group(2).strip("`"), m.group(3)
        name = f"{fn}({col})" if k is None else f"{fn}({col}, {int(k)})"
        found.setdefault(name, PanelTerm(name, fn, col, 1 if k is None else int(k)))
        return f"`{name}`"

    out = _CALL.sub(repl, formula)
    if re.search(r"\b(lag|lead|diff)\(", re.sub(r"`[^`]*`", "", out)):
        raise SpecificationError(f"lag()/lead()/diff() in {formula!r} take a column name and an integer, e.g. "
                                 "lag(log_sales, 1); build a transformed column first (e.g. a log) and lag that")
    return out, tuple(found.values())


def apply_panel_terms(df: pd.DataFrame, terms: tuple[PanelTerm, ...]) -> pd.DataFrame:
    """``df`` (indexed by (entity, numeric year)) with one column per panel term."""
    if not terms:
        return df
    if not isinstance(df.index, pd.MultiIndex) or df.index.nlevels != 2:
        raise SpecificationError("lag()/lead()/diff() need data indexed by (firm, year) (or entity=/time=)")
    year = df.index.get_level_values(1)
    if not (pd.api.types.is_integer_dtype(year) or pd.api.types.is_float_dtype(year)):
        raise SpecificationError(f"lag()/lead()/diff() need numeric calendar years in the index level "
                                 f"{year.name!r}, got dtype {year.dtype}")
    missing = sorted({t.column for t in terms if t.column not in df.columns})
    if missing:
        raise SpecificationError(f"column(s) {missing} used in lag/lead/diff not found; available: "
                                 f"{list(df.columns)[:40]}")
    firm, yr = df.index.get_level_values(0), np.asarray(year)
    new = {}
    for t in terms:
        x = pd.to_numeric(df[t.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        step = -t.k if t.fn == "lead" else t.k
        src = pd.Series(x, index=pd.MultiIndex.from_arrays([firm, yr + step]))
        shifted = src.reindex(df.index).to_numpy()  # x of the same firm in year t - k (lead: t + k)
        new[t.name] = x - shifted if t.fn == "diff" else shifted
    return df.assign(**new)
