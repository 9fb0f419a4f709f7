"""Casting to canonical types, value scaling and currency conversion (with redenominations).

Casting never turns text into NaN silently: a value that cannot be read as a number becomes a ``text_in_numeric``
error Problem naming the column, the original rows and the values (a thousands separator such as ``"1,234"`` is
reported too, because guessing whether the comma is a decimal mark is not safe). Currency conversion divides values
recorded in a redenominated old unit by the ratio (GHC → GHS: 10,000 old cedis = 1 new cedi from July 2007) and
multiplies by the stated rate (target units per source unit, one number or one per year) to reach the target.
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pandas as pd

from .. import schema
from .._threads import pool
from ..firmyear import FileBlocks, factorize_blocks
from ..problems import Problem
from ..provenance import ProvenanceEntry, ProvenanceLog
from .errors import as_printed, visible
from .mapping import CurrencySpec
from .raw_table import _high_bit


def urows(s: pd.Series) -> np.ndarray:
    """Sorted distinct record numbers (a firm-level value repeated on recalled years is one record)."""
    return np.unique(s.to_numpy(dtype=np.int64))


def id_strings(s: pd.Series) -> pd.Series:
    """Identifiers as text: whole-number floats lose their ``.0`` (Stata/Excel store ids as doubles), surrounding
    spaces go, and an empty id is missing."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (np.floor(v) == v)
        if whole[~np.isnan(v)].all():
            return pd.Series(pd.array(v, dtype="Float64").astype("Int64").astype("string"), index=s.index)
        s = s.astype(object)  # one id with a fraction must not give the whole ones a ".0" (they would not join)
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64").astype("string")
    if s.dtype == object:  # mixed cells (Excel): numbers that are whole lose their .0 one by one
        s = s.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else v, na_action="ignore")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def firm_ids(s: pd.Series, rows: np.ndarray, log: ProvenanceLog, problems: list[Problem], src: str,
             column: str = "firm_id", blocks_found: list | None = None) -> tuple[pd.Series, np.ndarray, pd.Index]:
    """:func:`id_strings` on the distinct raw ids, reporting what normalising them did.

    Returns the ids as text, their codes (``-1`` missing) and the sorted distinct ids the codes index: the one
    factorisation of the ids that the duplicate rules, the validator and the panel share
    (:func:`clusterecon.firmyear.keys_of`). Raw ids that become the same id (``" A1"`` and ``"A1"``, or the number
    7 and the text ``"7"`` in one Excel column) are merged into one firm: a provenance entry and a
    ``firm_ids_merged`` warning list them with their rows. Ids that differ only in upper/lower case are kept apart,
    with a ``firm_ids_differ_in_case`` warning, and so are ids that print alike (Unicode normalisation, invisible
    characters), with a ``firm_ids_look_alike`` warning. ``blocks_found``: a list to which the
    :class:`~clusterecon.firmyear.FileBlocks` of the returned codes are appended, if the factorisation found the
    rows listed firm by firm."""
    blocks = None
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniq = s.array.codes.astype(np.int64), pd.Series(s.cat.categories)
    else:
        c, u, blocks = factorize_blocks(s)
        codes, uniq = c, pd.Series(u.array)
    text = pd.api.types.is_string_dtype(s.dtype) and s.dtype != object
    cased = _plain_ascii_cases(uniq.array) if text and not isinstance(s.dtype, pd.CategoricalDtype) else None
    if cased is not None:  # nothing to strip, nothing blank: id_strings would return the ids as they are
        ids_u = uniq.astype("string")
    else:
        ids_u = id_strings(uniq).reset_index(drop=True)
    if cased is not None or text and not ids_u.isna().any() and bool((ids_u == uniq).all()) and not isinstance(
            s.dtype, pd.CategoricalDtype):  # (factorize sorted them)
        # sorted text ids that normalising left alone: the column and the codes stand as they are
        out, final, nuniq = s, codes, ids_u.array
    else:
        ncodes, nuniq = pd.factorize(ids_u, sort=True, use_na_sentinel=True)
        final = np.append(ncodes, -1)[codes]  # a missing raw id (code -1) stays missing
        out = pd.Series(pd.array(nuniq, dtype="string").take(final, allow_fill=True), index=s.index)
    # what normalising changed: text with surrounding spaces, or blank (a whole number losing ".0" is no change)
    if cased is not None:
        text_u = None  # normalising changed nothing
    elif uniq.dtype == object:
        text_u = pd.Series([v if isinstance(v, str) else None for v in uniq], dtype="string")
    else:
        text_u = uniq.astype("string") if pd.api.types.is_string_dtype(uniq.dtype) else None
    if text_u is not None:
        changed = (text_u.notna() & (text_u != ids_u).fillna(True)).to_numpy(dtype=bool)
        if changed.any():
            which = np.flatnonzero(changed)
            log.add("cast", f"{len(which)} distinct {column} value(s) had surrounding spaces removed (a blank id is "
                    "missing)", column, rows=np.unique(rows[np.isin(codes, which)]),
                    examples={str(uniq[i]): (None if pd.isna(ids_u[i]) else ids_u[i]) for i in which[:20]})
    # distinct raw ids can only become one id if normalising changed some (or they mix numbers and text)
    dup = (ids_u.duplicated(keep=False) & ids_u.notna()).to_numpy(dtype=bool) if len(nuniq) < len(
        ids_u) - int(ids_u.isna().sum()) else np.zeros(len(ids_u), dtype=bool)
    if dup.any():
        members = np.flatnonzero(dup)
        merged = pd.Series(members).groupby(ids_u[members].to_numpy(dtype=object), sort=True)
        vals = [f"{k!r} ← {', '.join(repr(uniq[i]) for i in g)}" for k, g in merged]
        hit_rows = np.unique(rows[np.isin(codes, members)])
        log.add("cast", f"{len(vals)} {column} value(s) merged: raw ids that differ only in surrounding spaces or "
                "number format were read as one firm", column, rows=hit_rows, merged=vals[:200])
        problems.append(Problem.make(
            "warning", "firm_ids_merged", f"raw {column} values that differ only in surrounding spaces or number "
            f"format were read as the same firm ({len(vals)} id(s))", column=column, rows=hit_rows, values=vals,
            source=src, fix="if they are different firms, give them distinct ids in the file"))
    ids = pd.Series(nuniq, dtype="string")
    # two ids can differ only in case if some id has a lower-case letter and some id an upper-case one
    if cased is None or all(cased):
        folded = ids.str.lower()
        if not ((folded == ids).all() or (ids.str.upper() == ids).all()) and folded.nunique() < len(folded):
            _report_twins(ids, folded, "differ_in_case", "upper/lower case", final, rows, problems, src, column)
    # ids that print alike need a non-ASCII character (a zero-width space, an accent written as two code points)
    other = ~ids.str.isascii().to_numpy(dtype=bool) if cased is None else np.zeros(len(ids), dtype=bool)
    if other.any():
        shown = ids.copy()
        shown[other] = [as_printed(v) for v in ids[other]]
        if shown.nunique() < len(shown):
            _report_twins(ids, shown, "look_alike", "Unicode normalisation (NFC/NFKC) or invisible characters",
                          final, rows, problems, src, column)
    # the blocks the factorisation found hold for the final codes only if normalising changed none
    if blocks_found is not None and blocks is not None and final is codes:
        blocks_found.append(blocks)
    return out, final, pd.Index(nuniq, dtype="string", name=column)


