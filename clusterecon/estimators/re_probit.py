r"""Random-effects probit by adaptive Gauss–Hermite quadrature (Stata ``xtprobit, re``) and its Mundlak (CRE) form.

Model: :math:`y_{it} = 1[x_{it}'\beta + u_i + e_{it} > 0]`, :math:`e_{it}\sim N(0,1)`, :math:`u_i\sim
N(0,\sigma_u^2)` independent of :math:`x_i`. The likelihood of firm i,

.. math:: L_i = \int \prod_t \Phi\big(q_{it}(x_{it}'\beta + u)\big)\,\tfrac{1}{\sigma_u}\phi(u/\sigma_u)\,du,
   \qquad q_{it} = 2y_{it}-1,

is computed by adaptive Gauss–Hermite quadrature (Liu & Pierce 1994): for each firm the integrand is centred at its
mode :math:`\hat u_i` and scaled by :math:`\hat s_i = (-\partial^2 \log f/\partial u^2)^{-1/2}`, so that
:math:`L_i \approx \sqrt2\,\hat s_i\sum_k w_k e^{x_k^2} f(\hat u_i+\sqrt2\hat s_i x_k)` with ``points`` nodes
(default 12, Stata's default). Stata's ``mvaghermite`` centres on the posterior mean and sd instead; both converge
to the same MLE as ``points`` grows, and mode/curvature is the more accurate of the two at 12 points on our checks
(for publication, confirm with ``points=24`` — Stata's ``quadchk`` advice). The parameters are
:math:`(\beta, \ln\sigma_u^2)` as in Stata, with
:math:`\sigma_u = e^{\ln\sigma_u^2/2}` and :math:`\rho = \sigma_u^2/(1+\sigma_u^2)` (the share of the latent error
variance due to the firm effect) reported with delta-method SEs, and the likelihood-ratio test of :math:`\rho=0`
against the pooled probit, whose null distribution is the 50:50 mixture :math:`\bar\chi^2_{01}` (boundary).

Variance: ``vcov="oim"`` (default) the inverse of the negative numerical Hessian of the log-likelihood (scale-aware
step, :mod:`clusterecon.estimators.ml`); ``"robust"`` (HC1 on the per-firm scores) / ``"cluster"`` the sandwich over
firms (or over coarser clusters that nest firms) with factor G/(G−1), as Stata ``xtprobit, vce(robust|cluster)``.
Every fit checks its quadrature by refitting with twice the points (``quadrature_check``).

Average partial effects (``margins``) use the population-averaged probability
:math:`\Phi(x'\beta/\sqrt{1+\sigma_u^2})` averaged over the sample (Wooldridge 2010, §15.8.2).

``cre_probit`` adds the firm means :math:`\bar x_i` of the time-varying regressors (Mundlak 1978; Chamberlain 1980;
Wooldridge 2010 §15.8.2): :math:`u_i = \bar x_i'\xi + a_i`, the practical alternative to fixed effects in short
panels, where conditional (FE) logit cannot give partial effects.

No released Python library fits the RE probit by quadrature ML (statsmodels' ``BinomialBayesMixedGLM`` is
variational Bayes), hence this module. The quadrature is checked against brute-force integration
(``tests/reference/re_probit.json``).

References: Butler & Moffitt (1982) Econometrica 50:761; Liu & Pierce (1994) Biometrika 81:624; Stata [XT]
xtprobit; Wooldridge (2010) *Econometric Analysis of Cross Section and Panel Data*, 2nd ed., §15.8.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import log_ndtr, logsumexp

from ..panel import SurveyPanel
from .design import Design, SpecificationError, as_panel_frame, build_design, panel_shape
from .index_model import fit_index_model, index_margins_spec
from .linear import cluster_columns, drop_collinear
from .ml import maximize, ml_fit, ml_spec, numeric_hessian
from .predict import Predictor
from .results import EstimationResult, TestResult, add_wald_test, build_result
from .separation import check_binary, handle_separation


def _mills(z: np.ndarray) -> np.ndarray:
    """φ(z)/Φ(z), stable in the left tail."""
    return np.exp(stats.norm.logpdf(z) - log_ndtr(z))


class _REProbitLik:
    """Adaptive-quadrature log-likelihood of the RE probit on rows sorted by firm."""

    def __init__(self, y: np.ndarray, X: np.ndarray, groups: np.ndarray, points: int, adapt_iter: int = 0):
        self.adapt_iter = adapt_iter
        self.q = 2 * y - 1
        self.X = X
        self.g = groups
        self.starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        self.G = len(self.starts)
        x, w = np.polynomial.hermite.hermgauss(points)
        self.nodes, self.logw = x, np.log(w) + x ** 2
        self.mode = np.zeros(self.G)
        self.held: tuple[np.ndarray, np.ndarray] | None = None  # (mode, scale) of the current iteration

    def _sum_groups(self, a: np.ndarray) -> np.ndarray:
        return np.add.reduceat(a, self.starts, axis=0)

    def adapt(self, xb: np.ndarray, sigma2: float) -> tuple[np.ndarray, np.ndarray]:
        """Mode and curvature scale of each firm's integrand (Newton; the log integrand is concave in u)."""
        u = self.mode.copy()
        for _ in range(50):
            z = self.q * (xb + u[self.g])
            lam = _mills(z)
            g1 = self._sum_groups(self.q * lam) - u / sigma2
            g2 = -self._sum_groups(lam * (z + lam)) - 1.0 / sigma2
            step = g1 / g2
            u = u - step
            if np.max(np.abs(step)) < 1e-10:
                break
        z = self.q * (xb + u[self.g])
        lam = _mills(z)
        g2 = -self._sum_groups(lam * (z + lam)) - 1.0 / sigma2
        self.mode = u
        mu, s = u, 1.0 / np.sqrt(-g2)
        # Optionally re-centre on the posterior mean and sd (Naylor & Smith 1982; Stata's mvaghermite). Off by
        # default: on wagepan (rho ≈ 0.74, T = 8) mode/curvature at 12 points lands within 6e-4 of the exact MLE,
        # mean/sd within 8e-3 (firms with all-0 outcomes have skewed integrands).
        for _ in range(self.adapt_iter):
            post, nodes = self._posterior(xb, sigma2, mu, s)
            mu_new = (post * nodes).sum(axis=1)
            s_new = np.sqrt((post * (nodes - mu_new[:, None]) ** 2).sum(axis=1))
            done = max(np.max(np.abs(mu_new - mu)), np.max(np.abs(s_new - s))) < 1e-9
            mu, s = mu_new, s_new
            if done:
                break
        return mu, s

    def _logf(self, xb: np.ndarray, sigma2: float, mu: np.ndarray, s: np.ndarray):
        u = mu[:, None] + np.sqrt(2.0) * s[:, None] * self.nodes[None, :]  # (G, K)
        z = self.q[:, None] * (xb[:, None] + u[self.g])  # (n, K)
        logprior = -0.5 * np.log(2 * np.pi * sigma2) - u ** 2 / (2 * sigma2)
        terms = self.logw[None, :] + self._sum_groups(log_ndtr(z)) + logprior  # (G, K)
        return terms, u, z

    def _posterior(self, xb, sigma2, mu, s):
        terms, u, _ = self._logf(xb, sigma2, mu, s)
        return np.exp(terms - logsumexp(terms, axis=1, keepdims=True)), u

    def adaptation(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = self.X.shape[1]
        return self.adapt(self.X @ theta[:k], float(np.exp(theta[k])))

    def contributions(self, theta: np.ndarray, want_grad: bool = False, nodes=None):
        """Per-firm log-likelihood (G,) and, if asked, per-firm scores (G, k+1).

        ``nodes=(mu, s)`` holds the adaptive centring fixed (as Stata does within a Newton step), which makes the
        analytic scores the exact gradient of the approximated likelihood; otherwise nodes adapt to ``theta``.
        """
        k = self.X.shape[1]
        beta, lns2 = theta[:k], float(theta[k])
        sigma2 = np.exp(lns2)
        xb = self.X @ beta
        mu, s = self.adapt(xb, sigma2) if nodes is None else nodes
        terms, u, z = self._logf(xb, sigma2, mu, s)
        ll = np.log(np.sqrt(2.0) * s) + logsumexp(terms, axis=1)
        if not want_grad:
            return ll, None
        post = np.exp(terms - logsumexp(terms, axis=1, keepdims=True))  # (G, K) posterior node weights
        lam = self.q[:, None] * _mills(z)  # d log Φ / d(xb)
        wl = (lam * post[self.g]).sum(axis=1)  # (n,)
        gb = self._sum_groups(wl[:, None] * self.X)
        gs = (post * (-0.5 + u ** 2 / (2 * sigma2))).sum(axis=1)
        return ll, np.column_stack([gb, gs])

    def recentre(self, theta: np.ndarray) -> None:
        """Centre the nodes at ``theta`` and hold them there (until the next call): the Newton iteration's nodes."""
        self.held = self.adaptation(theta)

    def loglike(self, theta: np.ndarray, nodes=None) -> float:
        return float(self.contributions(theta, nodes=nodes if nodes is not None else self.held)[0].sum())

    def grad(self, theta: np.ndarray, nodes=None) -> np.ndarray:
        return self.contributions(theta, True, nodes if nodes is not None else self.held)[1].sum(axis=0)

    def hessian(self, theta: np.ndarray, nodes) -> np.ndarray:
        """Numerical Jacobian of the analytic gradient (central differences, nodes fixed), symmetrised."""
        return numeric_hessian(lambda t: self.grad(t, nodes), theta)


QUADRATURE_CHECKS = ("double", "quadchk", None)
CHECK_TOL = 1e-4


def _fit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str, cluster: Any, points: int, maxiter: int,
         separation: str, mundlak: Sequence[str] | str | None, quadrature_check: str | None,
         entity: str | None, time: str | None) -> EstimationResult:
    if points < 2:
        raise SpecificationError(f"points={points}: quadrature needs at least 2 points (Stata default 12)")
    if quadrature_check not in QUADRATURE_CHECKS:
        raise SpecificationError(f"quadrature_check={quadrature_check!r}: choose one of {QUADRATURE_CHECKS}")
    spec = ml_spec(vcov, cluster, estimator="re_probit")
    df = as_panel_frame(data, entity=entity, time=time)
    design = build_design(df, formula, extra=cluster_columns(df, spec.clusters))
    s = _sample(design, mundlak, separation)
    names, k = s["names"], s["X"].shape[1]
    order = np.argsort(s["firm"], kind="stable")
    ys, Xs, gs = s["y"][order], s["X"][order], pd.factorize(s["firm"][order])[0]
    pooled_model, b0 = fit_index_model(ys, Xs, "probit", names=names)
    ll_pooled = float(pooled_model.loglike(b0))
    theta, H, scores, ll, iters = _maximise(ys, Xs, gs, points, np.r_[b0 * np.sqrt(2.0), 0.0], maxiter)
    units = np.empty(len(ys), dtype=np.int64)
    units[order] = gs
    rec = ml_fit(design, spec, H, scores, rows=s["keep"], units=units)
    res = build_result(
        rec, spec, model="Correlated random-effects (Mundlak) probit" if mundlak is not None else
        "Random-effects probit", estimator=f"ML, adaptive Gauss-Hermite quadrature ({points} points)",
        depvar=design.depvar, names=[*names, "lnsig2u"], coef=theta, nobs=len(ys), df_resid=float(len(ys) - k - 1),
        formula=formula, **panel_shape(design.index[s["keep"]]), loglik=ll, omitted=s["omitted"],
        dropped_regressors=tuple(s["dropped"]), tests={"rho": _lr_rho(ll, ll_pooled)},
        effects={"Firm effects": "random (normal)" + (", Mundlak means" if s["means"] else "")},
        notes=tuple(s["notes"]) + (("Note: sigma_u → 0 (ln sigma_u^2 hit the lower bound): the pooled probit is "
                                    "the RE estimate; the SE of lnsig2u is not meaningful.",) if theta[k] <= LOWER
                                   else ()),
        index=design.index[s["keep"]],
        predictor=Predictor(design.terms, link="probit", kinds=("pr", "pu0"), columns=tuple(names),
                            scale="lnsig2u", means=tuple((m, m[5:-1]) for m in s["means"])),
        extra={"margins": index_margins_spec("probit", s["X"], names, scale_index=k,
                                             exclude=("Intercept", *s["means"])),
               "points": points, "mundlak_means": tuple(s["means"]), "index": design.index[s["keep"]]})
    res = _with_stats(res, k, ll_pooled, iters)
    if s["means"]:
        res = add_wald_test(res, "mundlak", [f"`{m}` = 0" for m in s["means"] if m in names],
                            name="Wald (Mundlak means)",
                            null="coefficients of all firm means = 0 (the RE probit is consistent)")
    if quadrature_check is None:
        return res
    return _check_quadrature(res, ys, Xs, gs, points, quadrature_check, maxiter)


