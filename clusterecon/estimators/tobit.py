"""Tobit (censored normal regression) with lower and/or upper limits, Stata ``tobit`` conventions.

Model: y* = x'β + ε, ε ~ N(0, σ²); observed y = a if y* ≤ a, y = b if y* ≥ b, y = y* otherwise (a and/or b may
be absent). Log-likelihood, with z = (y − x'β)/σ::

    uncensored:  −½ln(2π) − ln σ − z²/2
    at a:        ln Φ((a − x'β)/σ)
    at b:        ln Φ((x'β − b)/σ)

Estimated by maximum likelihood in (β, ln σ) (:func:`clusterecon.estimators.ml.maximize`: BFGS with the analytic
gradient, then Newton steps to the step-and-score convergence test); σ is reported with its delta-method standard
error, as Stata prints ``/sigma``. Variance (:mod:`clusterecon.estimators.fit`): ``vcov="oim"`` (default, −H⁻¹ as
Stata), ``"robust"`` (H⁻¹ΣsᵢsᵢᵀH⁻¹·N/(N−1)), ``"cluster"`` (G/(G−1)), ``"opg"``, ``"hc0"``. Inference uses t(N − K),
K = number of x'β coefficients, because Stata's ``tobit`` reports t statistics with ``e(df_r)`` = N − K.

Default limits as Stata users expect: ``tobit(data, f)`` censors at 0 from below; ``tobit(data, f, upper=2)`` censors
from above only (before, the lower limit 0 stayed and such data were refused).

Marginal effects (:meth:`TobitResult.margins`) are averages over the estimation sample of the derivative of the
latent mean x'β, the censored mean E[y|x] or the truncated mean E[y|x, a<y<b] (Stata ``margins, dydx(*)
predict(ystar(a,b))`` / ``predict(e(a,b))``), with delta-method SEs; 0/1 regressors get discrete changes.
No released Python library fits a Tobit, so the likelihood is written here (scipy underneath).

Reference: Wooldridge, *Introductory Econometrics*, Example 17.2; Amemiya (1984), J. Econometrics 24, 3–61.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import log_ndtr, ndtr

from ..panel import SurveyPanel
from .design import Design, SpecificationError, as_panel_frame, build_design, panel_shape
from .errors import ConvergenceError
from .linear import cluster_columns, independent_columns
from .ml import maximize, mills, ml_fit, ml_weighted_spec, positive_weights
from .predict import Predictor, Terms
from .results import UNSET, EstimationResult, TestResult, build_result

__all__ = ["tobit", "TobitResult", "TobitMean", "ConvergenceError"]

_LOG2PI = float(np.log(2 * np.pi))
KINDS = ("censored", "latent", "truncated", "uncensored_probability")
_LABELS = {"latent": "E[y*|x] = x'b", "censored": "E[y|x] (censored mean)",
           "truncated": "E[y|x, a<y<b] (truncated mean)", "uncensored_probability": "Pr(a<y<b|x)"}


def _pdf(z: np.ndarray) -> np.ndarray:
    """φ(z), 0 at ±∞ (an absent limit)."""
    return np.where(np.isfinite(z), np.exp(-0.5 * np.nan_to_num(z, posinf=0, neginf=0) ** 2), 0) / np.sqrt(2 * np.pi)


@dataclass(frozen=True)
class TobitMean:
    """A Tobit mean m(θ, X) of kind ``latent`` (x'β), ``censored`` (E[y|x]), ``truncated`` (E[y|x, a<y<b]) or
    ``uncensored_probability`` (P(a<y<b|x)), θ = (β, σ); ``dydx`` its analytic derivative in x (for margins).
    A class rather than a closure so that results pickle."""

    lower: float | None
    upper: float | None
    kind: str = "censored"

    def _parts(self, t: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, ...]:
        a = -np.inf if self.lower is None else self.lower
        b = np.inf if self.upper is None else self.upper
        xb, s = X @ t[:-1], t[-1]
        za, zb = (a - xb) / s, (b - xb) / s
        fa, fb = _pdf(za), _pdf(zb)
        return xb, s, za, zb, ndtr(za), ndtr(zb), fa, fb

    def __call__(self, t: np.ndarray, X: np.ndarray) -> np.ndarray:
        xb, s, _, _, pa, pb, fa, fb = self._parts(t, X)
        if self.kind == "latent":
            return xb
        if self.kind == "truncated":
            return xb + s * (fa - fb) / (pb - pa)
        if self.kind == "uncensored_probability":
            return pb - pa
        low = self.lower * pa if self.lower is not None else 0.0
        up = self.upper * (1 - pb) if self.upper is not None else 0.0
        return low + up + (pb - pa) * xb + s * (fa - fb)

    def dydx(self, t: np.ndarray, X: np.ndarray) -> np.ndarray:
        """∂m/∂x = β · ∂m/∂(x'β) (n, k)."""
        xb, s, za, zb, pa, pb, fa, fb = self._parts(t, X)
        zfa = np.where(np.isfinite(za), np.nan_to_num(za) * fa, 0.0)
        zfb = np.where(np.isfinite(zb), np.nan_to_num(zb) * fb, 0.0)
        D = pb - pa
        slope = {"latent": np.ones_like(xb), "censored": D,
                 "truncated": 1 + (zfa - zfb) / D - ((fa - fb) / D) ** 2,
                 "uncensored_probability": (fa - fb) / s}[self.kind]
        return slope[:, None] * t[None, :-1]


@dataclass(frozen=True, kw_only=True, repr=False)
class TobitResult(EstimationResult):
    """Tobit estimates (β and σ). ``predict(newdata, kind=...)`` and ``margins(predict=...)`` for the latent,
    censored or truncated mean or the probability of being uncensored."""

    lower: float | None = None
    upper: float | None = None
    n_left: int = 0
    n_right: int = 0
    n_uncensored: int = 0
    X: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)

    @property
    def sigma(self) -> float:
        return float(self.coef[-1])

    def predict(self, newdata: Any = None, *, kind: str | None = None) -> pd.Series:
        """``kind`` = ``"censored"`` (default, E[y|x]), ``"latent"`` (= ``"xb"``, x'β), ``"truncated"`` or
        ``"uncensored_probability"``, on ``newdata`` or (None) the estimation sample."""
        kind = {"xb": "latent", None: "censored"}.get(kind, kind)
        if kind not in KINDS:
            raise SpecificationError(f"kind={kind!r} unknown; use one of {KINDS}")
        if newdata is None:
            return pd.Series(TobitMean(self.lower, self.upper, kind)(self.coef, self.X), index=self.index, name=kind)
        X, idx = self.predictor.terms.matrix(newdata, self.names[:-1])
        return pd.Series(TobitMean(self.lower, self.upper, kind)(self.coef, X), index=idx, name=kind)

    def margins_spec(self, predict: str = "censored") -> Any:
        """The :class:`~clusterecon.estimators.margins.MarginsSpec` for the mean ``predict``."""
        from .margins import MarginsSpec

        if predict not in KINDS:
            raise SpecificationError(f"predict={predict!r} unknown; use one of {KINDS}")
        mean = TobitMean(self.lower, self.upper, predict)
        return MarginsSpec(predict=mean, X=self.X, names=tuple(self.names[:-1]), dydx=mean.dydx,
                           label=_LABELS[predict])

    def margins(self, predict: str = "censored", variables: Sequence[str] | str = "*", *,
                dummies: Sequence[str] | bool | None = None, at: str = "overall") -> EstimationResult:
        """Average marginal effects with delta-method SEs on the mean chosen by ``predict`` (see :meth:`predict`).

        ``predict="censored"``: ∂E[y|x]/∂x_j = β_j[Φ(z_b) − Φ(z_a)] averaged over the sample (Wooldridge's APE);
        ``"truncated"``: effect on E[y|x, a<y<b]; ``"latent"``: β_j itself. Every column is differentiated, 0/1
        ones too (Stata without ``i.``); name factor dummies in ``dummies`` for discrete changes 0 → 1. Computed
        by :func:`clusterecon.estimators.margins.margins`.
        """
        from .margins import margins as _margins

        spec = self.margins_spec(predict)
        out = _margins(replace(self, extra={**self.extra, "margins": spec}), dydx=variables, dummies=dummies, at=at)
        return replace(out, extra={**out.extra, "predict": predict})


def tobit(data: SurveyPanel | pd.DataFrame, formula: str, *, lower: float | None = UNSET, upper: float | None = None,
          vcov: str | None = None, cluster: str | Sequence[str] | None = None, maxiter: int = 100,
          weights: str | None = None, weights_type: str = "pweight", entity: str | None = None,
          time: str | None = None) -> TobitResult:
    """Tobit of ``formula`` with left limit ``lower`` and/or right limit ``upper`` (Stata ``tobit, ll() ul()``).

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame (a cross-section; ``entity=``/
        ``time=`` name the panel columns if there are any).
    formula : str
        e.g. ``"direct_sales_share ~ manager_schooling_years + np.log(employees)"``.
    lower, upper : float or None
        Censoring limits; observations at or beyond a limit are censored there. With neither given the corner is
        at ``lower=0``; ``upper=2`` alone censors from above only (Stata ``tobit, ul(2)``); pass both for a
        two-limit Tobit. Values strictly beyond a limit are refused: they mean the limit is wrong.
    vcov, cluster : ``"oim"`` (default, Stata's), ``"opg"``, ``"robust"`` (= ``"hc1"``, ·N/(N−1)), ``"hc0"`` or
        ``"cluster"`` (by firm unless ``cluster`` names one or two variables, ·G/(G−1)).
    weights, weights_type : a column of sampling weights (``"pweight"``, Stata ``[pw=w]``): maximises Σ wᵢℓᵢ
        with the robust variance (cluster if ``cluster`` is named) computed on the N sampled rows; zero weights
        are omitted and counted; the LR test is replaced by a Wald test, as Stata does.

    Returns
    -------
    TobitResult with ``params`` = β and ``sigma`` (σ, SE by the delta method from ln σ), t(N−K) inference,
    ``llf``/``aic``/``bic``, ``r2_pseudo`` (McFadden, against the constant-only Tobit, as Stata's header),
    censoring counts in ``stats``, ``fitted`` = the censored mean E[y|x] and ``resid`` = y − E[y|x].

    References
    ----------
    Tobin (1958), Econometrica 26(1); Wooldridge (2020), *Introductory Econometrics*, Example 17.2; StataCorp,
    [R] tobit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(4)
    >>> df = pd.DataFrame({"x": rng.normal(size=400)})
    >>> df["y"] = np.minimum(1 + df.x + rng.normal(size=400), 2.0)
    >>> r = tobit(df, "y ~ x", upper=2)
    >>> r.n_right > 0, r.n_left, bool(abs(r.params["x"] - 1) < 3 * r.std_errors["x"])
    (True, 0, True)
    """
    if lower is UNSET:
        lower = 0.0 if upper is None else None
    if lower is None and upper is None:
        raise SpecificationError("tobit needs a lower and/or an upper limit (e.g. lower=0 for a corner at zero, "
                                 "lower=0, upper=1 for a share); with neither it is a linear regression")
    if lower is not None and upper is not None and not lower < upper:
        raise SpecificationError(f"lower limit {lower} must be below upper limit {upper}")
    spec, wnotes = ml_weighted_spec(vcov, cluster, weights=weights, weights_type=weights_type, estimator="tobit")
    df = as_panel_frame(data, entity=entity, time=time, cross_section=True)
    d = build_design(df, formula, extra=(*cluster_columns(df, spec.clusters), *([weights] if weights else [])))
    d, w, _ = positive_weights(d, weights)
    left, right = _censoring(d, lower, upper)
    n, k = d.X.shape
    lik = _TobitLik(d.y, d.X, left, right, lower, upper, w)
    fit = maximize(lik.loglik, lik.grad, lik.start(), what="Tobit", maxiter=maxiter, bfgs_first=True)
    theta = fit.theta
    ll, scores = lik.obs(theta)
    ll, scores = (ll, scores) if w is None else (w * ll, w[:, None] * scores)
    sigma = float(np.exp(theta[-1]))
    J = np.eye(k + 1)
    J[-1, -1] = sigma  # dσ/d ln σ
    rec = ml_fit(d, spec, fit.hessian, scores, inference="fixed", df_fixed=float(n - k), jacobian=J)
    coef = np.r_[theta[:-1], sigma]
    stats_, tests, rsq = _header(d, ll, left, right, lower, upper, sigma, w)
    wald = bool(tests.pop("slopes", False))  # sampling weights: a Wald test of the slopes replaces the LR test
    mean = TobitMean(lower, upper, "censored")
    fitted = mean(coef, d.X)
    res = build_result(
        rec, spec, cls=TobitResult, model="Tobit regression", depvar=d.depvar,
        estimator="maximum likelihood" + (f", sampling weights {weights}" if w is not None else ""),
        wald_terms=list(range(1, k)) if wald else None,
        wald_null="all slopes are zero",
        names=(*d.names, "sigma"), coef=coef, nobs=n, df_resid=float(n - k), formula=formula,
        loglik=float(ll.sum()), rsquared=rsq, omitted=d.omitted, stats=stats_, tests=tests,
        notes=(*wnotes, f"Limits: lower={lower}, upper={upper}; ML converged in {fit.iterations} iterations.",
               "sigma: standard deviation of the latent error (SE by the delta method from ln sigma)."),
        **panel_shape(d.index), index=d.index, residuals=d.y - fitted, fitted_values=fitted,
        predictor=Predictor(d.terms or Terms(d.names)), extra={"ln_sigma": float(theta[-1]),
                                                               "iterations": fit.iterations, "weights": weights},
        lower=lower, upper=upper, n_left=int(left.sum()), n_right=int(right.sum()),
        n_uncensored=int((~(left | right)).sum()), X=d.X)
    # The generic margins(result) uses the censored mean E[y|x], as Wooldridge's APEs do.
    return replace(res, extra={**res.extra, "margins": res.margins_spec("censored")})


def _censoring(d: Design, lower: float | None, upper: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Left- and right-censored masks; refuses values beyond a limit and models with too few uncensored rows."""
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
    if len(independent_columns(X)) < k:  # unit-free: a column of 1e-8s is not 'collinear'
        raise SpecificationError(f"the regressors of {d.formula!r} are collinear; drop one of {list(d.names)}")
    return left, right


class _TobitLik:
    """Per-observation log-likelihood and scores in θ = (β, ln σ)."""

    def __init__(self, y, X, left, right, lower, upper, w=None):
        self.w = w
        self.unc = ~(left | right)
        self.left, self.right = left, right
        self.a = lower if lower is not None else 0.0
        self.b = upper if upper is not None else 0.0
        self.y, self.X = y, X

    def start(self) -> np.ndarray:
        Xu, yu = self.X[self.unc], self.y[self.unc]
        beta0 = np.linalg.lstsq(Xu, yu, rcond=None)[0]
        r = yu - Xu @ beta0
        k = self.X.shape[1]
        return np.r_[beta0, np.log(max(np.sqrt(r @ r / max(self.unc.sum() - k, 1)), 1e-8))]

    def obs(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X, unc, left, right = self.X, self.unc, self.left, self.right
        n, k = X.shape
        beta, s = t[:-1], np.exp(t[-1])
        ll, sc = np.empty(n), np.empty((n, k + 1))
        z = (self.y[unc] - X[unc] @ beta) / s
        ll[unc] = -0.5 * _LOG2PI - t[-1] - 0.5 * z * z
        sc[unc, :k] = (z / s)[:, None] * X[unc]
        sc[unc, k] = z * z - 1
        for mask, sign, lim in ((left, -1.0, self.a), (right, 1.0, self.b)):
            if mask.any():
                zz = sign * (X[mask] @ beta - lim) / s
                ll[mask] = log_ndtr(zz)
                m = mills(zz)
                sc[mask, :k] = (sign * m / s)[:, None] * X[mask]
                sc[mask, k] = -m * zz
        return ll, sc

    def loglik(self, t: np.ndarray) -> float:
        ll = self.obs(t)[0]
        return float(ll.sum() if self.w is None else self.w @ ll)

    def grad(self, t: np.ndarray) -> np.ndarray:
        sc = self.obs(t)[1]
        return sc.sum(0) if self.w is None else self.w @ sc


def _header(d: Design, ll: np.ndarray, left, right, lower, upper, sigma: float,
            w: np.ndarray | None = None) -> tuple[dict, dict, dict]:
    """Censoring counts, the LR test against the constant-only Tobit and the pseudo-R² (Stata's header); with
    sampling weights the pseudo-R² uses the weighted log pseudo-likelihoods and the LR test gives way to a Wald
    test (``tests["slopes"]`` flags it to the caller)."""
    from scipy import stats as sps

    n, k = d.X.shape
    stats_: dict[str, Any] = {"Left-censored": int(left.sum()), "Uncensored": int((~(left | right)).sum()),
                              "Right-censored": int(right.sum()), "sigma": sigma, "var(e)": sigma ** 2}
    tests, rsq = {}, {}
    if d.has_constant and k > 1:
        a = lower if lower is not None else 0.0
        b = upper if upper is not None else 0.0
        ll0 = _constant_only_loglik(d.y, left, right, a, b, w)
        rsq["pseudo"] = 1 - float(ll.sum()) / ll0
        if w is not None:
            tests["slopes"] = True
            return stats_, tests, rsq
        lr = 2 * (float(ll.sum()) - ll0)
        tests["lr"] = TestResult("LR", lr, float(sps.chi2.sf(lr, k - 1)), k - 1, "chi2",
                                 "all slopes are zero", note="against the constant-only Tobit")
    return stats_, tests, rsq


def _constant_only_loglik(y: np.ndarray, left: np.ndarray, right: np.ndarray, a: float, b: float,
                          w: np.ndarray | None = None) -> float:
    """Maximised (weighted) log-likelihood of the Tobit with only a constant (for the LR test and pseudo-R²)."""
    w = np.ones(len(y)) if w is None else w
    unc = ~(left | right)
    yu, wu = y[unc], w[unc]

    def f(t: np.ndarray) -> float:
        mu, s = t[0], np.exp(t[1])
        v = wu @ (-0.5 * _LOG2PI - t[1] - 0.5 * ((yu - mu) / s) ** 2)
        v += w[left].sum() * log_ndtr((a - mu) / s) + w[right].sum() * log_ndtr((mu - b) / s)
        return float(v)

    from scipy.optimize import minimize

    t0 = np.array([yu.mean(), np.log(yu.std() + 1e-8)])
    res = minimize(lambda t: -f(t), t0, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-10,
                                                                        "maxiter": 5000})
    return float(-res.fun)
