r"""Two-stage least squares with the first-stage F and Anderson–Rubin confidence sets (TOT/LATE of training).

Model: y = Xβ + u with X = [W, d] (exogenous regressors W, endogenous d such as attendance) and instruments
Z = [W, z] (z such as the random offer). 2SLS: β̂ = (X̂'X̂)⁻¹X̂'y with X̂ = Z(Z'Z)⁻¹Z'X; residuals e = y − Xβ̂ use the
actual X. Variance: the sandwich B(Σ_g X̂_g'e_g e_g'X̂_g)B with B = (X̂'X̂)⁻¹ and the small-sample rule of
:func:`~clusterecon.estimators.covariance.ols_covariance` (default Stata ``ivregress 2sls ..., small``:
classical s² = e'e/(N−K); robust × N/(N−K); cluster × G/(G−1)·(N−1)/(N−K), t(G−1)). linearmodels ``IV2SLS`` with
``debiased=True`` gives the same numbers (``tests/test_evaluation_itt.py``).

First stage: OLS of each endogenous regressor on Z, and the Wald F-test that the excluded instruments' coefficients
are zero with the same variance estimator (with one endogenous regressor and a cluster-robust variance this is the
Kleibergen–Paap Wald F that ``ivreg2`` reports; Stock–Yogo's rule of thumb F > 10 is printed as a note).

Anderson–Rubin (1949) confidence set for the coefficient β_d of one endogenous regressor, robust to weak
instruments: β₀ is in the set when the excluded instruments do not explain y − β₀d given W. With reduced-form
coefficients π_y (y on Z) and first-stage π_d (d on Z) and their joint cluster-robust covariance,
AR(β₀) = (π_y − β₀π_d)'[V_yy − β₀(V_yd + V_dy) + β₀²V_dd]⁻¹(π_y − β₀π_d)/q ~ F(q, df). With one instrument the set
{AR ≤ F_crit} solves a quadratic inequality exactly: a bounded interval, the real line minus an interval, or the
whole line (weak instruments). With several instruments it is found on a grid refined by bisection.

References: Wooldridge (2010), §5.2; Stata ``ivregress`` and ``estat firststage``; Anderson and Rubin (1949),
Ann. Math. Stat. 20(1); Andrews, Stock and Sun (2019), Annu. Rev. Econ. 11 (weak instruments in practice);
Mikusheva and Poi (2006), Stata Journal 6(3) (``condivreg``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.design import SpecificationError, panel_shape
from ..estimators.linear import linear_spec, prepare, variance
from ..estimators.results import EstimationResult, TestResult
from ..panel import SurveyPanel
from .design import has_dummies


@dataclass(frozen=True)
class ARSet:
    """An Anderson–Rubin confidence set: a union of intervals (possibly unbounded) at ``level``."""

    intervals: tuple[tuple[float, float], ...]
    level: float
    kind: str  # "bounded" | "union" | "real line" | "empty"

    def __str__(self) -> str:
        if self.kind == "empty":
            return "empty (the model is rejected for every value)"
        if self.kind == "real line":
            return "(-inf, +inf): the instruments are too weak to bound the effect"
        return " ∪ ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in self.intervals)

    def contains(self, b: float) -> bool:
        return any(lo <= b <= hi for lo, hi in self.intervals)


def iv2sls(data: SurveyPanel | pd.DataFrame, formula: str, *, endog: Sequence[str] | str,
           instruments: Sequence[str] | str, vcov: str = "robust", cluster: str | Sequence[str] | None = None,
           dof: str = "stata", level: float = 0.95, model: str = "2SLS") -> EstimationResult:
    """2SLS of ``formula`` (dependent variable and exogenous regressors, e.g. ``"y ~ y_bl + C(strata_id)"``) with
    endogenous regressors ``endog`` instrumented by ``instruments`` (plain column names).

    Returns an :class:`EstimationResult` whose ``tests`` hold the first-stage F per endogenous regressor and, with
    one endogenous regressor, the Anderson–Rubin test of β_d = 0; ``extra["ar_set"]`` is the AR confidence set
    (:class:`ARSet`) and ``extra["first_stage"]`` the first-stage coefficients on the instruments.
    """
    endog = [endog] if isinstance(endog, str) else list(endog)
    instruments = [instruments] if isinstance(instruments, str) else list(instruments)
    if not endog or not instruments:
        raise SpecificationError("2SLS needs at least one endogenous regressor and one instrument")
    if len(instruments) < len(endog):
        raise SpecificationError(f"{len(endog)} endogenous regressor(s) but only {len(instruments)} instrument(s): "
                                 "the model is not identified")
    lhs, _, rhs = formula.partition("~")
    full = f"{lhs.strip()} ~ {rhs.strip()} + {' + '.join(endog + instruments)}"
    spec = linear_spec(vcov, cluster, dof, None, weights_type=None, estimator="iv2sls")
    prep = prepare(data, full, spec, weights=None)
    d = prep.design
    names = list(d.names)
    missing = [v for v in endog + instruments if v not in names]
    if missing:
        raise SpecificationError(f"{missing} must be plain numeric columns (they became {names})")
    ie = [names.index(v) for v in endog]
    iz = [names.index(v) for v in instruments]
    iw = [j for j in range(len(names)) if j not in ie and j not in iz]
    W = d.X[:, iw]
    X = np.column_stack([W, d.X[:, ie]])
    Z = np.column_stack([W, d.X[:, iz]])
    xnames = tuple([names[j] for j in iw] + endog)
    if np.linalg.matrix_rank(Z) < Z.shape[1]:
        raise SpecificationError("the instruments and exogenous regressors are collinear (an instrument does not "
                                 "vary given the controls, or a control duplicates it)")
    ZtZi = np.linalg.inv(Z.T @ Z)
    Pi = ZtZi @ (Z.T @ X)  # first-stage coefficients of every column of X
    Xhat = Z @ Pi
    if np.linalg.matrix_rank(Xhat) < Xhat.shape[1]:
        flat = [v for v in endog if np.ptp(X[:, xnames.index(v)]) == 0]
        why = (f"{', '.join(flat)} does not vary (the same value in all {X.shape[0]} observations)" if flat else
               f"the instruments {', '.join(instruments)} do not predict {', '.join(endog)} beyond the exogenous "
               "regressors")
        raise SpecificationError(f"{why}: the first stage is not identified, so 2SLS cannot be estimated (an "
                                 "endogenous regressor needs variation that the excluded instruments explain)")
    bread = np.linalg.inv(Xhat.T @ Xhat)
    bread = (bread + bread.T) / 2
    b = bread @ (Xhat.T @ d.y)
    e = d.y - X @ b
    V, info, df = variance(Xhat, e, bread, prep)
    n, k = X.shape

    # first stage: endogenous ~ Z, Wald F on the excluded instruments with the same variance estimator
    tests: dict[str, TestResult] = {}
    stats_: dict[str, float] = {}
    fs_coef: dict[str, dict[str, float]] = {}
    q = len(instruments)
    sel = np.arange(len(iw), Z.shape[1])
    for j, name in enumerate(endog):
        col = len(iw) + j
        pi = Pi[:, col]
        res = X[:, col] - Z @ pi
        Vf, _, dff = variance(Z, res, ZtZi, prep)
        dpi = pi[sel]
        w = float(dpi @ np.linalg.solve(Vf[np.ix_(sel, sel)], dpi))
        F = w / q
        p = float(stats.f.sf(F, q, dff)) if dff is not None else float(stats.chi2.sf(w, q))
        tests[f"first_stage_F_{name}"] = TestResult(
            f"First-stage F ({name})", F, p, (q, float(dff)) if dff is not None else q, "F" if dff else "chi2",
            f"instruments {', '.join(instruments)} do not predict {name}",
            "weak-instrument rule of thumb: F > 10 (Staiger-Stock)" + (" -- WEAK" if F < 10 else ""))
        stats_[f"First-stage F ({name})"] = F
        fs_coef[name] = dict(zip(instruments, dpi.tolist()))

    extra: dict = {"first_stage": fs_coef, "resid": e, "index": d.index}
    notes = []
    if len(endog) == 1:
        ar = anderson_rubin(d.y, X[:, -1], W, Z[:, len(iw):], prep, vcov=vcov, dof=dof, level=level)
        extra["ar_set"] = ar["set"]
        tests["anderson_rubin"] = ar["test0"]
        notes.append(f"Anderson-Rubin {level:.0%} confidence set for {endog[0]}: {ar['set']}")
    shape = panel_shape(d.index)
    lv = [str(x) for x in d.index.names[:2]]

    def dummies(level: str) -> str:  # the labels say what the formula put in, e.g. C(year) for year effects
        return "Yes" if has_dummies(xnames, level) else "No"

    return EstimationResult(
        model=model, estimator=f"2SLS ({', '.join(endog)} instrumented by {', '.join(instruments)})",
        depvar=d.depvar, names=xnames, coef=b, vcov=V, variance=info, nobs=n, df_resid=df, formula=full, **shape,
        omitted=d.omitted, stats=stats_, tests=tests, notes=tuple(notes), extra=extra,
        effects={"Firm FE": dummies(lv[0]), "Year FE": dummies(lv[1]) if len(lv) > 1 else "No"},
    )


def anderson_rubin(y: np.ndarray, dcol: np.ndarray, W: np.ndarray, Zex: np.ndarray, prep, *, vcov: str,
                   dof: str = "stata", level: float = 0.95, null: float = 0.0) -> dict:
    """AR test of β_d = ``null`` and the AR confidence set (module docstring) from the reduced form and first
    stage on Z = [W, Zex], with one joint sandwich so that the covariance of π_y and π_d is consistent."""
    Z = np.column_stack([W, Zex])
    q = Zex.shape[1]
    ZtZi = np.linalg.inv(Z.T @ Z)
    sel = np.arange(W.shape[1], Z.shape[1])
    py, pd_ = ZtZi @ (Z.T @ y), ZtZi @ (Z.T @ dcol)
    ey, ed = y - Z @ py, dcol - Z @ pd_
    kz = Z.shape[1]
    Vs, df = _joint_covariance(Z, ZtZi, np.column_stack([ey, ed]), prep, vcov, dof)
    Vyy, Vdd = Vs[np.ix_(sel, sel)], Vs[np.ix_(kz + sel, kz + sel)]
    Vyd = Vs[np.ix_(sel, kz + sel)]
    a, g = py[sel], pd_[sel]

    def stat(b0: float) -> float:
        r = a - b0 * g
        M = Vyy - b0 * (Vyd + Vyd.T) + b0 * b0 * Vdd
        return float(r @ np.linalg.solve(M, r)) / q

    dist = (lambda s: float(stats.f.sf(s, q, df))) if df is not None else (lambda s: float(stats.chi2.sf(s * q, q)))
    crit = stats.f.ppf(level, q, df) if df is not None else stats.chi2.ppf(level, q) / q
    s0 = stat(null)
    test0 = TestResult("Anderson-Rubin", s0, dist(s0), (q, float(df)) if df is not None else q,
                       "F" if df is not None else "chi2", f"coefficient of the endogenous regressor = {null:g}",
                       "robust to weak instruments")
    if q == 1:
        A = g[0] ** 2 - crit * Vdd[0, 0]
        Bq = -2 * a[0] * g[0] + 2 * crit * Vyd[0, 0]
        Cq = a[0] ** 2 - crit * Vyy[0, 0]
        aset = _quadratic_set(A, Bq, Cq, level)
    else:
        aset = _grid_set(stat, crit, a, g, level)
    return {"set": aset, "test0": test0}


def _quadratic_set(A: float, B: float, C: float, level: float) -> ARSet:
    """{b : A b² + B b + C ≤ 0}."""
    disc = B * B - 4 * A * C
    if abs(A) < 1e-300:
        if B == 0:
            return ARSet(((-np.inf, np.inf),), level, "real line") if C <= 0 else ARSet((), level, "empty")
        r = -C / B
        return ARSet(((-np.inf, r),) if B > 0 else ((r, np.inf),), level, "union")
    if disc < 0:
        return ARSet(((-np.inf, np.inf),), level, "real line") if A < 0 else ARSet((), level, "empty")
    r1, r2 = sorted(((-B - np.sqrt(disc)) / (2 * A), (-B + np.sqrt(disc)) / (2 * A)))
    if A > 0:
        return ARSet(((r1, r2),), level, "bounded")
    return ARSet(((-np.inf, r1), (r2, np.inf)), level, "union")


def _grid_set(stat, crit: float, a: np.ndarray, g: np.ndarray, level: float) -> ARSet:
    """AR set with several instruments: scan a wide grid around the just-identified ratios, refine each edge."""
    centre = float(np.median(a / np.where(g == 0, np.nan, g))) if np.any(g) else 0.0
    span = max(10 * abs(centre), 10.0)
    grid = np.linspace(centre - span, centre + span, 2001)
    inside = np.array([stat(b) <= crit for b in grid])
    if inside.all():
        return ARSet(((-np.inf, np.inf),), level, "real line")
    if not inside.any():
        return ARSet((), level, "empty")

    def edge(lo: float, hi: float) -> float:  # stat(lo) <= crit < stat(hi) or the reverse
        f_lo = stat(lo) <= crit
        for _ in range(60):
            mid = (lo + hi) / 2
            if (stat(mid) <= crit) == f_lo:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    intervals = []
    start = -np.inf if inside[0] else None
    for i in range(1, len(grid)):
        if inside[i] and not inside[i - 1]:
            start = edge(grid[i - 1], grid[i])
        if not inside[i] and inside[i - 1]:
            intervals.append((start, edge(grid[i - 1], grid[i])))
            start = None
    if start is not None:
        intervals.append((start, np.inf))
    kind = "bounded" if len(intervals) == 1 and np.isfinite(intervals[0]).all() else "union"
    return ARSet(tuple(intervals), level, kind)


def _joint_covariance(Z: np.ndarray, ZtZi: np.ndarray, E: np.ndarray, prep, vcov: str, dof: str,
                      ) -> tuple[np.ndarray, float | None]:
    """Covariance of the stacked coefficients of m regressions on the same Z with residual columns E (n, m):
    (I ⊗ B) meat (I ⊗ B) with scores [Z_i e_i1, ..., Z_i e_im] summed within clusters, and the single-equation
    small-sample factor of :func:`~clusterecon.estimators.covariance.ols_covariance` (``dof="stata"``)."""
    from ..estimators.covariance import cluster_codes

    n, kz = Z.shape
    m = E.shape[1]
    Bm = np.kron(np.eye(m), ZtZi)
    small = dof in ("stata", "areg", "reghdfe")
    if vcov == "classical":
        Sig = E.T @ E / (n - kz if small or dof == "plm" else n)
        return np.kron(Sig, ZtZi), (float(n - kz) if dof != "none" else None)
    scores = np.hstack([Z * E[:, [j]] for j in range(m)])
    if vcov == "robust":
        meat = scores.T @ scores
        fac, df = (n / (n - kz) if small else 1.0), (float(n - kz) if dof != "none" else None)
    elif vcov == "cluster":
        cols = prep.spec.with_entity(str(prep.design.index.names[0]), str(prep.design.index.names[1])).clusters
        codes = cluster_codes(prep.frame, cols[0] if len(cols) == 1 else cols)
        codes = codes if codes.ndim == 1 else codes[:, 0]
        G = int(codes.max()) + 1
        Sg = np.zeros((G, scores.shape[1]))
        np.add.at(Sg, codes, scores)
        meat = Sg.T @ Sg
        fac = G / (G - 1) * (n - 1) / (n - kz) if small else 1.0
        df = float(G - 1) if dof != "none" else None
    else:
        raise SpecificationError(f"the Anderson-Rubin set supports vcov classical|robust|cluster, not {vcov!r}")
    V = Bm @ meat @ Bm * fac
    return (V + V.T) / 2, df
