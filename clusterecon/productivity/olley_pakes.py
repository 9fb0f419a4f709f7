r"""Olley–Pakes (1996) with an investment proxy, optionally with the exit (selection) correction; the same
two-step estimator with a materials proxy is Levinsohn–Petrin (2003, :mod:`.levinsohn_petrin`).

Following R ``prodest`` (Rovigatti 2017; ``prodestOP``/``prodestLP``, ``finalOPLP``, ``gOPLP``):

1. First stage, OLS: :math:`y = \beta_f' f + \gamma' c + \phi(s, p) + \varepsilon` with :math:`\phi` a raw
   polynomial of order ``poly_order`` (2: levels, squares, interactions) in the state and proxy variables;
   :math:`\hat\beta_f` are the free elasticities; :math:`\hat\phi` = fitted − :math:`\hat\beta_f' f`.
2. Second stage, nonlinear least squares over the state coefficients :math:`\beta_s`: with
   :math:`\omega(\beta_s) = \hat\phi - \beta_s' s` and :math:`\omega_{t-1}(\beta_s)` the same on the lag year,
   :math:`g` is profiled out by OLS of :math:`\omega` on the law-of-motion basis (cubic with constant), and

   .. math:: \hat\beta_s = \arg\min \sum_{it} \big(y_{it} - \hat\beta_f' f_{it} - \beta_s' s_{it}
             - \hat g(\omega_{i,t-1})\big)^2 .

3. Exit correction (``exit=True`` or a 0/1 column): a probit of the exit indicator (prodest: the firm's last
   year is before the sample's last year) on the lagged first-stage polynomial gives :math:`\hat P`, and
   :math:`g` becomes a full cubic in :math:`(\omega_{t-1}, \hat P)`.

Translog (``function="translog"``): the production terms are the inputs, their squares and cross products; the
terms that contain a free input (l, l², l·k, …) are estimated in the first stage next to φ(s, p), the state-only
terms (k, k², …) in the second, and the output elasticities vary by firm-year (``elasticity_frame``; their means
in ``elasticities``). Law-of-motion shifters (``motion_controls``) enter g jointly with ω_{t−1}, as the
survival probability does.

Starting value: the first-stage coefficient of each state variable (prodest adds N(0, 0.01) noise; we start
exactly there and also from ``n_starts`` seeded perturbations, reporting any other minimum). Standard errors:
firm-cluster bootstrap (:mod:`.pf_bootstrap`), first stage included. Log TFP
:math:`\hat\omega = y - \hat\beta_f' f - \hat\beta_s' s`.

References: Olley & Pakes (1996), *Econometrica* 64:1263–97; Levinsohn & Petrin (2003), *REStud* 70:317–41;
Rovigatti (2017), *JOSS* 2(18):371; Rovigatti & Mollisi (2018), *Stata Journal* 18(3):618–62.
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
    innovation_jacobian,
    monomials,
    motion_controls,
    motion_label,
    ols,
    panel_arrays,
    poly,
    poly_elasticities,
    proxy_monotonicity,
    solve,
    start_grid,
    term_names,
)
from .pf_bootstrap import bootstrap, bootstrap_variance
from .pf_result import ControlFunctionResult, build_result, monotone_warning

_SURVIVAL = "_survival_probability"
FUNCTIONS = ("cobb-douglas", "translog")


@dataclass(frozen=True)
class OPLPSpec:
    poly_order: int = 2
    motion: str = "poly"
    motion_order: int = 3
    exit: bool = False
    start: tuple[float, ...] | None = None
    motion_controls: tuple[str, ...] = ()
    translog: bool = False


def _production_terms(a: PanelArrays, spec: OPLPSpec) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Monomials of the production function in (free, state) — linear (Cobb–Douglas) or with squares and cross
    products (translog) — and which of them contain a free input (first stage) or only states (second stage)."""
    F, S = a.free.shape[1], a.state.shape[1]
    terms = monomials(F + S, 2 if spec.translog else 1)
    has_free = np.array([any(e[:F]) for e in terms])
    return terms, has_free, ~has_free


