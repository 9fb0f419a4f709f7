"""Readers: one call, ``read_table``, for the file formats surveys arrive in.

CSV/TSV and Parquet go through pandas; Excel through pandas/openpyxl; Stata ``.dta`` and SPSS ``.sav`` through
pyreadstat, which returns value labels (turned into categories) and variable labels. Nothing here is written from
scratch except the UTF-8 check, which exists to say *where* a file stops being UTF-8 (pandas' own error does not
give the file offset) and the delimiter sniffing on a small prefix.

Every table gets ``source_row``: the 1-based record number in the original file, header excluded (Stata ``_n``),
which every later provenance entry and validation problem cites.
"""

from __future__ import annotations

import codecs
import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import LoadError

#: extension -> format name
FORMATS: dict[str, str] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".dta": "stata", ".sav": "spss", ".zsav": "spss", ".parquet": "parquet", ".pq": "parquet",
}
_SNIFF_BYTES = 64 * 1024
#: text read as missing in CSV/TSV. Deliberately short: pandas' default list also swallows "n/a", "N/A", "null",
#: "#N/A" …, which in surveys often carry a reason ("not applicable"); those stay text, so they are either declared
#: in the mapping's [missing] section (and the reason kept) or reported as text in a numeric column.
NA_TEXT = ("", "NA", "NaN", "nan", ".")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawTable:
    """A file as read, before any mapping.

    ``frame`` holds the columns as the file has them (value-labelled columns as categories of their labels);
    ``source_row`` the 1-based record numbers (header excluded); ``variable_labels`` maps column → label and
    ``value_labels`` column → {code: label} where the file carries them (Stata, SPSS).
    """

    frame: pd.DataFrame
    path: str
    source_row: np.ndarray
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    format: str = ""
    sheet: str | int | None = None
    encoding: str | None = None
    #: values the file itself declares missing (SPSS user-missing values): column -> {value: reason}
    declared_missing: dict[str, dict[Any, str]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.frame.shape[0])

    @classmethod
    def from_frame(cls, df: pd.DataFrame, name: str = "<DataFrame>") -> RawTable:
        """Wrap an in-memory frame (its rows are numbered 1..n in their current order)."""
        frame = df.reset_index(drop=True)
        return cls(frame, name, np.arange(1, len(frame) + 1, dtype=np.int64),
                   variable_labels=dict(df.attrs.get("variable_labels", {}) or {}), format="frame")