def _plain_ascii_cases(a) -> tuple[bool, bool] | None:
    """For Arrow-backed distinct ids that are ASCII, none empty and none beginning or ending with a space or a
    control character (whatever a strip removes is among those): (some id has a lower-case letter, some id an
    upper-case one); ``None`` for any other ids. Read off the strings' bytes, which is 10x cheaper than stripping,
    lower- and upper-casing 200,000 ids to find that nothing changes (``benchmarks/bench_load.py``)."""
    import pyarrow as pa

    arr = getattr(a, "_pa_array", None)
    if arr is None or not pa.types.is_large_string(arr.type) or arr.null_count:
        return None
    lower = upper = False
    for c in arr.chunks:
        if not len(c):
            continue
        bufs = c.buffers()
        off = np.frombuffer(bufs[1], dtype=np.int64)[c.offset:c.offset + len(c) + 1]
        if bufs[2] is None or bool((off[1:] == off[:-1]).any()):
            return None  # an empty id (blank: missing)
        data = np.frombuffer(bufs[2], dtype=np.uint8)
        if bool((data[off[:-1]] <= 32).any()) or bool((data[off[1:] - 1] <= 32).any()):
            return None  # a leading or trailing space or control character
        body = data[off[0]:off[-1]]
        if _high_bit(body):
            return None
        lower = lower or bool(((body >= 97) & (body <= 122)).any())
        upper = upper or bool(((body >= 65) & (body <= 90)).any())
    return lower, upper


