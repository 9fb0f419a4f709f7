"""Readers: one call, ``read_table``, for the file formats surveys arrive in.

CSV/TSV and Parquet go through pandas; Excel ``.xlsx`` through openpyxl; Stata ``.dta`` and SPSS ``.sav`` through
pyreadstat, which returns value labels (turned into categories), variable labels and the file's own missing-value
declarations. Written here, because no reader offers it: the encoding check (UTF-8 with the offset of the first bad
byte; UTF-16/32 recognised by their byte-order mark or their NUL pattern), the delimiter sniffing on a small
prefix, the raw header check (pandas silently renames a repeated ``sales`` to ``sales.1``), and the one NA policy.

**One NA policy for every format** (``docs/mapping.md``): a cell is missing when it is empty (a null, or text that
is blank) or its whole text is exactly one of :data:`NA_TEXT`. Every other marker (``n/a``, ``#N/A``, ``NULL``,
``None``, ``-``, Excel error cells such as ``#DIV/0!``) stays text, so it is either declared in the mapping's
``[missing]`` section with its reason or reported as ``text_in_numeric``. pandas' Excel reader would turn those
markers and error cells into NaN without a trace, hence the openpyxl reading. Cells turned missing by a marker are
listed in :attr:`RawTable.na_conversions` and land in the provenance log.

**Missing values the file declares**: SPSS user-missing values *and* ranges, and Stata extended missing values
``.a``–``.z`` (read with pyreadstat's ``user_missing=True``) keep their reason (the value label, else what kind of
declaration it was); ``canonicalise`` sets them missing and records each cell's reason like a mapping's missing code.

Every table gets ``source_row``: the 1-based record number in the original file, header excluded (Stata ``_n``),
which every later provenance entry and validation problem cites.
"""

from __future__ import annotations

import codecs
import csv
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import LoadError, suggest

#: extension -> format name
FORMATS: dict[str, str] = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "excel", ".xlsm": "excel", ".xls": "excel",
    ".dta": "stata", ".sav": "spss", ".zsav": "spss", ".parquet": "parquet", ".pq": "parquet",
}
_SNIFF_BYTES = 64 * 1024
#: text read as missing in every format (besides empty cells). Deliberately short: pandas' default list also
#: swallows "n/a", "N/A", "null", "#N/A" …, which in surveys often carry a reason ("not applicable"); those stay
#: text, so they are either declared in the mapping's [missing] section (and the reason kept) or reported as text in
#: a numeric column.
NA_TEXT = ("NA", "NaN", "nan", ".")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class NAConversion:
    """Cells of ``column`` whose text ``marker`` the NA policy read as missing (``rows``: original record numbers)."""

    column: str
    marker: str
    rows: np.ndarray


@dataclass(frozen=True)
class RawTable:
    """A file as read, before any mapping.

    ``frame`` holds the columns as the file has them (value-labelled columns as categories of their labels);
    ``source_row`` the 1-based record numbers (header excluded); ``variable_labels`` maps column → label and
    ``value_labels`` column → {code: label} where the file carries them (Stata, SPSS). ``sheets`` lists every sheet
    of a workbook (``sheet`` is the one read).
    """

    frame: pd.DataFrame
    path: str
    source_row: np.ndarray
    variable_labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    format: str = ""
    sheet: str | int | None = None
    encoding: str | None = None
    #: values the file itself declares missing (SPSS user-missing values, Stata ``.a``–``.z`` written ``".a"``):
    #: column -> {value: reason}
    declared_missing: dict[str, dict[Any, str]] = field(default_factory=dict)
    #: SPSS user-missing ranges: column -> [(low, high, reason)], both ends included
    declared_ranges: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    sheets: tuple[str, ...] = ()
    na_conversions: tuple[NAConversion, ...] = ()
    #: identifier columns read as their codes because value labels would have merged ids: (column, values, rows)
    ids_as_codes: tuple[tuple[str, tuple[str, ...], np.ndarray], ...] = ()
    #: what the reader decided that the user should know (an ``encoding`` a Stata 14+ file does not use)
    notes: tuple[str, ...] = ()

    @property
    def n_rows(self) -> int:
        return int(self.frame.shape[0])

    @property
    def label(self) -> str:
        """The file as messages name it: a workbook's sheet, and its other sheets, are part of the name."""
        return describe_source(self.path, self.sheet, self.sheets)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, name: str = "<DataFrame>") -> RawTable:
        """Wrap an in-memory frame (its rows are numbered 1..n in their current order); the NA policy applies."""
        frame = df.reset_index(drop=True)
        rows = np.arange(1, len(frame) + 1, dtype=np.int64)
        frame, conv = apply_na_policy(frame, rows)
        return cls(frame, name, rows, variable_labels=dict(df.attrs.get("variable_labels", {}) or {}),
                   format="frame", na_conversions=conv)


