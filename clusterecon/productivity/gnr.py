r"""Gandhi–Navarro–Rivers (2020): gross-output production functions identified from the first-order condition of
the flexible input.

Model (logs, firm i, year t): :math:`y_{it} = f(x_{it}, m_{it}) + \omega_{it} + \varepsilon_{it}` with
predetermined inputs :math:`x` (``free`` — labour — and ``state`` — capital — both chosen before
:math:`\omega_{it}` is known, as in GNR), a flexible input :math:`m` (materials) chosen after, price-taking in
inputs and output, :math:`\omega_{it} = g(\omega_{i,t-1}) + \eta_{it}` and :math:`\varepsilon` unknown to the
firm. GNR's point: the flexible input is a function of :math:`(x_{it}, \omega_{it})`, so the ACF/LP moments carry
no information on its elasticity that is not already in :math:`x` — gross-output elasticities are not identified
by proxy moments alone (their Theorem 2). The first-order condition of :math:`m` is.

1. **Share regression.** With :math:`s_{it} = \ln(P^M M / P Y)` the log nominal share of the flexible input in
   revenue (default: ``flexible − output``, right when both are logs of nominal values deflated alike),

   .. math:: s_{it} = \ln D^{\mathcal E}(x_{it}, m_{it}) - \varepsilon_{it}, \qquad
             D^{\mathcal E} = \gamma^{\mathcal E\prime} P_r(x, m)

   a complete polynomial of order ``share_order`` (Cobb–Douglas: 0, translog: 1; GNR's application: 2), fitted by
   nonlinear least squares. :math:`\hat\varepsilon = \ln\hat D^{\mathcal E} - s`,
   :math:`\hat{\mathcal E} = \overline{e^{\hat\varepsilon}}`, and the flexible input's output elasticity is
   :math:`\hat D = \hat D^{\mathcal E}/\hat{\mathcal E}` (firm-year).
2. **Integration constant.** :math:`\int \hat D\, dm` is a polynomial of order ``share_order`` + 1 (each term of
   :math:`P_r` integrated in :math:`m`), and
   :math:`\mathcal Y_{it} = y_{it} - \hat\varepsilon_{it} - \int \hat D\, dm = -\mathcal C(x_{it}) + \omega_{it}`,
   with :math:`\mathcal C` a complete polynomial of order ``share_order`` + 1 in :math:`x` without constant (its
   coefficients :math:`\alpha`; the sign convention here is :math:`f = \int D\,dm + \mathcal C`).
3. **Productivity law of motion.** :math:`\omega(\alpha) = \mathcal Y - \mathcal C(x;\alpha)`,
   :math:`\eta = \omega - \hat g(\omega_{t-1})` with g profiled out by OLS (cubic, or AR(1), optionally shifted by
   ``motion_controls``), and GMM on :math:`E[\eta_{it}\, c_{it}] = 0` for every term :math:`c` of
   :math:`\mathcal C` (the inputs are predetermined; ``lag_free=True`` instruments the free inputs by their lags,
   ACF-style). Cobb–Douglas is just identified.

Output elasticities vary by firm-year beyond Cobb–Douglas (``elasticity_frame``; ``elasticities`` their means);
the coefficients reported are those of the monomials of :math:`f`. Standard errors: firm-cluster bootstrap of
both stages (:mod:`.pf_bootstrap`), as GNR do. TFP: :math:`y - \hat f = \hat\omega + \hat\varepsilon`.

Markups: GNR's share equation *is* the flexible input's first-order condition under price-taking, the condition
De Loecker–Warzynski invert; with :math:`\theta^M = \hat D` the sales-corrected DLW markup is :math:`1/\hat{\mathcal
E}` for every firm-year by construction (tested), so a markup path needs another variable input or an estimator
that does not impose the FOC (ACF gross output): ``result.markups`` says so in a warning.

Reference: Gandhi, A., S. Navarro & D. Rivers (2020), "On the identification of gross output production
functions", *Journal of Political Economy* 128(8):2973–3016.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from ..panel import SurveyPanel
from .control_function import (
    Moments,
    PanelArrays,
    as_list,
    distinct_roots,
    gmm_innovation_moments,
    monomials,
    motion_controls,
    motion_label,
    ols,
    panel_arrays,
    poly,
    poly_elasticities,
    solve,
    start_grid,
    term_names,
)
from .pf_bootstrap import bootstrap, bootstrap_variance
from .pf_result import ControlFunctionResult, build_result

FUNCTIONS = {"cobb-douglas": 0, "translog": 1}
_SHARE = "_gnr_log_share"


@dataclass(frozen=True)
class GNRSpec:
    share_order: int = 0
    motion: str = "poly"
    motion_order: int = 3
    lag_free: bool = False
    motion_controls: tuple[str, ...] = ()


def _with_one(terms: list[tuple[int, ...]], k: int) -> list[tuple[int, ...]]:
    return [(0,) * k, *terms]


def share_regression(s: np.ndarray, V: np.ndarray, order: int) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    r"""NLLS of the log share on :math:`\ln(\gamma' P_r(V))` (constant included); returns :math:`\hat\gamma^{\mathcal
    E}` and the exponent tuples of :math:`P_r` (the first is the constant)."""
    from scipy.optimize import least_squares

    terms = _with_one(monomials(V.shape[1], order), V.shape[1])
    P = poly(V, order, terms)
    g0 = np.zeros(P.shape[1])
    g0[0] = float(np.exp(s.mean()))

    def resid(g: np.ndarray) -> np.ndarray:
        d = P @ g
        return s - np.log(np.where(d > 0, d, np.nan))

    def jac(g: np.ndarray) -> np.ndarray:
        return -P / (P @ g)[:, None]

    if order == 0:
        return g0, terms
    r = least_squares(resid, g0, jac=jac, method="lm", xtol=1e-12, ftol=1e-12)
    if not np.all(np.isfinite(r.fun)):
        raise SpecificationError("GNR: the fitted flexible-input elasticity is not positive for every firm-year; "
                                 "lower share_order")
    return r.x, terms


def _integral_terms(terms: list[tuple[int, ...]], j: int) -> tuple[list[tuple[int, ...]], np.ndarray]:
    """Monomials of ∫P_r dv_j (exponent of v_j raised by one) and the 1/(e_j+1) factors."""
    out, fac = [], []
    for e in terms:
        e2 = list(e)
        e2[j] += 1
        out.append(tuple(e2))
        fac.append(1.0 / e2[j])
    return out, np.array(fac)


def _stages(a: PanelArrays, spec: GNRSpec) -> dict:
    V = np.column_stack([a.free, a.state, a.proxy])
    j = V.shape[1] - 1
    gamma_e, sterms = share_regression(a.extra[_SHARE], V, spec.share_order)
    DE = poly(V, spec.share_order, sterms) @ gamma_e
    eps = np.log(DE) - a.extra[_SHARE]
    E = float(np.mean(np.exp(eps)))
    iterms, fac = _integral_terms(sterms, j)
    icoef = gamma_e * fac / E
    integral = poly(V, spec.share_order + 1, iterms) @ icoef
    ycal = a.y - eps - integral
    x = np.column_stack([a.free, a.state])
    cterms = monomials(x.shape[1], spec.share_order + 1)
    X = np.column_stack([poly(x, spec.share_order + 1, cterms), a.controls])
    lX = a.lag_block(X)
    xz = np.column_stack([a.lag_block(a.free), a.state]) if spec.lag_free else x
    Z = np.column_stack([poly(xz, spec.share_order + 1, cterms), a.controls])
    D = motion_controls(a, spec.motion_controls)
    rows = a.has_lag & np.isfinite(lX).all(axis=1) & np.isfinite(Z).all(axis=1)
    if D is not None:
        rows &= np.isfinite(D).all(axis=1)
    return {"V": V, "sterms": sterms, "gamma_e": gamma_e, "E": E, "eps": eps, "D_m": DE / E, "iterms": iterms,
            "icoef": icoef, "ycal": ycal, "cterms": cterms, "X": X, "lX": lX, "Z": Z, "D": D, "rows": rows}


def _moments(a: PanelArrays, spec: GNRSpec, d: dict) -> tuple[Moments, int]:
    r = d["rows"]
    D = d["D"][r] if d["D"] is not None else None
    return gmm_innovation_moments("GNR", d["ycal"][r], a.lag(d["ycal"])[r], d["X"][r], d["lX"][r], d["Z"][r],
                                  spec.motion, spec.motion_order, D, arrays=a), int(r.sum())


def _start(a: PanelArrays, d: dict) -> np.ndarray:
    r = d["rows"]
    return ols(d["ycal"][r], d["X"][r])[0][1:]


def _fit(a: PanelArrays, spec: GNRSpec) -> np.ndarray:
    d = _stages(a, spec)
    resid, _ = _moments(a, spec, d)
    sol = solve(resid, _start(a, d))
    if not sol.converged:
        return np.full(d["X"].shape[1] + len(d["icoef"]), np.nan)
    return np.r_[sol.x, d["icoef"]]


def gnr(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str], state: str | Sequence[str],
        flexible: str, share: str | None = None, controls: str | Sequence[str] = (),
        function: str = "cobb-douglas", share_order: int | None = None, motion: str = "poly",
        motion_order: int = 3, lag: str = "calendar", lag_free: bool = False,
        motion_controls: str | Sequence[str] = (), n_starts: int = 4, reps: int = 199, seed: int = 12345,
        n_jobs: int = 1) -> ControlFunctionResult:
    """Gandhi–Navarro–Rivers gross-output production function (see the module docstring).

    ``output``: log gross output (revenue); ``flexible``: log flexible input (materials); ``share``: log nominal
    share of the flexible input in revenue (default ``flexible − output``). ``function``: "cobb-douglas"
    (``share_order`` 0) or "translog" (1); ``share_order`` overrides (GNR's application: 2). ``reps=0`` skips
    the bootstrap."""
    if function not in FUNCTIONS:
        raise SpecificationError(f"function must be one of {tuple(FUNCTIONS)}, got {function!r}")
    order = FUNCTIONS[function] if share_order is None else int(share_order)
    if order < 0:
        raise SpecificationError("share_order must be 0 or more")
    mc = tuple(as_list(motion_controls))
    a, omitted = panel_arrays(data, output=output, free=free, state=state, proxy=flexible, controls=controls,
                              lag=lag, extra=[c for c in [share, *mc] if c])
    if a.proxy.shape[1] != 1:
        raise SpecificationError("GNR takes exactly one flexible input")
    a = PanelArrays(**{**a.__dict__, "extra": {**a.extra, _SHARE: a.extra[share] if share else
                                                a.proxy[:, 0] - a.y}})
    spec = GNRSpec(order, motion, motion_order, lag_free, mc)
    d = _stages(a, spec)
    resid, n2 = _moments(a, spec, d)
    s0 = _start(a, d)
    sols = [solve(resid, s0)] + [solve(resid, s) for s in start_grid(s0, n_starts, seed)]
    main, roots = sols[0], distinct_roots(sols)
    warns = []
    if not main.converged:
        warns.append("GNR: the second stage did not converge from the OLS starting values")
    elif len(roots) > 1:
        warns.append(f"GNR: {len(roots)} distinct minima of the second-stage criterion across {len(sols)} "
                     "starting values; reported: the one reached from the OLS start")
    inputs = [*a.names["free"], *a.names["state"], *a.names["proxy"]]
    k_x = a.free.shape[1] + a.state.shape[1]
    nc = len(d["cterms"])
    # f's monomials in (free, state, flexible): C's terms (flexible exponent 0) and the integral's terms
    fterms = [(*e, 0) for e in d["cterms"]] + list(d["iterms"])
    names = term_names(inputs, fterms[:nc]) + list(a.names["controls"]) + term_names(inputs, fterms[nc:])
    coef = np.r_[main.x, d["icoef"]]
    k = len(coef)
    ncontrols = a.controls.shape[1]
    fcoef = np.r_[main.x[:nc], d["icoef"]]
    E, A = poly_elasticities(d["V"], fterms, fcoef)
    # rts weights over coef = (C terms, controls, integral terms)
    A_full = np.column_stack([A[:, :nc], np.zeros((A.shape[0], ncontrols)), A[:, nc:]])
    draws = bootstrap(partial(_fit, spec=spec), a, k, reps=reps, seed=seed, n_jobs=n_jobs) if reps else None
    vcov = draws.cov() if draws is not None else np.full((k, k), np.nan)
    if draws is not None and draws.n_failed > 0.05 * draws.reps:
        warns.append(f"{draws.n_failed} of {draws.reps} bootstrap replications failed")
    ef = pd.DataFrame(E, index=a.index, columns=inputs)
    f_hat = poly(d["V"], order + 1, fterms) @ fcoef + (a.controls @ main.x[nc:] if ncontrols else 0.0)
    variance = bootstrap_variance(draws, a.n_firms)
    fn = "Cobb-Douglas" if order == 0 else ("translog" if order == 1 else f"polynomial of order {order + 1}")
    return build_result(predictable=False,
        label="GNR", model=f"GNR production function ({fn}, gross output, flexible {a.names['proxy'][0]})",
        arrays=a, names=names, coef=coef, vcov=vcov, variance=variance, inputs=inputs, rts_weights=A_full.sum(0),
        ln_tfp=a.y - f_hat, nobs=a.n, omitted=omitted, elasticity_frame=ef if order > 0 else None, warnings=warns,
        stats_extra={"Second-stage firm-years": n2, "Criterion": main.crit, "E[exp(eps)]": d["E"]},
        notes=(f"Share regression: polynomial of order {order} in {', '.join(inputs)}; law of motion: "
               f"{motion_label(motion, motion_order, mc)}",
               f"Instruments: {'lagged free, current state' if lag_free else 'current predetermined inputs'}"),
        extra={"starts": sols, "roots": roots, "bootstrap": draws, "share_coef": d["gamma_e"] / d["E"],
               "share_terms": d["sterms"], "E": d["E"], "materials_input": a.names["proxy"][0],
               "first_stage_residual": pd.Series(d["eps"], index=a.index), "n_predetermined": k_x,
               "flexible_elasticity": pd.Series(d["D_m"], index=a.index)})