def _stage1(a: PanelArrays, spec: OPLPSpec) -> dict:
    F, C = a.free.shape[1], a.controls.shape[1]
    terms, has_free, _ = _production_terms(a, spec)
    inp = np.column_stack([a.free, a.state])
    P = poly(inp, 2, terms)
    Pf, Ps = P[:, has_free], P[:, ~has_free]
    sp = np.column_stack([a.state, a.proxy])
    sp_terms = monomials(sp.shape[1], spec.poly_order)
    b, fitted = ols(a.y, np.column_stack([Pf, a.controls, poly(sp, spec.poly_order, sp_terms)]))
    nf = Pf.shape[1]
    bf, bc, bpoly = b[1:1 + nf], b[1 + nf:1 + nf + C], b[1 + nf + C:]
    # starting values: first-stage coefficient of each state-only production term (prodest: the state levels)
    pos = {e: j for j, e in enumerate(sp_terms)}
    start = np.array([bpoly[pos[tuple(e[F:]) + (0,) * a.proxy.shape[1]]] if tuple(e[F:]) + (0,) * a.proxy.shape[1]
                      in pos else 0.0 for e, f in zip(terms, has_free) if not f])
    return {"bf": bf, "bc": bc, "start": start, "phi": fitted - Pf @ bf, "eps": a.y - fitted,
            "res": a.y - Pf @ bf, "poly_coef": bpoly, "terms": sp_terms, "sp": sp, "Ps": Ps, "Pf": Pf,
            "prod_terms": terms, "has_free": has_free, "inp": inp}


def _assemble(s1: dict, theta: np.ndarray) -> np.ndarray:
    """Production-term coefficients in term order (free-containing from stage 1, state-only from stage 2),
    then the controls."""
    out = np.empty(len(s1["prod_terms"]))
    out[s1["has_free"]] = s1["bf"]
    out[~s1["has_free"]] = theta
    return np.r_[out, s1["bc"]]


