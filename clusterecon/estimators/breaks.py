r"""Structural-break tests for a cluster's yearly trajectories (number of firms, output, price, TFP, innovation share).

Model: :math:`y_t = x_t'\beta_j + u_t` in regime :math:`j`, with all coefficients allowed to change at the breaks.

* **Chow test at a known date** :math:`\tau`: :math:`F = \frac{(SSR_r - SSR_1 - SSR_2)/q}{(SSR_1 + SSR_2)/(T - 2q)}`,
  exact :math:`F(q, T-2q)` under normal errors (Chow 1960).
* **sup-F at an unknown date** (Andrews 1993): the largest Wald statistic :math:`q\,F(\tau)` over
  :math:`\tau \in [\pi_0 T, (1-\pi_0) T]`. Its asymptotic null distribution is
  :math:`\sup_{\pi} \lVert B_q(\pi) - \pi B_q(1)\rVert^2 / (\pi(1-\pi))` for a q-dimensional Brownian motion
  :math:`B_q`; p-values come from a seeded simulation of that process (20,000 draws on a 1,000-point
  grid, cached; within 2.5% of the tables),
  checked against the published critical values of Bai & Perron (2003, Table 1, :math:`\epsilon = 0.15`).
* A segment fit with a zero residual sum of squares (an exactly piecewise-linear series) would divide by zero: the
  denominator is floored at 1e-12 of the total SSR, so the statistic is huge but finite, and the result is flagged
  ``degenerate`` (never to be read as evidence).
* **Sequential tests for more breaks** (Bai & Perron 1998): given l breaks (dated by global SSR minimisation),
  test for an (l+1)-th with sup-F(l+1 | l) = the largest single-break sup-F over the l+1 segments, against the
  Bai–Perron (2003) critical values (:math:`\epsilon = 0.15`, q ≤ 10, l ≤ 4, levels 10/5/2.5/1 %).

statsmodels has CUSUM-type break tests but neither sup-F nor sequential dating, so these are written here (small:
the series are yearly cluster aggregates, T ≈ 10–60).

References: Chow (1960) Econometrica 28:591; Andrews (1993) Econometrica 61:821; Bai & Perron (1998) Econometrica
66:47, (2003) J. Applied Econometrics 18:1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import stats

from .results import TestResult

# Bai & Perron (2003), J. Applied Econometrics 18:1-22, critical values of supF(l+1|l) for trimming eps = 0.15
# (their Table 1 / the authors' GAUSS code tables; rows q = 1..10, columns l = 0..4). Keys: significance level.
_BP_CV_EPS15: dict[float, list[list[float]]] = {
    0.10: [[7.04, 8.51, 9.41, 10.04, 10.58], [9.81, 11.40, 12.29, 12.90, 13.47], [12.08, 13.91, 14.96, 15.68, 16.35],
           [14.26, 16.11, 17.31, 18.00, 18.45], [16.14, 18.14, 19.10, 19.84, 20.50],
           [17.97, 20.01, 21.16, 22.08, 22.64], [19.70, 21.79, 22.87, 24.06, 24.68],
           [21.41, 23.62, 24.74, 25.63, 26.39], [23.06, 25.54, 26.68, 27.60, 28.25],
           [24.65, 26.92, 28.26, 29.18, 29.88]],
    0.05: [[8.58, 10.13, 11.14, 11.83, 12.25], [11.47, 12.95, 14.03, 14.85, 15.29], [13.98, 15.72, 16.83, 17.61, 18.14],
           [16.19, 18.11, 18.93, 19.64, 20.19], [18.23, 19.91, 20.99, 21.71, 22.37],
           [20.08, 22.11, 23.04, 23.77, 24.43], [21.87, 24.17, 25.13, 26.03, 26.65],
           [23.70, 25.75, 26.81, 27.65, 28.48], [25.65, 27.66, 28.91, 29.67, 30.52],
           [27.03, 29.24, 30.45, 31.45, 32.12]],
    0.025: [[10.18, 11.86, 12.66, 13.40, 13.89], [12.96, 14.92, 15.81, 16.51, 16.84],
            [15.76, 17.70, 18.87, 19.42, 19.77], [18.13, 19.70, 20.66, 21.46, 21.97],
            [19.95, 21.72, 22.81, 23.47, 24.42], [22.15, 23.79, 24.76, 25.22, 25.93],
            [24.20, 26.03, 27.06, 27.91, 28.36], [25.77, 27.72, 28.80, 29.33, 29.69],
            [27.69, 29.67, 31.00, 31.78, 32.33], [29.27, 31.47, 32.54, 33.15, 33.85]],
    0.01: [[12.29, 13.89, 14.80, 15.28, 15.76], [15.37, 16.84, 17.72, 18.67, 19.17],
           [18.26, 19.77, 20.75, 21.98, 22.46],
           [20.23, 21.97, 22.80, 23.06, 23.76], [22.40, 24.42, 25.53, 26.17, 26.53],
           [24.45, 25.93, 27.09, 27.56, 28.20], [26.71, 28.36, 29.30, 29.86, 30.52],
           [28.51, 29.69, 30.65, 31.03, 31.87], [30.62, 32.33, 33.51, 34.28, 34.94],
           [32.16, 33.85, 34.58, 35.14, 36.15]],
}


def bai_perron_critical_value(q: int, l: int = 0, alpha: float = 0.05) -> float:
    """Bai–Perron (2003) critical value of sup-F(l+1 | l) for trimming 0.15 (Wald scale: q·F)."""
    if alpha not in _BP_CV_EPS15 or not (1 <= q <= 10) or not (0 <= l <= 4):
        raise ValueError("tabulated for alpha in {0.10, 0.05, 0.025, 0.01}, 1 <= q <= 10, 0 <= l <= 4, trim 0.15")
    return _BP_CV_EPS15[alpha][q - 1][l]


def sequential_critical_value(q: int, l: int, alpha: float = 0.05, trim: float = 0.15) -> float:
    """Critical value of sup-F(l+1 | l): the Bai–Perron (2003) table for trim 0.15; otherwise from the simulated
    sup-Wald null, using that the limit is the maximum of l+1 independent sup-F(1|0) statistics (Bai & Perron 1998,
    Proposition 9), so the critical value is the (1 − alpha)^(1/(l+1)) quantile."""
    if round(trim, 3) == 0.15:
        try:
            return bai_perron_critical_value(q, l, alpha)
        except ValueError:
            pass
    return float(np.quantile(_supw_null_draws(q, round(trim, 3)), (1 - alpha) ** (1 / (l + 1))))


def _f_ratio(gain: float, ssr: float, ssr_total: float, q: int, df: float) -> float:
    """(gain/q) / (ssr/df), with the denominator floored at a tiny fraction of the total SSR: a segment fit that is
    exact (ssr = 0, e.g. an exactly piecewise-linear series) gives a very large but finite statistic, and the
    result is flagged degenerate by the caller instead of dividing by zero."""
    floor = 1e-12 * max(ssr_total, 1e-300)
    return (gain / q) / (max(ssr, floor) / df)


def _ssr(y: np.ndarray, X: np.ndarray) -> float:
    if len(y) == 0:
        return 0.0
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ beta
    return float(r @ r)


def _as_arrays(y, X) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    X = np.ones((len(y), 1)) if X is None else np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if len(X) != len(y):
        raise ValueError(f"y has {len(y)} observations but X has {len(X)} rows")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(X)):
        raise ValueError("the series contains missing or infinite values; drop those years first")
    return y, X


def chow_test(y, X=None, break_at: int = 0) -> TestResult:
    """Chow F test of a break before observation ``break_at`` (0-based: regime 2 starts there).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.zeros(20), np.ones(20)] + np.random.default_rng(0).normal(scale=0.1, size=40)
    >>> t = chow_test(y, break_at=20)
    >>> t.df, bool(t.pvalue < 1e-6)
    ((1, 38), True)
    """
    y, X = _as_arrays(y, X)
    T, q = X.shape
    if not (q <= break_at <= T - q):
        raise ValueError(f"each regime needs at least {q} observations; break_at={break_at} with T={T}")
    s1, s2, sr = _ssr(y[:break_at], X[:break_at]), _ssr(y[break_at:], X[break_at:]), _ssr(y, X)
    df2 = T - 2 * q
    f = _f_ratio(sr - s1 - s2, s1 + s2, sr, q, df2)
    degenerate = s1 + s2 <= 1e-12 * max(sr, 1e-300)
    return TestResult("Chow", f, float(stats.f.sf(f, q, df2)), (q, df2), "F",
                      f"no break at observation {break_at}",
                      "degenerate: the two regimes fit exactly (zero residual sum of squares)" if degenerate else "")


@lru_cache(maxsize=32)
def _supw_null_draws(q: int, trim: float, reps: int = 20_000, grid: int = 1_000, seed: int = 20260101) -> np.ndarray:
    """Draws of sup_pi |B(pi) - pi B(1)|^2 / (pi (1 - pi)) for a q-dim Brownian motion (sorted)."""
    rng = np.random.default_rng([seed, q, int(trim * 1000)])
    pis = np.arange(1, grid + 1) / grid
    lo, hi = int(np.ceil(trim * grid)), int(np.floor((1 - trim) * grid))
    out = np.empty(reps)
    chunk = 2_500
    for start in range(0, reps, chunk):
        m = min(chunk, reps - start)
        acc = np.zeros((m, hi - lo))
        for _ in range(q):
            w = np.cumsum(rng.standard_normal((m, grid)), axis=1) / np.sqrt(grid)
            bridge = w[:, lo:hi] - pis[lo:hi] * w[:, -1:]
            acc += bridge**2
        out[start:start + m] = (acc / (pis[lo:hi] * (1 - pis[lo:hi]))).max(axis=1)
    out.sort()
    return out


def sup_wald_pvalue(stat: float, q: int, trim: float = 0.15) -> float:
    """Asymptotic p-value of Andrews' sup-Wald statistic (simulated null, see module docstring)."""
    draws = _supw_null_draws(q, round(trim, 3))
    return float((len(draws) - np.searchsorted(draws, stat, side="left")) / len(draws))


