"""From (SurveyPanel | DataFrame, formula) to numeric arrays, counting every observation left out.

Shared by all estimators so that listwise deletion, duplicate-index refusal and the ``(firm, year)`` index
conventions are written once. Formulas are Wilkinson formulas parsed by formulaic (the library linearmodels
uses): ``"log_sales ~ grant + C(year)"``. ``C(x)``, ``np.log(x)``, interactions ``a:b`` and ``a*b`` work as in
statsmodels/linearmodels. A constant is included unless the formula has ``- 1`` or ``+ 0``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..formula_guard import check_formula, formula_columns, level_lists, model_matrix
from ..panel import MISSING_WHY, SurveyPanel
from .errors import SpecificationError
from .panel_terms import apply_panel_terms, panel_terms
from .predict import Terms
from .results import Omitted

__all__ = ["Design", "SpecificationError", "as_panel_frame", "build_design", "panel_shape", "listwise_keep",
           "refuse_unsupported_formula", "required_variables"]


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
    """The columns ``formula`` uses (sorted), the arguments of ``center``/``scale``/``poly``/``bs`` included
    (formulaic's own ``required_variables`` leaves those out, and listwise deletion would then not see them)."""
    return sorted(formula_columns(formula))


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
    refuse_unsupported_formula(formula, df)
    user_formula = formula
    formula, transforms = panel_terms(formula)
    df = apply_panel_terms(df, transforms)
    reasons = {t.name: t.reason for t in transforms}
    needed = [v for v in required_variables(formula) if v not in ("np", "C")]
    idx_names = [n for n in df.index.names if n is not None]
    cols = [c for c in dict.fromkeys([*needed, *extra]) if c not in idx_names]
    missing_cols = [c for c in cols if c not in df.columns]
    known_funcs = {"np", "log", "exp", "sqrt", "center", "scale", "C", "I", "poly", "bs"}
    missing_cols = [c for c in missing_cols if c not in known_funcs]
    if missing_cols:
        raise SpecificationError(f"column(s) {missing_cols} not found; available: {list(df.columns)[:40]}")
    work = df[cols].reset_index()
    for n in idx_names:
        if n in needed or n in extra:
            work[n] = work[n]
    work, omitted = _listwise(work, cols, reasons, df)
    work = _within_levels(work, formula, omitted)
    _refuse_non_finite(user_formula, {c: work[c] for c in work.columns if pd.api.types.is_float_dtype(work[c])})
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
    return refuse_non_finite(Design(
        y=np.asarray(lhs, dtype=float).ravel(),
        X=X,
        names=names,
        depvar=str(lhs.columns[0]),
        index=index,
        extra=extra_df,
        omitted=tuple(omitted),
        has_constant=has_const,
        formula=user_formula,
        terms=Terms(names, mm.rhs.model_spec, transforms),
    ))

def refuse_unsupported_formula(formula: str, df: pd.DataFrame) -> None:
    """A SpecificationError for what passes the formula whitelist but has no meaning in an estimation formula here:
    ``|`` (formulaic's multi-part formulas: fixed effects or instruments in other packages) and the firm
    identifier (the panel's entity index) used as a plain variable."""
    if "|" in re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"", "", formula):
        raise SpecificationError(
            f"formula {formula!r}: '|' (a multi-part formula) is not supported by clusterecon's estimators: for firm "
            "fixed effects use the within estimator (or C(firm_id)); instruments are options of the estimators "
            "that take them (dynamic_gmm's gmm=/iv=, hausman_taylor's endog_varying=...); an interaction is "
            "'a:b' or 'a*b'")
    entity = df.index.names[0] if isinstance(df.index, pd.MultiIndex) else None
    if entity is not None and entity not in df.columns and entity in formula_columns(formula, bare=True):
        raise SpecificationError(
            f"formula {formula!r}: {entity!r} is the panel's firm identifier (its entity index), not a variable: "
            f"use C({entity}) for firm dummies, or the within estimator for firm fixed effects")


