"""Arellano–Bond difference GMM and Blundell–Bond system GMM for dynamic panels, as xtabond2 computes them.

Model: yᵢₜ = Σₗ αₗ yᵢ,ₜ₋ₗ + xᵢₜ'β + ηᵢ + vᵢₜ with few periods and many firms. Difference GMM (Arellano and Bond
1991) removes ηᵢ by first differences or forward orthogonal deviations and instruments the transformed equation with
lagged levels; system GMM (Arellano and Bover 1995; Blundell and Bond 1998) stacks the level equation, instrumented
with lagged differences. With stacked rows X, y, instruments Z (:mod:`.gmm_instruments`) and firm blocks i:

* one-step: b₁ = (X'ZW₁Z'X)⁻¹X'ZW₁Z'y, W₁ = (Σᵢ Zᵢ'HᵢZᵢ)⁻¹, Hᵢ = Mᵢ⁺Mᵢ⁺' (xtabond2 ``h(3)``, the error covariance
  under iid unit-variance errors ignoring the fixed effect; ``h=2`` zeroes the cross blocks as DPD and Stata's
  xtdpdsys do, ``h=1`` is H = I);
* two-step: W₂ = Ŝ⁻¹, Ŝ = Σᵢ Zᵢ'ê₁ᵢê₁ᵢ'Zᵢ (one-step residuals; a generalised inverse when singular, as xtabond2);
* variances: one-step σ̂²A₁⁻¹ (``vcov="classical"``) or the firm-clustered sandwich A₁⁻¹X'ZW₁ŜW₁Z'XA₁⁻¹
  (``"robust"``); two-step A₂⁻¹ = (X'ZW₂Z'X)⁻¹ (``"classical"``) or Windmeijer's (2005) finite-sample corrected
  V = A₂⁻¹ + DA₂⁻¹ + A₂⁻¹D' + DV₁D' with Dₖ = A₂⁻¹X'ZW₂(∂Ŝ/∂bₖ)W₂Z'ê₂ (``"robust"``). σ̂² = Σê²/(2(N−K)) from
  the differenced one-step residuals (Σê²/(N−K) under orthogonal deviations), N the reported observations, as
  Stata's xtabond. No small-sample factor unless ``small=True`` (xtabond2 ``small``: V·G/(G−1)·N/(N−K+1), t and F
  with G−1 degrees of freedom, G without a constant);
* Sargan = ê₁'ZW₁Z'ê₁/σ̂² with xtabond2's σ̂² = Σê²/(2N), and Hansen J = ê₂'ZŜ⁻¹Z'ê₂, both χ²(L−K);
  difference-in-Hansen for each instrument group: J minus the J of the two-step fit without the group, weighted by
  the matching block of Ŝ (Roodman 2009, fn. 24);
* Arellano–Bond AR(m) z tests on the differenced residuals, with the variance of Arellano and Bond (1991, eq. 8)
  as Roodman (2009, §3.5) writes it for one-step non-robust, robust and two-step fits.

The instrument count is printed next to the number of firms; more instruments than firms draws a warning (Roodman
2009b: instrument proliferation overfits the endogenous variables and weakens the Hansen test).

References: Arellano and Bond (1991), Review of Economic Studies 58: 277–297; Blundell and Bond (1998), Journal of
Econometrics 87: 115–143; Windmeijer (2005), Journal of Econometrics 126: 25–51; Roodman (2009), "How to do
xtabond2", Stata Journal 9(1): 86–136. Written here because no maintained Python library fits these models
(linearmodels #95; pydynpd 0.2 fails on numpy 2); the matrix products are vectorised over firms.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from ..panel import SurveyPanel
from ._linear import independent_in_gram, warn_dropped
from .design import SpecificationError, as_panel_frame
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
from .results import EstimationResult, Omitted, TestResult, VarianceInfo

__all__ = ["DynamicGMMResult", "arellano_bond", "blundell_bond", "dynamic_gmm"]


@dataclass(frozen=True, kw_only=True)
class DynamicGMMResult(EstimationResult):
    """A difference or system GMM fit: an :class:`EstimationResult` plus the GMM specifics.

    ``tests`` holds ``"AR(1)"``, ``"AR(2)"``, … (Arellano–Bond z), ``"Sargan"``, ``"Hansen"`` and ``"Wald"``;
    ``diff_hansen`` one (group, Hansen excluding the group, difference) triple per instrument group;
    ``instruments`` the instrument names (their number is ``n_instruments``, printed next to the firms).
    """

    n_instruments: int = 0
    instruments: tuple[str, ...] = ()
    diff_hansen: tuple[tuple[str, TestResult, TestResult], ...] = ()
    system: bool = False
    steps: int = 2
    transform: str = "fd"
    gmm_specs: tuple[GMMStyle, ...] = ()
    iv_specs: tuple[IVStyle, ...] = ()

    def summary(self) -> str:
        lines = [super().summary()]
        if self.diff_hansen:
            lines.append("Difference-in-Hansen tests of exogeneity of instrument subsets:")
            for group, excl, diff in self.diff_hansen:
                lines.append(f"  {group}")
                for what, t in (("Hansen test excluding group:", excl), ("Difference (H0 exogenous):  ", diff)):
                    lines.append(f"    {what} chi2({t.df:g}) = {t.stat:.2f}, p = {t.pvalue:.3f}")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ the public API
def arellano_bond(data: SurveyPanel | pd.DataFrame, formula: str, *, gmm: GMMStyle | Sequence[GMMStyle],
                  iv: IVStyle | Sequence[IVStyle] = (), time_dummies: bool | str = True, transform: str = "fd",
                  steps: int = 2, vcov: str = "robust", h: int = 3, artests: int = 2, small: bool = False,
                  ) -> DynamicGMMResult:
    """Difference GMM (Arellano–Bond 1991): xtabond2 with ``noleveleq``.

    ``formula``: ``"n ~ lag(n, 1) + lag(n, 2) + w + lag(w, 1) + k"`` — the dependent variable and regressors,
    with panel lags ``lag(x, k)`` / ``lag(x, a:b)`` taken along calendar periods (a lag across a gap is missing).
    As in xtabond2, the formula says nothing about instruments: ``gmm=[gmm("n", (2, None))]`` (xtabond2
    ``gmm(L.n)``) and ``iv=[iv("w", "lag(w, 1)", "k")]`` (``iv(w L.w k)``) build Z. ``time_dummies``: add period
    dummies as regressors and IV-style instruments (``"both"``/True, ``"diff"``, ``"level"``; False for none).
    ``transform``: ``"fd"`` first differences or ``"fod"`` forward orthogonal deviations (xtabond2
    ``orthogonal``). ``steps``: 1 or 2. ``vcov``: ``"robust"`` (one-step: clustered by firm; two-step: Windmeijer)
    or ``"classical"``. ``h``: one-step weighting (xtabond2 ``h()``). ``artests``: highest AR order tested.
    ``small``: xtabond2's small-sample t/F inference.

    ``resid``/``fitted``: the transformed equation's residuals and fitted values (differences or orthogonal
    deviations), indexed by (firm, period); prediction on new data is not offered (it needs the lags).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from clusterecon.estimators import arellano_bond, gmm, iv
    >>> rng = np.random.default_rng(0)
    >>> n, T = 300, 6
    >>> eta, x = rng.normal(size=n), rng.normal(size=(n, T))
    >>> y = np.zeros((n, T)); y[:, 0] = 2 * eta + rng.normal(size=n)
    >>> for t in range(1, T):
    ...     y[:, t] = 0.5 * y[:, t - 1] + x[:, t] + eta + rng.normal(size=n)
    >>> df = pd.DataFrame({"firm": np.repeat(np.arange(n), T), "year": np.tile(np.arange(2001, 2001 + T), n),
    ...                    "y": y.ravel(), "x": x.ravel()}).set_index(["firm", "year"])
    >>> r = arellano_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    >>> r.nobs, r.n_entities, r.n_instruments
    (1200, 300, 9)
    >>> bool(abs(r.params["lag(y, 1)"] - 0.5) < 3 * r.std_errors["lag(y, 1)"])
    True
    """
    return dynamic_gmm(data, formula, system=False, gmm=gmm, iv=iv, time_dummies=time_dummies,
                       transform=transform, steps=steps, vcov=vcov, h=h, artests=artests, small=small)


def blundell_bond(data: SurveyPanel | pd.DataFrame, formula: str, *, gmm: GMMStyle | Sequence[GMMStyle],
                  iv: IVStyle | Sequence[IVStyle] = (), time_dummies: bool | str = True, transform: str = "fd",
                  steps: int = 2, vcov: str = "robust", h: int = 3, artests: int = 2, small: bool = False,
                  ) -> DynamicGMMResult:
    """System GMM (Arellano–Bover 1995, Blundell–Bond 1998): xtabond2's default (level equation included).

    Same arguments as :func:`arellano_bond`. The constant enters the level equation (and its instrument set) unless
    the formula has ``- 1``; ``gmm()`` groups add the lagged differences for the level equation. ``nobs`` counts
    the level-equation observations (xtabond2); ``resid``/``fitted`` are the level equation's (the residual
    includes the firm effect), indexed by (firm, period).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from clusterecon.estimators import blundell_bond, gmm, iv
    >>> rng = np.random.default_rng(1)
    >>> n, T = 500, 6
    >>> eta, x = rng.normal(size=n), rng.normal(size=(n, T))
    >>> y = np.zeros((n, T)); y[:, 0] = eta / (1 - 0.8) + rng.normal(size=n)
    >>> for t in range(1, T):
    ...     y[:, t] = 0.8 * y[:, t - 1] + x[:, t] + eta + rng.normal(size=n)
    >>> df = pd.DataFrame({"firm": np.repeat(np.arange(n), T), "year": np.tile(np.arange(2001, 2001 + T), n),
    ...                    "y": y.ravel(), "x": x.ravel()}).set_index(["firm", "year"])
    >>> r = blundell_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    >>> r.nobs, r.n_instruments, sorted(r.tests)[:3]
    (2500, 11, ['AR(1)', 'AR(2)', 'Hansen'])
    >>> bool(abs(r.params["lag(y, 1)"] - 0.8) < 3 * r.std_errors["lag(y, 1)"])
    True
    """
    return dynamic_gmm(data, formula, system=True, gmm=gmm, iv=iv, time_dummies=time_dummies,
                       transform=transform, steps=steps, vcov=vcov, h=h, artests=artests, small=small)


# ------------------------------------------------------------------------------------------------ parsing
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


def _as_list(x: Any, kind: type) -> tuple:
    items = (x,) if isinstance(x, kind) else tuple(x)
    for it in items:
        if not isinstance(it, kind):
            hint = "gmm(...)" if kind is GMMStyle else "iv(...)"
            raise SpecificationError(f"expected {hint} specifications (clusterecon.estimators.{hint}), got {it!r}")
    return items


# ------------------------------------------------------------------------------------------------ linear GMM core
def _inv(M: np.ndarray, what: str, notes: list[str]) -> np.ndarray:
    """Inverse of a symmetric PSD matrix; Moore–Penrose when singular (as xtabond2), with a note."""
    M = (M + M.T) / 2
    try:
        c = np.linalg.cholesky(M)
        ci = np.linalg.inv(c)
        return ci.T @ ci
    except np.linalg.LinAlgError:
        notes.append(f"{what} is singular; a generalised inverse was used (as xtabond2 does)")
        return np.linalg.pinv(M, hermitian=True)


@dataclass
class _Step:
    b: np.ndarray
    e: np.ndarray
    A_inv: np.ndarray
    W: np.ndarray
    Ze: np.ndarray


def _gmm_step(ZX: np.ndarray, Zy: np.ndarray, W: np.ndarray, X: np.ndarray, y: np.ndarray, Z: sp.csr_matrix,
              ) -> _Step:
    WZX = W @ ZX
    A = ZX.T @ WZX
    A_inv = np.linalg.inv((A + A.T) / 2)
    b = A_inv @ (WZX.T @ Zy)
    e = y - X @ b
    return _Step(b, e, A_inv, W, Zy - ZX @ b)


@dataclass
class _Problem:
    """Stacked estimation problem: rows, X (R × K), y, Z, firm sums, and what the AR tests need."""

    rows: Rows
    X: np.ndarray
    y: np.ndarray
    inst: InstrumentSet
    names: list[str]
    system: bool
    transform: str
    h: int
    avail: np.ndarray
    P: sp.csr_matrix  # M' of the transformed rows (level grid × n_d)
    # differenced data for the AR tests: test cells, ΔX there, and the residual rule
    test_cells: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    test_X: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    test_y: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _zhz(pb: _Problem) -> np.ndarray:
    """Σᵢ Zᵢ'HᵢZᵢ without forming H: Q = M⁺'Z on the level grid (h=3), blocks (h=2) or Z'Z (h=1)."""
    Z, rows = pb.inst.Z, pb.rows
    Zd, Zl = Z[: rows.n_d], Z[rows.n_d:]
    if pb.h == 1:
        return (Z.T @ Z).toarray()
    Qd = pb.P @ Zd  # (N·T × L)
    if pb.h == 2:
        return (Qd.T @ Qd + Zl.T @ Zl).toarray()
    if rows.n_l:
        L = sp.csr_matrix((np.ones(rows.n_l), (rows.cell_l, np.arange(rows.n_l))), shape=(rows.N * rows.T, rows.n_l))
        Qd = Qd + L @ Zl
    return (Qd.T @ Qd).toarray()


