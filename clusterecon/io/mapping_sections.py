"""Parsing of each section of a mapping file (``[source]``, ``[survey]``, ``[history]``, ``[rename]``, ``[codes]``,
``[missing]``, ``[scale]``, ``[currency]``, ``[recall]``, ``[firms]``) into the values
:class:`~clusterecon.io.mapping.Mapping` holds.

Every target must be a canonical column or code (:func:`_canonical`, with close-match suggestions); file names are
resolved inside the mapping's folder (:class:`_Files`, :mod:`clusterecon.io.paths`). Each parser appends its mistakes
to one list, so that all of them are reported together. The rules for the ``[history]`` phase dates
(:func:`phase_order_mistake`, :func:`phase_range_mistake`) are shared with the loader and the battery.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import schema
from .errors import suggest
from .mapping_keys import _is_whole, _key, _positive, _table, _text_list, _valid, toml_text
from .mapping_specs import CodeMap, CurrencySpec, FirmsSpec, RecallSpec, Redenomination, norm_code
from .paths import OutsideFolderError, resolve_inside

DESIGNS = ("recall", "rounds", "census")
UNKNOWN_POLICIES = ("error", "unknown")
DUPLICATE_POLICIES = ("error", "first", "last", "contemporaneous")
SCALE_WORDS = {"units": 1.0, "ones": 1.0, "hundreds": 1e2, "thousands": 1e3, "in thousands": 1e3,
               "millions": 1e6, "in millions": 1e6, "billions": 1e9}
CODE_KINDS = ("category", "bool", "string")


def _canonical(col: str, where: str, bad: list[str], kinds: tuple[str, ...] | None = None) -> schema.Column | None:
    c = schema.BY_NAME.get(col)
    if c is None:
        bad.append(f"{where}: {col!r} is not a canonical column{suggest(col, schema.BY_NAME)}")
        return None
    if kinds is not None and c.kind not in kinds:
        bad.append(f"{where}: column {col!r} is {c.kind}, not a category/bool/text column, so it takes no code map"
                   if kinds == CODE_KINDS else f"{where}: column {col!r} is {c.kind}; expected {'/'.join(kinds)}")
        return None
    return c


@dataclass(frozen=True)
class _Files:
    """Resolves the file names of a mapping inside its folder (:mod:`clusterecon.io.paths`), a refusal becoming one
    of the mapping's mistakes."""

    base: Path
    path: str
    allow_outside: bool
    bad: list[str]

    def __call__(self, value: object, key: str) -> Path | None:
        try:
            return resolve_inside(self.base, value, key=key, owner=f"mapping file {self.path}",
                                  allow_outside=self.allow_outside)
        except OutsideFolderError as e:
            self.bad.append(str(e).removeprefix(f"mapping file {self.path}: "))
            return None


def _source(s: dict, files: _Files, kw: dict, bad: list[str]) -> None:
    if "file" in s and _key(s, "file", "[source]", bad, "text") is not None:
        kw["source_file"] = files(s["file"], "[source] file")
    kw["source_sheet"] = _key(s, "sheet", "[source]", bad, "sheet")
    kw["source_encoding"] = _key(s, "encoding", "[source]", bad, "encoding")


def _survey(s: dict, kw: dict, bad: list[str]) -> None:
    design = _key(s, "design", "[survey]", bad, "text", choices=DESIGNS)
    sy = s.get("survey_year")
    if sy is not None and not (_valid(sy, "year") or _valid(sy, "text")):
        bad.append(f"[survey] survey_year = {toml_text(sy)}: give a year (2005, no quotes) or the name of a column "
                   "holding it (in quotes)")
        sy = None
    _key(s, "name", "[survey]", bad, "text")
    _key(s, "country", "[survey]", bad, "text")
    kw.update(design=design, survey_year=sy, survey_round=_key(s, "round", "[survey]", bad, "count"),
              exits_observable=_key(s, "exits_observable", "[survey]", bad, "bool"))


def phase_order_mistake(expansion_start: int | None, quality_start: int | None) -> str | None:
    """Why two phase dates cannot both be right (None when they can): the one rule for the mapping's ``[history]``
    and for dates passed to the battery (:func:`clusterecon.hypotheses.phases.given_dates`)."""
    if expansion_start is not None and quality_start is not None and quality_start <= expansion_start:
        return (f"quality_start = {quality_start} is not after expansion_start = {expansion_start}: quality "
                "improvement follows quantity expansion")
    return None


