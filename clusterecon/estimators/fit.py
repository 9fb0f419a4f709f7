"""One fit representation and one covariance registry for every estimator.

A :class:`Fit` keeps what any variance of a fitted model needs — the bread (``(X'WX)⁻¹`` for least squares, the
inverse Hessian ``H⁻¹`` for maximum likelihood), the scores or the regressors and residuals that make them, the
cluster and time identifiers of the scoring units, and the degrees-of-freedom bookkeeping (absorbed and partialled
effects, the residual df and the rule for the inference df). :func:`covariance` turns a Fit and a parsed
:class:`~clusterecon.estimators.variance.VarianceSpec` into ``(V, VarianceInfo, df_inference)`` through a registry
keyed by the estimation method, so ``result.with_vcov(...)`` re-expresses a result under another variance without
refitting (pyfixest ``Feols.vcov()``, fixest ``summary(vcov=)``; ours returns a new immutable result).

Least squares (``method="ls"``): scores s_i = x_i·w_i·e_i of the regressors actually used (within- or
quasi-demeaned when effects were transformed away); the formulas and small-sample rules are those of
:func:`~clusterecon.estimators.covariance.ols_covariance`.

Maximum likelihood (``method="ml"``): with H the Hessian of the log-likelihood and s_u the score of scoring unit
u (an observation, or a firm when the likelihood factorises by firm), Stata's conventions ([R] maximize, Methods
and formulas; [P] _robust)::

    oim      −H⁻¹                               opg   (Σ_u s_u s_u')⁻¹
    hc0      H⁻¹(Σ_u s_u s_u')H⁻¹               hc1   hc0 · M/(M − 1)           (M scoring units)
    cluster  H⁻¹(Σ_g S_g S_g')H⁻¹ · G/(G − 1)   two-way: V₁ + V₂ − V₁₂, each · min(G)/(min(G) − 1)

Clusters of per-firm scores must nest the firms. A ``jacobian`` J maps the estimated parameters θ to the reported
ones (e.g. ln σ → σ): the reported covariance is J V_θ J'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .covariance import cluster_codes, intersect_codes, meat_cluster, nested_in, ols_covariance, sandwich
from .errors import SpecificationError
from .results import VarianceInfo
from .variance import LS_KINDS, VarianceSpec

__all__ = ["Fit", "covariance", "register"]

FEW_CLUSTERS = 10


@dataclass(frozen=True, eq=False)
class Fit:
    """What every variance of one fitted model needs (see the module docstring).

    Parameters
    ----------
    method : ``"ls"`` (least squares) or ``"ml"`` (maximum likelihood).
    bread : (k, k) ``(X'WX)⁻¹`` (ls) or ``H⁻¹``, the inverse Hessian of the log-likelihood (ml; negative definite).
    regressors : (n, k) the X whose scores x_i w_i e_i enter the meat (ls); anything ``np.asarray`` turns into
        that array, so an estimator can defer building it until a sandwich is asked for.
    resid : (n,) residuals of that regression (ls; unweighted).
    weights : (n,) analytic weights (ls) or None.
    scores : (m, k) score contributions of the m scoring units (ml).
    frame : the columns a cluster may be taken from, indexed by the estimation sample's (entity, time) index,
        one row per observation (cluster names are looked up among its columns and index levels).
    units : (n,) codes of the scoring unit of each observation when scores are per firm (ml), else None.
    time : (n,) integer calendar periods (Driscoll–Kraay; consecutive years consecutive integers).
    n_absorbed, n_partialled, has_constant : degrees-of-freedom bookkeeping of ``ols_covariance``.
    supported : the variance kinds this model computes; dof_rules : the small-sample rules it accepts.
    inference : ``"ls"`` (the df ``ols_covariance`` returns: N − K, G − 1, T − 1), ``"normal"`` (z/χ²), or
        ``"fixed"`` (``df_fixed`` whatever the variance, e.g. Tobit's t(N − K)).
    jacobian : (r, k) map from the estimated parameters to the r reported ones, or None (identity).
    dof : the small-sample rule the result was fitted with (the default for ``with_vcov``).
    entity, time_name : names of the index levels (the default cluster is the entity).
    weights_type : ``"aweight"``, ``"pweight"`` or ``"fweight"`` when ``weights`` are given (ls).
    """

    method: Literal["ls", "ml"]
    bread: np.ndarray
    regressors: Any = None
    resid: np.ndarray | None = None
    weights: np.ndarray | None = None
    scores: np.ndarray | None = None
    frame: pd.DataFrame | None = None
    units: np.ndarray | None = None
    time: np.ndarray | None = None
    n_absorbed: int = 0
    n_partialled: int = 0
    has_constant: bool = True
    supported: tuple[str, ...] = LS_KINDS
    dof_rules: tuple[str, ...] = ("stata", "areg", "reghdfe", "plm", "none")
    inference: Literal["ls", "normal", "fixed"] = "ls"
    df_fixed: float | None = None
    jacobian: np.ndarray | None = None
    dof: str = "stata"
    entity: str = "firm_id"
    time_name: str = "year"
    weights_type: str | None = None

    @property
    def entity_codes(self) -> np.ndarray | None:
        if self.frame is None:
            return None
        idx = self.frame.index
        lv = idx.get_level_values(0) if isinstance(idx, pd.MultiIndex) else idx
        return pd.factorize(lv, sort=True)[0]

    def cluster_codes(self, names: Sequence[str], data: pd.DataFrame | None = None) -> np.ndarray:
        """Codes (n,) or (n, 2) of the named cluster variables for the estimation rows; a name not carried into
        the estimation sample is looked up in ``data`` by the (entity, time) index."""
        if self.frame is None:
            raise SpecificationError("this result keeps no identifiers to cluster on")
        frame = self.frame
        have = set(frame.columns) | {n for n in frame.index.names if n is not None}
        missing = [c for c in names if c not in have]
        if missing:
            if data is None:
                raise SpecificationError(
                    f"cluster variable(s) {missing} were not carried into the estimation sample; pass data= (the "
                    f"frame the model was fitted on) to look them up, or refit with cluster={tuple(names)!r}")
            src = data.frame if hasattr(data, "frame") and not isinstance(data, pd.DataFrame) else data
            absent = [c for c in missing if c not in src.columns]
            if absent:
                raise SpecificationError(f"cluster column(s) {absent} not found in data")
            frame = frame.assign(**{c: src[c].reindex(frame.index).to_numpy() for c in missing})
        return cluster_codes(frame, names[0] if len(names) == 1 else list(names))


# ------------------------------------------------------------------------------------------------ registry
_REGISTRY: dict[str, Callable[[Fit, VarianceSpec, Any], tuple[np.ndarray, VarianceInfo, float | None]]] = {}


def register(method: str):
    """Decorator: the covariance function of an estimation ``method`` (``(fit, spec, data) → (V, info, df)``)."""
    def deco(fn):
        _REGISTRY[method] = fn
        return fn
    return deco


def covariance(fit: Fit, spec: VarianceSpec, data: pd.DataFrame | None = None,
               ) -> tuple[np.ndarray, VarianceInfo, float | None]:
    """``(V, VarianceInfo, df_inference)`` of ``fit`` under ``spec`` (the reported parameters' covariance)."""
    if spec.kind not in fit.supported:
        raise SpecificationError(f"vcov={spec.requested or spec.kind!r} is not available here; choose one of "
                                 f"{fit.supported}")
    spec = spec.with_entity(fit.entity, fit.time_name)
    V, info, df = _REGISTRY[fit.method](fit, spec, data)
    if fit.jacobian is not None:
        V = fit.jacobian @ V @ fit.jacobian.T
        V = (V + V.T) / 2
    if fit.inference == "normal":
        df = None
    elif fit.inference == "fixed":
        df = fit.df_fixed
    return V, info, df


def warn_few_clusters(codes: np.ndarray, names: Sequence[str], stacklevel: int = 5) -> None:
    """Warn when a cluster dimension has fewer than ``FEW_CLUSTERS`` levels."""
    import warnings

    gs = [int(c.max()) + 1 for c in (codes.T if codes.ndim == 2 else [codes])]
    if min(gs) < FEW_CLUSTERS:
        warnings.warn(f"only {min(gs)} clusters in {tuple(names)}: cluster-robust inference is unreliable with "
                      "fewer than about 10 clusters (consider a wild cluster bootstrap)", stacklevel=stacklevel)


@register("ls")
def _ls(fit: Fit, spec: VarianceSpec, data: Any) -> tuple[np.ndarray, VarianceInfo, float | None]:
    kind = {"hc1": "robust"}.get(spec.kind, spec.kind)
    kw: dict[str, Any] = {}
    if spec.kind == "cluster":
        codes = fit.cluster_codes(spec.clusters, data)
        warn_few_clusters(codes, spec.clusters)
        ent = fit.entity_codes
        c1 = codes if codes.ndim == 1 else codes[:, 0]
        nested = 0
        if spec.dof == "reghdfe" and fit.n_absorbed and ent is not None and nested_in(ent, c1):
            nested = int(ent.max()) + 1
        kind = "cluster2" if spec.two_way else "cluster"
        kw.update(clusters=codes, cluster_names=spec.clusters, n_nested=nested)
    elif spec.kind == "driscoll-kraay":
        kw.update(time=fit.time, bandwidth=spec.bandwidth)
    X = None if spec.kind == "classical" else np.asarray(fit.regressors)
    if X is None:
        X = np.empty((len(fit.resid), fit.bread.shape[0]))  # classical reads only its shape
    return ols_covariance(X, fit.resid, kind, bread=fit.bread, dof=spec.dof, n_absorbed=fit.n_absorbed,
                          n_partialled=fit.n_partialled, weights=fit.weights, has_constant=fit.has_constant,
                          frequency=fit.weights_type == "fweight", **kw)


@register("ml")
def _ml(fit: Fit, spec: VarianceSpec, data: Any) -> tuple[np.ndarray, VarianceInfo, float | None]:
    Hi = np.asarray(fit.bread, dtype=float)
    if spec.kind == "oim":
        return _sym(-Hi), VarianceInfo("oim", dof_rule="-H^-1"), None
    s = np.asarray(fit.scores, dtype=float)
    m = s.shape[0]
    if spec.kind == "opg":
        return _sym(np.linalg.inv(s.T @ s)), VarianceInfo("opg", dof_rule="(sum s_i s_i')^-1"), None
    if spec.kind in ("hc0", "hc1"):
        V = sandwich(Hi, s.T @ s)
        if spec.kind == "hc1" and spec.dof not in ("none", "plm"):
            return V * m / (m - 1), VarianceInfo("robust", dof_rule="N/(N-1)"), None
        return V, VarianceInfo("hc0", dof_rule="no small-sample factor"), None
    codes = _unit_codes(fit, fit.cluster_codes(spec.clusters, data), spec.clusters)
    warn_few_clusters(codes, spec.clusters)
    small = spec.dof not in ("none", "plm")
    if not spec.two_way:
        meat, G = meat_cluster(codes, s)
        V = sandwich(Hi, meat) * (G / (G - 1) if small else 1.0)
        return V, VarianceInfo("cluster", clusters=spec.clusters, n_clusters=(G,),
                               dof_rule="G/(G-1)" if small else "no small-sample factor"), None
    m1, g1 = meat_cluster(codes[:, 0], s)
    m2, g2 = meat_cluster(codes[:, 1], s)
    m12, _ = meat_cluster(intersect_codes(codes), s)
    gmin = min(g1, g2)
    V = sandwich(Hi, m1 + m2 - m12) * (gmin / (gmin - 1) if small else 1.0)
    return V, VarianceInfo("cluster2", clusters=spec.clusters, n_clusters=(g1, g2),
                           dof_rule="min(G)/(min(G)-1) on V1+V2-V12" if small else "no small-sample factor"), None


def _unit_codes(fit: Fit, codes: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Cluster codes per scoring unit: the rows' codes when scores are per row; for per-firm scores, each unit's
    code, refusing clusters that split a unit."""
    if fit.units is None:
        return codes
    cols = codes.T if codes.ndim == 2 else [codes]
    out = []
    for c in cols:
        g = int(fit.units.max()) + 1
        lo = np.full(g, np.iinfo(np.int64).max)
        hi = np.full(g, -1)
        np.minimum.at(lo, fit.units, c)
        np.maximum.at(hi, fit.units, c)
        if (lo != hi).any():
            raise SpecificationError(f"clusters {tuple(names)} must nest firms (each firm in one cluster): this "
                                     "model's likelihood contributions are per firm")
        out.append(pd.factorize(lo, sort=True)[0])
    return out[0] if len(out) == 1 else np.column_stack(out)


def _sym(V: np.ndarray) -> np.ndarray:
    return (V + V.T) / 2

