r"""Firm-clustered (block) bootstrap for the production-function estimators.

Each replication draws G firms with replacement from the G firms of the estimation panel, keeps all their years
(a firm drawn twice enters as two firms), and re-runs the *whole* estimator, first stage included — the
resampling prodest uses (``block.boot.resample``). The covariance is the sample covariance of the replications,

.. math:: \hat V = \frac{1}{B-1}\sum_b (\hat\theta_b - \bar\theta)(\hat\theta_b - \bar\theta)'

(prodest reports the standard deviations, ``sd``). Reproducibility: every replication's firms are drawn before any
work starts, from one ``numpy.random.Generator(seed)`` (a B × G matrix), so the replications — and the standard
errors — are the same for a given seed whatever ``n_jobs`` is. Replications run in parallel through joblib
(processes), in a few chunks so each worker receives the panel once per chunk. A replication whose optimiser fails
is left out and counted.

Estimators without firm effects (ACF) can take a replication as *frequency weights* on the full-sample rows
(``weights=True``: the fit receives, for every row, how many times its firm was drawn): every sum over the
resampled panel is the weighted sum over the original rows, so the estimate is the same, while the polynomial
bases, lag structure and instruments are built once and reused by index — no panel is copied per replication.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..estimators.results import VarianceInfo
from .control_function import PanelArrays

Fit = Callable[[PanelArrays], np.ndarray]


@dataclass(frozen=True)
class BootstrapDraws:
    """Replicated estimates (B × k, NaN rows for failed replications), the seed and the firms drawn."""

    coefs: np.ndarray
    seed: int
    n_firms: int

    @property
    def reps(self) -> int:
        return int(self.coefs.shape[0])

    @property
    def ok(self) -> np.ndarray:
        return np.isfinite(self.coefs).all(axis=1)

    @property
    def n_failed(self) -> int:
        return int((~self.ok).sum())

    def cov(self) -> np.ndarray:
        good = self.coefs[self.ok]
        k = self.coefs.shape[1]
        if good.shape[0] < 2:
            return np.full((k, k), np.nan)
        return np.atleast_2d(np.cov(good, rowvar=False, ddof=1))

    def describe(self) -> str:
        s = f"firm-cluster bootstrap, {self.reps} replications, seed {self.seed}"
        return s + (f" ({self.n_failed} failed, left out)" if self.n_failed else "")


def bootstrap_variance(draws: BootstrapDraws | None, n_firms: int, why_none: str = "reps=0") -> VarianceInfo:
    """The variance record of a bootstrapped production function: the firm-cluster bootstrap, or — with no draws
    (``reps=0``, or an estimate that did not converge) — standard errors not computed, saying why (never a
    bootstrap claim over NaN standard errors)."""
    if draws is None:
        return VarianceInfo("none", dof_rule=why_none)
    return VarianceInfo("bootstrap", ("firm",), (n_firms,), draws.describe())


def draw_firms(n_firms: int, reps: int, seed: int) -> np.ndarray:
    """The firms of every replication (B × G), drawn up front from one Generator."""
    return np.random.default_rng(seed).integers(0, n_firms, size=(reps, n_firms))


def _run_chunk(fit: Fit, arrays: PanelArrays, draws: np.ndarray, k: int, weights: bool = False) -> np.ndarray:
    blocks = arrays.firm_blocks()
    out = np.full((draws.shape[0], k), np.nan)
    for r, firms in enumerate(draws):
        try:
            if weights:
                w = np.bincount(firms, minlength=arrays.n_firms).astype(float)[arrays.firm]
                c = np.asarray(fit(w), dtype=float)
            else:
                c = np.asarray(fit(arrays.resample(firms, blocks)), dtype=float)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError):
            continue
        if c.shape == (k,):
            out[r] = c
    return out


def bootstrap(fit: Callable[..., np.ndarray], arrays: PanelArrays, k: int, *, reps: int = 199, seed: int = 12345,
              n_jobs: int = 1, weights: bool = False) -> BootstrapDraws:
    """Replicate ``fit`` (panel → k coefficients, or row frequency weights → k coefficients when ``weights``;
    must be picklable for ``n_jobs`` > 1) on ``reps`` firm-cluster bootstrap samples."""
    if reps < 2:
        raise ValueError("the bootstrap needs at least 2 replications")
    draws = draw_firms(arrays.n_firms, reps, seed)
    if n_jobs == 1:
        coefs = _run_chunk(fit, arrays, draws, k, weights)
    else:
        from joblib import Parallel, delayed, effective_n_jobs

        chunks = np.array_split(np.arange(reps), max(1, min(reps, 2 * effective_n_jobs(n_jobs))))
        parts = Parallel(n_jobs=n_jobs)(delayed(_run_chunk)(fit, arrays, draws[c], k, weights)
                                        for c in chunks if len(c))
        coefs = np.vstack(parts)
    return BootstrapDraws(coefs, seed, arrays.n_firms)
