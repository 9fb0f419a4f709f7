r"""Pooled binary-outcome models: logit and probit with Stata's variance conventions.

Model: :math:`P(y_{it}=1 \mid x_{it}) = F(x_{it}'\beta)` with :math:`F = \Lambda` (logit) or :math:`\Phi`
(probit), fitted by maximum likelihood (statsmodels ``Logit``/``Probit``, Newton steps, underneath).

Variance (Stata ``logit``/``probit``; [R] maximize, [P] _robust), with :math:`H` the Hessian of the
log-likelihood and :math:`s_i` the score of observation i:

* ``vcov="oim"`` (default; ``"classical"`` is a synonym): :math:`-H^{-1}` (observed information).
* ``"robust"``: :math:`\frac{N}{N-1} H^{-1}\big(\sum_i s_i s_i'\big) H^{-1}`.
* ``"cluster"``: :math:`\frac{G}{G-1} H^{-1}\big(\sum_g S_g S_g'\big) H^{-1}`, :math:`S_g=\sum_{i\in g}s_i`;
  by firm unless ``cluster=`` names another column. (statsmodels' ``cov_type="cluster"`` also multiplies by
  (N−1)/(N−K); Stata's ML estimators do not.)

Perfect prediction is checked before the fit, variable by variable, as Stata does: a 0/1 (two-valued) regressor
for which one value predicts the outcome perfectly — ``separation="drop"`` (default, Stata's behaviour) drops those
observations and the variable with a note; ``separation="raise"`` refuses. A continuous regressor that separates
the outcome completely ("y = 1 exactly when x > c") is always refused: there is no maximum-likelihood estimate.
After the fit, observations whose outcome is predicted with probability 1 (quasi-separation by a combination of
regressors) are counted and reported with the variables most responsible.

Sampling weights (``weights=``, Stata ``[pw=w]``) maximise :math:`\sum_i w_i\ell_i` and force the robust (or
cluster) sandwich with weighted scores and Hessian, with the same N/(N−1) and G/(G−1) factors (N = rows used).

Pinned (``tests/reference/binary.json``): Wooldridge (2019), *Introductory Econometrics*, 7th ed., Example 17.1;
Stata 11 logit/probit/margins on the Spector–Mazzeo data; Stata's robust/cluster factors against statsmodels.
References: Stata [R] logit, [R] probit, [U] 20.22 (weights).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from ._linear import cluster_columns, design_clusters, drop_collinear
from .covariance import wald_zero
from .design import Design, build_design, panel_shape
from .errors import ConvergenceError, SeparationError, SpecificationError
from .results import EstimationResult, Omitted, TestResult, VarianceInfo

VCOV_KINDS = ("oim", "classical", "robust", "cluster")


# ------------------------------------------------------------------ shared helpers (used by the other ML modules)
def check_binary(y: np.ndarray, depvar: str) -> np.ndarray:
    """Refuse an outcome that is not 0/1 (naming the values found) or that does not vary."""
    vals = np.unique(y)
    if not np.isin(vals, (0.0, 1.0)).all():
        shown = ", ".join(f"{v:g}" for v in vals[:12]) + (" ..." if len(vals) > 12 else "")
        raise SpecificationError(
            f"outcome {depvar!r} must be coded 0/1 for a binary model; found {len(vals)} distinct values: {shown}. "
            f"Recode it (e.g. ({depvar} > 0).astype(int)) or use a model for that outcome type")
    if len(vals) < 2:
        raise SpecificationError(f"outcome {depvar!r} is always {vals[0]:g} in the estimation sample: nothing to "
                                 "estimate")
    return y


def ml_vcov(hess: np.ndarray, scores: np.ndarray | None, vcov: str, codes: np.ndarray | None,
            cluster_name: str) -> tuple[np.ndarray, VarianceInfo]:
    """Stata ML covariance from the log-likelihood Hessian ``hess`` via :func:`covariance.ml_sandwich`."""
    from .covariance import ml_sandwich

    hinv = np.linalg.inv(hess)
    kind = "classical" if vcov in ("oim", "classical") else vcov
    return ml_sandwich(hinv, scores, kind, clusters=codes, cluster_names=(cluster_name,))


def ml_covariance(hess: np.ndarray, scores: np.ndarray | None, vcov: str, design: Design, cluster: str | None,
                  rows: np.ndarray | None = None) -> tuple[np.ndarray, VarianceInfo]:
    """:func:`ml_vcov` with the cluster codes looked up for the rows of ``design`` (``rows``: mask of those used)."""
    codes, names = design_clusters(design, cluster, rows=rows) if vcov == "cluster" else (None, ("",))
    return ml_vcov(hess, scores, vcov, codes, names[0])


def resolve_vcov(vcov: str, cluster: str | None) -> str:
    if vcov not in VCOV_KINDS:
        raise SpecificationError(f"vcov={vcov!r} is not available here; choose one of {VCOV_KINDS}")
    if cluster is not None and vcov != "cluster":
        raise SpecificationError(f"cluster={cluster!r} given but vcov={vcov!r}; use vcov='cluster'")
    return vcov


def cluster_codes_for(design: Design, vcov: str, cluster: str | None, rows: np.ndarray | None = None,
                      ) -> tuple[np.ndarray | None, str]:
    """Integer cluster codes for the rows of ``design`` kept (``rows`` boolean mask), and the cluster's name."""
    if vcov != "cluster":
        return None, ""
    codes, names = design_clusters(design, cluster, rows=rows)
    return codes, names[0]