def _firm_scores(G: sp.csr_matrix, Z: sp.csr_matrix, e: np.ndarray) -> sp.csr_matrix:
    """U (N × L) with rows Zᵢ'eᵢ."""
    return (G @ sp.diags(e) @ Z).tocsr()


def _windmeijer(pb: _Problem, G: sp.csr_matrix, s1: _Step, s2: _Step, U1: sp.csr_matrix, V1r: np.ndarray,
                ) -> np.ndarray:
    """Windmeijer (2005) corrected two-step variance. ∂Ŝ/∂bₖ·g = −Σᵢ Zᵢ'(xᵢₖê₁ᵢ' + ê₁ᵢxᵢₖ')Zᵢg for g = W₂Z'ê₂,
    computed as −[Z'(sᵣ·X) + U₁'R] with sᵣ = ê₁ᵢ'Zᵢg on firm i's rows and Rᵢₖ = Σ_rows xₖ·(Zg)."""
    Z, X = pb.inst.Z, pb.X
    g = s2.W @ s2.Ze
    s = U1 @ g  # (N,)
    firm = pb.rows.firm
    term1 = Z.T @ (X * s[firm][:, None])
    zg = Z @ g
    Rm = G @ (X * zg[:, None])  # (N × K)
    term2 = U1.T @ Rm
    # Dₖ = ∂b₂/∂bₖ = A₂⁻¹X'Z(−W₂(∂Ŝ/∂bₖ)W₂)Z'ê₂ and ∂Ŝ/∂bₖ·g = −(term1 + term2)
    ZX = Z.T @ X
    D = s2.A_inv @ (ZX.T @ (s2.W @ (np.asarray(term1) + np.asarray(term2))))
    V2 = s2.A_inv
    return V2 + D @ V2 + V2 @ D.T + D @ V1r @ D.T


