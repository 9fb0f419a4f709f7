"""CSV/TSV reading through pandas, with what pandas does not offer: the encoding check and the delimiter sniffing.

A text file that does not state its encoding is UTF-8 (checked, naming the offset of the first bad byte) unless a
byte-order mark or its NUL pattern shows UTF-16/32 (:func:`detect_encoding`, :func:`check_utf8`); the delimiter is
sniffed on a small prefix; the header is checked as written, before pandas renames repeated names; identifier
columns that look numeric are read as text so that ``"007"`` keeps its zeros.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd

from .errors import LoadError
from .raw_table import RawTable, _finish, check_names

_SNIFF_BYTES = 64 * 1024
_CHUNK = 1 << 20

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
