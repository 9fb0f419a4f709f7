"""Within (fixed-effects) estimator: firm effects, year effects, or both (Stata ``xtreg, fe`` / ``areg`` /
``reghdfe``; linearmodels ``PanelOLS``; plm ``model="within"``; pyfixest ``feols(... | firm + year)``).

Model: y_it = x_it'β + α_i (+ λ_t) + ε_it. The effects are absorbed exactly by :mod:`._demean` (firm demeaning plus
a dense year block) and β is OLS on the transformed data, identical to the dummy-variable regression (LSDV).

Conventions (Stata ``xtreg, fe``, [XT] xtreg Methods and formulas): classical s² = SSR/(N − G − k − p) with p the
number of year-effect coefficients; R² within = 1 − SSR/Σ(y_it − ȳ_i)²; R² between = corr(x̄_i'b, ȳ_i)²;
R² overall = corr(x_it'b, y_it)² (with the year effects in x'b under ``effects="twoway"``, as ``xtreg ... i.year``
reports); σ_e, σ_u = sd of û_i, ρ = σ_u²/(σ_u² + σ_e²); "F test that all u_i = 0" (classical, as Stata prints it
for non-robust variance). Clustered variance with ``dof="stata"`` uses G/(G−1)·(N−1)/(N−K), K = slopes + year
dummies + constant (absorbed firm effects not counted), t(G−1); ``dof="areg"`` counts them; ``dof="reghdfe"``
counts them unless the firms are nested in the clusters.

Singletons (firms observed once) carry no within information. ``singletons="keep"`` (default with the Stata, areg
and plm rules) keeps them, as ``xtreg``/``areg``/plm do — they change N and G and so the small-sample factors;
``"drop"`` (default with ``dof="reghdfe"``) drops them as reghdfe does (Correia 2015) and reports them as omitted.

Analytic weights (``weights=``, Stata ``aweight``) give weighted demeaning and WLS (the areg/reghdfe convention;
``xtreg, fe`` additionally requires weights constant within firm).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from ._demean import absorb, index_groups
from ._linear import corr2, fit_linear, prepare, variance
from .design import SpecificationError
from .results import EstimationResult, Omitted, TestResult

HINT = ("its coefficient is not identified with these effects; for time-invariant regressors such as manager "
        "schooling use hausman_taylor(...) or correlated_re(...)")
_WHAT = {"firm": "the firm effects (it does not vary within firms)",
         "time": "the year effects (it does not vary across firms within a year)",
         "twoway": "the firm and year effects (it does not vary within firms, or only with the year)"}


def _overall_r2(ab, K: np.ndarray, b: np.ndarray, delta: np.ndarray | None, W: float) -> float:
    """corr(x'b + δ_t, y)² from the moment matrices (no pass over the data): with a = (0, b) on the columns of
    Z = [y, X], Σxb·y = a'R e₀ + δ's_y, Σxb² = a'Ra + 2δ'S a + Σ_t W_t δ_t², Σxb = a'z + W̄'δ, where R = Z'WZ and
    S the year sums."""
    R = ab.raw
    a = np.zeros(R.shape[0])
    a[K + 1] = b
    tot = ab.year_sums.sum(axis=0) if ab.year_sums is not None else ab.firms.size @ ab.firm_means
    sxy, sxx, sx = a @ R[:, 0], a @ R @ a, a @ tot
    if delta is not None:
        S, Wt = ab.year_sums, ab.years.size
        sxy += delta @ S[:, 0]
        sxx += 2 * delta @ (S @ a) + Wt @ delta**2
        sx += Wt @ delta
    sy, syy = tot[0], R[0, 0]
    cov = sxy - sx * sy / W
    var_x, var_y = sxx - sx**2 / W, syy - sy**2 / W
    return float(cov**2 / (var_x * var_y)) if var_x > 0 and var_y > 0 else float("nan")


def within(data: SurveyPanel | pd.DataFrame, formula: str, *, effects: str = "firm", vcov: str = "classical",
           cluster: str | tuple[str, ...] | None = None, dof: str = "stata", weights: str | None = None,
           collinear: str = "drop", singletons: str | None = None) -> EstimationResult:
    """Fixed-effects regression of ``formula`` with ``effects`` = "firm" | "time" | "twoway" absorbed.

    Parameters
    ----------
    formula : e.g. ``"lscrap ~ grant + grant_1 + C(year)"``; the intercept is absorbed by the effects.
    vcov, cluster, dof : see :func:`~clusterecon.estimators.covariance.ols_covariance`; ``cluster=None`` with
        ``vcov="cluster"`` clusters by firm (Stata ``xtreg, fe vce(cluster firm)``, which is also what Stata's
        ``xtreg, fe vce(robust)`` computes); ``vcov="robust"`` is heteroskedasticity-only (areg/reghdfe).
    weights : analytic weights column.
    collinear : "drop" regressors collinear with the effects (named, warning, ``dropped_regressors``) or "raise".
    singletons : "keep" | "drop" | None (= "drop" for ``dof="reghdfe"``, "keep" otherwise).

    References
    ----------
    Baltagi (2021), Econometric Analysis of Panel Data, 6th ed., §2.2 and §3.2; StataCorp, [XT] xtreg.
    """
    if effects not in ("firm", "time", "twoway"):
        raise SpecificationError(f"effects must be 'firm', 'time' or 'twoway', got {effects!r}")
    if collinear not in ("drop", "raise"):
        raise SpecificationError(f"collinear must be 'drop' or 'raise', got {collinear!r}")
    singletons = singletons or ("drop" if dof == "reghdfe" else "keep")
    prep = prepare(data, formula, vcov=vcov, cluster=cluster, weights=weights)
    d, w = prep.design, prep.weights
    cols = [j for j, nm in enumerate(d.names) if nm != "Intercept"]
    names = [d.names[j] for j in cols]
    if not names:
        raise SpecificationError(f"formula {formula!r} has no regressor besides the constant")
    y, X, index = d.y, d.X, d.index  # X keeps the intercept column; ``cols`` picks the regressors
    omitted = list(d.omitted)
    notes: list[str] = []
    fg = index_groups(index, 0, w)
    n_single = int((fg.count == 1).sum()) if effects != "time" else 0
    if n_single and singletons == "drop":
        keep = fg.count[fg.codes] != 1
        y, X, index = y[keep], X[keep], index[keep]
        w = None if w is None else w[keep]
        prep.frame = prep.frame.loc[keep]
        fg = index_groups(index, 0, w)
        omitted.append(Omitted("singleton firms (observed once; no within variation, dropped as reghdfe does)",
                               n_single))
    if vcov == "robust" and effects != "time":
        notes.append("vcov='robust' is heteroskedasticity-robust only (areg/reghdfe 'robust'); Stata's xtreg, fe "
                     "vce(robust) clusters by firm, which is vcov='cluster' here; with firm effects and short panels "
                     "HC is inconsistent (Stock and Watson 2008)")
    if n_single and singletons != "drop":
        notes.append(f"{n_single} singleton firm(s) kept (as xtreg does); they do not affect the coefficients "
                     "but count in N and G")
    tg = index_groups(index, 1, w) if effects != "firm" else None
    n, p = len(y), len(names) + 1
    Z = np.empty((n, p), order="F")
    Z[:, 0] = y
    for j in range(p - 1):
        Z[:, j + 1] = X[:, cols[j]]
    ab = absorb(Z, fg if effects != "time" else None, tg, effects, w, overwrite=True)
    del Z
    yt, Xt = ab.Z[:, 0], ab.Z[:, 1:]
    W = float(n if w is None else w.sum())
    tot = ab.year_sums.sum(axis=0) if ab.year_sums is not None else fg.size @ ab.firm_means
    centred = ab.raw - np.outer(tot, tot) / W  # Σ w (z − z̄)(z − z̄)'
    fit = fit_linear(yt, Xt, names, weights=w, raw_scale=np.diag(centred)[1:], absorbed_what=_WHAT[effects],
                     collinear=collinear, hint=HINT)
    K = fit.keep
    Xk = Xt[:, K]
    k = len(K)
    if effects == "time":
        n_abs, n_part = 0, tg.n_groups
    else:
        n_abs, n_part = ab.n_absorbed, ab.n_partialled
    V, info, df = variance(Xk, fit.resid, fit.bread, vcov, prep, dof=dof, n_absorbed=n_abs, n_partialled=n_part,
                           entity_codes=fg.codes, weights=w)
    df_fe = n - k - n_abs - n_part

    # R² as xtreg reports them, from xb = x'b (+ year effects) on the untransformed data; all from small moments
    # except corr(xb, y)
    b = fit.coef
    sel = np.r_[0, K + 1]
    c = np.zeros(p)  # y − x'b as a combination of the columns of Z
    c[0] = 1.0
    c[K + 1] = -b
    if effects == "time":
        S_y = ab.raw - ab.year_sums.T @ (ab.year_sums / tg.size[:, None])
        r2w = 1 - fit.ssr / S_y[0, 0]
        fm = fg.means(np.column_stack([X[:, np.asarray(cols)[K]] @ b, y]), w)
        xbar, ybar = fm[:, 0], fm[:, 1]
        delta = None
    else:
        r2w = 1 - fit.ssr / ab.ss_firm[0]
        xbar, ybar = ab.firm_means[:, K + 1] @ b, ab.firm_means[:, 0]
        delta = ab.year_effects(c) if effects == "twoway" else None
        if delta is not None:
            xbar = xbar + ab.cell_times(delta) / fg.size
    r2o = _overall_r2(ab, K, b, delta, W)
    rsq = {"within": r2w, "between": corr2(xbar, ybar), "overall": r2o}

    tests, st = {}, {}
    if effects != "time":
        # restricted model (no firm effects): same regressors with a constant, or with year effects under twoway
        S = centred if effects == "firm" else ab.raw - ab.year_sums.T @ (ab.year_sums / tg.size[:, None])
        S = S[np.ix_(sel, sel)]
        ssr_r = float(S[0, 0] - S[0, 1:] @ np.linalg.solve(S[1:, 1:], S[1:, 0]))
        G = fg.n_groups
        if G > 1 and df_fe > 0:
            F = ((ssr_r - fit.ssr) / (G - 1)) / (fit.ssr / df_fe)
            tests["F effects"] = TestResult("F test that all u_i=0", float(F), float(stats.f.sf(F, G - 1, df_fe)),
                                            (float(G - 1), float(df_fe)), "F", "all firm effects are zero",
                                            note="classical")
        sigma_e = float(np.sqrt(fit.ssr / df_fe)) if df_fe > 0 else float("nan")
        u = ybar - xbar  # û_i up to the constant
        sigma_u = float(np.std(u, ddof=1)) if G > 1 else float("nan")
        st = {"sigma_u": sigma_u, "sigma_e": sigma_e, "rho": sigma_u**2 / (sigma_u**2 + sigma_e**2)}
    shape = {"n_entities": fg.n_groups, "t_min": int(fg.count.min()), "t_mean": float(fg.count.mean()),
             "t_max": int(fg.count.max())}
    tname = str(d.index.names[1])
    year_dummies = any(nm.startswith(f"C({tname})") for nm in fit.names)
    eff_rows = {"Firm FE": "Yes" if effects in ("firm", "twoway") else "No",
                "Year FE": "Yes" if effects in ("time", "twoway") or year_dummies else "No"}
    label = {"firm": "firm", "time": "year", "twoway": "firm and year"}[effects]
    return EstimationResult(
        model=f"Fixed effects ({label})", estimator=f"within ({label} effects absorbed)"
        + (", WLS analytic weights" if w is not None else ""),
        depvar=d.depvar, names=fit.names, coef=fit.coef, vcov=V, variance=info, nobs=n, df_resid=df,
        formula=formula, **shape, rsquared=rsq, omitted=tuple(omitted), dropped_regressors=tuple(fit.dropped),
        stats=st, effects=eff_rows, tests=tests, notes=tuple(notes),
        extra={"resid": fit.resid, "index": index, "n_absorbed": n_abs, "n_partialled": n_part, "ssr": fit.ssr,
               "df_within": df_fe},
    )
