"""From (SurveyPanel | DataFrame, formula) to numeric arrays, counting every observation left out.

Shared by all estimators so that listwise deletion, duplicate-index refusal and the ``(firm, year)`` index
conventions are written once. Formulas are Wilkinson formulas parsed by formulaic (the library linearmodels
uses): ``"log_sales ~ grant + C(year)"``. ``C(x)``, ``np.log(x)``, interactions ``a:b`` and ``a*b`` work as in
statsmodels/linearmodels. A constant is included unless the formula has ``- 1`` or ``+ 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..formula_guard import check_formula, model_matrix
from ..panel import SurveyPanel
from .errors import SpecificationError
from .predict import Terms
from .results import Omitted

__all__ = ["Design", "SpecificationError", "as_panel_frame", "build_design", "panel_shape", "required_variables"]


@dataclass(frozen=True)
class Design:
    """Estimation sample: ``y`` (n,), ``X`` (n, k) with column ``names``, the (entity, time) ``index`` of the rows
    used, ``extra`` columns requested (clusters, weights, instruments' source columns) aligned with the rows, and
    ``omitted`` observations with reasons."""

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    depvar: str
    index: pd.MultiIndex
    extra: pd.DataFrame
    omitted: tuple[Omitted, ...]
    has_constant: bool
    formula: str
    terms: Terms | None = None

    @property
    def entity(self) -> np.ndarray:
        """Entity codes 0..G-1 in the order of rows."""
        return pd.factorize(self.index.get_level_values(0), sort=True)[0]

    @property
    def time(self) -> np.ndarray:
        return np.asarray(self.index.get_level_values(1))

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The carried ``extra`` columns indexed by the (entity, time) index (cluster lookups; ``rows``: a mask
        or positions of the rows kept)."""
        out = self.extra.set_axis(self.index)
        return out if rows is None else out.iloc[np.flatnonzero(rows) if np.asarray(rows).dtype == bool else rows]


def as_panel_frame(data: SurveyPanel | pd.DataFrame, *, entity: str | None = None, time: str | None = None,
                   cross_section: bool = False) -> pd.DataFrame:
    """The (entity, time)-indexed frame behind ``data``; refuses a non-unique index (linearmodels #636 trap).

    ``data`` may be a SurveyPanel, a DataFrame indexed by (firm, year), or a plain DataFrame with the firm and
    year columns named by ``entity=``/``time=`` (``time`` may be omitted for estimators that do not use the
    calendar: the rows of a firm are then numbered). Cross-section estimators (``cross_section=True``) also take a
    plain frame without either: each row is its own unit, so clustering defaults to the observation.
    """
    if isinstance(data, SurveyPanel):
        if entity is not None or time is not None:
            raise SpecificationError("entity=/time= are for plain DataFrames; a SurveyPanel is indexed by "
                                     "(firm_id, year) already")
        return data.frame
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a SurveyPanel or a pandas DataFrame, got {type(data).__name__}")
    if entity is not None or time is not None:
        data = _index_by(data, entity, time)
    elif not isinstance(data.index, pd.MultiIndex) or data.index.nlevels != 2:
        if not cross_section:
            raise SpecificationError(
                "a DataFrame passed to a panel estimator must be indexed by (firm, year): use "
                "df.set_index(['firm_id', 'year']) or pass entity='firm_id', time='year'")
        name = data.index.name or "obs"
        data = data.set_axis(pd.MultiIndex.from_arrays([data.index, np.zeros(len(data), dtype=np.int64)],
                                                       names=[name, "_time"]))
    if None in data.index.names:
        data = data.rename_axis([n if n is not None else d for n, d in zip(data.index.names, ("entity", "time"))])
    if not data.index.is_unique:
        dups = data.index[data.index.duplicated(keep=False)].unique()[:5]
        raise SpecificationError(
            f"the (firm, year) index is not unique, e.g. {list(dups)}: panel estimators would silently mix rows; "
            "drop or aggregate duplicates first (the clusterecon loaders do this with a record)")
    return data


def _index_by(df: pd.DataFrame, entity: str | None, time: str | None) -> pd.DataFrame:
    if isinstance(df.index, pd.MultiIndex):
        raise SpecificationError("entity=/time= name columns of a plain DataFrame; this one already has a "
                                 f"MultiIndex {list(df.index.names)}")
    if entity is None:
        raise SpecificationError("time= needs entity= too (the firm identifier column)")
    missing = [c for c in (entity, time) if c is not None and c not in df.columns]
    if missing:
        raise SpecificationError(f"entity/time column(s) {missing} not found; available: {list(df.columns)[:40]}")
    for c in (entity, time):
        if c is not None and df[c].isna().any():
            raise SpecificationError(f"column {c!r} has {int(df[c].isna().sum())} missing values; an observation "
                                     "needs its firm and year")
    if time is None:
        time = "_obs"
        df = df.assign(_obs=df.groupby(entity, sort=False).cumcount().to_numpy())
    return df.set_index([entity, time])


def required_variables(formula: str) -> list[str]:
    from formulaic import Formula

    check_formula(formula)
    return sorted(str(v) for v in Formula(formula).required_variables)


def build_design(
    data: SurveyPanel | pd.DataFrame,
    formula: str,
    *,
    extra: Sequence[str] = (),
    ensure_constant: bool | None = None,
    entity: str | None = None,
    time: str | None = None,
    cross_section: bool = False,
) -> Design:
    """Parse ``formula`` on ``data`` with listwise deletion over the formula's variables and ``extra`` columns.

    Observations dropped are reported per reason: "missing <var>" for the first missing variable of each row
    (so the counts add up to the rows lost).
    """
    check_formula(formula, require_lhs=True)  # a whitelist: formulaic evaluates terms as Python
    df = as_panel_frame(data, entity=entity, time=time, cross_section=cross_section)
    needed = [v for v in required_variables(formula) if v not in ("np", "C")]
    idx_names = [n for n in df.index.names if n is not None]
    cols = [c for c in dict.fromkeys([*needed, *extra]) if c not in idx_names]
    missing_cols = [c for c in cols if c not in df.columns]
    known_funcs = {"np", "log", "exp", "sqrt", "center", "scale", "C", "I", "poly", "bs", "lag"}
    missing_cols = [c for c in missing_cols if c not in known_funcs]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    work = df[cols].reset_index()
    for n in idx_names:
        if n in needed or n in extra:
            work[n] = work[n]
    omitted: list[Omitted] = []
    keep = np.ones(len(work), dtype=bool)
    for c in cols:
        miss = work[c].isna().to_numpy() & keep
        if miss.any():
            omitted.append(Omitted(f"missing {c}", int(miss.sum())))
            keep &= ~miss
    work = work.loc[keep].reset_index(drop=True)
    if len(work) == 0:
        raise SpecificationError(f"no observations left after dropping missing values ({omitted})")
    # bool/boolean extension dtypes: turn into floats so formulaic treats them as numbers.
    for c in work.columns:
        if pd.api.types.is_bool_dtype(work[c]):
            work[c] = work[c].astype("float64")
        elif isinstance(work[c].dtype, (pd.Int64Dtype, pd.Float64Dtype)) or str(work[c].dtype) in (
                "Int64", "Int32", "Int16", "Int8", "Float64", "Float32"):
            work[c] = work[c].astype("float64")
    mm = model_matrix(formula, work)
    lhs, rhs = mm.lhs, mm.rhs
    if lhs.shape[1] != 1:
        raise SpecificationError(f"formula {formula!r} must have exactly one dependent variable")
    names = tuple(str(c) for c in rhs.columns)
    X = np.asarray(rhs, dtype=float)
    has_const = "Intercept" in names
    if ensure_constant and not has_const:
        X = np.column_stack([np.ones(len(X)), X])
        names = ("Intercept", *names)
        has_const = True
    index = pd.MultiIndex.from_frame(work[idx_names]) if len(idx_names) == 2 else pd.MultiIndex.from_arrays(
        [work.index, work.index])
    extra_df = work[list(extra)].copy() if extra else pd.DataFrame(index=work.index)
    return Design(
        y=np.asarray(lhs, dtype=float).ravel(),
        X=X,
        names=names,
        depvar=str(lhs.columns[0]),
        index=index,
        extra=extra_df,
        omitted=tuple(omitted),
        has_constant=has_const,
        formula=formula,
        terms=Terms(names, mm.rhs.model_spec),
    )


def panel_shape(index: pd.MultiIndex) -> dict[str, Any]:
    """Number of entities and T min/mean/max of an estimation sample."""
    counts = pd.Series(1, index=index).groupby(level=0, observed=True).size()
    return {"n_entities": int(len(counts)), "t_min": int(counts.min()), "t_mean": float(counts.mean()),
            "t_max": int(counts.max())}
