"""One maximum-likelihood engine: Newton–Raphson with step halving, a convergence test on the step and the score,
one :class:`~clusterecon.estimators.errors.ConvergenceError`, and an accurate Hessian for the covariance.

Each model supplies its log-likelihood and analytic gradient (statsmodels' ``Logit``/``Probit``/``MNLogit``/
``PHReg`` supply theirs; Tobit, Heckman, conditional logit and the RE probit write them out) and, where it exists,
the analytic Hessian — the statsmodels ``LikelihoodModel.fit`` idea of shared optimiser and checks.

Convergence (both must hold, as Stata's ``ml`` with ``nrtolerance``): the Newton step is small relative to the
parameters, max_j |Δθ_j|/max(1, |θ_j|) < ``tol``, and the scaled score g'(−H)⁻¹g < ``nrtol``.

Units never matter: the maximiser works on φ = c·θ with c_j = √|H_jj| at the start (:func:`curvature_scale`),
so the Newton solve, the numeric Hessian's step, the concavity check and BFGS treat a coefficient on sales in yuan
and one on a share alike (before, a regressor 1e4 from another in scale made Tobit, Heckman, RE probit,
conditional and multinomial logit fail with "not negative definite"). The step test stays in θ units.

Without an analytic Hessian, the one used for the covariance is a central difference of the analytic gradient
with a *scale-aware* step h_j = 10⁻³/√|H_jj| (a first pass with h_j = 10⁻⁵·max(1, |θ_j|) gives the diagonal): a
parameter multiplying a regressor in the hundreds (experience squared) has a tiny curvature scale, and a step
fixed in θ units (the old rule) left Heckman ML standard errors off by 3.4·10⁻⁶ relative; this step brings them
within 10⁻⁸ of a Richardson-extrapolated Hessian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .design import Design, SpecificationError
from .errors import ConvergenceError
from .fit import Fit
from .variance import ML_KINDS, VarianceSpec, parse_vcov

__all__ = ["MLResult", "curvature_scale", "maximize", "mills", "ml_fit", "ml_spec", "ml_weighted_spec",
           "numeric_hessian", "positive_weights", "sampling_weights"]


def _central(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, h: np.ndarray) -> np.ndarray:
    k = theta.size
    H = np.empty((k, k))
    for j in range(k):
        e = np.zeros(k)
        e[j] = h[j]
        H[:, j] = (grad(theta + e) - grad(theta - e)) / (2 * h[j])
    return (H + H.T) / 2


def numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, *, accurate: bool = True,
                    rel_step: float = 1e-5) -> np.ndarray:
    """Symmetric Hessian by central differences of an analytic gradient.

    ``accurate=False``: h_j = ``rel_step``·max(1, |θ_j|) (cheap; enough to steer Newton steps). ``accurate=True``
    (for covariances): a second pass with h_j = 10⁻³/√|H_jj| from the first pass's diagonal (module docstring).
    """
    theta = np.asarray(theta, dtype=float)
    H = _central(grad, theta, rel_step * np.maximum(1.0, np.abs(theta)))
    if not accurate:
        return H
    d = np.abs(np.diag(H))
    scale = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), np.maximum(1.0, np.abs(theta)))
    return _central(grad, theta, 1e-3 * scale)


@dataclass(frozen=True)
class MLResult:
    """θ̂, the Hessian at θ̂ (analytic, or the accurate numeric one), iterations, the scaled score g'(−H)⁻¹g and
    the largest relative step at the last iteration."""

    theta: np.ndarray
    hessian: np.ndarray
    iterations: int
    crit: float
    step: float


def maximize(loglik: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray,
             *, hessian: Callable[[np.ndarray], np.ndarray] | None = None,
             reset: Callable[[np.ndarray], None] | None = None, what: str = "the model", maxiter: int = 100,
             tol: float = 1e-8, nrtol: float = 1e-10, bfgs_first: bool = False, lower: dict[int, float] | None = None,
             advice: str = "") -> MLResult:
    """Maximise ``loglik`` from ``theta0`` (see the module docstring for the convergence test).

    ``hessian``: analytic Hessian (else numeric from ``grad``); ``reset(θ)``: called at the start of every
    iteration (the RE probit re-centres its quadrature nodes there, holding them fixed within the iteration);
    ``bfgs_first``: a quasi-Newton run to get near the optimum first (Tobit and Heckman from rough starts);
    ``lower``: {index: bound} (a variance on the log scale at its boundary stops there).
    """
    theta0 = np.asarray(theta0, dtype=float)
    # Trial points may overflow a likelihood: the line search and the checks below test finiteness themselves.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if reset is not None:
            reset(theta0)
        c, H0 = curvature_scale(grad, hessian, theta0)
        cc = np.outer(c, c)
        fit = _maximize(lambda p: loglik(p / c), lambda p: grad(p / c) / c, theta0 * c,
                        hessian=None if hessian is None else (lambda p: hessian(p / c) / cc),
                        reset=None if reset is None else (lambda p: reset(p / c)), what=what, maxiter=maxiter,
                        tol=tol, nrtol=nrtol, bfgs_first=bfgs_first, advice=advice, c=c, h0=H0 / cc,
                        lower=None if lower is None else {j: b * c[j] for j, b in lower.items()})
    return MLResult(fit.theta / c, fit.hessian * cc, fit.iterations, fit.crit, fit.step)


def curvature_scale(grad: Callable[[np.ndarray], np.ndarray], hessian: Callable[[np.ndarray], np.ndarray] | None,
                    theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """c_j = √|H_jj| at the start (the units in which every parameter has unit curvature), and the Hessian there.

    The maximiser works on φ = c·θ, so that neither the numeric Hessian's step, nor the Newton solve, nor the
    concavity check, nor BFGS depends on the units of a regressor (a coefficient on sales in yuan and one on a
    share differ by 1e8 in θ, not in φ). Without an analytic Hessian it comes from central differences of the
    gradient with the Newton step's h_j = 10⁻⁵·max(1, |θ_j|) — the Hessian the first Newton iteration needs anyway,
    so well-scaled models pay nothing extra; where that step is far from the curvature scale (more than one unit
    of it, or under 10⁻⁴ of it) or overflowed the likelihood, it is refined (at most eight passes).
    Components with no finite curvature keep c_j = 1."""
    if hessian is not None:
        H = np.asarray(hessian(theta), dtype=float)
    else:
        h = 1e-5 * np.maximum(1.0, np.abs(theta))
        for _ in range(8):
            H = _central(grad, theta, h)
            d = np.abs(np.diag(H))
            ok = np.isfinite(d) & (d > 0)
            # no finite curvature: the step overflowed the likelihood (an index of 1e3), so shrink it
            new = np.where(ok, 1e-3 / np.sqrt(np.where(ok, d, 1.0)), np.where(np.isfinite(d), h, h * 1e-4))
            if np.all((new / h <= 10) & (new / h >= 1e-3)):
                break
            h = new
    d = np.abs(np.diag(H))
    ok = np.isfinite(d) & (d > 0)
    return np.where(ok, np.sqrt(np.where(ok, d, 1.0)), 1.0), H


def _maximize(loglik: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray,
              *, hessian: Callable[[np.ndarray], np.ndarray] | None, reset: Callable[[np.ndarray], None] | None,
              what: str, maxiter: int, tol: float, nrtol: float, bfgs_first: bool, lower: dict[int, float] | None,
              advice: str, c: np.ndarray, h0: np.ndarray | None = None) -> MLResult:
    """Newton–Raphson on the scaled parameters φ (``theta0`` is φ₀); the step test is on θ = φ/c. ``h0``: the
    Hessian at φ₀ if already computed (used by the first Newton iteration unless BFGS moved away first)."""
    theta = np.asarray(theta0, dtype=float).copy()
    it0 = 0
    if bfgs_first:
        theta, it0 = _bfgs(loglik, grad, theta, maxiter)
        h0 = None
    hess = hessian or (lambda t: numeric_hessian(grad, t, accurate=False))
    crit, rel = np.inf, np.inf
    for it in range(1, maxiter + 1):
        if reset is not None:
            reset(theta)
        ll, g = loglik(theta), grad(theta)
        H, h0 = (hess(theta) if h0 is None or not np.all(np.isfinite(h0)) else h0), None
        step = _newton_step(g, H)
        crit = float(g @ step)
        rel = float(np.max(np.abs(step / c) / np.maximum(1.0, np.abs(theta / c)))) if step.size else 0.0
        t, cand = 1.0, theta + step
        while t > 1e-10:
            cand = _bounded(theta + t * step, lower)
            ll_c = loglik(cand)
            if np.isfinite(ll_c) and ll_c >= ll - 1e-12 * max(1.0, abs(ll)):
                break
            t /= 2
        at_bound = lower is not None and any(cand[j] <= b for j, b in lower.items())
        theta = cand
        if (crit < nrtol and rel < tol) or at_bound:
            if reset is not None:
                reset(theta)
            H = hessian(theta) if hessian is not None else numeric_hessian(grad, theta)
            if not at_bound:
                _check_concave(H, what, advice)
            return MLResult(theta, H, it0 + it, crit, rel)
    raise ConvergenceError(
        f"{what} did not converge in {maxiter} Newton iterations: scaled score g'(-H)^-1 g = {crit:.3g} "
        f"(needs < {nrtol:g}), largest relative step {rel:.3g} (needs < {tol:g}). "
        + (advice or "Try rescaling regressors (e.g. thousands instead of units), dropping collinear or nearly "
                     "constant terms, or raising maxiter."))


def _check_concave(H: np.ndarray, what: str, advice: str) -> None:
    """The Hessian at a maximum must be negative definite: otherwise a coefficient diverges or is not identified."""
    eig = np.linalg.eigvalsh((H + H.T) / 2) if np.all(np.isfinite(H)) else np.array([np.nan])
    if not np.all(np.isfinite(eig)) or eig.max() >= -1e-12 * max(1.0, float(np.abs(eig).max())):
        raise ConvergenceError(
            f"{what} did not converge to a maximum: the Hessian is not negative definite (largest eigenvalue "
            f"{eig.max():.3g}), so some coefficient is not identified or runs to infinity. "
            + (advice or "Try rescaling regressors (e.g. thousands instead of units), dropping collinear or nearly "
                         "constant terms, or checking that the outcome varies."))


def _newton_step(g: np.ndarray, H: np.ndarray) -> np.ndarray:
    """−H⁻¹g, or a scaled gradient-ascent step where H is not negative definite or singular."""
    try:
        step = -np.linalg.solve(H, g)
    except np.linalg.LinAlgError:
        step = np.full_like(g, np.nan)
    if not np.all(np.isfinite(step)) or g @ step <= 0:
        step = g / max(1.0, float(np.abs(g).max()))
    return step


def _bounded(theta: np.ndarray, lower: dict[int, float] | None) -> np.ndarray:
    if lower:
        for j, b in lower.items():
            theta[j] = max(theta[j], b)
    return theta


def _bfgs(loglik: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
          maxiter: int) -> tuple[np.ndarray, int]:
    from scipy.optimize import minimize

    res = minimize(lambda t: -loglik(t), theta, jac=lambda t: -grad(t), method="BFGS",
                   options={"maxiter": max(5 * maxiter, 200), "gtol": 1e-7})
    x = np.asarray(res.x, dtype=float)
    return (x if np.all(np.isfinite(x)) else theta), int(res.nit)


# ------------------------------------------------------------------------------------------------ shared pieces
_LOG2PI = float(np.log(2 * np.pi))


def mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), computed on the log scale so that it stays finite far in the lower tail."""
    from scipy.special import log_ndtr

    return np.exp(-0.5 * z * z - 0.5 * _LOG2PI - log_ndtr(z))


