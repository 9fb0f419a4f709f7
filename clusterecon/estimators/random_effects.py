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
    design_fit,
    fast_design,
    independent_columns,
    independent_in_gram,
    ols,
    scaled_gram,
    warn_dropped,
)
from .design import Design, SpecificationError, as_panel_frame, panel_shape
from .predict import Predictor
from .results import EstimationResult, build_result
from .variance import VarianceSpec, parse_vcov

__all__ = ["random_effects", "swamy_arora", "VarianceComponents", "fit_re"]


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
    kw_cols = varying[independent_in_gram(scaled_gram(Sxx[np.ix_(varying, varying)]), tiny=0.0)] if len(varying) \
        else varying
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
@dataclass(frozen=True)
class QuasiDemeaned:
    """X − θ_i x̄_i, built only when a sandwich variance asks for it (``np.asarray``): the classical variance of
    random effects needs only cross-products."""

    X: np.ndarray
    Xbar: np.ndarray
    codes: np.ndarray
    theta: np.ndarray

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.X - self.theta[self.codes][:, None] * self.Xbar[self.codes]
        return out if dtype is None else out.astype(dtype)


def random_effects(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str | None = None,
                   cluster: str | Sequence[str] | None = None, dof: str = "stata", bandwidth: int | None = None,
                   entity: str | None = None, time: str | None = None) -> EstimationResult:
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
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame with ``entity=``/``time=``.
    formula : e.g. ``"log_sales ~ log_labor + manager_schooling + C(year)"``.
    vcov : ``"classical"`` (default): s²(X*'X*)⁻¹, s² = SSR*/(N − K) of the GLS regression (Stata's
        conventional VCE); ``"cluster"``: clustered by firm unless ``cluster`` names one or two variables, factor
        G/(G−1)·(N−1)/(N−K) (Stata ``xtreg, re vce(cluster id)``, which is also what Stata's ``vce(robust)``
        computes); ``"robust"`` is HC1 on the transformed regression, as everywhere in clusterecon (a change from
        earlier versions, where it meant clustered by firm); ``"hc0"``–``"hc3"``, ``"driscoll-kraay"`` on the
        transformed scores.
    dof, bandwidth : small-sample rule and Driscoll–Kraay bandwidth (:mod:`clusterecon.estimators.variance`).

    Returns
    -------
    EstimationResult with z (normal) inference as Stata; ``stats``: ``sigma_u``, ``sigma_e``, ``rho``,
    ``theta`` (balanced) or ``theta_min``/``theta_mean``/``theta_max`` (unbalanced); ``r2_within``,
    ``r2_between``, ``r2_overall`` (squared correlations, as Stata); ``tests["wald"]``: χ² that all slopes are
    zero; ``fitted`` = x'b, ``resid`` = y − x'b (Stata's ``ue``), ``estimated_effects["firm"]`` the predicted
    û_i = (1 − (1 − θ_i)²)(ȳ_i − x̄_i'b) (Stata ``predict u``); ``extra``: ``components``
    (:class:`VarianceComponents`), ``s2`` (the s² behind the classical VCE, used by
    :func:`~clusterecon.estimators.spectests.hausman`).

    References
    ----------
    Swamy and Arora (1972), Econometrica 40(2); Baltagi (2021), §2.3, Table 2.1 (Grunfeld); Wooldridge (2010),
    §10.7; StataCorp, [XT] xtreg, Methods and formulas.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> firm, year = np.repeat(np.arange(50), 4), np.tile(np.arange(2001, 2005), 50)
    >>> u = rng.normal(size=50)[firm]
    >>> df = pd.DataFrame({"firm": firm, "year": year, "x": rng.normal(size=200)})
    >>> df["y"] = 1 + 0.5 * df.x + u + rng.normal(size=200)
    >>> re = random_effects(df, "y ~ x", entity="firm", time="year", vcov="cluster")
    >>> float(round(re.params["x"], 2)), re.uses_t, re.variance.clusters
    (0.45, False, ('firm',))
    """
    spec = parse_vcov(vcov or "classical", cluster, dof=dof, bandwidth=bandwidth, estimator="random_effects")
    df = as_panel_frame(data, entity=entity, time=time)
    design = fast_design(df, formula, extra=cluster_columns(df, spec.clusters))
    return fit_re(design, spec, model="Random-effects GLS regression")


def fit_re(design: Design, spec: VarianceSpec, *, model: str, notes: Sequence[str] = (),
           extra: dict[str, Any] | None = None) -> EstimationResult:
    """Random-effects GLS of a built design under ``spec`` (shared with :func:`~.cre.correlated_re`)."""
    gls = _gls(design)
    comp, b, names, X = gls["comp"], gls["b"], gls["names"], gls["X"]
    N, K = X.shape
    st: dict[str, float] = {"sigma_u": np.sqrt(comp.sigma2_u), "sigma_e": np.sqrt(comp.sigma2_e), "rho": comp.rho}
    st.update(theta_summary(comp.theta))
    g, e = gls["g"], gls["e"]
    fit = design_fit(design, spec, bread=gls["xtx_inv"], regressors=QuasiDemeaned(X, gls["Xbar"], g, comp.theta),
                     resid=e, inference="normal")
    note = ["Swamy-Arora variance components (Stata xtreg, re); theta_i = 1 - sigma_e/sqrt(T_i sigma_u^2 + "
            "sigma_e^2)"]
    if comp.sigma2_u == 0:
        note.append("sigma_u^2 estimate was negative and set to 0: RE equals pooled OLS")
    xb = X @ b
    shrink = 1 - (1 - comp.theta) ** 2
    u = pd.Series(shrink * gls["rbar"], index=pd.Index(pd.unique(design.index.get_level_values(0)))
                  .sort_values().rename(design.index.names[0]), name="firm effect")
    return build_result(
        fit, spec, wald_terms=[j for j, nm in enumerate(names) if nm != "Intercept"], model=model,
        estimator="random effects (GLS)", depvar=design.depvar, names=names, coef=b, nobs=N,
        df_resid=float(N - K), formula=design.formula, rsquared=gls["rsq"], omitted=design.omitted,
        dropped_regressors=gls["dropped"], stats=st, effects={"Firm effects": "Random"},
        notes=tuple(note) + tuple(notes), index=design.index, residuals=design.y - xb, fitted_values=xb,
        predictor=Predictor(design.terms, columns=names), estimated_effects={"firm": u},
        extra={"components": comp, "s2": float(e @ e) / (N - K), "resid": e, "theta_i": comp.theta,
               **(extra or {})}, **panel_shape(design.index))


def _gls(design: Design) -> dict[str, Any]:
    """Swamy–Arora components and the GLS coefficients from cross-products (the data are read about once)."""
    y, X = design.y, design.X
    g, counts = entity_codes(design.index)
    Z = np.column_stack([X, y])
    gram = Z.T @ Z
    k0 = X.shape[1]
    keep = independent_in_gram(scaled_gram(gram[:k0, :k0]), tiny=0.0)  # units do not decide collinearity
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
    rbar = ybar - Xbar @ b
    e = y - X @ b - comp.theta[g] * rbar[g]  # residuals of the transformed regression
    Sw = gram - (Zbar * counts[:, None]).T @ Zbar
    bsb = float(b @ Sw[:k, :k] @ b)
    rsq = {
        "within": float((b @ Sw[:k, k]) ** 2 / (bsb * Sw[k, k])) if bsb > 0 and Sw[k, k] > 0 else float("nan"),
        "between": corr2(Xbar @ b, ybar),
        "overall": corr2(X @ b, y),
    }
    return {"comp": comp, "b": b, "names": names, "X": X, "Xbar": Xbar, "g": g, "e": e, "rbar": rbar,
            "xtx_inv": xtx_inv, "rsq": rsq, "dropped": dropped}
