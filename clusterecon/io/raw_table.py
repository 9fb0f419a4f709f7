"""A file as read, before any mapping (:class:`RawTable`), and the one NA policy every reader applies.

**One NA policy for every format** (``docs/mapping.md``): a cell is missing when it is empty (a null, or text that
is blank) or its whole text is exactly one of :data:`NA_TEXT`. Every other marker (``n/a``, ``#N/A``, ``NULL``,
``None``, ``-``, Excel error cells such as ``#DIV/0!``) stays text, so it is either declared in the mapping's
``[missing]`` section with its reason or reported as ``text_in_numeric``. pandas' Excel reader would turn those
markers and error cells into NaN without a trace, hence the openpyxl reading (:mod:`clusterecon.io.readers_excel`).
Cells turned missing by a marker are listed in :attr:`RawTable.na_conversions` and land in the provenance log.

Every table gets ``source_row``: the 1-based record number in the original file, header excluded (Stata ``_n``),
which every later provenance entry and validation problem cites. The raw header check (:func:`check_names`: pandas
silently renames a repeated ``sales`` to ``sales.1``) and the common last step of every reader (:func:`_finish`) are
here too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import _buffers
from .errors import LoadError

#: text read as missing in every format (besides empty cells). Deliberately short: pandas' default list also
#: swallows "n/a", "N/A", "null", "#N/A" …, which in surveys often carry a reason ("not applicable"); those stay
#: text, so they are either declared in the mapping's [missing] section (and the reason kept) or reported as text in
#: a numeric column.
NA_TEXT = ("NA", "NaN", "nan", ".")


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


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s.dtype)


def _ascii(arr: Any) -> bool:
    """True when the strings of an Arrow string (chunked) array hold only ASCII bytes (string and
    large_string layouts only: a string_view keeps short strings outside its data buffers)."""
    import pyarrow as pa

    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return False
    wide = pa.types.is_large_string(arr.type)
    for c in getattr(arr, "chunks", [arr]):
        bufs = c.buffers()
        if not len(c) or len(bufs) < 3 or bufs[2] is None:
            continue
        # only the chunk's own bytes: the chunks of a converted column are slices of one buffer
        off = np.frombuffer(bufs[1], dtype=np.int64 if wide else np.int32)[c.offset:c.offset + len(c) + 1]
        if _high_bit(np.frombuffer(bufs[2], dtype=np.uint8)[off[0]:off[-1]]):
            return False
    return True


def _high_bit(b: np.ndarray) -> bool:
    """Whether any byte is >= 128: the bytes OR-ed eight at a time (as 64-bit words), 5x cheaper than their max."""
    head = len(b) - len(b) % 8
    word = np.bitwise_or.reduce(b[:head].view(np.uint64)) if head else np.uint64(0)
    return bool(word & np.uint64(0x8080808080808080)) or bool(len(b) > head and b[head:].max() >= 128)


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
        short_pa = pc.fill_null(pc.less_equal(lengths, 3), False)
        # the few short texts alone decide (Arrow's filter; a numpy mask of the column only when one is missing)
        small = pd.Series(arr.filter(short_pa).to_pylist(), dtype=object)
        hits = (small.isin(NA_TEXT) | small.map(lambda v: not v.strip())).to_numpy(dtype=bool)
        mask = np.zeros(len(s), dtype=bool)
        if hits.any():
            mask[short_pa.to_numpy(zero_copy_only=False)] = hits
        return mask
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
    rows = _buffers.empty(len(df), np.int64)  # 1, 2, …, n written in place (np.arange would be fresh memory)
    rows[:] = 1
    np.cumsum(rows, out=rows)
    df, conv = apply_na_policy(df, rows)
    return RawTable(df, str(p), rows, var_labels or {}, val_labels or {}, fmt, sheet, encoding,
                    declared or {}, ranges or {}, sheets, conv)
