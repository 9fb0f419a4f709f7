"""One- and two-step linear GMM on the stacked difference/system problem: weighting matrices, the variances and
their entry (``"gmm"``) in the covariance registry of :mod:`.fit`, so ``result.with_vcov`` works without a refit.

With stacked rows X, y, instruments Z (:mod:`.gmm_instruments`), firm blocks i and clusters g (unions of firms;
by default each firm is its own cluster, xtabond2's ``robust``; ``cluster=`` is xtabond2's ``cluster()``):

* one-step: b₁ = A₁⁻¹X'ZW₁Z'y, A₁ = X'ZW₁Z'X, W₁ = (Σᵢ Zᵢ'HᵢZᵢ)⁻¹, Hᵢ = Mᵢ⁺Mᵢ⁺' (xtabond2 ``h(3)``, the error
  covariance under iid unit-variance errors ignoring the fixed effect; ``h=2`` zeroes the cross blocks as DPD and
  Stata's xtdpdsys do, ``h=1`` is H = I);
* two-step: W₂ = Ŝ⁻¹, Ŝ = Σ_g (Σ_{i∈g} Zᵢ'ê₁ᵢ)(Σ_{i∈g} Zᵢ'ê₁ᵢ)' from the one-step residuals (a generalised inverse
  when singular, as xtabond2), so the two-step estimates depend on the clusters;
* variances (``vcov=``): one-step ``"classical"`` σ̂²A₁⁻¹, σ̂² = Σê²/(2(N−K)) from the differenced one-step
  residuals (Σê²/(N−K) under orthogonal deviations; N the reported observations, as Stata's xtabond), and
  ``"cluster"`` the sandwich A₁⁻¹X'ZW₁ŜW₁Z'XA₁⁻¹; two-step ``"classical"`` A₂⁻¹ = (X'ZW₂Z'X)⁻¹ (downward biased
  in small samples) and ``"cluster"`` Windmeijer's (2005) corrected V = A₂⁻¹ + DA₂⁻¹ + A₂⁻¹D' + DV₁D' with
  Dₖ = A₂⁻¹X'ZW₂(∂Ŝ/∂bₖ)W₂Z'ê₂, ∂Ŝ/∂bₖ = −Σ_g (Σ_{i∈g} Zᵢ'xᵢₖ)(Σ_{i∈g} ê₁ᵢ'Zᵢ) + transpose, V₁ the one-step
  sandwich under the same clusters. No small-sample factor unless ``small=True`` (xtabond2 ``small``:
  V·G/(G−1)·N/(N−K+1), t and F with G−1 degrees of freedom, G without a constant; G the clusters).

Clusters must nest firms (the moments are sums over a firm's rows); two-way clustering is refused. Re-expressing
a one-step result under other clusters needs only firm-level moment sums, kept in :class:`Moments` at the size of
firms × instruments; a two-step result keeps its weights' clusters (other clusters change the estimates: refit).

References: Arellano and Bond (1991); Windmeijer (2005), Journal of Econometrics 126: 25–51; Roodman (2009), "How
to do xtabond2", Stata Journal 9(1): 86–136. Written here because no maintained Python library fits these models
(linearmodels #95; pydynpd 0.2 fails on numpy 2); the products are vectorised over firms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .covariance import nested_in
from .design import SpecificationError
from .fit import Fit, register, warn_few_clusters
from .gmm_sample import GMMProblem
from .results import VarianceInfo, psd_rank
from .variance import VarianceSpec

__all__ = ["GMMFit", "Moments", "Step", "firm_clusters", "gmm_variance", "solve_step"]

GMM_KINDS = ("classical", "cluster")


# ------------------------------------------------------------------------------------------------ algebra
def inv_psd(M: np.ndarray, what: str, notes: list[str] | None = None) -> np.ndarray:
    """Inverse of a symmetric PSD matrix; Moore–Penrose when singular (as xtabond2), with a note."""
    M = (M + M.T) / 2
    try:
        ci = np.linalg.inv(np.linalg.cholesky(M))
        return ci.T @ ci
    except np.linalg.LinAlgError:
        if notes is not None:
            notes.append(f"{what} is singular; a generalised inverse was used (as xtabond2 does)")
        return np.linalg.pinv(M, hermitian=True)


@dataclass(frozen=True, eq=False)
class Step:
    """One GMM step: coefficients, A⁻¹ = (X'ZWZ'X)⁻¹, the weights W and the moments Z'ê = Z'y − Z'Xb."""

    b: np.ndarray
    A_inv: np.ndarray
    W: np.ndarray
    Ze: np.ndarray

    def projector(self, ZX: np.ndarray) -> np.ndarray:
        """A⁻¹X'ZW (K × L): b = projector · Z'y."""
        return self.A_inv @ ZX.T @ self.W


