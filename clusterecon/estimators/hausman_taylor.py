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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .demean import entity_codes, group_means, varies_within
from .design import Design, SpecificationError, as_panel_frame, panel_shape
from .linear import cluster_columns, design_fit, fast_design, ols
from .predict import Predictor
from .random_effects import theta_summary
from .results import EstimationResult, build_result
from .variance import parse_vcov

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


SUPPORTED = ("classical", "hc0", "hc1", "cluster")


def hausman_taylor(data: SurveyPanel | pd.DataFrame, formula: str, *, exog_varying: Sequence[str] = (),
                   endog_varying: Sequence[str] = (), exog_invariant: Sequence[str] = (),
                   endog_invariant: Sequence[str] = (), method: str = "ht", vcov: str | None = None,
                   cluster: str | Sequence[str] | None = None, dof: str = "stata", entity: str | None = None,
                   time: str | None = None) -> EstimationResult:
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
    vcov : ``"classical"`` (default; Stata's only analytic VCE: s*²(Ŵ'Ŵ)⁻¹, s*² = SSR*/(N − K)), ``"cluster"``
        (sandwich on the transformed 2SLS scores Ŵe, clustered by firm unless ``cluster`` names a variable,
        factor G/(G−1)·(N−1)/(N−K); not in Stata), ``"hc0"``/``"hc1"`` (= ``"robust"``; before, ``"robust"``
        meant clustered by firm).

    Returns
    -------
    EstimationResult with normal inference; ``stats``: ``sigma_u``, ``sigma_e``, ``rho``, ``theta`` (or
    ``theta_min/mean/max``), ``k1``, ``k2``, ``g1``, ``g2``; ``extra["roles"]``: the role of every term;
    ``resid`` = y − x'b, ``fitted`` = x'b, ``predict(newdata)`` = x'b.

    Raises
    ------
    SpecificationError
        If the order condition k1 ≥ g2 fails, a declared role contradicts the data, or AM is asked for on an
        unbalanced panel.

    References
    ----------
    Hausman and Taylor (1981), Econometrica 49(6); Amemiya and MaCurdy (1986), Econometrica 54(4); Baltagi (2021),
    *Econometric Analysis of Panel Data*, §7.4; StataCorp, [XT] xthtaylor; Cornwell and Rupert (1988).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> firm = np.repeat(np.arange(300), 4)
    >>> u, school = rng.normal(size=300), rng.integers(6, 16, 300).astype(float)
    >>> df = pd.DataFrame({"firm": firm, "year": np.tile([1, 2, 3, 4], 300), "school": school[firm],
    ...                    "x1": rng.normal(size=1200) + u[firm], "x2": rng.normal(size=1200)})
    >>> df["y"] = 0.5 * df.x1 + 0.2 * df.x2 + 0.1 * df.school + u[firm] + rng.normal(size=1200)
    >>> ht = hausman_taylor(df, "y ~ x1 + x2 + school", endog_varying=["x1"], entity="firm", time="year")
    >>> ht.extra["roles"]["school"], float(round(ht.params["x1"], 1))
    ('exogenous time-invariant', 0.5)
    """
    if method not in ("ht", "am"):
        raise SpecificationError(f"method must be 'ht' (Hausman-Taylor) or 'am' (Amemiya-MaCurdy), got {method!r}")
    spec = parse_vcov(vcov or "classical", cluster, dof=dof, supported=SUPPORTED, estimator="hausman_taylor")
    df = as_panel_frame(data, entity=entity, time=time)
    design = fast_design(df, formula, extra=cluster_columns(df, spec.clusters))
    g, counts = entity_codes(design.index)
    Xbar = group_means(g, counts, design.X)
    roles = _roles(design, design.X - Xbar[g], [endog_varying, endog_invariant, exog_varying, exog_invariant])
    if method == "am":
        _check_balanced(counts, design)
    est = _estimate(design, roles, method, g, counts, Xbar)
    names = list(design.names)
    x1, x2, z1, z2 = roles
    N, K = len(design.y), len(est["order"])
    fit = design_fit(design, spec, bread=est["bread"], regressors=est["What"], resid=est["e"], supported=SUPPORTED,
                     inference="normal")
    out_names = tuple(names[j] for j in est["order"])
    xb = design.X[:, est["order"]] @ est["b"]
    label = "Hausman-Taylor" if method == "ht" else "Amemiya-MaCurdy"
    return build_result(
        fit, spec, model=f"{label} estimation", estimator=label, depvar=design.depvar, names=out_names,
        coef=est["b"], nobs=N, df_resid=float(N - K), formula=design.formula, omitted=design.omitted,
        stats=est["stats"], effects={"Firm effects": "Random (correlated with endogenous terms)"},
        notes=tuple(_notes(names, roles, method, est["stats"]["sigma_u"])), index=design.index,
        residuals=design.y - xb, fitted_values=xb, predictor=Predictor(design.terms, columns=out_names),
        extra={"roles": _role_names(names, roles), "theta_i": est["theta"], "resid": est["e"],
               "instruments": est["n_instruments"], "gamma_step2": est["gam"]}, **panel_shape(design.index))


def _roles(design: Design, dev: np.ndarray, lists: list[Sequence[str]]) -> list[list[int]]:
    """Columns (x1, x2, z1, z2): time-varying or not from the data, endogenous as declared; checks the declared
    roles against the data and the order condition k1 ≥ g2."""
    names, X = list(design.names), design.X
    endog_varying, endog_invariant, exog_varying, exog_invariant = lists
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
    return [x1, x2, z1, z2]


def _check_balanced(counts: np.ndarray, design: Design) -> None:
    T = counts.astype(int)
    times = pd.factorize(design.time, sort=True)[0]
    if T.min() != T.max() or T.max() != times.max() + 1:
        raise SpecificationError(
            f"Amemiya-MaCurdy needs a balanced panel (every firm observed in all {times.max() + 1} periods); "
            f"here T ranges {T.min()}..{T.max()}. Use method='ht', which allows unbalanced panels, or "
            "restrict the sample to firms observed every year")


def _estimate(design: Design, roles: list[list[int]], method: str, g: np.ndarray, counts: np.ndarray,
              Xbar: np.ndarray) -> dict[str, Any]:
    """The three steps of the module docstring."""
    y, X, names = design.y, design.X, list(design.names)
    x1, x2, z1, z2 = roles
    n, N = len(counts), len(y)
    ybar = group_means(g, counts, y)
    dev = X - Xbar[g]
    xv, zi = x1 + x2, z1 + z2
    bw, ew, _ = ols(dev[:, xv], y - ybar[g])  # step 1: within regression
    s2e = float(ew @ ew) / (N - n)
    d = y - X[:, xv] @ bw  # step 2: IV of d_it on z with instruments (x1, z1)
    Z = X[:, zi]
    gam = _tsls(Z, d, np.column_stack([X[:, x1], X[:, z1]]))[0]
    r = d - Z @ gam
    s2u = max(float(r @ r) / N - s2e, 0.0)
    theta = 1.0 - np.sqrt(s2e / (s2e + counts * s2u))
    # step 3: GLS-IV; Stata's display order: TV exogenous, TV endogenous, TI exogenous, TI endogenous, constant
    const = [j for j in z1 if names[j] == "Intercept"]
    order = xv + [j for j in z1 if j not in const] + z2 + const
    th = theta[g]
    Ws = X[:, order] - th[:, None] * Xbar[g][:, order]
    if method == "ht":
        extra_inst = Xbar[g][:, x1]
    else:
        times = pd.factorize(design.time, sort=True)[0]
        per = np.full((n, times.max() + 1, len(x1)), np.nan)
        per[g, times] = X[:, x1]
        extra_inst = per.reshape(n, -1)[g]
    A = np.column_stack([dev[:, xv], extra_inst, X[:, z1]])
    b, e, What, bread = _tsls(Ws, y - th * ybar[g], A, full=True)
    st: dict[str, float] = {"sigma_u": np.sqrt(s2u), "sigma_e": np.sqrt(s2e),
                            "rho": s2u / (s2u + s2e) if s2u + s2e > 0 else float("nan")}
    st.update(theta_summary(theta))
    st.update(k1=len(x1), k2=len(x2), g1=len(z1), g2=len(z2))
    return {"b": b, "e": e, "What": What, "bread": bread, "order": order, "theta": theta, "gam": gam,
            "stats": st, "n_instruments": A.shape[1]}


def _role_names(names: Sequence[str], roles: list[list[int]]) -> dict[str, str]:
    labels = ("exogenous time-varying", "endogenous time-varying", "exogenous time-invariant",
              "endogenous time-invariant")
    return {names[j]: lab for cols, lab in zip(roles, labels) for j in cols}


def _notes(names: Sequence[str], roles: list[list[int]], method: str, sigma_u: float) -> list[str]:
    label = "Hausman-Taylor" if method == "ht" else "Amemiya-MaCurdy"
    notes = [f"{label}: endogenous time-varying {[names[j] for j in roles[1]]}, endogenous time-invariant "
             f"{[names[j] for j in roles[3]]}; instruments: within deviations of x, "
             + ("firm means of exogenous x1" if method == "ht" else "exogenous x1 in every period") + ", z1"]
    if sigma_u == 0:
        notes.append("sigma_u^2 estimate was negative and set to 0")
    return notes


@dataclass(frozen=True)
class _Fitted:
    """Ŵ = A_s C, the first-stage fitted regressors, built only when a sandwich variance asks for them."""

    As: np.ndarray
    C: np.ndarray

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.As @ self.C
        return out if dtype is None else out.astype(dtype)


def _tsls(W: np.ndarray, y: np.ndarray, A: np.ndarray, full: bool = False):
    """2SLS of y on W with instruments A from cross-products: Ŵ = A(A'A)⁺A'W, b = (Ŵ'W)⁻¹Ŵ'y.

    The pseudo-inverses (on column-equilibrated A'A and Ŵ'W) tolerate redundant instruments, e.g. the constant
    among both the firm means of x1 and z1. Both sides are equilibrated because a pseudo-inverse's cut-off is
    relative: regressors in units 1e-4 and 1e4 apart would otherwise lose the small one's direction (its
    coefficient came out 0). Returns b, residuals y − Wb and, with ``full``, Ŵ (deferred) and (Ŵ'Ŵ)⁻¹.
    """
    scale = _col_norms(A)
    As = A / scale
    P = np.linalg.pinv(As.T @ As, hermitian=True)
    ws = _col_norms(W)
    AW, Ay = As.T @ (W / ws), As.T @ y
    C = P @ AW  # first-stage coefficients of the scaled regressors on the scaled instruments
    bread = np.linalg.pinv(AW.T @ C, hermitian=True) / np.outer(ws, ws)
    b = bread @ ((C * ws).T @ Ay)
    e = y - W @ b
    if full:
        return b, e, _Fitted(As, C * ws), bread
    return b, e


def _col_norms(M: np.ndarray) -> np.ndarray:
    scale = np.sqrt((M * M).sum(0))
    scale[scale == 0] = 1.0
    return scale