def refuse_non_finite(d: Design) -> Design:
    """``d`` unchanged, or a SpecificationError naming every column of y, X and the numeric extra columns
    (weights, clusters) with ±inf or NaN values and how many rows: estimates would silently become NaN."""
    _refuse_non_finite(d.formula, {
        d.depvar: d.y, **{n: d.X[:, j] for j, n in enumerate(d.names)},
        **{c: d.extra[c] for c in d.extra.columns
           if pd.api.types.is_numeric_dtype(d.extra[c]) and not pd.api.types.is_bool_dtype(d.extra[c])}})
    return d


def _refuse_non_finite(formula: str, columns: dict[str, Any]) -> None:
    bad = {k: int((~np.isfinite(np.asarray(v, dtype=float))).sum()) for k, v in columns.items()}
    bad = {k: v for k, v in bad.items() if v}
    if bad:
        raise SpecificationError(
            f"formula {formula!r}: non-finite values (inf, -inf) in " + ", ".join(
                f"{k} ({v} row{'s' if v > 1 else ''})" for k, v in bad.items())
            + ": estimates would be NaN. Fix or drop those rows ('clusterecon validate' lists them), or for a log "
              "of zero derive the column with clusterecon.derive, which leaves it missing and records it")


def listwise_keep(frame: pd.DataFrame, cols: Sequence[str], reasons: dict[str, str] | None = None,
                  ) -> tuple[np.ndarray, list[Omitted]]:
    """The rows of ``frame`` with a value in every column of ``cols``, and the others counted per reason (the first
    missing column of each row; "missing <col>" unless ``reasons`` names it). A derived column that says why it is
    missing (``frame.attrs[MISSING_WHY]``, e.g. log_sales: sales <= 0; va_per_worker: employees <= 0) is split
    into the causes its rule names, following missing inputs down to their own rules ("missing material_cost"
    for a log of value added), and "missing <col>" for the rest. Refuses when no row is left. The one listwise
    rule of :func:`build_design` and the formulaic-free :func:`~clusterecon.estimators.linear.fast_design`."""
    why = frame.attrs.get(MISSING_WHY, {})
    omitted: list[Omitted] = []
    keep = np.ones(len(frame), dtype=bool)
    for c in cols:
        miss = frame[c].isna().to_numpy() & keep
        if miss.any():
            omitted += _omissions(frame, miss, (reasons or {}).get(c, f"missing {c}"), c, why)
            keep &= ~miss
    if not keep.any():
        raise SpecificationError("no observations left after dropping missing values (" + ", ".join(
            f"{o.n:,} {o.reason}" for o in omitted) + ")" if omitted else "no observations (the data have no rows)")
    return keep, omitted


def _conditions(rule: Any) -> list[dict]:
    """A MISSING_WHY rule as its list of conditions (one condition may be given as a bare dict)."""
    return [rule] if isinstance(rule, dict) else list(rule or ())


def _omissions(frame: pd.DataFrame, miss: np.ndarray, reason: str, column: str, why: dict) -> list[Omitted]:
    """``miss`` counted per cause, in the order found; equal causes reached by different paths are summed."""
    counts: dict[str, int] = {}
    for r, m in _causes(frame, miss, reason, column, why, frozenset()):
        counts[r] = counts.get(r, 0) + int(m.sum())
    return [Omitted(r, n) for r, n in counts.items()]