def read_table(path: str | os.PathLike, *, sheet: str | int | None = None, encoding: str | None = None,
               text_columns: tuple[str, ...] = ()) -> RawTable:
    """Read a survey file into a :class:`RawTable`.

    Parameters
    ----------
    path : CSV/TSV (``.csv``, ``.txt``, ``.tsv``, ``.tab``), Excel (``.xlsx``, ``.xls``), Stata ``.dta``,
        SPSS ``.sav``, Parquet (``.parquet``).
    sheet : Excel sheet name or 0-based index (default: the first sheet).
    encoding : text encoding of a CSV/TSV (or a legacy Stata/SPSS file). A CSV that is not UTF-8 is refused unless
        its encoding is stated.
    text_columns : columns to keep as text in CSV/Excel (identifiers such as ``"007"`` keep their leading zeros).

    Raises
    ------
    LoadError
        missing or unreadable file, unknown extension, missing sheet, non-UTF-8 text without ``encoding``.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise LoadError(f"file {p}: unknown file type {p.suffix or '(no extension)'!r}; clusterecon reads "
                        f"{', '.join(sorted(FORMATS))} – convert the file or rename it with the right extension")
    if not p.exists():
        near = sorted(x.name for x in p.parent.glob(f"*{p.suffix}")) if p.parent.is_dir() else []
        hint = f"; files with that extension there: {', '.join(near[:5])}" if near else ""
        raise LoadError(f"file {p} does not exist (looked in {p.parent.resolve()}){hint}")
    if p.is_dir():
        raise LoadError(f"file {p} is a directory; give the path of a survey file")
    try:
        if fmt in ("csv", "tsv"):
            return _read_text(p, fmt, encoding, text_columns)
        if fmt == "excel":
            return _read_excel(p, sheet, text_columns)
        if fmt in ("stata", "spss"):
            return _read_labelled(p, fmt, encoding)
        return _finish(pd.read_parquet(p), p, fmt)
    except LoadError:
        raise
    except PermissionError as e:
        raise LoadError(f"file {p} cannot be opened ({e.strerror}); check its permissions") from e
    except Exception as e:  # every reader library has its own error types; one clear message for all
        raise LoadError(f"file {p} could not be read as {fmt}: {type(e).__name__}: {e}. Check that the file is a "
                        f"complete {fmt} file (re-export it from the source program)") from e


# ---------------------------------------------------------------------------------------------------------- text
def check_utf8(p: Path) -> str:
    """'utf-8-sig' or 'utf-8' if the file decodes; LoadError naming the first bad byte and its offset otherwise."""
    dec = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    bom = False
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if offset == 0 and chunk.startswith(codecs.BOM_UTF8):
                bom = True
            if chunk.isascii() and not dec.getstate()[0]:  # fast path: plain ASCII needs no decoding
                offset += len(chunk)
                continue
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                bad = chunk[e.start]
                raise LoadError(
                    f"file {p} is not UTF-8 (byte 0x{bad:02x} at offset {offset + e.start}); pass "
                    f"encoding='latin-1' (or the file's real encoding, e.g. 'cp1252') to read_table/load_survey, "
                    f"or --encoding latin-1 on the command line") from None
            offset += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            raise LoadError(f"file {p} is not UTF-8 (it ends inside a multi-byte character at offset {offset}); "
                            "pass encoding='latin-1' or --encoding latin-1") from None
    return "utf-8-sig" if bom else "utf-8"


def _sniff_delimiter(p: Path, fmt: str, encoding: str) -> str:
    if fmt == "tsv":
        return "\t"
    with open(p, encoding=encoding, errors="replace", newline="") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if not sample.strip():
        raise LoadError(f"file {p} is empty; a survey file needs a header row and at least one record")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_text(p: Path, fmt: str, encoding: str | None, text_columns: tuple[str, ...]) -> RawTable:
    enc = encoding or check_utf8(p)
    try:
        codecs.lookup(enc)
    except LookupError:
        raise LoadError(f"file {p}: unknown encoding {enc!r}; use e.g. 'utf-8', 'latin-1', 'cp1252'") from None
    sep = _sniff_delimiter(p, fmt, enc)
    header = pd.read_csv(p, sep=sep, encoding=enc, nrows=0).columns
    dtype = {c: "string" for c in text_columns if c in header}
    try:
        df = pd.read_csv(p, sep=sep, encoding=enc, dtype=dtype or None, skipinitialspace=True,
                         keep_default_na=False, na_values=list(NA_TEXT))
    except pd.errors.ParserError as e:
        raise LoadError(f"file {p} could not be parsed with delimiter {sep!r}: {e}. Check for unquoted delimiters "
                        "inside values or a ragged row") from e
    return _finish(df, p, fmt, encoding=enc)


# ---------------------------------------------------------------------------------------------------------- excel
def _read_excel(p: Path, sheet: str | int | None, text_columns: tuple[str, ...]) -> RawTable:
    with pd.ExcelFile(p) as xl:
        names = list(xl.sheet_names)
        if sheet is None:
            chosen: str | int = names[0]
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
            i = int(sheet)
            if not 0 <= i < len(names):
                raise LoadError(f"file {p} has no sheet number {i} (0-based); its sheets are: "
                                f"{', '.join(repr(n) for n in names)}")
            chosen = names[i]
        else:
            if sheet not in names:
                from .errors import suggest

                raise LoadError(f"file {p} has no sheet {sheet!r}{suggest(sheet, names)}; its sheets are: "
                                f"{', '.join(repr(n) for n in names)}")
            chosen = sheet
        df = pd.read_excel(xl, sheet_name=chosen, dtype={c: "string" for c in text_columns} or None)
    return _finish(df, p, "excel", sheet=chosen)


# ---------------------------------------------------------------------------------------------------------- stata/spss
def _read_labelled(p: Path, fmt: str, encoding: str | None) -> RawTable:
    import pyreadstat

    if fmt == "stata":
        df, meta = pyreadstat.read_dta(str(p), apply_value_formats=True, formats_as_category=True,
                                       encoding=encoding)
    else:  # keep SPSS user-missing codes as values so their reasons survive (they become NA in canonicalise)
        df, meta = pyreadstat.read_sav(str(p), apply_value_formats=True, formats_as_category=True,
                                       encoding=encoding, user_missing=True)
    var_labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    val_labels = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items() if v}
    declared: dict[str, dict[Any, str]] = {}
    for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        labels = val_labels.get(col, {})
        for r in ranges:
            lo, hi = r.get("lo"), r.get("hi")
            if lo is None or lo != hi:
                continue  # a range (lo ≠ hi) cannot be listed value by value: values in it stay and are checked
            declared.setdefault(col, {})[lo] = labels.get(lo, "declared missing in the file")
    for col, vals in (getattr(meta, "missing_user_values", None) or {}).items():
        labels = val_labels.get(col, {})
        for v in vals:
            declared.setdefault(col, {})[v] = labels.get(v, "declared missing in the file")
    t = _finish(df, p, fmt, var_labels, val_labels, encoding=encoding)
    return RawTable(t.frame, t.path, t.source_row, t.variable_labels, t.value_labels, t.format, t.sheet, t.encoding,
                    declared)


def _finish(df: pd.DataFrame, p: Path, fmt: str, var_labels: dict | None = None, val_labels: dict | None = None,
            *, sheet: str | int | None = None, encoding: str | None = None) -> RawTable:
    df = df.reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise LoadError(f"file {p} has repeated column names {dup}; rename them in the file so each is unique")
    return RawTable(df, str(p), np.arange(1, len(df) + 1, dtype=np.int64), var_labels or {}, val_labels or {},
                    fmt, sheet, encoding)
