"""Within (fixed-effects) estimator: firm effects, year effects, or both (Stata ``xtreg, fe`` / ``areg`` /
``reghdfe``; linearmodels ``PanelOLS``; plm ``model="within"``; pyfixest ``feols(... | firm + year)``).

Model: y_it = x_it'β + α_i (+ λ_t) + ε_it. The effects are absorbed exactly by :mod:`.demean` (firm demeaning plus
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

Weights (``weights=`` with ``weights_type``: ``"aweight"`` analytic, ``"pweight"`` sampling — robust or cluster
variance only —, ``"fweight"`` frequency) give weighted demeaning and WLS (the areg/reghdfe convention; ``xtreg,
fe`` additionally requires weights constant within firm).

``vcov="robust"`` is HC1 (areg/reghdfe ``robust``), not Stata ``xtreg, fe vce(robust)``, which clusters by firm:
ask for ``vcov="cluster"``. HC2/HC3 are refused with absorbed effects (their leverage includes the effects).

Results: ``resid`` = e_it = y − x'b − α_i (− λ_t), ``fitted`` = y − e_it (effects included), ``predict(newdata)``
= x'b without the effects, ``estimated_effects["firm"]`` = α_i (and ``["year"]`` = λ_t under ``"twoway"``,
normalised λ = 0 in the first year, fixest's convention) with fitted = x'b + α_i + λ_t.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from .demean import Absorbed, Groups, absorb, index_groups
from .design import SpecificationError
from .linear import LinearFit, Prepared, corr2, fit_linear, linear_spec, ls_fit, prepare
from .predict import Predictor
from .results import EstimationResult, Omitted, TestResult, build_result

HINT = ("its coefficient is not identified with these effects; for time-invariant regressors such as manager "
        "schooling use hausman_taylor(...) or correlated_re(...)")
_WHAT = {"firm": "the firm effects (it does not vary within firms)",
         "time": "the year effects (it does not vary across firms within a year)",
         "twoway": "the firm and year effects (it does not vary within firms, or only with the year)"}
#: HC2/HC3 need the leverage of the absorbed effects: refused (as pyfixest does).
SUPPORTED = ("classical", "hc0", "hc1", "cluster", "driscoll-kraay")


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


def within(data: SurveyPanel | pd.DataFrame, formula: str, *, effects: str = "firm", vcov: str | None = None,
           cluster: str | Sequence[str] | None = None, dof: str = "stata", bandwidth: int | None = None,
           weights: str | None = None, weights_type: str = "aweight", collinear: str = "drop",
           singletons: str | None = None, entity: str | None = None, time: str | None = None) -> EstimationResult:
    """Fixed-effects regression of ``formula`` with ``effects`` = "firm" | "time" | "twoway" absorbed.

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame with ``entity=``/``time=``.
    formula : e.g. ``"lscrap ~ grant + grant_1 + C(year)"``; the intercept is absorbed by the effects.
    vcov, cluster, dof, bandwidth : ``"classical"`` (default), ``"hc0"``/``"hc1"`` (= ``"robust"``),
        ``"cluster"`` (by firm unless ``cluster`` names one or two variables; Stata ``xtreg, fe vce(cluster
        firm)``), ``"driscoll-kraay"``; see :func:`~clusterecon.estimators.covariance.ols_covariance` for the
        small-sample rules.
    weights, weights_type : weight column and ``"aweight"`` | ``"pweight"`` | ``"fweight"``.
    collinear : "drop" regressors collinear with the effects (named, warning, ``dropped_regressors``) or "raise".
    singletons : "keep" | "drop" | None (= "drop" for ``dof="reghdfe"``, "keep" otherwise).

    References
    ----------
    Baltagi (2021), Econometric Analysis of Panel Data, 6th ed., §2.2 and §3.2; StataCorp, [XT] xtreg.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"firm": [1, 1, 1, 2, 2, 2], "year": [1, 2, 3] * 2,
    ...                    "y": [1.0, 2.2, 2.9, 5.0, 6.1, 7.0], "x": [0.0, 1.0, 2.0, 0.5, 1.5, 2.5]})
    >>> fe = within(df, "y ~ x", entity="firm", time="year", vcov="robust")
    >>> float(round(fe.params["x"], 3)), fe.df_inference, float(round(fe.estimated_effects["firm"].loc[2], 3))
    (0.975, 3.0, 4.571)
    """
    if effects not in ("firm", "time", "twoway"):
        raise SpecificationError(f"effects must be 'firm', 'time' or 'twoway', got {effects!r}")
    if collinear not in ("drop", "raise"):
        raise SpecificationError(f"collinear must be 'drop' or 'raise', got {collinear!r}")
    if singletons not in (None, "keep", "drop"):
        raise SpecificationError(f"singletons must be 'keep' or 'drop', got {singletons!r}")
    spec = linear_spec(vcov, cluster, dof, bandwidth, weights_type=weights_type if weights else None,
                       supported=SUPPORTED, estimator=f"within (effects={effects!r})")
    prep = prepare(data, formula, spec, weights=weights, weights_type=weights_type, entity=entity, time=time)
    s = _sample(prep, effects, singletons or ("drop" if dof == "reghdfe" else "keep"))
    ab, fit, centred = _absorb_fit(s, effects, collinear)
    n_abs, n_part = (0, s["tg"].n_groups) if effects == "time" else (ab.n_absorbed, ab.n_partialled)
    n, k = len(s["y"]), len(fit.keep)
    rsq, u, delta = _rsquared(ab, fit, s, effects)
    tests, st = _effect_tests(ab, fit, centred, s, effects, n - k - n_abs - n_part, u)
    frame = prep.frame if len(s["y"]) == len(prep.design.y) else prep.frame.loc[s["keep"]]
    rec = ls_fit(prep, ab.Z[:, 1:][:, fit.keep], fit, n_absorbed=n_abs, n_partialled=n_part, supported=SUPPORTED,
                 frame=frame, weights=s["w"])
    label = {"firm": "firm", "time": "year", "twoway": "firm and year"}[effects]
    year_dummies = any(nm.startswith(f"C({prep.design.index.names[1]})") for nm in fit.names)
    n_obs = int(s["w"].sum()) if prep.weights_type == "fweight" else n
    return build_result(
        rec, spec, model=f"Fixed effects ({label})", estimator=f"within ({label} effects absorbed)"
        + (f", {prep.weights_type} {weights}" if s["w"] is not None else ""),
        depvar=prep.design.depvar, names=fit.names, coef=fit.coef, nobs=n_obs,
        df_resid=float(n_obs - k - n_abs - n_part), formula=formula, **_shape(s["fg"]), rsquared=rsq,
        omitted=tuple(s["omitted"]), dropped_regressors=tuple(fit.dropped), stats=st, tests=tests,
        effects={"Firm FE": "Yes" if effects in ("firm", "twoway") else "No",
                 "Year FE": "Yes" if effects in ("time", "twoway") or year_dummies else "No"},
        notes=tuple(s["notes"]), index=s["index"], residuals=fit.resid, fitted_values=s["y"] - fit.resid,
        predictor=Predictor(prep.design.terms, columns=fit.names),
        estimated_effects=_estimated_effects(s, fit, effects, u, delta),
        extra={"resid": fit.resid, "index": s["index"], "n_absorbed": n_abs, "n_partialled": n_part,
               "ssr": fit.ssr, "df_within": n - k - n_abs - n_part})


def _sample(prep: Prepared, effects: str, singletons: str) -> dict[str, Any]:
    """The rows used (singleton firms dropped if asked), their firm/year groups, omissions and notes."""
    d, w = prep.design, prep.weights
    cols = [j for j, nm in enumerate(d.names) if nm != "Intercept"]
    if not cols:
        raise SpecificationError(f"formula {d.formula!r} has no regressor besides the constant")
    y, X, index, keep = d.y, d.X, d.index, None
    omitted, notes = list(d.omitted), []
    fg = index_groups(index, 0, w)
    n_single = int((fg.count == 1).sum()) if effects != "time" else 0
    if n_single and singletons == "drop":
        keep = fg.count[fg.codes] != 1
        y, X, index = y[keep], X[keep], index[keep]
        w = None if w is None else w[keep]
        fg = index_groups(index, 0, w)
        omitted.append(Omitted("singleton firms (observed once; no within variation, dropped as reghdfe does)",
                               n_single))
    elif n_single:
        notes.append(f"{n_single} singleton firm(s) kept (as xtreg does); they do not affect the coefficients "
                     "but count in N and G")
    tg = index_groups(index, 1, w) if effects != "firm" else None
    return {"y": y, "X": X, "cols": cols, "index": index, "w": w, "fg": fg, "tg": tg, "keep": keep,
            "omitted": omitted, "notes": notes, "names": [d.names[j] for j in cols]}


def _absorb_fit(s: dict[str, Any], effects: str, collinear: str) -> tuple[Absorbed, LinearFit, np.ndarray]:
    """Absorb the effects from [y, X] in one pass and fit OLS on the transformed columns."""
    y, X, cols, w = s["y"], s["X"], s["cols"], s["w"]
    n, p = len(y), len(cols) + 1
    Z = np.empty((n, p), order="F")
    Z[:, 0] = y
    for j in range(p - 1):
        Z[:, j + 1] = X[:, cols[j]]
    ab = absorb(Z, s["fg"] if effects != "time" else None, s["tg"], effects, w, overwrite=True)
    del Z
    W = float(n if w is None else w.sum())
    tot = ab.year_sums.sum(axis=0) if ab.year_sums is not None else s["fg"].size @ ab.firm_means
    centred = ab.raw - np.outer(tot, tot) / W  # Σ w (z − z̄)(z − z̄)'
    fit = fit_linear(ab.Z[:, 0], ab.Z[:, 1:], s["names"], weights=w, raw_scale=np.diag(centred)[1:],
                     absorbed_what=_WHAT[effects], collinear=collinear, hint=HINT)
    return ab, fit, centred


def _share_explained(ssr: float, total: float) -> float:
    """1 − SSR/TSS; undefined (NaN, no warning) when the outcome has no within variation (TSS = 0)."""
    return float(1 - ssr / total) if total > 0 else float("nan")


def _rsquared(ab: Absorbed, fit: LinearFit, s: dict[str, Any], effects: str) -> tuple[dict, np.ndarray, Any]:
    """R² within/between/overall as xtreg reports them (from xb = x'b (+ year effects) on the untransformed
    data), the firm effects û_i = ȳ_i − x̄_i'b (− λ̄_i) and the year effects δ (twoway)."""
    K, b, fg, tg, w = fit.keep, fit.coef, s["fg"], s["tg"], s["w"]
    W = float(len(s["y"]) if w is None else w.sum())
    c = np.zeros(ab.Z.shape[1])  # y − x'b as a combination of the columns of Z
    c[0] = 1.0
    c[K + 1] = -b
    delta = None
    if effects == "time":
        S_y = ab.raw - ab.year_sums.T @ (ab.year_sums / tg.size[:, None])
        r2w = _share_explained(fit.ssr, S_y[0, 0])
        fm = fg.means(np.column_stack([s["X"][:, np.asarray(s["cols"])[K]] @ b, s["y"]]), w)
        xbar, ybar = fm[:, 0], fm[:, 1]
    else:
        r2w = _share_explained(fit.ssr, ab.ss_firm[0])
        xbar, ybar = ab.firm_means[:, K + 1] @ b, ab.firm_means[:, 0]
        delta = ab.year_effects(c) if effects == "twoway" else None
        if delta is not None:
            xbar = xbar + ab.cell_times(delta) / fg.size
    rsq = {"within": r2w, "between": corr2(xbar, ybar), "overall": _overall_r2(ab, K, b, delta, W)}
    return rsq, ybar - xbar, delta


