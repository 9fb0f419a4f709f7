"""Derived variables: functions ``SurveyPanel -> SurveyPanel`` that add columns and log what they did.

Each function returns a NEW panel (the input is immutable) whose provenance gains one ``step="derive"`` entry per
column, stating the formula, the convention chosen and every row it could not compute. Rows are reported as the
original file's record numbers when the panel carries a ``source_row`` column (the loaders keep it), otherwise the
count is exact and the first (firm_id, year) pairs are listed in the entry's detail.

Conventions (stated because the literature differs):

* firm age :math:`a_{it} = t - \\text{founding\\_year}_i` (0 in the founding year; pass ``plus_one=True`` for the
  "1 in the founding year" convention);
* entry cohort: founding decade by default (1990 = founded 1990–1999), or user bins, left-closed;
* value added :math:`VA_{it} = \\text{sales}_{it} - \\text{material\\_cost}_{it}` (gross of wages, as in the
  Sonobe–Otsuka case studies);
* real values :math:`x^{real}_{it} = x_{it} \\, D_{b} / D_{t}` (prices of base year *b*; *D* by year, optionally by
  industry);
* labour productivity :math:`VA_{it} / L_{it}` (or sales per employee);
* logs: zeros and negatives never pass silently -- ``policy="na"`` sets them missing and records the rows,
  ``"drop"`` removes the firm-years and records them, ``"constant"`` takes :math:`\\ln(x + c)` with the constant
  stated in the log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema
from .panel import MISSING_WHY, SurveyPanel
from .provenance import ProvenanceEntry, ProvenanceLog

LOG_POLICIES = ("na", "drop", "constant")


class DeriveError(ValueError):
    """A derived variable cannot be computed as asked; the message names the column and the fix."""


# ---------------------------------------------------------------------------------------------------- helpers
def _need(panel: SurveyPanel, *cols: str) -> pd.DataFrame:
    f = panel.frame
    miss = [c for c in cols if c not in f.columns]
    if miss:
        raise DeriveError(f"cannot derive: column(s) {', '.join(map(repr, miss))} not in the panel; map them in the "
                          "loader's mapping or derive them first")
    return f


def _where(panel: SurveyPanel, mask: np.ndarray) -> tuple[list[int], dict[str, Any]]:
    """Original record numbers (when known) and example (firm_id, year) keys of the firm-years in ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    keys = panel.data.index[mask]
    detail = {"examples": [f"{f}/{y}" for f, y in keys[:10]]}
    if "source_row" in panel.data.columns:
        rows = pd.to_numeric(panel.data["source_row"], errors="coerce").to_numpy()[mask]
        return [int(r) for r in rows if not np.isnan(r)], detail
    return [], detail


def _with(panel: SurveyPanel, *, data: pd.DataFrame | None = None, firms: pd.DataFrame | None = None,
          entries: Sequence[ProvenanceEntry] = (), labels: dict[str, str] | None = None) -> SurveyPanel:
    lab = dict(panel.labels)
    lab.update(labels or {})
    return panel.replace(data=panel.data if data is None else data, firms=panel.firms if firms is None else firms,
                         provenance=tuple(panel.provenance) + tuple(entries), labels=lab)


def _entry(action: str, column: str, mask: np.ndarray | None = None, panel: SurveyPanel | None = None,
           **detail: Any) -> ProvenanceEntry:
    log = ProvenanceLog()
    if mask is not None and panel is not None and np.asarray(mask).any():
        rows, extra = _where(panel, mask)
        detail.update(extra)
        return log.add("derive", action, column=column, rows=rows or None, n_rows=int(np.asarray(mask).sum()),
                       **detail)
    return log.add("derive", action, column=column, n_rows=0, **detail)


