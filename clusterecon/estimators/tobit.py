"""Tobit (censored normal regression) with lower and/or upper limits, Stata ``tobit`` conventions.

Model: y* = x'β + ε, ε ~ N(0, σ²); observed y = a if y* ≤ a, y = b if y* ≥ b, y = y* otherwise (a and/or b may
be absent). Log-likelihood, with z = (y − x'β)/σ::

    uncensored:  −½ln(2π) − ln σ − z²/2
    at a:        ln Φ((a − x'β)/σ)
    at b:        ln Φ((x'β − b)/σ)

Estimated by maximum likelihood in (β, ln σ) (BFGS with the analytic gradient, then Newton steps on a Hessian
differenced from that gradient); σ is reported with its delta-method standard error, as Stata prints ``/sigma``.
Variance: ``vcov="oim"`` (default, −H⁻¹ as Stata), ``"robust"`` (H⁻¹ΣsᵢsᵢᵀH⁻¹·N/(N−1)) or ``"cluster"``
(G/(G−1)), both via :func:`clusterecon.estimators.covariance.ml_sandwich`. Inference uses t(N − K), K = number of
x'β coefficients, because Stata's ``tobit`` reports t statistics with ``e(df_r)`` = N − K.

Marginal effects (:meth:`TobitResult.margins`) are averages over the estimation sample of the derivative of the
latent mean x'β, the censored mean E[y|x] or the truncated mean E[y|x, a<y<b] (Stata ``margins, dydx(*)
predict(ystar(a,b))`` / ``predict(e(a,b))``), with delta-method SEs; 0/1 regressors get discrete changes.
No released Python library fits a Tobit, so the likelihood is written here (scipy underneath).

Reference: Wooldridge, *Introductory Econometrics*, Example 17.2; Amemiya (1984), J. Econometrics 24, 3–61.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._linear import cluster_columns
from .binary import ConvergenceError, ml_covariance, numeric_hessian, resolve_vcov
from .design import SpecificationError, build_design, panel_shape
from .results import EstimationResult

_LOG2PI = float(np.log(2 * np.pi))


# --------------------------------------------------------------------------------------------- shared ML helpers
def mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), computed on the log scale so that it stays finite far in the lower tail."""
    from scipy.special import log_ndtr

    return np.exp(-0.5 * z * z - 0.5 * _LOG2PI - log_ndtr(z))


def maximize(loglik: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray], theta0: np.ndarray,
             *, what: str, maxiter: int = 500, tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray, int]:
    """Maximise ``loglik``: BFGS on the analytic gradient, then Newton steps until the step is below ``tol``.

    Returns (θ̂, Hessian at θ̂, iterations). Raises :class:`ConvergenceError` with the optimiser's message and
    what to try when the gradient does not vanish or the Hessian is not negative definite.
    """
    from scipy.optimize import minimize

    res = minimize(lambda t: -loglik(t), theta0, jac=lambda t: -grad(t), method="BFGS",
                   options={"maxiter": maxiter, "gtol": 1e-7})
    theta = np.asarray(res.x, dtype=float)
    it = int(res.nit)
    H = numeric_hessian(grad, theta)
    for _ in range(50):
        it += 1
        try:
            step = -np.linalg.solve(H, grad(theta))
        except np.linalg.LinAlgError:
            break
        # Newton polish with step halving so that the likelihood never decreases.
        ll0, lam = loglik(theta), 1.0
        while lam > 1e-4 and not loglik(theta + lam * step) >= ll0 - 1e-12:
            lam /= 2
        theta = theta + lam * step
        H = numeric_hessian(grad, theta)
        if np.max(np.abs(lam * step) / np.maximum(1.0, np.abs(theta))) < tol:
            break
    g = grad(theta)
    eig = np.linalg.eigvalsh(H)
    scaled = np.abs(g) * np.maximum(1.0, np.abs(theta))
    if not np.all(np.isfinite(theta)) or eig.max() >= 0 or scaled.max() > 1e-3 * max(1.0, abs(loglik(theta))):
        raise ConvergenceError(
            f"{what} did not converge: optimiser said {res.message!r} after {it} iterations; max |gradient| = "
            f"{np.abs(g).max():.3g}, largest Hessian eigenvalue = {eig.max():.3g} (must be < 0). Try rescaling the "
            "regressors (e.g. thousands instead of units), dropping collinear or nearly constant terms, or "
            "checking that the outcome varies within the uncensored range.")
    return theta, H, it


