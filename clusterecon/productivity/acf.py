r"""Ackerberg–Caves–Frazer (2015): value added or gross output, Cobb–Douglas or translog.

Following R ``prodest`` (``prodestACF``/``finalACF``/``gACF``, Rovigatti 2017) for value added:

1. First stage, OLS of :math:`y` on a raw polynomial of order ``poly_order`` (2) in the free, state and proxy
   variables (controls linear): :math:`\hat\phi` = fitted values. No coefficient is identified here.
2. GMM: with :math:`x_{it}` the production terms (Cobb–Douglas: free, state [, proxy for gross output]
   [, controls]; translog adds their squares and cross products), :math:`\omega(\theta) = \hat\phi - x'\theta`,
   :math:`g` profiled out by OLS of :math:`\omega` on a cubic in :math:`\omega_{t-1}(\theta)`, and
   :math:`\xi = \omega - \hat g`,

   .. math:: \hat\theta = \arg\min\; (Z'\xi)' W (Z'\xi), \qquad W = (Z'Z)^{-1}/N,

   instruments :math:`Z` = the production terms with the free variables (and the proxy, for gross output)
   lagged and the states current (:math:`l_{t-1}, k_t`).

Starting values (``start=None``): the first-stage coefficients of the linear terms (and, for translog, of the
matching second-order terms) — prodest's, without its N(0, 0.01) noise. The criterion can have several roots:
the fit is also started from the OLS coefficients, from 0.5 on every input (prodest's documented example start)
and from ``n_starts`` seeded perturbations (±0.5); distinct
minima and the spread of the estimates across starts are reported in ``extra["roots"]``/``extra["start_spread"]``
and as a warning. Gross output with the materials proxy among the inputs follows Stata ``prodest`` (lagged
materials instrument materials); Gandhi, Navarro & Rivers (2020) show the flexible input is not identified by
these moments alone — see :mod:`.gnr`. Standard errors: firm-cluster bootstrap (:mod:`.pf_bootstrap`).

Reference: Ackerberg, D., K. Caves & G. Frazer (2015), *Econometrica* 83(6):2411–51.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..estimators.design import SpecificationError
from ..panel import SurveyPanel
from .control_function import (
    Moments,
    PanelArrays,
    Solution,
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
    proxy_monotonicity,
    solve,
    start_grid,
    term_names,
)
from .pf_bootstrap import bootstrap, bootstrap_variance
from .pf_result import ControlFunctionResult, build_result, monotone_warning, range_warnings

FUNCTIONS = ("cobb-douglas", "translog")


@dataclass(frozen=True)
class ACFSpec:
    poly_order: int = 2
    motion: str = "poly"
    motion_order: int = 3
    gross: bool = False
    translog: bool = False
    start: tuple[float, ...] | None = None
    motion_controls: tuple[str, ...] = ()


def _inputs(a: PanelArrays, spec: ACFSpec, lagged_free: bool) -> np.ndarray:
    """Inputs entering the production function; ``lagged_free``: free (and gross-output proxy) variables lagged."""
    def lag(m: np.ndarray) -> np.ndarray:
        return a.lag_block(m) if lagged_free else m

    cols = [lag(a.free), a.state] + ([lag(a.proxy)] if spec.gross else [])
    return np.column_stack(cols)


def _terms(k: int, spec: ACFSpec) -> list[tuple[int, ...]]:
    return monomials(k, 2 if spec.translog else 1)


def _design(a: PanelArrays, spec: ACFSpec) -> dict:
    """First stage and the stage-2 matrices (rows with a lag only)."""
    inp = _inputs(a, spec, False)
    fs_vars = np.column_stack([a.free, a.state, a.proxy])
    fs_terms = monomials(fs_vars.shape[1], spec.poly_order)
    b, phi = ols(a.y, np.column_stack([poly(fs_vars, spec.poly_order, fs_terms), a.controls]))
    terms = _terms(inp.shape[1], spec)
    lagc = a.lag_block(a.controls)
    X = np.column_stack([poly(inp, 2, terms), a.controls])
    lX = np.column_stack([poly(a.lag_block(inp), 2, terms), lagc])
    Z = np.column_stack([poly(_inputs(a, spec, True), 2, terms), lagc])
    D = motion_controls(a, spec.motion_controls)
    rows = a.has_lag & np.isfinite(lX).all(axis=1) & np.isfinite(Z).all(axis=1)
    if D is not None:
        rows &= np.isfinite(D).all(axis=1)
    # the first-stage coefficients of the production terms: prodest's starting values
    pos = {e: j for j, e in enumerate(fs_terms)}
    n_in = inp.shape[1]
    start = []
    for e in terms:  # map input monomials to first-stage monomials (proxy exponent 0, or the proxy itself)
        full = list(e[:a.free.shape[1] + a.state.shape[1]]) + [0] * a.proxy.shape[1]
        if spec.gross:
            full[a.free.shape[1] + a.state.shape[1]:] = e[a.free.shape[1] + a.state.shape[1]:n_in]
        start.append(b[1 + pos[tuple(full)]])
    start += list(b[1 + len(fs_terms):])
    return {"phi": phi, "X": X, "lX": lX, "Z": Z, "rows": rows, "D": D, "start": np.array(start), "fs_coef": b,
            "fs_terms": fs_terms, "fs_vars": fs_vars, "terms": terms, "inp": inp}


def _moments(a: PanelArrays, spec: ACFSpec, d: dict) -> tuple[Moments, int]:
    r = d["rows"]
    D = d["D"][r] if d["D"] is not None else None
    return gmm_innovation_moments("ACF", d["phi"][r], a.lag(d["phi"])[r], d["X"][r], d["lX"][r], d["Z"][r],
                                  spec.motion, spec.motion_order, D, arrays=a), int(r.sum())


class _WeightedReplication:
    """An ACF bootstrap replication from frequency weights on the full-sample rows (:mod:`.pf_bootstrap`): the
    first-stage basis, production terms, their lags and the instruments are built once; each replication refits
    the first stage by weighted normal equations, evaluates φ and its lag by index (a firm's lag row is the row
    before it, whatever the draw) and solves the GMM stage from the full-sample estimate (warm start)."""

    def __init__(self, a: PanelArrays, spec: ACFSpec, d: dict, start: np.ndarray):
        self.P = np.column_stack([np.ones(a.n), poly(d["fs_vars"], spec.poly_order, d["fs_terms"]), a.controls])
        self.y = a.y
        r = d["rows"]
        self.rows = np.flatnonzero(r)
        self.X, self.lX, self.Z = d["X"][r], d["lX"][r], d["Z"][r]
        self.D = d["D"][r] if d["D"] is not None else None
        self.spec, self.start = spec, np.asarray(start, dtype=float)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        Pw = self.P * w[:, None]
        b = np.linalg.lstsq(Pw.T @ self.P, Pw.T @ self.y, rcond=None)[0]
        phi_all = self.P @ b
        wr = w[self.rows]
        keep = wr > 0
        rows = self.rows[keep]
        phi, phi_l = phi_all[rows], phi_all[rows - 1]
        D = self.D[keep] if self.D is not None else None
        moments = gmm_innovation_moments("ACF", phi, phi_l, self.X[keep], self.lX[keep], self.Z[keep],
                                         self.spec.motion, self.spec.motion_order, D, wr[keep])
        sol = solve(moments, self.start, tol=1e-10)
        return sol.x if sol.converged else np.full(len(self.start), np.nan)


ROOTS = ("start", "plausible", "lowest")


def _input_names(a: PanelArrays, spec: ACFSpec) -> list[str]:
    return [*a.names["free"], *a.names["state"], *(a.names["proxy"] if spec.gross else ())]


def _choose(main: Solution, roots: list[Solution], rule: str, inp_names: list[str], d: dict, spec: ACFSpec,
            ) -> tuple[Solution, str]:
    """Which root to report: prodest's (reached from the stated start), the lowest criterion, or ``plausible``:
    the stated start's root when its elasticities and returns to scale pass the range checks, else the
    lowest-criterion root that does (with a warning saying so)."""
    if rule == "start" or not roots:
        return main, ""
    if rule == "lowest":
        same = np.allclose(roots[0].x, main.x, atol=1e-3)
        return roots[0], "" if same else "ACF: reporting the lowest-criterion root, not the stated start's"
    nt = len(d["terms"])

    def ok(s: Solution) -> bool:
        if not s.converged:
            return False
        E, _ = poly_elasticities(d["inp"], d["terms"], s.x[:nt])
        e = E.mean(axis=0)
        return not range_warnings(pd.Series(e, index=inp_names), float(e.sum()))

    if ok(main):
        return main, ""
    for s in roots:
        if ok(s):
            return s, (f"ACF: the root reached from the stated start {np.round(main.x, 3).tolist()} fails the range "
                       f"checks; reporting the plausible root {np.round(s.x, 3).tolist()} (criterion {s.crit:.3g})")
    return main, ""


def acf(data: SurveyPanel | pd.DataFrame, *, output: str, free: str | Sequence[str], state: str | Sequence[str],
        proxy: str, controls: str | Sequence[str] = (), value_added: bool = True, function: str = "cobb-douglas",
        poly_order: int = 2, motion: str = "poly", motion_order: int = 3, lag: str = "calendar",
        start: Sequence[float] | None = None, n_starts: int = 8, root: str = "start",
        motion_controls: str | Sequence[str] = (), reps: int = 199, seed: int = 12345, n_jobs: int = 1,
        ) -> ControlFunctionResult:
    r"""Ackerberg–Caves–Frazer production function (see the module docstring).

    ``value_added=False``: gross output, the proxy (materials) is also an input. ``function``: "cobb-douglas" or
    "translog". ``start``: starting values for θ (default: first-stage coefficients). ``root``: which root to
    report when starts disagree — "start" (prodest), "lowest" criterion, or "plausible" (see :func:`_choose`).
    ``reps=0`` skips the bootstrap. Bootstrap replications start from the reported estimate (warm start: each
    replication stays on the root being reported) and run as frequency weights on the full-sample rows.
    ``motion_controls``: variables that shift the law of motion, :math:`\omega_t = g(\omega_{t-1}, d_t) + \xi_t`
    (see :func:`~.control_function.motion_controls`)."""
    if root not in ROOTS:
        raise SpecificationError(f"root must be one of {ROOTS}, got {root!r}")
    if function not in FUNCTIONS:
        raise SpecificationError(f"function must be one of {FUNCTIONS}, got {function!r}")
    mc = tuple(as_list(motion_controls))
    a, omitted = panel_arrays(data, output=output, free=free, state=state, proxy=proxy, controls=controls, lag=lag,
                              extra=mc)
    if a.proxy.shape[1] != 1:
        raise SpecificationError("ACF takes exactly one proxy variable")
    spec = ACFSpec(poly_order, motion, motion_order, not value_added, function == "translog",
                   tuple(start) if start is not None else None, mc)
    d = _design(a, spec)
    k = d["X"].shape[1]
    if spec.start is not None and len(spec.start) != k:
        raise SpecificationError(f"start has {len(spec.start)} values; the model has {k} coefficients")
    resid, n2 = _moments(a, spec, d)
    s0 = np.asarray(spec.start, dtype=float) if spec.start is not None else d["start"]
    r = d["rows"]
    b_ols = ols(a.y[r], d["X"][r])[0][1:]
    # prodest's documented example start (man/prodestACF.Rd: theta0 = c(.5, .5, .5)) on the inputs, 0 elsewhere:
    # on its Chilean panel it reaches the exact root (criterion 0) that neither the first-stage nor the OLS start
    # finds
    half = np.array([0.5 if sum(e) == 1 else 0.0 for e in d["terms"]] + [0.0] * (k - len(d["terms"])))
    sols = [solve(resid, s0), solve(resid, b_ols), solve(resid, half)] + \
        [solve(resid, s) for s in start_grid(s0, n_starts, seed)]
    roots = distinct_roots(sols)
    main, chosen = _choose(sols[0], roots, root, inp_names := _input_names(a, spec), d, spec)
    conv = np.array([s.x for s in sols if s.converged])
    spread = conv.max(axis=0) - conv.min(axis=0) if len(conv) else np.full(k, np.nan)
    warns = []
    if not main.converged:
        warns.append("ACF: the GMM stage did not converge from the stated starting values")
    if len(roots) > 1:
        best = roots[0]
        where = "the stated start reaches the lowest criterion" if np.allclose(best.x, sols[0].x, atol=1e-3) else \
            f"the lowest criterion ({best.crit:.3g}) is at {np.round(best.x, 3).tolist()}, not at the stated start's"
        warns.append(f"ACF: {len(roots)} distinct roots across {len(sols)} starting values (largest spread of a "
                     f"coefficient {np.nanmax(spread):.3f}); {where}")
    if chosen:
        warns.append(chosen)
    names = term_names(inp_names, d["terms"]) + list(a.names["controls"])
    coef = main.x
    draws = bootstrap(_WeightedReplication(a, spec, d, main.x), a, k, reps=reps, seed=seed, n_jobs=n_jobs,
                      weights=True) if reps and main.converged else None
    vcov = draws.cov() if draws is not None else np.full((k, k), np.nan)
    if draws is not None and draws.n_failed > 0.05 * draws.reps:
        warns.append(f"{draws.n_failed} of {draws.reps} bootstrap replications failed")
    share = proxy_monotonicity(d["fs_coef"][1:1 + len(d["fs_terms"])], d["fs_vars"], d["fs_terms"],
                               [d["fs_vars"].shape[1] - 1])
    nt = len(d["terms"])
    E, A = poly_elasticities(d["inp"], d["terms"], coef[:nt])
    A = np.column_stack([A, np.zeros((A.shape[0], k - nt))])
    ef = pd.DataFrame(E, index=a.index, columns=inp_names) if spec.translog else None
    ln_tfp = a.y - d["X"][:, :nt] @ coef[:nt]
    kind = "gross output" if spec.gross else "value added"
    variance = bootstrap_variance(draws, a.n_firms, "reps=0" if not reps else "the GMM stage did not converge")
    return build_result(
        label="ACF", model=f"ACF production function ({function}, {kind}, proxy {a.names['proxy'][0]})",
        arrays=a, names=names, coef=coef, vcov=vcov, variance=variance, inputs=inp_names,
        rts_weights=A.sum(axis=0), ln_tfp=ln_tfp, nobs=a.n, omitted=omitted, elasticity_frame=ef,
        warnings=warns + monotone_warning(share, a.names["proxy"]),
        stats_extra={"GMM firm-years": n2, "Criterion": main.crit, "Distinct roots": len(roots)},
        notes=(f"First stage: polynomial of order {poly_order} in free, state and proxy; law of motion: "
               f"{motion_label(motion, motion_order, mc)}",
               f"Start: {'first-stage coefficients' if spec.start is None else 'user'} "
               f"{np.round(s0, 4).tolist()}"),
        extra={"starts": sols, "roots": roots, "start_spread": pd.Series(spread, index=names), "bootstrap": draws,
               "proxy_decreasing_share": share, "start": s0, "value_added": value_added,
               "materials_input": a.names["proxy"][0] if spec.gross else None,
               "first_stage_residual": pd.Series(a.y - d["phi"], index=a.index)})
