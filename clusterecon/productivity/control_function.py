r"""Shared machinery of the control-function production-function estimators (OP, LP, ACF, Wooldridge, GNR).

Model (logs, firm i, year t), named as in Stata/R ``prodest``:

.. math:: y_{it} = \beta_f' f_{it} + \beta_s' s_{it} [+ \beta_p' p_{it}] + \gamma' c_{it} + \omega_{it}
          + \varepsilon_{it}, \qquad \omega_{it} = g(\omega_{i,t-1}) + \xi_{it}

with *free* inputs :math:`f` (labour), *state* inputs :math:`s` (capital), a *proxy* :math:`p` (investment for
OP, materials for LP/ACF) that is strictly increasing in :math:`\omega` given the states, so that
:math:`\omega = h(s, p)` and the first stage :math:`\phi = E[y \mid \cdot]` is a polynomial of order
``poly_order`` (prodest's R release: 2, all raw monomials and interactions). The law of motion :math:`g` is
``"poly"`` (a polynomial of order ``motion_order`` in :math:`\omega_{t-1}`, prodest: cubic with a constant) or
``"ar1"`` (:math:`\rho_0 + \rho\,\omega_{t-1}`).

This module holds what every estimator shares: the panel arrays (rows sorted by firm and year, the row of each
firm-year's lag), raw polynomial terms, the first-stage OLS, the law-of-motion basis and the concentrated
productivity innovation :math:`\xi(\theta)` (:math:`g` profiled out by OLS, as prodest does). Lags follow prodest:
``lag="calendar"`` takes year t−1 of the same firm (a gap breaks the lag); ``lag="previous"`` takes the firm's
previous observed year (for recall surveys with benchmark years, where the law of motion spans the interval).

numpy/scipy only: no maintained Python package estimates these models (see ``docs/production.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError, as_panel_frame
from ..estimators.results import Omitted
from ..panel import SurveyPanel

LAGS = ("calendar", "previous")
MOTIONS = ("poly", "ar1")


@dataclass(frozen=True)
class PanelArrays:
    """Estimation rows sorted by (firm, year): output ``y``, blocks ``free``/``state``/``proxy``/``controls``
    (n × k each) with their column names, firm codes, years, and ``has_lag`` (the previous row is this firm-year's
    lag). ``index`` is the (firm, year) index of the rows. ``lag_kind``: ``"calendar"`` or ``"previous"`` (see
    :func:`panel_arrays`); ``missing_years``: for each column left missing in every firm-year of some years, those
    years (their firm-years are left out, so the firm-years after them lose their lag)."""

    y: np.ndarray
    free: np.ndarray
    state: np.ndarray
    proxy: np.ndarray
    controls: np.ndarray
    firm: np.ndarray
    year: np.ndarray
    has_lag: np.ndarray
    names: dict[str, tuple[str, ...]]
    index: pd.MultiIndex
    extra: dict[str, np.ndarray]
    lag_kind: str = "calendar"
    missing_years: dict[str, tuple] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_firms(self) -> int:
        return int(self.firm.max()) + 1 if self.n else 0

    def lag(self, a: np.ndarray) -> np.ndarray:
        """``a`` lagged within firm (NaN where the firm-year has no lag)."""
        a = np.asarray(a, dtype=float)
        out = np.full_like(a, np.nan)
        out[1:] = a[:-1]
        out[~self.has_lag] = np.nan
        return out

    def lag_block(self, m: np.ndarray) -> np.ndarray:
        """Every column of ``m`` lagged within firm."""
        return np.column_stack([self.lag(c) for c in m.T]) if m.shape[1] else m.astype(float)

    def lag_reason(self) -> str:
        """Why a firm-year has no lag, as listed among the omitted rows of an estimator that uses only the
        firm-years with one (Wooldridge)."""
        return ("no previous observation (lag): the firm's first observed year" if self.lag_kind == "previous" else
                "no previous observation (lag): the firm is not observed in the calendar year before")

    def lag_shortage(self, label: str, n: int) -> str:
        """The error when too few firm-years have a lag: how many, and the real cause when a column is missing in
        whole years (e.g. a shifter the survey only asks in its last year)."""
        msg = f"{label}: only {n} firm-years have the lag year ({self.lag_kind!r} lags)"
        if self.missing_years:
            gaps = "; ".join(f"{c} is missing in {', '.join(str(y) for y in ys)}"
                             for c, ys in self.missing_years.items())
            return (f"{msg}: {gaps}, so those years' firm-years are left out and the firm-years after them have no "
                    "previous observation")
        return msg + ("; the GMM stage needs firms observed in consecutive years (lag='previous' uses the previous "
                      "survey year)" if self.lag_kind == "calendar" else "; the GMM stage needs firms observed twice")

    def firm_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """Start row and number of rows of each firm (rows are sorted by firm)."""
        starts = np.flatnonzero(np.r_[True, self.firm[1:] != self.firm[:-1]])
        return starts, np.diff(np.r_[starts, self.n])

    def resample(self, firms: np.ndarray, blocks: tuple[np.ndarray, np.ndarray] | None = None) -> PanelArrays:
        """The panel of the drawn firms (with repetition), each draw a new firm: a firm-cluster bootstrap sample."""
        starts, lens = blocks if blocks is not None else self.firm_blocks()
        firms = np.asarray(firms, dtype=np.int64)
        ln = lens[firms]
        offs = np.repeat(starts[firms] - np.r_[0, np.cumsum(ln)[:-1]], ln)
        rows = np.arange(int(ln.sum())) + offs
        new_firm = np.repeat(np.arange(len(firms)), ln)
        has_lag = self.has_lag[rows].copy()
        has_lag[np.r_[0, np.cumsum(ln)[:-1]]] = False  # a firm's first row never lags the previous draw
        return replace(self, y=self.y[rows], free=self.free[rows], state=self.state[rows], proxy=self.proxy[rows],
                       controls=self.controls[rows], firm=new_firm, year=self.year[rows], has_lag=has_lag,
                       index=pd.MultiIndex.from_arrays([new_firm, self.year[rows]], names=self.index.names),
                       extra={k: v[rows] for k, v in self.extra.items()})


def as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def panel_arrays(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str],
                 state: str | Sequence[str], proxy: str | Sequence[str] | None = None,
                 controls: str | Sequence[str] = (), extra: Sequence[str] = (), lag: str = "calendar",
                 ) -> tuple[PanelArrays, list[Omitted]]:
    """Validated, sorted estimation arrays and the firm-years left out (missing or non-finite values, by column).

    Variables are used as given (prodest convention: already in logs)."""
    if lag not in LAGS:
        raise SpecificationError(f"lag must be one of {LAGS}, got {lag!r}")
    frame = as_panel_frame(data)
    blocks = {"output": [output], "free": as_list(free), "state": as_list(state), "proxy": as_list(proxy),
              "controls": as_list(controls), "extra": list(extra)}
    if not blocks["free"] or not blocks["state"]:
        raise SpecificationError("a production function needs at least one free and one state variable")
    used = list(dict.fromkeys(c for cols in blocks.values() for c in cols))
    missing = [c for c in used if c not in frame.columns]
    if missing:
        raise SpecificationError(f"column(s) {missing} not in the data; available: {list(frame.columns)[:30]}")
    keep = np.ones(len(frame), dtype=bool)
    omitted: list[Omitted] = []
    values = {}
    years_all = np.asarray(frame.index.get_level_values(1))
    missing_years: dict[str, tuple] = {}
    for c in used:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) & keep
        if bad.any():
            omitted.append(Omitted(f"missing or non-finite {c}", int(bad.sum())))
            seen = pd.Series(np.isfinite(v)).groupby(years_all).any()
            if (~seen).any() and seen.any():
                missing_years[c] = tuple(seen.index[~seen.to_numpy()])
        keep &= ~bad
        values[c] = v
    idx = frame.index[keep]
    order = np.lexsort((np.asarray(idx.get_level_values(1)), pd.factorize(idx.get_level_values(0), sort=True)[0]))
    idx = idx[order]
    firm = pd.factorize(idx.get_level_values(0), sort=True)[0].astype(np.int64)
    year = np.asarray(idx.get_level_values(1))
    try:
        year_num = year.astype(float)
    except (TypeError, ValueError):
        raise SpecificationError("the time level of the index must be numeric years") from None
    same = np.r_[False, firm[1:] == firm[:-1]]
    has_lag = same & (np.r_[np.nan, np.diff(year_num)] == 1) if lag == "calendar" else same

    def block(name: str) -> np.ndarray:
        cols = blocks[name]
        if not cols:
            return np.empty((len(idx), 0))
        return np.column_stack([values[c][keep][order] for c in cols])

    arr = PanelArrays(
        y=values[output][keep][order], free=block("free"), state=block("state"), proxy=block("proxy"),
        controls=block("controls"), firm=firm, year=year_num, has_lag=has_lag,
        names={k: tuple(v) for k, v in blocks.items()}, index=idx,
        extra={c: values[c][keep][order] for c in extra}, lag_kind=lag, missing_years=missing_years)
    return arr, omitted


# ---------------------------------------------------------------------------- polynomials and OLS
def monomials(k: int, degree: int) -> list[tuple[int, ...]]:
    """Exponent tuples of every raw monomial of total degree 1..``degree`` in ``k`` variables."""
    out = []
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(range(k), d):
            e = [0] * k
            for j in combo:
                e[j] += 1
            out.append(tuple(e))
    return out


def poly(X: np.ndarray, degree: int, terms: list[tuple[int, ...]] | None = None) -> np.ndarray:
    """Raw polynomial terms of the columns of ``X`` (linear terms first, then higher orders)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    terms = monomials(X.shape[1], degree) if terms is None else terms
    cols = []
    for e in terms:
        c = np.ones(X.shape[0])
        for j, p in enumerate(e):
            if p:
                c = c * X[:, j] ** p
        cols.append(c)
    return np.column_stack(cols) if cols else np.empty((X.shape[0], 0))