def check_vcov(vcov: str, cluster: str | None = None) -> str:
    """'oim' | 'robust' | 'cluster' (Stata's names; 'classical' = 'oim'); refuses the rest with the choices."""
    v = resolve_vcov(vcov, cluster)
    return "oim" if v == "classical" else v


# --------------------------------------------------------------------------------------------- Tobit
@dataclass(frozen=True, kw_only=True)
class TobitResult(EstimationResult):
    """Tobit estimates (β and σ). ``margins()`` gives average marginal effects on the latent, censored or
    truncated mean."""

    lower: float | None = None
    upper: float | None = None
    n_left: int = 0
    n_right: int = 0
    n_uncensored: int = 0
    X: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)

    @property
    def sigma(self) -> float:
        return float(self.coef[-1])

    def _predict(self, kind: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        from scipy.special import ndtr

        a = -np.inf if self.lower is None else self.lower
        b = np.inf if self.upper is None else self.upper

        def parts(t: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, ...]:
            xb, s = X @ t[:-1], t[-1]
            za, zb = (a - xb) / s, (b - xb) / s
            pa, pb = ndtr(za), ndtr(zb)
            fa = np.where(np.isfinite(za), np.exp(-0.5 * np.where(np.isfinite(za), za, 0) ** 2), 0) / np.sqrt(
                2 * np.pi)
            fb = np.where(np.isfinite(zb), np.exp(-0.5 * np.where(np.isfinite(zb), zb, 0) ** 2), 0) / np.sqrt(
                2 * np.pi)
            return xb, s, pa, pb, fa, fb

        if kind == "latent":
            return lambda t, X: X @ t[:-1]
        if kind == "truncated":
            def trunc(t: np.ndarray, X: np.ndarray) -> np.ndarray:
                xb, s, pa, pb, fa, fb = parts(t, X)
                return xb + s * (fa - fb) / (pb - pa)
            return trunc
        if kind == "censored":
            def cens(t: np.ndarray, X: np.ndarray) -> np.ndarray:
                xb, s, pa, pb, fa, fb = parts(t, X)
                low = a * pa if np.isfinite(a) else 0.0
                up = b * (1 - pb) if np.isfinite(b) else 0.0
                return low + up + (pb - pa) * xb + s * (fa - fb)
            return cens
        if kind == "uncensored_probability":
            def prob(t: np.ndarray, X: np.ndarray) -> np.ndarray:
                _, _, pa, pb, _, _ = parts(t, X)
                return pb - pa
            return prob
        raise SpecificationError(
            f"predict={kind!r} unknown; use 'latent' (x'β), 'censored' (E[y|x]), 'truncated' (E[y|x, a<y<b]) or "
            "'uncensored_probability' (P(a<y<b|x))")

    def predict(self, kind: str = "censored") -> np.ndarray:
        """Fitted means on the estimation sample: 'latent', 'censored', 'truncated' or 'uncensored_probability'."""
        return self._predict(kind)(self.coef, self.X)

    def _index_slope(self, kind: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """∂m/∂(x'β) for the mean ``kind``; the derivative w.r.t. x_j is β_j times it (analytic, for margins)."""
        from scipy.special import ndtr

        a = -np.inf if self.lower is None else self.lower
        b = np.inf if self.upper is None else self.upper

        def slope(t: np.ndarray, X: np.ndarray) -> np.ndarray:
            xb, s = X @ t[:-1], t[-1]
            za, zb = (a - xb) / s, (b - xb) / s
            fa = np.where(np.isfinite(za), np.exp(-0.5 * np.nan_to_num(za, posinf=0, neginf=0) ** 2), 0) / np.sqrt(
                2 * np.pi)
            fb = np.where(np.isfinite(zb), np.exp(-0.5 * np.nan_to_num(zb, posinf=0, neginf=0) ** 2), 0) / np.sqrt(
                2 * np.pi)
            zfa = np.where(np.isfinite(za), np.nan_to_num(za) * fa, 0.0)
            zfb = np.where(np.isfinite(zb), np.nan_to_num(zb) * fb, 0.0)
            D = ndtr(zb) - ndtr(za)
            if kind == "latent":
                return np.ones_like(xb)
            if kind == "censored":
                return D
            if kind == "truncated":
                return 1 + (zfa - zfb) / D - ((fa - fb) / D) ** 2
            return (fa - fb) / s

        return slope

    def margins_spec(self, predict: str = "censored") -> Any:
        """The :class:`~clusterecon.estimators.margins.MarginsSpec` for the mean ``predict``."""
        from .margins import MarginsSpec

        pred, slope = self._predict(predict), self._index_slope(predict)
        return MarginsSpec(predict=pred, X=self.X, names=tuple(self.names[:-1]),
                           dydx=lambda t, X: slope(t, X)[:, None] * t[None, :-1],
                           label={"latent": "E[y*|x] = x'b", "censored": "E[y|x] (censored mean)",
                                  "truncated": "E[y|x, a<y<b] (truncated mean)",
                                  "uncensored_probability": "Pr(a<y<b|x)"}[predict])

    def margins(self, predict: str = "censored", variables: Sequence[str] | str = "*", *,
                dummies: Sequence[str] | bool | None = None, at: str = "overall") -> EstimationResult:
        """Average marginal effects with delta-method SEs on the mean chosen by ``predict`` (see :meth:`predict`).

        ``predict="censored"``: ∂E[y|x]/∂x_j = β_j[Φ(z_b) − Φ(z_a)] averaged over the sample (Wooldridge's APE);
        ``"truncated"``: effect on E[y|x, a<y<b]; ``"latent"``: β_j itself. 0/1 regressors get the discrete
        change 0 → 1 (``dummies=False`` to differentiate them instead). Computed by
        :func:`clusterecon.estimators.margins.margins`.
        """
        from .margins import margins as _margins

        spec = self.margins_spec(predict)
        out = _margins(replace(self, extra={**self.extra, "margins": spec}), dydx=variables, dummies=dummies, at=at)
        return replace(out, extra={**out.extra, "predict": predict})


def tobit(data: SurveyPanel | pd.DataFrame, formula: str, *, lower: float | None = 0.0, upper: float | None = None,
          vcov: str = "oim", cluster: str | None = None, maxiter: int = 500) -> TobitResult:
    """Tobit of ``formula`` with left limit ``lower`` and/or right limit ``upper`` (Stata ``tobit, ll() ul()``).

    Parameters
    ----------
    data : SurveyPanel or DataFrame indexed by (firm, year)
    formula : str
        e.g. ``"direct_sales_share ~ manager_schooling_years + np.log(employees)"``.
    lower, upper : float or None
        Censoring limits; observations at or beyond a limit are censored there. At least one is required. Values
        strictly beyond a limit are refused: they mean the limit is wrong (or the variable needs recoding).
    vcov : {"oim", "robust", "cluster"}
        Observed information (Stata default), robust (·N/(N−1)) or cluster-robust (·G/(G−1)).
    cluster : column name(s); ``None`` with ``vcov="cluster"`` clusters by firm.

    Returns
    -------
    TobitResult with ``params`` = β and ``sigma`` (σ, SE by the delta method from ln σ), t(N−K) inference,
    ``loglik``, censoring counts in ``stats`` and ``margins()``.
    """
    kind = check_vcov(vcov, cluster)
    if lower is None and upper is None:
        raise SpecificationError("tobit needs a lower and/or an upper limit (e.g. lower=0 for a corner at zero, "
                                 "lower=0, upper=1 for a share); with neither it is a linear regression")
    if lower is not None and upper is not None and not lower < upper:
        raise SpecificationError(f"lower limit {lower} must be below upper limit {upper}")
    d = build_design(data, formula, extra=cluster_columns(data, cluster))
    y, X = d.y, d.X
    tol = 1e-10 * max(1.0, float(np.abs(y).max()))
    for lim, side, beyond in ((lower, "lower", y < (lower if lower is not None else 0) - tol),
                              (upper, "upper", y > (upper if upper is not None else 0) + tol)):
        if lim is not None and beyond.any():
            rows = [tuple(r) for r in d.index[beyond][:5]]
            raise SpecificationError(
                f"{int(beyond.sum())} values of {d.depvar} lie beyond the {side} limit {lim} (e.g. rows {rows}, "
                f"values {y[beyond][:5].tolist()}); a censored variable cannot pass its limit: fix the limit or "
                "the data")
    left = np.zeros(y.size, dtype=bool) if lower is None else y <= lower + tol
    right = np.zeros(y.size, dtype=bool) if upper is None else y >= upper - tol
    unc = ~(left | right)
    n, k = X.shape
    if unc.sum() <= k:
        raise SpecificationError(
            f"only {int(unc.sum())} of {n} observations of {d.depvar} are uncensored (limits {lower}, {upper}) for "
            f"{k} coefficients: σ and β are not identified; check the limits")
    if np.linalg.matrix_rank(X) < k:
        raise SpecificationError(f"the regressors of {formula!r} are collinear; drop one of {list(d.names)}")

    a = lower if lower is not None else 0.0
    b = upper if upper is not None else 0.0
    Xu, Xl, Xr, yu = X[unc], X[left], X[right], y[unc]

    def loglik_obs(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-observation log-likelihood and scores in (β, ln σ)."""
        from scipy.special import log_ndtr

        beta, s = t[:-1], np.exp(t[-1])
        ll = np.empty(n)
        sc = np.empty((n, k + 1))
        z = (yu - Xu @ beta) / s
        ll[unc] = -0.5 * _LOG2PI - t[-1] - 0.5 * z * z
        sc[unc, :k] = (z / s)[:, None] * Xu
        sc[unc, k] = z * z - 1
        if left.any():
            za = (a - Xl @ beta) / s
            ll[left] = log_ndtr(za)
            m = mills(za)
            sc[left, :k] = (-m / s)[:, None] * Xl
            sc[left, k] = -m * za
        if right.any():
            zb = (Xr @ beta - b) / s
            ll[right] = log_ndtr(zb)
            m = mills(zb)
            sc[right, :k] = (m / s)[:, None] * Xr
            sc[right, k] = -m * zb
        return ll, sc

    beta0 = np.linalg.lstsq(Xu, yu, rcond=None)[0]
    resid = yu - Xu @ beta0
    theta0 = np.r_[beta0, np.log(max(np.sqrt(resid @ resid / max(unc.sum() - k, 1)), 1e-8))]
    theta, H, iters = maximize(lambda t: float(loglik_obs(t)[0].sum()), lambda t: loglik_obs(t)[1].sum(0), theta0,
                               what="Tobit", maxiter=maxiter)
    ll, scores = loglik_obs(theta)
    V_log, info = ml_covariance(H, scores, kind, d, cluster)
    sigma = float(np.exp(theta[-1]))
    J = np.eye(k + 1)
    J[-1, -1] = sigma  # dσ/d ln σ
    V = J @ V_log @ J.T
    coef = np.r_[theta[:-1], sigma]

    # Likelihood-ratio test against the constant-only Tobit (Stata's "LR chi2" and pseudo-R² in the header).
    stats_: dict[str, Any] = {"Left-censored": int(left.sum()), "Uncensored": int(unc.sum()),
                              "Right-censored": int(right.sum()), "sigma": sigma, "var(e)": sigma ** 2}
    tests = {}
    if d.has_constant and k > 1:
        from scipy import stats as sps

        from .results import TestResult

        ll0 = _constant_only_loglik(y, left, right, a, b)
        lr = 2 * (float(ll.sum()) - ll0)
        stats_["Pseudo R2"] = 1 - float(ll.sum()) / ll0
        tests["lr"] = TestResult("LR", lr, float(sps.chi2.sf(lr, k - 1)), k - 1, "chi2",
                                 "all slopes are zero", note="against the constant-only Tobit")
    notes = [f"Limits: lower={lower}, upper={upper}; ML converged in {iters} iterations.",
             "sigma: standard deviation of the latent error (SE by the delta method from ln sigma)."]
    res = TobitResult(
        model="Tobit regression", estimator="maximum likelihood", depvar=d.depvar, names=(*d.names, "sigma"),
        coef=coef, vcov=V, variance=info, nobs=n, df_resid=float(n - k), formula=formula, loglik=float(ll.sum()),
        omitted=d.omitted, stats=stats_, tests=tests, notes=tuple(notes), **panel_shape(d.index),
        extra={"ln_sigma": float(theta[-1]), "iterations": iters}, lower=lower, upper=upper,
        n_left=int(left.sum()), n_right=int(right.sum()), n_uncensored=int(unc.sum()), X=X)
    # The generic margins(result) uses the censored mean E[y|x], as Wooldridge's APEs do.
    return replace(res, extra={**res.extra, "margins": res.margins_spec("censored")})


def _constant_only_loglik(y: np.ndarray, left: np.ndarray, right: np.ndarray, a: float, b: float) -> float:
    """Maximised log-likelihood of the Tobit with only a constant (for the LR test and pseudo-R²)."""
    from scipy.special import log_ndtr

    unc = ~(left | right)
    yu = y[unc]

    def f(t: np.ndarray) -> float:
        mu, s = t[0], np.exp(t[1])
        v = np.sum(-0.5 * _LOG2PI - t[1] - 0.5 * ((yu - mu) / s) ** 2)
        v += left.sum() * log_ndtr((a - mu) / s) + right.sum() * log_ndtr((mu - b) / s)
        return float(v)

    from scipy.optimize import minimize

    t0 = np.array([yu.mean(), np.log(yu.std() + 1e-8)])
    res = minimize(lambda t: -f(t), t0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10,
                                                                        "maxiter": 5000})
    return float(-res.fun)


__all__ = ["tobit", "TobitResult", "ConvergenceError"]

