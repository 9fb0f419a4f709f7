"""First-difference estimator on consecutive calendar years (Wooldridge 2010 §10.6; Stata ``regress D.y D.x``).

Model: Δy_it = Δx_it'β + Δε_it for pairs of years t−1, t observed for the same firm. A difference across a gap in
the years (e.g. 2015 → 2017 when 2016 is missing or was dropped for missing values) is not a one-year change;
such differences are dropped and reported as ``Omitted("differences across a gap in years", n)``, as Stata's
time-series operators do (plm's ``model="fd"`` differences across gaps, plm #27). Each firm's first observed year
has nothing to difference and is reported too, so N rows = differences + gaps + first years.

If the formula has an intercept, the differenced equation keeps a constant (a common linear trend in levels),
as in ``regress D.y D.x`` and Wooldridge's examples; write ``- 1`` for none. Variance conventions are those of
``regress`` on the differenced data (:func:`~clusterecon.estimators.covariance.ols_covariance`). Coefficients
keep the names of the variables in levels (so FE and FD columns line up in a table); the estimator says "FD".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._linear import fit_linear, prepare, variance
from .design import SpecificationError, panel_shape
from .results import EstimationResult, Omitted

HINT = "time-invariant regressors difference to zero; use hausman_taylor(...) or correlated_re(...)"


def first_difference(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "classical",
                     cluster: str | tuple[str, ...] | None = None, dof: str = "stata", weights: str | None = None,
                     collinear: str = "drop") -> EstimationResult:
    """OLS of Δy on Δx over consecutive calendar years within firms.

    ``weights`` (analytic) are taken from the later year of each pair. See the module docstring for gaps and
    the constant.

    References
    ----------
    Wooldridge (2010), Econometric Analysis of Cross Section and Panel Data, 2nd ed., §10.6; Wooldridge (2020),
    Introductory Econometrics, 7th ed., Example 14.1 (and Ch. 13).
    """
    prep = prepare(data, formula, vcov=vcov, cluster=cluster, weights=weights)
    d = prep.design
    year = d.index.get_level_values(1)
    if not (pd.api.types.is_integer_dtype(year) or pd.api.types.is_float_dtype(year)):
        raise SpecificationError(f"first differences need numeric calendar years in the index level {year.name!r}, "
                                 f"got dtype {year.dtype}")
    order = np.lexsort((np.asarray(year, dtype=float), pd.factorize(d.index.get_level_values(0))[0]))
    firm = pd.factorize(d.index.get_level_values(0))[0][order]
    yr = np.asarray(year, dtype=float)[order]
    same = np.r_[False, firm[1:] == firm[:-1]]
    step = np.r_[np.nan, np.diff(yr)]
    valid = same & (step == 1)
    n_gap = int((same & (step != 1)).sum())
    n_first = int((~same).sum())
    cols = [j for j, nm in enumerate(d.names) if nm != "Intercept"]
    names = [d.names[j] for j in cols]
    Z = np.column_stack([d.y, d.X[:, cols]])[order]
    dZ = (Z[1:] - Z[:-1])[valid[1:]]
    if len(dZ) == 0:
        raise SpecificationError("no pair of consecutive years within a firm: first differences are empty "
                                 f"({n_gap} differences across gaps, {n_first} first years)")
    later = order[valid]
    dy, dX = dZ[:, 0], dZ[:, 1:]
    raw = ((Z[valid, 1:] - Z[valid, 1:].mean(axis=0)) ** 2).sum(axis=0)
    if d.has_constant:
        dX = np.column_stack([np.ones(len(dy)), dX])
        names = ["Intercept", *names]
        raw = np.r_[float(len(dy)), raw]
    w = None if prep.weights is None else prep.weights[later]
    fit = fit_linear(dy, dX, names, weights=w, raw_scale=raw, absorbed_what="the firm effects",
                     collinear=collinear, hint=HINT)
    prep.frame = prep.frame.iloc[later]
    index = d.index[later]
    time_codes = np.asarray(index.get_level_values(1), dtype=np.int64)
    Xk = dX[:, fit.keep]
    V, info, df = variance(Xk, fit.resid, fit.bread, vcov, prep, dof=dof, weights=w, time_codes=time_codes)
    n, k = len(dy), len(fit.names)
    ww = np.ones(n) if w is None else w
    yc = dy - (ww @ dy) / ww.sum() if d.has_constant else dy
    r2 = 1 - fit.ssr / float(ww @ yc**2)
    omitted = list(d.omitted)
    if n_gap:
        omitted.append(Omitted("differences across a gap in years", n_gap))
    omitted.append(Omitted("first observed year of each firm (nothing to difference)", n_first))
    shape = panel_shape(index)
    return EstimationResult(
        model="First differences", estimator="OLS on first differences of consecutive years",
        depvar=d.depvar, names=fit.names,
        coef=fit.coef, vcov=V, variance=info, nobs=n, df_resid=df, formula=formula, **shape,
        rsquared={"r2": r2}, omitted=tuple(omitted),
        dropped_regressors=tuple(fit.dropped),
        stats={"RMSE": float(np.sqrt(fit.ssr / (n - k)))}, effects={"Firm FE": "Yes (differenced out)",
                                                                   "Year FE": "No"},
        extra={"resid": fit.resid, "index": index, "ssr": fit.ssr},
    )