def describe_source(path: str, sheet: str | int | None, sheets: tuple[str, ...]) -> str:
    if sheet is None:
        return str(path)
    others = [s for s in sheets if s != sheet]
    tail = f"; other sheets: {', '.join(repr(s) for s in others)}" if others else ""
    return f"{path} (sheet {sheet!r}{tail})"


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
            return _read_labelled(p, fmt, encoding, text_columns)
        return _read_parquet(p, text_columns)
    except LoadError:
        raise
    except PermissionError as e:
        raise LoadError(f"file {p} cannot be opened ({e.strerror}); check its permissions") from e
    except Exception as e:  # every reader library has its own error types; one clear message for all
        raise LoadError(f"file {p} could not be read as {fmt}: {type(e).__name__}: {e}. Check that the file is a "
                        f"complete {fmt} file (re-export it from the source program)") from e


# ---------------------------------------------------------------------------------------------------------- text
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def detect_encoding(p: Path, *, verify: bool = True) -> str:
    """The encoding of a text file that does not state one: a byte-order mark decides (UTF-8/16/32); text whose
    every other byte is NUL is UTF-16 without a mark; otherwise it must be UTF-8 (:func:`check_utf8`; with
    ``verify=False`` the caller decodes strictly and calls :func:`check_utf8` only when decoding fails)."""
    with open(p, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    for bom, enc in _BOMS:  # UTF-32 LE before UTF-16 LE: its mark starts with UTF-16's
        if head.startswith(bom):
            if enc == "utf-8-sig":
                return check_utf8(p) if verify else enc
            return enc
    even, odd = head[0::2], head[1::2]
    if len(head) >= 4 and head.count(0) > len(head) // 4:
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        raise LoadError(f"file {p} holds NUL bytes, so it is not a UTF-8 text file (a binary file, or text in an "
                        "encoding such as UTF-16/UTF-32 without a byte-order mark); export it again as CSV UTF-8, or "
                        "pass its encoding (encoding='utf-16' or --encoding utf-16)")
    return check_utf8(p) if verify else "utf-8"


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


def _sniff_delimiter(p: Path, fmt: str, encoding: str) -> tuple[str, bool]:
    """(delimiter, whether values in the first 64 KB follow it after spaces)."""
    with open(p, encoding=encoding, errors="replace", newline="") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if not sample.strip():
        raise LoadError(f"file {p} is empty; a survey file needs a header row and at least one record")
    if fmt == "tsv":
        sep = "\t"
    else:
        try:
            sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = ","
    return sep, f"{sep} " in sample


def _raw_header(p: Path, sep: str, encoding: str) -> list[str]:
    """The header record exactly as written (pandas renames repeats to ``name.1``; this sees them)."""
    with open(p, encoding=encoding, errors="replace", newline="") as fh:
        return next(csv.reader(fh, delimiter=sep, skipinitialspace=True), [])


def _numeric_looking(p: Path, sep: str, encoding: str, header: list[str], columns: tuple[str, ...]) -> list[str]:
    """Identifier columns whose first values look like numbers: they must be read as text (``"007"`` stays
    ``"007"``). Forcing a type is slow in pandas' parser, and a column with any text in it is text anyway, so the
    others are left to its inference."""
    names = [h.strip() for h in header]
    want = [names.index(c) for c in columns if c in names]
    if not want:
        return []
    with open(p, encoding=encoding, errors="replace", newline="") as fh:
        rows = csv.reader(fh.readlines(_SNIFF_BYTES)[1:], delimiter=sep)
        sample = [r for r in rows if r]
    def numeric(v: str) -> bool:
        try:
            float(v)
            return True
        except ValueError:
            return False
    return [names[i] for i in want if any(numeric(r[i]) for r in sample if i < len(r)) or not sample]


def check_names(names: list[Any], where: str) -> None:
    """LoadError naming every column name that occurs more than once (after trimming spaces) and its positions."""
    clean = ["" if n is None else str(n).strip() for n in names]
    counts = Counter(n for n in clean if n)
    dup = [n for n, k in counts.items() if k > 1]
    if dup:
        detail = "; ".join(f"{n!r} in columns {', '.join(str(i + 1) for i, c in enumerate(clean) if c == n)}"
                           for n in dup)
        raise LoadError(f"{where} has repeated column names: {detail}. Rename them in the file so each name is "
                        "unique (clusterecon does not guess which of them is meant)")


def _read_text(p: Path, fmt: str, encoding: str | None, text_columns: tuple[str, ...]) -> RawTable:
    # A detected UTF-8 is not checked by a separate pass over the file (that pass cost a quarter of pandas' read of
    # a 1M-row file): pandas decodes strictly, and only when it fails does check_utf8 find the byte and its offset.
    enc = encoding or detect_encoding(p, verify=False)
    unverified = encoding is None and enc.startswith("utf-8")
    try:
        codecs.lookup(enc)
    except LookupError:
        raise LoadError(f"file {p}: unknown encoding {enc!r}; use e.g. 'utf-8', 'latin-1', 'cp1252'") from None
    sep, spaced = _sniff_delimiter(p, fmt, enc)
    header = _raw_header(p, sep, enc)
    check_names(header, f"file {p}")
    dtype = {c: str for c in _numeric_looking(p, sep, enc, header, text_columns)}
    try:
        # skipinitialspace (a quoted value after "sep ") makes pandas' parser half again as slow: only when needed
        df = pd.read_csv(p, sep=sep, encoding=enc, dtype=dtype or None, skipinitialspace=spaced,
                         keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as e:
        if unverified:
            check_utf8(p)  # raises the LoadError naming the byte and its offset
        raise LoadError(f"file {p} cannot be decoded as {enc}: {e}. Pass the file's real encoding (e.g. "
                        "encoding='latin-1' or --encoding latin-1)") from None
    except pd.errors.ParserError as e:
        if unverified:  # a file that is not UTF-8 is reported as such, before any parse error its bytes caused
            check_utf8(p)
        raise LoadError(f"file {p} could not be parsed with delimiter {sep!r}: {e}. Check for unquoted delimiters "
                        "inside values or a ragged row") from e
    return _finish(df, p, fmt, encoding=enc)


# ---------------------------------------------------------------------------------------------------------- excel
def _choose_sheet(p: Path, names: list[str], sheet: str | int | None) -> str:
    if sheet is None:
        return names[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        i = int(sheet)
        if not 0 <= i < len(names):
            raise LoadError(f"file {p} has no sheet number {i} (0-based); its sheets are: "
                            f"{', '.join(repr(n) for n in names)}")
        return names[i]
    if sheet not in names:
        raise LoadError(f"file {p} has no sheet {sheet!r}{suggest(sheet, names)}; its sheets are: "
                        f"{', '.join(repr(n) for n in names)}")
    return sheet


def _read_excel(p: Path, sheet: str | int | None, text_columns: tuple[str, ...]) -> RawTable:
    if p.suffix.lower() == ".xls":  # legacy format: pandas + xlrd (error cells cannot be told from blanks there)
        with pd.ExcelFile(p) as xl:
            names = [str(n) for n in xl.sheet_names]
            chosen = _choose_sheet(p, names, sheet)
            head = pd.read_excel(xl, sheet_name=chosen, header=None, nrows=1)
            where = f"file {describe_source(str(p), chosen, tuple(names))}"
            check_names(head.iloc[0].tolist() if len(head) else [], where)
            df = pd.read_excel(xl, sheet_name=chosen, dtype={c: "string" for c in text_columns} or None,
                               keep_default_na=False, na_values=[""])
        return _finish(df, p, "excel", sheet=chosen, sheets=tuple(names))
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        names = list(wb.sheetnames)
        chosen = _choose_sheet(p, names, sheet)
        rows = [r for r in wb[chosen].iter_rows(values_only=True)]
    finally:
        wb.close()
    where = f"file {describe_source(str(p), chosen, tuple(names))}"
    while rows and all(v is None for v in rows[-1]):  # read-only worksheets may report trailing blank rows
        rows.pop()
    if not rows:
        raise LoadError(f"{where} is empty; choose the sheet that holds the survey with --sheet or [source] sheet")
    header = list(rows[0])
    width = max(len(r) for r in rows)
    while width and all(width > len(r) or r[width - 1] is None for r in rows):
        width -= 1  # trailing columns without a name or a value
    header = (header + [None] * width)[:width]
    check_names(header, where)
    cols = [f"Unnamed: {i}" if h is None or str(h).strip() == "" else str(h).strip() for i, h in enumerate(header)]
    body = [tuple(r[:width]) + (None,) * (width - len(r)) for r in rows[1:]]
    if any(v is None for r in body for v in r):
        _check_uncalculated(p, chosen, body, cols, where)
    df = pd.DataFrame.from_records(body, columns=cols) if body else pd.DataFrame(columns=cols)
    df = df.infer_objects()
    for c in text_columns:
        if c in df.columns:
            df[c] = _text_ids(df[c])
    return _finish(df, p, "excel", sheet=chosen, sheets=tuple(names))


def _check_uncalculated(p: Path, sheet: str, body: list[tuple], cols: list[str], where: str) -> None:
    """Formula cells whose workbook holds no calculated value (written by a program that does not calculate, e.g.
    openpyxl or xlsxwriter) read as empty with ``data_only``: refuse them instead of losing the values silently."""
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    try:
        found = []
        for i, r in enumerate(wb[sheet].iter_rows(min_row=2, max_row=len(body) + 1, values_only=True)):
            for j, v in enumerate(r[:len(cols)]):
                formula = isinstance(v, str) and v.startswith("=") or type(v).__name__ in ("ArrayFormula",
                                                                                           "DataTableFormula")
                if formula and body[i][j] is None:
                    found.append((i + 1, cols[j], str(getattr(v, "text", v))))
    finally:
        wb.close()
    if found:
        shown = "; ".join(f"row {r} column {c!r}: {f[:40]!r}" for r, c, f in found[:5])
        raise LoadError(f"{where}: {len(found)} formula cell(s) have no calculated value saved in the workbook "
                        f"({shown}{'; …' if len(found) > 5 else ''}), so they would read as empty. The workbook was "
                        "written by a program that does not calculate formulas: open it in Excel or LibreOffice and "
                        "save it, or export the sheet as CSV")


def _text_ids(s: pd.Series) -> pd.Series:
    """Excel stores typed numbers as numbers: identifiers become their text (7.0 → "7")."""
    def one(v):
        if v is None or (isinstance(v, float) and v != v):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)
    return pd.Series([one(v) for v in s.astype(object)], index=s.index, dtype="string")


# ---------------------------------------------------------------------------------------------------------- stata/spss
def stata_release(p: Path) -> int | None:
    """The format number of a Stata file (``114`` Stata 10–12, ``115`` 12, ``117`` 13, ``118`` 14–18, ``119`` 15+
    with many variables, ``120``/``121`` with aliases), or ``None`` when the header is not Stata's."""
    with open(p, "rb") as fh:
        head = fh.read(64)
    if head.startswith(b"<stata_dta>"):
        start = head.find(b"<release>")
        end = head.find(b"</release>")
        digits = head[start + 9:end] if 0 <= start < end else b""
        return int(digits) if digits.isdigit() else None
    return head[0] if head and 102 <= head[0] <= 115 else None


#: Stata writes UTF-8 from this format on (Stata 14); older files use the platform's code page
STATA_UTF8_RELEASE = 118


def _reader_encoding(p: Path, fmt: str, encoding: str | None) -> tuple[str | None, tuple[str, ...]]:
    """(encoding to give pyreadstat, notes). The name is Python's (``latin-1``, ``cp1252``), checked and spelled
    the way ReadStat's iconv knows it (it refuses ``latin-1``); a Stata 14+ file is UTF-8 whatever is asked, so the
    encoding is not used (passing it would turn every accented letter into two: ``CafÃ©``)."""
    if encoding is None:
        return None, ()
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise LoadError(f"file {p}: unknown encoding {encoding!r}; use e.g. 'latin-1', 'cp1252', 'utf-8'") from None
    if fmt == "stata":
        release = stata_release(p)
        if release is not None and release >= STATA_UTF8_RELEASE:
            return None, (f"encoding {encoding!r} not used: {p.name} was written by Stata 14 or later (format "
                          f"{release}), which stores text as UTF-8 by definition; an encoding applies to CSV files, "
                          "SPSS files and Stata files from Stata 13 or earlier",)
    return _ICONV.get(name, name), ()


#: Python codec names ReadStat's iconv spells differently
_ICONV = {"mac-roman": "MACINTOSH", "euc_kr": "EUC-KR", "euc_jp": "EUC-JP"}


def _read_labelled(p: Path, fmt: str, encoding: str | None, text_columns: tuple[str, ...] = ()) -> RawTable:
    """Stata/SPSS through pyreadstat, value labels applied. An identifier column (``text_columns``) whose labels
    would make different ids one (two codes labelled "Acme", or a label that is another code's number) is read as
    its codes instead, recorded in :attr:`RawTable.ids_as_codes`."""
    import pyreadstat

    asked = encoding
    encoding, notes = _reader_encoding(p, fmt, encoding)
    try:
        df, meta = _read_with(p, fmt, encoding)
    except pyreadstat.ReadstatError as e:
        if encoding is not None and "character set" in str(e):
            raise LoadError(f"file {p}: the {fmt} reader does not know the encoding {asked!r}; give another name "
                            "for it (e.g. 'cp1252' for Windows Western European, 'latin1', 'utf-8')") from None
        raise
    return _labelled_table(p, fmt, encoding, text_columns, df, meta, notes)


def _read_with(p: Path, fmt: str, encoding: str | None) -> tuple[pd.DataFrame, Any]:
    import pyreadstat

    # user_missing=True: SPSS user-missing codes and Stata's .a–.z stay visible so their reasons survive (they
    # become NA in canonicalise, which records each cell's reason)
    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    return reader(str(p), apply_value_formats=True, formats_as_category=True, encoding=encoding, user_missing=True)


def _labelled_table(p: Path, fmt: str, encoding: str | None, text_columns: tuple[str, ...], df: pd.DataFrame,
                    meta: Any, notes: tuple[str, ...]) -> RawTable:
    import pyreadstat

    reader = pyreadstat.read_dta if fmt == "stata" else pyreadstat.read_sav
    var_labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    val_labels = {k: dict(v) for k, v in (meta.variable_value_labels or {}).items() if v}
    declared: dict[str, dict[Any, str]] = {}
    ranges: dict[str, list[tuple[float, float, str]]] = {}
    if fmt == "stata":
        for col, letters in (getattr(meta, "missing_user_values", None) or {}).items():
            df[col], declared[col] = _stata_extended(df[col], letters, val_labels.get(col, {}))
            val_labels[col] = {k: v for k, v in val_labels.get(col, {}).items() if k not in letters}
    else:
        for col, rs in (getattr(meta, "missing_ranges", None) or {}).items():
            labels = val_labels.get(col, {})
            for r in rs:
                lo, hi = r.get("lo"), r.get("hi")
                if lo is None:
                    continue
                if lo == hi:
                    declared.setdefault(col, {})[lo] = labels.get(lo, "declared missing in the file")
                    continue
                reason = f"declared missing in the file (range {lo:g} to {hi:g})"
                ranges.setdefault(col, []).append((float(lo), float(hi), reason))
                for code, lab in labels.items():  # a labelled code in the range arrives as its label
                    if isinstance(code, (int, float)) and lo <= code <= hi:
                        declared.setdefault(col, {})[code] = lab
        for col, vals in (getattr(meta, "missing_user_values", None) or {}).items():
            labels = val_labels.get(col, {})
            for v in vals:
                declared.setdefault(col, {})[v] = labels.get(v, "declared missing in the file")
    as_codes = []
    for col in text_columns:
        if col in val_labels and col in df.columns:
            codes = reader(str(p), usecols=[col], apply_value_formats=False, encoding=encoding,
                           user_missing=True)[0][col]
            shared = _shared_labels(codes, val_labels[col])
            if shared:
                df[col] = codes
                del val_labels[col]
                rows = np.flatnonzero(codes.isin([c for cs in shared.values() for c in cs]).to_numpy()) + 1
                as_codes.append((col, tuple(f"{lab!r} ← {', '.join(_code_text(c) for c in cs)}"
                                            for lab, cs in list(shared.items())[:20]), rows))
    t = _finish(df, p, fmt, var_labels, val_labels, encoding=encoding, declared=declared, ranges=ranges)
    return replace(t, ids_as_codes=tuple(as_codes), notes=notes)


def _code_text(c: Any) -> str:
    return str(int(c)) if isinstance(c, float) and c.is_integer() else str(c)


def _shared_labels(codes: pd.Series, labels: dict) -> dict[str, list]:
    """Labels (as the ids would read) that several distinct codes present in ``codes`` would show as."""
    shown: dict[str, list] = {}
    for c in pd.unique(codes.dropna()):
        shown.setdefault(str(labels.get(c, _code_text(c))).strip(), []).append(c)
    return {k: v for k, v in shown.items() if len(v) > 1}


def _stata_extended(s: pd.Series, letters: list[str], labels: dict) -> tuple[pd.Series, dict[str, str]]:
    """Stata's extended missing values arrive (user_missing=True) as the letter, or as its value label when it has
    one; both become the text ``".a"`` and the reason is the label (else "Stata extended missing value .a")."""
    to_code = {}
    reasons = {}
    for letter in letters:
        code = f".{letter}"
        label = labels.get(letter)
        reasons[code] = label or f"Stata extended missing value {code}"
        to_code[letter] = code
        if label:
            to_code[label] = code
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = list(s.cat.categories)
        new = [to_code.get(c, c) if isinstance(c, str) else c for c in cats]
        if len(set(map(repr, new))) == len(new):
            return s.cat.rename_categories(new), reasons
        s = s.astype(object)
    obj = s.astype(object)
    return obj.map(lambda v: to_code.get(v, v) if isinstance(v, str) else v), reasons


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


# ---------------------------------------------------------------------------------------------------------- common
def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _ascii(arr: Any) -> bool:
    """True when every data buffer of an Arrow string (chunked) array holds only ASCII bytes (string and
    large_string layouts only: a string_view keeps short strings outside its data buffers)."""
    import pyarrow as pa

    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return False
    for c in getattr(arr, "chunks", [arr]):
        data = c.buffers()[2] if len(c.buffers()) > 2 else None
        if data is not None and data.size and np.frombuffer(data, dtype=np.uint8).max() >= 128:
            return False
    return True


def _na_text(s: pd.Series) -> np.ndarray:
    """Cells whose text is exactly one of :data:`NA_TEXT`, or empty or spaces only (up to 3 characters: longer
    blanks are read as missing where they matter, by the casts); only texts that short are compared."""
    arr = getattr(s.array, "_pa_array", None)
    if s.dtype == object:
        short = s.map(lambda v: isinstance(v, str) and len(v) <= 3).to_numpy(dtype=bool)
    elif arr is not None:  # Arrow-backed text: Arrow's kernels (pandas' .str.len is 10x slower)
        import pyarrow.compute as pc

        # in ASCII text characters are bytes, and byte lengths are read off the offsets (20x cheaper than counting
        # characters); a column with any other byte counts its characters
        lengths = pc.binary_length(arr) if _ascii(arr) else pc.utf8_length(arr)
        short = pc.fill_null(pc.less_equal(lengths, 3), False).to_numpy(zero_copy_only=False)
    else:
        short = (s.str.len() <= 3).to_numpy(dtype=bool, na_value=False)
    mask = np.zeros(len(s), dtype=bool)
    if short.any():
        text = s[short].astype(object)
        mask[short] = (text.isin(NA_TEXT) | text.map(lambda v: not v.strip())).to_numpy(dtype=bool)
    return mask


def apply_na_policy(df: pd.DataFrame, source_row: np.ndarray) -> tuple[pd.DataFrame, tuple[NAConversion, ...]]:
    """Cells whose whole text is one of :data:`NA_TEXT` (or blank) become missing, in every format; returns the
    frame and the non-blank conversions, which the provenance log records."""
    conv: list[NAConversion] = []
    out = df
    for col in df.columns:
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = s.cat.categories
            hit = [c for c in cats if isinstance(c, str) and (c in NA_TEXT or not c.strip())]
            if not hit:
                continue
            mask = s.isin(hit).to_numpy()
            new = s.cat.remove_categories(hit)
        elif _is_text(s):
            mask = _na_text(s)
            if not mask.any():
                continue
            new = s.mask(mask)
        else:
            continue
        if out is df:
            out = df.copy(deep=False)
        out[col] = new
        vals = np.array([str(v) for v in s.to_numpy(dtype=object)[mask]], dtype=object)
        for marker in sorted(set(vals)):
            if marker.strip():  # blank cells are missing in every format; markers are logged
                conv.append(NAConversion(str(col), marker, source_row[np.flatnonzero(mask)[vals == marker]]))
    return out, tuple(conv)


def _finish(df: pd.DataFrame, p: Path, fmt: str, var_labels: dict | None = None, val_labels: dict | None = None,
            *, sheet: str | int | None = None, encoding: str | None = None, sheets: tuple[str, ...] = (),
            declared: dict | None = None, ranges: dict | None = None) -> RawTable:
    df = df.reset_index(drop=True)
    df.columns = [str(c).strip() for c in df.columns]
    where = f"file {describe_source(str(p), sheet, sheets)}"
    check_names(list(df.columns), where)
    if not len(df):
        cols = list(df.columns)
        shown = ", ".join(cols[:8]) + (", …" if len(cols) > 8 else "")
        hint = ("; choose the sheet that holds the survey with --sheet or [source] sheet" if len(sheets) > 1 else
                "; export the data again (were the records written to another file?)")
        raise LoadError(f"{where} has a header ({len(cols)} column(s): {shown}) but no records{hint}")
    rows = np.arange(1, len(df) + 1, dtype=np.int64)
    df, conv = apply_na_policy(df, rows)
    return RawTable(df, str(p), rows, var_labels or {}, val_labels or {}, fmt, sheet, encoding,
                    declared or {}, ranges or {}, sheets, conv)
