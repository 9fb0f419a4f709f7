"""Pooled OLS on a firm-year panel or a cross-section (Stata ``regress``, linearmodels ``PooledOLS``, plm
``model="pooling"``).

Model: y_it = x_it'β + ε_it, estimated by OLS (WLS with weights). Variance by
:func:`~clusterecon.estimators.covariance.ols_covariance`; the default small-sample rule ``dof="stata"`` is that
of ``regress``: classical s² = SSR/(N−K), robust (HC1) × N/(N−K), cluster × G/(G−1)·(N−1)/(N−K) with t(G−1)
inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._linear import fit_linear, linear_spec, ls_fit, prepare
from .design import panel_shape
from .predict import Predictor
from .results import EstimationResult, build_result


def pooled_ols(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
               cluster: str | Sequence[str] | None = None, dof: str = "stata", bandwidth: int | None = None,
               weights: str | None = None, weights_type: str = "aweight", collinear: str = "drop",
               entity: str | None = None, time: str | None = None) -> EstimationResult:
    """Pooled OLS of ``formula`` (e.g. ``"log_sales ~ log_labor + log_capital"``) on all firm-years.

    Parameters
    ----------
    data : SurveyPanel, DataFrame indexed by (firm, year), or a plain DataFrame with ``entity=``/``time=``
        (without them each row is its own unit: a cross-section).
    formula : Wilkinson formula; a constant is included unless ``- 1``.
    vcov : ``"classical"`` (default), ``"hc0"``–``"hc3"`` (``"robust"`` = HC1), ``"cluster"`` (by firm, or by the
        one or two ``cluster`` variables) or ``"driscoll-kraay"`` (``bandwidth``); see
        :mod:`clusterecon.estimators.variance`.
    dof : small-sample rule (see :func:`~clusterecon.estimators.covariance.ols_covariance`).
    weights, weights_type : weight column and its kind: ``"aweight"`` (analytic: WLS with w_i x_i e_i scores),
        ``"pweight"`` (sampling: same estimates, robust or cluster variance only, HC1 by default) or
        ``"fweight"`` (frequency: each row counts w_i times, N = Σw_i).
    collinear : "drop" (named, with a warning) or "raise".

    Returns
    -------
    EstimationResult with ``r2`` (centred if the model has a constant), ``r2_adj``, the Gaussian log-likelihood
    (unweighted fits; Stata ``estat ic``), ``resid`` = y − x'b, ``fitted`` = x'b and ``predict(newdata)`` = x'b.

    References
    ----------
    Wooldridge (2010), Econometric Analysis of Cross Section and Panel Data, 2nd ed., §7.8.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"firm": [1, 1, 2, 2, 3, 3], "year": [1, 2] * 3,
    ...                    "y": [1.0, 2.1, 2.9, 4.2, 5.1, 5.8], "x": [0.0, 1, 2, 3, 4, 5]})
    >>> r = pooled_ols(df, "y ~ x", entity="firm", time="year", vcov="robust")
    >>> float(round(r.params["x"], 4)), r.variance.kind, r.nobs
    (0.98, 'robust', 6)
    """
    spec = linear_spec(vcov, cluster, dof, bandwidth, weights_type=weights_type if weights else None,
                       estimator="pooled_ols")
    prep = prepare(data, formula, spec, weights=weights, weights_type=weights_type, entity=entity, time=time,
                   cross_section=True)
    d, w = prep.design, prep.weights
    fit = fit_linear(d.y, d.X, d.names, weights=w, collinear=collinear)
    ww = np.ones(len(d.y)) if w is None else w
    n_eff = float(ww.sum()) if prep.weights_type == "fweight" else len(d.y)
    ybar = (ww @ d.y) / ww.sum() if d.has_constant else 0.0
    r2 = 1 - fit.ssr / float(ww @ (d.y - ybar) ** 2)
    k = len(fit.names)
    llf = None if w is not None or fit.ssr <= 0 else -0.5 * n_eff * (1 + np.log(2 * np.pi) + np.log(fit.ssr / n_eff))
    slopes = [j for j, nm in enumerate(fit.names) if nm != "Intercept"]
    return build_result(
        ls_fit(prep, d.X[:, fit.keep], fit), spec, wald_terms=slopes, wald_null="all slopes are zero",
        model="Pooled OLS", estimator="pooled OLS" + (f" ({prep.weights_type} {weights})" if w is not None else ""),
        depvar=d.depvar, names=fit.names, coef=fit.coef, nobs=int(n_eff), df_resid=float(n_eff - k),
        formula=formula, **panel_shape(d.index), loglik=llf,
        rsquared={"r2": r2, "adj": 1 - (1 - r2) * (n_eff - d.has_constant) / (n_eff - k)},
        omitted=d.omitted, dropped_regressors=tuple(fit.dropped),
        stats={"RMSE": float(np.sqrt(fit.ssr / (n_eff - k))), "SSR": fit.ssr},
        effects={"Firm FE": "No", "Year FE": "No"}, index=d.index, residuals=fit.resid, fitted_values=d.y - fit.resid,
        predictor=Predictor(d.terms), extra={"resid": fit.resid, "index": d.index})