LOWER = -30.0  # ln σ²_u at which σ_u is taken as 0 (the pooled probit)


def _maximise(y: np.ndarray, X: np.ndarray, g: np.ndarray, points: int, theta0: np.ndarray, maxiter: int) -> tuple:
    """Newton–Raphson (:func:`.ml.maximize`) with the adaptive nodes re-centred at the start of every iteration and
    held fixed within it (Stata's scheme), so each step works on a smooth function with an exact gradient; the
    convergence test is on the step and the score, and the score is evaluated again at the returned point with
    the nodes re-centred there."""
    lik = _REProbitLik(y, X, g, points)
    fit = maximize(lik.loglike, lik.grad, theta0, reset=lik.recentre, what="random-effects probit",
                   maxiter=maxiter, lower={X.shape[1]: LOWER},
                   advice="Try: more quadrature points (points=24), rescaling regressors, fewer regressors, or "
                          "checking whether sigma_u is near 0 (then the pooled probit is the answer).")
    ll, scores = lik.contributions(fit.theta, want_grad=True, nodes=lik.held)
    return fit.theta, fit.hessian, scores, float(ll.sum()), fit.iterations


def _with_stats(res: EstimationResult, k: int, ll_pooled: float, iters: int) -> EstimationResult:
    lns2, se_lns2 = float(res.coef[k]), float(np.sqrt(max(res.vcov[k, k], 0.0)))
    sigma_u, rho = float(np.exp(lns2 / 2)), float(np.exp(lns2) / (1 + np.exp(lns2)))
    return replace(res, stats={"sigma_u": sigma_u, "se(sigma_u)": sigma_u / 2 * se_lns2, "rho": rho,
                               "se(rho)": rho * (1 - rho) * se_lns2, "Log-likelihood (pooled probit)": ll_pooled,
                               "Newton iterations": iters})


