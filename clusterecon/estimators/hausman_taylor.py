r"""Hausman–Taylor and Amemiya–MaCurdy estimators, with Stata ``xthtaylor`` conventions.

The estimators for cluster surveys whose question is a *time-invariant* firm characteristic — the manager's
schooling, the founder's previous occupation, the firm's cohort or location — when the firm effect a_i may be
correlated with some regressors. Fixed effects absorb such characteristics; random effects are biased if a_i is
correlated with them. Hausman–Taylor identifies them by using exogenous time-varying regressors (their firm means)
as instruments for the endogenous time-invariant ones.

Model: y_it = x1_it'β1 + x2_it'β2 + z1_i'γ1 + z2_i'γ2 + a_i + e_it, with x1, z1 uncorrelated with a_i (exogenous)
and x2, z2 possibly correlated with a_i (endogenous); all are uncorrelated with e_it. The constant is part of z1.

Steps (StataCorp, [XT] xthtaylor, Methods and formulas; Hausman and Taylor 1981; Baltagi 2021 §7.4):

1. Within regression of y on x = (x1, x2): β̂_w and σ̂_e² = SSR_w/(N − n).
2. d_it = y_it − x_it'β̂_w; 2SLS of d on z = (z1, z2) with instruments (x1, z1): γ̂; s² = (1/N)Σ(d_it − z_i'γ̂)²,
   σ̂_u² = s² − σ̂_e²; θ_i = 1 − √(σ̂_e²/(σ̂_e² + T_i σ̂_u²)).
3. 2SLS of y*_it = y_it − θ_i ȳ_i on w* = (x, z) − θ_i (x̄, z) with instruments
   A = (x1 − x̄1, x2 − x̄2, x̄1, z1) (HT) or (x1 − x̄1, x2 − x̄2, x1_i1, …, x1_iT, z1) (Amemiya–MaCurdy: x1 of
   every period as separate instruments; balanced panels only).
   V = s*²(Ŵ'Ŵ)⁻¹, Ŵ = P_A w*, s*² = SSR*/(N − K) of the transformed 2SLS residuals, normal inference.

Order condition: k1 (exogenous time-varying) ≥ g2 (endogenous time-invariant).

Written here because no Python package has HT/AM (linearmodels #694 plans panel IV); checked against the
Cornwell–Rupert wage equation (Baltagi's HT table; Stata ``xthtaylor`` manual; plm ``pht``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._demean import entity_codes, group_means, varies_within
from ._linear import cluster_columns, design_clusters, fast_design, ols
from .covariance import ols_covariance
from .design import SpecificationError, panel_shape
from .random_effects import theta_summary
from .results import EstimationResult, VarianceInfo

__all__ = ["hausman_taylor"]

_TOL = 1e-10


def _match(names: Sequence[str], wanted: Sequence[str], label: str) -> list[int]:
    """Columns of the design that belong to the listed variables (``C(x)`` expands to several columns)."""
    out: list[int] = []
    for w in wanted:
        hits = [j for j, n in enumerate(names) if n == w or n.startswith(w + "[") or n.startswith(f"C({w})[")]
        if not hits:
            raise SpecificationError(f"{label} lists {w!r}, which is not a term of the formula; terms are "
                                     f"{[n for n in names if n != 'Intercept']}")
        out.extend(hits)
    return out


def hausman_taylor(data: SurveyPanel | pd.DataFrame, formula: str, *, exog_varying: Sequence[str] = (),
                   endog_varying: Sequence[str] = (), exog_invariant: Sequence[str] = (),
                   endog_invariant: Sequence[str] = (), method: str = "ht", vcov: str = "classical",
                   cluster: str | Sequence[str] | None = None) -> EstimationResult:
    r"""Hausman–Taylor (``method="ht"``) or Amemiya–MaCurdy (``"am"``) IV estimation of an error-components model.

    Use it for the effect of time-invariant firm characteristics — manager schooling, founder background,
    cohort — when the firm effect may be correlated with some regressors. Declare which regressors may be
    correlated with the firm effect (``endog_varying``, ``endog_invariant``); every other formula term is
    exogenous. Whether a term is time-varying or time-invariant is read from the data (a term that never changes
    within a firm is time-invariant); the lists ``exog_varying``/``exog_invariant`` are optional and, if given,
    are checked against the data. The constant is an exogenous time-invariant regressor, as in Stata.

    Parameters
    ----------
    formula : all regressors, e.g. ``"log_wage ~ occ + south + exp + exp2 + fem + ed"``.
    exog_varying, endog_varying, exog_invariant, endog_invariant : lists of formula terms (x1, x2, z1, z2).
    method : ``"ht"`` Hausman–Taylor (Stata ``xthtaylor``); ``"am"`` Amemiya–MaCurdy (``xthtaylor, amacurdy``;
        balanced panels only).
    vcov : ``"classical"`` (Stata's only analytic VCE: s*²(Ŵ'Ŵ)⁻¹, s*² = SSR*/(N − K)) or ``"cluster"``
        (sandwich on the transformed 2SLS scores, clustered by ``cluster``, default the firm, factor
        G/(G−1)·(N−1)/(N−K); not in Stata).

    Returns
    -------
    EstimationResult with normal inference; ``stats``: ``sigma_u``, ``sigma_e``, ``rho``, ``theta`` (or
    ``theta_min/mean/max``), ``k1``, ``k2``, ``g1``, ``g2``; ``extra["roles"]``: the role of every term.

    Raises
    ------
    SpecificationError
        If the order condition k1 ≥ g2 fails, a declared role contradicts the data, or AM is asked for on an
        unbalanced panel.

    References
    ----------
    Hausman and Taylor (1981), Econometrica 49(6); Amemiya and MaCurdy (1986), Econometrica 54(4); Baltagi (2021),
    *Econometric Analysis of Panel Data*, §7.4; StataCorp, [XT] xthtaylor; Cornwell and Rupert (1988).
    """
    if method not in ("ht", "am"):
        raise SpecificationError(f"method must be 'ht' (Hausman-Taylor) or 'am' (Amemiya-MaCurdy), got {method!r}")
    design = fast_design(data, formula, extra=cluster_columns(data, cluster))
    y, X, names = design.y, design.X, list(design.names)
    g, counts = entity_codes(design.index)
    n, N = len(counts), len(y)
    Xbar = group_means(g, counts, X)
    ybar = group_means(g, counts, y)
    dev = X - Xbar[g]
    varies = varies_within(X, dev, _TOL)

    endog = set(_match(names, endog_varying, "endog_varying") + _match(names, endog_invariant, "endog_invariant"))
    for j in _match(names, endog_varying, "endog_varying") + _match(names, exog_varying, "exog_varying"):
        if not varies[j]:
            raise SpecificationError(f"{names[j]!r} is declared time-varying but is constant within every firm; "
                                     "list it as time-invariant")
    for j in _match(names, endog_invariant, "endog_invariant") + _match(names, exog_invariant, "exog_invariant"):
        if varies[j]:
            bad = int((np.abs(dev[:, j]) > 1e-12).sum())
            raise SpecificationError(f"{names[j]!r} is declared time-invariant but changes within firms "
                                     f"({bad} rows differ from their firm mean); list it as time-varying")
    if set(_match(names, exog_varying, "x")) & endog or set(_match(names, exog_invariant, "z")) & endog:
        raise SpecificationError("a term is listed both as exogenous and endogenous")
    x1 = [j for j in range(len(names)) if varies[j] and j not in endog]
    x2 = [j for j in range(len(names)) if varies[j] and j in endog]
    z1 = [j for j in range(len(names)) if not varies[j] and j not in endog]
    z2 = [j for j in range(len(names)) if not varies[j] and j in endog]
    if not x2 and not z2:
        raise SpecificationError("no regressor is declared endogenous (endog_varying/endog_invariant): "
                                 "Hausman-Taylor then equals random effects; use random_effects")
    if len(x1) < len(z2):
        raise SpecificationError(
            f"order condition fails: Hausman-Taylor needs at least as many exogenous time-varying regressors "
            f"(k1 = {len(x1)}: {[names[j] for j in x1]}) as endogenous time-invariant ones (g2 = {len(z2)}: "
            f"{[names[j] for j in z2]}); declare more time-varying regressors exogenous or fewer time-invariant "
            "ones endogenous, or use fixed effects / correlated_re")
    if method == "am":
        T = counts.astype(int)
        times = pd.factorize(design.time, sort=True)[0]
        if T.min() != T.max() or T.max() != times.max() + 1:
            raise SpecificationError(
                f"Amemiya-MaCurdy needs a balanced panel (every firm observed in all {times.max() + 1} periods); "
                f"here T ranges {T.min()}..{T.max()}. Use method='ht', which allows unbalanced panels, or "
                "restrict the sample to firms observed every year")

    xv, zi = x1 + x2, z1 + z2
    # step 1: within regression
    bw, ew, _ = ols(dev[:, xv], y - ybar[g])
    s2e = float(ew @ ew) / (N - n)
    # step 2: IV of d_it on z with instruments (x1, z1)
    d = y - X[:, xv] @ bw
    Z = X[:, zi]
    A2 = np.column_stack([X[:, x1], X[:, z1]])
    gam = _tsls(Z, d, A2)[0]
    r = d - Z @ gam
    s2u = max(float(r @ r) / N - s2e, 0.0)
    theta = 1.0 - np.sqrt(s2e / (s2e + counts * s2u))
    # step 3: GLS-IV
    # Stata's display order: TV exogenous, TV endogenous, TI exogenous, TI endogenous, then the constant
    const = [j for j in z1 if names[j] == "Intercept"]
    order = xv + [j for j in z1 if j not in const] + z2 + const
    th = theta[g]
    Ws = X[:, order] - th[:, None] * Xbar[g][:, order]
    ys = y - th * ybar[g]
    if method == "ht":
        extra_inst = Xbar[g][:, x1]
    else:
        per = np.full((n, times.max() + 1, len(x1)), np.nan)
        per[g, times] = X[:, x1]
        extra_inst = per.reshape(n, -1)[g]
    A = np.column_stack([dev[:, xv], extra_inst, X[:, z1]])
    b, e, What, bread = _tsls(Ws, ys, A, full=True, what=vcov != "classical")
    K = len(order)
    if vcov == "classical":
        s2 = float(e @ e) / (N - K)
        V = s2 * bread
        info = VarianceInfo("classical", dof_rule=f"s2 = SSR*/(N-K) of the GLS-IV regression, K = {K} "
                                                  "(Stata xthtaylor)")
    elif vcov in ("cluster", "robust"):
        codes, cnames = design_clusters(design, None if vcov == "robust" else cluster)
        V, info, _ = ols_covariance(What, e, "cluster", bread=bread, clusters=codes, cluster_names=cnames)
    else:
        raise SpecificationError(f"vcov must be 'classical' or 'cluster' for Hausman-Taylor, got {vcov!r}")

    out_names = tuple(names[j] for j in order)
    roles = {**{names[j]: "exogenous time-varying" for j in x1}, **{names[j]: "endogenous time-varying" for j in x2},
             **{names[j]: "exogenous time-invariant" for j in z1},
             **{names[j]: "endogenous time-invariant" for j in z2}}
    st: dict[str, float] = {"sigma_u": np.sqrt(s2u), "sigma_e": np.sqrt(s2e),
                            "rho": s2u / (s2u + s2e) if s2u + s2e > 0 else float("nan")}
    st.update(theta_summary(theta))
    st.update(k1=len(x1), k2=len(x2), g1=len(z1), g2=len(z2))
    label = "Hausman-Taylor" if method == "ht" else "Amemiya-MaCurdy"
    notes = [f"{label}: endogenous time-varying {[names[j] for j in x2]}, endogenous time-invariant "
             f"{[names[j] for j in z2]}; instruments: within deviations of x, "
             + ("firm means of exogenous x1" if method == "ht" else "exogenous x1 in every period") + ", z1"]
    if s2u == 0:
        notes.append("sigma_u^2 estimate was negative and set to 0")
    return EstimationResult(
        model=f"{label} estimation", estimator=label, depvar=design.depvar, names=out_names, coef=b, vcov=V,
        variance=info, nobs=N, df_resid=None, formula=design.formula, omitted=design.omitted, stats=st,
        effects={"Firm effects": "Random (correlated with endogenous terms)"}, notes=tuple(notes),
        extra={"roles": roles, "theta_i": theta, "resid": e, "instruments": A.shape[1], "gamma_step2": gam},
        **panel_shape(design.index))


def _tsls(W: np.ndarray, y: np.ndarray, A: np.ndarray, full: bool = False, what: bool = True):
    """2SLS of y on W with instruments A from cross-products: Ŵ = A(A'A)⁺A'W, b = (Ŵ'W)⁻¹Ŵ'y.

    The pseudo-inverse (on column-equilibrated A'A) tolerates redundant instruments, e.g. the constant among both
    the firm means of x1 and z1. Returns b, residuals y − Wb and, with ``full``, Ŵ and (Ŵ'Ŵ)⁻¹.
    """
    scale = np.sqrt((A * A).sum(0))
    scale[scale == 0] = 1.0
    As = A / scale
    P = np.linalg.pinv(As.T @ As, hermitian=True)
    AW, Ay = As.T @ W, As.T @ y
    C = P @ AW  # first-stage coefficients on the scaled instruments
    bread = np.linalg.pinv(AW.T @ C, hermitian=True)
    b = bread @ (C.T @ Ay)
    e = y - W @ b
    if full:
        return b, e, (As @ C if what else None), bread
    return b, e
