"""Instrument construction for difference and system GMM, as xtabond2 builds it (Roodman 2009, §3–4).

The data live on a firm × period grid (one row per firm, one column per calendar period from the first to the last
year of the sample), so a lag is a shift along the period axis and a lag across a gap in the years is missing,
never the previous row. Everything below works on whole grids or on per-period slices; nothing loops over firms.

Specifications (the xtabond2 suboptions, one to one):

* :func:`gmm` ``(var, lags=(a, b), collapse=False, eq="both")`` ↔ ``gmmstyle(var, laglimits(a b) collapse
  equation(both))``: for the transformed equation of period t, levels ``var[t-a] … var[t-b]`` (``b=None``: all
  available), one column per period and lag (zero where unavailable), or one per lag when collapsed; for the level
  equation of system GMM, the difference ``Δvar[t-a+1]`` (``eq="level"`` alone: ``Δvar[t-a] … Δvar[t-b]``).
* :func:`iv` ``(*vars, eq="both")`` ↔ ``ivstyle(vars, equation(both))``: one column per variable, transformed
  (differenced or orthogonal deviations) in the transformed equation and in levels in the level equation.

Transforms: first differences (``"fd"``) or forward orthogonal deviations (``"fod"``, Arellano–Bover 1995) over
the firm's later observations in the estimation sample, stored one period later as xtabond2 does, so that the
same lag limits give valid instruments under both transforms.

The stacked estimation rows are the transformed-equation rows followed (system GMM) by the level rows. The
instrument matrix Z is a scipy.sparse CSR matrix built column by column from per-period index arrays; the firm
blocks Zᵢ are never materialised: Σᵢ Zᵢ'HᵢZᵢ = Q'Q with Q = M⁺'Z (the adjoint of the transform maps the stacked
rows back to the level grid; Hᵢ = Mᵢ⁺Mᵢ⁺' is xtabond2's h(3) one-step weight), and per-firm sums Zᵢ'eᵢ are one
sparse product with the firm indicator matrix. Written here because no Python library builds xtabond2's
instrument sets (pydynpd 0.2 does not run on numpy 2 and loops over firms).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .design import SpecificationError

EQUATIONS = ("both", "diff", "level")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_LAG = re.compile(rf"^\s*(lag|lead|L|F)\s*\(\s*({_NAME})\s*(?:,\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?)?\)\s*$")
_PLAIN = re.compile(rf"^\s*({_NAME})\s*$")


# ------------------------------------------------------------------------------------------------ specifications
def parse_term(text: str) -> list[tuple[str, int]]:
    """``"w"`` → [("w", 0)]; ``"lag(n, 2)"`` → [("n", 2)]; ``"lag(n, 1:2)"`` → [("n", 1), ("n", 2)];
    ``"lead(x)"`` → [("x", -1)]. No user text is evaluated: anything else is refused with the accepted forms."""
    m = _PLAIN.match(text)
    if m:
        return [(m.group(1), 0)]
    m = _LAG.match(text)
    if m:
        fn, var, a, b = m.groups()
        a = 1 if a is None else int(a)
        b = a if b is None else int(b)
        sign = -1 if fn in ("lead", "F") else 1
        return [(var, sign * k) for k in range(a, b + 1)] if a <= b else [(var, sign * k) for k in range(a, b - 1, -1)]
    raise SpecificationError(
        f"cannot read the term {text!r}: dynamic GMM formulas take column names and panel lags, e.g. 'n', "
        "'lag(n, 1)', 'lag(n, 1:2)', 'lead(x, 1)'; compute transformed columns (logs, ratios) before estimation")


def term_name(var: str, lag: int) -> str:
    """Display name of a (variable, lag) term: ``n``, ``lag(n, 1)``, ``lead(x, 1)``."""
    return var if lag == 0 else f"lag({var}, {lag})" if lag > 0 else f"lead({var}, {-lag})"


def _terms(vars_: str | Sequence[str]) -> tuple[tuple[str, int], ...]:
    items = [vars_] if isinstance(vars_, str) else list(vars_)
    out: list[tuple[str, int]] = []
    for item in items:
        out.extend(parse_term(item))
    if not out:
        raise SpecificationError("an instrument group needs at least one variable")
    return tuple(out)


def _check_eq(eq: str) -> str:
    if eq not in EQUATIONS:
        raise SpecificationError(f"eq must be one of {EQUATIONS} (xtabond2 equation()), got {eq!r}")
    return eq


@dataclass(frozen=True)
class GMMStyle:
    """GMM-style instrument group (xtabond2 ``gmmstyle``); build with :func:`gmm`."""

    terms: tuple[tuple[str, int], ...]
    lags: tuple[int, int | None] = (1, None)
    collapse: bool = False
    eq: str = "both"
    split: bool = False

    @property
    def label(self) -> str:
        names = " ".join(term_name(v, k) for v, k in self.terms)
        a, b = self.lags
        opts = [f"lags({a}, {'.' if b is None else b})"]
        if self.collapse:
            opts.append("collapse")
        if self.eq != "both":
            opts.append(f"eq({self.eq})")
        return f"gmm({names}, {', '.join(opts)})"

    def xtabond2(self) -> str:
        """The equivalent xtabond2 suboption text."""
        names = " ".join(("L" + (str(k) if k > 1 else "") + "." + v) if k > 0 else
                         ("F" + (str(-k) if k < -1 else "") + "." + v) if k < 0 else v for v, k in self.terms)
        a, b = self.lags
        s = f"gmm({names}, laglimits({a} {'.' if b is None else b})"
        s += " collapse" if self.collapse else ""
        s += f" equation({self.eq})" if self.eq != "both" else ""
        return s + (" split" if self.split else "") + ")"


@dataclass(frozen=True)
class IVStyle:
    """IV-style instrument group (xtabond2 ``ivstyle``); build with :func:`iv`."""

    terms: tuple[tuple[str, int], ...]
    eq: str = "both"
    passthru: bool = False
    mz: bool = False

    @property
    def label(self) -> str:
        names = " ".join(term_name(v, k) for v, k in self.terms)
        return f"iv({names}" + (f", eq({self.eq})" if self.eq != "both" else "") + ")"


def gmm(vars: str | Sequence[str], lags: tuple[int, int | None] = (1, None), *, collapse: bool = False,
        eq: str = "both", split: bool = False) -> GMMStyle:
    """GMM-style instruments, xtabond2 ``gmmstyle(vars, laglimits(a b) [collapse] equation(eq) [split])``.

    ``vars``: a column or panel lag (``"n"``, ``"lag(n, 1)"``) or a list of them (one group, one
    difference-in-Hansen test). ``lags=(a, b)``: lags a…b of the levels instrument the transformed equation
    (``b=None``: all available); system GMM adds Δvar lagged a−1 for the level equation. ``gmm("n", (2, None))`` is
    ``gmm(L.n)`` in xtabond2 (an endogenous variable or the dependent variable), ``gmm("w", (1, None))`` a
    predetermined one. ``collapse``: one column per lag instead of one per period and lag (Roodman 2009b).
    ``split``: test the transformed- and level-equation parts separately (difference-in-Hansen).

    Examples
    --------
    >>> g = gmm("n", (2, 4), collapse=True)
    >>> g.lags, g.collapse, g.eq
    ((2, 4), True, 'both')

    Pass it to :func:`~clusterecon.estimators.arellano_bond` / ``blundell_bond`` as ``instruments=[g, ...]``.
    """
    a, b = lags
    if b is not None and b < a:
        a, b = b, a  # xtabond2 swaps reversed limits
    return GMMStyle(_terms(vars), (int(a), None if b is None else int(b)), bool(collapse), _check_eq(eq), bool(split))


def iv(*vars: str | Sequence[str], eq: str = "both", passthru: bool = False, mz: bool = False) -> IVStyle:
    """IV-style instruments, xtabond2 ``ivstyle(vars, equation(eq) [passthru] [mz])``: one column per variable,
    transformed like the regressors in the transformed equation (untransformed with ``passthru``), in levels in the
    level equation. A missing value removes the row from the sample unless ``mz`` (missing → 0).

    Examples
    --------
    >>> s = iv("k", "w", eq="diff")
    >>> len(s.terms), s.eq, s.passthru
    (2, 'diff', False)
    """
    flat: list[str] = []
    for v in vars:
        flat.extend([v] if isinstance(v, str) else list(v))
    return IVStyle(_terms(flat), _check_eq(eq), bool(passthru), bool(mz))


# ------------------------------------------------------------------------------------------------ the panel grid
@dataclass(frozen=True)
class PanelGrid:
    """Firms × consecutive periods. ``firm``/``period`` give each input row's cell; ``times`` the period labels."""

    firm: np.ndarray
    period: np.ndarray
    firms: pd.Index
    times: np.ndarray

    @property
    def N(self) -> int:
        return len(self.firms)

    @property
    def T(self) -> int:
        return len(self.times)

    @classmethod
    def from_index(cls, index: pd.MultiIndex) -> PanelGrid:
        years = index.get_level_values(1)
        if not (pd.api.types.is_integer_dtype(years) or pd.api.types.is_float_dtype(years)):
            raise SpecificationError(
                f"dynamic GMM needs numeric periods in the index level {years.name!r} (calendar years or survey "
                f"rounds), got dtype {years.dtype}")
        yv = np.asarray(years, dtype=float)
        if not np.all(np.isfinite(yv)) or np.any(yv != np.round(yv)):
            raise SpecificationError(f"the periods in {years.name!r} must be whole numbers (years or rounds)")
        t0 = int(yv.min())
        period = (yv - t0).astype(np.int64)
        T = int(period.max()) + 1
        firm, firms = pd.factorize(index.get_level_values(0), sort=True)
        return cls(firm.astype(np.int64), period, pd.Index(firms, name=index.names[0]), np.arange(t0, t0 + T))

    def put(self, values: np.ndarray) -> np.ndarray:
        """An (N, T) grid holding ``values`` (one per input row), NaN in unobserved cells."""
        g = np.full((self.N, self.T), np.nan)
        g[self.firm, self.period] = np.asarray(values, dtype=float)
        return g