def numeric_hessian(grad: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, rel_step: float = 1e-5,
                    ) -> np.ndarray:
    """Symmetric Hessian by central differences of an analytic gradient, h = ``rel_step``·max(1, |θ_j|) (error
    O(h²)); for the ML estimators whose second derivatives are not written out (tobit, Heckman, RE probit,
    conditional logit)."""
    k = theta.size
    H = np.empty((k, k))
    for j in range(k):
        h = rel_step * max(1.0, abs(theta[j]))
        e = np.zeros(k)
        e[j] = h
        H[:, j] = (grad(theta + e) - grad(theta - e)) / (2 * h)
    return (H + H.T) / 2


def newton_ascent(loglik: Callable[[np.ndarray], float], grad: Callable[[np.ndarray], np.ndarray],
                  hess: Callable[[np.ndarray], np.ndarray], beta: np.ndarray, maxiter: int, tol: float = 1e-12,
                  ) -> tuple[np.ndarray, bool, float]:
    """Maximise ``loglik`` by Newton steps, halving a step until the log-likelihood does not fall.

    Stops when g'(−H)⁻¹g < ``tol`` (Stata's ``nrtolerance`` quantity). Returns (β, converged, that quantity at
    the last step); the caller raises its own :class:`ConvergenceError` with what to try.
    """
    ll = loglik(beta)
    crit = np.inf
    for _ in range(maxiter):
        g = grad(beta)
        step = -np.linalg.solve(hess(beta), g)
        crit = float(g @ step)
        if crit < tol:
            return beta, True, crit
        t = 1.0
        while t > 1e-10:
            cand = beta + t * step
            ll_c = loglik(cand)
            if np.isfinite(ll_c) and ll_c >= ll:
                break
            t /= 2
        beta, ll = cand, ll_c
    return beta, False, crit


# ------------------------------------------------------------------ separation
@dataclass(frozen=True)
class _Perfect:
    variable: str
    rule: str
    rows: np.ndarray  # boolean mask of the observations perfectly predicted


def _find_perfect_prediction(y: np.ndarray, X: np.ndarray, names: Sequence[str]) -> _Perfect | None:
    """First regressor that predicts the outcome perfectly on a subset (Stata's pre-estimation check)."""
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        x = X[:, j]
        vals = np.unique(x)
        if len(vals) == 1:
            continue
        if len(vals) == 2:
            for v in vals:
                sub = x == v
                ys = np.unique(y[sub])
                if len(ys) == 1:
                    what = "success (outcome = 1)" if ys[0] == 1 else "failure (outcome = 0)"
                    return _Perfect(name, f"{name} = {v:g} predicts {what} perfectly", sub)
            continue
        x0, x1 = x[y == 0], x[y == 1]
        for lo, hi, op, side in ((x0, x1, ">", 1), (x1, x0, "<", 0)):
            if side == 1:
                c, c2 = lo.max(), hi.min()
            else:
                c, c2 = lo.min(), hi.max()
            c, c2 = float(c) + 0.0, float(c2) + 0.0  # no "-0" in messages
            if (side == 1 and c < c2) or (side == 0 and c > c2):
                return _Perfect(name, f"outcome = 1 exactly when {name} {op} {c:g} (complete separation)",
                                np.ones(len(y), bool))
            if c == c2:
                rows = x != c
                return _Perfect(name, f"outcome = 1 exactly when {name} {op} {c:g}, except for the {name} == {c:g} "
                                      "subsample (quasi-complete separation)", rows)
    return None