def phase_range_mistake(expansion_start: int | None, quality_start: int | None, last: int) -> str | None:
    """Why a phase date cannot be right for data whose last year is ``last`` (None when it can): a survey of
    survivors may hold no firm founded before the take-off, so an early start is not a mistake; a start after the
    last year observed (no expansion in the data) or before 1800 is. Quality improvement may have begun after the
    survey (up to a century later). Shared by the loader (a mapping's ``[history]`` against the data) and the
    battery (dates passed to it)."""
    if expansion_start is not None and not 1800 <= expansion_start <= last:
        return (f"expansion_start = {int(expansion_start)} must be a year between 1800 and the last year observed "
                f"({last})")
    if quality_start is not None and not 1800 <= quality_start <= last + 100:
        return (f"quality_start = {int(quality_start)} must be a year between 1800 and {last + 100} (later than "
                f"the last year observed, {last}, if quality improvement began after the survey)")
    return None


def _history(h: dict, kw: dict, bad: list[str]) -> None:
    """Phase dates known from the cluster's history (case-study narrative, trade records), used by the battery
    instead of dating them: what a survey of survivors cannot do (:mod:`clusterecon.hypotheses.phases`)."""
    t1 = _key(h, "expansion_start", "[history]", bad, "year")
    t2 = _key(h, "quality_start", "[history]", bad, "year")
    order = phase_order_mistake(t1, t2)
    if order:
        bad.append(f"[history] {order}; check the two years")
        t2 = None
    source = _key(h, "source", "[history]", bad, "text", default="")
    if (t1 is not None or t2 is not None) and not source:
        bad.append("[history] gives phase dates without their source: add source = \"...\" (the study or record "
                   "the dates come from), which the report prints next to them")
    kw.update(expansion_start=None if t1 is None else int(t1), quality_start=None if t2 is None else int(t2),
              history_source=source)


def _deflator(d: dict, files: _Files, kw: dict, bad: list[str]) -> None:
    """A price index (CSV: year, deflator, optionally industry) by which the loader makes every money value real
    (:func:`clusterecon.derive.deflate_money`); its file lies in the mapping's folder like ``[source]``'s."""
    if "file" not in d:
        bad.append("[deflator]: give file = \"cpi.csv\" (a CSV file with columns year, deflator and optionally "
                   "industry) and, if its base year is not the one whose index is 100, base_year = 2005")
    elif _key(d, "file", "[deflator]", bad, "text") is not None:
        path = kw["deflator_file"] = files(d["file"], "[deflator] file")
        # told with the mapping's other mistakes, not after validation and the battery's first steps
        if path is not None and not path.is_file():
            bad.append(f"[deflator] file = {toml_text(d['file'])}: no such file in {files.base}; give the price "
                       "index's CSV file relative to the mapping's folder")
    base = _key(d, "base_year", "[deflator]", bad, "year")
    kw["deflator_base_year"] = None if base is None else int(base)