def shift(g: np.ndarray, k: int) -> np.ndarray:
    """Lag k along the period axis (lead for k < 0): out[:, t] = g[:, t-k], NaN where t-k is outside the grid."""
    if k == 0:
        return g
    out = np.full_like(g, np.nan)
    if k > 0 and k < g.shape[1]:
        out[:, k:] = g[:, :-k]
    elif k < 0 and -k < g.shape[1]:
        out[:, :k] = g[:, -k:]
    return out


def first_difference(g: np.ndarray) -> np.ndarray:
    """Δg[t] = g[t] − g[t−1]; missing when either period is (a gap makes the difference missing)."""
    return g - shift(g, 1)


def orthogonal_deviations(g: np.ndarray, avail: np.ndarray) -> np.ndarray:
    """Forward orthogonal deviations over the later periods where ``avail`` (the estimation sample in levels):
    g*[t] = √(Tₜ/(Tₜ+1))·(g[t] − mean of g over the Tₜ later available periods), stored at period t+1 (xtabond2)."""
    vals = np.where(avail, g, 0.0)  # NaN at an available cell propagates (an instrument missing there)
    cnt = avail.astype(float)
    fut_sum = np.cumsum(vals[:, ::-1], axis=1)[:, ::-1] - vals
    fut_cnt = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1] - cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.sqrt(fut_cnt / (fut_cnt + 1.0)) * (g - fut_sum / fut_cnt)
    dev[~avail | (fut_cnt == 0)] = np.nan
    return shift(dev, 1)


