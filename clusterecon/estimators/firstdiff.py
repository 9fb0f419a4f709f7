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
``resid``/``fitted`` are those of the differenced regression (indexed by the later year of each pair);
``predict(newdata)`` gives x'b on levels without the firm effect (Δ-predictions are differences of it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._linear import fit_linear, linear_spec, ls_fit, prepare
from .design import Design, SpecificationError, panel_shape
from .predict import Predictor
from .results import EstimationResult, Omitted, build_result

HINT = "time-invariant regressors difference to zero; use hausman_taylor(...) or correlated_re(...)"


def first_difference(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
                     cluster: str | Sequence[str] | None = None, dof: str = "stata", bandwidth: int | None = None,
                     weights: str | None = None, weights_type: str = "aweight", collinear: str = "drop",
                     entity: str | None = None, time: str | None = None) -> EstimationResult:
    """OLS of Δy on Δx over consecutive calendar years within firms.

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame with ``entity=`` and ``time=``
        (numeric calendar years).
    vcov, cluster, dof, bandwidth : the variance vocabulary of :mod:`clusterecon.estimators.variance` on the
        differenced regression (default classical; ``cluster`` defaults to the firm).
    weights, weights_type : taken from the later year of each pair (``"aweight"``, ``"pweight"``, ``"fweight"``).

    See the module docstring for gaps and the constant.

    References
    ----------
    Wooldridge (2010), Econometric Analysis of Cross Section and Panel Data, 2nd ed., §10.6; Wooldridge (2020),
    Introductory Econometrics, 7th ed., Example 14.1 (and Ch. 13).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"firm": [1, 1, 1, 2, 2, 2], "year": [2001, 2002, 2004, 2001, 2002, 2003],
    ...                    "y": [1.0, 2.0, 3.5, 2.0, 2.9, 4.2], "x": [0.0, 1.0, 2.0, 1.0, 2.0, 3.0]})
    >>> r = first_difference(df, "y ~ x - 1", entity="firm", time="year")
    >>> r.nobs, [(o.reason, o.n) for o in r.omitted][0]
    (3, ('differences across a gap in years', 1))
    """
    spec = linear_spec(vcov, cluster, dof, bandwidth, weights_type=weights_type if weights else None,
                       estimator="first_difference")
    prep = prepare(data, formula, spec, weights=weights, weights_type=weights_type, entity=entity, time=time)
    d = prep.design
    dy, dX, names, raw, later, omitted = _differenced(d)
    w = None if prep.weights is None else prep.weights[later]
    fit = fit_linear(dy, dX, names, weights=w, raw_scale=raw, absorbed_what="the firm effects",
                     collinear=collinear, hint=HINT)
    index = d.index[later]
    frame = prep.frame.iloc[later]
    n, k = len(dy), len(fit.names)
    ww = np.ones(n) if w is None else w
    yc = dy - (ww @ dy) / ww.sum() if d.has_constant else dy
    slopes = [j for j, nm in enumerate(fit.names) if nm != "Intercept"]
    record = ls_fit(prep, dX[:, fit.keep], fit, frame=frame, weights=w,
                    time=np.asarray(index.get_level_values(1), dtype=np.int64))
    return build_result(
        record, spec, wald_terms=slopes, model="First differences",
        estimator="OLS on first differences of consecutive years", depvar=d.depvar, names=fit.names,
        coef=fit.coef, nobs=n, df_resid=float(n - k), formula=formula, **panel_shape(index),
        rsquared={"r2": 1 - fit.ssr / float(ww @ yc**2)}, omitted=(*d.omitted, *omitted),
        dropped_regressors=tuple(fit.dropped), stats={"RMSE": float(np.sqrt(fit.ssr / (n - k)))},
        effects={"Firm FE": "Yes (differenced out)", "Year FE": "No"}, index=index, residuals=fit.resid,
        fitted_values=dy - fit.resid, predictor=Predictor(d.terms, columns=tuple(c for c in fit.names
                                                                                 if c != "Intercept")),
        extra={"resid": fit.resid, "index": index, "ssr": fit.ssr})


def _differenced(d: Design) -> tuple:
    """Δy, ΔX (with a constant if the formula has one), names, the columns' level-scale sums of squares (for
    the collinearity rule), the row of the later year of each pair, and the omitted counts."""
    year = d.index.get_level_values(1)
    if not (pd.api.types.is_integer_dtype(year) or pd.api.types.is_float_dtype(year)):
        raise SpecificationError(f"first differences need numeric calendar years in the index level {year.name!r}, "
                                 f"got dtype {year.dtype}")
    firm_codes = pd.factorize(d.index.get_level_values(0))[0]
    order = np.lexsort((np.asarray(year, dtype=float), firm_codes))
    firm, yr = firm_codes[order], np.asarray(year, dtype=float)[order]
    same = np.r_[False, firm[1:] == firm[:-1]]
    valid = same & (np.r_[np.nan, np.diff(yr)] == 1)
    n_gap, n_first = int((same & ~valid).sum()), int((~same).sum())
    cols = [j for j, nm in enumerate(d.names) if nm != "Intercept"]
    names = [d.names[j] for j in cols]
    Z = np.column_stack([d.y, d.X[:, cols]])[order]
    dZ = (Z[1:] - Z[:-1])[valid[1:]]
    if len(dZ) == 0:
        raise SpecificationError("no pair of consecutive years within a firm: first differences are empty "
                                 f"({n_gap} differences across gaps, {n_first} first years)")
    dy, dX = dZ[:, 0], dZ[:, 1:]
    raw = ((Z[valid, 1:] - Z[valid, 1:].mean(axis=0)) ** 2).sum(axis=0)
    if d.has_constant:
        dX = np.column_stack([np.ones(len(dy)), dX])
        names = ["Intercept", *names]
        raw = np.r_[float(len(dy)), raw]
    omitted = [Omitted("differences across a gap in years", n_gap)] if n_gap else []
    omitted.append(Omitted("first observed year of each firm (nothing to difference)", n_first))
    return dy, dX, names, raw, order[valid], omitted
