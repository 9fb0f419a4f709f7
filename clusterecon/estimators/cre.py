r"""Correlated random effects (Mundlak 1978; Chamberlain 1982; Wooldridge 2010 §10.7.3, 2019).

Model: y_it = x_it'β + z_i'γ + x̄_i'ξ + a_i + e_it, where x̄_i are the firm means of every time-varying regressor
over the firm's rows in the estimation sample. The firm effect may be correlated with x̄_i, so β is the
fixed-effects (within) coefficient, while time-invariant firm characteristics z_i (manager schooling, the
founder's previous occupation, location) keep a coefficient — the reason to use CRE in cluster surveys. γ is
causal only under E(a_i | z_i, x̄_i) linear in x̄_i with z_i uncorrelated with the remaining effect.

Exactness (tested): the coefficients on x_it equal the within estimator to machine precision, balanced or
unbalanced, for the RE-GLS version (any θ_i) and the pooled-OLS version, *provided* the means are taken over the
rows actually used and include the means of the year dummies. Proof sketch: quasi-demeaning gives
x_it − θ_i x̄_i = (x_it − x̄_i) + (1 − θ_i)x̄_i; the within part is orthogonal to every firm-constant column, so its
coefficient is the within regression. On an unbalanced panel with year dummies, leaving out the means of the
year dummies breaks the equality (Wooldridge 2019, J. Econometrics 211(1)); on a balanced panel those means are
constant and are dropped as collinear with the intercept.

The Wald test that ξ = 0 with a cluster-robust variance is the robust Hausman test of RE against FE
(Wooldridge 2010 §10.7.3; Stata ``xtoverid``; R plm ``phtest(method="aux")``); it is attached as
``tests["mundlak"]`` and available as :func:`clusterecon.estimators.spectests.mundlak_test`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._demean import entity_codes, group_means, varies_within
from ._linear import cluster_columns, design_fit, fast_design, independent_columns, ols
from .design import Design, SpecificationError, as_panel_frame, panel_shape
from .random_effects import fit_re
from .results import EstimationResult, add_wald_test, build_result
from .variance import VarianceSpec, parse_vcov

__all__ = ["correlated_re", "mundlak_design"]

MEAN_PREFIX = "mean_"


def mundlak_design(design: Design) -> tuple[Design, list[str], list[str]]:
    """Append firm means of every column that varies within firms; returns (design, varying names, mean names).

    Means are over the rows of ``design`` (the estimation sample). Mean columns collinear with the others (e.g.
    the means of year dummies on a balanced panel) are left out.
    """
    g, counts = entity_codes(design.index)
    X = design.X
    Xbar = group_means(g, counts, X)
    within = X - Xbar[g]
    varying = np.flatnonzero(varies_within(X, within)).tolist()
    if not varying:
        raise SpecificationError("no regressor varies within firms: a Mundlak/CRE model has nothing to add "
                                 "(use random_effects)")
    M = Xbar[g][:, varying]
    full = np.column_stack([X, M])
    keep = independent_columns(full)
    mean_idx = [j for j in range(len(varying)) if X.shape[1] + j in keep]
    M = M[:, mean_idx]
    vnames = [design.names[j] for j in varying]
    mnames = [MEAN_PREFIX + vnames[j] for j in mean_idx]
    new = replace(design, X=np.column_stack([X, M]), names=tuple(design.names) + tuple(mnames))
    return new, vnames, mnames


def correlated_re(data: SurveyPanel | pd.DataFrame, formula: str, *, method: str = "re", vcov: str | None = None,
                  cluster: str | Sequence[str] | None = None, dof: str = "stata", bandwidth: int | None = None,
                  entity: str | None = None, time: str | None = None) -> EstimationResult:
    r"""Mundlak correlated-random-effects regression: RE-GLS (default, as in Stata) or pooled OLS on x_it, z_i, x̄_i.

    .. math::  y_{it} = x_{it}'β + z_i'γ + \bar x_i'ξ + a_i + e_{it}

    The coefficients β on time-varying regressors equal fixed effects exactly (see the module docstring for
    when this holds on unbalanced panels); the coefficients on time-invariant regressors such as manager
    schooling are what CRE adds over FE. Means of time-varying regressors are named ``mean_<term>``.

    Parameters
    ----------
    method : ``"re"`` — Swamy–Arora RE-GLS on the augmented regressors (Stata ``xtreg y x z mean_x, re``);
        ``"pooled"`` — pooled OLS on the augmented regressors (Wooldridge 2010, eq. 10.95).
    vcov, cluster, dof, bandwidth : the vocabulary of :mod:`clusterecon.estimators.variance`, as
        :func:`~clusterecon.estimators.random_effects.random_effects`; ``"robust"`` is HC1 (before: clustered by
        firm under ``method="re"``). For inference on ξ use ``vcov="cluster"``.

    Returns
    -------
    EstimationResult; ``tests["mundlak"]``: Wald χ² (F for pooled OLS) that all ξ = 0 with this result's variance —
    the (robust, when ``vcov="cluster"``) Hausman test of RE against FE; ``with_vcov`` recomputes it.
    ``extra["mean_terms"]`` lists them.

    References
    ----------
    Mundlak (1978), Econometrica 46(1); Wooldridge (2010), *Econometric Analysis of Cross Section and Panel Data*,
    §10.7.3; Wooldridge (2019), "Correlated random effects models with unbalanced panels", J. Econometrics 211(1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> firm = np.repeat(np.arange(40), 3)
    >>> a = rng.normal(size=40)
    >>> df = pd.DataFrame({"firm": firm, "year": np.tile([1, 2, 3], 40), "x": rng.normal(size=120) + a[firm]})
    >>> df["y"] = 2 * df.x + a[firm] + rng.normal(size=120)
    >>> cre = correlated_re(df, "y ~ x", entity="firm", time="year", vcov="cluster")
    >>> from clusterecon.estimators import within
    >>> fe = within(df, "y ~ x", entity="firm", time="year")
    >>> bool(abs(cre.params["x"] - fe.params["x"]) < 1e-10), "mundlak" in cre.tests
    (True, True)
    """
    if method not in ("re", "pooled"):
        raise SpecificationError(f"method must be 're' or 'pooled', got {method!r}")
    spec = parse_vcov(vcov or "classical", cluster, dof=dof, bandwidth=bandwidth, estimator="correlated_re")
    df = as_panel_frame(data, entity=entity, time=time)
    design, vnames, mnames = mundlak_design(fast_design(df, formula, extra=cluster_columns(df, spec.clusters)))
    note = (f"Mundlak CRE: firm means of {len(mnames)} time-varying regressor(s) added; their coefficients "
            "test RE against FE",)
    extra = {"mean_terms": tuple(mnames), "varying_terms": tuple(vnames)}
    if method == "re":
        res = fit_re(design, spec, model="Correlated random effects (Mundlak), RE-GLS", notes=note, extra=extra)
    else:
        res = _fit_pooled(design, spec, notes=note, extra=extra)
    present = [m for m in mnames if m in res.names]
    if not present:
        return res
    label = "robust " if res.variance.kind != "classical" else ""
    return add_wald_test(res, "mundlak", [f"{m} = 0" for m in present], name=f"Mundlak {label}test (RE vs FE)",
                         null="firm effects uncorrelated with the time-varying regressors (all mean_* = 0)")


def _fit_pooled(design: Design, spec: VarianceSpec, *, notes: Sequence[str], extra: dict[str, Any],
                ) -> EstimationResult:
    X = design.X
    keep = independent_columns(X)
    dropped = tuple((design.names[j], "collinear with other regressors") for j in range(X.shape[1]) if j not in keep)
    X = X[:, keep]
    names = tuple(design.names[j] for j in keep)
    b, e, xtx_inv = ols(X, design.y)
    y = design.y
    fit = design_fit(design, spec, bread=xtx_inv, regressors=X, resid=e)
    return build_result(
        fit, spec, model="Correlated random effects (Mundlak), pooled OLS", estimator="pooled OLS",
        depvar=design.depvar, names=names, coef=b, nobs=len(y), df_resid=float(len(y) - len(b)),
        formula=design.formula, rsquared={"r2": 1 - float(e @ e) / float(((y - y.mean()) ** 2).sum())},
        omitted=design.omitted, dropped_regressors=dropped, effects={"Firm means": "Yes"}, notes=tuple(notes),
        index=design.index, residuals=e, fitted_values=y - e, extra={**extra, "resid": e},
        **panel_shape(design.index))