def _sandwich(step: _Step, ZX: np.ndarray, S: np.ndarray) -> np.ndarray:
    M = step.A_inv @ ZX.T @ step.W
    return M @ S @ M.T


# ------------------------------------------------------------------------------------------------ the estimator
def _all_finite(grids: Sequence[np.ndarray]) -> np.ndarray:
    """Cells where every grid is observed (listwise availability)."""
    ok = np.isfinite(grids[0])
    for g in grids[1:]:
        ok &= np.isfinite(g)
    return ok


def dynamic_gmm(data: SurveyPanel | pd.DataFrame, formula: str, *, system: bool,
                gmm: GMMStyle | Sequence[GMMStyle], iv: IVStyle | Sequence[IVStyle] = (),
                time_dummies: bool | str = True, transform: str = "fd", steps: int = 2, vcov: str = "robust",
                h: int = 3, artests: int = 2, small: bool = False) -> DynamicGMMResult:
    """Difference (``system=False``) or system GMM; see :func:`arellano_bond` and :func:`blundell_bond`."""
    gmm_specs = _as_list(gmm, GMMStyle)
    iv_specs = _as_list(iv, IVStyle)
    if transform not in ("fd", "fod"):
        raise SpecificationError(f"transform must be 'fd' (first differences) or 'fod' (forward orthogonal "
                                 f"deviations), got {transform!r}")
    if steps not in (1, 2):
        raise SpecificationError(f"steps must be 1 or 2, got {steps!r}")
    if vcov not in ("robust", "classical"):
        raise SpecificationError(f"vcov must be 'robust' or 'classical', got {vcov!r}")
    if h not in (1, 2, 3):
        raise SpecificationError(f"h must be 1, 2 or 3 (xtabond2 h()), got {h!r}")
    if time_dummies is True:
        time_dummies = "both"
    if time_dummies not in (False, None, "both", "diff", "level"):
        raise SpecificationError(f"time_dummies must be True/False or 'both', 'diff', 'level'; got {time_dummies!r}")
    if not gmm_specs and not iv_specs:
        raise SpecificationError("no instruments: pass gmm=[gmm('y', (2, None))] and/or iv=[iv('x')]")
    dep, terms, constant = parse_formula(formula)
    constant = constant and system
    df = as_panel_frame(data)
    for spec in gmm_specs:
        for v, k in spec.terms:
            if v == dep and k + spec.lags[0] < 2 and spec.eq != "level":
                raise SpecificationError(
                    f"{spec.label} instruments the differenced equation with {dep} lagged {k + spec.lags[0]}, "
                    f"which is correlated with the differenced error; the dependent variable needs lags=(2, None) "
                    f"(xtabond2 gmm(L.{dep}))")
    needed = [dep] + [v for v, _ in terms] + [v for s in gmm_specs for v, _ in s.terms] + \
        [v for s in iv_specs for v, _ in s.terms]
    needed = list(dict.fromkeys(needed))
    missing_cols = [c for c in needed if c not in df.columns]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    for c in needed:
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])):
            raise SpecificationError(f"column {c!r} is not numeric (dtype {df[c].dtype})")
    grid = PanelGrid.from_index(df.index)
    N, T = grid.N, grid.T
    raw = {c: grid.put(pd.to_numeric(df[c], errors="coerce").astype("float64").to_numpy()) for c in needed}
    observed = np.zeros((N, T), dtype=bool)
    observed[grid.firm, grid.period] = True
    cache: dict[tuple[str, int], np.ndarray] = {}

    def level(var: str, k: int) -> np.ndarray:
        if (var, k) not in cache:
            cache[(var, k)] = shift(raw[var], k)
        return cache[(var, k)]

    Ylev = level(dep, 0)
    Xlev = [level(v, k) for v, k in terms]
    avail = _all_finite([Ylev, *Xlev])

    tcache: dict[tuple[str, int], np.ndarray] = {}

    def transformed(var: str, k: int) -> np.ndarray:
        if (var, k) not in tcache:
            g = level(var, k)
            tcache[(var, k)] = first_difference(g) if transform == "fd" else orthogonal_deviations(g, avail)
        return tcache[(var, k)]

    Yd = transformed(dep, 0)
    Xd = [transformed(v, k) for v, k in terms]
    valid_d = _all_finite([Yd, *Xd])
    valid_l = avail.copy() if system else np.zeros_like(avail)
    for spec in iv_specs:
        if spec.mz:
            continue
        for v, k in spec.terms:
            if spec.eq in ("both", "diff"):
                valid_d &= np.isfinite(level(v, k) if spec.passthru else transformed(v, k))
            if spec.eq in ("both", "level") and system:
                valid_l &= np.isfinite(level(v, k))
    cell_d = np.flatnonzero(valid_d.reshape(-1))
    cell_l = np.flatnonzero(valid_l.reshape(-1))
    rows = Rows(cell_d, cell_l, T, N)
    if rows.n_d == 0:
        raise SpecificationError(_no_rows_message(dep, terms, grid, observed, transform))

    # regressors: formula terms, period dummies, constant
    names = [term_name(v, k) for v, k in terms]
    cols = [rows.gather(xd, xl if system else None) for xd, xl in zip(Xd, Xlev)]
    is_dummy = [False] * len(cols)
    tname = str(df.index.names[1] or "period")
    extra_iv: list[tuple[str, str, np.ndarray | None, np.ndarray | None]] = []
    if time_dummies:
        for t in range(T):
            dl = np.zeros((N, T))
            dl[:, t] = 1.0
            dd = first_difference(dl) if transform == "fd" else orthogonal_deviations(dl, avail)
            nm = f"C({tname})[T.{grid.times[t]}]"
            names.append(nm)
            cols.append(rows.gather(dd, dl if system else None))
            is_dummy.append(True)
            extra_iv.append((f"iv(period dummies{', eq(' + time_dummies + ')' if time_dummies != 'both' else ''})",
                             nm, dd if time_dummies in ("both", "diff") else None,
                             dl if time_dummies in ("both", "level") else None))
    if constant:
        names.append("Intercept")
        cols.append(np.concatenate([np.zeros(rows.n_d), np.ones(rows.n_l)]))
        is_dummy.append(False)
    X_all = np.nan_to_num(np.column_stack(cols))
    y = np.nan_to_num(rows.gather(Yd, Ylev if system else None))

    # collinear regressors: constant first, then the formula terms, then dummies (Stata drops the later ones)
    order = ([len(names) - 1] if constant else []) + [j for j in range(len(names)) if not is_dummy[j] and
                                                      not (constant and j == len(names) - 1)] + \
        [j for j in range(len(names)) if is_dummy[j]]
    gram = X_all.T @ X_all
    kept_pos = independent_in_gram(gram[np.ix_(order, order)], 1e-9)
    kept = sorted(order[p] for p in kept_pos)
    dropped = [(names[j], "all zero in the estimation sample" if gram[j, j] == 0 else
                "collinear with other regressors") for j in range(len(names)) if j not in kept]
    loud = [(n, w) for n, w in dropped if not is_dummy[names.index(n)]]
    if loud:
        warn_dropped(loud)
    X = X_all[:, kept]
    names = [names[j] for j in kept]
    K = len(names)

    builder = build_instruments(rows, grid.times, level, transformed, gmm_specs, iv_specs, system=system,
                                constant=constant, extra_iv=extra_iv)
    inst = finish(builder)
    L = inst.L
    if L < K:
        raise SpecificationError(f"{L} instruments for {K} coefficients: the model is not identified; add "
                                 "instruments (more lags in gmm(), or iv() for exogenous regressors)")
    P = transform_adjoint(rows, transform, avail)
    pb = _Problem(rows, X, y, inst, names, system, transform, h, avail, P)
    _attach_test_data(pb, Yd, Ylev, Xd, Xlev, time_dummies, kept, T, N, terms, grid, avail)
    return _estimate(pb, df=df, grid=grid, observed=observed, dep=dep, terms=terms, formula=formula, steps=steps,
                     vcov=vcov, artests=artests, small=small, dropped=dropped, gmm_specs=gmm_specs,
                     iv_specs=iv_specs, time_dummies=time_dummies, raw=raw, Xlev=Xlev, tname=tname)