class StepNotIdentified(SpecificationError):
    """X'ZWZ'X has rank below K: the weights leave too few independent moments for the coefficients."""


def solve_step(ZX: np.ndarray, Zy: np.ndarray, W: np.ndarray) -> Step:
    WZX = W @ ZX
    A = ZX.T @ WZX
    A = (A + A.T) / 2
    rank = psd_rank(A)
    if rank < A.shape[0]:  # inv() of a singular A returns noise (a Hansen J of 59,172 was seen), never an error
        raise StepNotIdentified(f"X'ZWZ'X has rank {rank} < {A.shape[0]} coefficients")
    A_inv = np.linalg.inv(A)
    b = A_inv @ (WZX.T @ Zy)
    return Step(b, A_inv, W, Zy - ZX @ b)


def sandwich(step: Step, ZX: np.ndarray, S: np.ndarray) -> np.ndarray:
    M = step.projector(ZX)
    return M @ S @ M.T


def zhz(pb: GMMProblem) -> np.ndarray:
    """Σᵢ Zᵢ'HᵢZᵢ without forming H: Q = M⁺'Z on the level grid (h=3), blocks (h=2) or Z'Z (h=1)."""
    Z, rows = pb.inst.Z, pb.rows
    Zd, Zl = Z[: rows.n_d], Z[rows.n_d:]
    if pb.h == 1:
        return (Z.T @ Z).toarray()
    Qd = pb.P @ Zd  # (N·T × L)
    if pb.h == 2:
        return (Qd.T @ Qd + Zl.T @ Zl).toarray()
    if rows.n_l:
        L = sp.csr_matrix((np.ones(rows.n_l), (rows.cell_l, np.arange(rows.n_l))), shape=(rows.N * rows.T, rows.n_l))
        Qd = Qd + L @ Zl
    return (Qd.T @ Qd).toarray()


def indicator(codes: np.ndarray, n_groups: int | None = None) -> sp.csr_matrix:
    """C (groups × n): Cᵍⱼ = 1 when item j is in group g, so C @ A sums the rows of A by group."""
    g = int(codes.max()) + 1 if n_groups is None else n_groups
    return sp.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(g, len(codes)))


def by_cluster(U: Any, codes: np.ndarray | None) -> Any:
    """Firm-level sums (rows of U: firms) added up within clusters; ``codes=None``: each firm its own cluster."""
    return U if codes is None else (indicator(codes) @ U)


def sigma2(pb: GMMProblem, e1: np.ndarray, dof: int = 0) -> float:
    """σ̂² of the idiosyncratic error from the one-step transformed-equation residuals: Σê²/(2(N − dof)) under
    first differences (Var Δv = 2σ²), Σê²/(N − dof) under orthogonal deviations, N the reported observations.
    Stata's xtabond uses dof = K for the variance and the AR tests; xtabond2's Sargan statistic dof = 0."""
    ed = e1[: pb.rows.n_d]
    return float(ed @ ed) / ((pb.nobs - dof) * (2.0 if pb.transform == "fd" else 1.0))