def handle_separation(y: np.ndarray, X: np.ndarray, names: list[str], separation: str,
                      ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray, list[Omitted], list[tuple[str, str]],
                                 list[str]]:
    """Apply Stata's perfect-prediction rule repeatedly. Returns y, X, names, kept-row mask, omitted, dropped
    regressors and notes."""
    if separation not in ("drop", "raise"):
        raise SpecificationError(f"separation={separation!r}: choose 'drop' (Stata) or 'raise'")
    keep = np.ones(len(y), bool)
    omitted: list[Omitted] = []
    dropped: list[tuple[str, str]] = []
    notes: list[str] = []
    while True:
        found = _find_perfect_prediction(y[keep], X[keep], names)
        if found is None:
            break
        n = int(found.rows.sum())
        if found.rows.all():
            raise SeparationError(
                f"{found.rule}: no finite maximum-likelihood estimate exists. Remove {found.variable!r} from the "
                "model (or report the separation itself), or use a penalised (Firth) logit")
        if separation == "raise":
            raise SeparationError(
                f"{found.rule}: {n} observations. Drop those observations and the variable (what Stata does; "
                f"pass separation='drop'), or remove {found.variable!r} from the model")
        idx = np.flatnonzero(keep)[found.rows]
        keep[idx] = False
        j = names.index(found.variable)
        X = np.delete(X, j, axis=1)
        names = names[:j] + names[j + 1:]
        omitted.append(Omitted(f"perfectly predicted by {found.variable}", n))
        dropped.append((found.variable, f"{found.rule}; {n} observations not used"))
        notes.append(f"Note: {found.rule}; {found.variable} dropped and {n} observations not used.")
        if len(np.unique(y[keep])) < 2:
            raise SeparationError(f"after dropping perfectly predicted observations the outcome no longer varies "
                                  f"({found.rule})")
    return y[keep], X[keep], names, keep, omitted, dropped, notes


def _post_fit_separation(y: np.ndarray, X: np.ndarray, names: Sequence[str], p: np.ndarray, beta: np.ndarray,
                         separation: str, tol: float = 1e-8) -> list[str]:
    determined = np.abs(y - p) < tol
    if not determined.any():
        return []
    sd = X.std(axis=0)
    contrib = np.abs(beta) * sd
    order = [names[j] for j in np.argsort(-contrib) if names[j] != "Intercept"][:2]
    n1, n0 = int((determined & (y == 1)).sum()), int((determined & (y == 0)).sum())
    msg = (f"{n0} failures and {n1} successes completely determined (fitted probability 0 or 1); the regressors "
           f"with the largest |coefficient × sd| are {', '.join(order)}: a linear combination of them separates "
           "these observations")
    if determined.all():
        raise SeparationError(f"complete separation: {msg}. No finite estimate exists; remove one of those variables")
    if separation == "raise":
        raise SeparationError(msg + ". Drop those observations or the variables, or pass separation='drop' to "
                              "keep them with this note")
    return [f"Note: {msg}."]