def fod_scale(avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cₜ, Tₜ) of forward orthogonal deviations at each cell: Tₜ later available periods, cₜ = √(Tₜ/(Tₜ+1))."""
    cnt = avail.astype(float)
    fut_cnt = np.cumsum(cnt[:, ::-1], axis=1)[:, ::-1] - cnt
    return np.sqrt(fut_cnt / (fut_cnt + 1.0)), fut_cnt


# ------------------------------------------------------------------------------------------------ stacked rows
@dataclass(frozen=True)
class Rows:
    """The stacked estimation rows: transformed-equation rows (``cell_d``, flat grid cells i·T + t of the stored
    period) then level rows (``cell_l``). ``T`` is the grid width."""

    cell_d: np.ndarray
    cell_l: np.ndarray
    T: int
    N: int

    @property
    def n_d(self) -> int:
        return len(self.cell_d)

    @property
    def n_l(self) -> int:
        return len(self.cell_l)

    @property
    def R(self) -> int:
        return self.n_d + self.n_l

    @property
    def firm(self) -> np.ndarray:
        return np.concatenate([self.cell_d, self.cell_l]) // self.T

    def gather(self, grid_d: np.ndarray | None, grid_l: np.ndarray | None) -> np.ndarray:
        """Stack a transformed-equation grid and a level grid into one vector over the rows (0 where None)."""
        d = np.zeros(self.n_d) if grid_d is None else grid_d.reshape(-1)[self.cell_d]
        lv = np.zeros(self.n_l) if grid_l is None else grid_l.reshape(-1)[self.cell_l]
        return np.concatenate([d, lv])

    def firm_matrix(self) -> sp.csr_matrix:
        """G (N × R): Gᵢᵣ = 1 when row r belongs to firm i, so G @ (e ⊙ Z) stacks the Zᵢ'eᵢ."""
        return sp.csr_matrix((np.ones(self.R), (self.firm, np.arange(self.R))), shape=(self.N, self.R))


