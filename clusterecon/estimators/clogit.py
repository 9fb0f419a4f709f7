r"""Conditional (fixed-effects) logit: Chamberlain's estimator, Stata ``xtlogit, fe`` / ``clogit``.

Model: :math:`P(y_{it}=1\mid x_i, c_i) = \Lambda(x_{it}'\beta + c_i)` with a free firm effect :math:`c_i`.
Conditioning on :math:`n_i = \sum_t y_{it}` removes :math:`c_i`:

.. math:: L_i(\beta) = \frac{\exp(\sum_t y_{it} x_{it}'\beta)}{\sum_{d \in B_i}\exp(\sum_t d_t x_{it}'\beta)},
   \qquad B_i = \{d\in\{0,1\}^{T_i}: \textstyle\sum_t d_t = n_i\}.

Firms whose outcome never changes (all 0 or all 1) contribute nothing and are dropped — reported as ``Omitted`` with
their observation counts, as Stata's "multiple positive outcomes within groups" / "all negative outcomes" notes do.
Regressors constant within every firm are not identified (absorbed by :math:`c_i`) and are dropped with a reason.

The denominator is the elementary symmetric polynomial of :math:`e^{x_{it}'\beta}` of order :math:`n_i`, computed by
the usual recursion (Gail, Lubin & Rubinstein 1981), here vectorised over all firms with the same T and carried
with its gradient; Newton steps with a central-difference Hessian of the analytic score. statsmodels
``ConditionalLogit`` runs the same recursion firm by firm in Python (1.7 s vs 0.06 s here at 20k firm-years,
``benchmarks/bench_binary.py``) and serves as the independent check in the tests. Stata's variance
conventions: ``vcov="oim"`` (default) :math:`-H^{-1}`; ``"robust"``/``"cluster"``: the sandwich
over firms (or coarser clusters nesting firms) times G/(G−1) (Stata ``clogit, vce(cluster)``).

Partial effects on probabilities are not identified without :math:`c_i`; use :func:`re_probit.cre_probit` for
those. Reference: Chamberlain (1980) Rev. Econ. Stud. 47:225; Wooldridge (2010) §15.8.3; Stata [R] clogit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from ._linear import cluster_columns, drop_collinear
from .binary import ConvergenceError, check_binary, cluster_codes_for, ml_vcov, newton_ascent, numeric_hessian
from .covariance import wald_zero
from .design import SpecificationError, build_design, panel_shape
from .results import EstimationResult, Omitted, TestResult


class _CondLik:
    """Per-firm conditional log-likelihood and score, vectorised over firms with the same number of years."""

    def __init__(self, y: np.ndarray, X: np.ndarray, groups: np.ndarray):
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        sizes = np.diff(np.r_[starts, len(y)])
        self.G, self.K = len(starts), X.shape[1]
        self.blocks = []
        for T in np.unique(sizes):
            which = np.flatnonzero(sizes == T)  # firm positions (in sorted order)
            idx = starts[which][:, None] + np.arange(T)[None, :]
            yb = y[idx]
            self.blocks.append((which, X[idx], yb, yb.sum(axis=1).astype(int)))

    def loglik_score(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ll = np.empty(self.G)
        sc = np.empty((self.G, self.K))
        for which, Xb, yb, n in self.blocks:
            xb = Xb @ beta  # (G_T, T)
            m = xb.max(axis=1)
            e = np.exp(xb - m[:, None])  # scaled to avoid overflow; denominator rescaled by exp(n m)
            nmax = int(n.max())
            Gt = len(which)
            f = np.zeros((nmax + 1, Gt))
            f[0] = 1.0
            g = np.zeros((nmax + 1, Gt, self.K))
            for t in range(Xb.shape[1]):
                et = e[:, t]
                # right-hand sides use the values before step t (elementary symmetric polynomial recursion)
                g[1:] = g[1:] + (g[:-1] + f[:-1, :, None] * Xb[None, :, t, :]) * et[None, :, None]
                f[1:] = f[1:] + f[:-1] * et[None, :]
            rows = np.arange(Gt)
            D, Dg = f[n, rows], g[n, rows]
            ll[which] = (yb * xb).sum(axis=1) - np.log(D) - n * m
            sc[which] = np.einsum("gt,gtk->gk", yb, Xb) - Dg / D[:, None]
        return ll, sc

    def score(self, beta: np.ndarray) -> np.ndarray:
        return self.loglik_score(beta)[1].sum(axis=0)

    def hessian(self, beta: np.ndarray) -> np.ndarray:
        return numeric_hessian(self.score, beta, rel_step=1e-6)


def _newton(lik: _CondLik, maxiter: int) -> np.ndarray:
    beta, converged, crit = newton_ascent(lambda b: lik.loglik_score(b)[0].sum(), lik.score, lik.hessian,
                                          np.zeros(lik.K), maxiter)
    if converged:
        return beta
    raise ConvergenceError(
        f"conditional logit did not converge in {maxiter} Newton iterations (scaled gradient {crit:.3g}, max |coef| "
        f"{np.abs(beta).max():.3g}). A huge coefficient usually means a regressor predicts the within-firm changes "
        "perfectly (e.g. a dummy switching on exactly when the outcome does): inspect or drop it")


def conditional_logit(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str = "oim",
                      cluster: str | None = None, maxiter: int = 200) -> EstimationResult:
    """Fixed-effects (conditional) logit with firm effects conditioned out.

    Parameters
    ----------
    data : SurveyPanel or DataFrame indexed by (firm, year).
    formula : ``"y ~ x1 + x2 + C(year)"``; a constant is removed (absorbed by the firm effects).
    vcov : ``"oim"`` (default), ``"robust"`` (= clustered by firm) or ``"cluster"`` (by ``cluster``, which must
        nest firms).

    Returns
    -------
    EstimationResult with ``omitted`` listing the observations of firms with all-0 and all-1 outcomes, the LR test
    of β = 0 and the pseudo-R² against the β = 0 conditional likelihood (Stata's).
    """
    if vcov not in ("oim", "classical", "robust", "cluster"):
        raise SpecificationError(f"vcov={vcov!r}: choose 'oim', 'robust' or 'cluster'")
    if vcov == "robust":
        vcov = "cluster"
    design = build_design(data, formula, extra=cluster_columns(data, cluster))
    y = check_binary(design.y, design.depvar)
    names = [n for n in design.names if n != "Intercept"]
    X = design.X[:, [j for j, n in enumerate(design.names) if n != "Intercept"]]
    if not names:
        raise SpecificationError(f"formula {formula!r} has no regressors besides the constant")
    firm = design.entity
    ybar = pd.Series(y).groupby(firm).transform("mean").to_numpy()
    keep = (ybar > 0) & (ybar < 1)
    omitted = list(design.omitted)
    n_all0, n_all1 = int((ybar == 0).sum()), int((ybar == 1).sum())
    f_all0, f_all1 = len(np.unique(firm[ybar == 0])), len(np.unique(firm[ybar == 1]))
    if n_all0:
        omitted.append(Omitted(f"all-0 outcome within firm ({f_all0} firms)", n_all0))
    if n_all1:
        omitted.append(Omitted(f"all-1 outcome within firm ({f_all1} firms)", n_all1))
    if not keep.any():
        raise SpecificationError(f"no firm has a change in {design.depvar!r}: the conditional logit has no data "
                                 "(every firm's outcome is constant)")
    y, X, firm = y[keep], X[keep], firm[keep]
    frame = pd.DataFrame(X, columns=names)
    within = (frame.groupby(firm).nunique() > 1).to_numpy().any(axis=0)
    dropped = [(n, "constant within every firm (absorbed by the firm effect)") for n, w in zip(names, within) if not w]
    X, names = X[:, within], [n for n, w in zip(names, within) if w]
    demeaned = X - frame.loc[:, within].groupby(firm).transform("mean").to_numpy()
    _, kept_names, collinear = drop_collinear(demeaned, names)
    dropped += [(n, "collinear with other regressors within firms (omitted)") for n in collinear]
    X = X[:, [names.index(n) for n in kept_names]]
    names = kept_names
    if not names:
        raise SpecificationError("no regressor varies within firms: nothing is identified in a fixed-effects logit")
    order = np.argsort(firm, kind="stable")
    ys, Xs, gs = y[order], X[order], firm[order]
    lik = _CondLik(ys, Xs, gs)
    beta = _newton(lik, maxiter)
    H = lik.hessian(beta)
    scores = None
    codes, cname = None, ""
    if vcov == "cluster":
        scores = lik.loglik_score(beta)[1]
        rows, cname = cluster_codes_for(design, vcov, cluster, keep)
        rows = rows[order]
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        if pd.Series(rows).groupby(gs).nunique().max() > 1:
            raise SpecificationError(f"clusters {cname!r} must nest firms for the conditional logit (its likelihood "
                                     "contributions are per firm)")
        codes = rows[starts]
    V, info = ml_vcov(H, scores, vcov, codes, cname)
    ll = float(lik.loglik_score(beta)[0].sum())
    ll0 = float(lik.loglik_score(np.zeros_like(beta))[0].sum())
    lr = 2 * (ll - ll0)
    tests = {"model": TestResult("LR", lr, float(stats.chi2.sf(lr, len(beta))), len(beta), "chi2", "all slopes = 0")}
    if info.kind != "oim":
        tests["model"] = wald_zero(beta, V, list(range(len(beta))), "all slopes = 0")
    shape = panel_shape(design.index[keep])
    return EstimationResult(
        model="Conditional (fixed-effects) logit", estimator="Conditional ML (Chamberlain)", depvar=design.depvar,
        names=names, coef=beta, vcov=V, variance=info, nobs=len(y), formula=formula,
        n_entities=shape["n_entities"], t_min=shape["t_min"], t_mean=shape["t_mean"], t_max=shape["t_max"],
        rsquared={"pseudo (McFadden)": 1 - ll / ll0}, loglik=ll, omitted=tuple(omitted),
        dropped_regressors=tuple(dropped), stats={"Log-likelihood (beta = 0)": ll0}, effects={"Firm FE": "Yes"},
        tests=tests,
        notes=("Partial effects on probabilities are not identified with fixed effects; see cre_probit.",),
        extra={"index": design.index[keep]})
