"""Validation rules over firms and their years: what needs the firm-year keys.

errors: ``missing_key``, ``duplicate_conflict`` (and the ``exact_duplicate`` warning), ``firm_attribute_varies``;
warnings: ``jump`` (a year-on-year ratio beyond ×:data:`JUMP_FACTOR` or below its inverse in :data:`JUMP_COLUMNS`),
``year_gap``, ``census_entry_missed``. They share one factorisation of the firm ids and one (firm, year) order
(:func:`_check_keys`, kept in the run's :class:`~clusterecon.validate_context._Ctx`), and nothing is reordered when
the file is already in firm-year order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _buffers, firmyear, schema
from .validate_context import _Ctx, _fmt

JUMP_COLUMNS: tuple[str, ...] = ("sales", "employees", "capital")
JUMP_FACTOR = 20.0


def _check_keys(ctx: _Ctx, keys: firmyear.Keys | None) -> None:
    # one firm factorisation and one (firm, year) order, reused by the duplicate, firm-attribute, jump and gap rules
    # (and, through ``keys``, by the loader and the panel); nothing is reordered when the file is in firm-year order
    keys = keys if keys is not None else firmyear.keys_of(ctx.frame, ctx.rows)
    ctx.keys = keys
    ctx.firm_codes, ctx.firm_uniques = keys.firm, keys.ids
    year = ctx.num("year")
    # (a mask only when some key is missing: the least firm code and year say whether one is)
    complete = len(year) == 0 or (keys.firm.min() >= 0 and not np.isnan(np.min(year)))
    bad = None if complete else (keys.firm < 0) | np.isnan(year)
    if bad is not None and bad.any():
        ctx.add("error", "missing_key", "firm_id or year is empty", column="firm_id/year", mask=bad,
                fix="every record needs a firm identifier and a year; drop or complete these records")
    ctx.year = year
    ctx.sorted = keys.sorted
    ctx.order = np.arange(len(year)) if keys.sorted.order is None else keys.sorted.order


def _check_duplicates(ctx: _Ctx) -> None:
    if ctx.keys.pairs_in_file_order:  # firm by firm, years strictly increasing: no (firm, year) repeats
        return
    f, o = ctx.frame, ctx.order
    c, y = ctx.firm_codes[o], ctx.year[o]
    same = (c[1:] == c[:-1]) & (y[1:] == y[:-1]) & (c[1:] >= 0) & ~np.isnan(y[1:])
    if not same.any():
        return
    dup_sorted = np.zeros(len(o), dtype=bool)
    dup_sorted[1:] |= same
    dup_sorted[:-1] |= same
    idx = o[dup_sorted]  # positions of rows sharing a key with another row
    sub = f.iloc[idx].drop(columns=[c for c in ("source_row",) if c in f.columns])
    exact = sub.duplicated(keep="first").to_numpy()
    # a key is conflicting when, after removing exact copies, more than one distinct row remains
    distinct = sub.loc[~exact]
    key = pd.MultiIndex.from_arrays([ctx.firm_codes[idx][~exact], ctx.year[idx][~exact]])
    conflict_keys = key[key.duplicated(keep=False)].unique()
    allkey = pd.MultiIndex.from_arrays([ctx.firm_codes[idx], ctx.year[idx]])
    in_conflict = allkey.isin(conflict_keys)
    if in_conflict.any():
        pos = idx[in_conflict]
        ck = key.duplicated(keep=False)
        conf = distinct.loc[ck]
        kc = [np.asarray(key.get_level_values(0))[ck], np.asarray(key.get_level_values(1))[ck]]
        nun = conf.drop(columns=["firm_id", "year"]).astype(object).groupby(kc).nunique(dropna=False)
        diff_cols = [col for col in nun.columns if (nun[col] > 1).any()]
        ex = f.iloc[pos[:20]]
        vals = list(dict.fromkeys(f"{a}/{int(b)}" for a, b in zip(ex["firm_id"].astype(object), ctx.year[pos[:20]])))
        ctx.add("error", "duplicate_conflict",
                f"{len(conflict_keys)} (firm_id, year) pair(s) appear in several records that disagree"
                + (f" (in {', '.join(diff_cols[:6])})" if diff_cols else ""),
                column="firm_id/year", rows=np.sort(ctx.rows[pos]), n=len(pos), values=vals,
                fix="keep one record per firm and year (correct the firm_id or year of the others), or set a "
                    "[duplicates] policy in the mapping")
    if exact.any():
        ctx.add("warning", "exact_duplicate", "records identical to an earlier record (same firm, year and values)",
                column="firm_id/year", rows=np.sort(ctx.rows[idx[exact]]), n=int(exact.sum()),
                fix="drop them with clusterecon.validate.drop_exact_duplicates (the loader does this and logs it)")


def _check_firm_constant(ctx: _Ctx, cols: list[str]) -> None:
    fy = ctx.sorted
    if not fy.n_keyed:
        return
    o = ctx.order[:fy.n_keyed]
    c = None
    starts = fy.starts
    ends = np.r_[starts[1:], len(o)]
    for col in cols:
        varying = ctx.keys.first_and_varies(ctx.frame[col])[1]
        if not varying.any():
            continue
        c = ctx.firm_codes[o] if c is None else c
        groups = np.flatnonzero(varying)
        pos = np.concatenate([o[starts[g]:ends[g]] for g in groups])
        vals = []
        for g in groups[:5]:
            distinct = ctx.frame[col].iloc[o[starts[g]:ends[g]]].dropna().astype(object).unique()
            vals.append(f"{ctx.firm_uniques[c[starts[g]]]}: {', '.join(map(str, (_fmt(v) for v in distinct)))}")
        label = schema.BY_NAME[col].label if col in schema.BY_NAME else col
        ctx.add("error", "firm_attribute_varies",
                f"{label} is a firm-level attribute but differs between records of {len(groups)} firm(s)", column=col,
                rows=np.sort(ctx.rows[pos]), n=len(pos), values=vals,
                fix="make it constant within each firm, or, if it truly changes over time, map it to the time-varying "
                    "column (e.g. manager_schooling_years_t)")


def _check_census_entry(ctx: _Ctx) -> None:
    """In a census every firm is seen from its founding year on (or from the census's first year, if founded
    before): a firm founded inside the years covered but first seen later cannot be, and its founding year or the
    census's coverage is wrong (the battery would date entry from it)."""
    f = ctx.frame
    if not {"firm_id", "year", "founding_year"} <= set(f.columns):
        return
    d = pd.DataFrame({"firm": f["firm_id"].to_numpy(), "year": ctx.num("year"), "fy": ctx.num("founding_year")})
    first_year = np.nanmin(d["year"]) if np.isfinite(d["year"]).any() else np.nan
    g = d.groupby("firm", sort=False).agg(first=("year", "min"), fy=("fy", "min"))
    late = g.index[(g["fy"] >= first_year) & (g["first"] > g["fy"])]
    if len(late):
        mask = d["firm"].isin(late).to_numpy() & (d["year"].to_numpy() == d["firm"].map(g["first"]).to_numpy())
        ctx.add("warning", "census_entry_missed", f"{len(late)} firm(s) founded inside the years the census covers "
                "are first seen after their founding year: a census sees every firm from its founding",
                column="founding_year", mask=mask, values=[str(x) for x in late[:10]],
                fix="check these founding years, or declare the survey's real design (rounds of the firms alive "
                    "at the first round, or a recall survey) in the mapping's [survey] design")