def windmeijer(pb: GMMProblem, row_codes: np.ndarray, Uc1: Any, s1: Step, s2: Step, ZX: np.ndarray,
               ) -> np.ndarray:
    """Windmeijer (2005) corrected two-step variance under clusters ``row_codes`` (one per stacked row; Uc1 the
    one-step cluster sums). ∂Ŝ/∂bₖ·g for g = W₂Z'ê₂ is −[Z'(s_r·X) + Uc₁'R] with s = Uc₁g taken at each row's
    cluster and Rᵍₖ = Σ_{rows in g} xₖ·(Zg)."""
    Z, X = pb.inst.Z, pb.X
    g = s2.W @ s2.Ze
    s = np.asarray(Uc1 @ g).ravel()
    term1 = np.asarray(Z.T @ (X * s[row_codes][:, None]))
    Rm = indicator(row_codes, Uc1.shape[0]) @ (X * np.asarray(Z @ g).ravel()[:, None])
    term2 = np.asarray(Uc1.T @ Rm)
    # Dₖ = ∂b₂/∂bₖ = A₂⁻¹X'Z(−W₂(∂Ŝ/∂bₖ)W₂)Z'ê₂ and ∂Ŝ/∂bₖ·g = −(term1 + term2)
    D = s2.A_inv @ (ZX.T @ (s2.W @ (term1 + term2)))
    V1 = sandwich(s1, ZX, cross(Uc1))
    V2 = s2.A_inv
    return V2 + D @ V2 + V2 @ D.T + D @ V1 @ D.T


def cross(U: Any) -> np.ndarray:
    """U'U as a dense array (U sparse or dense)."""
    P = U.T @ U
    return P.toarray() if sp.issparse(P) else np.asarray(P)


# ------------------------------------------------------------------------------------------------ the fit
@dataclass(frozen=True, eq=False)
class Moments:
    """Everything the variances and specification tests of a fitted GMM need, at the size of the instruments (L)
    and firms (N), not of the stacked rows: Z'X, Z'y, the one-step fit and its firm moment sums U₁ (N × L, rows
    Zᵢ'ê₁ᵢ), the reported step (one or two) with its firm sums U, and for two-step fits the clusters of the
    weights, Ŝ and the Windmeijer-corrected variance. ``ar`` holds the Arellano–Bond test ingredients
    (:class:`.gmm_spectests.ARPiece`), ``groups`` the instrument groups of the difference-in-Hansen tests."""

    ZX: np.ndarray
    Zy: np.ndarray
    one_step: Step
    U1: Any
    step: Step
    U: Any
    steps: int
    sigma2: float
    sargan: float
    nobs: int
    has_constant: bool
    weight_codes: np.ndarray | None = None
    S: np.ndarray | None = None
    windmeijer: np.ndarray | None = None
    ar: tuple = ()
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def K(self) -> int:
        return self.ZX.shape[1]


@dataclass(frozen=True, eq=False)
class GMMFit(Fit):
    """A :class:`~clusterecon.estimators.fit.Fit` of difference/system GMM (``method="gmm"``): the moments, the
    clusters the two-step weights used (``weight_clusters``), the firms (with rows, and on the grid), xtabond2's
    ``small`` flag and the model's name for messages. ``frame`` holds one row per firm-year the stacked rows come
    from and ``units`` the firm (grid position) of each."""

    moments: Moments | None = None
    weight_clusters: tuple[str, ...] = ()
    n_firms: int = 0
    n_grid_firms: int = 0
    small: bool = False
    model: str = "GMM"


def firm_scores(pb: GMMProblem, e: np.ndarray) -> sp.csr_matrix:
    """U (N × L) with rows Zᵢ'eᵢ."""
    return (pb.rows.firm_matrix() @ sp.diags(e) @ pb.inst.Z).tocsr()


