"""Between estimator: OLS on firm means (Stata ``xtreg, be``; plm ``model="between"``; linearmodels ``BetweenOLS``).

Model: ȳ_i = α + x̄_i'β + ū_i over the G firms (means over each firm's estimation-sample years). Classical
variance s²(X̄'X̄)⁻¹ with s² = SSR/(G − K) and t(G − K) inference, as ``xtreg, be``. ``wls=True`` weights each firm
by its number of years T_i (``xtreg, be wls``). R² as ``xtreg, be`` reports them: between = R² of the means
regression; within = corr((x_it − x̄_i)'b, y_it − ȳ_i)²; overall = corr(x_it'b, y_it)².
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._demean import Groups
from ._linear import corr2, fit_linear, prepare
from .covariance import cluster_codes, ols_covariance
from .design import SpecificationError, panel_shape
from .results import EstimationResult


def between(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "classical",
            cluster: str | None = None, dof: str = "stata", wls: bool = False,
            collinear: str = "drop") -> EstimationResult:
    """Regression of firm means of y on firm means of the regressors (one observation per firm).

    ``vcov``: classical | robust (HC1 on the G means) | cluster (a column constant within firm, e.g. the
    industrial cluster; firms are the observations). ``nobs`` is the number of firm-years (as Stata prints);
    the regression has ``n_entities`` observations.

    References
    ----------
    Baltagi (2021), Econometric Analysis of Panel Data, 6th ed., §2.2 (Table 2.1); StataCorp, [XT] xtreg.
    """
    if vcov not in ("classical", "robust", "cluster"):
        raise SpecificationError(f"between supports vcov='classical'|'robust'|'cluster', got {vcov!r}")
    if vcov == "cluster" and cluster is None:
        raise SpecificationError("between with vcov='cluster' needs a cluster column above the firm (firms are the "
                                 "observations; vcov='robust' is the firm-level version)")
    prep = prepare(data, formula, vcov="cluster" if cluster else "classical", cluster=cluster, weights=None)
    d = prep.design
    fg = Groups.of(np.asarray(d.index.get_level_values(0)))
    M = fg.means(np.column_stack([d.y, d.X]))
    ybar, Xbar = M[:, 0], M[:, 1:]
    wt = fg.count if wls else None
    fit = fit_linear(ybar, Xbar, d.names, weights=wt, collinear=collinear)
    Xk = Xbar[:, fit.keep]
    clusters = None
    if vcov == "cluster":
        first = np.flatnonzero(np.r_[True, fg.codes[1:] != fg.codes[:-1]]) if fg.sorted else \
            np.unique(fg.codes, return_index=True)[1]
        clusters = cluster_codes(prep.frame.iloc[first], cluster)
    V, info, df = ols_covariance(Xk, fit.resid, vcov, bread=fit.bread, clusters=clusters, dof=dof, weights=wt,
                                 cluster_names=(cluster,) if cluster else ())
    ww = np.ones(len(ybar)) if wt is None else wt
    yc = ybar - (ww @ ybar) / ww.sum() if d.has_constant else ybar
    r2b = 1 - fit.ssr / float(ww @ yc**2)
    xb = d.X[:, fit.keep] @ fit.coef
    dev = np.column_stack([xb, d.y]) - fg.expand(fg.means(np.column_stack([xb, d.y])))
    shape = panel_shape(d.index)
    return EstimationResult(
        model="Between", estimator="between (OLS on firm means" + (", weighted by T_i)" if wls else ")"),
        depvar=d.depvar, names=fit.names, coef=fit.coef, vcov=V, variance=info, nobs=len(d.y), df_resid=df,
        formula=formula, **shape,
        rsquared={"between": r2b, "within": corr2(dev[:, 0], dev[:, 1]), "overall": corr2(xb, d.y)},
        omitted=d.omitted, dropped_regressors=tuple(fit.dropped),
        stats={"Regression obs (firms)": fg.n_groups, "sd(u_i + avg(e_i.))": float(np.sqrt(fit.ssr / df))
               if df else float("nan")},
        effects={"Firm FE": "No", "Year FE": "No"},
        extra={"resid": fit.resid, "ssr": fit.ssr},
    )
