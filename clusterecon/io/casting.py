"""Casting to canonical types, value scaling and currency conversion (with redenominations).

Casting never turns text into NaN silently: a value that cannot be read as a number becomes a ``text_in_numeric``
error Problem naming the column, the original rows and the values (a thousands separator such as ``"1,234"`` is
reported too, because guessing whether the comma is a decimal mark is not safe). Currency conversion divides values
recorded in a redenominated old unit by the ratio (GHC → GHS: 10,000 old cedis = 1 new cedi from July 2007) and
multiplies by the stated rate (target units per source unit, one number or one per year) to reach the target.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema
from ..problems import Problem
from ..provenance import ProvenanceLog
from .mapping import CurrencySpec


def urows(s: pd.Series) -> np.ndarray:
    """Sorted distinct record numbers (a firm-level value repeated on recalled years is one record)."""
    return np.unique(s.to_numpy(dtype=np.int64))


def id_strings(s: pd.Series) -> pd.Series:
    """Identifiers as text: whole-number floats lose their ``.0`` (Stata/Excel store ids as doubles)."""
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (np.floor(v) == v)
        if whole[~np.isnan(v)].all():
            return pd.Series(pd.array(v, dtype="Float64").astype("Int64").astype("string"), index=s.index)
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64").astype("string")
    return s.astype("string").str.strip()


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


def cast_canonical(df: pd.DataFrame, log: ProvenanceLog, problems: list[Problem], src: str) -> pd.DataFrame:
    """Give canonical columns their schema types (``id``/``string`` → text, ``int`` → Int64, ``float`` → Float64,
    ``year`` → int64 when complete); report values that do not fit."""
    for col in list(df.columns):
        spec = schema.BY_NAME.get(col)
        if col == "firm_id":
            df[col] = id_strings(df[col])
            continue
        if spec is None:
            continue
        if spec.kind in ("id", "string"):
            if str(df[col].dtype) != "string":
                df[col] = id_strings(df[col]) if spec.kind == "id" else df[col].astype("string")
            continue
        if spec.kind not in ("int", "float"):
            continue
        num, bad = _to_number(df[col])
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
    return df


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
