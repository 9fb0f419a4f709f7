"""Heckman sample-selection model: two-step (Heckit) and full maximum likelihood, Stata ``heckman`` conventions.

Model: outcome y = x'β + ε is observed only when s = 1{z'γ + u > 0}; (ε, u) bivariate normal with Var ε = σ²,
Var u = 1, Corr(ε, u) = ρ. Then E[y | x, s = 1] = x'β + β_λ λ(z'γ), λ = φ/Φ (inverse Mills ratio), β_λ = ρσ.

Two-step (Heckman 1979; Stata ``heckman, twostep``): probit of s on z, then OLS of y on (x, λ̂) among the selected.
σ̂² = e'e/n₁ + β̂_λ² · mean(δᵢ), δᵢ = λᵢ(λᵢ + zᵢ'γ̂), ρ̂ = β̂_λ/σ̂ (truncated to [−1, 1] as Stata does). The
second-step covariance corrects for the generated regressor (Greene, *Econometric Analysis*, §19.5.2)::

    V = σ̂² (X*'X*)⁻¹ [X*'(I − ρ̂²Δ)X* + ρ̂² (X*'ΔZ) V_γ (Z'ΔX*)] (X*'X*)⁻¹,   X* = [X, λ], Δ = diag(δᵢ)

The selection equation keeps its probit (OIM) covariance; cross-equation covariances are left at zero, so joint
tests across the two equations are not available after the two-step.

Maximum likelihood (Stata ``heckman``): parameters (β, γ, atanh ρ, ln σ); log-likelihood
    s = 0: ln Φ(−z'γ);   s = 1: ln Φ((z'γ + ρ e/σ)/√(1−ρ²)) − ½ln 2π − ln σ − ½(e/σ)², e = y − x'β,
maximised from the two-step estimates with the analytic gradient. ρ, σ and λ = ρσ are reported with delta-method
SEs, as Stata prints them under the table; variance ``oim`` (default), ``robust`` or ``cluster``. The LR test of
ρ = 0 compares with the sum of the probit and the selected-sample normal regression log-likelihoods.
No released Python library fits either estimator with these SEs, so both are written here (statsmodels' Probit
and numpy/scipy underneath).

References: Heckman (1979), Econometrica 47, 153–161; Wooldridge, *Introductory Econometrics*, Example 17.5;
Stata [R] heckman, Methods and formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .covariance import wald_zero
from .design import SpecificationError, as_panel_frame, build_design, panel_shape, required_variables
from .index_model import fit_index_model
from .linear import cluster_columns
from .ml import maximize, mills, ml_fit, ml_weighted_spec, positive_weights
from .predict import Predictor
from .results import EstimationResult, Omitted, TestResult, VarianceInfo, build_result

_LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True, kw_only=True, repr=False)
class HeckmanResult(EstimationResult):
    """Heckman estimates; after ML the confidence intervals of rho and sigma are the transformed intervals of
    /athrho and /lnsigma (as Stata prints them), so they respect −1 < ρ < 1 and σ > 0."""

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        ci = super().conf_int(level)
        if "/athrho" in self.names:
            ci.loc["rho"] = np.tanh(ci.loc["/athrho"].to_numpy())
            ci.loc["sigma"] = np.exp(ci.loc["/lnsigma"].to_numpy())
        return ci


def heckman(data: SurveyPanel | pd.DataFrame, formula: str, *, select: str, method: str = "ml",
            vcov: str | None = None, cluster: str | Sequence[str] | None = None, maxiter: int = 100,
            weights: str | None = None, weights_type: str = "pweight", entity: str | None = None,
            time: str | None = None) -> EstimationResult:
    """Heckman selection model of ``formula`` with selection equation ``select``.

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame (a cross-section; ``entity=``/
        ``time=`` name panel columns if there are any)
    formula : outcome equation, e.g. ``"lwage ~ educ + exper + expersq"``; its dependent variable may be missing
        where the selection indicator is 0.
    select : selection equation, ``"s ~ z1 + z2"`` with s coded 0/1 (or True/False), or ``"~ z1 + z2"`` with
        selection = the outcome is non-missing (Stata ``select(varlist)``).
    method : ``"ml"`` (default, Stata ``heckman``) or ``"twostep"`` (Stata ``heckman, twostep``).
    vcov : ``"oim"`` (default), ``"opg"``, ``"robust"`` (= ``"hc1"``), ``"hc0"`` or ``"cluster"`` (ML only; the
        two-step uses the Heckman–Greene formula and refuses the others).
    weights, weights_type : sampling weights (``"pweight"``, Stata ``heckman ... [pw=w]``; ML only): maximises
        Σ wᵢℓᵢ with the robust variance (cluster if ``cluster`` is named); zero weights are omitted and counted;
        the LR test of ρ = 0 becomes a Wald test of atanh ρ = 0, as Stata reports it.

    Returns
    -------
    EstimationResult with terms ``<depvar>:<x>`` (outcome), ``select:<z>`` and, for ML, ``/athrho``,
    ``/lnsigma`` then ``rho``, ``sigma``, ``lambda``; for the two-step, ``lambda`` (β_λ) with ρ and σ in ``stats``.
    Normal inference, as Stata. ``predict(newdata)`` is the outcome equation's x'β (Stata ``predict, xb``);
    ML standard errors come from a scale-aware numerical Hessian of the analytic score (:mod:`.ml`), within
    1e-8 of the exact ones.

    References
    ----------
    Heckman (1979), Econometrica 47(1); Wooldridge (2020), *Introductory Econometrics*, Example 17.5; StataCorp,
    [R] heckman.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(5)
    >>> n = 600
    >>> df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    >>> u = rng.normal(size=n)
    >>> df["s"] = (0.3 + df.x + df.z + u > 0).astype(int)
    >>> df["y"] = np.where(df.s == 1, 1 + 0.5 * df.x + 0.5 * u + rng.normal(size=n) * 0.8, np.nan)
    >>> r = heckman(df, "y ~ x", select="s ~ x + z")
    >>> r.stats["Selected"] == int(df.s.sum()), float(round(r.params["y:x"], 1))
    (True, 0.5)
    """
    if method not in ("ml", "twostep"):
        raise SpecificationError(f"method={method!r}: use 'ml' or 'twostep'")
    if method == "twostep" and weights is not None:
        raise SpecificationError("sampling weights need method='ml' (the two-step covariance has no weighted form "
                                 "here)")
    spec, wnotes = ml_weighted_spec(vcov, cluster, weights=weights, weights_type=weights_type, estimator="heckman")
    if method == "twostep" and spec.kind != "oim":
        raise SpecificationError("the two-step estimator has its own corrected covariance (Heckman 1979/Greene); "
                                 "robust or clustered SEs need method='ml'")
    df = as_panel_frame(data, entity=entity, time=time, cross_section=True)
    prep = _prepare(df, formula, select, extra=[*cluster_columns(df, spec.clusters), *([weights] if weights else [])])
    dy, dz, s = prep["outcome"], prep["selection"], prep["s"]
    if method == "twostep":
        return _twostep(dy, dz, s, prep)
    dy, w, keep = positive_weights(dy, weights)
    if keep is not None:
        dz, s = replace(dz, y=dz.y[keep], X=dz.X[keep], index=dz.index[keep], extra=dz.extra.loc[keep]), s[keep]
        prep = {**prep, "omitted": (*prep["omitted"], dy.omitted[-1])}
    return _ml(dy, dz, s, {**prep, "w": w, "weights": weights, "notes": tuple(wnotes)}, spec, maxiter)


# --------------------------------------------------------------------------------------------- data
def _prepare(data: SurveyPanel | pd.DataFrame, formula: str, select: str, *, extra: list[str]) -> dict:
    df = as_panel_frame(data)
    if "~" not in formula or "~" not in select:
        raise SpecificationError("both the outcome formula and select= need a '~' (select may be '~ z1 + z2')")
    depvar = formula.split("~", 1)[0].strip()
    slhs, srhs = (p.strip() for p in select.split("~", 1))
    if depvar not in df.columns:
        raise SpecificationError(f"outcome column {depvar!r} not found; heckman needs a plain column as the outcome")
    work = df.copy()
    omitted: list[Omitted] = []
    if slhs:
        if slhs not in work.columns:
            raise SpecificationError(f"selection indicator {slhs!r} not found")
        sv = pd.to_numeric(work[slhs].astype("Float64"), errors="coerce")
        vals = set(np.unique(sv.dropna().to_numpy()).tolist())
        if not vals <= {0.0, 1.0}:
            raise SpecificationError(f"selection indicator {slhs!r} must be 0/1; found values {sorted(vals)[:10]}")
        miss = sv.isna()
        if miss.any():
            omitted.append(Omitted(f"missing {slhs}", int(miss.sum())))
            work = work.loc[~miss]
            sv = sv.loc[~miss]
        sel = sv.to_numpy(dtype=float) == 1.0
        ymiss = work[depvar].isna().to_numpy() & sel
        if ymiss.any():
            omitted.append(Omitted(f"missing {depvar} although {slhs} = 1", int(ymiss.sum())))
            work, sel = work.loc[~ymiss], sel[~ymiss]
        sname = slhs
    else:
        sel = work[depvar].notna().to_numpy()
        sname = "select"
    if sel.all() or not sel.any():
        raise SpecificationError(f"the selection indicator is {'all 1' if sel.all() else 'all 0'}: nothing to "
                                 "correct for (or nothing observed); check select=")
    # The outcome is unobserved where s = 0: a placeholder keeps those rows through listwise deletion (it never
    # enters any likelihood term). 1.0 keeps transformations such as np.log(y) finite.
    work = work.assign(**{depvar: np.where(sel, work[depvar].astype("float64"), 1.0), "_s_": sel.astype(float)})
    xvars = [v for v in required_variables(formula) if v in work.columns and v != depvar]
    zvars = [v for v in required_variables("_s_ ~ " + srhs) if v in work.columns and v != "_s_"]
    dy = build_design(work, formula, extra=[*dict.fromkeys([*zvars, "_s_", *extra])])
    dz = build_design(work, "_s_ ~ " + srhs, extra=[*dict.fromkeys([*xvars, depvar, *extra])])
    if len(dy.y) != len(dz.y):  # pragma: no cover - both deletions run over the same union of columns
        raise SpecificationError("outcome and selection samples differ after listwise deletion")
    return {"outcome": dy, "selection": dz, "s": dz.y == 1.0, "omitted": (*omitted, *dy.omitted),
            "sname": sname, "depvar": dy.depvar}


def _names(prep: dict) -> tuple[list[str], list[str]]:
    return ([f"{prep['depvar']}:{n}" for n in prep["outcome"].names],
            [f"select:{n}" for n in prep["selection"].names])


def _probit(Z: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """First-step probit (statsmodels, on unit-scaled columns: :func:`.index_model.fit_index_model`), with its OIM
    covariance and log-likelihood."""
    from .errors import ConvergenceError

    try:
        model, gamma = fit_index_model(s.astype(float), Z, "probit")
    except ConvergenceError as exc:
        raise SpecificationError("the selection probit did not converge; check the selection regressors for "
                                 "perfect prediction of the selection indicator") from exc
    return gamma, np.linalg.inv(-model.hessian(gamma)), float(model.loglike(gamma))


def _header(prep: dict, s: np.ndarray) -> dict:
    return {"Selected": int(s.sum()), "Not selected": int((~s).sum())}


# --------------------------------------------------------------------------------------------- two-step
def _twostep_parts(X: np.ndarray, y: np.ndarray, Z: np.ndarray, s: np.ndarray) -> dict:
    gamma, Vg, llp = _probit(Z, s)
    zg = Z[s] @ gamma
    lam = mills(zg)
    Xs = np.column_stack([X[s], lam])
    A = np.linalg.inv(Xs.T @ Xs)
    b = A @ Xs.T @ y[s]
    e = y[s] - Xs @ b
    delta = lam * (lam + zg)
    bl = b[-1]
    n1 = int(s.sum())
    sigma = float(np.sqrt(e @ e / n1 + bl**2 * delta.mean()))
    rho = bl / sigma
    if abs(rho) > 1:  # Stata truncates ρ̂ to ±1 and sets β_λ = σρ̂ for the covariance
        rho = float(np.sign(rho))
    XD = Xs * delta[:, None]
    Q = rho**2 * (XD.T @ Z[s]) @ Vg @ (Z[s].T @ XD)
    V = sigma**2 * A @ (Xs.T @ Xs - rho**2 * (Xs.T @ XD) + Q) @ A
    return {"gamma": gamma, "Vg": Vg, "llp": llp, "b": b, "V": (V + V.T) / 2, "sigma": sigma, "rho": rho}


def _twostep(dy, dz, s, prep) -> EstimationResult:
    p = _twostep_parts(dy.X, dy.y, dz.X, s)
    ky, kz = dy.X.shape[1], dz.X.shape[1]
    on, sn = _names(prep)
    coef = np.r_[p["b"][:-1], p["gamma"], p["b"][-1]]
    V = np.zeros((ky + kz + 1,) * 2)
    out_idx = np.r_[np.arange(ky), ky + kz]
    V[np.ix_(out_idx, out_idx)] = p["V"]
    V[ky:ky + kz, ky:ky + kz] = p["Vg"]
    tests = {"wald": wald_zero(coef, V, [i for i, n in enumerate(on) if not n.endswith(":Intercept")],
                           "outcome slopes are zero")}
    return HeckmanResult(
        model="Heckman selection model (two-step)", estimator="Heckman two-step", depvar=prep["depvar"],
        names=(*on, *sn, "lambda"), coef=coef, vcov=V,
        variance=VarianceInfo("classical", dof_rule="Heckman (1979)/Greene two-step correction; selection: "
                                                    "probit OIM"),
        nobs=len(s), formula=dy.formula, omitted=prep["omitted"], **panel_shape(dy.index),
        stats={**_header(prep, s), "rho": p["rho"], "sigma": p["sigma"]}, tests=tests,
        notes=("lambda = rho*sigma is the coefficient on the inverse Mills ratio; cross-equation covariances are "
               "not estimated by the two-step (set to 0).",),
        extra={"method": "twostep", "selection_loglik": p["llp"]})


# --------------------------------------------------------------------------------------------- ML
class _HeckLik:
    """Per-observation log-likelihood and scores in θ = (β, γ, atanh ρ, ln σ)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, Z: np.ndarray, s: np.ndarray, w: np.ndarray | None = None):
        self.ky, self.kz, self.n, self.s, self.w = X.shape[1], Z.shape[1], len(s), s, w
        self.Xs, self.ys, self.Zs, self.Zn = X[s], y[s], Z[s], Z[~s]

    def obs(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from scipy.special import log_ndtr

        ky, kz, s = self.ky, self.kz, self.s
        beta, gamma, a, ls = t[:ky], t[ky:ky + kz], t[-2], t[-1]
        rho, sig = np.tanh(a), np.exp(ls)
        root = np.sqrt(1 - rho**2)
        ll, sc = np.empty(self.n), np.zeros((self.n, t.size))
        zg = self.Zn @ gamma
        ll[~s] = log_ndtr(-zg)
        sc[~s, ky:ky + kz] = -mills(-zg)[:, None] * self.Zn
        zgs = self.Zs @ gamma
        u = (self.ys - self.Xs @ beta) / sig
        r = (zgs + rho * u) / root
        m = mills(r)
        ll[s] = log_ndtr(r) - 0.5 * _LOG2PI - ls - 0.5 * u * u
        sc[s, :ky] = ((u - m * rho / root) / sig)[:, None] * self.Xs
        sc[s, ky:ky + kz] = (m / root)[:, None] * self.Zs
        sc[s, -2] = m * (u + rho * zgs) / root
        sc[s, -1] = u * u - 1 - m * rho * u / root
        return ll, sc

    def weighted(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """wᵢℓᵢ and wᵢsᵢ (the plain contributions without sampling weights)."""
        ll, sc = self.obs(t)
        return (ll, sc) if self.w is None else (self.w * ll, self.w[:, None] * sc)

    def loglik(self, t: np.ndarray) -> float:
        return float(self.weighted(t)[0].sum())

    def grad(self, t: np.ndarray) -> np.ndarray:
        return self.weighted(t)[1].sum(0)


def _ml(dy, dz, s, prep, spec, maxiter: int) -> EstimationResult:
    X, y, Z = dy.X, dy.y, dz.X
    w = prep.get("w")
    lik = _HeckLik(X, y, Z, s, w)
    p2 = _twostep_parts(X, y, Z, s)  # unweighted: starting values only
    rho0 = float(np.clip(p2["rho"], -0.9, 0.9))
    theta0 = np.r_[p2["b"][:-1], p2["gamma"], np.arctanh(rho0), np.log(p2["sigma"])]
    fit = maximize(lik.loglik, lik.grad, theta0, what="Heckman ML", maxiter=maxiter, bfgs_first=True)
    theta = fit.theta
    ll, scores = lik.weighted(theta)
    rho, sig = float(np.tanh(theta[-2])), float(np.exp(theta[-1]))
    # Ancillary rows (Stata prints them under the table): ρ, σ, λ = ρσ by the delta method.
    k = theta.size
    G = np.zeros((3, k))
    G[0, -2] = 1 - rho**2
    G[1, -1] = sig
    G[2, -2], G[2, -1] = (1 - rho**2) * sig, rho * sig
    rec = ml_fit(dy, spec, fit.hessian, scores, jacobian=np.vstack([np.eye(k), G]))
    on, sn = _names(prep)
    tests = _rho_lr(lik, ll, p2["llp"])
    xb = X @ theta[:X.shape[1]]
    res = build_result(
        rec, spec, cls=HeckmanResult, wald_terms=[i for i, nm in enumerate(on) if not nm.endswith(":Intercept")],
        wald_null="outcome slopes are zero", model="Heckman selection model (maximum likelihood)",
        estimator="maximum likelihood" + (f", sampling weights {prep['weights']}" if w is not None else ""),
        depvar=prep["depvar"],
        names=(*on, *sn, "/athrho", "/lnsigma", "rho", "sigma", "lambda"), coef=np.r_[theta, rho, sig, rho * sig],
        nobs=len(s), df_resid=float(len(s) - k), n_params=k, formula=dy.formula, loglik=float(ll.sum()),
        omitted=prep["omitted"], **panel_shape(dy.index),
        stats={**_header(prep, s), "rho": rho, "sigma": sig, "lambda": rho * sig},
        tests=tests,
        notes=(*prep.get("notes", ()),
               "Estimated parameters: equations, /athrho = atanh(rho), /lnsigma = ln(sigma); rho, sigma and "
               f"lambda = rho*sigma are transformations (delta method). ML converged in {fit.iterations} "
               "iterations.",),
        index=dy.index, fitted_values=xb, predictor=Predictor(dy.terms, columns=tuple(dy.names)),
        extra={"method": "ml", "iterations": fit.iterations, "start": "two-step estimates",
               "weights": prep.get("weights")})
    return res if w is None else _rho_wald(res, k - 2)


def _rho_wald(res: EstimationResult, j: int) -> EstimationResult:
    """Wald test of atanh ρ = 0 (coefficient ``j``) under the result's variance (Stata's test with pweights)."""
    from scipy import stats

    z2 = float((res.coef[j] / res.std_errors.iloc[j]) ** 2)
    test = TestResult("Wald", z2, float(stats.chi2.sf(z2, 1)), 1, "chi2", "rho = 0 (independent equations)")
    return replace(res, tests={**res.tests, "wald_rho": test})


def _rho_lr(lik: _HeckLik, ll: np.ndarray, llp: float) -> dict[str, TestResult]:
    """LR test of independent equations (ρ = 0) against probit + normal regression on the selected sample; none
    with sampling weights (no likelihood-ratio theory: :func:`_rho_wald` instead, as Stata reports)."""
    from scipy import stats

    if lik.w is not None:
        return {}
    e = lik.ys - lik.Xs @ np.linalg.lstsq(lik.Xs, lik.ys, rcond=None)[0]
    n1 = len(lik.ys)
    ll_ols = -0.5 * n1 * (_LOG2PI + np.log(e @ e / n1) + 1)
    lr = max(0.0, 2 * (float(ll.sum()) - (llp + ll_ols)))
    return {"lr_rho": TestResult("LR", lr, float(stats.chi2.sf(lr, 1)), 1, "chi2", "rho = 0 (independent "
                                 "equations)")}


__all__ = ["heckman", "HeckmanResult"]