def estimate(pb: GMMProblem, steps: int, codes: np.ndarray | None, notes: list[str]) -> tuple[Moments, np.ndarray]:
    """One- and (``steps=2``) two-step GMM with Ŝ clustered by firm ``codes`` (None: by firm); the moments and the
    residuals of the reported step."""
    X, y, Z = pb.X, pb.y, pb.inst.Z
    ZX = np.asarray(Z.T @ X)
    Zy = np.asarray(Z.T @ y).ravel()
    s1 = solve_step(ZX, Zy, inv_psd(zhz(pb), "the one-step weighting matrix Z'HZ", notes))
    e1 = y - X @ s1.b
    U1 = firm_scores(pb, e1)
    Uc1 = by_cluster(U1, codes)
    S = cross(Uc1)
    W2 = inv_psd(S, "the two-step weighting matrix (the covariance of the moments)", notes)
    flat = _exact_moments(S, pb.inst.names)
    if flat and steps == 2:
        notes.append(f"{len(flat)} moment(s) are met exactly by every firm's one-step residuals ({', '.join(flat[:6])}"
                     f"{', …' if len(flat) > 6 else ''}; e.g. the year dummy of a year with one firm): they carry no "
                     "information and get no weight in the two-step estimate")
    common = dict(ZX=ZX, Zy=Zy, one_step=s1, U1=U1, steps=steps, sigma2=sigma2(pb, e1, X.shape[1]),
                  sargan=float(s1.Ze @ s1.W @ s1.Ze) / sigma2(pb, e1), nobs=pb.nobs,
                  has_constant="Intercept" in pb.names)
    if steps == 1:
        return Moments(step=s1, U=U1, **common), e1
    try:
        s2 = solve_step(ZX, Zy, W2)
    except StepNotIdentified as e:
        why = (f" because {len(flat)} moment(s) are met exactly by every firm ({', '.join(flat[:6])}"
               f"{', …' if len(flat) > 6 else ''}: e.g. year dummies of years with one firm; drop those years or "
               "the time dummies)") if flat else ""
        raise SpecificationError(f"two-step GMM is not identified: {e}{why}; the one-step estimate (steps=1) "
                                 "does not use these weights") from None
    e2 = y - X @ s2.b
    row_codes = pb.rows.firm if codes is None else codes[pb.rows.firm]
    return Moments(step=s2, U=firm_scores(pb, e2), weight_codes=codes, S=S,
                   windmeijer=windmeijer(pb, row_codes, Uc1, s1, s2, ZX), **common), e2


def _exact_moments(S: np.ndarray, names: list[str], rtol: float = 1e-10) -> list[str]:
    """Instruments whose moment has (numerically) zero variance across clusters: Σᵢ Zᵢ'ê₁ᵢ is zero in every cluster."""
    d = np.diag(S)
    top = float(d.max()) if d.size else 0.0
    return [names[j] for j in np.flatnonzero(d <= rtol * top)] if top > 0 else []


# ------------------------------------------------------------------------------------------------ clusters
def firm_clusters(fit: GMMFit, spec: VarianceSpec, data: Any = None, *, warn: bool = True,
                  ) -> tuple[np.ndarray | None, int]:
    """(cluster code of every firm on the grid, number of clusters G) for a cluster ``spec``; (None, firms) when
    each firm is its own cluster (the default, and what non-cluster variances use for Ŝ)."""
    names = spec.clusters if spec.kind == "cluster" else ()
    if not names or names == (fit.entity,):
        return None, fit.n_firms
    if len(names) > 1:
        raise SpecificationError(f"{fit.model}: two-way clustering {names} is not available; the moments are sums "
                                 "over each firm's rows, so clusters must be unions of firms (one variable)")
    codes = fit.cluster_codes(names, data)
    units = np.asarray(fit.units)
    if not nested_in(pd.factorize(units)[0], codes):
        k = pd.Series(codes).groupby(units).nunique()
        bad = fit.frame.index.get_level_values(0)[np.isin(units, k.index[k > 1])].unique()[:5]
        raise SpecificationError(f"{fit.model}: cluster variable {names[0]!r} changes within firm(s) "
                                 f"{list(bad)}; its moments are sums over each firm's rows, so clusters must nest "
                                 "firms (each firm in one cluster)")
    per_firm = np.full(fit.n_grid_firms, -1, dtype=np.int64)
    per_firm[units] = codes
    present, G = per_firm >= 0, int(codes.max()) + 1
    # firms without rows carry no moments: give each its own (empty) cluster so that the codes cover the grid
    per_firm[~present] = G + np.arange(int((~present).sum()))
    if warn:
        warn_few_clusters(codes, names, stacklevel=6)
    return per_firm, G


