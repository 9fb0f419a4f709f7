"""Mapping mistakes that need the raw file's columns, found before anything is applied.

A rename whose raw column is not in the file, a rename onto a column the file already has, a recall pattern that
matches nothing, a recall layout for a file that already has ``year``, a currency column or join key that is not
there, an attribute in both the survey and the firm table, and a section naming a canonical column the data will not
have after renaming and reshaping. :meth:`~clusterecon.io.mapping.Mapping.check_columns` reports them together with
the mapping's structural mistakes, so a user fixes the whole mapping in one pass (``docs/mapping.md``, "Mistakes").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .errors import suggest

if TYPE_CHECKING:
    from .mapping import Mapping

#: columns a recall layout creates
RECALL_COLUMNS = ("year", "recall_lag", "is_recall", "survey_round")


def column_mistakes(m: Mapping, columns: Iterable[str], file: str, firm_columns: Iterable[str] | None = None,
                    firm_file: str = "the firm table") -> list[str]:
    """Every mistake of ``m`` against the raw columns of ``file`` (and of the firm table, when it joins one)."""
    main = [str(c) for c in columns]
    firm = [str(c) for c in firm_columns] if firm_columns is not None else []
    have = set(main) | set(firm)
    where = file if firm_columns is None else f"{file} or {firm_file}"
    bad: list[str] = []
    for raw, canon in m.rename.items():
        if raw not in have:
            bad.append(f"[rename] {raw!r} = {canon!r}: raw column {raw!r} is not in {where}{suggest(raw, have)}")
        elif canon in have and canon not in m.rename and canon != raw:
            bad.append(f"[rename] {raw!r} = {canon!r}: {where} already has a column {canon!r}; rename that one too "
                       "or drop this line")
    renamed = {m.rename.get(c, c) for c in have}
    after = set(renamed)
    if m.recall:
        bad += _recall_mistakes(m, have, renamed, where)
        from .recall import slots

        raw_recall = {raw for cols in slots(m.recall, sorted(renamed)).values() for raw in cols.values()}
        after = (after - raw_recall) | set(m.recall.wide) | set(m.recall.relative) | set(RECALL_COLUMNS)
    elif isinstance(m.survey_year, str) and m.survey_year not in have | renamed:
        c = m.survey_year
        bad.append(f"[survey] survey_year = {c!r}: column {c!r} is not in {where}{suggest(c, have)}; give the year "
                   "(2005, no quotes) or the name of the column holding each record's interview year")
    if m.survey_round is not None:
        after.add("survey_round")
    if m.currency and m.currency.column and m.currency.column not in have | renamed:
        c = m.currency.column
        bad.append(f"[currency] column = {c!r}: column {c!r} is not in {where}{suggest(c, have)}")
    if m.firms is not None and firm_columns is not None:
        kfy, kf = m.firms.key_firm_years, m.firms.key_firms
        if kfy not in main:
            bad.append(f"[firms] key = {kfy!r}: column {kfy!r} is not in {file}{suggest(kfy, main)}")
        if kf not in firm:
            bad.append(f"[firms] key = {kf!r}: column {kf!r} is not in {firm_file}{suggest(kf, firm)}")
        overlap = sorted((set(main) & set(firm)) - {kf, kfy})
        if overlap:
            bad.append(f"[firms]: columns {overlap} are in both {file} and {firm_file}; drop or rename them in one of "
                       "the files so each attribute has one source")
    refs = [(f"[scale] {c}", c) for c in m.scale]
    refs += [(f"[missing.columns.{c}]", c) for c in m.missing_columns]
    refs += [(f"[currency] columns {c!r}", c) for c in (m.currency.columns or ())] if m.currency else []
    refs += [(f"[codes.{c}]", c) for c in m.codes]
    bad += [f"{key}: column {c!r} is not in {where} after renaming{suggest(c, after)}; add a [rename] line for the "
            "raw column or remove this entry" for key, c in refs if c not in after]
    return bad


def _recall_mistakes(m: Mapping, have: set[str], renamed: set[str], where: str) -> list[str]:
    r = m.recall
    assert r is not None
    bad = []
    if "year" in renamed:
        bad.append("[recall]: the file already has a 'year' column; a recall layout creates year from the column "
                   "names – drop the [recall] section or the year column")
    for canon in r.wide:
        pat = r.pattern(canon)
        if not any(pat.match(c) for c in renamed):
            bad.append(f"[recall.wide] {canon} = {r.wide[canon]!r}: no column of {where} matches the pattern"
                       f"{suggest(r.wide[canon].replace('{year}', '2000'), have)}")
    for canon, cols_off in r.relative.items():
        for raw in cols_off:
            if raw not in renamed:
                bad.append(f"[recall.relative.{canon}] {raw!r}: raw column {raw!r} is not in {where}"
                           f"{suggest(raw, have)}")
    sy = r.survey_year if r.survey_year is not None else m.survey_year
    if isinstance(sy, str) and sy not in have and sy not in renamed:
        bad.append(f"[recall] survey_year = {sy!r}: column {sy!r} is not in {where}{suggest(sy, have)}")
    return bad