def _causes(frame: pd.DataFrame, miss: np.ndarray, reason: str, column: str, why: dict, seen: frozenset):
    """(cause, rows) pairs explaining the rows ``miss`` of ``column`` by its rule's conditions: a missing input is
    explained by that input's own rule; a condition's ``at_most`` threshold by its ``why``; a condition without a
    source explains every row still unexplained; rows left over keep ``reason``."""
    rest = miss.copy()
    for cond in _conditions(why.get(column)) if column not in seen else ():
        src = cond.get("source")
        if src is None:
            if rest.any():  # (every row explained already: no empty record)
                yield str(cond.get("why")), rest
            return
        if src not in frame.columns:
            continue
        x = pd.to_numeric(frame[src], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        absent = rest & np.isnan(x)
        if absent.any():
            yield from _causes(frame, absent, f"missing {src}", src, why, seen | {column})
        rest &= ~absent
        if cond.get("at_most") is not None:
            below = rest & (x <= float(cond["at_most"]))
            if below.any():
                yield str(cond.get("why")), below
            rest &= ~below
    if rest.any():
        yield reason, rest


def _rule_sources(why: dict, cols: Sequence[str]) -> list[str]:
    """Every column the MISSING_WHY rules of ``cols`` refer to, directly or through an input's own rule."""
    out: list[str] = []
    todo = [c for c in cols if c in why]
    while todo:
        for cond in _conditions(why.get(todo.pop())):
            src = cond.get("source")
            if src is not None and src not in out:
                out.append(src)
                todo.append(src)
    return out


def _listwise(work: pd.DataFrame, cols: Sequence[str], reasons: dict[str, str], frame: pd.DataFrame,
              ) -> tuple[pd.DataFrame, list[Omitted]]:
    """:func:`listwise_keep` of ``work`` (``frame``'s rows, in order, reset), with boolean and nullable numeric
    columns as floats so that formulaic treats them as numbers."""
    keep, omitted = listwise_keep(work.set_axis(frame.index).pipe(_with_attrs, frame, cols), cols, reasons)
    work = work.loc[keep].reset_index(drop=True)
    for c in work.columns:
        if pd.api.types.is_bool_dtype(work[c]):
            work[c] = work[c].astype("float64")
        elif isinstance(work[c].dtype, (pd.Int64Dtype, pd.Float64Dtype)) or str(work[c].dtype) in (
                "Int64", "Int32", "Int16", "Int8", "Float64", "Float32"):
            work[c] = work[c].astype("float64")
    return work, omitted


def _with_attrs(work: pd.DataFrame, frame: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """``work`` with the source columns ``frame.attrs[MISSING_WHY]`` refers to (and its attrs)."""
    why = frame.attrs.get(MISSING_WHY, {})
    extra = {s: frame[s] for s in _rule_sources(why, cols) if s in frame.columns and s not in work.columns}
    out = work.assign(**extra) if extra else work
    out.attrs = {MISSING_WHY: why} if why else {}
    return out


def _within_levels(work: pd.DataFrame, formula: str, omitted: list[Omitted]) -> pd.DataFrame:
    """``work`` without the rows whose value is outside the ``levels=`` of a ``C(x, levels=[...])`` in ``formula``,
    counted in ``omitted`` (formulaic would code them silently as the reference level)."""
    for col, levels, piece in level_lists(formula):
        if col is None:
            raise SpecificationError(f"formula {formula!r}: {piece}: levels= needs a column as the first argument "
                                     "of C() (derive the expression as a column first), so that the rows outside "
                                     "the levels can be left out and counted")
        inside = work[col].isin(levels).to_numpy()
        if not inside.all():
            omitted.append(Omitted(f"{col} not among the levels of {piece}", int((~inside).sum())))
            work = work.loc[inside].reset_index(drop=True)
            if len(work) == 0:
                raise SpecificationError(f"no observations left: no value of {col} is among the levels of {piece}")
    return work


def panel_shape(index: pd.MultiIndex) -> dict[str, Any]:
    """Number of entities and T min/mean/max of an estimation sample."""
    counts = pd.Series(1, index=index).groupby(level=0, observed=True).size()
    return {"n_entities": int(len(counts)), "t_min": int(counts.min()), "t_mean": float(counts.mean()),
            "t_max": int(counts.max())}