@dataclass(frozen=True)
class BreakTest:
    """sup-F result: the Wald-scale statistic, its p-value, the estimated break (0-based index where the second
    regime starts) and the whole F sequence (for plots)."""

    stat: float
    pvalue: float
    break_at: int
    q: int
    trim: float
    candidates: tuple[int, ...] = ()
    f_sequence: tuple[float, ...] = ()
    degenerate: bool = False

    def as_test(self) -> TestResult:
        return TestResult("sup-Wald (Andrews)", self.stat, self.pvalue, self.q, "sup-chi2",
                          "no break at an unknown date", f"trim {self.trim:g}; break at index {self.break_at}")


def sup_f_test(y, X=None, trim: float = 0.15) -> BreakTest:
    """Andrews (1993) sup-F test for one break at an unknown date; statistic on the Wald scale (q·F).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.zeros(25), np.ones(15)] + np.random.default_rng(0).normal(scale=0.2, size=40)
    >>> t = sup_f_test(y)
    >>> t.break_at, bool(t.pvalue < 0.01)
    (25, True)
    """
    y, X = _as_arrays(y, X)
    T, q = X.shape
    lo, hi = max(int(np.floor(trim * T)), q), min(int(np.ceil((1 - trim) * T)), T - q)
    if hi < lo:
        raise ValueError(f"T={T} is too short for trimming {trim} with {q} coefficients per regime")
    sr = _ssr(y, X)
    cands, fs, sus = [], [], []
    for b in range(lo, hi + 1):
        su = _ssr(y[:b], X[:b]) + _ssr(y[b:], X[b:])
        fs.append(_f_ratio(sr - su, su, sr, q, T - 2 * q))
        sus.append(su)
        cands.append(b)
    i = int(np.argmax(fs))
    stat = q * fs[i]
    degenerate = sus[i] <= 1e-12 * max(sr, 1e-300)
    return BreakTest(stat, sup_wald_pvalue(stat, q, trim), cands[i], q, trim, tuple(cands), tuple(fs), degenerate)


