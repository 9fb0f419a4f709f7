"""Shared machinery of the linear panel estimators: sample, OLS on transformed data, variance, result.

``fit_linear`` is OLS with named collinearity handling (used by pooled, within, between, first difference and
the random-effects family); ``prepare`` turns (data, formula, options) into arrays plus cluster/weight columns;
``variance`` wraps :func:`~clusterecon.estimators.covariance.ols_covariance` with the cluster bookkeeping and the
few-clusters warning. ``fast_design`` is a formulaic-free path for formulas made of plain column names, which
matters at millions of rows (formulaic builds a pandas frame per term); it drops and counts missing values exactly
as :func:`~clusterecon.estimators.design.build_design` does.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .covariance import check_dof, cluster_codes, ols_covariance
from .design import Design, SpecificationError, as_panel_frame, build_design, refuse_non_finite
from .results import Omitted, VarianceInfo

VCOV_KINDS = ("classical", "robust", "cluster", "cluster2", "driscoll-kraay")
FEW_CLUSTERS = 10
_PLAIN = re.compile(r"^\s*([A-Za-z_]\w*)\s*~\s*(-?\s*[A-Za-z_0-9]\w*(\s*[+-]\s*[A-Za-z_0-9]\w*)*)\s*$")


@dataclass
class LinearFit:
    """OLS on (possibly transformed) data after dropping collinear columns."""

    coef: np.ndarray
    resid: np.ndarray
    bread: np.ndarray  # (X'WX)^-1 of the kept columns
    names: tuple[str, ...]
    keep: np.ndarray  # indices of kept columns in the input
    dropped: list[tuple[str, str]] = field(default_factory=list)
    ssr: float = 0.0


def fit_linear(y: np.ndarray, X: np.ndarray, names: Sequence[str], *, weights: np.ndarray | None = None,
               raw_scale: np.ndarray | None = None, absorbed_what: str = "the fixed effects",
               collinear: str = "drop", hint: str = "", tol: float = 1e-9) -> LinearFit:
    """OLS of y on X (weighted by analytic ``weights``), dropping collinear columns by name.

    A column whose sum of squares after the transformation is ≤ ``tol`` × its pre-transformation centred sum of
    squares (``raw_scale``) is "collinear with ``absorbed_what``" (e.g. schooling under firm effects). A column
    that is a linear combination of earlier kept columns is dropped as Stata does (later columns go first).
    ``collinear="raise"`` refuses instead. Returns coefficients, residuals y − Xb (unweighted) and (X'WX)⁻¹.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(names)
    if weights is None:
        xtx = X.T @ X
    else:  # column by column: no (n, k) temporary
        xtx = np.empty((X.shape[1], X.shape[1]))
        buf = np.empty(len(y))
        for j in range(X.shape[1]):
            xtx[:, j] = X.T @ np.multiply(X[:, j], weights, out=buf)
    diag = np.diag(xtx)
    why: dict[int, str] = {}
    for j in range(X.shape[1]):
        if raw_scale is not None and (diag[j] <= tol * max(raw_scale[j], 1e-300) or raw_scale[j] == 0):
            why[j] = f"collinear with {absorbed_what}" + (f"; {hint}" if hint else "")
        elif diag[j] == 0:
            why[j] = "all zero in the estimation sample"
    cand = np.array([j for j in range(X.shape[1]) if j not in why], dtype=int)
    keep = cand[independent_in_gram(xtx[np.ix_(cand, cand)], tol, tiny=0.0)]
    why.update((int(j), "collinear with other regressors") for j in cand if j not in keep)
    dropped = [(names[j], why[j]) for j in sorted(why)]
    if dropped and collinear == "raise":
        raise SpecificationError("; ".join(f"{n}: {why}" for n, why in dropped) +
                                 " (pass collinear='drop' to drop it with a warning)")
    if dropped:
        warn_dropped(dropped)
    if not len(keep):
        raise SpecificationError("no regressor left to estimate: " + "; ".join(f"{n}: {w}" for n, w in dropped))
    check_dof(len(y), len(keep))
    K = keep
    Xk = X if len(K) == X.shape[1] else X[:, K]
    sub = xtx[np.ix_(K, K)]
    bread = np.linalg.inv(sub)
    bread = (bread + bread.T) / 2
    xty = Xk.T @ (y if weights is None else y * weights)
    coef = bread @ xty
    resid = Xk @ coef
    np.subtract(y, resid, out=resid)
    ssr = float(resid @ (resid if weights is None else resid * weights))
    return LinearFit(coef, resid, bread, tuple(names[j] for j in keep), K, dropped, ssr)


def ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares through the normal equations: (b, residuals, (X'X)⁻¹); X must have full column rank (select
    columns with :func:`independent_columns` first). :func:`fit_linear` is the version that drops and names."""
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ (X.T @ y)
    return b, y - X @ b, xtx_inv


def independent_in_gram(G: np.ndarray, tol: float = 1e-9, *, tiny: float = 1e-24) -> np.ndarray:
    """Indices of a maximal set of linearly independent columns from the cross-product matrix G = X'X alone (no
    pass over the data), earlier columns kept first (Stata omits the later of collinear regressors).

    Column j is kept if its residual sum of squares on the kept columns exceeds ``tol`` × its own sum of squares;
    a column whose sum of squares is ≤ ``tiny`` × the largest one is treated as zero and skipped. The collinearity
    rule of every linear and ML estimator here (:func:`fit_linear`, :func:`drop_collinear`, random effects).
    """
    keep: list[int] = []
    diag = np.diag(G)
    top = max(float(diag.max()), 1e-300) if len(diag) else 1.0
    for j in range(G.shape[0]):
        if diag[j] <= tiny * top:
            continue
        if keep:
            K = np.asarray(keep)
            v = G[K, j]
            resid = diag[j] - v @ np.linalg.solve(G[np.ix_(K, K)], v)
        else:
            resid = diag[j]
        if resid > tol * diag[j]:
            keep.append(j)
    return np.asarray(keep, dtype=int)


def independent_columns(X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """:func:`independent_in_gram` of X'X."""
    return independent_in_gram(X.T @ X, tol)


def drop_collinear(X: np.ndarray, names: Sequence[str], tol: float = 1e-10,
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """(X with the independent columns, their names, the names dropped) by :func:`independent_in_gram` of the
    uncentred X'X (all-zero columns dropped); for the ML estimators, which report the names."""
    keep = independent_in_gram(X.T @ X, tol, tiny=0.0)
    kept = set(keep.tolist())
    return X[:, keep], [names[j] for j in keep], [names[j] for j in range(X.shape[1]) if j not in kept]


def fast_design(data: SurveyPanel | pd.DataFrame, formula: str, extra: Sequence[str] = ()) -> Design:
    """:func:`build_design` for formulas of plain column names (``y ~ x1 + x2``, ``- 1`` allowed); falls back to
    formulaic otherwise. Identical sample, names and omission counts."""
    m = _PLAIN.match(formula)
    df = as_panel_frame(data)
    if m is None:
        return build_design(data, formula, extra=extra)
    dep = m.group(1)
    terms = [t.strip() for t in re.split(r"(?=[+-])", m.group(2)) if t.strip()]
    rhs, const = [], True
    for t in terms:
        sign, name = ("-", t[1:].strip()) if t.startswith("-") else ("+", t.lstrip("+").strip())
        if name in ("0", "1"):
            if name == "0" or sign == "-":
                const = False
            continue
        if sign == "-" or name.isdigit():
            return build_design(data, formula, extra=extra)
        rhs.append(name)
    idx_names = [n for n in df.index.names if n is not None]
    needed = sorted(set([dep, *rhs]))
    cols = [c for c in dict.fromkeys([*needed, *extra]) if c not in idx_names]
    missing_cols = [c for c in cols if c not in df.columns]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    if any(not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])) for c in [dep, *rhs]):
        return build_design(data, formula, extra=extra)
    keep = np.ones(len(df), dtype=bool)
    omitted = []
    arrays = {}
    for c in cols:
        s = df[c]
        miss = s.isna().to_numpy() & keep
        if miss.any():
            omitted.append(Omitted(f"missing {c}", int(miss.sum())))
            keep &= ~miss
    if not keep.any():
        raise SpecificationError(f"no observations left after dropping missing values ({omitted})")
    for c in dict.fromkeys([dep, *rhs]):
        arrays[c] = df[c].to_numpy(dtype=float, na_value=np.nan)[keep] if not keep.all() else \
            df[c].to_numpy(dtype=float, na_value=np.nan)
    n = int(keep.sum())
    X = np.empty((n, len(rhs) + const), order="F")
    if const:
        X[:, 0] = 1.0
    for j, c in enumerate(rhs):
        X[:, j + const] = arrays[c]
    names = (("Intercept",) if const else ()) + tuple(rhs)
    index = df.index[keep] if not keep.all() else df.index
    extra_cols = [c for c in extra if c not in idx_names]
    extra_df = df.loc[keep, extra_cols].reset_index(drop=True) if extra_cols else pd.DataFrame(index=range(n))
    for c in extra:
        if c in idx_names:
            extra_df[c] = np.asarray(index.get_level_values(c))
    return refuse_non_finite(Design(y=arrays[dep], X=X, names=names, depvar=dep, index=index, extra=extra_df,
                                    omitted=tuple(omitted), has_constant=const, formula=formula))


