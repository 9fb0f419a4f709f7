r"""Wooldridge (2009): OP/LP's two stages estimated jointly as one linear GMM system, with analytic standard
errors.

With :math:`c(s, p)` the raw polynomial of order ``poly_order`` in the state and proxy variables (prodest: 2) and
:math:`g(\omega_{t-1})` linear, the two equations are

.. math::
    y_{it} &= \alpha_1 + \beta_f' f_{it} + \beta_s' s_{it} + \lambda_1' \tilde c_{it} + \gamma' x_{it} + e_{it},
    \quad Z_1 = (1, f_{it}, s_{it}, \tilde c_{it}, x_{it}) \\
    y_{it} &= \alpha_2 + \beta_f' f_{it} + \beta_s' s_{it} + \lambda_2' c_{i,t-1} + \gamma' x_{it} + u_{it},
    \quad Z_2 = (1, f_{i,t-1}, s_{it}, c_{i,t-1}, x_{it})

(:math:`\tilde c` = :math:`c` without the state levels, which :math:`\beta_s` already carries; :math:`x` are
controls), sharing :math:`(\beta_f, \beta_s, \gamma)`: free inputs are instrumented by their lags in the second
equation. Stacking both equations for the firm-years with a lag, :math:`Z = \mathrm{diag}(Z_1, Z_2)`,

.. math:: \hat\theta = (X'Z W Z'X)^{-1} X'Z W Z'y .

``weighting="one-step"`` (default) uses :math:`W = (Z'Z)^{-1}` — R ``prodest``'s ``prodestWRDG`` (its second,
"optimal" weight :math:`(\hat\sigma^2 Z'Z)^{-1}` is proportional to the first, so its estimate is this one).
``"two-step"`` re-weights with :math:`\hat S^{-1}`. Variance (analytic, clustered by firm, no small-sample
factor — the GMM convention of Stata's ``gmm, vce(cluster)``):

.. math:: \hat V = (G'WG)^{-1} G'W \hat S W G (G'WG)^{-1},\quad G = Z'X,\quad
          \hat S = \sum_i \Big(\sum_t Z_{it}'\hat u_{it}\Big)\Big(\sum_t Z_{it}'\hat u_{it}\Big)',

which reduces to :math:`(G'\hat S^{-1}G)^{-1}` for two-step. Hansen's J is reported for two-step.

Reference: Wooldridge, J. M. (2009), "On estimating firm-level production functions using proxy variables to
control for unobservables", *Economics Letters* 104(3):112–114.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.design import SpecificationError
from ..estimators.results import TestResult, VarianceInfo
from ..panel import SurveyPanel
from .control_function import PanelArrays, monomials, panel_arrays, poly
from .pf_result import ControlFunctionResult, build_result

WEIGHTINGS = ("one-step", "two-step")


def system(a: PanelArrays, poly_order: int = 2) -> dict:
    """The stacked system (rows: equation 1 then equation 2 for the firm-years with a lag)."""
    S, F, C = a.state.shape[1], a.free.shape[1], a.controls.shape[1]
    sp = np.column_stack([a.state, a.proxy])
    c_all = poly(sp, poly_order, monomials(sp.shape[1], poly_order))
    c_lag, f_lag = a.lag_block(c_all), a.lag_block(a.free)
    r = a.has_lag & np.isfinite(c_lag).all(axis=1) & np.isfinite(f_lag).all(axis=1)
    n = int(r.sum())
    one = np.ones((n, 1))
    f, s, x, c_rest = a.free[r], a.state[r], a.controls[r], c_all[r][:, S:]
    k_rest, k_lag = c_rest.shape[1], c_all.shape[1]
    X1 = np.hstack([one, f, s, x, c_rest, np.zeros((n, 1 + k_lag))])
    X2 = np.hstack([one, f, s, x, np.zeros((n, k_rest)), one, c_lag[r]])
    Z1 = np.hstack([one, f, s, x, c_rest])
    Z2 = np.hstack([one, f_lag[r], s, x, c_lag[r]])
    Z = np.zeros((2 * n, Z1.shape[1] + Z2.shape[1]))
    Z[:n, :Z1.shape[1]] = Z1
    Z[n:, Z1.shape[1]:] = Z2
    return {"y": np.r_[a.y[r], a.y[r]], "X": np.vstack([X1, X2]), "Z": Z, "firm": np.r_[a.firm[r], a.firm[r]],
            "rows": r, "shared": slice(1, 1 + F + S + C), "n": n}


def gmm(y: np.ndarray, X: np.ndarray, Z: np.ndarray, firm: np.ndarray, weighting: str = "one-step",
        ) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Linear GMM with firm-clustered variance; returns θ, V and Hansen's J (two-step only)."""
    G = Z.T @ X
    W = np.linalg.inv(Z.T @ Z)

    def estimate(W: np.ndarray) -> np.ndarray:
        return np.linalg.solve(G.T @ W @ G, G.T @ W @ (Z.T @ y))

    def scores_cov(theta: np.ndarray) -> np.ndarray:
        u = y - X @ theta
        g = np.zeros((int(firm.max()) + 1, Z.shape[1]))
        np.add.at(g, firm, Z * u[:, None])
        return g.T @ g

    theta = estimate(W)
    S = scores_cov(theta)
    if weighting == "two-step":
        W = np.linalg.pinv(S)
        theta = estimate(W)
        m = Z.T @ (y - X @ theta)
        V = np.linalg.inv(G.T @ W @ G)
        return theta, V, float(m @ W @ m)
    bread = np.linalg.inv(G.T @ W @ G)
    return theta, bread @ G.T @ W @ S @ W @ G @ bread, None


