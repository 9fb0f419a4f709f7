r"""Random-effects GLS with Swamy–Arora variance components, exactly as Stata ``xtreg, re``.

Model: y_it = x_it'β + u_i + e_it, u_i ~ (0, σ_u²), e_it ~ (0, σ_e²), u_i uncorrelated with x_is for all s.
Time-invariant regressors (manager schooling, founding cohort, location) are identified here — the point of RE
(and of its robust cousins :func:`clusterecon.estimators.cre.correlated_re` and
:func:`clusterecon.estimators.hausman_taylor.hausman_taylor` when u_i may be correlated with them).

Written here rather than taken from linearmodels because of measured speed (the GLS is solved from cross-product
matrices, so the data are read about once: ≥ 5× linearmodels ``RandomEffects`` at 1M firm-years,
``benchmarks/bench_re_ht.py``) and to give Stata's conventions and statistics by name (VCE rules, θ_i summary,
R² within/between/overall, Wald χ²); statsmodels has no RE-GLS. Group means are ``np.bincount`` passes (a
firm-year panel has many firms and few years).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._demean import entity_codes, group_means
from ._linear import (
    cluster_columns,
    corr2,
    design_clusters,
    fast_design,
    independent_columns,
    independent_in_gram,
    ols,
    time_codes_of,
    warn_dropped,
    warn_few_clusters,
)
from .covariance import ols_covariance, wald_zero
from .design import Design, SpecificationError, panel_shape
from .results import EstimationResult, VarianceInfo

__all__ = ["random_effects", "swamy_arora", "VarianceComponents"]


# ------------------------------------------------------------------------------------------------ components
@dataclass(frozen=True)
class VarianceComponents:
    """Swamy–Arora components and the GLS weights θ_i = 1 − σ_e/√(T_i σ_u² + σ_e²)."""

    sigma2_e: float
    sigma2_u: float
    theta: np.ndarray  # per firm
    t_bar: float  # harmonic mean of T_i
    df_within: int
    df_between: int

    @property
    def rho(self) -> float:
        tot = self.sigma2_u + self.sigma2_e
        return self.sigma2_u / tot if tot > 0 else float("nan")


def swamy_arora(y: np.ndarray, X: np.ndarray, g: np.ndarray, counts: np.ndarray, *,
                ybar: np.ndarray | None = None, Xbar: np.ndarray | None = None,
                gram: np.ndarray | None = None) -> VarianceComponents:
    r"""Stata ``xtreg, re`` variance components (Swamy–Arora; Baltagi–Chang consistent form when unbalanced).

    σ̂_e² = SSR_within/(N − n − k_w), k_w the slopes identified by the within regression;
    σ̂_u² = max{0, SSR_between/(n − K_b) − σ̂_e²/T̄}, the between regression of firm means ȳ_i on x̄_i (one row per
    firm, K_b its rank including the constant), T̄ = n/Σ_i(1/T_i) the harmonic mean of the T_i.
    The within regression is solved from cross-products, W'W = Z'Z − Σ_i T_i z̄_i z̄_i' with Z = (X, y), so the
    data are read once. ``gram`` may pass Z'Z. Reference: StataCorp, [XT] xtreg, Methods and formulas
    (``xtreg, re``); Baltagi (2021), *Econometric Analysis of Panel Data*, §2.3 and §9.2. Checked against Stata
    logs on unbalanced panels in the tests.
    """
    n = len(counts)
    N = len(y)
    ybar = group_means(g, counts, y) if ybar is None else ybar
    Xbar = group_means(g, counts, X) if Xbar is None else Xbar
    k = X.shape[1]
    if gram is None:
        Z = np.column_stack([X, y])
        gram = Z.T @ Z
    Zbar = np.column_stack([Xbar, ybar])
    Sw = gram - (Zbar * counts[:, None]).T @ Zbar  # within cross-products
    Sxx, Sxy, Syy = Sw[:k, :k], Sw[:k, k], Sw[k, k]
    # columns with within variation (the constant and firm-level variables have none)
    # Σx² − ΣT x̄² carries rounding noise of order 1e-16·Σx² for firm-constant columns: a column varies within
    # firms only if its within sum of squares is a non-negligible share of its raw sum of squares
    raw = np.diag(gram)[:k]
    varying = np.flatnonzero(np.diag(Sxx) > 1e-10 * raw)
    kw_cols = varying[independent_in_gram(Sxx[np.ix_(varying, varying)])] if len(varying) else varying
    if len(kw_cols):
        bw = np.linalg.solve(Sxx[np.ix_(kw_cols, kw_cols)], Sxy[kw_cols])
        ssr_w = float(Syy - bw @ Sxy[kw_cols])
    else:
        ssr_w = float(Syy)
    df_w = N - n - len(kw_cols)
    if df_w <= 0:
        raise SpecificationError(f"random effects needs N − n − k > 0 for σ_e (N={N}, firms={n}, k={len(kw_cols)}); "
                                 "too few repeated observations per firm")
    s2e = ssr_w / df_w
    kb_cols = independent_columns(Xbar)
    _, eb, _ = ols(Xbar[:, kb_cols], ybar)
    df_b = n - len(kb_cols)
    if df_b <= 0:
        raise SpecificationError(f"random effects needs more firms ({n}) than between-regression terms "
                                 f"({len(kb_cols)}) to estimate σ_u")
    t_bar = n / float(np.sum(1.0 / counts))
    s2u = max(float(eb @ eb) / df_b - s2e / t_bar, 0.0)
    theta = 1.0 - np.sqrt(s2e / (counts * s2u + s2e))
    return VarianceComponents(s2e, s2u, theta, t_bar, df_w, df_b)


def theta_summary(theta: np.ndarray) -> dict[str, float]:
    """θ_i as Stata prints it: ``theta`` when every firm has the same (balanced panel), else min/mean/max."""
    if np.ptp(theta) < 1e-12:
        return {"theta": float(theta[0])}
    return {"theta_min": float(theta.min()), "theta_mean": float(theta.mean()), "theta_max": float(theta.max())}


# ------------------------------------------------------------------------------------------------ estimator
def gls_covariance(Xs: np.ndarray | None, e: np.ndarray, xtx_inv: np.ndarray, design: Design, *,
                   vcov: str, cluster: str | Sequence[str] | None, dof: str, entity: np.ndarray | None = None,
                   ) -> tuple[np.ndarray, VarianceInfo]:
    """Covariance of a quasi-demeaned (GLS) regression as ``xtreg, re`` computes it.

    classical: s²(X*'X*)⁻¹ with s² = SSR*/(N − K) of the transformed regression; ``robust`` is, as in Stata's
    ``xtreg``, clustered by firm; ``cluster``: (X*'X*)⁻¹(Σ_g S_g S_g')(X*'X*)⁻¹ · G/(G−1)·(N−1)/(N−K)
    (``dof="stata"``). Other kinds (``cluster2``, ``driscoll-kraay``) use the same transformed scores.
    """
    if vcov == "robust":
        vcov, cluster = "cluster", None
    if vcov == "classical" and Xs is None:  # the transformed regressors are not needed: s²(X*'X*)⁻¹
        n, k = len(e), xtx_inv.shape[0]
        if dof == "none":
            return xtx_inv * float(e @ e) / n, VarianceInfo("classical", dof_rule="s2 = SSR/N")
        return xtx_inv * float(e @ e) / (n - k), VarianceInfo("classical", dof_rule=f"s2 = SSR/(N-K), K = {k}")
    kw: dict[str, Any] = {"bread": xtx_inv, "dof": dof}
    if vcov in ("cluster", "cluster2"):
        codes, names = design_clusters(design, cluster, entity=entity)
        if vcov == "cluster2" and codes.ndim != 2:
            raise SpecificationError("vcov='cluster2' needs two cluster variables, e.g. cluster=('firm_id', 'year')")
        kw.update(clusters=codes, cluster_names=names)
        warn_few_clusters(codes, names)
    elif vcov == "driscoll-kraay":
        kw["time"] = time_codes_of(design.index)  # calendar years: a gap is a lag of two
    elif vcov != "classical":
        raise SpecificationError(f"vcov must be classical|robust|cluster|cluster2|driscoll-kraay, got {vcov!r}")
    V, info, _ = ols_covariance(Xs, e, vcov, **kw)
    return V, info


def random_effects(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "classical",
                   cluster: str | Sequence[str] | None = None, dof: str = "stata") -> EstimationResult:
    r"""Random-effects (GLS) regression with Swamy–Arora variance components, as Stata ``xtreg, re``.

    .. math::  y_{it} - θ_i \bar y_i = (x_{it} - θ_i \bar x_i)'β + ν_{it}, \quad
               θ_i = 1 - \sqrt{σ_e^2 / (T_i σ_u^2 + σ_e^2)}

    θ_i varies with T_i on unbalanced panels. σ_e² comes from the within regression, σ_u² from the between
    regression minus σ_e²/T̄ (T̄ the harmonic mean of T_i; see :func:`swamy_arora`). Time-invariant regressors
    such as the manager's schooling are estimated (they are absorbed by fixed effects); if they may be correlated
    with the firm effect, use :func:`~clusterecon.estimators.hausman_taylor.hausman_taylor` or
    :func:`~clusterecon.estimators.cre.correlated_re`.

    Parameters
    ----------
    data : SurveyPanel or DataFrame indexed by (firm, year).
    formula : e.g. ``"log_sales ~ log_labor + manager_schooling + C(year)"``.
    vcov : ``"classical"`` (default): s²(X*'X*)⁻¹, s² = SSR*/(N − K) of the GLS regression (Stata's
        conventional VCE); ``"robust"``: clustered by firm, as Stata ``xtreg, re vce(robust)``; ``"cluster"``:
        clustered by ``cluster`` (default the firm), factor G/(G−1)·(N−1)/(N−K) (Stata ``vce(cluster id)``);
        also ``"cluster2"`` and ``"driscoll-kraay"`` on the transformed scores.
    dof : small-sample rule passed to :func:`~clusterecon.estimators.covariance.ols_covariance`.

    Returns
    -------
    EstimationResult with z (normal) inference as Stata; ``stats``: ``sigma_u``, ``sigma_e``, ``rho``,
    ``theta`` (balanced) or ``theta_min``/``theta_mean``/``theta_max`` (unbalanced); ``rsquared``: within,
    between, overall (squared correlations, as Stata); ``tests["wald"]``: χ² that all slopes are zero;
    ``extra``: ``components`` (:class:`VarianceComponents`), ``s2`` (the s² behind the classical VCE, used by
    :func:`~clusterecon.estimators.spectests.hausman`).

    References
    ----------
    Swamy and Arora (1972), Econometrica 40(2); Baltagi (2021), §2.3, Table 2.1 (Grunfeld); Wooldridge (2010),
    §10.7; StataCorp, [XT] xtreg, Methods and formulas.
    """
    design = fast_design(data, formula, extra=cluster_columns(data, cluster))
    res = _fit_re(design, vcov=vcov, cluster=cluster, dof=dof, model="Random-effects GLS regression")
    return res


def _fit_re(design: Design, *, vcov: str, cluster: Any, dof: str, model: str,
            notes: Sequence[str] = (), extra: dict[str, Any] | None = None) -> EstimationResult:
    y, X = design.y, design.X
    g, counts = entity_codes(design.index)
    Z = np.column_stack([X, y])
    gram = Z.T @ Z
    k0 = X.shape[1]
    keep = independent_in_gram(gram[:k0, :k0])
    dropped = tuple((design.names[j], "collinear with other regressors") for j in range(k0) if j not in keep)
    if len(keep) < k0:
        warn_dropped(dropped)
        X = X[:, keep]
        gram = gram[np.ix_([*keep, k0], [*keep, k0])]
    names = tuple(design.names[j] for j in keep)
    k = X.shape[1]
    ybar, Xbar = group_means(g, counts, y), group_means(g, counts, X)
    comp = swamy_arora(y, X, g, counts, ybar=ybar, Xbar=Xbar, gram=gram)
    # GLS from cross-products: Σ_t (z_it − θ_i z̄_i)(z_it − θ_i z̄_i)' = Σ_t z_it z_it' − (2θ_i − θ_i²) T_i z̄_i z̄_i'
    Zbar = np.column_stack([Xbar, ybar])
    wgt = (2 * comp.theta - comp.theta**2) * counts
    Ss = gram - (Zbar * wgt[:, None]).T @ Zbar
    xtx_inv = np.linalg.inv(Ss[:k, :k])
    xtx_inv = (xtx_inv + xtx_inv.T) / 2
    b = xtx_inv @ Ss[:k, k]
    xb = X @ b
    r = y - xb
    rbar = ybar - Xbar @ b
    th = comp.theta[g]
    e = r - th * rbar[g]  # residuals of the transformed regression
    Xs = None if vcov == "classical" else X - th[:, None] * Xbar[g]
    V, info = gls_covariance(Xs, e, xtx_inv, design, vcov=vcov, cluster=cluster, dof=dof, entity=g)
    N, K = X.shape
    s2 = float(e @ e) / (N - K)
    shape = panel_shape(design.index)
    Sw = gram - (Zbar * counts[:, None]).T @ Zbar
    bsb = float(b @ Sw[:k, :k] @ b)
    rsq = {
        "within": float((b @ Sw[:k, k]) ** 2 / (bsb * Sw[k, k])) if bsb > 0 and Sw[k, k] > 0 else float("nan"),
        "between": corr2(Xbar @ b, ybar),
        "overall": corr2(xb, y),
    }
    st: dict[str, float] = {"sigma_u": np.sqrt(comp.sigma2_u), "sigma_e": np.sqrt(comp.sigma2_e), "rho": comp.rho}
    st.update(theta_summary(comp.theta))
    slopes = [j for j, nm in enumerate(names) if nm != "Intercept"]
    tests = {}
    if slopes:
        tests["wald"] = wald_zero(b, V, slopes, "all slopes are zero")
    ex = {"components": comp, "s2": s2, "resid": e, "theta_i": comp.theta}
    ex.update(extra or {})
    note = ["Swamy-Arora variance components (Stata xtreg, re); theta_i = 1 - sigma_e/sqrt(T_i sigma_u^2 + "
            "sigma_e^2)"]
    if comp.sigma2_u == 0:
        note.append("sigma_u^2 estimate was negative and set to 0: RE equals pooled OLS")
    return EstimationResult(
        model=model, estimator="random effects (GLS)", depvar=design.depvar, names=names, coef=b, vcov=V,
        variance=info, nobs=N, df_resid=None, formula=design.formula, rsquared=rsq, omitted=design.omitted,
        dropped_regressors=dropped, stats=st, effects={"Firm effects": "Random"}, tests=tests,
        notes=tuple(note) + tuple(notes), extra=ex, **shape)