def transform_adjoint(rows: Rows, transform: str, avail: np.ndarray, *, cells: np.ndarray | None = None,
                      ) -> sp.csr_matrix:
    """M' as a sparse (N·T × n) matrix, mapping values on transformed rows (``cells``, default the transformed
    equation's) back onto the level grid: (M'a)[s] = Σ_r M[r, s]·a[r]. For first differences row t carries
    +1 at t and −1 at t−1; for orthogonal deviations (stored at t+1) +cₜ at t and −cₜ/Tₜ at each later
    available period. Its transpose applies the transform to a level-grid vector."""
    cells = rows.cell_d if cells is None else cells
    n, T, NT = len(cells), rows.T, rows.N * rows.T
    cols = np.arange(n)
    if transform == "fd":
        r = np.concatenate([cells, cells - 1])
        c = np.concatenate([cols, cols])
        v = np.concatenate([np.ones(n), -np.ones(n)])
        return sp.csr_matrix((v, (r, c)), shape=(NT, n))
    c_t, T_t = fod_scale(avail)
    src = cells - 1  # the level period t whose deviation is stored at t+1
    ct, Tt = c_t.reshape(-1)[src], T_t.reshape(-1)[src]
    rs, cs, vs = [src], [cols], [ct]
    per = src % T
    av = avail.reshape(-1)
    for d in range(1, T):
        ok = per + d < T
        later = src[ok] + d
        keep = av[later]
        rs.append(later[keep])
        cs.append(cols[ok][keep])
        vs.append(-(ct[ok] / Tt[ok])[keep])
    return sp.csr_matrix((np.concatenate(vs), (np.concatenate(rs), np.concatenate(cs))), shape=(NT, n))


# ------------------------------------------------------------------------------------------------ instruments
@dataclass
class InstrumentSet:
    """Z over the stacked rows with column ``names``; ``groups`` maps a test label to its column positions (one
    group per gmm()/iv() option, the level-equation part of each split group, and all GMM-style level instruments
    of system GMM); ``dropped`` counts all-zero or collinear columns removed."""

    Z: sp.csr_matrix
    names: list[str]
    groups: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: int = 0

    @property
    def L(self) -> int:
        return len(self.names)