def _lr_rho(ll: float, ll_pooled: float) -> TestResult:
    lr = max(2 * (ll - ll_pooled), 0.0)
    return TestResult("LR test of rho = 0", lr, float(0.5 * stats.chi2.sf(lr, 1)) if lr > 0 else 1.0, 1, "chibar2",
                      "rho = 0 (pooled probit)", note="boundary: p = 0.5·P(chi2(1) > LR), Stata's chibar2(01)")


def _check_quadrature(res: EstimationResult, y, X, g, points: int, rule: str, maxiter: int) -> EstimationResult:
    """Refit with other numbers of points — twice as many (``"double"``), or about 2n/3 and 4n/3 as Stata's
    ``quadchk`` — and warn when a coefficient or standard error moves by more than 10⁻⁴ relative (Stata's rule
    of thumb for a quadrature that does not matter)."""
    others = [2 * points] if rule == "double" else sorted({max(2, round(2 * points / 3)), round(4 * points / 3)})
    worst = 0.0
    se0 = np.sqrt(np.maximum(np.diag(-res.fit.bread), 0))  # OIM, whatever variance the result reports
    for m in others:
        th, H, *_ = _maximise(y, X, g, m, res.coef, maxiter)
        se = np.sqrt(np.maximum(np.diag(np.linalg.inv(-H)), 0))
        # relative to the value, or to its standard error for a coefficient near 0 (which no quadrature fixes)
        rel = np.r_[np.abs(th - res.coef) / np.maximum(np.abs(res.coef), se0),
                    np.abs(se - se0) / np.maximum(se0, 1e-12)]
        worst = max(worst, float(rel.max()))
    note = (f"Quadrature check ({rule}): refitted with {', '.join(map(str, others))} points; largest relative "
            f"change in a coefficient or OIM standard error {worst:.2g}")
    if worst > CHECK_TOL:
        warnings.warn(note + f" > {CHECK_TOL:g}: the {points}-point quadrature is not accurate here; raise points "
                      f"(e.g. points={2 * points})", stacklevel=4)
    return replace(res, notes=(*res.notes, note + "."), stats={**res.stats, "Quadrature check (max rel. change)":
                                                                worst})