@dataclass(frozen=True)
class BreakDating:
    """Breaks found by the sequential procedure: 0-based indices where new regimes start, and the tests run."""

    breaks: tuple[int, ...]
    tests: tuple[TestResult, ...] = field(default_factory=tuple)
    alpha: float = 0.05


def _ssr_table(y: np.ndarray, X: np.ndarray, h: int) -> np.ndarray:
    """SSR of every segment [i, j) with j - i >= h (inf otherwise)."""
    T = len(y)
    tab = np.full((T + 1, T + 1), np.inf)
    for i in range(T):
        for j in range(i + h, T + 1):
            tab[i, j] = _ssr(y[i:j], X[i:j])
    return tab


def _global_partition(tab: np.ndarray, m: int, h: int) -> tuple[float, list[int]]:
    """Break dates minimising the total SSR with exactly m breaks (dynamic programming, Bai-Perron 2003)."""
    T = tab.shape[0] - 1
    cost = {(0, j): (tab[0, j], []) for j in range(h, T + 1)}
    for k in range(1, m + 1):
        for j in range((k + 1) * h, T + 1):
            best = (np.inf, [])
            for b in range(k * h, j - h + 1):
                prev = cost.get((k - 1, b))
                if prev is None:
                    continue
                c = prev[0] + tab[b, j]
                if c < best[0]:
                    best = (c, [*prev[1], b])
            cost[(k, j)] = best
    return cost.get((m, T), (np.inf, []))


