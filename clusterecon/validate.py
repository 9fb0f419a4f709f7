"""Validation of the canonical long frame: every rule yields :class:`~clusterecon.problems.Problem` records.

The frame has one row per firm-year, the firm-level columns repeated on each row, and an integer ``source_row``
column holding the 1-based record number in the ORIGINAL file (header excluded; Stata ``_n``). Every problem reports
those numbers, so a user can find the records in the raw survey. All rules run on every call and all problems are
returned together (:class:`ValidationReport`): a user fixes a file in one pass, not one error at a time.

Rules (``rule`` names are stable; tests and users filter on them):

errors
    ``missing_required_column``, ``missing_key`` (firm_id or year empty), ``duplicate_conflict`` (several rows for
    one (firm_id, year) that disagree; exact duplicates are dropped and logged by :func:`drop_exact_duplicates`),
    ``text_in_numeric``, ``negative_value`` (sales, material_cost, capital, employees, wage_bill),
    ``founding_after_year``, ``founding_in_future``, ``schooling_out_of_range`` (0–25), ``unknown_code`` (a value
    outside the schema's allowed codes, or a non-boolean in a yes/no column), ``firm_attribute_varies``,
    ``out_of_range`` (other schema ranges), ``non_finite`` (inf, -inf, Infinity, 1e309 in a numeric column),
    ``no_records`` (nothing to validate).
warnings
    ``value_added_nonpositive`` (sales − material_cost ≤ 0), ``zero_employees``, ``jump`` (a year-on-year ratio
    beyond ×20 or below ÷20 in sales, employees or capital between a firm's consecutive observations),
    ``year_gap`` (a firm skips one of the panel's benchmark years between its first and last observation),
    ``constant_column`` (sales, material cost, employees or capital identical in every record),
    ``census_entry_missed`` (in a census, a firm founded inside the years covered but first seen later).
info
    ``survivor_only`` (a recall panel: firms that exited before the interview were never surveyed). The loader adds
    its own (``exact_duplicate_dropped``, ``firm_ids_merged``, ``duplicate_resolved``, ...) next to these.

``strict=True`` promotes warnings to errors. Everything is vectorised with numpy/pandas (one factorisation of the
firm ids and one sort by (firm, year) shared by the grouped rules) so that a million firm-years validate in well under
a second; no library offers survey rules of this kind, hence the hand-written checks.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from . import firmyear, schema
from .problems import Problem
from .provenance import ProvenanceLog

#: Columns whose negative values are an error of their own (``negative_value``) rather than ``out_of_range``.
NONNEGATIVE: tuple[str, ...] = ("sales", "material_cost", "capital", "employees", "wage_bill")
SCHOOLING: tuple[str, ...] = ("manager_schooling_years", "manager_schooling_years_t")
JUMP_COLUMNS: tuple[str, ...] = ("sales", "employees", "capital")
JUMP_FACTOR = 20.0
#: Survey missing-value codes that show up as negative numbers when a mapping forgets to declare them.
_MISSING_CODES = {-9.0, -8.0, -7.0, -99.0, -999.0}
_SEVERITIES = ("error", "warning", "info")


class ValidationError(ValueError):
    """Raised when a caller asks for a clean frame and validation found errors; ``.report`` holds all problems."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.to_text())