def _sample(design: Design, mundlak: Any, separation: str) -> dict[str, Any]:
    """Mundlak means (CRE), collinear columns and perfectly predicted observations handled; rows kept."""
    y = check_binary(design.y, design.depvar)
    firm, names, X = design.entity, list(design.names), design.X
    mean_names: list[str] = []
    if mundlak is not None:
        X, names, mean_names = _add_means(X, names, firm, np.asarray(design.time), mundlak)
    X, names, collinear = drop_collinear(X, names)
    dropped = [(c, "collinear with earlier regressors (omitted)") for c in collinear]
    y, X, names, keep, omitted_sep, dropped_sep, notes = handle_separation(y, X, names, separation)
    if "Intercept" not in names:
        notes.append("Note: no constant in the model; the firm effect has mean zero.")
    return {"y": y, "X": X, "names": names, "firm": firm[keep], "keep": keep, "means": mean_names,
            "omitted": (*design.omitted, *omitted_sep), "dropped": dropped + dropped_sep, "notes": notes}


def _add_means(X: np.ndarray, names: list[str], firm: np.ndarray, time: np.ndarray,
               which: Sequence[str] | str) -> tuple[np.ndarray, list[str], list[str]]:
    """Append firm means of the chosen columns (default: those varying within firms and not functions of time
    alone, i.e. not year dummies/trends, whose means are collinear with the constant in a balanced panel)."""
    frame = pd.DataFrame(X, columns=names)
    by_firm = frame.groupby(firm)
    if which == "auto":
        varies = (by_firm.nunique() > 1).to_numpy().any(axis=0) if len(frame) else []
        time_only = (frame.groupby(time).nunique() <= 1).to_numpy().all(axis=0)
        cols = [n for n, v, t in zip(names, varies, time_only) if v and not t and n != "Intercept"]
    else:
        cols = [which] if isinstance(which, str) else list(which)
        bad = [c for c in cols if c not in names]
        if bad:
            raise SpecificationError(f"means of {bad} requested but they are not regressors; have {names}")
    if not cols:
        raise SpecificationError("no time-varying regressor to average: the Mundlak terms would be empty")
    means = by_firm[cols].transform("mean").to_numpy()
    mnames = [f"mean({c})" for c in cols]
    return np.column_stack([X, means]), [*names, *mnames], mnames