# ------------------------------------------------------------------ fit
def fit_index_model(y: np.ndarray, X: np.ndarray, link: str, maxiter: int = 100, start: np.ndarray | None = None,
                    names: Sequence[str] | None = None, separation: str = "raise") -> tuple[Any, np.ndarray]:
    """statsmodels Logit/Probit fit by Newton; raises :class:`ConvergenceError` with the optimiser's message.

    When the coefficients do not converge because a combination of regressors predicts some observations perfectly
    (quasi-complete separation), ``separation="raise"`` refuses with :class:`SeparationError`; ``"drop"`` keeps the
    fit, as Stata does ("N failures completely determined"): those observations add nothing to the likelihood or the
    score at the limit, so the other coefficients have converged and the caller reports the determined observations
    in a note."""
    from statsmodels.discrete.discrete_model import Logit, Probit

    model = (Logit if link == "logit" else Probit)(y, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(method="newton", maxiter=maxiter, disp=False, start_params=start)
        if not res.mle_retvals.get("converged", False):
            res2 = model.fit(method="bfgs", maxiter=10 * maxiter, disp=False, start_params=res.params)
            if res2.mle_retvals.get("converged", False):
                res2 = model.fit(method="newton", maxiter=maxiter, disp=False, start_params=res2.params)
            res = res2
    info = res.mle_retvals
    if not info.get("converged", False):
        F, _ = link_functions(link)
        p = F(X @ np.asarray(res.params))
        determined = np.abs(y - p) < 1e-6
        if determined.any():
            names = [f"x{j}" for j in range(X.shape[1])] if names is None else names
            _post_fit_separation(y, X, names, p, np.asarray(res.params), separation, tol=1e-6)
            if separation == "drop" and np.isfinite(res.llf):
                return model, np.asarray(res.params)
        flag = {1: "maximum number of iterations reached", 2: "gradient and/or function calls not changing"}
        raise ConvergenceError(
            f"{link} did not converge (Newton {maxiter} iterations, then BFGS {10 * maxiter}: "
            f"{flag.get(info.get('warnflag'), info.get('warnflag'))}). Try: rescale regressors with large values "
            "(e.g. income in thousands), check for perfect prediction by a combination of regressors, drop "
            "collinear terms, or raise maxiter")
    return model, np.asarray(res.params)


def link_functions(link: str):
    """(F, f, f') of the index model."""
    if link == "logit":
        from scipy.special import expit as F

        def f(z):
            p = F(z)
            return p * (1 - p)
        return F, f
    if link == "probit":
        return stats.norm.cdf, stats.norm.pdf
    raise ValueError(link)


def index_margins_spec(link: str, X: np.ndarray, names: Sequence[str], scale_index: int | None = None,
                       exclude: Sequence[str] = ("Intercept",), weights: np.ndarray | None = None):
    """MarginsSpec of P(y=1|x) = F(x'β [/ sqrt(1 + exp(θ_s))]) for :mod:`.margins`.

    ``scale_index``: position of a ln σ²_u parameter after β (RE probit: the population-averaged probability is
    Φ(x'β/√(1+σ²_u))).
    """
    from .margins import MarginsSpec

    F, f = link_functions(link)
    k = len(names)

    def _b(params):
        b = np.asarray(params[:k], dtype=float)
        if scale_index is not None:
            b = b / np.sqrt(1.0 + np.exp(params[scale_index]))
        return b

    def predict(params, Xm):
        return F(Xm @ _b(params))

    def dydx(params, Xm):
        b = _b(params)
        return f(Xm @ b)[:, None] * b[None, :]

    return MarginsSpec(predict=predict, dydx=dydx, X=np.array(X, dtype=float), names=tuple(names),
                       exclude=tuple(exclude), weights=weights)


def _weights(design: Design, weights: str | None) -> tuple[np.ndarray | None, list[Omitted]]:
    if weights is None:
        return None, []
    w = design.extra[weights].to_numpy(dtype=float)
    if (w < 0).any():
        bad = np.flatnonzero(w < 0)[:5]
        raise SpecificationError(f"sampling weights {weights!r} are negative in {int((w < 0).sum())} rows (e.g. "
                                 f"firm-years {[design.index[i] for i in bad]}); weights must be >= 0")
    return w, []


def _weighted_newton(model: Any, w: np.ndarray, beta: np.ndarray, maxiter: int, link: str) -> np.ndarray:
    """Maximise Σ w_i ℓ_i (pseudo-likelihood with sampling weights) by Newton with step halving."""
    X = model.exog
    beta, converged, crit = newton_ascent(
        lambda b: float(w @ model.loglikeobs(b)), lambda b: X.T @ (w * model.score_factor(b)),
        lambda b: (X * (w * model.hessian_factor(b))[:, None]).T @ X, beta, maxiter)
    if converged:
        return beta
    raise ConvergenceError(f"weighted {link} did not converge in {maxiter} Newton iterations (scaled gradient "
                           f"{crit:.3g}). Try rescaling regressors or checking for perfect prediction")


def _binary(data: SurveyPanel | pd.DataFrame, formula: str, link: str, *, vcov: str, cluster: str | None,
            separation: str, maxiter: int, weights: str | None = None) -> EstimationResult:
    vcov = resolve_vcov(vcov, cluster)
    extra = cluster_columns(data, cluster) + ((weights,) if weights is not None else ())
    design = build_design(data, formula, extra=extra)
    w, _ = _weights(design, weights)
    notes: list[str] = []
    omitted_w: list[Omitted] = []
    rows0 = np.ones(len(design.y), bool)
    if w is not None:
        zero = w == 0
        if zero.any():
            omitted_w.append(Omitted(f"zero sampling weight ({weights})", int(zero.sum())))
            rows0 = ~zero
        if vcov in ("oim", "classical"):
            vcov = "robust"
            notes.append("Note: sampling weights imply the robust (linearised) variance, as Stata's pweights do.")
    y = check_binary(design.y[rows0], design.depvar)
    X0, names0, collinear = drop_collinear(design.X[rows0], list(design.names))
    dropped = [(c, "collinear with earlier regressors (omitted, as Stata does)") for c in collinear]
    y, X, names, keep1, omitted_sep, dropped_sep, notes_sep = handle_separation(y, X0, names0, separation)
    notes += notes_sep
    keep = rows0.copy()
    keep[rows0] = keep1
    if w is not None:
        w = w[keep]
    X, names, collinear2 = drop_collinear(X, names)
    dropped += dropped_sep + [(c, "collinear after dropping perfectly predicted observations") for c in collinear2]
    model, beta = fit_index_model(y, X, link, maxiter, names=names, separation=separation)
    if w is None:
        hess = model.hessian(beta)
        scores = model.score_obs(beta) if vcov in ("robust", "cluster") else None
        wn = np.ones(len(y))
    else:
        beta = _weighted_newton(model, w, beta, maxiter, link)
        hess = (X * (w * model.hessian_factor(beta))[:, None]).T @ X
        scores = model.score_obs(beta) * w[:, None]
        wn = w
    V, info = ml_covariance(hess, scores, vcov, design, cluster, rows=keep)
    F, _ = link_functions(link)
    p = F(X @ beta)
    notes += _post_fit_separation(y, X, names, p, beta, separation)
    n = len(y)
    ll = float(wn @ model.loglikeobs(beta))
    ybar = float(np.average(y, weights=wn))
    ll0 = float(wn.sum() * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar)))
    slopes = [j for j, nm in enumerate(names) if nm != "Intercept"]
    tests: dict[str, TestResult] = {}
    if slopes:
        if info.kind == "oim":
            lr = 2 * (ll - ll0)
            tests["model"] = TestResult("LR", lr, float(stats.chi2.sf(lr, len(slopes))), len(slopes), "chi2",
                                        "all slopes = 0")
        else:
            tests["model"] = wald_zero(beta, V, slopes, "all slopes = 0")
    shape = panel_shape(design.index[keep])
    spec = index_margins_spec(link, X, names, weights=w)
    title = "Logit" if link == "logit" else "Probit"
    ll_name = "Log-likelihood" if w is None else "Log pseudolikelihood"
    return EstimationResult(
        model=f"Pooled {title.lower()}", estimator=f"{title} ML" + (f", sampling weights {weights}" if w is not None
                                                                     else ""),
        depvar=design.depvar, names=names, coef=beta,
        vcov=V, variance=info, nobs=n, formula=formula, n_entities=shape["n_entities"], t_min=shape["t_min"],
        t_mean=shape["t_mean"], t_max=shape["t_max"], rsquared={"pseudo (McFadden)": 1 - ll / ll0}, loglik=ll,
        omitted=tuple(design.omitted) + tuple(omitted_w) + tuple(omitted_sep), dropped_regressors=tuple(dropped),
        stats={f"{ll_name} (constant only)": ll0,
               "Percent correctly predicted": float(100 * np.average((p >= 0.5) == (y == 1), weights=wn))},
        tests=tests, notes=tuple(notes),
        extra={"link": link, "margins": spec, "fitted": p, "index": design.index[keep], "weights": weights})


