"""Specification tests of difference and system GMM, as xtabond2 reports them (Roodman 2009, §2.3–2.4, 3.5).

* Arellano–Bond AR(m) z on the differenced residuals (also after orthogonal deviations), with the variance of
  Arellano and Bond (1991, eq. 8) in Roodman's form: for lagged residuals w and residuals ê on the test rows,
  z = w'ê / √(ψ − 2w'X·A⁻¹X'ZW·φ + w'X V X'w), where ψ = Σ_g (Σ_{rows in g} w·ê)² and φ = Σ_g Uᵍ'(Σ w·ê) for
  robust and two-step fits, and ψ = σ̂²w'Hw, φ = σ̂²Z'Hw (H the covariance of the transformed errors under iid
  unit-variance errors) for one-step classical fits; V is the variance before any small-sample factor.
* Sargan = ê₁'ZW₁Z'ê₁/σ̂² with xtabond2's σ̂² = Σê²/(2N) (not robust, not weakened by many instruments) and
  Hansen J = ê₂'ZŜ⁻¹Z'ê₂ (robust, weakened by many instruments), both χ²(L − K).
* Difference-in-Hansen for each instrument group: J minus the J of the two-step fit without the group, weighted by
  the matching block of Ŝ (Roodman 2009, fn. 24), χ²(columns of the group).

The row-level work (lagged residuals, H products) is done once at the fit in :func:`ar_pieces`; everything after
works on firm sums, so ``with_vcov`` recomputes the tests for another variance or other clusters without a refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .gmm_estimation import GMMFit, Moments, StepNotIdentified, by_cluster, cross, gmm_variance, inv_psd, solve_step
from .gmm_instruments import transform_adjoint
from .gmm_sample import GMMProblem
from .results import TestResult, psd_rank

__all__ = ["ARPiece", "ar_pieces", "spec_tests"]


@dataclass(frozen=True, eq=False)
class ARPiece:
    """The firm-level ingredients of the AR(``order``) test of one fit: w'ê (``num``), X'w on the test rows
    (``wX``), per-firm Σ w·ê (``c``) and, for one-step fits, w'Hw and Z'Hw."""

    order: int
    num: float
    wX: np.ndarray
    c: np.ndarray
    wHw: float = float("nan")
    ZHw: np.ndarray | None = None
    computable: bool = True


def _h_times(pb: GMMProblem, w: np.ndarray) -> tuple[np.ndarray, float]:
    """(Cov(ε⁺, Δε)·w over the stacked rows, w'Var(Δε)w) under iid unit-variance errors, for lagged differenced
    residuals w on the test rows: xtabond2's σ̂²H (first differences) or M⁺⊥M_Δ' (orthogonal deviations)."""
    rows = pb.rows
    if pb.transform == "fd":
        if pb.h == 1:
            return np.concatenate([w, np.zeros(rows.n_l)]), float(w @ w)
        Pw = pb.P @ w
        lev = Pw[rows.cell_l] if pb.h == 3 else np.zeros(rows.n_l)
        return np.concatenate([pb.P.T @ Pw, lev]), float(Pw @ Pw)
    Pfd = transform_adjoint(rows, "fd", pb.avail, cells=pb.test_cells)
    v = Pfd @ w
    return np.concatenate([pb.P.T @ v, v[rows.cell_l]]), float(v @ v)


def ar_pieces(pb: GMMProblem, b: np.ndarray, orders: int, one_step: bool) -> tuple[ARPiece, ...]:
    """Ingredients of AR(1) … AR(``orders``) for coefficients ``b`` (the H products only for one-step fits)."""
    T, N = pb.rows.T, pb.rows.N
    cells = pb.test_cells
    e = pb.test_y - pb.test_X @ b
    flat = np.full(N * T, np.nan)
    flat[cells] = e
    firm, per = cells // T, cells % T
    out = []
    for m in range(1, orders + 1):
        lagged = np.full(len(cells), np.nan)
        ok = per >= m
        lagged[ok] = flat[cells[ok] - m]
        both = np.isfinite(lagged)
        w = np.where(both, lagged, 0.0)
        c = np.bincount(firm, weights=w * e, minlength=N)
        hw = _h_times(pb, w) if one_step else (None, float("nan"))
        out.append(ARPiece(m, float(w @ e), pb.test_X.T @ w, c, hw[1],
                           None if hw[0] is None else np.asarray(pb.inst.Z.T @ hw[0]).ravel(), bool(both.any())))
    return tuple(out)


def _ar_test(p: ARPiece, m: Moments, V: np.ndarray, robust: bool, codes: np.ndarray | None, Uc: Any,
             ) -> TestResult:
    name = f"AR({p.order})"
    if robust:
        cc = by_cluster(p.c, codes)
        psi, phi = float(cc @ cc), np.asarray(Uc.T @ cc).ravel()
    else:
        psi, phi = m.sigma2 * p.wHw, m.sigma2 * p.ZHw
    var = psi - 2.0 * float(p.wX @ (m.step.projector(m.ZX) @ phi)) + float(p.wX @ V @ p.wX)
    null = f"no autocorrelation of order {p.order} in differenced errors"
    if not p.computable or var <= 0:
        return TestResult(f"Arellano-Bond {name}", float("nan"), float("nan"), 1, "normal", null,
                          note="not computable: no firm has residuals that far apart")
    z = p.num / np.sqrt(var)
    return TestResult(f"Arellano-Bond {name}", z, float(2 * stats.norm.sf(abs(z))), 1, "normal", null)


def chi2_test(name: str, stat: float, df: int, null: str, note: str = "") -> TestResult:
    p = float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")
    return TestResult(name, float(stat), p, df, "chi2", null, note)


def diff_hansen(m: Moments, S: np.ndarray, J: float) -> tuple[tuple[str, TestResult, TestResult], ...]:
    """For each instrument group: Hansen J of the two-step fit without it (weighted by the matching block of Ŝ,
    as xtabond2) and the difference J − J_excl, χ²(#group)."""
    ZX, Zy = m.ZX, m.Zy
    K, L = ZX.shape[1], ZX.shape[0]
    out = []
    for label, cols in m.groups.items():
        if label.startswith("iv(_cons"):
            continue
        rest = np.setdiff1d(np.arange(L), cols)
        if len(rest) < K or len(cols) == 0:
            continue
        Wr = inv_psd(S[np.ix_(rest, rest)], f"Ŝ without {label}")
        ZXr = ZX[rest]
        A = ZXr.T @ Wr @ ZXr
        if psd_rank((A + A.T) / 2) < K:  # the fit without the group is not identified: no test (solve gives noise)
            continue
        b = np.linalg.solve(A, ZXr.T @ Wr @ Zy[rest])
        Ze = Zy[rest] - ZXr @ b
        Jr = float(Ze @ Wr @ Ze)
        excl = chi2_test("Hansen excluding group", Jr, len(rest) - K, f"instruments other than {label} valid")
        diff = chi2_test("Difference-in-Hansen", J - Jr, L - len(rest), f"{label} exogenous")
        out.append((label, excl, diff))
    return tuple(out)


def spec_tests(fit: GMMFit, kind: str, codes: np.ndarray | None,
               ) -> tuple[dict[str, TestResult], tuple[tuple[str, TestResult, TestResult], ...]]:
    """AR(m), Sargan and Hansen tests (by key) and the difference-in-Hansen tests of ``fit`` under the variance
    ``kind`` with clusters ``codes`` (a two-step fit uses the clusters of its weights)."""
    m = fit.moments
    if m.steps == 1:
        S = cross(by_cluster(m.U1, codes))
        try:
            s2 = solve_step(m.ZX, m.Zy, inv_psd(S, "Ŝ"))
        except StepNotIdentified:
            s2 = None  # the two-step weights identify too few moments: no Hansen J (below)
    else:
        codes, S, s2 = m.weight_codes, m.S, m.step
    V = gmm_variance(fit, kind, codes)
    robust = kind == "cluster" or m.steps == 2
    Uc = by_cluster(m.U, codes) if robust else None
    tests = {f"AR({p.order})": _ar_test(p, m, V, robust, codes, Uc) for p in m.ar}
    overid = m.ZX.shape[0] - m.K
    tests["Sargan"] = chi2_test("Sargan", m.sargan, overid, "overidentifying restrictions valid",
                                "not robust, not weakened by many instruments")
    rank = psd_rank(S)
    if s2 is None or rank <= m.K:
        note = (f"Ŝ has rank {rank} for {m.ZX.shape[0]} instruments and {m.K} coefficients: not computable, no "
                "overidentifying restriction is left after the moments met exactly by every firm")
        tests["Hansen"] = TestResult("Hansen J", float("nan"), float("nan"), 0, "chi2",
                                     "overidentifying restrictions valid", note)
        return tests, ()
    J = float(s2.Ze @ s2.W @ s2.Ze)
    if rank < m.ZX.shape[0]:
        # a generalised inverse of a singular Ŝ weights only rank(Ŝ) moments: J has rank − K degrees of freedom,
        # and none when the rank does not exceed K (J = 0 by construction: an exactly identified fit)
        tests["Hansen"] = chi2_test("Hansen J", J, rank - m.K, "overidentifying restrictions valid",
                                    f"Ŝ has rank {rank} < {m.ZX.shape[0]} instruments: χ²(rank − K)")
    else:
        tests["Hansen"] = chi2_test("Hansen J", J, overid, "overidentifying restrictions valid",
                                    "robust, weakened by many instruments")
    return tests, (diff_hansen(m, S, J) if overid > 0 else ())
