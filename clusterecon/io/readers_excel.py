"""Excel reading: ``.xlsx``/``.xlsm`` through openpyxl, so that marker texts and error cells (``#N/A``,
``#DIV/0!``) stay text under the one NA policy (:mod:`clusterecon.io.raw_table`) instead of becoming NaN without a
trace; legacy ``.xls`` through pandas and xlrd. The sheet is chosen by name or 0-based number, formula cells saved
without a calculated value are refused, and identifier columns keep their text (7.0 → "7").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import LoadError, suggest
from .raw_table import RawTable, _finish, check_names, describe_source


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
