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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
    lag). ``index`` is the (firm, year) index of the rows."""

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


def _as_list(x: str | Sequence[str] | None) -> list[str]:
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
    blocks = {"output": [output], "free": _as_list(free), "state": _as_list(state), "proxy": _as_list(proxy),
              "controls": _as_list(controls), "extra": list(extra)}
    if not blocks["free"] or not blocks["state"]:
        raise SpecificationError("a production function needs at least one free and one state variable")
    used = list(dict.fromkeys(c for cols in blocks.values() for c in cols))
    missing = [c for c in used if c not in frame.columns]
    if missing:
        raise SpecificationError(f"column(s) {missing} not in the data; available: {list(frame.columns)[:30]}")
    keep = np.ones(len(frame), dtype=bool)
    omitted: list[Omitted] = []
    values = {}
    for c in used:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(v) & keep
        if bad.any():
            omitted.append(Omitted(f"missing or non-finite {c}", int(bad.sum())))
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
        extra={c: values[c][keep][order] for c in extra})
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


def motion_basis(w: np.ndarray, motion: str = "poly", order: int = 3, extra: np.ndarray | None = None,
                 ) -> np.ndarray:
    """Regressors of the law of motion :math:`g(\\omega_{t-1}[, P])`: a constant and a raw polynomial of order
    ``order`` in :math:`\\omega_{t-1}` (``"poly"``) or in :math:`\\omega_{t-1}` alone to order 1 (``"ar1"``);
    ``extra`` (OP's survival probability) enters the full polynomial jointly with :math:`\\omega_{t-1}`."""
    if motion not in MOTIONS:
        raise SpecificationError(f"law of motion must be one of {MOTIONS}, got {motion!r}")
    d = 1 if motion == "ar1" else order
    cols = w[:, None] if extra is None else np.column_stack([w, extra])
    return np.column_stack([np.ones(len(w)), poly(cols, d)])


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
                        ) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`\xi` and its exact Jacobian in θ, where ω = φ − Xθ and ω_{t-1} = φ_{t-1} − lXθ (g re-profiled):
    :math:`\partial\xi/\partial\theta_j = -X_j - \dot B_j g - B\,\partial g/\partial\theta_j` with
    :math:`\dot B_j = -B'(\omega_{t-1})\, lX_j` and
    :math:`\partial g/\partial\theta_j = (B'B)^{-1}[\dot B_j'\omega - B'X_j - (\dot B_j'B + B'\dot B_j)g]`.
    Exact derivatives let the optimiser stop at the minimum where the criterion is flat (OP/LP on prodest's
    data) instead of where finite differences lose precision."""
    u, scale = _standardise(omega_lag)
    B = motion_basis(u, motion, order, extra)
    D = _basis_dw(u, motion, order, extra) / scale
    Binv = np.linalg.pinv(B.T @ B)
    g = Binv @ (B.T @ omega)
    xi = omega - B @ g
    J = np.empty((len(omega), X.shape[1]))
    BtX = B.T @ X
    for j in range(X.shape[1]):
        dB = D * (-lX[:, j])[:, None]
        dg = Binv @ (dB.T @ omega - BtX[:, j] - (dB.T @ B + B.T @ dB) @ g)
        J[:, j] = -X[:, j] - dB @ g - B @ dg
    return xi, J


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


def solve(resid: Callable[[np.ndarray], np.ndarray], start: np.ndarray) -> Solution:
    """Minimise the sum of squares of ``resid(θ)`` from ``start`` (Levenberg–Marquardt, scipy ``least_squares``).

    Every criterion here is a sum of squares (OP/LP: the second-stage residuals; ACF/GNR: the GMM moments
    premultiplied by the Cholesky factor of the weight matrix), which LM minimises in a few Jacobian evaluations."""
    from scipy.optimize import least_squares

    start = np.asarray(start, dtype=float)
    try:
        jac = resid.jac if isinstance(resid, Moments) else "2-point"
        r = least_squares(resid, start, jac=jac, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=4000)
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