def re_probit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "oim",
              cluster: str | Sequence[str] | None = None, points: int = 12, maxiter: int = 100,
              separation: str = "drop", quadrature_check: str | None = "double", entity: str | None = None,
              time: str | None = None) -> EstimationResult:
    r"""Random-effects probit (Stata ``xtprobit y x, re intpoints(12)``).

    Parameters
    ----------
    data : SurveyPanel, (firm, year)-indexed DataFrame, or a plain DataFrame with ``entity=``/``time=``.
    formula : ``"y ~ x1 + x2 + C(year)"``, y coded 0/1.
    vcov, cluster : ``"oim"`` (default), ``"opg"``, ``"robust"`` (= ``"hc1"`` on the per-firm scores, which is the
        firm-clustered sandwich ×G/(G−1) that Stata's xt commands call robust), ``"hc0"`` or ``"cluster"`` (by
        ``cluster``, which must nest firms).
    points : quadrature points per firm (Stata ``intpoints()``, default 12).
    quadrature_check : ``"double"`` (default) refits with twice the points and warns when a coefficient or
        standard error moves by more than 1e-4 relative; ``"quadchk"`` refits with about 2n/3 and 4n/3 points as
        Stata's ``quadchk``; ``None`` skips the check. The largest change is in ``stats`` and the notes.

    Returns
    -------
    EstimationResult: β and ``lnsig2u``; ``stats`` sigma_u, rho (with delta-method SEs), the pooled log-likelihood;
    ``tests["rho"]`` the LR test of ρ = 0 (χ̄²₀₁); ``margins(result)`` gives APEs on Φ(x'β/√(1+σ²_u));
    ``predict(newdata)`` the population-averaged probability (``kind="pu0"``: at u = 0; ``"xb"``: the index).
    The maximiser stops when both the Newton step and the score g'(−H)⁻¹g are negligible (:mod:`.ml`).

    References
    ----------
    Butler and Moffitt (1982), Econometrica 50; Liu and Pierce (1994), Biometrika 81; StataCorp, [XT] xtprobit,
    [XT] quadchk; Wooldridge (2010), §15.8.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(12)
    >>> firm = np.repeat(np.arange(150), 4)
    >>> df = pd.DataFrame({"firm": firm, "year": np.tile(np.arange(4), 150), "x": rng.normal(size=600)})
    >>> df["y"] = (0.8 * df.x + rng.normal(size=150)[firm] + rng.normal(size=600) > 0).astype(int)
    >>> r = re_probit(df, "y ~ x", entity="firm", time="year")
    >>> bool(abs(r.params["x"] - 0.8) < 3 * r.std_errors["x"]), "Quadrature check (max rel. change)" in r.stats
    (True, True)
    """
    return _fit(data, formula, vcov=vcov, cluster=cluster, points=points, maxiter=maxiter, separation=separation,
                mundlak=None, quadrature_check=quadrature_check, entity=entity, time=time)


