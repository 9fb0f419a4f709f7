r"""Firth's penalised-likelihood logit: finite estimates under separation, with profile penalised-likelihood tests
and confidence intervals (R ``logistf``'s defaults).

Model: :math:`P(y_i = 1 \mid x_i) = \Lambda(x_i'\beta)`, estimated by maximising the penalised log-likelihood

.. math:: \ell^*(\beta) = \sum_i \big[y_i \log\pi_i + (1-y_i)\log(1-\pi_i)\big] + \tfrac12 \log\lvert I(\beta)\rvert,
          \qquad I(\beta) = X'WX,\ W = \mathrm{diag}\{\pi_i(1-\pi_i)\}

(Jeffreys-prior penalty; Firth 1993). The penalised score is
:math:`U^*(\beta) = X'\{y - \pi + h \odot (\tfrac12 - \pi)\}` with :math:`h` the diagonal of
:math:`W^{1/2}X(X'WX)^{-1}X'W^{1/2}`; the estimate solves :math:`U^* = 0` by Newton steps
:math:`\delta = I(\beta)^{-1}U^*` with step halving on :math:`\ell^*` (Heinze & Schemper 2002). The estimate exists
and is finite even when a covariate separates the outcome (where the ML estimate is infinite), and its bias is
:math:`O(n^{-2})`.

Inference (``logistf``'s ``pl = TRUE``): the test of :math:`\beta_j = 0` is the penalised likelihood ratio
:math:`2[\ell^*(\hat\beta) - \ell^*(\hat\beta_{(j)})] \sim \chi^2_1`, with :math:`\hat\beta_{(j)}` maximising
:math:`\ell^*` subject to :math:`\beta_j = 0` (the penalty keeps the full information matrix); confidence limits are
the values of :math:`\beta_j` at which that statistic equals :math:`\chi^2_{1,1-\alpha}` (profile penalised
likelihood). Standard errors are :math:`\sqrt{\mathrm{diag}\,I(\hat\beta)^{-1}}` (``vcov(logistf)``); with
separation they are not a basis for Wald tests, which is why the tests are likelihood ratios.

statsmodels has no penalised-likelihood logit of this kind (its ``fit_regularized`` is L1), so it is written here.
Pinned against ``logistf`` on Heinze & Schemper's (2002) endometrial-cancer data (complete separation by NV) and the
urinary-tract-infection data ``sex2`` (``tests/reference/firth.json``).

References: Firth (1993) Biometrika 80:27–38; Heinze & Schemper (2002) Statistics in Medicine 21:2409–2419.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import expit, log_expit

from ..panel import SurveyPanel
from .design import SpecificationError, build_design, panel_shape
from .linear import independent_columns
from .results import EstimationResult, TestResult, VarianceInfo


@dataclass(frozen=True)
class FirthFit:
    beta: np.ndarray
    pll: float
    cov: np.ndarray
    converged: bool
    iterations: int


def _pll(y: np.ndarray, X: np.ndarray, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Penalised log-likelihood, fitted probabilities and Fisher information at beta."""
    eta = X @ beta
    p = expit(eta)
    w = p * (1 - p)
    info = (X * w[:, None]).T @ X
    sign, logdet = np.linalg.slogdet(info)
    ll = float(np.sum(y * log_expit(eta) + (1 - y) * log_expit(-eta)))
    return ll + 0.5 * (logdet if sign > 0 else -np.inf), p, info


def firth_fit(y: np.ndarray, X: np.ndarray, *, fixed: dict[int, float] | None = None, start: np.ndarray | None = None,
              maxiter: int = 200, tol: float = 1e-10, maxstep: float = 5.0) -> FirthFit:
    """Maximise the penalised log-likelihood, optionally with some coefficients fixed (``{index: value}``).

    Fitted on unit-RMS columns (the Jeffreys-prior penalty is invariant to reparametrisation, so only the
    constant Σ log s_j of the log-determinant changes, and it is added back): the Newton step cap and the
    convergence test are then unit-free (a regressor in units of 1e4 never converged before)."""
    X = np.asarray(X, dtype=float)
    s = np.sqrt((X * X).mean(0)) if len(X) else np.ones(X.shape[1])
    s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
    fit = _firth_fit(np.asarray(y, dtype=float), X / s, fixed={j: v * s[j] for j, v in (fixed or {}).items()},
                     start=None if start is None else np.asarray(start, dtype=float) * s, maxiter=maxiter, tol=tol,
                     maxstep=maxstep)
    return FirthFit(fit.beta / s, fit.pll + float(np.log(s).sum()), fit.cov / np.outer(s, s), fit.converged,
                    fit.iterations)