def gmm_variance(fit: GMMFit, kind: str, codes: np.ndarray | None) -> np.ndarray:
    """The variance of the reported step before any small-sample factor (module docstring)."""
    m = fit.moments
    if m.steps == 2:
        return m.windmeijer if kind == "cluster" else m.step.A_inv
    if kind == "classical":
        return m.sigma2 * m.one_step.A_inv
    return sandwich(m.one_step, m.ZX, cross(by_cluster(m.U1, codes)))


def check_weight_clusters(fit: GMMFit, spec: VarianceSpec, codes: np.ndarray | None) -> None:
    """Two-step estimates are weighted by Ŝ under the fit's clusters: a variance clustered otherwise needs a refit."""
    if fit.moments.steps != 2 or spec.kind != "cluster":
        return
    same = codes is None if fit.moments.weight_codes is None else (
        codes is not None and np.array_equal(codes, fit.moments.weight_codes))
    if not same:
        raise SpecificationError(
            f"{fit.model}: the two-step weights use Ŝ clustered by {fit.weight_clusters[0]!r}, and the two-step "
            f"estimates change with the clusters; clustering by {spec.clusters} needs a refit with "
            f"cluster={spec.clusters[0]!r} (with_vcov can switch between 'classical' and 'cluster' only)")


def variance_rule(fit: GMMFit, kind: str) -> str:
    """The variance convention in words (plain ASCII: it is printed in LaTeX table notes)."""
    m = fit.moments
    if m.steps == 1:
        rule = ("one-step GMM sandwich (xtabond2 robust)" if kind == "cluster" else
                "one-step GMM, homoskedastic: sigma2 from the differenced residuals (Stata xtabond)")
    else:
        rule = ("two-step GMM, Windmeijer (2005) finite-sample correction" if kind == "cluster" else
                "two-step GMM without the Windmeijer correction (downward biased in small samples)")
        if fit.weight_clusters != (fit.entity,):
            rule += f"; two-step weights clustered by {fit.weight_clusters[0]}"
    if fit.small:
        rule += "; small: V*G/(G-1)*N/(N-K+1), t and F with G-1 df (G without a constant)"
    return rule


@register("gmm")
def _gmm_covariance(fit: GMMFit, spec: VarianceSpec, data: Any) -> tuple[np.ndarray, VarianceInfo, float | None]:
    """Registry entry: (V, VarianceInfo, df_inference) of a GMM fit under ``spec``; xtabond2's ``small`` factor
    G/(G−1)·N/(N−K+1) with G the clusters (the firms for a classical variance)."""
    codes, G = firm_clusters(fit, spec, data)
    check_weight_clusters(fit, spec, codes)
    m = fit.moments
    V = gmm_variance(fit, spec.kind, codes)
    df = None
    if fit.small:  # xtabond2's factor, pinned on Roodman (2009)'s difference and system examples
        V = V * G / (G - 1) * m.nobs / (m.nobs - m.K + 1)
        df = float(G - 1 if m.has_constant else G)
    if spec.kind == "cluster":
        info = VarianceInfo("cluster", spec.clusters, (G,), variance_rule(fit, "cluster"))
    else:
        info = VarianceInfo("classical", dof_rule=variance_rule(fit, "classical"))
    return V, info, df