def _rename(r: dict, bad: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw, canon in r.items():
        if not isinstance(canon, str) or not canon.strip():
            bad.append(f"[rename] {raw!r} = {toml_text(canon)}: the target must be a column name in quotes")
            continue
        if canon in seen:
            bad.append(f"[rename] {raw!r} and {seen[canon]!r} both map to {canon!r}; keep one")
        seen[canon] = raw
        out[str(raw)] = canon
    return out


def _codes(c: dict, bad: list[str]) -> tuple[dict[str, CodeMap], str]:
    default = _key(c, "unknown_policy", "[codes]", bad, "text", default="error", choices=UNKNOWN_POLICIES)
    out: dict[str, CodeMap] = {}
    for col, table in c.items():
        if col == "unknown_policy":
            continue
        where = f"[codes.{col}]"
        if not isinstance(table, dict):
            bad.append(f"{where}: must be a table of raw code = \"canonical code\" (it is {toml_text(table)})")
            continue
        spec = _canonical(col, where, bad, CODE_KINDS)
        if spec is None:
            continue
        policy = _key(table, "unknown_policy", where, bad, "text", default=default, choices=UNKNOWN_POLICIES)
        if policy == "unknown" and spec.allowed is not None and "unknown" not in spec.allowed:
            bad.append(f"{where} unknown_policy = \"unknown\": column {col!r} has no 'unknown' code "
                       f"(allowed: {', '.join(spec.allowed)}); use \"error\"")
            policy = "error"
        tab: dict[str, Any] = {}
        raw_keys: dict[str, str] = {}
        for raw, canon in table.items():
            if raw == "unknown_policy":
                continue
            if spec.kind == "bool":
                if not isinstance(canon, bool):
                    _key(table, raw, where, bad, "bool")
                    continue
            elif not isinstance(canon, str):
                bad.append(f"{where} {raw!r} = {toml_text(canon)}: the canonical code must be text in quotes")
                continue
            elif spec.allowed is not None and canon not in spec.allowed:
                bad.append(f"{where} {raw!r} = {canon!r}: {canon!r} is not a code of {col!r}"
                           f"{suggest(canon, spec.allowed)}; allowed: {', '.join(spec.allowed)}")
                continue
            k = norm_code(raw)
            if k in tab and tab[k] != canon:
                bad.append(f"{where}: raw codes {raw_keys[k]!r} and {raw!r} are the same code (case and spaces are "
                           f"ignored) but map to {tab[k]!r} and {canon!r}")
            tab[k] = canon
            raw_keys[k] = str(raw)
        out[col] = CodeMap(col, tab, raw_keys, policy)
    return out, default


def _reason_table(t: Any, where: str, bad: list[str]) -> dict[str, str]:
    if not isinstance(t, dict):
        bad.append(f"{where}: must be a table of \"code\" = \"reason\", e.g. \"-9\" = \"don't know\"")
        return {}
    out = {}
    for code, reason in t.items():
        if not isinstance(reason, str):
            bad.append(f"{where} {code!r} = {toml_text(reason)}: the reason must be text, e.g. \"refused\"")
            continue
        out[str(code)] = reason
    return out


def _missing(m: dict, kw: dict, bad: list[str]) -> None:
    kw["missing_codes"] = _reason_table(m.get("codes", {}), "[missing.codes]", bad)
    cols = m.get("columns", {})
    per: dict[str, dict[str, str]] = {}
    if isinstance(cols, dict):
        for col, t in cols.items():
            if _canonical(col, f"[missing.columns.{col}]", bad) is not None:
                per[col] = _reason_table(t, f"[missing.columns.{col}]", bad)
    else:
        bad.append("[missing] columns must hold one table per column: [missing.columns.sales]")
    kw["missing_columns"] = per
    excl = _text_list(m["exclude"], "[missing] exclude", bad) if "exclude" in m else []
    for col in excl:
        _canonical(col, "[missing] exclude", bad)
    kw["missing_exclude"] = tuple(excl)


def _scale(s: dict, bad: list[str]) -> dict[str, float]:
    out = {}
    for col, f in s.items():
        where = f"[scale] {col}"
        if _canonical(col, where, bad, ("int", "float")) is None:
            continue
        if isinstance(f, str):
            if f.casefold() not in SCALE_WORDS:
                bad.append(f"{where} = {f!r}: use a number or one of {', '.join(SCALE_WORDS)}"
                           f"{suggest(f, SCALE_WORDS)}")
                continue
            f = SCALE_WORDS[f.casefold()]
        v = _positive(f, where, "the factor", bad)
        if v is not None:
            out[col] = v
    return out


def _rate_table(cur: str, r: dict, bad: list[str]) -> dict[int, float] | None:
    out: dict[int, float] = {}
    for y, v in r.items():
        at = f"[currency.rates.{cur}] {y}"
        if not (str(y).strip().isdigit() and 1800 <= int(y) <= 2200):
            bad.append(f"{at}: the keys of a rate table are years (2005 = 0.95)")
            continue
        rate = _positive(v, at, f"the rate (target units per {cur})", bad)
        if rate is not None:
            out[int(y)] = rate
    return out


def _currency(c: dict, bad: list[str]) -> CurrencySpec:
    unit = _key(c, "unit", "[currency]", bad, "text")
    col = _key(c, "column", "[currency]", bad, "text")
    target = _key(c, "target", "[currency]", bad, "text")
    if "unit" not in c and "column" not in c:
        bad.append("[currency]: give unit = \"GHS\" (one currency for the file) or column = \"...\" (a column "
                   "holding each row's currency code)")
    rates: dict[str, Any] = {}
    for cur, r in _table(c.get("rates", {}), "[currency.rates]", bad, "USD = 1.45").items():
        if isinstance(r, dict):
            rates[cur] = _rate_table(cur, r, bad)
        else:
            rate = _positive(r, f"[currency.rates] {cur}", f"the rate (target units per {cur}, or a table of "
                             "year = rate)", bad)
            if rate is not None:
                rates[cur] = rate
    reds = []
    red = c.get("redenomination", [])
    for i, r in enumerate(red if isinstance(red, list) else [red]):
        where = f"[[currency.redenomination]] #{i + 1}"
        if not isinstance(r, dict):
            bad.append(f"{where}: must be a table with old, new, ratio, year")
            continue
        extra = set(r) - {"old", "new", "ratio", "year", "by_year"}
        missing = {"old", "new", "ratio", "year"} - set(r)
        if extra:
            bad.append(f"{where}: unknown key(s) {sorted(extra)}; known: old, new, ratio, year, by_year")
        if missing:
            bad.append(f"{where}: missing key(s) {sorted(missing)}")
        n = len(bad)
        old, new = _key(r, "old", where, bad, "text"), _key(r, "new", where, bad, "text")
        ratio = _positive(r["ratio"], f"{where} ratio", "the ratio (old units per new unit)", bad) if "ratio" in r \
            else None
        year = _key(r, "year", where, bad, "year")
        by_year = _key(r, "by_year", where, bad, "bool", default=False)
        if not missing and len(bad) == n:
            reds.append(Redenomination(old, new, ratio, year, by_year))
    cols = None
    if "columns" in c:
        cols = tuple(_text_list(c["columns"], "[currency] columns", bad))
        for x in cols:
            _canonical(x, "[currency] columns", bad, ("float", "int"))
    return CurrencySpec(unit, col, target, rates, tuple(reds), cols)


def _recall(r: dict, bad: list[str], survey_year: Any = None) -> RecallSpec:
    wide = _table(r.get("wide", {}), "[recall.wide]", bad, "sales = \"sales_{year}\"")
    rel_in = _table(r.get("relative", {}), "[recall.relative]", bad, "sales = { sales_now = 0, sales_3y_ago = 3 }")
    if not wide and not rel_in:
        bad.append("[recall]: give [recall.wide] (sales = \"sales_{year}\") or [recall.relative] "
                   "(sales = { sales_now = 0, sales_3y_ago = 3 })")
    for col, pat in wide.items():
        _canonical(col, f"[recall.wide] {col}", bad)
        if not isinstance(pat, str) or "{year}" not in pat:
            bad.append(f"[recall.wide] {col} = {toml_text(pat)}: the pattern must contain {{year}}, e.g. "
                       f"\"{col}_{{year}}\"")
    rel: dict[str, dict[str, int]] = {}
    for col, t in rel_in.items():
        _canonical(col, f"[recall.relative] {col}", bad)
        if not isinstance(t, dict) or not all(_is_whole(v) and v >= 0 for v in t.values()):
            bad.append(f"[recall.relative] {col}: must be a table raw_column = years_before_survey (0, 3, ...), "
                       "whole numbers without quotes")
            continue
        rel[col] = dict(t)
    sy = r.get("survey_year")
    if sy is not None and not (_valid(sy, "year") or _valid(sy, "text")):
        bad.append(f"[recall] survey_year = {toml_text(sy)}: give a year (2005, no quotes) or the name of a column "
                   "holding it (in quotes)")
        sy = None
    if rel and sy is None and survey_year is None:
        bad.append("[recall.relative] needs the interview year: set survey_year = 2005 (or the name of a column "
                   "holding it) in [survey] or [recall]")
    return RecallSpec({k: v for k, v in wide.items() if isinstance(v, str) and "{year}" in v}, rel, sy,
                      _key(r, "round", "[recall]", bad, "count"))


def _firms(f: dict, files: _Files, bad: list[str]) -> FirmsSpec | None:
    if "file" not in f or "key" not in f:
        bad.append("[firms]: give file = \"firms.csv\" and key = \"id\" (or key = { firm_years = \"fid\", "
                   "firms = \"id\" })")
        return None
    key = f["key"]
    if isinstance(key, str) and key.strip():
        kfy = kf = key
    elif isinstance(key, dict) and set(key) == {"firm_years", "firms"} and all(
            isinstance(v, str) and v.strip() for v in key.values()):
        kfy, kf = str(key["firm_years"]), str(key["firms"])
    else:
        bad.append(f"[firms] key = {toml_text(key)}: a column name in quotes, or {{ firm_years = \"...\", "
                   "firms = \"...\" }")
        return None
    n = len(bad)
    sheet, enc = _key(f, "sheet", "[firms]", bad, "sheet"), _key(f, "encoding", "[firms]", bad, "encoding")
    if _key(f, "file", "[firms]", bad, "text") is None or len(bad) > n:
        return None
    path = files(f["file"], "[firms] file")
    return None if path is None else FirmsSpec(path, kfy, kf, sheet, enc)