def _float(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _set_firm_year(panel: SurveyPanel, name: str, values: np.ndarray | pd.Series) -> pd.DataFrame:
    data = panel.data.copy()
    data[name] = pd.array(np.asarray(values, dtype=np.float64), dtype="Float64")
    return data


def explain_missing(data: pd.DataFrame, **rules: Any) -> pd.DataFrame:
    """``data`` with the MISSING_WHY rules of derived columns added (see :data:`clusterecon.panel.MISSING_WHY`), so
    that the estimators' omission records say why a derived value is missing, not just that it is."""
    data.attrs = {**data.attrs, MISSING_WHY: {**data.attrs.get(MISSING_WHY, {}), **rules}}
    return data


# ---------------------------------------------------------------------------------------------------- firm age, cohort
def add_age(panel: SurveyPanel, *, name: str = "age", plus_one: bool = False) -> SurveyPanel:
    """Firm age :math:`t - \\text{founding\\_year}` (``+1`` with ``plus_one``); negative ages become NA, recorded."""
    f = _need(panel, "founding_year")
    year = panel.data.index.get_level_values("year").to_numpy(dtype=np.float64)
    age = year - _float(f["founding_year"]) + (1 if plus_one else 0)
    neg = age < 0
    age[neg] = np.nan
    entries = [_entry(f"{name} = year - founding_year{' + 1' if plus_one else ''}", name)]
    if neg.any():
        entries.append(_entry(f"{name} set missing where founding_year is after the year", name, neg, panel))
    data = _set_firm_year(panel, name, age)
    return _with(panel, data=data, entries=entries, labels={name: "Firm age (years)"})


def add_cohort(panel: SurveyPanel, *, bins: Sequence[int] | None = None, width: int = 10,
               name: str = "entry_cohort") -> SurveyPanel:
    """Entry cohort of each firm from ``founding_year`` (firm level).

    Default: the start of the founding ``width``-year period (1990 for 1990–1999 with ``width=10``), an integer.
    With ``bins`` (increasing edges), left-closed intervals labelled ``"1980–1989"``; founding years outside the
    bins are NA and recorded.
    """
    _need(panel, "founding_year")
    fy = _float(panel.firms["founding_year"])
    firms = panel.firms.copy()
    entries = []
    if bins is None:
        coh = np.floor(fy / width) * width
        firms[name] = pd.array(coh, dtype="Float64").astype("Int64")
        entries.append(_entry(f"{name} = founding_year rounded down to its {width}-year period", name))
    else:
        edges = list(bins)
        labels = [f"{int(a)}–{int(b) - 1}" for a, b in zip(edges[:-1], edges[1:])]
        cut = pd.cut(fy, bins=edges, right=False, labels=labels)
        firms[name] = cut
        outside = ~np.isnan(fy) & pd.isna(cut)
        entries.append(_entry(f"{name} = founding_year in bins {edges} (left-closed)", name))
        if outside.any():
            entries.append(ProvenanceLog().add(
                "derive", f"{name} missing for firms founded outside the bins", column=name,
                n_rows=int(outside.sum()), firms=[str(x) for x in firms.index[outside][:20]]))
    return _with(panel, firms=firms, entries=entries, labels={name: "Entry cohort"})


def add_first_last_year(panel: SurveyPanel, *, first: str = "first_year", last: str = "last_year") -> SurveyPanel:
    """First and last observed year of each firm (firm level)."""
    y = pd.Series(panel.data.index.get_level_values("year"), index=panel.data.index.get_level_values("firm_id"))
    g = y.groupby(level=0, observed=True)
    firms = panel.firms.copy()
    firms[first] = g.min().reindex(firms.index).astype("Int64")
    firms[last] = g.max().reindex(firms.index).astype("Int64")
    entries = [_entry("first observed year of the firm", first), _entry("last observed year of the firm", last)]
    return _with(panel, firms=firms, entries=entries,
                 labels={first: "First observed year", last: "Last observed year"})


def add_balanced_flag(panel: SurveyPanel, *, name: str = "balanced") -> SurveyPanel:
    """True for firms observed in every year of the panel (firm level)."""
    n_years = len(panel.years)
    firms = panel.firms.copy()
    firms[name] = pd.array((panel.obs_per_firm.reindex(firms.index).fillna(0) == n_years).to_numpy(), dtype="boolean")
    entries = [_entry(f"{name}: firm observed in all {n_years} panel years", name,
                      n_firms_balanced=int(firms[name].sum()))]
    return _with(panel, firms=firms, entries=entries, labels={name: "Observed in every panel year"})


# ---------------------------------------------------------------------------------------------------- money
def add_value_added(panel: SurveyPanel, *, name: str = "value_added") -> SurveyPanel:
    """Value added ``sales - material_cost`` (NA where either is missing; non-positive values are kept)."""
    f = _need(panel, "sales", "material_cost")
    va = _float(f["sales"]) - _float(f["material_cost"])
    entries = [_entry(f"{name} = sales - material_cost", name, n_nonpositive=int((va <= 0).sum()),
                      n_missing=int(np.isnan(va).sum()))]
    data = explain_missing(_set_firm_year(panel, name, va),
                           **{name: [{"source": "sales"}, {"source": "material_cost"}]})
    return _with(panel, data=data, entries=entries, labels={name: "Value added"})


def _deflator_name(deflator: object) -> str:
    return f"deflator file {str(deflator)!r}" if isinstance(deflator, (str, Path)) else "deflator table"


def read_deflator(deflator: pd.DataFrame | str | Path) -> pd.DataFrame:
    """A deflator table with columns ``year``, ``deflator`` and optionally ``industry`` (DataFrame or CSV path)."""
    where = _deflator_name(deflator)
    if isinstance(deflator, (str, Path)):
        try:
            table = pd.read_csv(deflator)
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise DeriveError(f"cannot read the {where}: {e}; it must be a CSV file with columns year, deflator "
                              "and optionally industry") from None
    else:
        table = deflator.copy()
    table.columns = [str(c).strip().lower() for c in table.columns]
    miss = [c for c in ("year", "deflator") if c not in table.columns]
    if miss:
        raise DeriveError(f"{where} lacks column(s) {miss}; it needs year, deflator and optionally industry")
    if table.empty:
        raise DeriveError(f"{where} has no rows: it needs one row per year (year, deflator)")
    for col, ok in (("year", lambda v: v.notna() & (v == v.round())),
                    ("deflator", lambda v: np.isfinite(v.to_numpy(dtype=float, na_value=np.nan)) & (v > 0))):
        v = pd.to_numeric(table[col], errors="coerce")
        bad = ~ok(v)
        if bad.any():
            rows = [int(i) + 2 for i in np.flatnonzero(bad.to_numpy())[:8]]  # file rows: header is row 1
            first = table.loc[bad, col].iloc[0]
            shown = repr(first) if isinstance(first, str) else str(first)  # not numpy's repr: np.float64(inf)
            raise DeriveError(f"{where}, column {col}: {int(bad.sum())} value(s) that are not "
                              f"{'whole years' if col == 'year' else 'positive finite numbers'} (rows {rows}, "
                              f"e.g. {shown}): fix them")
        table[col] = v.astype("int64" if col == "year" else float)
    keys = ["industry", "year"] if "industry" in table.columns else ["year"]
    dup = table.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        rows = [int(i) + 2 for i in np.flatnonzero(dup)[:8]]
        raise DeriveError(f"{where} has more than one row for the same {' and '.join(keys)} (rows {rows}, e.g. "
                          f"{', '.join(f'{k} {table.loc[dup, k].iloc[0]}' for k in keys)}): keep one deflator per "
                          f"{' and '.join(keys)}")
    return table


def deflate(panel: SurveyPanel, deflator: pd.DataFrame | str | Path, *, columns: Iterable[str] | None = None,
            base_year: int | None = None, suffix: str = "_real", in_place: bool = False) -> SurveyPanel:
    """Real values :math:`x_{it} D_b / D_t` in prices of ``base_year`` *b*.

    ``deflator`` has ``year``, ``deflator`` and optionally ``industry`` (then matched on the firm's ``industry``).
    ``base_year`` defaults to the year whose deflator is 100 (or 1) in the table; a DeriveError asks for it
    otherwise. ``columns`` default to the monetary columns present (and ``value_added``). Firm-years without a
    deflator get NA and are recorded. ``in_place=True`` replaces each column by its real values (what
    ``analyse(panel, deflator=...)`` does, so that every money value the battery uses is real); a firm-year without
    a deflator is then a DeriveError naming the years to add, never a value silently lost.
    """
    if in_place and panel.design.deflated_to is not None:
        raise DeriveError(f"the survey's money values are already real ({panel.design.deflated_to} prices, e.g. by "
                          "the mapping's [deflator]): deflating them again would divide by the index twice; give the "
                          "deflator once")
    table = read_deflator(deflator)
    by_ind = "industry" in table.columns
    if base_year is None:
        cand = table.loc[np.isclose(table["deflator"], 100.0) | np.isclose(table["deflator"], 1.0), "year"].unique()
        if len(cand) != 1:
            found = (f"more than one year has deflator 100 or 1: {', '.join(map(str, sorted(cand)))}" if len(cand)
                     else "no year has deflator 100 or 1")
            raise DeriveError(f"cannot tell the base year of the {_deflator_name(deflator)} ({found}): give it "
                              "(base_year= in Python, --base-year YEAR on the command line, base_year in the "
                              "mapping's [deflator] table)")
        base_year = int(cand[0])
    f = _need(panel, "industry") if by_ind else panel.frame
    cols = list(columns) if columns is not None else [c for c in (*schema.MONETARY, "value_added")
                                                      if c in panel.data.columns]
    miss = [c for c in cols if c not in f.columns]
    if miss:
        raise DeriveError(f"cannot deflate: column(s) {miss} not in the panel")
    years = panel.data.index.get_level_values("year")
    if by_ind:
        base = table[table["year"] == base_year].set_index("industry")["deflator"]
        ind = f["industry"].astype(object).to_numpy()
        key = pd.MultiIndex.from_arrays([ind, np.asarray(years)])
        d_t = table.set_index(["industry", "year"])["deflator"].reindex(key).to_numpy(dtype=float)
        d_b = base.reindex(ind).to_numpy(dtype=float)
    else:
        if base_year not in set(table["year"]):
            raise DeriveError(f"base year {base_year} is not in the deflator table")
        d_t = table.set_index("year")["deflator"].reindex(np.asarray(years)).to_numpy(dtype=float)
        d_b = float(table.loc[table["year"] == base_year, "deflator"].iloc[0])
    factor = d_b / d_t
    no_defl = np.isnan(factor)
    if in_place and no_defl.any():
        gone = sorted({int(y) for y in np.asarray(years)[no_defl]})
        shown = ", ".join(map(str, gone[:12])) + (", …" if len(gone) > 12 else "")
        raise DeriveError(f"the {_deflator_name(deflator)} has no value for {int(no_defl.sum())} firm-year(s) of "
                          f"the survey (years {shown}{', for their industry' if by_ind else ''}): add those years "
                          "to the table (every money value must be deflated, or none)")
    data = panel.data.copy()
    entries, labels = [], {}
    no_d = f"no deflator for the firm-year's {'industry and ' if by_ind else ''}year"
    kind = f"{'industry' if by_ind else 'common'} deflator, {base_year} prices"
    for c in cols:
        new = c if in_place else c + suffix
        data[new] = pd.array(_float(f[c]) * factor, dtype="Float64")
        if not in_place:
            explain_missing(data, **{new: [{"source": c}, {"why": no_d}]})
        labels[new] = f"{panel.label(c)} (real, {base_year} prices)"
        entries.append(_entry(f"{new} = {c} * D[{base_year}] / D[year] ({kind})", new,
                              no_defl if no_defl.any() else None, panel, base_year=base_year))
    out = _with(panel, data=data, entries=entries, labels=labels)
    return out.replace(design=dataclasses.replace(panel.design, deflated_to=base_year)) if in_place else out


def deflate_money(panel: SurveyPanel, deflator: pd.DataFrame | str | Path, *, base_year: int | None = None
                  ) -> SurveyPanel:
    """Every money value of ``panel`` (:data:`clusterecon.schema.MONETARY`, and value added) replaced by its real
    value (:func:`deflate` with ``in_place=True``): the mapping's ``[deflator]`` and ``analyse(deflator=...)``."""
    money = [c for c in (*schema.MONETARY, "value_added") if c in panel.data.columns]
    if not money:
        raise DeriveError("a deflator was given, but the survey has no money values to deflate")
    return deflate(panel, deflator, columns=money, base_year=base_year, in_place=True)


def designed_deflation(panel: SurveyPanel) -> SurveyPanel:
    """``panel`` with the price index its design names (the mapping's ``[deflator]``, declared by the loader)
    applied by :func:`deflate_money`, unless it has none or is real already: what ``analyse`` and ``describe`` do
    before anything else, so both show the same real values."""
    d = panel.design
    if d.deflator is None or d.deflated_to is not None:
        return panel
    return deflate_money(panel, d.deflator, base_year=d.deflator_base_year)


def add_labour_productivity(panel: SurveyPanel, *, numerator: str = "value_added", name: str | None = None
                            ) -> SurveyPanel:
    """Output per employee: ``numerator / employees`` (value added by default, or ``"sales"``).

    Firm-years with zero or missing employees get NA and are recorded. Value added is derived first if absent.
    """
    if numerator == "value_added" and "value_added" not in panel.data.columns:
        panel = add_value_added(panel)
    f = _need(panel, numerator, "employees")
    name = name or ("va_per_worker" if numerator == "value_added" else f"{numerator}_per_worker")
    emp = _float(f["employees"])
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = _float(f[numerator]) / emp
    bad = ~(emp > 0) & ~np.isnan(_float(f[numerator]))
    lp[bad] = np.nan
    entries = [_entry(f"{name} = {numerator} / employees", name)]
    if bad.any():
        entries.append(_entry(f"{name} missing where employees is zero or missing", name, bad, panel))
    data = explain_missing(_set_firm_year(panel, name, lp), **{name: [
        {"source": "employees", "at_most": 0.0, "why": "employees <= 0 (no value per worker)"},
        {"source": numerator}]})
    return _with(panel, data=data, entries=entries, labels={name: f"{panel.label(numerator)} per employee"})


# ---------------------------------------------------------------------------------------------------- logs
def add_logs(panel: SurveyPanel, columns: Iterable[str], *, policy: str = "na", constant: float = 1.0,
             prefix: str = "ln_") -> SurveyPanel:
    """Natural logs of ``columns`` with an explicit policy for zeros and negatives.

    ``policy="na"``: ``ln x`` where x > 0, NA otherwise (rows recorded); ``"drop"``: firm-years with x ≤ 0 in any of
    ``columns`` are removed from the panel (one ``drop`` entry with their rows); ``"constant"``: ``ln(x + c)``
    with ``c = constant`` stated in the log (rows where x + c ≤ 0 still become NA and are recorded).
    """
    if policy not in LOG_POLICIES:
        raise DeriveError(f"log policy {policy!r} unknown; use one of {LOG_POLICIES}")
    cols = list(columns)
    f = _need(panel, *cols)
    entries: list[ProvenanceEntry] = []
    if policy == "drop":
        bad = np.zeros(len(f), dtype=bool)
        for c in cols:
            bad |= _float(f[c]) <= 0
        if bad.any():
            rows, detail = _where(panel, bad)
            entries.append(ProvenanceLog().add("drop", f"dropped firm-years with zero or negative {', '.join(cols)} "
                                               "before taking logs (policy='drop')", column=", ".join(cols),
                                               rows=rows or None, n_rows=int(bad.sum()), **detail))
            data = panel.data.loc[~bad]
            keep_firms = data.index.get_level_values("firm_id").unique()
            panel = panel.replace(data=data, firms=panel.firms.loc[panel.firms.index.isin(keep_firms)])
            f = panel.frame
    data = panel.data.copy()
    labels = {}
    for c in cols:
        explain_missing(data, **{prefix + c: {"source": c, "at_most": -constant if policy == "constant" else 0.0,
                                       "why": f"{c}{f' + {constant:g}' if policy == 'constant' else ''} <= 0 "
                                              "(log undefined)"}})
        x = _float(f[c])
        if policy == "constant":
            x = x + constant
        bad = x <= 0
        with np.errstate(divide="ignore", invalid="ignore"):
            lx = np.log(np.where(bad, np.nan, x))
        name = prefix + c
        data[name] = pd.array(lx, dtype="Float64")
        inner = panel.label(c)
        inner = inner[0].lower() + inner[1:] if len(inner) > 1 and inner[1].islower() else inner
        labels[name] = f"log({inner}" + (f" + {constant:g})" if policy == "constant" else ")")
        formula = f"ln({c} + {constant:g})" if policy == "constant" else f"ln({c})"
        entries.append(_entry(f"{name} = {formula} (policy={policy!r})", name, constant=constant
                              if policy == "constant" else None))
        if bad.any():
            entries.append(_entry(f"{name} missing where {c}{' + constant' if policy == 'constant' else ''} <= 0",
                                  name, bad, panel))
    return _with(panel, data=data, entries=entries, labels=labels)


# ---------------------------------------------------------------------------------------------------- all at once
def derive_all(panel: SurveyPanel, *, deflator: pd.DataFrame | str | Path | None = None,
               base_year: int | None = None, logs: Iterable[str] | None = None, log_policy: str = "na",
               log_constant: float = 1.0, cohort_width: int = 10) -> SurveyPanel:
    """Every derivation whose inputs are present: age, cohort, first/last year, balanced flag, value added, real
    values (when ``deflator`` is given), labour productivity and logs (default: sales, value added, capital,
    employees, labour productivity -- those present)."""
    cols = set(panel.frame.columns)
    if "founding_year" in cols:
        panel = add_age(panel)
        panel = add_cohort(panel, width=cohort_width)
    panel = add_first_last_year(panel)
    panel = add_balanced_flag(panel)
    if {"sales", "material_cost"} <= cols:
        panel = add_value_added(panel)
    if deflator is not None:
        panel = deflate(panel, deflator, base_year=base_year)
    if "employees" in cols and ({"value_added"} <= set(panel.data.columns) or "sales" in cols):
        panel = add_labour_productivity(panel, numerator="value_added" if "value_added" in panel.data.columns
                                        else "sales")
    if logs is None:
        logs = [c for c in ("sales", "value_added", "capital", "employees", "va_per_worker", "sales_per_worker")
                if c in panel.data.columns]
    logs = list(logs)
    if logs:
        panel = add_logs(panel, logs, policy=log_policy, constant=log_constant)
    return panel
