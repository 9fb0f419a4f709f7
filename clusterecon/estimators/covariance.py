"""Covariance engine for every clusterecon estimator: classical, robust, cluster (one- and two-way), Driscoll–Kraay.

Linear models call :func:`ols_covariance` with the (transformed) regressors and residuals; ML models call
:func:`ml_sandwich` with the inverse Hessian and per-observation scores. Both return a :class:`VarianceInfo`
that names the variance type, cluster variable(s), number of clusters and small-sample rule, which every
summary prints.

Written here rather than taken from statsmodels/linearmodels because the small-sample rules must be selectable
by name to reproduce Stata's ``xtreg, fe`` (absorbed effects not counted), ``areg`` (counted), ``reghdfe``
(counted unless nested in the cluster variable) and R plm, and because the cluster "meat" must be a few
``np.bincount`` passes to keep two-way fixed effects on 10M rows fast. Tests compare every rule against pyfixest,
linearmodels and statsmodels set to the same convention (``tests/test_covariance.py``).

Notation: N observations, k = ``X.shape[1]`` + ``n_partialled`` estimated coefficients, a = ``n_absorbed``
parameters absorbed by fixed effects (e.g. a = G for firm effects), G clusters,
B = (X'X)⁻¹ the bread, and scores s_i = x_i e_i (weighted: w_i x_i e_i).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .results import TestResult, VarianceInfo

KINDS = ("classical", "robust", "hc0", "hc1", "hc2", "hc3", "cluster", "cluster2", "driscoll-kraay")
DOF_RULES = ("stata", "areg", "reghdfe", "plm", "none")

_RULE_TEXT = {
    "stata": "Stata xtreg/regress: G/(G-1)*(N-1)/(N-K), K = slopes + constant (absorbed effects not counted)",
    "areg": "Stata areg: G/(G-1)*(N-1)/(N-K), K = slopes + constant + absorbed effects",
    "reghdfe": "reghdfe: G/(G-1)*(N-1)/(N-K), K counts absorbed effects not nested in the clusters",
    "plm": "R plm vcovHC: no small-sample factor (HC0/CR0)",
    "none": "no small-sample factor",
}


def cluster_codes(frame_or_index: pd.DataFrame | pd.MultiIndex | pd.Index, cluster: str | Sequence[str] | None,
                  ) -> np.ndarray:
    """Integer codes 0..G−1 of the cluster variable(s), shape (n,) for one, (n, 2) for two.

    ``cluster=None`` means the entity (first index level, the firm). Names may be columns or index levels of
    ``frame_or_index``. Missing cluster values are refused (they would silently form no cluster).
    """
    if cluster is None:
        names: list[str | int] = [0]
    elif isinstance(cluster, str):
        names = [cluster]
    else:
        names = list(cluster)
    if len(names) > 2:
        raise ValueError(f"at most two-way clustering is supported, got {names}")
    cols = []
    for name in names:
        cols.append(_lookup(frame_or_index, name))
    codes = []
    for name, values in zip(names, cols):
        c, _ = pd.factorize(values, sort=True)
        if (c < 0).any():
            raise ValueError(f"cluster variable {name!r} has {(c < 0).sum()} missing values; drop those rows or "
                             "fill them before clustering")
        codes.append(c.astype(np.int64))
    return codes[0] if len(codes) == 1 else np.column_stack(codes)


def _lookup(obj: pd.DataFrame | pd.MultiIndex | pd.Index, name: str | int) -> np.ndarray:
    index = obj.index if isinstance(obj, pd.DataFrame) else obj
    if isinstance(obj, pd.DataFrame) and isinstance(name, str) and name in obj.columns:
        return np.asarray(obj[name])
    if isinstance(name, int):
        return np.asarray(index.get_level_values(name))
    if name in (index.names or []):
        return np.asarray(index.get_level_values(name))
    have = list(obj.columns) if isinstance(obj, pd.DataFrame) else []
    raise KeyError(f"cluster variable {name!r} is neither a column nor an index level; have {have[:30]} and "
                   f"index levels {list(index.names)}")


class _Scores:
    """Scores s_i = x_i·ew_i kept as (X, ew) so that group sums are taken column by column without forming the
    (n, k) product (one n-vector temporary at a time; contiguous-block ``np.add.reduceat`` when codes are sorted)."""

    def __init__(self, X: np.ndarray, ew: np.ndarray | None = None) -> None:
        self.X, self.ew = X, ew

    def column(self, j: int) -> np.ndarray:
        return self.X[:, j] * self.ew if self.ew is not None else self.X[:, j]

    def cross(self) -> np.ndarray:
        s = self.X * self.ew[:, None] if self.ew is not None else self.X
        return s.T @ s

    def group_sums(self, codes: np.ndarray, n_groups: int | None = None) -> np.ndarray:
        g = int(codes.max()) + 1 if n_groups is None else n_groups
        k = self.X.shape[1]
        out = np.zeros((g, k))
        if codes.size > 1 and (codes[1:] >= codes[:-1]).all():
            starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
            for j in range(k):
                out[codes[starts], j] = np.add.reduceat(self.column(j), starts)
        else:
            for j in range(k):
                out[:, j] = np.bincount(codes, weights=self.column(j), minlength=g)
        return out


def _group_sums(codes: np.ndarray, scores: np.ndarray | _Scores, n_groups: int | None = None) -> np.ndarray:
    """Σ_{i∈g} s_i for every group g."""
    sc = scores if isinstance(scores, _Scores) else _Scores(np.asarray(scores, dtype=float))
    return sc.group_sums(codes, n_groups)


def meat_cluster(codes: np.ndarray, scores: np.ndarray | _Scores) -> tuple[np.ndarray, int]:
    sums = _group_sums(codes, scores)
    return sums.T @ sums, sums.shape[0]


def intersect_codes(codes2: np.ndarray) -> np.ndarray:
    a, b = codes2[:, 0], codes2[:, 1]
    return pd.factorize(a * (int(b.max()) + 1) + b)[0]


def nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True if every level of ``inner`` sits in a single level of ``outer`` (integer codes)."""
    g = int(inner.max()) + 1
    lo = np.full(g, np.iinfo(np.int64).max)
    hi = np.full(g, -1)
    np.minimum.at(lo, inner, outer)
    np.maximum.at(hi, inner, outer)
    return bool((lo == hi).all())