def _attach_test_data(pb: _Problem, Yd: np.ndarray, Ylev: np.ndarray, Xd: list[np.ndarray], Xlev: list[np.ndarray],
                      time_dummies: Any, kept: list[int], T: int, N: int, terms: list, grid: PanelGrid,
                      avail: np.ndarray) -> None:
    """Differenced data for the Arellano–Bond tests. Under first differences they are the transformed rows; under
    orthogonal deviations the residuals are differenced from levels (Roodman 2009, §3.5), at every period whose
    previous period is also in the sample."""
    rows = pb.rows
    if pb.transform == "fd":
        pb.test_cells = rows.cell_d
        pb.test_X = pb.X[: rows.n_d]
        pb.test_y = pb.y[: rows.n_d]
        return
    ok = avail & (shift(avail.astype(float), 1) == 1)
    ok &= np.isfinite(first_difference(Ylev))
    cells = np.flatnonzero(ok.reshape(-1))
    per = cells % T
    cols = [first_difference(g).reshape(-1)[cells] for g in Xlev]
    if time_dummies:
        for t in range(T):
            cols.append((per == t).astype(float) - (per - 1 == t).astype(float))
    if pb.system and "Intercept" in pb.names:
        cols.append(np.zeros(len(cells)))
    full = np.column_stack(cols)
    pb.test_cells = cells
    pb.test_X = full[:, kept]
    pb.test_y = first_difference(Ylev).reshape(-1)[cells]