def _firth_fit(y: np.ndarray, X: np.ndarray, *, fixed: dict[int, float], start: np.ndarray | None, maxiter: int,
               tol: float, maxstep: float) -> FirthFit:
    k = X.shape[1]
    fixed = fixed or {}
    free = np.array([j for j in range(k) if j not in fixed], dtype=int)
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    for j, v in fixed.items():
        beta[j] = v
    pll, p, info = _pll(y, X, beta)
    it, converged = 0, False
    for it in range(1, maxiter + 1):  # noqa: B007 - reported
        w = p * (1 - p)
        inv = np.linalg.pinv(info)
        h = np.einsum("ij,jk,ik->i", X * np.sqrt(w)[:, None], inv, X * np.sqrt(w)[:, None])
        score = X.T @ (y - p + h * (0.5 - p))
        if free.size == 0:
            converged = True
            break
        step = np.zeros(k)
        step[free] = np.linalg.lstsq(info[np.ix_(free, free)], score[free], rcond=None)[0]
        mx = np.max(np.abs(step))
        if mx > maxstep:
            step *= maxstep / mx
        lam = 1.0
        while True:
            cand = beta + lam * step
            pll_c, p_c, info_c = _pll(y, X, cand)
            if pll_c >= pll - 1e-12 or lam < 1e-8:
                break
            lam /= 2
        beta, pll, p, info = cand, pll_c, p_c, info_c
        if np.max(np.abs(lam * step)) < tol and np.max(np.abs(score[free])) < 1e-6:
            converged = True
            break
    return FirthFit(beta, pll, np.linalg.pinv(info), converged, it)


def profile_test(y: np.ndarray, X: np.ndarray, fit: FirthFit, j: int, value: float = 0.0) -> float:
    """Penalised likelihood-ratio statistic of beta_j = value."""
    start = fit.beta.copy()
    start[j] = value
    restricted = firth_fit(y, X, fixed={j: value}, start=start)
    return float(max(2.0 * (fit.pll - restricted.pll), 0.0))


def profile_interval(y: np.ndarray, X: np.ndarray, fit: FirthFit, j: int, level: float = 0.95,
                     ) -> tuple[float, float]:
    """Profile penalised-likelihood confidence interval of beta_j."""
    crit = float(stats.chi2.ppf(level, 1))
    b = fit.beta[j]
    se = float(np.sqrt(fit.cov[j, j])) if fit.cov[j, j] > 0 else 1e-6

    def g(v: float) -> float:
        return profile_test(y, X, fit, j, v) - crit

    out = []
    for sign in (-1.0, 1.0):
        step = se  # in the coefficient's own units
        far = b + sign * step
        for _ in range(60):
            if g(far) > 0:
                break
            step *= 2.0
            far = b + sign * step
        else:
            out.append(sign * np.inf)
            continue
        lo, hi = sorted((b, far))
        out.append(float(optimize.brentq(g, lo, hi, xtol=1e-10 * max(se, 1e-300), rtol=1e-12)))
    return out[0], out[1]


def firth_logit(data: SurveyPanel | pd.DataFrame, formula: str, *, level: float = 0.95,
                intervals: bool = True, terms: list[str] | None = None) -> EstimationResult:
    """Firth's penalised-likelihood logit of ``formula`` (see the module docstring).

    Returns an :class:`EstimationResult` whose ``vcov`` is the inverse Fisher information at the estimate (the
    standard errors of ``logistf``), with ``tests["PLR: <term>"]`` the penalised likelihood-ratio χ²(1) test of each
    coefficient and ``extra["pl_ci"]`` the profile penalised-likelihood intervals (``intervals=False`` skips them).
    The p-values in ``extra["pl_pvalues"]`` are those tests'; use them (not Wald) under separation. ``terms``: test
    (and interval) only these coefficients (each needs a constrained refit).
    """
    design = build_design(data, formula)
    y = design.y.astype(float)
    vals = set(np.unique(y).tolist())
    if not vals <= {0.0, 1.0}:
        raise SpecificationError(f"the outcome {design.depvar!r} must be 0/1; found {sorted(vals)[:10]}")
    if len(vals) < 2:
        raise SpecificationError(f"{design.depvar!r} does not vary ({int(y[0])} in every row): nothing to estimate")
    X = design.X
    names = list(design.names)
    if len(independent_columns(X)) < X.shape[1]:  # unit-free rank test
        raise SpecificationError(f"the regressors of {formula!r} are collinear; drop one of {names}")
    fit = firth_fit(y, X)
    if not fit.converged:
        raise RuntimeError(f"Firth logit did not converge in {fit.iterations} iterations; rescale the regressors")
    tests, pvals, cis = {}, {}, {}
    for j, name in enumerate(names):
        if terms is not None and name not in terms:
            continue
        lr = profile_test(y, X, fit, j, 0.0)
        p = float(stats.chi2.sf(lr, 1))
        pvals[name] = p
        tests[f"PLR: {name}"] = TestResult("penalised LR", lr, p, 1, "chi2", f"{name} = 0")
        if intervals:
            cis[name] = profile_interval(y, X, fit, j, level)
    shape = panel_shape(design.index)
    return EstimationResult(
        model="Firth logit", estimator="penalised maximum likelihood (Jeffreys prior; Firth 1993)",
        depvar=design.depvar, names=tuple(names), coef=fit.beta, vcov=fit.cov,
        variance=VarianceInfo("oim", dof_rule="inverse Fisher information at the penalised estimate (logistf)"),
        nobs=len(y), formula=formula, loglik=fit.pll, omitted=tuple(design.omitted), tests=tests,
        stats={"Penalised log-likelihood": fit.pll, "Events": float(y.sum())},
        notes=("Tests and intervals are profile penalised-likelihood ratios (logistf pl = TRUE), not Wald.",),
        extra={"pl_pvalues": pvals, "pl_ci": cis, "level": level, "iterations": fit.iterations},
        **shape)


__all__ = ["FirthFit", "firth_fit", "firth_logit", "profile_interval", "profile_test"]