def sandwich(bread: np.ndarray, meat: np.ndarray) -> np.ndarray:
    v = bread @ meat @ bread
    return (v + v.T) / 2


def ols_covariance(
    X: np.ndarray,
    resid: np.ndarray,
    kind: str,
    *,
    bread: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    time: np.ndarray | None = None,
    dof: str = "stata",
    n_absorbed: int = 0,
    bandwidth: int | None = None,
    weights: np.ndarray | None = None,
    has_constant: bool = True,
    n_nested: int = 0,
    n_partialled: int = 0,
    cluster_names: Sequence[str] = (),
    frequency: bool = False,
) -> tuple[np.ndarray, VarianceInfo, float | None]:
    r"""Covariance of OLS coefficients b = (X'X)⁻¹X'y, with the small-sample rule ``dof``.

    Parameters
    ----------
    X, resid : (n, k) regressors actually used (already within-transformed if effects were absorbed) and (n,)
        residuals. With analytic ``weights`` pass the *unweighted* X and residuals; the weights enter as
        X'WX and scores w_i x_i e_i (Stata ``aweight``; their scale does not matter).
    kind : ``"classical"`` s²B; ``"robust"`` (= ``"hc1"``) B(Σ s_i s_i')B with the rule's factor, ``"hc0"`` without
        it; ``"hc2"``/``"hc3"`` B(Σ s_i s_i'/(1 − h_i)^{1 or 2})B, h_i = w_i x_i'Bx_i, no factor (Stata ``regress,
        vce(hc2|hc3)``; only without absorbed or partialled effects, whose leverage is not in X);
        ``"cluster"`` B(Σ_g S_g S_g')B with S_g = Σ_{i∈g} s_i;
        ``"cluster2"`` Cameron–Gelbach–Miller (2011) V₁ + V₂ − V₁₂ (V₁₂ clustered on the intersection);
        ``"driscoll-kraay"`` B Ŝ B with h_t = Σ_{i∈t} s_i and Ŝ = Γ₀ + Σ_{j=1..m} (1 − j/(m+1))(Γ_j + Γ_j'),
        Γ_j = Σ_t h_t h_{t−j}' (Bartlett kernel; Driscoll and Kraay 1998, Hoechle 2007 ``xtscc``), default
        m = floor(4 (T/100)^{2/9}).
    bread : (X'X)⁻¹ (or (X'WX)⁻¹) if already computed.
    clusters : (n,) integer codes (``cluster``) or (n, 2) (``cluster2``), see :func:`cluster_codes`.
    time : (n,) integer codes of calendar periods, consecutive periods consecutive integers (Driscoll–Kraay).
    dof : small-sample rule, one of

        ``"stata"`` (default): classical s² = SSR/(N − k − a), df = N − k − a (``regress``; ``xtreg, fe``
            with a = G); robust × N/(N − k − a) (``regress``/``areg, vce(robust)``); cluster ×
            G/(G−1)·(N−1)/(N−K) with K = k + 1 if effects were absorbed (the constant ``xtreg, fe`` reports) and
            K = k otherwise — absorbed effects are *not* counted ([XT] xtreg, Methods and formulas); df = G − 1.
            Two-way clustering applies min(G₁, G₂)/(min − 1)·(N−1)/(N−K) to every component (reghdfe/ivreg2;
            fixest/pyfixest ``G_df="min"``), df = min(G) − 1. Driscoll–Kraay ×
            T/(T−1)·(N−1)/(N−K) (the xtscc small-sample factor; its ``ase`` option drops it), df = T − 1.
        ``"areg"``: as ``"stata"`` but K = k + a in every factor (Stata ``areg``; pyfixest
            ``ssc(k_fixef="full")``).
        ``"reghdfe"``: K = k + a − ``n_nested`` + 1[n_nested > 0]: absorbed effects nested within the clusters
            are not counted except for one constant (reghdfe ``dof(all)``; fixest/pyfixest
            ``k_fixef="nonnested"``). With firm effects clustered by firm it equals ``"stata"``.
        ``"plm"``: R plm ``vcovHC`` defaults (``type="HC0"``): no factor for robust/cluster/DK; classical as
            ``"stata"``; df = N − k − a (plm's ``summary``).
        ``"none"``: no factor; classical s² = SSR/N; normal inference (df = None).
    n_absorbed : a, the number of absorbed fixed-effect parameters (linearly independent levels).
    has_constant : whether the model has an intercept absorbed in the effects (only read when a > 0).
    n_nested : absorbed parameters whose effect is nested within the (first) cluster variable (``"reghdfe"``).
    n_partialled : coefficients partialled out of X and y that Stata estimates as explicit regressors and counts
        in K under every rule, e.g. T − 1 year dummies in ``xtreg y x i.year, fe`` when clusterecon absorbs the
        year effects, or T (dummies + constant) for time effects alone (``regress y x i.year``).
    cluster_names : names recorded in :class:`VarianceInfo`.
    frequency : ``weights`` are frequency weights (Stata ``fweight``): row i stands for w_i identical
        observations, so N = Σw_i in every factor and df, and the robust meat is Σ w_i e_i² x_i x_i' (each copy its
        own observation); cluster sums are unchanged (the copies share the cluster).

    Returns
    -------
    V, info, df : (k, k) covariance, what produced it, and the degrees of freedom for t/F inference
        (None = normal/χ²).

    References
    ----------
    StataCorp, [R] regress and [XT] xtreg, Methods and formulas. Cameron, Gelbach and Miller (2011), JBES 29(2).
    Driscoll and Kraay (1998), REStat 80(4); Hoechle (2007), Stata Journal 7(3). Millo (2017), JSS 82(3) (plm).
    """
    if kind not in KINDS:
        raise ValueError(f"vcov must be one of {KINDS}, got {kind!r}")
    if dof not in DOF_RULES:
        raise ValueError(f"dof must be one of {DOF_RULES}, got {dof!r}")
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    e = np.asarray(resid, dtype=float).ravel()
    n, k = X.shape
    w = None if weights is None else np.asarray(weights, dtype=float).ravel()
    if frequency and w is not None:
        n = float(w.sum())
    if bread is None:
        xtx = X.T @ (X * w[:, None]) if w is not None else X.T @ X
        bread = np.linalg.pinv(xtx)
    a = int(n_absorbed)
    kp = k + int(n_partialled)
    k_all = kp + a  # classical / robust count everything estimated
    if dof == "areg":
        k_clu = k_all
    elif dof == "reghdfe":
        k_clu = kp + a - int(n_nested) + (1 if n_nested > 0 else 0)
    else:
        k_clu = kp + (1 if a > 0 and has_constant else 0)
    rule = _RULE_TEXT[dof]

    if kind == "classical":
        ssr = float(e @ (e * w)) if w is not None else float(e @ e)
        if dof == "none":
            return bread * ssr / n, VarianceInfo("classical", dof_rule="s2 = SSR/N"), None
        df = n - k_all
        return bread * ssr / df, VarianceInfo("classical", dof_rule=f"s2 = SSR/(N-K), K = {k_all}"), float(df)

    scores = _Scores(X, e * w if w is not None else e)
    df_resid = float(n - k_all)
    if frequency and w is not None and kind not in ("cluster", "cluster2", "driscoll-kraay"):
        scores = _Scores(X, e * np.sqrt(w))  # each of the w_i copies is its own observation
    if kind in ("hc2", "hc3"):
        if frequency:
            raise ValueError(f"vcov={kind!r} is not available with frequency weights")
        if a or n_partialled:
            raise ValueError(f"vcov={kind!r} needs the leverage of every estimated effect; not available with "
                             "absorbed fixed effects")
        h = np.einsum("ij,jk,ik->i", X, bread, X)
        if w is not None:
            h *= w
        adj = 1.0 / (1.0 - h) if kind == "hc2" else 1.0 / (1.0 - h) ** 2
        V = sandwich(bread, _Scores(X, scores.ew * np.sqrt(adj)).cross())
        text = "HC2: e_i^2/(1-h_i)" if kind == "hc2" else "HC3: e_i^2/(1-h_i)^2"
        return V, VarianceInfo(kind, dof_rule=text + ", no small-sample factor"), \
            (None if dof == "none" else df_resid)
    if kind == "hc0":
        return sandwich(bread, scores.cross()), VarianceInfo("hc0", dof_rule="HC0: no small-sample factor"), \
            (None if dof == "none" else df_resid)
    if kind in ("robust", "hc1"):
        V = sandwich(bread, scores.cross())
        if dof in ("stata", "areg", "reghdfe"):
            V *= n / (n - k_all)
            text = f"HC1: N/(N-K), K = {k_all}"
        else:
            text = "HC0: no small-sample factor"
        return V, VarianceInfo("robust", dof_rule=text), (None if dof == "none" else df_resid)

    if kind == "driscoll-kraay":
        if time is None:
            raise ValueError("Driscoll-Kraay needs the time codes (time=...)")
        t_codes = np.asarray(time)
        t_codes = t_codes - t_codes.min()
        h = _group_sums(t_codes.astype(np.int64), scores)  # rows = calendar periods, zero rows for empty ones
        T = len(np.unique(t_codes))
        m = int(np.floor(4 * (T / 100) ** (2 / 9))) if bandwidth is None else int(bandwidth)
        S = h.T @ h
        for j in range(1, m + 1):
            gam = h[j:].T @ h[:-j]
            S += (1 - j / (m + 1)) * (gam + gam.T)
        V = sandwich(bread, S)
        if dof in ("stata", "areg", "reghdfe"):
            V *= T / (T - 1) * (n - 1) / (n - k_clu)
            text = f"T/(T-1)*(N-1)/(N-K), K = {k_clu}"
        else:
            text = "no small-sample factor"
        info = VarianceInfo("driscoll-kraay", clusters=("time",), n_clusters=(T,), dof_rule=text, bandwidth=m)
        return V, info, (None if dof == "none" else float(T - 1))

    if clusters is None:
        raise ValueError(f"vcov={kind!r} needs cluster codes (clusters=...)")
    c = np.asarray(clusters)
    small = dof in ("stata", "areg", "reghdfe")
    if kind == "cluster":
        if c.ndim == 2:
            c = c[:, 0]
        meat, G = meat_cluster(c, scores)
        V = sandwich(bread, meat)
        if small:
            V *= G / (G - 1) * (n - 1) / (n - k_clu)
        names = tuple(cluster_names) or ("cluster",)
        info = VarianceInfo("cluster", clusters=names[:1], n_clusters=(G,),
                            dof_rule=rule + f" [K = {k_clu}]" if small else rule)
        return V, info, (None if dof == "none" else float(G - 1))

    # two-way (CGM)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError("vcov='cluster2' needs two cluster variables (clusters of shape (n, 2))")
    m1, g1 = meat_cluster(c[:, 0], scores)
    m2, g2 = meat_cluster(c[:, 1], scores)
    m12, g12 = meat_cluster(intersect_codes(c), scores)
    V = sandwich(bread, m1 + m2 - m12)
    gmin = min(g1, g2)
    if small:
        V *= gmin / (gmin - 1) * (n - 1) / (n - k_clu)
    names = tuple(cluster_names) or ("cluster1", "cluster2")
    info = VarianceInfo("cluster2", clusters=names[:2], n_clusters=(g1, g2),
                        dof_rule=(f"min(G)/(min(G)-1)*(N-1)/(N-K) on V1+V2-V12, K = {k_clu}" if small else rule))
    return V, info, (None if dof == "none" else float(gmin - 1))