def _sigma2(pb: _Problem, e1: np.ndarray, nobs: int, dof: int = 0) -> float:
    """σ̂² of the idiosyncratic error from the one-step transformed-equation residuals: Σê²/(2(N − dof)) under
    first differences (Var Δv = 2σ²), Σê²/(N − dof) under orthogonal deviations, N the reported observations.
    Stata's xtabond uses dof = K for the variance and the AR tests; xtabond2's Sargan statistic dof = 0."""
    ed = e1[: pb.rows.n_d]
    return float(ed @ ed) / ((nobs - dof) * (2.0 if pb.transform == "fd" else 1.0))


def _h_times(pb: _Problem, w: np.ndarray) -> tuple[np.ndarray, float]:
    """(Cov(ε⁺, Δε)·w over the stacked rows, w'Var(Δε)w) under iid unit-variance errors, for lagged differenced
    residuals w on the test rows: xtabond2's σ̂²H (first differences) or M⁺⊥M_Δ' (orthogonal deviations)."""
    rows = pb.rows
    if pb.transform == "fd":
        if pb.h == 1:
            return np.concatenate([w, np.zeros(rows.n_l)]), float(w @ w)
        Pw = pb.P @ w
        lev = Pw[rows.cell_l] if pb.h == 3 else np.zeros(rows.n_l)
        return np.concatenate([pb.P.T @ Pw, lev]), float(Pw @ Pw)
    Pfd = transform_adjoint(rows, "fd", pb.avail, cells=pb.test_cells)
    v = Pfd @ w
    return np.concatenate([pb.P.T @ v, v[rows.cell_l]]), float(v @ v)


