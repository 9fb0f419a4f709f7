"""Stata ``.dta`` and SPSS ``.sav`` reading through pyreadstat, which returns value labels (turned into categories),
variable labels and the file's own missing-value declarations.

**Missing values the file declares**: SPSS user-missing values *and* ranges, and Stata extended missing values
``.a``–``.z`` (read with pyreadstat's ``user_missing=True``) keep their reason (the value label, else what kind of
declaration it was); ``canonicalise`` sets them missing and records each cell's reason like a mapping's missing code.
An identifier column whose labels would merge different ids is read as its codes; an encoding asked for a Stata 14+
file (UTF-8 by definition) is not used, and the table's notes say so.
"""

from __future__ import annotations

import codecs
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import LoadError
from .raw_table import RawTable, _finish


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
