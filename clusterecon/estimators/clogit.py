r"""Conditional (fixed-effects) logit: Chamberlain's estimator, Stata ``xtlogit, fe`` / ``clogit``.

Model: :math:`P(y_{it}=1\mid x_i, c_i) = \Lambda(x_{it}'\beta + c_i)` with a free firm effect :math:`c_i`.
Conditioning on :math:`n_i = \sum_t y_{it}` removes :math:`c_i`:

.. math:: L_i(\beta) = \frac{\exp(\sum_t y_{it} x_{it}'\beta)}{\sum_{d \in B_i}\exp(\sum_t d_t x_{it}'\beta)},
   \qquad B_i = \{d\in\{0,1\}^{T_i}: \textstyle\sum_t d_t = n_i\}.

Firms whose outcome never changes (all 0 or all 1) contribute nothing and are dropped — reported as ``Omitted`` with
their observation counts, as Stata's "multiple positive outcomes within groups" / "all negative outcomes" notes do.
Regressors constant within every firm are not identified (absorbed by :math:`c_i`) and are dropped with a reason.

The likelihood and group scores come from statsmodels ``ConditionalLogit`` (recursive denominator); this module adds
the sample accounting, a Newton polish with a central-difference Hessian (statsmodels' own is one-sided), and
Stata's variance conventions: ``vcov="oim"`` (default) :math:`-H^{-1}`; ``"robust"``/``"cluster"``: the sandwich
over firms (or coarser clusters nesting firms) times G/(G−1) (Stata ``clogit, vce(cluster)``).

Partial effects on probabilities are not identified without :math:`c_i`; use :func:`re_probit.cre_probit` for
those. Reference: Chamberlain (1980) Rev. Econ. Stud. 47:225; Wooldridge (2010) §15.8.3; Stata [R] clogit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..panel import SurveyPanel
from .binary import ConvergenceError, check_binary, cluster_codes_for, drop_collinear, extra_columns, ml_vcov
from .design import SpecificationError, build_design, panel_shape
from .results import EstimationResult, Omitted, TestResult


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
    from statsmodels.discrete.conditional_models import ConditionalLogit
    from statsmodels.tools.numdiff import approx_fprime

    if vcov not in ("oim", "classical", "robust", "cluster"):
        raise SpecificationError(f"vcov={vcov!r}: choose 'oim', 'robust' or 'cluster'")
    if vcov == "robust":
        vcov = "cluster"
    design = build_design(data, formula, extra=extra_columns(cluster, data))
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
    model = ConditionalLogit(ys, Xs, groups=gs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(method="bfgs", maxiter=maxiter, disp=False, gtol=1e-8)
    beta = np.asarray(res.params)

    def hessian(b):
        H = approx_fprime(b, model.score, centered=True)
        return (H + H.T) / 2

    converged = False
    for _ in range(20):  # Newton polish: BFGS stops at gtol; Stata's criterion is the scaled gradient
        g = model.score(beta)
        H = hessian(beta)
        step = -np.linalg.solve(H, g)
        if abs(g @ step) < 1e-12:
            converged = True
            break
        beta = beta + step
    if not converged or not np.all(np.isfinite(beta)):
        raise ConvergenceError(
            f"conditional logit did not converge ({res.mle_retvals.get('warnflag', '')}, max |coef| "
            f"{np.nanmax(np.abs(beta)):.3g}). A huge coefficient usually means a regressor predicts the within-firm "
            "changes perfectly (e.g. a dummy switching on exactly when the outcome does): inspect or drop it")
    H = hessian(beta)
    scores = None
    codes, cname = None, ""
    if vcov == "cluster":
        scores = np.vstack([model.score_grp(g, beta) for g in range(model._n_groups)])
        rows, cname = cluster_codes_for(design, vcov, cluster, keep)
        rows = rows[order]
        starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        if pd.Series(rows).groupby(gs).nunique().max() > 1:
            raise SpecificationError(f"clusters {cname!r} must nest firms for the conditional logit (its likelihood "
                                     "contributions are per firm)")
        codes = rows[starts]
    V, info = ml_vcov(H, scores, vcov, codes, cname)
    ll = float(model.loglike(beta))
    ll0 = float(model.loglike(np.zeros_like(beta)))
    lr = 2 * (ll - ll0)
    tests = {"model": TestResult("LR", lr, float(stats.chi2.sf(lr, len(beta))), len(beta), "chi2", "all slopes = 0")}
    if info.kind != "oim":
        w = float(beta @ np.linalg.solve(V, beta))
        tests["model"] = TestResult("Wald", w, float(stats.chi2.sf(w, len(beta))), len(beta), "chi2",
                                    "all slopes = 0")
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