def cre_probit(data: SurveyPanel | pd.DataFrame, formula: str, *, means: Sequence[str] | str = "auto",
               vcov: str = "oim", cluster: str | Sequence[str] | None = None, points: int = 12, maxiter: int = 100,
               separation: str = "drop", quadrature_check: str | None = "double", entity: str | None = None,
               time: str | None = None) -> EstimationResult:
    r"""Correlated random-effects probit: :func:`re_probit` with the firm means of the time-varying regressors.

    ``means="auto"`` averages every regressor that varies within firms except functions of time alone (year
    dummies, trends); or name the columns. Means are over the estimation sample (Wooldridge's recommendation for
    unbalanced panels). APEs from ``margins`` vary x holding the means fixed and average over the sample
    (Wooldridge 2010, eq. 15.75); the ``mean(...)`` columns are not reported as effects. The Wald test that all
    mean coefficients are zero (the RE assumption) is in ``tests["mundlak"]`` (recomputed by ``with_vcov``).
    Other options as :func:`re_probit`.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(13)
    >>> firm = np.repeat(np.arange(150), 4)
    >>> c = rng.normal(size=150)[firm]
    >>> df = pd.DataFrame({"firm": firm, "year": np.tile(np.arange(4), 150), "x": rng.normal(size=600) + c})
    >>> df["y"] = (0.8 * df.x + c + rng.normal(size=600) > 0).astype(int)
    >>> r = cre_probit(df, "y ~ x", entity="firm", time="year", quadrature_check=None)
    >>> r.names, r.tests["mundlak"].df
    (('Intercept', 'x', 'mean(x)', 'lnsig2u'), 1)
    """
    return _fit(data, formula, vcov=vcov, cluster=cluster, points=points, maxiter=maxiter, separation=separation,
                mundlak=means, quadrature_check=quadrature_check, entity=entity, time=time)
