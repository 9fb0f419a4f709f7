"""Validation rules on single values and columns (no firm grouping needed).

errors: ``text_in_numeric``, ``non_finite``, ``negative_value`` (:data:`NONNEGATIVE`), ``schooling_out_of_range``
(0–25), ``out_of_range`` (other schema ranges), ``unknown_code``, ``founding_after_year``, ``founding_in_future``;
warnings: ``value_added_nonpositive``, ``zero_employees``, ``constant_column``. Each rule adds its problems to the
run's :class:`~clusterecon.validate_context._Ctx`; :func:`clusterecon.validate.validate` runs them all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema
from .validate_context import _Ctx, _fmt, _is_textual
from .validate_report import _plain

#: Columns whose negative values are an error of their own (``negative_value``) rather than ``out_of_range``.
NONNEGATIVE: tuple[str, ...] = ("sales", "material_cost", "capital", "employees", "wage_bill")
SCHOOLING: tuple[str, ...] = ("manager_schooling_years", "manager_schooling_years_t")
#: Survey missing-value codes that show up as negative numbers when a mapping forgets to declare them.
_MISSING_CODES = {-9.0, -8.0, -7.0, -99.0, -999.0}


def _check_numeric(ctx: _Ctx, col: str, today_year: int) -> None:
    s = ctx.frame[col]
    spec = schema.BY_NAME[col]
    if _is_textual(s):
        raw = s.astype(object) if isinstance(s.dtype, pd.CategoricalDtype) else s
        num = pd.to_numeric(raw, errors="coerce")
        present = raw.notna().to_numpy().copy()
        if raw.dtype == object or pd.api.types.is_string_dtype(raw.dtype):
            stripped = raw.astype("string").str.strip()
            present &= (stripped != "").fillna(False).to_numpy(dtype=bool)
        bad = present & num.isna().to_numpy()
        if bad.any():
            vals = raw.to_numpy()[np.flatnonzero(bad)[:10]]
            ctx.add("error", "text_in_numeric", f"text where a number is expected ({spec.label})", column=col,
                    mask=bad, values=vals, fix="correct the values, declare text codes under [missing] or [codes] "
                    "in the mapping, or remove thousands separators")
        ctx.numeric[col] = num.to_numpy(dtype=np.float64, na_value=np.nan)
    v = ctx.num(col)
    # the column's least and greatest values (NaN ignored) prove most columns clean in two reductions; the rules'
    # masks are built only when they can hit
    mn, mx, has_nan = _bounds(v)
    ctx.bounds[col] = (mn, mx, has_nan)
    if np.isnan(mn):  # nothing but missing values: no rule applies
        return
    inf = np.isinf(v) if np.isinf(mn) or np.isinf(mx) else None
    if inf is not None and inf.any():
        ctx.add("error", "non_finite", f"{spec.label} is infinite (inf, -inf, Infinity or a number beyond 1.8e308)",
                column=col, mask=inf, values=sorted({str(x) for x in v[inf]}),
                fix="correct the values in the file, or set them missing; an infinite value turns every estimate "
                    "it enters into nan")
        v = np.where(inf, np.nan, v)  # reported once here, not again by the range, jump and sign rules
        ctx.numeric[col] = v
        mn, mx = np.fmin.reduce(v), np.fmax.reduce(v)
        ctx.bounds[col] = (mn, mx, True)
    lo, hi = spec.range if spec.range else (None, None)
    if col == "year":
        hi = today_year if hi is None else min(hi, today_year)
    if col in NONNEGATIVE:
        neg = v < 0 if mn < 0 else None
        if neg is not None and neg.any():
            vals = v[neg]
            codes = sorted(set(vals.tolist()) & _MISSING_CODES)
            hint = (f"; {', '.join(f'{c:g}' for c in codes)} look like survey missing-value codes: declare them "
                    "under [missing] in the mapping" if codes else "")
            ctx.add("error", "negative_value", f"{spec.label} cannot be negative", column=col, mask=neg,
                    values=[_fmt(x) for x in vals[:10]], fix="correct the sign or set the value missing" + hint)
        lo = None
    if col in SCHOOLING:
        out = (v < 0) | (v > 25) if mn < 0 or mx > 25 else None
        if out is not None and out.any():
            ctx.add("error", "schooling_out_of_range", "years of schooling must lie between 0 and 25", column=col,
                    mask=out, values=[_fmt(x) for x in v[out][:10]],
                    fix="check the unit (years, not an education-level code); map level codes to years first, or "
                        "declare missing codes (e.g. 99) under [missing]")
        return
    if (lo is None or not mn < lo) and (hi is None or not mx > hi):  # (NaN when every value was infinite)
        return
    out = np.zeros(len(v), dtype=bool)
    if lo is not None:
        out |= v < lo
    if hi is not None:
        out |= v > hi
    if out.any():
        if lo is not None and hi is not None:
            where = f"outside its allowed range {lo:g} – {hi:g}"
        else:
            where = f"above {hi:g}" if hi is not None else f"below {lo:g}"
        ctx.add("error", "out_of_range", f"{spec.label} {where}", column=col, mask=out,
                values=[_fmt(x) for x in v[out][:10]], fix="correct the values or declare missing codes in the mapping")


def _bounds(v: np.ndarray) -> tuple[float, float, bool]:
    """(least, greatest value ignoring NaN, whether there is a NaN). ``np.min`` propagates NaN: on a column without
    one it is ``np.fmin``'s answer and proves the column complete in the same pass."""
    if not len(v):
        return np.nan, np.nan, False
    mn = np.min(v)
    if np.isnan(mn):
        return np.fmin.reduce(v), np.fmax.reduce(v), True
    return mn, np.max(v), False