def ml_sandwich(hess_inv: np.ndarray, scores: np.ndarray | None, kind: str, *, clusters: np.ndarray | None = None,
                cluster_names: Sequence[str] = ()) -> tuple[np.ndarray, VarianceInfo]:
    """Covariance of an ML estimator from the inverse Hessian H⁻¹ of the log-likelihood and the (n, k) scores.

    ``classical``: −H⁻¹ (observed information, Stata's default ``vce(oim)``). ``robust``:
    H⁻¹(Σ s_i s_i')H⁻¹ · N/(N−1). ``cluster``: H⁻¹(Σ_g S_g S_g')H⁻¹ · G/(G−1) with S_g = Σ_{i∈g} s_i. These are
    the factors of Stata ``logit``/``probit``, ``vce(robust|cluster)`` ([U] 20.22, [R] maximize: Methods and
    formulas; [P] _robust). Inference is normal.
    """
    Hi = np.asarray(hess_inv, dtype=float)
    if kind in ("classical", "oim"):
        V = -Hi
        return (V + V.T) / 2, VarianceInfo("oim", dof_rule="-H^-1")
    if scores is None:
        raise ValueError(f"vcov={kind!r} needs the per-observation scores")
    s = np.asarray(scores, dtype=float)
    n = s.shape[0]
    if kind == "robust":
        V = sandwich(Hi, s.T @ s) * n / (n - 1)
        return V, VarianceInfo("robust", dof_rule="N/(N-1)")
    if kind == "cluster":
        if clusters is None:
            raise ValueError("vcov='cluster' needs cluster codes")
        c = np.asarray(clusters)
        if c.ndim == 2:
            c = c[:, 0]
        meat, G = meat_cluster(c, s)
        V = sandwich(Hi, meat) * G / (G - 1)
        return V, VarianceInfo("cluster", clusters=tuple(cluster_names)[:1] or ("cluster",), n_clusters=(G,),
                               dof_rule="G/(G-1)")
    raise ValueError(f"ml_sandwich supports classical|robust|cluster, got {kind!r}")


def wald_zero(coef: np.ndarray, V: np.ndarray, idx: Sequence[int], null: str) -> TestResult:
    """Wald χ² test that ``coef[idx]`` are all zero (:func:`~clusterecon.estimators.results.wald_zero_test`)."""
    from .results import wald_zero_test

    return wald_zero_test(coef, V, idx, null)
