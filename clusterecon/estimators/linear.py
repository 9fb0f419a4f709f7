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
from typing import Any

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from .covariance import check_dof, cluster_codes
from .design import Design, SpecificationError, as_panel_frame, build_design, listwise_keep, refuse_non_finite
from .fit import Fit, warn_few_clusters  # noqa: F401 (re-exported for the RE family)
from .predict import Terms
from .results import VarianceInfo
from .variance import LS_KINDS, VarianceSpec, parse_vcov

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


def scaled_gram(G: np.ndarray) -> np.ndarray:
    """G with every column scaled to unit sum of squares (zero columns stay zero): the collinearity rule on it
    does not depend on the units of a regressor (a column of 1e-8s and one of 1e8s are treated alike)."""
    d = np.sqrt(np.diag(G))
    d = np.where(d > 0, d, 1.0)
    return G / np.outer(d, d)


def independent_columns(X: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """:func:`independent_in_gram` of the unit-scaled X'X (exactly zero columns are dropped)."""
    return independent_in_gram(scaled_gram(X.T @ X), tol, tiny=0.0)


def drop_collinear(X: np.ndarray, names: Sequence[str], tol: float = 1e-10,
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """(X with the independent columns, their names, the names dropped) by :func:`independent_in_gram` of the
    uncentred X'X (all-zero columns dropped); for the ML estimators, which report the names."""
    keep = independent_in_gram(scaled_gram(X.T @ X), tol, tiny=0.0)  # units do not decide collinearity
    kept = set(keep.tolist())
    return X[:, keep], [names[j] for j in keep], [names[j] for j in range(X.shape[1]) if j not in kept]


def fast_design(data: SurveyPanel | pd.DataFrame, formula: str, extra: Sequence[str] = (), *,
                entity: str | None = None, time: str | None = None, cross_section: bool = False) -> Design:
    """:func:`build_design` for formulas of plain column names (``y ~ x1 + x2``, ``- 1`` allowed); falls back to
    formulaic otherwise. Identical sample, names and omission counts."""
    m = _PLAIN.match(formula)
    df = as_panel_frame(data, entity=entity, time=time, cross_section=cross_section)
    if m is None:
        return build_design(df, formula, extra=extra)
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
            return build_design(df, formula, extra=extra)
        rhs.append(name)
    idx_names = [n for n in df.index.names if n is not None]
    if any(c in idx_names and c not in df.columns for c in [dep, *rhs]):  # the year as a trend: formulaic's path
        return build_design(df, formula, extra=extra)
    needed = sorted(set([dep, *rhs]))
    cols = [c for c in dict.fromkeys([*needed, *extra]) if c not in idx_names]
    missing_cols = [c for c in cols if c not in df.columns]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    if any(not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])) for c in [dep, *rhs]):
        return build_design(df, formula, extra=extra)
    keep, omitted = listwise_keep(df, cols)
    arrays = {}
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
                  omitted=tuple(omitted), has_constant=const, formula=formula, terms=Terms(names)))


@dataclass
class Prepared:
    """A linear model's estimation sample with its parsed variance request and weights."""

    design: Design
    weights: np.ndarray | None
    spec: VarianceSpec
    weights_type: str | None = None

    @property
    def frame(self) -> pd.DataFrame:
        return self.design.frame()


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


WEIGHT_TYPES = ("aweight", "pweight", "fweight")


def linear_spec(vcov: str | VarianceSpec | None, cluster, dof: str, bandwidth: int | None, *,
                weights_type: str | None, supported: Sequence[str] = LS_KINDS, estimator: str) -> VarianceSpec:
    """Parse the variance request of a least-squares estimator. ``vcov=None`` is the default: classical, or HC1
    (cluster if ``cluster`` is named) with sampling weights, as Stata forces a robust variance with ``pweight``; an
    explicit classical variance with sampling weights is refused."""
    if weights_type is not None and weights_type not in WEIGHT_TYPES:
        raise SpecificationError(f"weights_type={weights_type!r}: choose one of {WEIGHT_TYPES} (Stata's aweight, "
                                 "pweight, fweight)")
    if vcov is None:
        vcov = "classical" if weights_type != "pweight" else "hc1" if cluster is None else "cluster"
    spec = parse_vcov(vcov, cluster, dof=dof, bandwidth=bandwidth, supported=supported, estimator=estimator)
    if weights_type == "pweight" and spec.kind == "classical":
        raise SpecificationError("sampling weights (weights_type='pweight') need a robust or cluster variance: "
                                 "the classical variance treats the weights as precisions (use 'aweight')")
    return spec