@dataclass
class Prepared:
    design: Design
    weights: np.ndarray | None
    cluster_cols: tuple[str, ...]
    frame: pd.DataFrame  # extra columns indexed like the sample (for cluster codes)


def cluster_columns(data: SurveyPanel | pd.DataFrame, cluster: str | Sequence[str] | None) -> tuple[str, ...]:
    """The cluster variables that are columns rather than index levels, to carry through the sample selection."""
    if cluster is None:
        return ()
    names = (cluster,) if isinstance(cluster, str) else tuple(cluster)
    idx = [n for n in as_panel_frame(data).index.names if n is not None]
    return tuple(c for c in names if c not in idx)


def design_clusters(design: Design, cluster: str | Sequence[str] | None, *, rows: np.ndarray | None = None,
                    entity: np.ndarray | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer cluster codes for the rows of ``design`` and the cluster names (for the variance and its label).

    ``cluster=None`` is the firm (``entity``: its codes, if already computed); one name or two (two-way). ``rows``:
    boolean mask of the rows an ML estimator kept (after perfect-prediction drops); codes are then renumbered.
    """
    if cluster is None:
        names: tuple[str, ...] = (str(design.index.names[0] or "firm"),)
        if entity is not None and rows is None:
            return entity, names
    else:
        names = (cluster,) if isinstance(cluster, str) else tuple(map(str, cluster))
        idx_names = [n for n in design.index.names if n is not None]
        missing = [c for c in names if c not in idx_names and c not in design.extra.columns]
        if missing:
            raise SpecificationError(f"cluster column(s) {missing} not in the estimation frame")
    frame = design.extra.set_axis(design.index)
    if rows is not None:
        frame = frame.loc[rows]
    codes = cluster_codes(frame, cluster)
    if rows is not None and codes.ndim == 1:
        codes = pd.factorize(codes, sort=True)[0]
    return codes, names


def _cluster_list(vcov: str, cluster: str | Sequence[str] | None, entity: str, time: str) -> tuple[str, ...]:
    if vcov == "cluster":
        if cluster is None:
            return (entity,)
        return (cluster,) if isinstance(cluster, str) else tuple(cluster)[:1]
    if vcov == "cluster2":
        if cluster is None:
            return (entity, time)
        c = (cluster,) if isinstance(cluster, str) else tuple(cluster)
        if len(c) != 2:
            raise SpecificationError(f"vcov='cluster2' needs two cluster variables, got {c}")
        return c
    return ()


def prepare(data: SurveyPanel | pd.DataFrame, formula: str, *, vcov: str, cluster, weights: str | None,
            extra: Sequence[str] = ()) -> Prepared:
    if vcov not in VCOV_KINDS:
        raise SpecificationError(f"vcov must be one of {VCOV_KINDS}, got {vcov!r}")
    df = as_panel_frame(data)
    entity, time = (str(n) for n in df.index.names)
    clus = _cluster_list(vcov, cluster, entity, time)
    idx = {entity, time}
    ext = [c for c in dict.fromkeys([*clus, *([weights] if weights else []), *extra]) if c and c not in idx]
    d = fast_design(data, formula, extra=ext)
    w = None
    if weights:
        w = np.asarray(d.extra[weights], dtype=float)
        if (w <= 0).any() or not np.isfinite(w).all():
            bad = int(((w <= 0) | ~np.isfinite(w)).sum())
            raise SpecificationError(f"weights column {weights!r} has {bad} non-positive or infinite values; "
                                     "drop those rows or fix the weights")
    frame = d.extra.copy()
    frame.index = d.index
    return Prepared(d, w, clus, frame)


def variance(X: np.ndarray, resid: np.ndarray, bread: np.ndarray, vcov: str, prep: Prepared, *,
             dof: str = "stata", n_absorbed: int = 0, n_partialled: int = 0, entity_codes: np.ndarray | None = None,
             weights: np.ndarray | None = None, time_codes: np.ndarray | None = None,
             ) -> tuple[np.ndarray, VarianceInfo, float | None]:
    """Variance with cluster codes looked up by name; warns when there are fewer than 10 clusters; works out which
    absorbed firm effects are nested within the first cluster variable (for ``dof="reghdfe"``)."""
    clusters = None
    n_nested = 0
    if prep.cluster_cols:
        entity = str(prep.design.index.names[0])
        if prep.cluster_cols == (entity,) and entity_codes is not None:
            clusters = entity_codes
        else:
            clusters = cluster_codes(prep.frame, prep.cluster_cols if len(prep.cluster_cols) > 1 else
                                     prep.cluster_cols[0])
        c1 = clusters if clusters.ndim == 1 else clusters[:, 0]
        if dof == "reghdfe" and entity_codes is not None and n_absorbed and (
                c1 is entity_codes or _nested(entity_codes, c1)):
            n_nested = int(entity_codes.max()) + 1
        warn_few_clusters(clusters, prep.cluster_cols)
    if vcov == "driscoll-kraay" and time_codes is None:
        time_codes = np.asarray(prep.design.index.get_level_values(1))
    return ols_covariance(X, resid, vcov, bread=bread, clusters=clusters, time=time_codes, dof=dof,
                          n_absorbed=n_absorbed, n_partialled=n_partialled, weights=weights, n_nested=n_nested,
                          cluster_names=prep.cluster_cols)


def warn_dropped(dropped: Sequence[tuple[str, str]], stacklevel: int = 4) -> None:
    """The one warning for regressors left out, naming each with its reason (they are also in the result)."""
    warnings.warn("dropped regressor(s): " + "; ".join(f"{n} ({why})" for n, why in dropped), stacklevel=stacklevel)


def warn_few_clusters(codes: np.ndarray, names: Sequence[str], stacklevel: int = 4) -> None:
    """Warn when a cluster dimension of ``codes`` (integer codes, one column per dimension) has fewer than
    ``FEW_CLUSTERS`` levels."""
    gs = [int(c.max()) + 1 for c in (codes.T if codes.ndim == 2 else [codes])]
    if min(gs) < FEW_CLUSTERS:
        warnings.warn(f"only {min(gs)} clusters in {tuple(names)}: cluster-robust inference is unreliable with "
                      "fewer than about 10 clusters (consider a wild cluster bootstrap)", stacklevel=stacklevel)


def _nested(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True if every level of ``inner`` sits in a single level of ``outer``."""
    g = int(inner.max()) + 1
    lo = np.full(g, np.iinfo(np.int64).max)
    hi = np.full(g, -1)
    np.minimum.at(lo, inner, outer)
    np.maximum.at(hi, inner, outer)
    return bool((lo == hi).all())


def centred_ss(X: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Centred sum of squares per column (the constant column gets its raw sum of squares)."""
    w = np.ones(len(X)) if weights is None else weights
    mu = (w @ X) / w.sum()
    ss = w @ (X - mu) ** 2
    const = ss <= 1e-12 * (w @ X**2)
    ss[const] = (w @ X**2)[const]
    return ss


def corr2(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def time_codes_of(index: pd.MultiIndex) -> np.ndarray:
    """Calendar periods as integers (so a gap of two years is a lag of two in Driscoll–Kraay)."""
    t = index.get_level_values(1)
    if pd.api.types.is_integer_dtype(t) or pd.api.types.is_float_dtype(t):
        return np.asarray(t, dtype=np.int64)
    return pd.factorize(t, sort=True)[0].astype(np.int64)