def _report_twins(ids: pd.Series, key: pd.Series, rule: str, differ: str, final: np.ndarray, rows: np.ndarray,
                  problems: list[Problem], src: str, column: str) -> None:
    """A warning listing the distinct ids that share ``key`` (ids that differ only by ``differ``): they are kept as
    different firms, which is right only if the file means them to be."""
    idx = np.flatnonzero(key.duplicated(keep=False).to_numpy(dtype=bool))
    groups = pd.Series(idx).groupby(key[idx].to_numpy())
    vals = [" / ".join(visible(ids[i], "<U+{:04X}>") for i in g) for _, g in groups]
    problems.append(Problem.make(
        "warning", f"firm_ids_{rule}", f"{column} values that differ only in {differ} are kept as different firms",
        column=column, rows=np.unique(rows[np.isin(final, idx)]), values=vals[:20], source=src,
        fix="if they are the same firm, write its id the same way in every record"))


def _firm_ids_apart(s: pd.Series, rows: np.ndarray, src: str
                    ) -> tuple[pd.Series, np.ndarray, pd.Index, FileBlocks | None, list[ProvenanceEntry],
                               list[Problem]]:
    """:func:`firm_ids` with a log and a problem list of its own (for a worker thread): (ids, codes, sorted ids,
    their file blocks if found, log entries, problems)."""
    log: ProvenanceLog = ProvenanceLog()
    problems: list[Problem] = []
    found: list[FileBlocks] = []
    out, codes, index = firm_ids(s, rows, log, problems, src, blocks_found=found)
    return out, codes, index, found[0] if found else None, list(log), problems