def ml_spec(vcov: Any, cluster: Any = None, *, estimator: str, supported: tuple[str, ...] = ML_KINDS,
            dof: str = "stata") -> VarianceSpec:
    """The variance request of an ML estimator (``"classical"`` = ``"oim"``; dof rules ``"stata"``/``"none"``)."""
    return parse_vcov(vcov, cluster, dof=dof, supported=supported, dof_rules=("stata", "none"), estimator=estimator,
                      ml=True)


#: Weights an ML estimator accepts: sampling weights (Stata ``[pw=w]``) maximise Σ wᵢℓᵢ with a robust variance.
ML_WEIGHT_TYPES = ("pweight",)


def ml_weighted_spec(vcov: Any, cluster: Any, *, weights: str | None, weights_type: str, estimator: str,
                     supported: tuple[str, ...] = ML_KINDS) -> tuple[VarianceSpec, list[str]]:
    """The variance request of an ML estimator that takes sampling weights, and the notes it implies.

    With ``weights`` and no ``vcov`` the variance is robust (cluster if ``cluster`` names a variable), as Stata's
    pweights force; an explicit ``oim``/``opg`` with sampling weights is refused (the information matrix would
    treat them as frequencies); other ``weights_type`` values are refused."""
    notes: list[str] = []
    if weights is not None and weights_type not in ML_WEIGHT_TYPES:
        raise SpecificationError(f"weights_type={weights_type!r} is not available for {estimator}: use 'pweight' "
                                 "(sampling weights, Stata [pw=w]); analytic or frequency weights have no "
                                 "likelihood meaning here")
    if vcov is None and weights is not None:
        vcov = "robust" if cluster is None else "cluster"
        notes.append("Note: sampling weights imply the robust (linearised) variance, as Stata's pweights do.")
    spec = ml_spec(vcov or "oim", cluster, estimator=estimator, supported=supported)
    if weights is not None and spec.kind in ("oim", "opg"):
        raise SpecificationError("sampling weights need a robust or cluster variance (the information matrix "
                                 "treats the weights as frequencies); use vcov='robust' or 'cluster'")
    return spec, notes