@dataclass(frozen=True)
class ValidationReport:
    """All problems found in one source, in rule order. Immutable; ``merged``/``strict`` return new reports."""

    problems: tuple[Problem, ...] = ()
    source: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def infos(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "info")

    @property
    def ok(self) -> bool:
        """No errors (warnings and infos allowed)."""
        return not self.errors

    @property
    def clean(self) -> bool:
        """No errors and no warnings (infos allowed): what ``clusterecon validate`` exits 0 on."""
        return not self.errors and not self.warnings

    def rules(self, severity: str | None = None) -> set[str]:
        return {p.rule for p in self.problems if severity is None or p.severity == severity}

    def by_rule(self, rule: str) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.rule == rule)

    def counts(self) -> dict[str, int]:
        """Rows affected per rule (a problem without rows, e.g. a missing column, counts once)."""
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.rule] = out.get(p.rule, 0) + max(p.n, 1)
        return out

    def merged(self, extra_problems: Iterable[Problem]) -> ValidationReport:
        """This report plus ``extra_problems`` (e.g. those a loader found), errors first."""
        probs = list(self.problems) + list(extra_problems)
        order = {s: i for i, s in enumerate(_SEVERITIES)}
        probs.sort(key=lambda p: order.get(p.severity, 9))  # stable: keeps rule order within a severity
        return ValidationReport(tuple(probs), self.source)

    def strict(self) -> ValidationReport:
        """Warnings promoted to errors (infos stay infos)."""
        return ValidationReport(tuple(p.as_error() if p.severity == "warning" else p for p in self.problems),
                                self.source)

    def raise_if_errors(self) -> ValidationReport:
        if self.errors:
            raise ValidationError(self)
        return self

    # ------------------------------------------------------------------ output
    def summary_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        n = {s: len([p for p in self.problems if p.severity == s]) for s in _SEVERITIES}
        return f"{where}{n['error']} error(s), {n['warning']} warning(s), {n['info']} info"

    def to_text(self, max_examples: int = 5) -> str:
        """Counts per rule, then each problem with its first ``max_examples`` rows and values, by severity."""
        lines = [self.summary_line()]
        if not self.problems:
            return lines[0] + "\nno problems found"
        counts = self.counts()
        for sev in _SEVERITIES:
            probs = [p for p in self.problems if p.severity == sev]
            if not probs:
                continue
            lines.append("")
            lines.append(f"{sev.upper()}S" if sev != "info" else "INFO")
            seen: list[str] = []
            for p in probs:
                if p.rule not in seen:
                    seen.append(p.rule)
            lines.append("  " + ", ".join(f"{r}: {counts[r]}" for r in seen))
            for p in probs:
                shown = replace(p, source="") if p.source == self.source else p  # the header names the source
                lines.append("  " + shown.to_text(max_examples).replace("\n", "\n  "))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        cols = ["severity", "rule", "column", "n", "rows", "values", "message", "fix", "source"]
        recs = [{"severity": p.severity, "rule": p.rule, "column": p.column, "n": p.n, "rows": list(p.rows),
                 "values": [_plain(v) for v in p.values], "message": p.message, "fix": p.fix,
                 "source": p.source or self.source} for p in self.problems]
        return pd.DataFrame(recs, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ok": self.ok, "clean": self.clean, "counts": self.counts(),
                "problems": self.to_frame().to_dict(orient="records")}

    def to_json(self, indent: int | None = 2) -> str:
        from ._json import dumps

        return dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.to_text()


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA or v is pd.NaT:
        return None
    return v