def _complete(ctx: _Ctx, col: str) -> tuple[float, float] | None:
    """(least, greatest) of a column the range rules found without missing or infinite values, else ``None``."""
    b = ctx.bounds.get(col)
    if b is None or b[2] or not (np.isfinite(b[0]) and np.isfinite(b[1])):
        return None
    return b[0], b[1]


def _check_codes(ctx: _Ctx, col: str) -> None:
    s = ctx.frame[col]
    spec = schema.BY_NAME[col]
    if spec.kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return
        ok_vals = [True, False]
        allowed_text = "true/false (or 1/0)"
        obj = s.astype(object)
        bad = obj.notna().to_numpy() & ~obj.isin(ok_vals).to_numpy()
    else:
        allowed = set(spec.allowed or ())
        allowed_text = ", ".join(spec.allowed or ())
        if isinstance(s.dtype, pd.CategoricalDtype):
            bad_cats = [c for c in s.cat.categories if c not in allowed]
            if not bad_cats:
                return
            bad = s.isin(bad_cats).to_numpy()
        else:
            bad = s.notna().to_numpy() & ~s.isin(list(allowed)).to_numpy()
    if bad.any():
        vals = pd.unique(s.astype(object).to_numpy()[bad])
        ctx.add("error", "unknown_code", f"value(s) not among the allowed codes of {spec.label}: {allowed_text}",
                column=col, mask=bad, values=[_plain(v) for v in vals[:10]],
                fix=f"map them under [codes.{col}] in the mapping (or set unknown_policy = \"unknown\" there to map "
                    "unlisted codes to 'unknown' with a warning)")


def _check_founding(ctx: _Ctx, today_year: int) -> None:
    fy = ctx.num("founding_year")
    fb, yb = ctx.bounds.get("founding_year"), ctx.bounds.get("year")
    # the range rules' bounds say when no founding year can be after its year, or in the future: no pass needed
    if "year" in ctx.frame.columns and not (fb is not None and yb is not None and fb[1] <= yb[0]):
        after = fy > ctx.num("year")
        if after.any():
            ex = [f"founded {_fmt(a)}, observed {_fmt(b)}" for a, b in zip(fy[after][:10], ctx.num("year")[after][:10])]
            ctx.add("error", "founding_after_year", "founding year is after the observation year",
                    column="founding_year", mask=after, values=ex,
                    fix="correct the founding year or the year; recall answers for years before founding should be "
                        "missing")
    fut = fy > today_year if not (fb is not None and fb[1] <= today_year) else None
    if fut is not None and fut.any():
        ctx.add("error", "founding_in_future", f"founding year is in the future (after {today_year})",
                column="founding_year", mask=fut, values=[_fmt(x) for x in fy[fut][:10]],
                fix="correct the founding year (a two-digit year or a typo?)")


def _check_warnings(ctx: _Ctx) -> None:
    f = ctx.frame
    if "sales" in f.columns and "material_cost" in f.columns:
        va = ctx.num("sales") - ctx.num("material_cost")
        bad = va <= 0
        if bad.any():
            ctx.add("warning", "value_added_nonpositive", "value added (sales − material_cost) is zero or negative",
                    column="sales/material_cost", mask=bad, values=[_fmt(x) for x in va[bad][:10]],
                    fix="check sales and material cost (units, recall year); log value added needs a policy for "
                        "these rows (clusterecon.derive.add_logs)")
    b = ctx.bounds.get("employees")
    if "employees" in f.columns and not (b is not None and (b[0] > 0 or b[1] < 0)):  # (no zero between the bounds)
        zero = ctx.num("employees") == 0
        if zero.any():
            ctx.add("warning", "zero_employees", "zero employees (is the owner counted?)", column="employees",
                    mask=zero, fix="count the owner-manager, or set missing if the firm was not operating")
    for col in ("sales", "material_cost", "employees", "capital"):
        if col not in f.columns:
            continue
        v = ctx.num(col)
        known = _complete(ctx, col)
        if known is not None:  # every value finite: the range rules' bounds answer without another pass
            if len(v) < 10 or known[0] != known[1]:
                continue
            ok = np.ones(len(v), dtype=bool)
            n_ok = len(v)
        else:
            ok = np.isfinite(v)
            n_ok = int(ok.sum())
        # min == max is one pass each (no hashing): a 1M-row file pays microseconds for a rule that rarely fires;
        # a column without missing or infinite values is compared as it is, not copied through the mask first
        if n_ok >= 10 and ((np.min(v) == np.max(v)) if n_ok == len(v) else (np.min(v[ok]) == np.max(v[ok]))):
            ctx.add("warning", "constant_column", f"every record has the same {col} ({_fmt(v[ok][0])}): a "
                    "placeholder or an export error? Trends and elasticities of a constant are not estimable",
                    column=col, mask=ok, values=[_fmt(v[ok][0])],
                    fix=f"check the export of {col} (a filled-in default, a formula copied down)")