def prepare(data: SurveyPanel | pd.DataFrame, formula: str, spec: VarianceSpec, *, weights: str | None,
            weights_type: str = "aweight", extra: Sequence[str] = (), entity: str | None = None,
            time: str | None = None, cross_section: bool = False) -> Prepared:
    """Estimation sample of a linear model: the formula's columns, the cluster and weight columns carried along
    (``cross_section``: a plain frame is a cross-section, each row its own unit)."""
    df = as_panel_frame(data, entity=entity, time=time, cross_section=cross_section)
    idx = {str(n) for n in df.index.names}
    ext = [c for c in dict.fromkeys([*spec.clusters, *([weights] if weights else []), *extra]) if c and c not in idx]
    d = fast_design(df, formula, extra=ext)
    w = None
    if weights:
        w = np.asarray(d.extra[weights], dtype=float)
        if (w <= 0).any() or not np.isfinite(w).all():
            bad = int(((w <= 0) | ~np.isfinite(w)).sum())
            raise SpecificationError(f"weights column {weights!r} has {bad} non-positive or infinite values; "
                                     "drop those rows or fix the weights")
        if weights_type == "fweight" and not np.all(w == np.round(w)):
            raise SpecificationError(f"frequency weights {weights!r} must be integers (counts of identical rows)")
    return Prepared(d, w, spec, weights_type if weights else None)


def design_fit(design: Design, spec: VarianceSpec, *, bread: np.ndarray, regressors: Any, resid: np.ndarray,
               **kw: Any) -> Fit:
    """The least-squares :class:`~clusterecon.estimators.fit.Fit` of a regression on the rows of ``design`` (its
    carried columns and index give the clusters, the index's years the Driscoll–Kraay periods)."""
    names = [str(n) for n in design.index.names]
    return Fit("ls", bread=bread, regressors=regressors, resid=resid, frame=design.frame(),
               time=time_codes_of(design.index), dof=spec.dof, entity=names[0], time_name=names[-1], **kw)


def ls_fit(prep: Prepared, X: np.ndarray, lfit: LinearFit, *, n_absorbed: int = 0, n_partialled: int = 0,
           supported: Sequence[str] = LS_KINDS, frame: pd.DataFrame | None = None, time: np.ndarray | None = None,
           inference: str = "ls", weights: np.ndarray | None = None, has_constant: bool = True) -> Fit:
    """The :class:`~clusterecon.estimators.fit.Fit` of a least-squares regression on ``X`` (the regressors kept);
    ``frame`` (default the design's) holds the cluster identifiers of its rows, ``time`` their calendar periods
    (default: the index's second level as integers)."""
    frame = prep.frame if frame is None else frame
    names = [str(n) for n in frame.index.names]
    if time is None and "driscoll-kraay" in supported and isinstance(frame.index, pd.MultiIndex):
        time = time_codes_of(frame.index)
    return Fit("ls", bread=lfit.bread, regressors=X, resid=lfit.resid,
               weights=prep.weights if weights is None else weights, frame=frame, time=time,
               n_absorbed=n_absorbed, n_partialled=n_partialled, has_constant=has_constant,
               supported=tuple(supported), inference=inference, dof=prep.spec.dof, entity=names[0],
               time_name=names[-1], weights_type=prep.weights_type)


def variance(X: np.ndarray, resid: np.ndarray, bread: np.ndarray, prep: Prepared, *, n_absorbed: int = 0,
             n_partialled: int = 0) -> tuple[np.ndarray, VarianceInfo, float | None]:
    """``(V, info, df)`` of a least-squares regression on the rows of ``prep`` under its parsed variance (for
    estimators assembled outside this package, e.g. 2SLS on the first-stage fitted values)."""
    from .fit import covariance

    fit = ls_fit(prep, X, LinearFit(np.empty(0), resid, bread, (), np.arange(X.shape[1])), n_absorbed=n_absorbed,
                 n_partialled=n_partialled)
    return covariance(fit, prep.spec)


def warn_dropped(dropped: Sequence[tuple[str, str]], stacklevel: int = 4) -> None:
    """The one warning for regressors left out, naming each with its reason (they are also in the result)."""
    warnings.warn("dropped regressor(s): " + "; ".join(f"{n} ({why})" for n, why in dropped), stacklevel=stacklevel)


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
