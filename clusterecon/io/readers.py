"""Readers: one call, ``read_table``, for the file formats surveys arrive in.

CSV/TSV and Parquet go through pandas; Excel ``.xlsx`` through openpyxl; Stata ``.dta`` and SPSS ``.sav`` through
pyreadstat, which returns value labels (turned into categories), variable labels and the file's own missing-value
declarations. Written here, because no reader offers it: the encoding check (UTF-8 with the offset of the first bad
byte; UTF-16/32 recognised by their byte-order mark or their NUL pattern), the delimiter sniffing on a small
prefix, the raw header check (pandas silently renames a repeated ``sales`` to ``sales.1``), and the one NA policy.

Modules: :class:`RawTable`, the one NA policy for every format (:data:`NA_TEXT`, ``docs/mapping.md``) and
``source_row`` (the 1-based record number in the original file, header excluded, Stata ``_n``) are in
:mod:`clusterecon.io.raw_table`; CSV/TSV in :mod:`clusterecon.io.readers_text`; Excel in
:mod:`clusterecon.io.readers_excel`; Stata/SPSS, with the missing values the file declares, in
:mod:`clusterecon.io.readers_labelled`; Parquet is read here. Every name is importable from here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .errors import LoadError
from .paths import visible_files
from .raw_table import (  # noqa: F401 (re-exported)
    NA_TEXT,
    NAConversion,
    RawTable,
    _finish,
    apply_na_policy,
    check_names,
    describe_source,
)
from .readers_excel import _read_excel
from .readers_labelled import STATA_UTF8_RELEASE, _read_labelled, stata_release  # noqa: F401 (re-exported)
from .readers_text import _read_text, check_utf8, detect_encoding  # noqa: F401 (re-exported)

#: extension -> format name
FORMATS: dict[str, str] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".dta": "stata", ".sav": "spss", ".zsav": "spss", ".parquet": "parquet", ".pq": "parquet",
}


def read_table(path: str | os.PathLike, *, sheet: str | int | None = None, encoding: str | None = None,
               text_columns: tuple[str, ...] = ()) -> RawTable:
    """Read a survey file into a :class:`RawTable`.

    Parameters
    ----------
    path : CSV/TSV (``.csv``, ``.txt``, ``.tsv``, ``.tab``), Excel (``.xlsx``, ``.xls``), Stata ``.dta``,
        SPSS ``.sav``, Parquet (``.parquet``).
    sheet : Excel sheet name or 0-based index (default: the first sheet).
    encoding : text encoding of a CSV/TSV, of a Stata file written by Stata 13 or earlier, or of an SPSS file (whose
        own declaration it overrides). A CSV that is neither UTF-8 nor UTF-16/32 (recognised by its byte-order mark
        or NUL pattern) is refused unless its encoding is stated. Stata 14 and later write UTF-8 by definition, so
        for their files the encoding is not used, and :attr:`RawTable.notes` says so.
    text_columns : columns to keep as text in CSV/Excel (identifiers such as ``"007"`` keep their leading zeros).

    Raises
    ------
    LoadError
        missing or unreadable file, unknown extension, missing sheet, undeclared encoding, repeated column names,
        a file (or sheet) with a header but no records.
    """
    p = Path(path)
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise LoadError(f"file {p}: unknown file type {p.suffix or '(no extension)'!r}; clusterecon reads "
                        f"{', '.join(sorted(FORMATS))} – convert the file or rename it with the right extension")
    # an option the format has no use for is refused, not ignored: the user meant some other file or setting
    if sheet is not None and fmt != "excel":
        raise LoadError(f"file {p}: a sheet ({sheet!r}) was given, but a {fmt} file has no sheets; leave out --sheet "
                        "(or [source] sheet in the mapping), which chooses a sheet of an Excel workbook")
    if encoding is not None and fmt in ("excel", "parquet"):
        raise LoadError(f"file {p}: an encoding ({encoding!r}) was given, but {fmt} files declare their own; leave out "
                        "--encoding (or [source] encoding in the mapping), which is for CSV, Stata ≤ 13 and SPSS files")
    if not p.exists():
        near = [x.name for x in visible_files(p.parent, f"*{p.suffix}")] if p.parent.is_dir() else []
        hint = f"; files with that extension there: {', '.join(near[:5])}" if near else ""
        raise LoadError(f"file {p} does not exist (looked in {p.parent.resolve()}){hint}")
    if p.is_dir():
        raise LoadError(f"file {p} is a directory; give the path of a survey file")
    if not p.is_file():  # a FIFO, device or socket: reading it can block forever or never end
        raise LoadError(f"file {p} is not a regular file ({_kind(p)}); give the path of a survey file saved on disk")
    try:
        if fmt in ("csv", "tsv"):
            return _read_text(p, fmt, encoding, text_columns)
        if fmt == "excel":
            return _read_excel(p, sheet, text_columns)
        if fmt in ("stata", "spss"):
            return _read_labelled(p, fmt, encoding, text_columns)
        return _read_parquet(p, text_columns)
    except LoadError:
        raise
    except PermissionError as e:
        raise LoadError(f"file {p} cannot be opened ({e.strerror}); check its permissions") from e
    except Exception as e:  # every reader library has its own error types; one clear message for all
        raise LoadError(f"file {p} could not be read as {fmt}: {type(e).__name__}: {e}. Check that the file is a "
                        f"complete {fmt} file (re-export it from the source program)") from e


def _kind(p: Path) -> str:
    """What a non-regular file is, for the message."""
    if p.is_fifo():
        return "a named pipe"
    if p.is_socket():
        return "a socket"
    if p.is_char_device() or p.is_block_device():
        return "a device"
    return "not a file with data"


# ---------------------------------------------------------------------------------------------------------- parquet
def _read_parquet(p: Path, text_columns: tuple[str, ...]) -> RawTable:
    """Text columns other than the identifiers are read as Arrow dictionaries, i.e. pandas categories: survey codes
    and names repeat, Parquet stores them dictionary-encoded, and decoding them to categories is cheaper than to a
    million strings (and everything downstream groups them by their codes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(p).schema_arrow
    check_names(schema.names, f"file {p}")
    text = [f.name for f in schema if f.name not in text_columns
            and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))]
    table = pq.read_table(p, read_dictionary=text or None)
    df = table.to_pandas()
    for c in text:  # categories as the str dtype pandas gives text columns
        if isinstance(df[c].dtype, pd.CategoricalDtype) and df[c].cat.categories.dtype == object:
            df[c] = df[c].cat.rename_categories(df[c].cat.categories.astype("str"))
    return _finish(df, p, "parquet")