def _to_number(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(numeric Float64 series, mask of non-missing values that are not numbers)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("Int64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("Float64"), pd.Series(False, index=s.index)
    obj = s.astype(object)
    text = obj.where(obj.isna(), obj.astype(str).str.strip())
    text = text.where(text != "", None)  # blank cells are missing, not text
    num = pd.to_numeric(text, errors="coerce").astype("Float64")
    bad = num.isna() & text.notna()
    return num, bad


def start_firm_ids(df: pd.DataFrame, src: str) -> Future | None:
    """:func:`firm_ids` of ``df["firm_id"]`` begun on the pool's worker (for :func:`cast_canonical`), or ``None``
    without that column. The caller must not change the firm_id column before the cast."""
    if "firm_id" not in df.columns:
        return None
    return pool().submit(_firm_ids_apart, df["firm_id"], df["source_row"].to_numpy(), src)


def cast_canonical(df: pd.DataFrame, log: ProvenanceLog, problems: list[Problem], src: str,
                   ids: Future | None = None, *, owned: bool = False, meanwhile=None
                   ) -> tuple[pd.DataFrame, tuple[np.ndarray, pd.Index, FileBlocks | None] | None]:
    """Give canonical columns their schema types (``id``/``string`` → text, ``int`` → Int64, ``float`` → Float64,
    ``year`` → int64 when complete); report values that do not fit. Returns the frame and the firm ids' codes and
    sorted distinct ids (:func:`firm_ids`), if the frame has ``firm_id``.

    Text columns that arrive as categories (value labels, Parquet dictionaries) stay categorical here, with text
    categories: a million firm-years hold a few distinct values, and the panel turns them into its text columns
    after grouping (:meth:`clusterecon.panel.SurveyPanel.from_frame`).

    ``ids``: the firm ids' factorisation when the caller began it already (:func:`start_firm_ids`). ``owned``: no
    one else holds the frame's arrays (the loader read the file itself), so a complete float or integer column
    becomes its nullable type around the same values instead of a copy of them (:func:`_wrap_owned`).
    ``meanwhile(df)``: called once the other columns are cast, while the worker may still be factorising the firm
    ids (the loader reads the year codes then, :func:`clusterecon.firmyear.year_keys`)."""
    # The firm ids are factorised on the pool's worker while this thread casts the other columns (firm_id is
    # usually the first column: waiting for it there would overlap nothing). What the worker logs and reports is
    # inserted where the firm_id column's turn was, so the log and the problems are in the same order as before.
    ids = ids if ids is not None else start_firm_ids(df, src)
    try:
        log_at, problems_at = _cast_columns(df, log, problems, src, owned)
    except BaseException:
        if ids is not None and ids.exception() is not None:  # firm_id's turn came first: its error is the one
            raise ids.exception() from None
        raise
    if meanwhile is not None:
        meanwhile(df)
    if ids is None:
        return df, None
    df["firm_id"], codes, index, blocks, entries, found = ids.result()
    log.insert(log_at, entries)
    problems[problems_at:problems_at] = found
    return df, (codes, index, blocks)


def _wrap_owned(s: pd.Series, kind: str) -> pd.Series | None:
    """``s.astype("Float64")`` (``kind`` float) or ``s.astype("Int64")`` (int) of a numpy float64/int64 column
    without missing values, built around the column's own array instead of a copy (``None`` for any other column).
    Only for arrays no one else holds: the loader's own read of a file. A 1M-row survey's six amounts were 50 MB
    of copies, and fresh memory costs more to touch than to fill (``benchmarks/bench_load.py``)."""
    v = getattr(s.array, "_ndarray", None)
    want = np.float64 if kind == "float" else np.int64
    if not isinstance(v, np.ndarray) or v.dtype != want or v.ndim != 1 or not v.flags.writeable:
        return None
    if kind == "float":
        # np.min is NaN exactly when a value is: the check reads the column without writing a mask of it
        if len(v) and np.isnan(np.min(v)):
            return None
        return pd.Series(pd.arrays.FloatingArray(v, np.zeros(len(v), dtype=bool)), index=s.index, name=s.name,
                         copy=False)
    return pd.Series(pd.arrays.IntegerArray(v, np.zeros(len(v), dtype=bool)), index=s.index, name=s.name,
                     copy=False)


def _cast_columns(df: pd.DataFrame, log: ProvenanceLog, problems: list[Problem], src: str,
                  owned: bool = False) -> tuple[int, int]:
    """:func:`cast_canonical`'s casts of every column but ``firm_id``; returns the lengths of the log and of the
    problems when firm_id's turn came (where its entries belong)."""
    at = (len(log), len(problems))
    for col in list(df.columns):
        spec = schema.BY_NAME.get(col)
        if col == "firm_id":
            at = (len(log), len(problems))
            continue
        if spec is None:
            continue
        s = df[col]
        if spec.kind == "string" and isinstance(s.dtype, pd.CategoricalDtype):
            if not pd.api.types.is_string_dtype(s.cat.categories.dtype):
                df[col] = s.astype("string")
            continue
        if spec.kind in ("id", "string"):
            if str(s.dtype) != "string":
                df[col] = id_strings(s) if spec.kind == "id" else s.astype("string")
            continue
        if spec.kind not in ("int", "float"):
            continue
        if spec.kind == "int" and pd.api.types.is_integer_dtype(s.dtype) and not isinstance(
                s.dtype, pd.CategoricalDtype):  # whole numbers already: nothing to check
            wrapped = None if col == "year" or not owned else _wrap_owned(s, "int")
            df[col] = s if col == "year" and s.dtype.kind in "iu" else wrapped if wrapped is not None else s.astype(
                "Int64")
            continue
        wrapped = _wrap_owned(s, "float") if owned and spec.kind == "float" else None
        if wrapped is not None:
            df[col] = wrapped
            continue
        num, bad = _to_number(s)
        if bad.any():
            vals = df.loc[bad, col].astype(str).unique().tolist()
            problems.append(Problem.make(
                "error", "text_in_numeric", f"values in numeric column {col!r} are not numbers", column=col,
                rows=urows(df.loc[bad, "source_row"]), values=vals[:20], source=src,
                fix="correct them in the file, or declare survey codes such as 'n/a' in the mapping's [missing] "
                    "section (numbers must not contain thousands separators)"))
            log.add("cast", f"{int(bad.sum())} non-numeric cells in {col} reported (error) and left missing", col,
                    rows=urows(df.loc[bad, "source_row"]), values=vals[:20])
        if spec.kind == "int":
            v = num.to_numpy(dtype=float, na_value=np.nan)
            # infinite values, and values beyond int64 (Int64 would wrap 1e20 round to -9.2e18, with a numpy
            # warning), are left as numbers for the validator's non_finite and range rules, which name the rows
            if (np.abs(v) >= 2.0**63).any():
                df[col] = num
                continue
            frac = ~np.isnan(v) & (np.floor(v) != v)
            if frac.any():
                problems.append(Problem.make(
                    "error", "not_integer", f"column {col!r} holds whole numbers but these values have a fraction",
                    column=col, rows=urows(df.loc[frac, "source_row"]), values=np.unique(v[frac])[:20].tolist(),
                    source=src,
                    fix="correct the values in the file"))
                df[col] = num
                continue
            num = num.astype("Int64")
            if col == "year" and not num.isna().any():
                num = num.astype("int64")
        df[col] = num
    return at


def apply_scale(df: pd.DataFrame, scale: dict[str, float], log: ProvenanceLog) -> None:
    for col, f in scale.items():
        if col not in df.columns or f == 1.0:
            continue
        df[col] = df[col].astype("Float64") * f
        n = int(df[col].notna().sum())
        log.add("scale", f"{col} multiplied by {f:g} (values were reported in units of {f:g})", col, n_rows=n,
                factor=f)


def apply_currency(df: pd.DataFrame, spec: CurrencySpec, log: ProvenanceLog, problems: list[Problem],
                   src: str) -> None:
    """Redenominate and convert the monetary columns; sets the ``currency`` column to each row's final unit."""
    cols = [c for c in (spec.columns or schema.MONETARY) if c in df.columns]
    if spec.column is not None:
        cur = df[spec.column].astype("string").str.strip().str.upper()
        if spec.unit is not None:
            cur = cur.fillna(spec.unit.upper())
        miss = cur.isna()
        if miss.any():
            problems.append(Problem.make(
                "error", "currency_missing", f"rows without a currency in column {spec.column!r}", column=spec.column,
                rows=urows(df.loc[miss, "source_row"]), source=src,
                fix="fill the currency or give unit = \"...\" in [currency] as the default"))
    else:
        cur = pd.Series(spec.unit.upper() if spec.unit else pd.NA, index=df.index, dtype="string")
    year = df["year"].to_numpy(dtype=float, na_value=np.nan) if "year" in df.columns else np.full(len(df), np.nan)
    for r in spec.redenomination:
        old, new = r.old.upper(), r.new.upper()
        if r.by_year:
            implicit = cur.isin([old, new]).to_numpy() & (year < r.year)
            cur = cur.mask(implicit, old)
        hit = (cur == old).fillna(False).to_numpy()
        if hit.any():
            for c in cols:
                df[c] = df[c].astype("Float64").mask(hit, df[c].astype("Float64") / r.ratio)
            cur = cur.mask(hit, new)
            log.add("currency", f"{int(hit.sum())} rows redenominated {old} → {new} ({r.ratio:g}:1 from {r.year})",
                    None, rows=urows(df.loc[hit, "source_row"]), n_rows=int(hit.sum()), columns=cols, ratio=r.ratio,
                    old=old, new=new, year=r.year)
    if spec.target is not None:
        tgt = spec.target.upper()
        factor = np.ones(len(df))
        need = (cur != tgt).fillna(False).to_numpy()
        no_rate = np.zeros(len(df), dtype=bool)
        for c_code in pd.unique(cur[need].dropna()):
            rate = spec.rates.get(c_code, spec.rates.get(c_code.lower()))
            m = need & (cur == c_code).fillna(False).to_numpy()
            if rate is None:
                no_rate |= m
                continue
            if isinstance(rate, dict):
                f = pd.Series(year[m]).map(lambda y, r=rate: r.get(int(y)) if y == y else None).to_numpy(dtype=float)
                no_rate[np.flatnonzero(m)[np.isnan(f)]] = True
                factor[m] = f
            else:
                factor[m] = rate
            ok = m & ~no_rate
            log.add("currency", f"{int(ok.sum())} rows converted {c_code} → {tgt}", None,
                    rows=urows(df.loc[ok, "source_row"]), n_rows=int(ok.sum()), columns=cols,
                    rate=rate if not isinstance(rate, dict) else {str(k): v for k, v in rate.items()})
        if no_rate.any():
            problems.append(Problem.make(
                "error", "currency_rate_missing", f"no exchange rate to {tgt} for these rows' currency/year",
                column="currency", rows=urows(df.loc[no_rate, "source_row"]),
                values=sorted({f"{c} {int(y) if y == y else '?'}" for c, y in zip(cur[no_rate], year[no_rate])})[:20],
                source=src, fix="add the rates to [currency.rates] (target units per unit, e.g. USD = 12.5 or a "
                                "table of year = rate)"))
            factor[no_rate] = 1.0  # left unconverted (and reported)
        conv = need & ~no_rate
        for c in cols:
            df[c] = df[c].astype("Float64") * factor
        cur = cur.mask(conv, tgt)
    df["currency"] = cur.astype("string")
    log.add("currency", "currency column set to each row's unit after conversion", "currency", n_rows=len(df),
            units=sorted(str(x) for x in pd.unique(cur.dropna())))