def sequential_breaks(y, X=None, *, max_breaks: int = 3, trim: float = 0.15, alpha: float = 0.05) -> BreakDating:
    """Bai–Perron sequential procedure: with l breaks placed by global SSR minimisation, test sup-F(l+1 | l)
    (the largest gain from splitting one of the l+1 segments, scaled by the residual variance of the (l+1)-break
    fit, Wald scale) against the Bai–Perron (2003) critical value; stop at the first non-rejection.
    Segments are at least ``trim``·T long.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.zeros(30), 2 * np.ones(30), np.zeros(30)] + np.random.default_rng(1).normal(size=90) * 0.3
    >>> sequential_breaks(y, max_breaks=3).breaks
    (30, 60)
    """
    y, X = _as_arrays(y, X)
    T, q = X.shape
    h = max(int(np.floor(trim * T)), q + 1)
    tab = _ssr_table(y, X, h)
    breaks: list[int] = []
    tests: list[TestResult] = []
    for l in range(max_breaks):
        s_all, breaks = _global_partition(tab, l, h) if l else (tab[0, T], [])
        bounds = [0, *breaks, T]
        best = None
        for a, b in zip(bounds[:-1], bounds[1:]):
            for k in range(a + h, b - h + 1):
                s_new = s_all - tab[a, b] + tab[a, k] + tab[k, b]
                f = q * _f_ratio(s_all - s_new, s_new, tab[0, T], q, T - (l + 2) * q)
                if best is None or f > best:
                    best = f
        if best is None:
            break
        cv = sequential_critical_value(q, l, alpha, trim)
        reject = best > cv
        pval = sup_wald_pvalue(best, q, trim) if l == 0 else float("nan")
        tests.append(TestResult(f"sup-F({l + 1}|{l})", best, pval, q, "Bai-Perron", f"{l} breaks against {l + 1}",
                                f"{alpha:g} critical value {cv:.2f}: {'reject' if reject else 'do not reject'}"))
        if not reject:
            return BreakDating(tuple(breaks), tuple(tests), alpha)
    final = _global_partition(tab, len(tests), h)[1] if tests else []
    return BreakDating(tuple(final), tuple(tests), alpha)