def _effect_tests(ab: Absorbed, fit: LinearFit, centred: np.ndarray, s: dict[str, Any], effects: str,
                  df_fe: int, u: np.ndarray) -> tuple[dict[str, TestResult], dict[str, float]]:
    """Stata's "F test that all u_i=0" (classical) and σ_u, σ_e, ρ."""
    if effects == "time":
        return {}, {}
    tests = {}
    sel = np.r_[0, fit.keep + 1]
    # restricted model (no firm effects): same regressors with a constant, or with year effects under twoway
    S = centred if effects == "firm" else ab.raw - ab.year_sums.T @ (ab.year_sums / s["tg"].size[:, None])
    S = S[np.ix_(sel, sel)]
    ssr_r = float(S[0, 0] - S[0, 1:] @ np.linalg.solve(S[1:, 1:], S[1:, 0]))
    G = s["fg"].n_groups
    if G > 1 and df_fe > 0:
        with np.errstate(divide="ignore", invalid="ignore"):  # an exact fit (SSR 0): F is inf (or NaN), no crash
            F = np.float64(ssr_r - fit.ssr) / (G - 1) / (np.float64(fit.ssr) / df_fe)
        tests["F effects"] = TestResult("F test that all u_i=0", float(F), float(stats.f.sf(F, G - 1, df_fe)),
                                        (float(G - 1), float(df_fe)), "F", "all firm effects are zero",
                                        note="classical")
    sigma_e = float(np.sqrt(fit.ssr / df_fe)) if df_fe > 0 else float("nan")
    sigma_u = float(np.std(u, ddof=1)) if G > 1 else float("nan")  # û_i up to the constant
    den = sigma_u**2 + sigma_e**2  # 0 for an outcome that is exactly constant: rho is undefined, not an error
    return tests, {"sigma_u": sigma_u, "sigma_e": sigma_e, "rho": sigma_u**2 / den if den > 0 else float("nan")}