def _stage2(a: PanelArrays, spec: OPLPSpec, s1: dict):
    rows = a.has_lag.copy()
    cols = ([a.extra[_SURVIVAL][:, None]] if spec.exit else []) + (
        [motion_controls(a, spec.motion_controls)] if spec.motion_controls else [])
    P = np.column_stack(cols) if cols else None
    if P is not None:
        rows &= np.isfinite(P).all(axis=1)
    phi_l = a.lag(s1["phi"])[rows]
    S_l = a.lag_block(s1["Ps"])[rows]
    phi, S, eps = s1["phi"][rows], s1["Ps"][rows], s1["eps"][rows]
    Pr = P[rows] if P is not None else None

    def resid(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xi, J = innovation_jacobian(phi - S @ theta, phi_l - S_l @ theta, S, S_l, spec.motion, spec.motion_order, Pr)
        return xi + eps, J

    return Moments(resid), int(rows.sum())


def _fit(a: PanelArrays, spec: OPLPSpec) -> np.ndarray:
    s1 = _stage1(a, spec)
    resid, _ = _stage2(a, spec, s1)
    start = np.asarray(spec.start, dtype=float) if spec.start is not None else s1["start"]
    sol = solve(resid, start)
    return _assemble(s1, sol.x) if sol.converged else np.full(len(s1["prod_terms"]) + len(s1["bc"]), np.nan)


def _survival(a: PanelArrays, exit_flag: np.ndarray, spec: OPLPSpec, s1: dict) -> np.ndarray:
    """prodest's exit probit: exit indicator on the lagged first-stage polynomial, fitted probabilities."""
    import statsmodels.api as sm

    lagged = a.lag_block(poly(s1["sp"], spec.poly_order, s1["terms"]))
    ok = np.isfinite(lagged).all(axis=1)
    if exit_flag[ok].min() == exit_flag[ok].max():
        raise SpecificationError("no firm exits (or all do) among firm-years with a lag: run without exit=")
    X = sm.add_constant(lagged[ok], has_constant="add")
    fit = sm.Probit(exit_flag[ok], X).fit(disp=0, maxiter=200)
    out = np.full(a.n, np.nan)
    out[ok] = fit.predict(X)
    return out


def exit_indicator(a: PanelArrays) -> np.ndarray:
    """1 in a firm's last observed year when that year is before the sample's last year (prodest's rule)."""
    last = np.r_[a.firm[1:] != a.firm[:-1], True]
    return (last & (a.year < a.year.max())).astype(float)


def control_function_two_step(data: SurveyPanel | pd.DataFrame, *, label: str, output: str,
                              free: str | Sequence[str], state: str | Sequence[str], proxy: str,
                              controls: str | Sequence[str] = (), exit: bool | str = False, poly_order: int = 2,
                              motion: str = "poly", motion_order: int = 3, lag: str = "calendar",
                              start: Sequence[float] | None = None, reps: int = 199, seed: int = 12345,
                              n_jobs: int = 1, n_starts: int = 4, motion_controls: str | Sequence[str] = (),
                              function: str = "cobb-douglas") -> ControlFunctionResult:
    """The OP/LP two-step estimator (see the module docstring); ``olley_pakes`` and ``levinsohn_petrin`` call it."""
    mc = tuple(as_list(motion_controls))
    extra = ([exit] if isinstance(exit, str) else []) + list(mc)
    a, omitted = panel_arrays(data, output=output, free=free, state=state, proxy=proxy, controls=controls,
                              extra=extra, lag=lag)
    if a.proxy.shape[1] != 1:
        raise SpecificationError(f"{label} takes exactly one proxy variable")
    if function not in FUNCTIONS:
        raise SpecificationError(f"function must be one of {FUNCTIONS}, got {function!r}")
    spec = OPLPSpec(poly_order, motion, motion_order, bool(exit), tuple(start) if start is not None else None, mc,
                    function == "translog")
    s1 = _stage1(a, spec)
    if spec.exit:
        flag = a.extra[exit] if isinstance(exit, str) else exit_indicator(a)
        a = PanelArrays(**{**a.__dict__, "extra": {**a.extra, _SURVIVAL: _survival(a, flag, spec, s1)}})
    resid, n2 = _stage2(a, spec, s1)
    if n2 <= a.state.shape[1] + motion_order + 1:
        raise SpecificationError(a.lag_shortage(label, n2).replace("the GMM stage", "the second stage"))
    s0 = np.asarray(spec.start, dtype=float) if spec.start is not None else s1["start"]
    sols = [solve(resid, s0)] + [solve(resid, s) for s in start_grid(s0, n_starts, seed)]
    main = sols[0]
    warns = []
    roots = distinct_roots(sols)
    if not main.converged:
        warns.append(f"{label}: the second stage did not converge from the first-stage starting values")
    elif len(roots) > 1:
        warns.append(f"{label}: {len(roots)} distinct minima of the second-stage criterion across "
                     f"{len(sols)} starting values; reported: the one reached from the first-stage start")
    inputs = [*a.names["free"], *a.names["state"]]
    names = term_names(inputs, s1["prod_terms"]) + list(a.names["controls"])
    coef = _assemble(s1, main.x)
    draws = bootstrap(partial(_fit, spec=spec), a, len(coef), reps=reps, seed=seed, n_jobs=n_jobs) if reps else None
    vcov = draws.cov() if draws is not None else np.full((len(coef), len(coef)), np.nan)
    if draws is not None and draws.n_failed > 0.05 * draws.reps:
        warns.append(f"{draws.n_failed} of {draws.reps} bootstrap replications failed")
    share = proxy_monotonicity(s1["poly_coef"], s1["sp"], s1["terms"], [a.state.shape[1]])
    nt = len(s1["prod_terms"])
    E, A = poly_elasticities(s1["inp"], s1["prod_terms"], coef[:nt])
    ef = pd.DataFrame(E, index=a.index, columns=inputs) if spec.translog else None
    ln_tfp = a.y - poly(s1["inp"], 2, s1["prod_terms"]) @ coef[:nt]
    variance = bootstrap_variance(draws, a.n_firms)
    return build_result(
        label=label, model=f"{label} production function ({function}, proxy {a.names['proxy'][0]})", arrays=a,
        names=names, coef=coef, vcov=vcov, variance=variance, inputs=inputs,
        rts_weights=np.r_[A.sum(axis=0), np.zeros(len(a.names["controls"]))], ln_tfp=ln_tfp, nobs=a.n,
        omitted=omitted, elasticity_frame=ef, warnings=warns + monotone_warning(share, a.names["proxy"]),
        stats_extra={"Second-stage firm-years": n2, "Criterion": main.crit},
        notes=(f"First stage: polynomial of order {poly_order} in state and proxy; law of motion: "
               f"{motion_label(motion, motion_order, mc)} {'with exit correction' if spec.exit else ''}".rstrip(),
               f"Start: first-stage state-term coefficients {np.round(s0, 4).tolist()}"),
        extra={"first_stage": s1["poly_coef"], "starts": sols, "roots": roots, "bootstrap": draws,
               "proxy_decreasing_share": share})


def olley_pakes(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str],
                state: str | Sequence[str], proxy: str, controls: str | Sequence[str] = (),
                exit: bool | str = False, **options) -> ControlFunctionResult:
    """Olley–Pakes: ``proxy`` is (log) investment. ``exit=True`` adds prodest's selection correction (or pass
    the name of a 0/1 exit column). Options: ``poly_order``, ``motion`` ("poly"/"ar1"), ``motion_order``,
    ``lag`` ("calendar"/"previous"), ``start``, ``reps``, ``seed``, ``n_jobs``, ``n_starts``."""
    return control_function_two_step(data, label="OP", output=output, free=free, state=state, proxy=proxy,
                                     controls=controls, exit=exit, **options)
