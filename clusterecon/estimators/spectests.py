r"""Specification tests for panel models: Hausman FE vs RE (classical and cluster-robust) and the Breusch–Pagan LM
test for random effects. (The F test that all firm effects are zero is attached by
:func:`~clusterecon.estimators.within.within` as ``tests["F effects"]``.)

Which to use: the classical :func:`hausman` assumes homoskedastic, serially uncorrelated errors (then RE is
efficient); with firm-clustered data use :func:`robust_hausman` (Wooldridge 2010 §10.7.3; Stata ``xtoverid``,
R plm ``phtest(method="aux")``), whose variance is cluster-robust. Wald tests of linear restrictions are
:meth:`EstimationResult.wald_test`.

Written here because statsmodels has no Hausman test (#1137), linearmodels has the classical one only, and no
Python package has the robust (Mundlak auxiliary-regression) form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from ._demean import entity_codes, group_means, varies_within
from ._linear import cluster_columns, design_fit, fast_design, independent_columns, ols
from .design import SpecificationError, as_panel_frame
from .fit import covariance
from .random_effects import swamy_arora
from .results import EstimationResult, TestResult
from .variance import parse_vcov

__all__ = ["hausman", "robust_hausman", "breusch_pagan_lm"]


def _s2(res: EstimationResult) -> float:
    """The disturbance variance s² behind a result's classical covariance s²(X'X)⁻¹."""
    if "s2" in res.extra:
        return float(res.extra["s2"])
    for key in ("RMSE", "rmse", "root_mse"):
        if key in res.stats:
            return float(res.stats[key]) ** 2
    if "SSR" in res.stats and res.df_resid:
        return float(res.stats["SSR"]) / float(res.df_resid)
    if "ssr" in res.extra and res.df_resid:  # within(): SSR/(N - n - k) = sigma_e^2 of xtreg, fe
        return float(res.extra["ssr"]) / float(res.df_resid)
    raise SpecificationError(f"the {res.model!r} result does not record its residual variance (s2, RMSE or SSR "
                             "with df_resid), which sigma='more'/'less' needs")


def hausman(fe_result: EstimationResult, re_result: EstimationResult, sigma: str | None = None,
            include_constant: bool = False) -> TestResult:
    r"""Classical Hausman (1978) test of fixed against random effects, as Stata ``hausman fe re``.

    H = (b_FE − b_RE)'(V_FE − V_RE)⁻¹(b_FE − b_RE) ~ χ²(q) over the q coefficients common to both (the constant
    excluded). ``sigma="more"`` (Stata ``sigmamore``) scales both variances by the efficient (RE) estimator's
    disturbance variance: V_FE·s²_RE/s²_FE; ``sigma="less"`` (``sigmaless``) by the consistent (FE) one:
    V_RE·s²_FE/s²_RE. Both make V_FE − V_RE positive semi-definite in finite samples; without them a
    non-positive-definite difference is inverted by a generalized inverse (Stata's default), q = its rank, and the
    note says so. Both results must use the classical variance and the same observations.

    References
    ----------
    Hausman (1978), Econometrica 46(6); StataCorp, [R] hausman; Baltagi (2021) §4.3 (Grunfeld: m = 2.33).
    """
    if sigma not in (None, "more", "less"):
        raise ValueError(f"sigma must be None, 'more' or 'less', got {sigma!r}")
    for r in (fe_result, re_result):
        if r.variance.kind != "classical":
            raise SpecificationError(
                f"the classical Hausman test needs classical variances; {r.model!r} used {r.variance.kind!r}. With "
                "clustered data use robust_hausman(data, formula, vcov='cluster') (the Mundlak/xtoverid form)")
    if fe_result.nobs != re_result.nobs:
        raise SpecificationError(f"the two results use different samples (N = {fe_result.nobs} vs "
                                 f"{re_result.nobs}); fit both on the same observations")
    common = [n for n in fe_result.names if n in re_result.names and (include_constant or n != "Intercept")]
    if not common:
        raise SpecificationError("the two results have no coefficient in common")
    i0 = [fe_result.names.index(n) for n in common]
    i1 = [re_result.names.index(n) for n in common]
    V0 = fe_result.vcov[np.ix_(i0, i0)]
    V1 = re_result.vcov[np.ix_(i1, i1)]
    if sigma == "more":
        V0 = V0 * _s2(re_result) / _s2(fe_result)
    elif sigma == "less":
        V1 = V1 * _s2(fe_result) / _s2(re_result)
    d = fe_result.coef[i0] - re_result.coef[i1]
    D = V0 - V1
    evals = np.linalg.eigvalsh((D + D.T) / 2)
    note = "" if sigma is None else f"sigma{sigma} (Stata)"
    if evals.min() > 1e-12 * max(abs(evals).max(), 1e-300):
        stat, q = float(d @ np.linalg.solve(D, d)), len(common)
    else:
        stat = float(d @ np.linalg.pinv(D, hermitian=True) @ d)
        q = int((evals > 1e-10 * abs(evals).max()).sum())
        note = (note + "; " if note else "") + ("V_FE - V_RE is not positive definite: generalized inverse, df = "
                                                "its rank (consider sigma='more')")
    return TestResult("Hausman FE vs RE", stat, float(stats.chi2.sf(stat, q)) if stat >= 0 else float("nan"),
                      q, "chi2", "difference in coefficients not systematic (RE consistent)", note=note)


def robust_hausman(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "cluster",
                   cluster: str | Sequence[str] | None = None, dof: str = "stata", entity: str | None = None,
                   time: str | None = None) -> TestResult:
    r"""Cluster-robust Hausman test of RE against FE by the auxiliary regression (Wooldridge 2010 §10.7.3).

    With θ_i from the random-effects fit of ``formula`` (:func:`random_effects`), regress
    y_it − θ_i ȳ_i on x_it − θ_i x̄_i and w_it = ẍ_it (the within deviations of the time-varying regressors) and
    test that the coefficients on w are zero by a Wald test with the ``vcov`` variance (default clustered by
    firm, factor G/(G−1)·(N−1)/(N−K); ``dof="none"`` for the unscaled CR0 of plm ``vcovHC``). Since
    x − θx̄ and x − x̄ span the same space as x − θx̄ and (1 − θ)x̄, this equals the Mundlak test that the firm
    means have zero coefficients, with θ from the original RE model (Stata ``xtoverid`` after ``xtreg, re``;
    R plm ``phtest(method="aux", vcov=...)``). :func:`correlated_re` reports the same test with θ re-estimated
    on the augmented model.

    Returns a χ²(q) TestResult, q = number of time-varying regressors.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> firm = np.repeat(np.arange(60), 3)
    >>> a = rng.normal(size=60)
    >>> df = pd.DataFrame({"firm": firm, "year": np.tile([1, 2, 3], 60), "x": rng.normal(size=180) + a[firm]})
    >>> df["y"] = df.x + a[firm] + rng.normal(size=180)
    >>> t = robust_hausman(df, "y ~ x", entity="firm", time="year")
    >>> t.df, t.pvalue < 0.05
    (1, True)
    """
    spec = parse_vcov(vcov, cluster, dof=dof, estimator="robust_hausman")
    df = as_panel_frame(data, entity=entity, time=time)
    design = fast_design(df, formula, extra=cluster_columns(df, spec.clusters))
    y, X = design.y, design.X
    X = X[:, independent_columns(X)]
    g, counts = entity_codes(design.index)
    ybar, Xbar = group_means(g, counts, y), group_means(g, counts, X)
    comp = swamy_arora(y, X, g, counts, ybar=ybar, Xbar=Xbar)
    th = comp.theta[g]
    Xs = X - th[:, None] * Xbar[g]
    W = X - Xbar[g]
    W = W[:, varies_within(X, W)]
    W = W[:, independent_columns(W)]
    if W.shape[1] == 0:
        raise SpecificationError("no time-varying regressor: FE and RE cannot be compared")
    A = np.column_stack([Xs, W])
    b, e, bread = ols(A, y - th * ybar[g])
    V, info, _ = covariance(design_fit(design, spec, bread=bread, regressors=A, resid=e), spec)
    k = X.shape[1]
    idx = np.arange(k, A.shape[1])
    c = b[idx]
    stat = float(c @ np.linalg.solve(V[np.ix_(idx, idx)], c))
    q = len(idx)
    return TestResult("Robust Hausman (Mundlak auxiliary regression)", stat, float(stats.chi2.sf(stat, q)), q,
                      "chi2", "firm effects uncorrelated with the time-varying regressors (RE consistent)",
                      note=f"variance: {info.describe()}")


def breusch_pagan_lm(data: SurveyPanel | pd.DataFrame, formula: str) -> TestResult:
    r"""Breusch–Pagan (1980) LM test for random firm effects, H0: σ_u² = 0, unbalanced form of Baltagi–Li (1990).

    With ê the pooled OLS residuals, N = Σ_i T_i,

    .. math::  LM = \frac{N^2}{2 \sum_i T_i (T_i - 1)} \left[\frac{\sum_i (\sum_t ê_{it})^2}{\sum_i \sum_t ê_{it}^2}
               - 1\right]^2 \sim χ^2(1),

    which reduces to nT/(2(T−1))[...]² on balanced panels. As Stata ``xttest0`` the p-value is from the 50:50
    mixture χ̄²(01) (the alternative σ_u² > 0 is one-sided); the two-sided χ²(1) p-value is in the note.

    References
    ----------
    Breusch and Pagan (1980), REStud 47(1); Baltagi and Li (1990), Econometric Theory 6; Baltagi (2021) §4.2
    (Grunfeld: LM = 798.16); StataCorp, [XT] xtreg postestimation (``xttest0``).
    """
    design = fast_design(data, formula)
    X = design.X[:, independent_columns(design.X)]
    _, e, _ = ols(X, design.y)
    g, counts = entity_codes(design.index)
    N = len(e)
    s = np.bincount(g, weights=e, minlength=len(counts))
    denom = 2.0 * float(np.sum(counts * (counts - 1)))
    if denom == 0:
        raise SpecificationError("every firm is observed once: the LM test for firm effects needs repeated "
                                 "observations")
    lm = N**2 / denom * (float(s @ s) / float(e @ e) - 1.0) ** 2
    p2 = float(stats.chi2.sf(lm, 1))
    return TestResult("Breusch-Pagan LM (random effects)", lm, 0.5 * p2, 1, "chi2", "Var(u_i) = 0 (no firm effects)",
                      note=f"p-value from chibar2(01) as Stata xttest0; two-sided chi2(1) p = {p2:.4g}")