class _Builder:
    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.r: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.names: list[str] = []
        self.groups: dict[str, list[int]] = {}

    def add(self, name: str, rows: np.ndarray, values: np.ndarray, groups: Sequence[str]) -> None:
        nz = np.isfinite(values) & (values != 0)
        if not nz.any():
            return  # an all-zero column (no period has this lag): xtabond2 drops it too
        j = len(self.names)
        self.r.append(rows[nz])
        self.v.append(values[nz])
        self.c.append(np.full(int(nz.sum()), j))
        self.names.append(name)
        for g in groups:
            self.groups.setdefault(g, []).append(j)

    def matrix(self) -> sp.csr_matrix:
        L = len(self.names)
        if not L:
            return sp.csr_matrix((self.rows.R, 0))
        return sp.csr_matrix((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                             shape=(self.rows.R, L))


def build_instruments(rows: Rows, times: np.ndarray, levels: Callable[[str, int], np.ndarray],
                      transformed: Callable[[str, int], np.ndarray], gmm_specs: Sequence[GMMStyle],
                      iv_specs: Sequence[IVStyle], *, system: bool, constant: bool,
                      extra_iv: Sequence[tuple[str, str, np.ndarray | None, np.ndarray | None]] = ()) -> _Builder:
    """Every instrument column over the stacked rows.

    ``levels(var, lag)`` returns the level grid of a term, ``transformed(var, lag)`` its transformed grid (stored
    periods). ``extra_iv``: generated IV-style columns such as time dummies, as (group label, column name,
    transformed grid or None, level grid or None). Returns the column builder; see :func:`finish`.
    """
    b = _Builder(rows)
    if system and constant:  # first, so that a collinear period dummy goes rather than the constant (xtabond2)
        b.add("_cons", np.arange(rows.n_l) + rows.n_d, np.ones(rows.n_l), ["iv(_cons, eq(level))"])
    for spec in gmm_specs:
        for var, k in spec.terms:
            g = levels(var, k)
            if spec.eq in ("both", "diff") and rows.n_d:
                _gmm_transformed(b, spec, term_name(var, k), g, times, system)
            if system and spec.eq in ("both", "level") and rows.n_l:
                _gmm_level(b, spec, term_name(var, k), g, times)
    ivcols: list[tuple[str, str, np.ndarray | None, np.ndarray | None]] = []
    for spec in iv_specs:
        for var, k in spec.terms:
            gl = levels(var, k)
            gd = gl if spec.passthru else transformed(var, k)
            ivcols.append((spec.label, term_name(var, k) if spec.eq == "both" else f"{term_name(var, k)} "
                           f"[{spec.eq}]", gd if spec.eq in ("both", "diff") else None,
                           gl if spec.eq in ("both", "level") else None))
    ivcols.extend(extra_iv)
    for group, name, gd, gl in ivcols:
        vd = rows.gather(gd, None)[: rows.n_d] if gd is not None else np.zeros(rows.n_d)
        vl = rows.gather(None, gl)[rows.n_d:] if (gl is not None and system) else np.zeros(rows.n_l)
        b.add(name, np.arange(rows.R), np.nan_to_num(np.concatenate([vd, vl]), nan=0.0), [group])
    return b


def _per_period(b: _Builder, name: str, idx: np.ndarray, per: np.ndarray, ok: np.ndarray, vals: np.ndarray,
                times: np.ndarray, groups: list[str], collapse: bool) -> None:
    """One column (collapsed) or one column per period of the rows ``idx`` (``per`` their periods)."""
    if collapse:
        b.add(name, idx, vals, groups)
        return
    for t in np.unique(per[ok]):
        sel = per == t
        b.add(f"{name} @{times[t]}", idx[sel], vals[sel], groups)


def _gmm_transformed(b: _Builder, spec: GMMStyle, base: str, g: np.ndarray, times: np.ndarray, system: bool,
                     ) -> None:
    """Levels of ``g`` lagged a…b for the transformed equation of each stored period."""
    rows, T = b.rows, b.rows.T
    td, fd_ = rows.cell_d % T, rows.cell_d // T
    a, bmax = spec.lags
    grp = [f"{spec.label} [transformed eq.]" if spec.split and system else spec.label]
    for lag in range(a, (T if bmax is None else bmax) + 1):
        src = td - lag
        ok = src >= 0
        vals = np.zeros(rows.n_d)
        vals[ok] = g[fd_[ok], src[ok]]
        _per_period(b, f"{base} L{lag}", np.arange(rows.n_d), td, ok, np.nan_to_num(vals, nan=0.0), times, grp,
                    spec.collapse)


def _gmm_level(b: _Builder, spec: GMMStyle, base: str, g: np.ndarray, times: np.ndarray) -> None:
    """Differences of ``g`` for the level equation: lagged a−1 (``eq="both"``) or a…b (``eq="level"``)."""
    rows, T = b.rows, b.rows.T
    tl, fl_ = rows.cell_l % T, rows.cell_l // T
    a, bmax = spec.lags
    dg = first_difference(g)
    lag_list = [a - 1] if spec.eq == "both" else list(range(a, (T if bmax is None else bmax) + 1))
    groups = [f"{spec.label} [level eq.]" if spec.split else spec.label, "GMM instruments for levels"]
    for lag in lag_list:
        src = tl - lag
        ok = (src >= 0) & (src < T)
        vals = np.zeros(rows.n_l)
        vals[ok] = dg[fl_[ok], src[ok]]
        _per_period(b, f"D.{base}" + (f" L{lag}" if lag else ""), np.arange(rows.n_l) + rows.n_d, tl, ok,
                    np.nan_to_num(vals, nan=0.0), times, groups, spec.collapse)


def finish(b: _Builder, *, tol: float = 1e-10) -> InstrumentSet:
    """Drop instruments that are linear combinations of earlier ones (xtabond2 drops them too; the count it prints
    is the rank), and return the instrument set."""
    from .linear import independent_in_gram

    Z = b.matrix()
    if Z.shape[1] == 0:
        return InstrumentSet(Z, [], {})
    G = (Z.T @ Z).toarray()
    keep = independent_in_gram(G, tol)
    dropped = Z.shape[1] - len(keep)
    pos = {int(j): i for i, j in enumerate(keep)}
    groups = {lab: np.array([pos[j] for j in cols if j in pos], dtype=int) for lab, cols in b.groups.items()}
    return InstrumentSet(Z[:, keep].tocsr(), [b.names[j] for j in keep], {k: v for k, v in groups.items() if len(v)},
                         dropped)