def _check_panel_rules(ctx: _Ctx, benchmark_years: tuple[int, ...] | None) -> None:
    """Jumps and gaps over each firm's consecutive observations (unique keys only)."""
    # o: the rows compared, in firm-year order; None = every row, in file order (the file lists firm by firm)
    o: np.ndarray | None = None if ctx.keys.pairs_in_file_order else ctx.order
    c, y = (ctx.firm_codes, ctx.year) if o is None else (ctx.firm_codes[o], ctx.year[o])
    if o is None:  # every row keyed, each (firm, year) once: all rows are compared
        keep = None
    else:
        keep = (c >= 0) & ~np.isnan(y)
        keep[1:] &= (c[1:] != c[:-1]) | (y[1:] != y[:-1])  # first record of each (firm, year) only
    if keep is not None and not keep.all():
        o = np.flatnonzero(keep) if o is None else o[keep]
        c, y = c[keep], y[keep]
    if len(c) < 2:
        return

    def at(a: np.ndarray) -> np.ndarray:
        return a if o is None else a[o]

    # every row compared in file order: the keys' own "same firm as the row before" (computed once per load)
    same = ctx.keys.same_firm_as_previous if o is None else c[1:] == c[:-1]
    # scratch for the candidates' products and comparisons, reused by every column
    band = _buffers.empty(len(c) - 1, np.float64)
    wide, other = _buffers.empty(len(c) - 1, bool), _buffers.empty(len(c) - 1, bool)
    for col in JUMP_COLUMNS:
        if col not in ctx.frame.columns:
            continue
        v = at(ctx.num(col))
        prev, cur = v[:-1], v[1:]
        # candidates by multiplication (a slightly wider band than the rule), the exact ratio on them only: dividing
        # every pair was most of the rule's time
        np.greater(cur, np.multiply(prev, JUMP_FACTOR * 0.999, out=band), out=wide)
        wide |= np.greater(prev, np.multiply(cur, JUMP_FACTOR * 0.999, out=band), out=other)
        j = np.flatnonzero(wide)
        if len(j):
            p_, c_ = prev[j], cur[j]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = c_ / p_
            j = j[same[j] & (p_ > 0) & (c_ > 0) & ((ratio > JUMP_FACTOR) | (ratio < 1 / JUMP_FACTOR))]
        if len(j):
            vals = [f"{ctx.firm_uniques[c[k]]}: {int(y[k])} {_fmt(prev[k])} → {int(y[k + 1])} {_fmt(cur[k])}"
                    for k in j[:10]]
            ctx.add("warning", "jump", f"{schema.BY_NAME[col].label} changes by more than ×{JUMP_FACTOR:g} between "
                    "consecutive observations of a firm", column=col, rows=at(ctx.rows)[j + 1], n=len(j), values=vals,
                    fix="check for a unit change (thousands vs units), a typo or a currency redenomination")
    if benchmark_years:
        years = np.array(sorted(benchmark_years), dtype=np.float64)
        pos = np.searchsorted(years, y)
    elif o is None and len(ctx.keys.file_blocks) * len(ctx.keys.years) == len(c):
        # listed firm by firm with years strictly increasing, and as many rows per firm as there are years: every
        # firm has every year, so no firm skips one
        return
    else:  # the panel's own years: a row's year code is its position among them
        years, pos = ctx.keys.years, at(ctx.keys.ycodes)
    gap = same & (pos[1:] - pos[:-1] > 1)
    if gap.any():
        g = np.flatnonzero(gap)
        vals = [f"{ctx.firm_uniques[c[k]]}: missing {', '.join(str(int(x)) for x in years[pos[k] + 1:pos[k + 1]])}"
                for k in g[:10]]
        nfirms = len(np.unique(c[g]))
        ctx.add("warning", "year_gap", f"{nfirms} firm(s) skip one of the panel's years between their first and last "
                "observation (row shown: the record after the gap)", column="year", rows=at(ctx.rows)[g + 1],
                n=len(g), values=vals, fix="fill the missing year from the questionnaire if it was answered; "
                "otherwise estimators treat the panel as unbalanced (lags across the gap are missing)")