# ---------------------------------------------------------------------------------------------------- helpers
def _source_rows(frame: pd.DataFrame) -> np.ndarray:
    if "source_row" in frame.columns:
        s = frame["source_row"]
        if s.dtype == np.int64:  # what the loader writes
            return s.to_numpy()
        return pd.to_numeric(frame["source_row"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
    return np.arange(1, len(frame) + 1, dtype=np.int64)


def _as_float(s: pd.Series) -> np.ndarray:
    """Numeric values as float64 with NaN for missing (nullable, object and categorical columns alike)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(s.dtype):
        parts = firmyear.masked_parts(s)
        if parts is not None and parts[0].dtype == np.float64 and not parts[1].any():
            v = parts[0].view()  # a complete Float64 column: its own values, read-only, no copy
            v.flags.writeable = False
            return v
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _is_textual(s: pd.Series) -> bool:
    return (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)
            or isinstance(s.dtype, pd.CategoricalDtype))


def _fmt(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if not float(v).is_integer() else int(v)
    return _plain(v)


class _Ctx:
    """Shared state of one validation run: source rows, firm codes and the (firm, year) sort order."""

    def __init__(self, frame: pd.DataFrame, source: str) -> None:
        self.frame = frame
        self.source = source
        self.rows = _source_rows(frame)
        self.problems: list[Problem] = []
        self.numeric: dict[str, np.ndarray] = {}
        self.firm_codes: np.ndarray | None = None
        self.firm_uniques: Any = None
        self.year: np.ndarray | None = None
        self.order: np.ndarray | None = None
        self.sorted: firmyear.FirmYearOrder | None = None
        self.keys: firmyear.Keys | None = None

    def add(self, severity, rule, message, *, column=None, mask=None, rows=None, values=(), fix="", n=None):
        if mask is not None:
            idx = np.flatnonzero(mask)
            rows = self.rows[idx[:200]]
            n = len(idx) if n is None else n
        self.problems.append(Problem.make(severity, rule, message, column=column, rows=rows if rows is not None
                                          else (), values=values, fix=fix, source=self.source, n=n))

    def num(self, col: str) -> np.ndarray:
        if col not in self.numeric:
            self.numeric[col] = _as_float(self.frame[col])
        return self.numeric[col]


# ---------------------------------------------------------------------------------------------------- rules
def missing_columns(frame: pd.DataFrame, required: Iterable[str] = schema.REQUIRED, source: str = "") -> list[Problem]:
    """``missing_required_column`` errors for each of ``required`` not in ``frame``."""
    cols = set(frame.columns) | set(n for n in frame.index.names if n)
    out = []
    for c in required:
        if c not in cols:
            out.append(Problem.make("error", "missing_required_column", f"required column {c!r} is not in the data",
                                    column=c, fix=f"add {c!r} to the file or map a raw column to it under [rename] "
                                    "in the mapping", source=source, n=0))
    return out


def _check_keys(ctx: _Ctx, keys: firmyear.Keys | None) -> None:
    # one firm factorisation and one (firm, year) order, reused by the duplicate, firm-attribute, jump and gap rules
    # (and, through ``keys``, by the loader and the panel); nothing is reordered when the file is in firm-year order
    keys = keys if keys is not None else firmyear.keys_of(ctx.frame, ctx.rows)
    ctx.keys = keys
    ctx.firm_codes, ctx.firm_uniques = keys.firm, keys.ids
    year = ctx.num("year")
    bad = (keys.firm < 0) | np.isnan(year)
    if bad.any():
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
    mn, mx = (np.fmin.reduce(v), np.fmax.reduce(v)) if len(v) else (np.nan, np.nan)
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
        rng = f"{'' if lo is None else f'{lo:g}'} – {'' if hi is None else f'{hi:g}'}".strip()
        ctx.add("error", "out_of_range", f"{spec.label} outside its allowed range {rng}", column=col, mask=out,
                values=[_fmt(x) for x in v[out][:10]], fix="correct the values or declare missing codes in the mapping")


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
    if "year" in ctx.frame.columns:
        after = fy > ctx.num("year")
        if after.any():
            ex = [f"founded {int(a)}, observed {int(b)}" for a, b in zip(fy[after][:10], ctx.num("year")[after][:10])]
            ctx.add("error", "founding_after_year", "founding year is after the observation year",
                    column="founding_year", mask=after, values=ex,
                    fix="correct the founding year or the year; recall answers for years before founding should be "
                        "missing")
    fut = fy > today_year
    if fut.any():
        ctx.add("error", "founding_in_future", f"founding year is in the future (after {today_year})",
                column="founding_year", mask=fut, values=[_fmt(x) for x in fy[fut][:10]],
                fix="correct the founding year (a two-digit year or a typo?)")


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
    if "employees" in f.columns:
        zero = ctx.num("employees") == 0
        if zero.any():
            ctx.add("warning", "zero_employees", "zero employees (is the owner counted?)", column="employees",
                    mask=zero, fix="count the owner-manager, or set missing if the firm was not operating")
    for col in ("sales", "material_cost", "employees", "capital"):
        if col not in f.columns:
            continue
        v = ctx.num(col)
        ok = np.isfinite(v)
        n_ok = int(ok.sum())
        # min == max is one pass each (no hashing): a 1M-row file pays microseconds for a rule that rarely fires;
        # a column without missing or infinite values is compared as it is, not copied through the mask first
        if n_ok >= 10 and ((np.min(v) == np.max(v)) if n_ok == len(v) else (np.min(v[ok]) == np.max(v[ok]))):
            ctx.add("warning", "constant_column", f"every record has the same {col} ({_fmt(v[ok][0])}): a "
                    "placeholder or an export error? Trends and elasticities of a constant are not estimable",
                    column=col, mask=ok, values=[_fmt(v[ok][0])],
                    fix=f"check the export of {col} (a filled-in default, a formula copied down)")


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

    same = c[1:] == c[:-1]
    for col in JUMP_COLUMNS:
        if col not in ctx.frame.columns:
            continue
        v = at(ctx.num(col))
        prev, cur = v[:-1], v[1:]
        # candidates by multiplication (a slightly wider band than the rule), the exact ratio on them only: dividing
        # every pair was most of the rule's time
        wide = (cur > prev * (JUMP_FACTOR * 0.999)) | (prev > cur * (JUMP_FACTOR * 0.999))
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


def _design_kind(design: Any) -> str:
    if design is None:
        return "unknown"
    if isinstance(design, str):
        return design
    return getattr(design, "kind", "unknown")


# ---------------------------------------------------------------------------------------------------- entry points
def validate(frame: pd.DataFrame, *, source: str = "", strict: bool = False, survey_year: int | None = None,
             design: Any = None, today_year: int | None = None, required: Iterable[str] = (),
             benchmark_years: Iterable[int] | None = None, keys: firmyear.Keys | None = None) -> ValidationReport:
    """Check a canonical long frame against every rule and return all problems at once.

    Parameters
    ----------
    frame : DataFrame
        One row per firm-year in canonical column names, firm-level columns repeated on each row, and ``source_row``
        (1-based record number in the original file; positions are used when it is absent). A frame indexed by
        (firm_id, year), such as ``SurveyPanel.frame``, is accepted too.
    source : str
        File name shown in every problem.
    strict : bool
        Promote warnings to errors.
    survey_year : int, optional
        Interview year (recall surveys); observation years after it are ``out_of_range``.
    design : SurveyDesign or str, optional
        ``"recall"`` adds the ``survivor_only`` info.
    today_year : int, optional
        The "future" boundary for founding and observation years (default: the current calendar year).
    required : iterable of str
        Columns the analysis needs in addition to the schema's required ``firm_id`` and ``year``.
    benchmark_years : iterable of int, optional
        The years a firm is expected in (default: every year present in the panel) for ``year_gap``.
    keys : clusterecon.firmyear.Keys, optional
        Firm-year keys of exactly these rows (``firmyear.keys_of(frame)``), when the caller has them already.
    """
    if isinstance(frame.index, pd.MultiIndex) or (frame.index.name in ("firm_id", "year")):
        frame = frame.reset_index()
    today_year = int(today_year or _dt.date.today().year)
    if survey_year is not None:
        today_year = min(today_year, int(survey_year))
    ctx = _Ctx(frame, source)
    req = list(dict.fromkeys([*schema.REQUIRED, *required]))
    ctx.problems.extend(missing_columns(frame, req, source))
    if not len(frame):
        ctx.add("error", "no_records", "the data hold no firm-year records", n=0,
                fix="check that the file (or the sheet read) holds the survey records and that the mapping does not "
                    "leave every record empty")
    cols = set(frame.columns)
    for col in [c.name for c in schema.COLUMNS if c.name in cols and c.kind in ("int", "float")]:
        _check_numeric(ctx, col, today_year)
    for col in [c.name for c in schema.COLUMNS if c.name in cols and (c.allowed or c.kind == "bool")]:
        _check_codes(ctx, col)
    if "founding_year" in cols:
        _check_founding(ctx, today_year)
    has_keys = "firm_id" in cols and "year" in cols
    if has_keys:
        _check_keys(ctx, keys)
        _check_duplicates(ctx)
        firm_cols = [c for c in schema.FIRM_COLUMNS if c in cols and c != "firm_id"]
        if firm_cols:
            _check_firm_constant(ctx, firm_cols)
    _check_warnings(ctx)
    if has_keys:
        _check_panel_rules(ctx, tuple(benchmark_years) if benchmark_years else None)
    kind = _design_kind(design)
    if kind == "census":
        _check_census_entry(ctx)
    recall_flag = "is_recall" in cols and bool(frame["is_recall"].fillna(False).astype(bool).any())
    if kind == "recall" or (kind == "unknown" and recall_flag):
        ctx.add("info", "survivor_only", "recall panel from one interview: it holds survivors only, so firms that "
                "exited before the interview are missing and exit cannot be studied", column=None,
                fix="study exit only with repeated survey rounds or a census (SurveyDesign(kind='rounds'))")
    report = ValidationReport(tuple(ctx.problems), source).merged(())
    return report.strict() if strict else report


def drop_exact_duplicates(frame: pd.DataFrame, log: ProvenanceLog, source: str = "",
                          problems: list[Problem] | None = None, keys: firmyear.Keys | None = None) -> pd.DataFrame:
    """``frame`` without records identical to an earlier one in every column except ``source_row``.

    The dropped records' original row numbers are logged as one ``drop`` entry in ``log`` and, when ``problems`` is
    given, listed in an ``exact_duplicate_dropped`` info (so the validation report shows them too). ``keys``: the
    frame's firm-year keys, if the caller has them.
    """
    cols = [c for c in frame.columns if c != "source_row"]
    if not len(frame):
        return frame
    names = [c for c in ("firm_id", "year") if c in frame.columns]
    if keys is not None and keys.pairs_in_file_order:
        # listed firm by firm with years strictly increasing: no (firm_id, year) repeats, hence no exact duplicates
        # (the keys' check is cached and reused by the validator and the panel)
        return frame
    if names:
        # cheap pre-filter on one int64 key: only rows sharing (firm_id, year) can be exact duplicates
        if keys is not None:
            key = (keys.firm + 1) * (len(keys.years) + 1) + keys.ycodes + 1
        else:
            key = np.zeros(len(frame), dtype=np.int64)
            for k in names:
                codes, uniq = pd.factorize(frame[k], use_na_sentinel=True)
                key = key * (len(uniq) + 1) + codes + 1
        if len(key) and key.max() < 8 * len(key):  # dense key: counting beats hashing
            cand = np.bincount(key)[key] > 1
        else:
            cand = pd.Series(key).duplicated(keep=False).to_numpy()
        if not cand.any():
            return frame
        dup = np.zeros(len(frame), dtype=bool)
        pos = np.flatnonzero(cand)
        pos = pos[np.argsort(_source_rows(frame)[pos], kind="stable")]  # keep the earliest record of the file
        dup[pos] = frame.iloc[pos][cols].duplicated(keep="first").to_numpy()
    else:
        dup = frame.duplicated(cols, keep="first").to_numpy()
    if not dup.any():
        return frame
    rows = np.sort(_source_rows(frame)[dup])
    where = f" in {source}" if source else ""
    log.add("drop", f"dropped {int(dup.sum())} exact duplicate record(s){where} (identical to an earlier record)",
            rows=rows.tolist())
    if problems is not None:
        problems.append(Problem.make(
            "info", "exact_duplicate_dropped", "records identical to an earlier record (same firm, year and values) "
            "were dropped; the earlier record is kept", column="firm_id/year", rows=rows, source=source,
            fix="nothing to do unless the survey double-counts records; the provenance log lists them"))
    return frame.loc[~dup]