def _estimated_effects(s: dict[str, Any], fit: LinearFit, effects: str, u: np.ndarray,
                       delta: np.ndarray | None) -> dict[str, pd.Series]:
    """α_i (and λ_t, first year 0) such that fitted = x'b + α_i + λ_t; labelled by firm and year."""
    out = {}
    if effects == "time":
        xb = s["X"][:, np.asarray(s["cols"])[fit.keep]] @ fit.coef
        lam = s["tg"].means((s["y"] - xb)[:, None], s["w"])[:, 0]
        return {"year": pd.Series(lam, index=_labels(s["tg"], s["index"], 1), name="year effect")}
    alpha = u.copy()
    if delta is not None:
        alpha += delta[0]
        out["year"] = pd.Series(delta - delta[0], index=_labels(s["tg"], s["index"], 1), name="year effect")
    out = {"firm": pd.Series(alpha, index=_labels(s["fg"], s["index"], 0), name="firm effect"), **out}
    return out


def _labels(g: Groups, index: pd.MultiIndex, level: int) -> pd.Index:
    """The index values of groups 0..G−1 (cheap from a MultiIndex's levels)."""
    if isinstance(index, pd.MultiIndex):
        lv = index.levels[level]
        used = np.bincount(np.asarray(index.codes[level]), minlength=len(lv)) > 0
        if used.sum() == g.n_groups:
            return lv[used].rename(index.names[level])
    vals = np.asarray(index.get_level_values(level))
    out = np.empty(g.n_groups, dtype=vals.dtype)
    out[g.codes] = vals
    return pd.Index(out, name=index.names[level])


def _shape(fg: Groups) -> dict[str, Any]:
    return {"n_entities": fg.n_groups, "t_min": int(fg.count.min()), "t_mean": float(fg.count.mean()),
            "t_max": int(fg.count.max())}