def term_names(names: Sequence[str], terms: list[tuple[int, ...]]) -> list[str]:
    return ["*".join(f"{n}^{p}" if p > 1 else n for n, p in zip(names, e) if p) for e in terms]


def ols(y: np.ndarray, X: np.ndarray, constant: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients (constant first when ``constant``) and fitted values; rank-deficient designs get the
    minimum-norm solution (fitted values are still the projection)."""
    A = np.column_stack([np.ones(len(y)), X]) if constant else X
    b = np.linalg.lstsq(A, y, rcond=None)[0]
    return b, A @ b


#: most terms a law-of-motion polynomial may have (its cross-product matrix is pseudo-inverted at every step)
MAX_MOTION_TERMS = 500


def motion_basis(w: np.ndarray, motion: str = "poly", order: int = 3, extra: np.ndarray | None = None,
                 ) -> np.ndarray:
    """Regressors of the law of motion :math:`g(\\omega_{t-1}[, P])`: a constant and a raw polynomial of order
    ``order`` in :math:`\\omega_{t-1}` (``"poly"``) or in :math:`\\omega_{t-1}` alone to order 1 (``"ar1"``);
    ``extra`` (OP's survival probability) enters the full polynomial jointly with :math:`\\omega_{t-1}`."""
    if motion not in MOTIONS:
        raise SpecificationError(f"law of motion must be one of {MOTIONS}, got {motion!r}")
    d = 1 if motion == "ar1" else order
    cols = w[:, None] if extra is None else np.column_stack([w, extra])
    n_terms = math.comb(cols.shape[1] + d, d)
    if n_terms > min(MAX_MOTION_TERMS, len(w)):
        # the full polynomial grows as C(m + d, d): 30 shifters at order 3 are 5,984 terms, whose pseudo-inverse at
        # every step ran over 10 minutes without finishing (49 crashed OpenBLAS) instead of failing
        raise SpecificationError(
            f"the law of motion would have {n_terms:,} terms (a full polynomial of order {d} in ω_(t-1) and "
            f"{cols.shape[1] - 1} shifters) for {len(w):,} firm-years; the limit is {MAX_MOTION_TERMS} and the number "
            "of firm-years. Pass fewer motion_controls (e.g. one innovation share, not a dummy per year), or "
            "motion='ar1' or a lower motion_order")
    return np.column_stack([np.ones(len(w)), poly(cols, d)])


def motion_controls(a: PanelArrays, names: Sequence[str]) -> np.ndarray | None:
    r"""The columns that shift the law of motion, :math:`\omega_t = g(\omega_{t-1}, d_t) + \xi_t` (a controlled
    Markov process: De Loecker 2013, export status; Doraszelski & Jaumandreu 2013, R&D), or None.

    In a recall survey with benchmark years several years apart, a firm that innovated between two benchmark
    years both became more productive and grew, so its capital at t is correlated with the productivity
    innovation over the interval and ACF's moment :math:`E[\xi_t k_t] = 0` fails; with the firm's innovation
    status at t (``d_t``, e.g. the share of innovation indicators switched on) in g, the jump is part of the
    expected productivity and :math:`\xi_t` is again the unforeseen part."""
    if not names:
        return None
    return np.column_stack([a.extra[c] for c in names])


def motion_label(motion: str, order: int, controls: Sequence[str] = ()) -> str:
    base = "cubic" if motion == "poly" and order == 3 else (f"polynomial of order {order}" if motion == "poly"
                                                            else "AR(1)")
    return base + (f" in omega_(t-1) and {', '.join(controls)}" if controls else "")


def _standardise(w: np.ndarray) -> tuple[np.ndarray, float]:
    """(w − mean)/sd: g is fitted on a polynomial whose span does not change, but whose cross-product matrix is
    well conditioned (log output near 13 makes a raw cubic's condition number ~1e12 and the criterion noisy)."""
    sd = float(w.std()) or 1.0
    return (w - w.mean()) / sd, sd


def innovation(omega: np.ndarray, omega_lag: np.ndarray, motion: str = "poly", order: int = 3,
               extra: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\xi = \\omega - \\hat g(\\omega_{t-1})` with g fitted by OLS, and g's coefficients."""
    B = motion_basis(_standardise(omega_lag)[0], motion, order, extra)
    BtB = B.T @ B
    try:
        g = np.linalg.solve(BtB, B.T @ omega)
    except np.linalg.LinAlgError:
        g = np.linalg.lstsq(B, omega, rcond=None)[0]
    return omega - B @ g, g


def _basis_dw(w: np.ndarray, motion: str, order: int, extra: np.ndarray | None) -> np.ndarray:
    """∂(law-of-motion basis)/∂ω_{t-1}, column by column."""
    d = 1 if motion == "ar1" else order
    cols = w[:, None] if extra is None else np.column_stack([w, extra])
    out = [np.zeros(len(w))]
    for e in monomials(cols.shape[1], d):
        if e[0] == 0:
            out.append(np.zeros(len(w)))
            continue
        c = e[0] * w ** (e[0] - 1)
        for j in range(1, len(e)):
            if e[j]:
                c = c * cols[:, j] ** e[j]
        out.append(c)
    return np.column_stack(out)


def innovation_jacobian(omega: np.ndarray, omega_lag: np.ndarray, X: np.ndarray, lX: np.ndarray,
                        motion: str = "poly", order: int = 3, extra: np.ndarray | None = None,
                        w: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\xi` and its exact Jacobian in θ, where ω = φ − Xθ and ω_{t-1} = φ_{t-1} − lXθ (g re-profiled):
    :math:`\partial\xi/\partial\theta_j = -X_j - \dot B_j g - B\,\partial g/\partial\theta_j` with
    :math:`\dot B_j = -B'(\omega_{t-1})\, lX_j` and
    :math:`\partial g/\partial\theta_j = (B'B)^{-1}[\dot B_j'\omega - B'X_j - (\dot B_j'B + B'\dot B_j)g]`,
    all columns j at once (:math:`\dot B_j g = -(B'g)\circ lX_j`). Exact derivatives let the optimiser stop at
    the minimum where the criterion is flat (OP/LP on prodest's data) instead of where finite differences lose
    precision. ``w``: frequency weights (a firm-cluster bootstrap replication as counts on the original rows:
    every cross product is weighted, which equals the same sums over the duplicated rows)."""
    u, scale = _standardise(omega_lag)
    if extra is None:
        d = 1 if motion == "ar1" else order
        if motion not in MOTIONS:
            raise SpecificationError(f"law of motion must be one of {MOTIONS}, got {motion!r}")
        B = np.vander(u, d + 1, increasing=True)
        D = np.zeros_like(B)
        D[:, 1:] = B[:, :-1] * np.arange(1, d + 1)
    else:
        B = motion_basis(u, motion, order, extra)
        D = _basis_dw(u, motion, order, extra)
    D /= scale
    Bw, Dw = (B, D) if w is None else (B * w[:, None], D * w[:, None])
    Binv = np.linalg.pinv(Bw.T @ B)
    g = Binv @ (Bw.T @ omega)
    Bg, Dg = B @ g, D @ g
    rhs = Dw.T @ (lX * (Bg - omega)[:, None]) - Bw.T @ X + Bw.T @ (lX * Dg[:, None])
    J = lX * Dg[:, None] - X - B @ (Binv @ rhs)
    return omega - Bg, J


def poly_elasticities(inp: np.ndarray, terms: list[tuple[int, ...]], coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firm-year output elasticities (n × k) of a polynomial production function and the weights a with
    mean elasticity_j = a_j' θ."""
    n, k = inp.shape
    E = np.zeros((n, k))
    A = np.zeros((k, len(coef)))
    for t, e in enumerate(terms):
        for j in range(k):
            if e[j] == 0:
                continue
            d = e[j] * np.ones(n)
            for i, p in enumerate(e):
                q = p - (i == j)
                if q:
                    d = d * inp[:, i] ** q
            E[:, j] += coef[t] * d
            A[j, t] += d.mean()
    return E, A


def gmm_innovation_moments(label: str, target: np.ndarray, target_lag: np.ndarray, X: np.ndarray, lX: np.ndarray,
                           Z: np.ndarray, motion: str, order: int, shifters: np.ndarray | None = None,
                           w: np.ndarray | None = None, arrays: PanelArrays | None = None) -> Moments:
    r"""ACF/GNR's GMM criterion as least-squares residuals: with :math:`\omega(\theta) = \text{target} -
    X\theta` (and its lag), :math:`\xi` from :func:`innovation_jacobian` and :math:`W = (Z'Z)^{-1}/N = LL'`, the
    residuals :math:`L'Z'\xi` have sum of squares :math:`(Z'\xi)'W(Z'\xi)`. ``w``: frequency weights (see
    :func:`innovation_jacobian`); ``arrays``: the panel, to say why too few firm-years have a lag."""
    if Z.shape[0] <= Z.shape[1] + order + 1:
        if arrays is not None:
            raise SpecificationError(arrays.lag_shortage(label, Z.shape[0]))
        raise SpecificationError(f"{label}: only {Z.shape[0]} firm-years have the lag year; the GMM stage needs firms "
                                 "observed in consecutive years (lag='previous' uses the previous survey year)")
    Zw = Z if w is None else Z * w[:, None]
    try:
        L = np.linalg.cholesky(np.linalg.inv(Zw.T @ Z) / (Z.shape[0] if w is None else w.sum()))
    except np.linalg.LinAlgError:
        raise SpecificationError(f"{label}: the instruments are collinear (Z'Z is singular); drop controls that are "
                                 "constant within a year or duplicate an input") from None
    LZ = (Zw @ L).T

    def resid(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xi, J = innovation_jacobian(target - X @ theta, target_lag - lX @ theta, X, lX, motion, order, shifters, w)
        return LZ @ xi, LZ @ J

    return Moments(resid)


def proxy_monotonicity(coef: np.ndarray, X: np.ndarray, terms: list[tuple[int, ...]], proxy_cols: Sequence[int],
                       ) -> float:
    """Share of rows where the first-stage polynomial decreases in a proxy (∂φ/∂p < 0): the control function
    inverts the proxy only where it is increasing in productivity."""
    bad = np.zeros(X.shape[0], dtype=bool)
    for j in proxy_cols:
        d = np.zeros(X.shape[0])
        for b, e in zip(coef, terms):
            if e[j] == 0:
                continue
            e2 = list(e)
            e2[j] -= 1
            c = e[j] * b * np.ones(X.shape[0])
            for i, p in enumerate(e2):
                if p:
                    c = c * X[:, i] ** p
            d += c
        bad |= d < 0
    return float(bad.mean()) if X.shape[0] else 0.0


# ---------------------------------------------------------------------------- minimisation from starting values
@dataclass(frozen=True)
class Solution:
    """Where the optimiser stopped from ``start``: ``x``, the criterion there, and whether it converged."""

    start: np.ndarray
    x: np.ndarray
    crit: float
    converged: bool


class Moments:
    """A residual function with its Jacobian, computed together once per θ (``fn(θ) -> (r, J)``)."""

    def __init__(self, fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]):
        self.fn = fn
        self._key: bytes | None = None
        self._val: tuple[np.ndarray, np.ndarray] | None = None

    def _eval(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self._key:
            self._key, self._val = key, self.fn(np.asarray(theta, dtype=float))
        return self._val  # type: ignore[return-value]

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        return self._eval(theta)[0]

    def jac(self, theta: np.ndarray) -> np.ndarray:
        return self._eval(theta)[1]


def solve(resid: Callable[[np.ndarray], np.ndarray], start: np.ndarray, tol: float = 1e-15) -> Solution:
    """Minimise the sum of squares of ``resid(θ)`` from ``start`` (Levenberg–Marquardt, scipy ``least_squares``).

    Every criterion here is a sum of squares (OP/LP: the second-stage residuals; ACF/GNR: the GMM moments
    premultiplied by the Cholesky factor of the weight matrix), which LM minimises in a few Jacobian evaluations.
    ``tol``: LM's x/f/gradient tolerances (bootstrap replications use 1e-10, far below their sampling spread)."""
    from scipy.optimize import least_squares

    start = np.asarray(start, dtype=float)
    try:
        jac = resid.jac if isinstance(resid, Moments) else "2-point"
        r = least_squares(resid, start, jac=jac, method="lm", xtol=tol, ftol=tol, gtol=tol, max_nfev=4000)
    except SpecificationError:  # a model that cannot be fitted from any start is the user's to fix, not a non-root
        raise
    except (ValueError, np.linalg.LinAlgError):
        return Solution(start, np.full_like(start, np.nan), float("nan"), False)
    crit = float(r.fun @ r.fun)
    return Solution(start, r.x, crit, bool(r.success) and np.isfinite(crit))


def distinct_roots(sols: Sequence[Solution], tol: float = 1e-3) -> list[Solution]:
    """The converged solutions that differ from each other by more than ``tol`` in some coefficient, best
    criterion first."""
    roots: list[Solution] = []
    for s in sorted((s for s in sols if s.converged), key=lambda s: s.crit):
        if all(np.max(np.abs(s.x - r.x)) > tol for r in roots):
            roots.append(s)
    return roots


def start_grid(start: np.ndarray, n: int, seed: int, width: float = 0.5) -> list[np.ndarray]:
    """``n`` further starting values drawn uniformly within ±``width`` of ``start`` (seeded)."""
    rng = np.random.default_rng(seed)
    return [start + rng.uniform(-width, width, size=start.shape) for _ in range(n)]