def _ar_tests(pb: _Problem, step: _Step, V: np.ndarray, robust: bool, sigma2: float, U: sp.csr_matrix,
              ZX: np.ndarray, orders: int) -> dict[str, TestResult]:
    """Arellano–Bond z for AR(1)…AR(orders) in the differenced residuals (Arellano and Bond 1991, eq. 8)."""
    T = pb.rows.T
    cells = pb.test_cells
    e = pb.test_y - pb.test_X @ step.b
    flat = np.full(pb.rows.N * T, np.nan)
    flat[cells] = e
    firm = cells // T
    per = cells % T
    N = pb.rows.N
    out: dict[str, TestResult] = {}
    proj = step.A_inv @ ZX.T @ step.W  # K × L
    for m in range(1, orders + 1):
        lagged = np.full(len(cells), np.nan)
        ok = per >= m
        lagged[ok] = flat[cells[ok] - m]
        both = np.isfinite(lagged)
        w = np.where(both, lagged, 0.0)
        num = float(w @ e)
        wX = pb.test_X.T @ w
        if robust:
            c = np.bincount(firm, weights=w * e, minlength=N)
            term1 = float(c @ c)
            mid = np.asarray(U.T @ c).ravel()
        else:
            Hw, wHw = _h_times(pb, w)
            term1 = sigma2 * wHw
            mid = sigma2 * np.asarray(pb.inst.Z.T @ Hw).ravel()
        var = term1 - 2.0 * float(wX @ (proj @ mid)) + float(wX @ V @ wX)
        name = f"AR({m})"
        if not both.any() or var <= 0:
            out[name] = TestResult(f"Arellano-Bond {name}", float("nan"), float("nan"), 1, "normal",
                                   f"no autocorrelation of order {m} in differenced errors",
                                   note="not computable: no firm has residuals that far apart")
            continue
        z = num / np.sqrt(var)
        out[name] = TestResult(f"Arellano-Bond {name}", z, float(2 * stats.norm.sf(abs(z))), 1, "normal",
                               f"no autocorrelation of order {m} in differenced errors")
    return out


def _chi2(name: str, stat: float, df: int, null: str, note: str = "") -> TestResult:
    p = float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")
    return TestResult(name, float(stat), p, df, "chi2", null, note)


