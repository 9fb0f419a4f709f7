"""Between estimator: OLS on firm means (Stata ``xtreg, be``; plm ``model="between"``; linearmodels ``BetweenOLS``).

Model: ȳ_i = α + x̄_i'β + ū_i over the G firms (means over each firm's estimation-sample years). Classical
variance s²(X̄'X̄)⁻¹ with s² = SSR/(G − K) and t(G − K) inference, as ``xtreg, be``. ``wls=True`` weights each firm
by its number of years T_i (``xtreg, be wls``). R² as ``xtreg, be`` reports them: between = R² of the means
regression; within = corr((x_it − x̄_i)'b, y_it − ȳ_i)²; overall = corr(x_it'b, y_it)².

The regression has one observation per firm, so ``nobs`` is the number of firms (as plm and linearmodels report;
Stata prints both) and the firm-years are in ``stats["Firm-years"]``. σ(u + ē) = √(SSR/(G − K)) is a property of
the fit, the same whatever variance is asked for (Stata's ``sd(u_i + avg(e_i.))``; Grunfeld: 85.02).
``resid``/``fitted`` are those of the means regression (one per firm); ``predict(newdata)`` gives x'b.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._demean import Groups
from ._linear import corr2, fit_linear, linear_spec, ls_fit, prepare
from .covariance import cluster_codes, nested_in
from .design import SpecificationError, panel_shape
from .predict import Predictor
from .results import EstimationResult, build_result

SUPPORTED = ("classical", "hc0", "hc1", "hc2", "hc3", "cluster")


def between(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
            cluster: str | Sequence[str] | None = None, dof: str = "stata", wls: bool = False,
            collinear: str = "drop", entity: str | None = None, time: str | None = None) -> EstimationResult:
    """Regression of firm means of y on firm means of the regressors (one observation per firm).

    Parameters
    ----------
    vcov : ``"classical"`` (default), ``"hc0"``–``"hc3"`` (``"robust"`` = HC1 on the G means) or ``"cluster"``
        by a column constant within firm above the firm (e.g. the industrial cluster; firms are the
        observations, so clustering needs ``cluster=``). Driscoll–Kraay is refused (the means have no time).
    wls : weight each firm's means by its T_i (``xtreg, be wls``).

    References
    ----------
    Baltagi (2021), Econometric Analysis of Panel Data, 6th ed., §2.2 (Table 2.1); StataCorp, [XT] xtreg.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"firm": [1, 1, 2, 2, 3, 3, 4], "year": [1, 2, 1, 2, 1, 2, 1],
    ...                    "y": [1.0, 2.0, 2.5, 3.5, 5.0, 5.5, 6.0], "x": [0.0, 1, 2, 3, 4, 5, 6]})
    >>> r = between(df, "y ~ x", entity="firm", time="year")
    >>> r.nobs, r.stats["Firm-years"]
    (4, 7)
    """
    if vcov in ("cluster", "cluster2") and cluster is None:
        raise SpecificationError("between with vcov='cluster' needs a cluster column above the firm (firms are the "
                                 "observations; vcov='robust' is the firm-level version)")
    spec = linear_spec(vcov, cluster, dof, None, weights_type=None, supported=SUPPORTED, estimator="between")
    prep = prepare(data, formula, spec, weights=None, entity=entity, time=time)
    d = prep.design
    fg = Groups.of(np.asarray(d.index.get_level_values(0)))
    M = fg.means(np.column_stack([d.y, d.X]))
    ybar, Xbar = M[:, 0], M[:, 1:]
    wt = fg.count if wls else None
    fit = fit_linear(ybar, Xbar, d.names, weights=wt, collinear=collinear)
    first = np.flatnonzero(np.r_[True, fg.codes[1:] != fg.codes[:-1]]) if fg.sorted else \
        np.unique(fg.codes, return_index=True)[1]
    if spec.clusters:
        _check_constant_within(prep.frame, spec.clusters, fg.codes)
    G, k = fg.n_groups, len(fit.names)
    ww = np.ones(G) if wt is None else wt
    yc = ybar - (ww @ ybar) / ww.sum() if d.has_constant else ybar
    xb = d.X[:, fit.keep] @ fit.coef
    dev = np.column_stack([xb, d.y]) - fg.expand(fg.means(np.column_stack([xb, d.y])))
    rec = ls_fit(prep, Xbar[:, fit.keep], fit, frame=prep.frame.iloc[first], weights=wt, supported=SUPPORTED)
    return build_result(
        rec, spec, wald_terms=[j for j, nm in enumerate(fit.names) if nm != "Intercept"], model="Between",
        estimator="between (OLS on firm means" + (", weighted by T_i)" if wls else ")"), depvar=d.depvar,
        names=fit.names, coef=fit.coef, nobs=G, df_resid=float(G - k), formula=formula, **panel_shape(d.index),
        rsquared={"between": 1 - fit.ssr / float(ww @ yc**2), "within": corr2(dev[:, 0], dev[:, 1]),
                  "overall": corr2(xb, d.y)},
        omitted=d.omitted, dropped_regressors=tuple(fit.dropped),
        stats={"Firm-years": len(d.y), "sd(u_i + avg(e_i.))": float(np.sqrt(fit.ssr / (G - k))) if G > k
               else float("nan")},
        effects={"Firm FE": "No", "Year FE": "No"}, index=d.index[first], residuals=fit.resid,
        fitted_values=ybar - fit.resid, predictor=Predictor(d.terms), extra={"resid": fit.resid, "ssr": fit.ssr})


def _check_constant_within(frame: pd.DataFrame, names: Sequence[str], firms: np.ndarray) -> None:
    codes = cluster_codes(frame, names[0] if len(names) == 1 else list(names))
    for j, c in enumerate(codes.T if codes.ndim == 2 else [codes]):
        if not nested_in(firms, c):
            raise SpecificationError(f"cluster variable {names[j]!r} changes within firms; the between regression "
                                     "has one observation per firm, so its clusters must contain whole firms")