def sampling_weights(design: Design, weights: str | None) -> np.ndarray | None:
    """The sampling-weight column of the estimation sample (carried in ``design.extra``); negative weights are
    refused with the rows named (zero weights are left to the estimator, which omits and counts them)."""
    if weights is None:
        return None
    w = design.extra[weights].to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        raise SpecificationError(f"sampling weights {weights!r} are negative in {len(bad)} rows (e.g. "
                                 f"firm-years {[design.index[i] for i in bad[:5]]}); weights must be >= 0")
    return w


def positive_weights(design: Design, weights: str | None) -> tuple[Design, np.ndarray | None, np.ndarray | None]:
    """The design without zero-weight rows (recorded in ``omitted``), the sampling weights of the rest and the
    mask of rows kept (None when nothing is dropped)."""
    from dataclasses import replace

    from .results import Omitted

    w = sampling_weights(design, weights)
    if w is None or (w > 0).all():
        return design, w, None
    keep = w > 0
    d = replace(design, y=design.y[keep], X=design.X[keep], index=design.index[keep], extra=design.extra.loc[keep],
                omitted=(*design.omitted, Omitted(f"zero sampling weight ({weights})", int((~keep).sum()))))
    return d, w[keep], keep


def ml_fit(design: Design, spec: VarianceSpec, hessian: np.ndarray, scores: np.ndarray | None, *,
           rows: np.ndarray | None = None, units: np.ndarray | None = None, inference: str = "normal",
           df_fixed: float | None = None, jacobian: np.ndarray | None = None,
           supported: tuple[str, ...] = ML_KINDS) -> Fit:
    """The ML :class:`~clusterecon.estimators.fit.Fit`: bread H⁻¹, the scores (per observation, or per firm with
    ``units`` the firm code of each observation), the carried columns of the rows used (``rows``: mask)."""
    names = [str(n) for n in design.index.names]
    return Fit("ml", bread=np.linalg.inv(hessian), scores=scores, frame=design.frame(rows), units=units,
               supported=supported, dof_rules=("stata", "none"), inference=inference, df_fixed=df_fixed,
               jacobian=jacobian, dof=spec.dof, entity=names[0], time_name=names[-1])