def _estimate(pb: _Problem, *, df: pd.DataFrame, grid: PanelGrid, observed: np.ndarray, dep: str, terms: list,
              formula: str, steps: int, vcov: str, artests: int, small: bool, dropped: list, gmm_specs: tuple,
              iv_specs: tuple, time_dummies: Any, raw: dict, Xlev: list, tname: str) -> DynamicGMMResult:
    notes: list[str] = []
    rows, X, y, Z = pb.rows, pb.X, pb.y, pb.inst.Z
    K, L = X.shape[1], pb.inst.L
    G = rows.firm_matrix()
    ZX = np.asarray(Z.T @ X)
    Zy = np.asarray(Z.T @ y).ravel()
    W1 = _inv(_zhz(pb), "the one-step weighting matrix Z'HZ", notes)
    s1 = _gmm_step(ZX, Zy, W1, X, y, Z)
    U1 = _firm_scores(G, Z, s1.e)
    S1 = (U1.T @ U1).toarray()
    nobs = rows.n_l if pb.system else rows.n_d
    sigma2 = _sigma2(pb, s1.e, nobs, K)
    V1r = _sandwich(s1, ZX, S1)
    W2 = _inv(S1, "the two-step weighting matrix (the covariance of the moments)", notes)
    s2 = _gmm_step(ZX, Zy, W2, X, y, Z)
    robust = vcov == "robust"
    if steps == 1:
        step = s1
        V = V1r if robust else sigma2 * s1.A_inv
        U = U1
        kind = "cluster" if robust else "classical"
        rule = ("one-step GMM, sandwich clustered by firm (xtabond2 robust)" if robust else
                "one-step GMM, σ̂²(X'ZW₁Z'X)⁻¹, σ̂² from the differenced residuals")
    else:
        step = s2
        V = _windmeijer(pb, G, s1, s2, U1, V1r) if robust else s2.A_inv
        U = _firm_scores(G, Z, s2.e)
        kind = "cluster"
        rule = ("two-step GMM, Windmeijer (2005) finite-sample correction" if robust else
                "two-step GMM, (X'ZŜ⁻¹Z'X)⁻¹ without the Windmeijer correction (downward biased in small samples)")
    n_firms = int(np.unique(rows.firm).size)
    tests: dict[str, TestResult] = {}
    # AR tests use the variance before the small-sample factor (xtabond2; pinned on Roodman 2009's small example)
    tests.update(_ar_tests(pb, step, V, robust or steps == 2, sigma2, U, ZX, artests))
    df_inf = None
    has_cons = "Intercept" in pb.names
    if small:  # xtabond2's factor, pinned on Roodman (2009)'s difference and system examples
        V = V * n_firms / (n_firms - 1) * nobs / (nobs - K + 1)
        df_inf = float(n_firms - 1 if has_cons else n_firms)
        rule += "; small: ×G/(G−1)·N/(N−K+1), t and F with G−1 (G without a constant) df"
    overid = L - K
    tests["Sargan"] = _chi2("Sargan", float(s1.Ze @ W1 @ s1.Ze) / _sigma2(pb, s1.e, nobs), overid,
                            "overidentifying restrictions valid", "not robust, not weakened by many instruments")
    J = float(s2.Ze @ W2 @ s2.Ze)
    tests["Hansen"] = _chi2("Hansen J", J, overid, "overidentifying restrictions valid",
                            "robust, weakened by many instruments")
    diff_h = _diff_hansen(pb, ZX, Zy, S1, J, notes) if overid > 0 else ()
    idx = [j for j, n in enumerate(pb.names) if n != "Intercept"]
    if idx:
        Vs = V[np.ix_(idx, idx)]
        bs = step.b[idx]
        w = float(bs @ np.linalg.solve(Vs, bs))
        if small:
            q = len(idx)
            tests["Wald"] = TestResult("F", w / q, float(stats.f.sf(w / q, q, df_inf)), (q, df_inf), "F",
                                       "all coefficients except the constant are zero")
        else:
            tests["Wald"] = _chi2("Wald", w, len(idx), "all coefficients except the constant are zero")
    counted = rows.cell_l if pb.system else rows.cell_d - (1 if pb.transform == "fod" else 0)
    per_firm = np.bincount(counted // rows.T, minlength=rows.N)
    per_firm = per_firm[per_firm > 0]
    if L > n_firms:
        msg = (f"{L} instruments for {n_firms} firms: instruments outnumber the groups, which overfits the "
               "endogenous variables and weakens the Hansen test (Roodman 2009b); collapse them or limit the lags")
        warnings.warn(msg, stacklevel=3)
        notes.append("Warning: " + msg)
    notes.insert(0, f"Instruments: {L} for {n_firms} firms (groups)" + (
        f"; {pb.inst.dropped} all-zero or collinear instrument column(s) dropped" if pb.inst.dropped else ""))
    label = "System GMM (Blundell-Bond)" if pb.system else "Difference GMM (Arellano-Bond)"
    tr = "first differences" if pb.transform == "fd" else "forward orthogonal deviations"
    est = f"{'one' if steps == 1 else 'two'}-step GMM, {tr}" + (
        f", h({pb.h})" if pb.h != 3 else "")
    omitted = _omitted(df, grid, observed, counted, dep, terms, raw, pb)
    stats_ = {"Instruments": L, "Instruments / groups": f"{L} / {n_firms}"}
    effects = {"Firm FE": "Yes (" + ("differenced out" if pb.transform == "fd" else "orthogonal deviations") + ")",
               "Year FE": "Yes" if time_dummies else "No"}
    # residuals as xtabond2's predict: the transformed equation's (difference GMM) or the level equation's, which
    # include the firm effect (system GMM), indexed by the (firm, period) they belong to
    if pb.system:
        res_cells, resid = rows.cell_l, step.e[rows.n_d:]
        yv = y[rows.n_d:]
    else:
        res_cells, resid = rows.cell_d - (1 if pb.transform == "fod" else 0), step.e[: rows.n_d]
        yv = y[: rows.n_d]
    index = pd.MultiIndex.from_arrays([grid.firms[res_cells // rows.T], grid.times[res_cells % rows.T]],
                                      names=list(df.index.names))
    return DynamicGMMResult(
        model=label, estimator=est, depvar=dep, names=tuple(pb.names), coef=step.b, vcov=V,
        variance=VarianceInfo(kind, ("firm",) if kind == "cluster" else (), (n_firms,) if kind == "cluster" else (),
                              rule),
        nobs=int(nobs), df_resid=float(nobs - K), df_inference=df_inf, formula=formula, n_entities=n_firms,
        index=index, residuals=resid, fitted_values=yv - resid, t_min=int(per_firm.min()),
        t_mean=float(per_firm.mean()), t_max=int(per_firm.max()), omitted=tuple(omitted),
        dropped_regressors=tuple(dropped), stats=stats_, effects=effects, tests=tests, notes=tuple(notes),
        extra={"sigma2": sigma2, "one_step_coef": s1.b, "n_transformed_rows": rows.n_d,
               "n_level_rows": rows.n_l},
        n_instruments=L, instruments=tuple(pb.inst.names), diff_hansen=diff_h, system=pb.system, steps=steps,
        transform=pb.transform, gmm_specs=tuple(gmm_specs), iv_specs=tuple(iv_specs),
    )


def _diff_hansen(pb: _Problem, ZX: np.ndarray, Zy: np.ndarray, S: np.ndarray, J: float, notes: list[str],
                 ) -> tuple[tuple[str, TestResult, TestResult], ...]:
    """For each instrument group: Hansen J of the two-step fit without it (weighted by the matching block of Ŝ,
    as xtabond2) and the difference J − J_excl, χ²(#group)."""
    K, L = ZX.shape[1], ZX.shape[0]
    out = []
    for label, cols in pb.inst.groups.items():
        if label.startswith("iv(_cons"):
            continue
        rest = np.setdiff1d(np.arange(L), cols)
        if len(rest) < K or len(cols) == 0:
            continue
        Sr = S[np.ix_(rest, rest)]
        Wr = _inv(Sr, f"Ŝ without {label}", [])
        ZXr = ZX[rest]
        A = ZXr.T @ Wr @ ZXr
        try:
            b = np.linalg.solve(A, ZXr.T @ Wr @ Zy[rest])
        except np.linalg.LinAlgError:
            continue
        Ze = Zy[rest] - ZXr @ b
        Jr = float(Ze @ Wr @ Ze)
        df_r = len(rest) - K
        excl = _chi2("Hansen excluding group", Jr, df_r, f"instruments other than {label} valid")
        diff = _chi2("Difference-in-Hansen", J - Jr, L - len(rest), f"{label} exogenous")
        out.append((label, excl, diff))
    return tuple(out)


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


def _omitted(df: pd.DataFrame, grid: PanelGrid, observed: np.ndarray, counted: np.ndarray, dep: str, terms: list,
             raw: dict, pb: _Problem) -> list[Omitted]:
    """Why each input row is not an observation of the estimation: the first reason that applies, so the counts add
    up to the rows left out."""
    N, T = grid.N, grid.T
    used = np.zeros(N * T, dtype=bool)
    used[counted] = True
    todo = observed.reshape(-1) & ~used
    reasons: list[Omitted] = []

    def take(mask: np.ndarray, why: str) -> None:
        nonlocal todo
        hit = todo & mask.reshape(-1)
        if hit.any():
            reasons.append(Omitted(why, int(hit.sum())))
            todo &= ~hit

    first = np.argmax(observed, axis=1)
    per = np.broadcast_to(np.arange(T), (N, T))
    need = [(dep, 0)] + list(terms)
    for v, k in need:
        if k == 0:
            take(~np.isfinite(raw[v]), f"missing {v}")
    extra = 1 if pb.transform == "fd" and not pb.system else 0
    offsets = sorted({k + d for _, k in need for d in range(0, extra + 1)} - {0})
    deepest = max(offsets) if offsets else 0
    if deepest > 0:
        take(per - deepest < first[:, None], "first period(s) of the firm: the lags are not observed")
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