def wooldridge(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str],
               state: str | Sequence[str], proxy: str | Sequence[str], controls: str | Sequence[str] = (),
               poly_order: int = 2, weighting: str = "one-step", lag: str = "calendar") -> ControlFunctionResult:
    """Wooldridge (2009) one-step system GMM production function with analytic firm-clustered SEs (see the
    module docstring)."""
    if weighting not in WEIGHTINGS:
        raise SpecificationError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    a, omitted = panel_arrays(data, output=output, free=free, state=state, proxy=proxy, controls=controls, lag=lag)
    sysm = system(a, poly_order)
    if sysm["n"] <= sysm["X"].shape[1]:
        raise SpecificationError(f"Wooldridge: only {sysm['n']} firm-years have the lag year ({lag!r} lags)")
    theta, V, J = gmm(sysm["y"], sysm["X"], sysm["Z"], sysm["firm"], weighting)
    sh = sysm["shared"]
    names = [*a.names["free"], *a.names["state"], *a.names["controls"]]
    coef, vcov = theta[sh], V[sh, sh]
    inputs = [*a.names["free"], *a.names["state"]]
    tests = {}
    notes = [f"Polynomial of order {poly_order} in state and proxy; g linear; {weighting} GMM"]
    if J is not None:
        df = sysm["Z"].shape[1] - sysm["X"].shape[1]
        tests["Hansen J"] = TestResult("Hansen J", J, float(stats.chi2.sf(J, df)), df, "chi2",
                                       "overidentifying restrictions valid")
    return build_result(
        label="Wooldridge", model=f"Wooldridge (2009) production function (Cobb-Douglas, proxy "
        f"{', '.join(a.names['proxy'])})", arrays=a, names=names, coef=coef, vcov=vcov,
        variance=VarianceInfo("cluster", ("firm",), (int(np.unique(sysm["firm"]).size),),
                              "GMM sandwich, no small-sample factor"),
        inputs=inputs, rts_weights=np.r_[np.ones(len(inputs)), np.zeros(len(a.names["controls"]))],
        ln_tfp=a.y - a.free @ coef[:a.free.shape[1]] - a.state @ coef[a.free.shape[1]:len(inputs)],
        nobs=sysm["n"], omitted=omitted, stats_extra={"System firm-years": sysm["n"]}, notes=notes,
        extra={"theta": theta, "vcov_all": V, "J": J}, tests=tests)
