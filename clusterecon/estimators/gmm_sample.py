"""The estimation sample of difference and system GMM: formula → firm × period grids → stacked rows, regressors
and instruments, with every input row that is not an observation counted under its reason.

The formula names the dependent variable and the regressors as columns and panel lags (``lag(n, 1)``,
``lag(n, 1:2)``, ``lead(x)``); lags are shifts along calendar periods on the grid of :mod:`.gmm_instruments`, so a
lag across a gap is missing. The stacked rows are the transformed equation's (first differences or forward
orthogonal deviations) followed, in system GMM, by the level equation's; regressors are the formula terms, period
dummies and (system GMM) the constant, with collinear ones dropped as Stata drops them: the constant first, then
the formula terms, then the dummies. The Arellano–Bond tests need differenced data even after orthogonal
deviations (Roodman 2009, §3.5): :func:`_attach_test_data` keeps them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .design import SpecificationError
from .gmm_instruments import (
    GMMStyle,
    InstrumentSet,
    IVStyle,
    PanelGrid,
    Rows,
    build_instruments,
    finish,
    first_difference,
    orthogonal_deviations,
    parse_term,
    shift,
    term_name,
    transform_adjoint,
)
from .linear import independent_in_gram, warn_dropped
from .results import Omitted

__all__ = ["GMMProblem", "GMMSample", "build_sample", "parse_formula"]


# ------------------------------------------------------------------------------------------------ the formula
def _split_top(text: str) -> list[tuple[str, str]]:
    """Split at top-level + and − (not inside parentheses): [(sign, term), ...]."""
    out, depth, cur, sign = [], 0, "", "+"
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch in "+-" and depth == 0:
            if cur.strip():
                out.append((sign, cur.strip()))
            elif ch == "-" and sign == "-":
                raise SpecificationError(f"cannot read {text!r}")
            sign, cur = ch, ""
        else:
            cur += ch
    if cur.strip():
        out.append((sign, cur.strip()))
    return out


_RANGE = re.compile(r"\b(lag|lead)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(\d+)\s*:\s*(\d+)\s*\)")


def _expand_ranges(formula: str) -> str:
    """``lag(n, 1:2)`` (plm's lag range) → ``lag(n, 1) + lag(n, 2)``, the form the shared formula guard accepts."""
    def one(m: re.Match) -> str:
        fn, var, a, b = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        step = 1 if b >= a else -1
        return "(" + " + ".join(f"{fn}({var}, {k})" for k in range(a, b + step, step)) + ")"
    return _RANGE.sub(one, formula)


def parse_formula(formula: str) -> tuple[str, list[tuple[str, int]], bool]:
    """``"n ~ lag(n, 1:2) + w - 1"`` → ("n", [("n", 1), ("n", 2), ("w", 0)], constant=False). The formula passes
    the project's formula guard first; then only column names and panel lags are accepted (nothing is evaluated)."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise SpecificationError(f"formula {formula!r} needs one '~' between the dependent variable and regressors")
    from ..formula_guard import check_formula

    try:
        check_formula(_expand_ranges(formula), require_lhs=True)
    except ValueError as e:
        raise SpecificationError(str(e)) from None
    lhs, rhs = formula.split("~")
    dep = lhs.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", dep):
        raise SpecificationError(f"the dependent variable must be a column name, got {dep!r}; compute it first")
    terms: list[tuple[str, int]] = []
    constant = True
    for sign, term in _split_top(rhs):
        if term in ("0", "1"):
            constant = not (term == "0" or sign == "-")
            continue
        if sign == "-":
            raise SpecificationError(f"cannot remove the term {term!r}; leave it out of the formula")
        for t in parse_term(term):
            if t not in terms:
                terms.append(t)
    if not terms:
        raise SpecificationError(f"formula {formula!r} has no regressor")
    return dep, terms, constant


# ------------------------------------------------------------------------------------------------ the problem
@dataclass
class GMMProblem:
    """The stacked estimation problem: rows, X (R × K), y, instruments, and the differenced data of the AR tests
    (``test_cells`` on the grid, ΔX and Δy there). ``P`` is M' of the transformed rows (level grid × n_d)."""

    rows: Rows
    X: np.ndarray
    y: np.ndarray
    inst: InstrumentSet
    names: list[str]
    system: bool
    transform: str
    h: int
    avail: np.ndarray
    P: sp.csr_matrix
    test_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    test_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    test_y: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def nobs(self) -> int:
        """Observations as xtabond2 counts them: level-equation rows (system GMM) or transformed rows."""
        return self.rows.n_l if self.system else self.rows.n_d

    @property
    def obs_cells(self) -> np.ndarray:
        """Grid cell of each observation: the level cell (system GMM) or the period a transformed row belongs to
        (orthogonal deviations are stored one period late)."""
        r = self.rows
        return r.cell_l if self.system else r.cell_d - (1 if self.transform == "fod" else 0)

    @property
    def source_cells(self) -> np.ndarray:
        """The distinct level cells the stacked rows come from (every one an input row)."""
        r = self.rows
        used = np.zeros(r.N * r.T, dtype=bool)
        used[r.cell_d - (1 if self.transform == "fod" else 0)] = True
        used[r.cell_l] = True
        return np.flatnonzero(used)


@dataclass
class GMMSample:
    """A built problem with what the result reports about its sample."""

    pb: GMMProblem
    grid: PanelGrid
    observed: np.ndarray
    raw: dict[str, np.ndarray]
    dropped: list[tuple[str, str]]
    tname: str


class _Grids:
    """Level and transformed grids of (variable, lag) terms, each computed once."""

    def __init__(self, raw: dict[str, np.ndarray], transform: str) -> None:
        self.raw, self.transform = raw, transform
        self.avail: np.ndarray | None = None
        self._lev: dict[tuple[str, int], np.ndarray] = {}
        self._tr: dict[tuple[str, int], np.ndarray] = {}

    def level(self, var: str, k: int) -> np.ndarray:
        if (var, k) not in self._lev:
            self._lev[(var, k)] = shift(self.raw[var], k)
        return self._lev[(var, k)]

    def transformed(self, var: str, k: int) -> np.ndarray:
        if (var, k) not in self._tr:
            g = self.level(var, k)
            self._tr[(var, k)] = first_difference(g) if self.transform == "fd" else \
                orthogonal_deviations(g, self.avail)
        return self._tr[(var, k)]

    def transform_grid(self, g: np.ndarray) -> np.ndarray:
        return first_difference(g) if self.transform == "fd" else orthogonal_deviations(g, self.avail)


def _all_finite(grids: Sequence[np.ndarray]) -> np.ndarray:
    """Cells where every grid is observed (listwise availability)."""
    ok = np.isfinite(grids[0])
    for g in grids[1:]:
        ok &= np.isfinite(g)
    return ok


def _read_columns(df: pd.DataFrame, needed: list[str], grid: PanelGrid) -> dict[str, np.ndarray]:
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    for c in needed:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            raise SpecificationError(f"column {c!r} is not numeric (dtype {df[c].dtype})")
    return {c: grid.put(pd.to_numeric(df[c], errors="coerce").astype("float64").to_numpy()) for c in needed}


def build_sample(df: pd.DataFrame, dep: str, terms: list[tuple[str, int]], constant: bool, *, system: bool,
                 transform: str, time_dummies: Any, gmm_specs: tuple[GMMStyle, ...], iv_specs: tuple[IVStyle, ...],
                 h: int) -> GMMSample:
    """The stacked problem of ``dep ~ terms`` on the (firm, period)-indexed ``df``."""
    needed = list(dict.fromkeys([dep] + [v for v, _ in terms] + [v for s in gmm_specs for v, _ in s.terms]
                                + [v for s in iv_specs for v, _ in s.terms]))
    grid = PanelGrid.from_index(df.index)
    raw = _read_columns(df, needed, grid)
    observed = np.zeros((grid.N, grid.T), dtype=bool)
    observed[grid.firm, grid.period] = True
    gr = _Grids(raw, transform)
    Ylev, Xlev = gr.level(dep, 0), [gr.level(v, k) for v, k in terms]
    gr.avail = _all_finite([Ylev, *Xlev])
    rows = _stacked_rows(gr, dep, terms, iv_specs, system)
    if rows.n_d == 0:
        raise SpecificationError(_no_rows_message(dep, terms, grid, observed, transform))
    tname = str(df.index.names[1] or "period")
    names, X_all, is_dummy, extra_iv = _regressors(gr, rows, terms, grid, time_dummies, constant, system, tname)
    kept, dropped = _independent_regressors(X_all, names, is_dummy, constant)
    names = [names[j] for j in kept]
    y = np.nan_to_num(rows.gather(gr.transformed(dep, 0), Ylev if system else None))
    inst = finish(build_instruments(rows, grid.times, gr.level, gr.transformed, gmm_specs, iv_specs,
                                    system=system, constant=constant, extra_iv=extra_iv))
    if inst.L < len(names):
        raise SpecificationError(f"{inst.L} instruments for {len(names)} coefficients: the model is not identified; "
                                 "add instruments (more lags in gmm(), or iv() for exogenous regressors)")
    pb = GMMProblem(rows, X_all[:, kept], y, inst, names, system, transform, h, gr.avail,
                    transform_adjoint(rows, transform, gr.avail))
    _attach_test_data(pb, gr, dep, terms, time_dummies, kept)
    return GMMSample(pb, grid, observed, raw, dropped, tname)


def _stacked_rows(gr: _Grids, dep: str, terms: list[tuple[str, int]], iv_specs: Sequence[IVStyle],
                  system: bool) -> Rows:
    """Transformed rows where the transformed equation and its IV-style instruments are observed, then (system
    GMM) level rows where the levels and their level instruments are."""
    valid_d = _all_finite([gr.transformed(dep, 0), *[gr.transformed(v, k) for v, k in terms]])
    valid_l = gr.avail.copy() if system else np.zeros_like(gr.avail)
    for spec in iv_specs:
        if spec.mz:
            continue
        for v, k in spec.terms:
            if spec.eq in ("both", "diff"):
                valid_d &= np.isfinite(gr.level(v, k) if spec.passthru else gr.transformed(v, k))
            if spec.eq in ("both", "level") and system:
                valid_l &= np.isfinite(gr.level(v, k))
    N, T = gr.avail.shape
    return Rows(np.flatnonzero(valid_d.reshape(-1)), np.flatnonzero(valid_l.reshape(-1)), T, N)


def _regressors(gr: _Grids, rows: Rows, terms: list[tuple[str, int]], grid: PanelGrid, time_dummies: Any,
                constant: bool, system: bool, tname: str) -> tuple[list[str], np.ndarray, list[bool], list]:
    """Columns over the stacked rows: formula terms, period dummies (also IV-style instruments), constant."""
    names = [term_name(v, k) for v, k in terms]
    cols = [rows.gather(gr.transformed(v, k), gr.level(v, k) if system else None) for v, k in terms]
    is_dummy = [False] * len(cols)
    extra_iv: list[tuple[str, str, np.ndarray | None, np.ndarray | None]] = []
    if time_dummies:
        group = "iv(period dummies" + (f", eq({time_dummies})" if time_dummies != "both" else "") + ")"
        for t in range(grid.T):
            dl = np.zeros((grid.N, grid.T))
            dl[:, t] = 1.0
            dd = gr.transform_grid(dl)
            nm = f"C({tname})[T.{grid.times[t]}]"
            names.append(nm)
            cols.append(rows.gather(dd, dl if system else None))
            is_dummy.append(True)
            extra_iv.append((group, nm, dd if time_dummies in ("both", "diff") else None,
                             dl if time_dummies in ("both", "level") else None))
    if constant:
        names.append("Intercept")
        cols.append(np.concatenate([np.zeros(rows.n_d), np.ones(rows.n_l)]))
        is_dummy.append(False)
    return names, np.nan_to_num(np.column_stack(cols)), is_dummy, extra_iv


def _independent_regressors(X: np.ndarray, names: list[str], is_dummy: list[bool], constant: bool,
                            ) -> tuple[list[int], list[tuple[str, str]]]:
    """Columns kept, and (name, why) of those dropped: constant first, then formula terms, then dummies (Stata
    drops the later ones). Dropped formula terms warn; dropped period dummies are only listed."""
    last = len(names) - 1
    order = ([last] if constant else []) + [j for j in range(len(names)) if not is_dummy[j] and
                                            not (constant and j == last)] + \
        [j for j in range(len(names)) if is_dummy[j]]
    gram = X.T @ X
    kept = sorted(order[p] for p in independent_in_gram(gram[np.ix_(order, order)], 1e-9))
    dropped = [(names[j], "all zero in the estimation sample" if gram[j, j] == 0 else
                "collinear with other regressors") for j in range(len(names)) if j not in kept]
    loud = [(n, w) for n, w in dropped if not is_dummy[names.index(n)]]
    if loud:
        warn_dropped(loud)
    return kept, dropped


def _attach_test_data(pb: GMMProblem, gr: _Grids, dep: str, terms: list[tuple[str, int]], time_dummies: Any,
                      kept: list[int]) -> None:
    """Differenced data for the Arellano–Bond tests. Under first differences they are the transformed rows; under
    orthogonal deviations the residuals are differenced from levels (Roodman 2009, §3.5), at every period whose
    previous period is also in the sample."""
    rows = pb.rows
    if pb.transform == "fd":
        pb.test_cells, pb.test_X, pb.test_y = rows.cell_d, pb.X[: rows.n_d], pb.y[: rows.n_d]
        return
    avail, T = pb.avail, rows.T
    Ydiff = first_difference(gr.level(dep, 0))
    ok = avail & (shift(avail.astype(float), 1) == 1) & np.isfinite(Ydiff)
    cells = np.flatnonzero(ok.reshape(-1))
    per = cells % T
    cols = [first_difference(gr.level(v, k)).reshape(-1)[cells] for v, k in terms]
    if time_dummies:
        for t in range(T):
            cols.append((per == t).astype(float) - (per - 1 == t).astype(float))
    if pb.system and "Intercept" in pb.names:
        cols.append(np.zeros(len(cells)))
    pb.test_cells = cells
    pb.test_X = np.column_stack(cols)[:, kept]
    pb.test_y = Ydiff.reshape(-1)[cells]


# ------------------------------------------------------------------------------------------------ rows left out
def _no_rows_message(dep: str, terms: list, grid: PanelGrid, observed: np.ndarray, transform: str) -> str:
    lags = max([k for _, k in terms] + [0])
    counts = observed.sum(axis=1)
    runs = _longest_runs(observed)
    return (f"no firm has {lags + (1 if transform == 'fd' else 0) + 1} consecutive periods with {dep} and the "
            f"regressors observed (longest run of consecutive periods: {int(runs.max()) if runs.size else 0}; "
            f"periods per firm: {int(counts.min())}–{int(counts.max())}). Lags are taken along the period index "
            f"({grid.times.min()}–{grid.times.max()}); if the survey years are not consecutive (e.g. benchmark "
            "years 2005, 2008, 2012), index the panel by survey round instead")


def _longest_runs(obs: np.ndarray) -> np.ndarray:
    best = np.zeros(obs.shape[0], dtype=int)
    cur = np.zeros(obs.shape[0], dtype=int)
    for t in range(obs.shape[1]):
        cur = np.where(obs[:, t], cur + 1, 0)
        best = np.maximum(best, cur)
    return best


def omitted_rows(sample: GMMSample, dep: str, terms: list[tuple[str, int]]) -> list[Omitted]:
    """Why each input row is not an observation of the estimation: the first reason that applies, so the counts add
    up to the rows left out."""
    pb, observed, raw = sample.pb, sample.observed, sample.raw
    N, T = observed.shape
    used = np.zeros(N * T, dtype=bool)
    used[pb.obs_cells] = True
    todo = observed.reshape(-1) & ~used
    reasons: list[Omitted] = []

    def take(mask: np.ndarray, why: str) -> None:
        nonlocal todo
        hit = todo & mask.reshape(-1)
        if hit.any():
            reasons.append(Omitted(why, int(hit.sum())))
            todo &= ~hit

    need = [(dep, 0)] + list(terms)
    for v, k in need:
        if k == 0:
            take(~np.isfinite(raw[v]), f"missing {v}")
    extra = 1 if pb.transform == "fd" and not pb.system else 0
    offsets = sorted({k + d for _, k in need for d in range(0, extra + 1)} - {0})
    if offsets and offsets[-1] > 0:
        first = np.argmax(observed, axis=1)
        per = np.broadcast_to(np.arange(T), (N, T))
        take(per - offsets[-1] < first[:, None], "first period(s) of the firm: the lags are not observed")
        gap = np.zeros((N, T), dtype=bool)
        for off in offsets:
            gap |= (shift(observed.astype(float), off) != 1) & (per - off >= first[:, None])
        take(gap, "a lag falls in a gap in the periods (missing, not the previous row)")
        missing_lag = np.zeros((N, T), dtype=bool)
        for v, k in need:
            for d in range(0, extra + 1):
                if k + d > 0:
                    missing_lag |= ~np.isfinite(shift(raw[v], k + d))
        take(missing_lag, "missing values in a lagged period")
    if pb.transform == "fod" and not pb.system:
        take(np.ones((N, T), dtype=bool), "last available period of the firm (no later period for orthogonal "
             "deviations)")
    take(np.ones((N, T), dtype=bool), "missing IV-style instrument values")
    return reasons
