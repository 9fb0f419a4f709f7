"""Pooled OLS on a firm-year panel (Stata ``regress``, linearmodels ``PooledOLS``, plm ``model="pooling"``).

Model: y_it = x_it'β + ε_it, estimated by OLS (WLS with analytic weights, Stata ``[aweight=w]``). Variance by
:func:`~clusterecon.estimators.covariance.ols_covariance`; the default small-sample rule ``dof="stata"`` is that
of ``regress``: classical s² = SSR/(N−K), robust × N/(N−K), cluster × G/(G−1)·(N−1)/(N−K) with t(G−1) inference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._linear import fit_linear, prepare, variance
from .design import panel_shape
from .results import EstimationResult


def pooled_ols(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "classical",
               cluster: str | tuple[str, ...] | None = None, dof: str = "stata", weights: str | None = None,
               collinear: str = "drop") -> EstimationResult:
    """Pooled OLS of ``formula`` (e.g. ``"log_sales ~ log_labor + log_capital"``) on all firm-years.

    Parameters
    ----------
    vcov : classical | robust | cluster | cluster2 | driscoll-kraay. ``cluster=None`` clusters by firm (two-way:
        firm and year); otherwise the column name(s).
    dof : small-sample rule (see :func:`~clusterecon.estimators.covariance.ols_covariance`).
    weights : column of analytic weights (Stata ``aweight``): WLS with x_i e_i w_i scores.
    collinear : "drop" (named, with a warning) or "raise".

    Returns
    -------
    EstimationResult with R² (centred if the model has a constant) and adjusted R².

    References
    ----------
    Wooldridge (2010), Econometric Analysis of Cross Section and Panel Data, 2nd ed., §7.8.
    """
    prep = prepare(data, formula, vcov=vcov, cluster=cluster, weights=weights)
    d, w = prep.design, prep.weights
    fit = fit_linear(d.y, d.X, d.names, weights=w, collinear=collinear)
    X = d.X[:, fit.keep]
    V, info, df = variance(X, fit.resid, fit.bread, vcov, prep, dof=dof, weights=w)
    ww = np.ones(len(d.y)) if w is None else w
    ybar = (ww @ d.y) / ww.sum() if d.has_constant else 0.0
    tss = float(ww @ (d.y - ybar) ** 2)
    n, k = len(d.y), len(fit.names)
    r2 = 1 - fit.ssr / tss
    shape = panel_shape(d.index)
    return EstimationResult(
        model="Pooled OLS", estimator="pooled OLS" + (" (WLS, analytic weights)" if w is not None else ""),
        depvar=d.depvar, names=fit.names, coef=fit.coef, vcov=V, variance=info, nobs=n, df_resid=df,
        formula=formula, **shape,
        rsquared={"r2": r2, "adj": 1 - (1 - r2) * (n - d.has_constant) / (n - k)},
        omitted=d.omitted, dropped_regressors=tuple(fit.dropped),
        stats={"RMSE": float(np.sqrt(fit.ssr / (n - k))), "SSR": fit.ssr},
        effects={"Firm FE": "No", "Year FE": "No"},
        extra={"resid": fit.resid, "index": d.index},
    )