def logit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "oim", cluster: str | None = None,
          separation: str = "drop", maxiter: int = 100, weights: str | None = None) -> EstimationResult:
    r"""Pooled logit :math:`P(y=1|x)=\Lambda(x'\beta)` by ML.

    Parameters
    ----------
    data : SurveyPanel or DataFrame indexed by (firm, year).
    formula : ``"y ~ x1 + x2 + C(year)"``; y must be 0/1.
    vcov : ``"oim"`` (= ``"classical"``, Stata default), ``"robust"`` (N/(N−1) sandwich) or ``"cluster"``
        (G/(G−1) sandwich, by firm unless ``cluster`` names a column).
    separation : ``"drop"`` (Stata: drop observations perfectly predicted by a 0/1 regressor and that regressor,
        with a note) or ``"raise"``.
    weights : column of sampling weights (Stata ``[pw=w]``): maximises Σ w_i ℓ_i; the variance is then the
        robust sandwich with weighted scores and Hessian (or clustered), as Stata forces for pweights; zero weights
        are left out with a reason; margins average with the same weights.

    Returns
    -------
    EstimationResult with McFadden pseudo-R², log-likelihood, the LR (OIM) or Wald (robust) test of all slopes and
    ``extra["margins"]`` for :func:`clusterecon.estimators.margins.margins`.
    """
    return _binary(data, formula, "logit", vcov=vcov, cluster=cluster, separation=separation, maxiter=maxiter,
                   weights=weights)


def probit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "oim", cluster: str | None = None,
           separation: str = "drop", maxiter: int = 100, weights: str | None = None) -> EstimationResult:
    r"""Pooled probit :math:`P(y=1|x)=\Phi(x'\beta)` by ML; options and conventions as :func:`logit`."""
    return _binary(data, formula, "probit", vcov=vcov, cluster=cluster, separation=separation, maxiter=maxiter,
                   weights=weights)
