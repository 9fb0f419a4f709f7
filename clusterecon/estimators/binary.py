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

Perfect prediction follows Stata's rules (:mod:`clusterecon.estimators.separation`): ``separation="drop"``
(default) drops observations perfectly predicted by a 0/1 regressor and the regressor, with a note; ``"raise"``
refuses. The likelihood pieces and the Newton fit are statsmodels' (:mod:`.index_model`); the covariance comes from
the one registry of :mod:`clusterecon.estimators.fit`, so ``with_vcov`` works after the fit.

Sampling weights (``weights=``, Stata ``[pw=w]``) maximise :math:`\sum_i w_i\ell_i` and force the robust (or
cluster) sandwich with weighted scores and Hessian, with the same N/(N−1) and G/(G−1) factors (N = rows used).

Pinned (``tests/reference/binary.json``): Wooldridge (2019), *Introductory Econometrics*, 7th ed., Example 17.1;
Stata 11 logit/probit/margins on the Spector–Mazzeo data; Stata's robust/cluster factors against statsmodels.
References: Stata [R] logit, [R] probit, [U] 20.22 (weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from .design import Design, as_panel_frame, build_design, panel_shape
from .errors import ConvergenceError, SeparationError
from .index_model import fit_index_model, index_margins_spec, link_functions
from .linear import cluster_columns, drop_collinear
from .ml import maximize, ml_fit, ml_weighted_spec, sampling_weights
from .predict import Predictor
from .results import EstimationResult, Omitted, TestResult, build_result
from .separation import check_binary, handle_separation, post_fit_separation

__all__ = ["ConvergenceError", "SeparationError", "logit", "probit"]

def _weighted_fit(model: Any, w: np.ndarray, beta: np.ndarray, maxiter: int, link: str) -> tuple[np.ndarray,
                                                                                                  np.ndarray]:
    """Maximise Σ w_i ℓ_i (pseudo-likelihood with sampling weights) by :func:`.ml.maximize`: (β, Hessian)."""
    X = model.exog
    fit = maximize(lambda b: float(w @ model.loglikeobs(b)), lambda b: X.T @ (w * model.score_factor(b)), beta,
                   hessian=lambda b: (X * (w * model.hessian_factor(b))[:, None]).T @ X, maxiter=maxiter,
                   what=f"weighted {link}", advice="Try rescaling regressors or checking for perfect prediction.")
    return fit.theta, fit.hessian


def _sample(design: Design, w: np.ndarray | None, weights: str | None, separation: str) -> dict[str, Any]:
    """Rows and columns used: zero weights, collinear regressors and perfectly predicted observations left out."""
    rows0 = np.ones(len(design.y), bool)
    omitted: list[Omitted] = []
    if w is not None and (w == 0).any():
        omitted.append(Omitted(f"zero sampling weight ({weights})", int((w == 0).sum())))
        rows0 = w != 0
    y = check_binary(design.y[rows0], design.depvar)
    X0, names0, collinear = drop_collinear(design.X[rows0], list(design.names))
    dropped = [(c, "collinear with earlier regressors (omitted, as Stata does)") for c in collinear]
    y, X, names, keep1, omitted_sep, dropped_sep, notes = handle_separation(y, X0, names0, separation)
    keep = rows0.copy()
    keep[rows0] = keep1
    X, names, collinear2 = drop_collinear(X, names)
    dropped += dropped_sep + [(c, "collinear after dropping perfectly predicted observations") for c in collinear2]
    return {"y": y, "X": X, "names": names, "keep": keep, "w": None if w is None else w[keep],
            "omitted": [*omitted, *omitted_sep], "dropped": dropped, "notes": notes}


def _binary(data: SurveyPanel | pd.DataFrame, formula: str, link: str, *, vcov: str | None, cluster: Any,
            separation: str, maxiter: int, weights: str | None, weights_type: str, entity: str | None,
            time: str | None) -> EstimationResult:
    spec, notes = ml_weighted_spec(vcov, cluster, weights=weights, weights_type=weights_type, estimator=link)
    df = as_panel_frame(data, entity=entity, time=time, cross_section=True)
    design = build_design(df, formula, extra=(*cluster_columns(df, spec.clusters), *([weights] if weights else [])))
    s = _sample(design, sampling_weights(design, weights), weights, separation)
    y, X, names, w = s["y"], s["X"], s["names"], s["w"]
    model, beta = fit_index_model(y, X, link, maxiter, names=names, separation=separation)
    if w is None:
        hess, scores, wn = model.hessian(beta), model.score_obs(beta), np.ones(len(y))
    else:
        beta, hess = _weighted_fit(model, w, beta, maxiter, link)
        scores, wn = model.score_obs(beta) * w[:, None], w
    p = link_functions(link)[0](X @ beta)
    notes += s["notes"] + post_fit_separation(y, X, names, p, beta, separation)
    ll = float(wn @ model.loglikeobs(beta))
    ybar = float(np.average(y, weights=wn))
    ll0 = float(wn.sum() * (ybar * np.log(ybar) + (1 - ybar) * np.log(1 - ybar)))
    slopes = [j for j, nm in enumerate(names) if nm != "Intercept"]
    title = "Logit" if link == "logit" else "Probit"
    ll_name = "Log-likelihood" if w is None else "Log pseudolikelihood"
    res = build_result(
        ml_fit(design, spec, hess, scores, rows=s["keep"]), spec, wald_terms=slopes if spec.kind != "oim" else None,
        wald_null="all slopes = 0", wald_key="model", model=f"Pooled {title.lower()}",
        estimator=f"{title} ML" + (f", sampling weights {weights}" if w is not None else ""), depvar=design.depvar,
        names=names, coef=beta, nobs=len(y), df_resid=float(len(y) - len(beta)), formula=formula,
        **panel_shape(design.index[s["keep"]]), rsquared={"pseudo": 1 - ll / ll0}, loglik=ll,
        omitted=(*design.omitted, *s["omitted"]), dropped_regressors=tuple(s["dropped"]),
        stats={f"{ll_name} (constant only)": ll0,
               "Percent correctly predicted": float(100 * np.average((p >= 0.5) == (y == 1), weights=wn))},
        notes=tuple(notes), index=design.index[s["keep"]], residuals=y - p, fitted_values=p,
        predictor=Predictor(design.terms, link=link, kinds=("pr",), columns=tuple(names)),
        extra={"link": link, "margins": index_margins_spec(link, X, names, weights=w), "fitted": p,
               "index": design.index[s["keep"]], "weights": weights})
    if slopes and spec.kind == "oim":  # Stata's LR chi2 of the model with the OIM variance
        lr = 2 * (ll - ll0)
        res = _with_test(res, TestResult("LR", lr, float(stats.chi2.sf(lr, len(slopes))), len(slopes), "chi2",
                                         "all slopes = 0"))
    return res


def _with_test(res: EstimationResult, test: TestResult) -> EstimationResult:
    from dataclasses import replace

    return replace(res, tests={"model": test, **res.tests})


def logit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
          cluster: str | Sequence[str] | None = None, separation: str = "drop", maxiter: int = 100,
          weights: str | None = None, weights_type: str = "pweight", entity: str | None = None,
          time: str | None = None) -> EstimationResult:
    r"""Pooled logit :math:`P(y=1|x)=\Lambda(x'\beta)` by ML.

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame (a cross-section, e.g. one survey
        round; ``entity=``/``time=`` name the panel columns if there are any).
    formula : ``"y ~ x1 + x2 + C(year)"``; y must be 0/1.
    vcov, cluster : ``"oim"`` (= ``"classical"``, Stata default), ``"robust"`` (= ``"hc1"``, N/(N−1) sandwich),
        ``"hc0"``, ``"opg"`` or ``"cluster"`` (G/(G−1) sandwich, by firm unless ``cluster`` names one or two
        variables).
    separation : ``"drop"`` (Stata: drop observations perfectly predicted by a 0/1 regressor and that regressor,
        with a note) or ``"raise"``.
    weights, weights_type : column of sampling weights, ``weights_type="pweight"`` (Stata ``[pw=w]``; the only
        type a binary model takes): maximises Σ w_i ℓ_i; the variance is the robust sandwich with weighted scores
        and Hessian (or clustered), as Stata forces for pweights (an explicit ``"oim"`` is refused); zero weights
        are left out with a reason; margins average with the same weights.

    Returns
    -------
    EstimationResult with ``r2_pseudo`` (McFadden), ``llf``/``aic``/``bic``, the LR (OIM) or Wald (sandwich) test
    of all slopes, ``fitted`` = P(y=1|x), ``resid`` = y − P, ``predict(newdata)`` (``kind="xb"`` the index) and
    ``extra["margins"]`` for :func:`clusterecon.estimators.margins.margins`.

    References
    ----------
    Wooldridge (2020), *Introductory Econometrics*, Example 17.1; StataCorp, [R] logit, [R] probit, [U] 20.22.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(8)
    >>> df = pd.DataFrame({"x": rng.normal(size=500)})
    >>> df["y"] = (0.5 + df.x + rng.logistic(size=500) > 0).astype(int)
    >>> r = logit(df, "y ~ x", vcov="robust")
    >>> bool(abs(r.params["x"] - 1) < 3 * r.std_errors["x"]), r.variance.kind, r.tests["model"].name
    (True, 'robust', 'Wald')
    """
    return _binary(data, formula, "logit", vcov=vcov, cluster=cluster, separation=separation, maxiter=maxiter,
                   weights=weights, weights_type=weights_type, entity=entity, time=time)


def probit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
           cluster: str | Sequence[str] | None = None, separation: str = "drop", maxiter: int = 100,
           weights: str | None = None, weights_type: str = "pweight", entity: str | None = None,
           time: str | None = None) -> EstimationResult:
    r"""Pooled probit :math:`P(y=1|x)=\Phi(x'\beta)` by ML; options and conventions as :func:`logit`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(9)
    >>> df = pd.DataFrame({"x": rng.normal(size=500)})
    >>> df["y"] = (0.2 + 0.8 * df.x + rng.normal(size=500) > 0).astype(int)
    >>> r = probit(df, "y ~ x")
    >>> float(round(r.params["x"], 1)), r.variance.kind, "model" in r.tests
    (0.8, 'oim', True)
    """
    return _binary(data, formula, "probit", vcov=vcov, cluster=cluster, separation=separation, maxiter=maxiter,
                   weights=weights, weights_type=weights_type, entity=entity, time=time)
