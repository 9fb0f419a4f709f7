"""Mapping files (TOML): how a raw survey's names, codes, units and layout map onto the canonical schema.

The format is documented with a complete example in ``docs/mapping.md``. Parsing uses the standard library's
``tomllib``; this module only checks the structure (every key known, every target a canonical column or code)
and turns the file into a frozen :class:`Mapping`. Checks that need the raw file's columns (a rename pointing at a
column that does not exist, a recall pattern that matches nothing) are in :meth:`Mapping.check_columns`. Every
mistake names the mapping file, the key and the column it refers to, with close-match suggestions, and all
mistakes are reported in one :class:`~clusterecon.io.errors.MappingError`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import schema
from .errors import LoadError, MappingError, suggest
from .paths import OutsideFolderError, resolve_inside

SECTIONS: dict[str, tuple[str, ...] | None] = {
    "name": None, "description": None, "version": None,
    "source": ("file", "sheet", "encoding"),
    "survey": ("design", "survey_year", "round", "exits_observable", "name", "country"),
    "rename": None,
    "codes": None,
    "missing": ("codes", "columns", "exclude"),
    "scale": None,
    "currency": ("unit", "column", "target", "rates", "redenomination", "columns"),
    "recall": ("survey_year", "round", "wide", "relative"),
    "firms": ("file", "key", "sheet", "encoding"),
    "duplicates": ("policy",),
}
DESIGNS = ("recall", "rounds", "census")
UNKNOWN_POLICIES = ("error", "unknown")
DUPLICATE_POLICIES = ("error", "first", "last", "contemporaneous")
SCALE_WORDS = {"units": 1.0, "ones": 1.0, "hundreds": 1e2, "thousands": 1e3, "in thousands": 1e3,
               "millions": 1e6, "in millions": 1e6, "billions": 1e9}
CODE_KINDS = ("category", "bool", "string")
_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False}
_WS = re.compile(r"\s+")


def norm_code(v: Any) -> str:
    """Normalise a raw code for matching: numbers compare by value (``1``, ``1.0``, ``"01"`` → ``"1"``), text is
    case- and whitespace-insensitive."""
    if isinstance(v, bool):
        return str(v).casefold()
    if isinstance(v, (int, float)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    s = _WS.sub(" ", str(v).strip()).casefold()
    try:
        f = float(s)
    except ValueError:
        return s
    if f != f:  # 'nan' text stays text
        return s
    return str(int(f)) if f.is_integer() else repr(f)


@dataclass(frozen=True)
class CodeMap:
    """Raw code → canonical code for one column. ``table`` is keyed by :func:`norm_code` of the raw code."""

    column: str
    table: dict[str, Any]
    raw_keys: dict[str, str]
    unknown_policy: str = "error"


@dataclass(frozen=True)
class Redenomination:
    """``ratio`` old units make one new unit from ``year`` on (GHC→GHS: 10,000:1 from 2007). With ``by_year`` the
    file does not say which unit a value is in: values for years before ``year`` are taken to be in the old unit."""

    old: str
    new: str
    ratio: float
    year: int
    by_year: bool = False


@dataclass(frozen=True)
class CurrencySpec:
    unit: str | None = None
    column: str | None = None
    target: str | None = None
    rates: dict[str, float | dict[int, float]] = field(default_factory=dict)
    redenomination: tuple[Redenomination, ...] = ()
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RecallSpec:
    """Wide recall layouts. ``wide``: canonical column → raw name pattern with ``{year}`` (``"sales_{year}"``);
    ``relative``: canonical column → {raw column: years before the survey year}."""

    wide: dict[str, str] = field(default_factory=dict)
    relative: dict[str, dict[str, int]] = field(default_factory=dict)
    survey_year: int | str | None = None
    round: int | None = None

    def pattern(self, column: str) -> re.Pattern:
        pat = self.wide[column]
        return re.compile("^" + re.escape(pat).replace(r"\{year\}", r"(?P<year>\d{4})") + "$")


@dataclass(frozen=True)
class FirmsSpec:
    file: Path
    key_firm_years: str
    key_firms: str
    sheet: str | int | None = None
    encoding: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed, structurally checked mapping file. Build it with :func:`load_mapping` (or ``Mapping.from_dict``)."""

    path: str = "<mapping>"
    base_dir: Path = Path(".")
    name: str = ""
    source_file: Path | None = None
    source_sheet: str | int | None = None
    source_encoding: str | None = None
    design: str | None = None
    survey_year: int | str | None = None
    survey_round: int | None = None
    exits_observable: bool | None = None
    rename: dict[str, str] = field(default_factory=dict)
    codes: dict[str, CodeMap] = field(default_factory=dict)
    missing_codes: dict[str, str] = field(default_factory=dict)
    missing_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    missing_exclude: tuple[str, ...] = ()
    scale: dict[str, float] = field(default_factory=dict)
    currency: CurrencySpec | None = None
    recall: RecallSpec | None = None
    firms: FirmsSpec | None = None
    duplicates: str = "error"
    unknown_policy: str = "error"

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "<mapping>", base_dir: Path | str = ".", *,
                  allow_outside_paths: bool = False) -> Mapping:
        """``[source]``/``[firms]`` files are relative to ``base_dir`` and must stay inside it unless
        ``allow_outside_paths`` (see :mod:`clusterecon.io.paths`)."""
        return _parse(d, str(path), Path(base_dir), allow_outside_paths)

    @property
    def raw_id_column(self) -> str:
        """The raw column that becomes ``firm_id`` (kept as text when reading CSV/Excel)."""
        inv = {v: k for k, v in self.rename.items()}
        return inv.get("firm_id", "firm_id")

    def check_columns(self, columns: Iterable[str], file: str, *, firm_columns: Iterable[str] = ()) -> None:
        """Mistakes that need the raw file's columns: renames, recall columns, currency column, join key."""
        cols = [str(c) for c in columns]
        have = set(cols) | set(firm_columns)
        bad: list[str] = []
        for raw, canon in self.rename.items():
            if raw not in have:
                bad.append(f"[rename] {raw!r} = {canon!r}: raw column {raw!r} is not in {file}{suggest(raw, have)}")
        renamed = {self.rename.get(c, c) for c in have}
        if self.recall:
            for canon in self.recall.wide:
                pat = self.recall.pattern(canon)
                if not any(pat.match(c) for c in have):
                    bad.append(f"[recall.wide] {canon} = {self.recall.wide[canon]!r}: no column of {file} matches "
                               f"the pattern{suggest(self.recall.wide[canon].replace('{year}', '2000'), have)}")
            for canon, cols_off in self.recall.relative.items():
                for raw in cols_off:
                    if raw not in have:
                        bad.append(f"[recall.relative.{canon}] {raw!r}: raw column {raw!r} is not in {file}"
                                   f"{suggest(raw, have)}")
            sy = self.recall.survey_year if self.recall.survey_year is not None else self.survey_year
            if isinstance(sy, str) and sy not in have and sy not in renamed:
                bad.append(f"[recall] survey_year = {sy!r}: column {sy!r} is not in {file}{suggest(sy, have)}")
        if self.currency and self.currency.column and self.currency.column not in have | renamed:
            c = self.currency.column
            bad.append(f"[currency] column = {c!r}: column {c!r} is not in {file}{suggest(c, have)}")
        if bad:
            raise MappingError(self.path, bad)


def load_mapping(path: str | Path, *, allow_outside_paths: bool = False) -> Mapping:
    """Read and check a TOML mapping file; paths inside it are relative to the file's folder and must stay inside
    it unless ``allow_outside_paths``."""
    p = Path(path)
    if not p.exists():
        raise LoadError(f"mapping file {p} does not exist (looked in {p.parent.resolve()})")
    try:
        with open(p, "rb") as fh:
            d = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise LoadError(f"mapping file {p} is not valid TOML: {e}. See docs/mapping.md for the format") from e
    except UnicodeDecodeError as e:
        raise LoadError(f"mapping file {p} is not UTF-8 (offset {e.start}); save it as UTF-8") from e
    return _parse(d, str(p), p.parent, allow_outside_paths)


def as_mapping(m: Mapping | dict | str | Path | None, *, allow_outside_paths: bool = False) -> Mapping:
    if m is None:
        return Mapping()
    if isinstance(m, Mapping):
        return m
    if isinstance(m, dict):
        return Mapping.from_dict(m, allow_outside_paths=allow_outside_paths)
    return load_mapping(m, allow_outside_paths=allow_outside_paths)


# ---------------------------------------------------------------------------------------------------------- parsing
def _parse(d: dict[str, Any], path: str, base: Path, allow_outside: bool = False) -> Mapping:
    bad: list[str] = []
    files = _Files(base, path, allow_outside, bad)
    for key, val in d.items():
        if key not in SECTIONS:
            bad.append(f"unknown section [{key}]{suggest(key, SECTIONS)}; known: {', '.join(SECTIONS)}")
            continue
        allowed = SECTIONS[key]
        if allowed is not None:
            if not isinstance(val, dict):
                bad.append(f"[{key}] must be a table (a [{key}] header with keys under it)")
                continue
            for k in val:
                if k not in allowed:
                    bad.append(f"[{key}] unknown key {k!r}{suggest(k, allowed)}; known: {', '.join(allowed)}")
    kw: dict[str, Any] = {"path": path, "base_dir": base, "name": str(d.get("name", ""))}
    _source(d.get("source", {}), files, kw)
    _survey(d.get("survey", {}), kw, bad)
    kw["rename"] = _rename(d.get("rename", {}), bad)
    kw["codes"] = _codes(d.get("codes", {}), bad)
    codes_default = d.get("codes", {}).get("unknown_policy", "error") if isinstance(d.get("codes"), dict) else "error"
    kw["unknown_policy"] = codes_default if codes_default in UNKNOWN_POLICIES else "error"
    _missing(d.get("missing", {}), kw, bad)
    kw["scale"] = _scale(d.get("scale", {}), bad)
    if "currency" in d and isinstance(d["currency"], dict):
        kw["currency"] = _currency(d["currency"], bad)
    if "recall" in d and isinstance(d["recall"], dict):
        kw["recall"] = _recall(d["recall"], bad)
    if "firms" in d and isinstance(d["firms"], dict):
        kw["firms"] = _firms(d["firms"], files, bad)
    pol = d.get("duplicates", {}).get("policy", "error") if isinstance(d.get("duplicates"), dict) else "error"
    if pol not in DUPLICATE_POLICIES:
        bad.append(f"[duplicates] policy = {pol!r}: must be one of {', '.join(DUPLICATE_POLICIES)}")
    kw["duplicates"] = pol
    if bad:
        raise MappingError(path, bad)
    return Mapping(**kw)


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


def _source(s: dict, files: _Files, kw: dict) -> None:
    if not isinstance(s, dict):
        return
    if "file" in s:
        kw["source_file"] = files(s["file"], "[source] file")
    kw["source_sheet"] = s.get("sheet")
    kw["source_encoding"] = s.get("encoding")


def _survey(s: dict, kw: dict, bad: list[str]) -> None:
    if not isinstance(s, dict):
        return
    design = s.get("design")
    if design is not None and design not in DESIGNS:
        bad.append(f"[survey] design = {design!r}: must be one of {', '.join(DESIGNS)}{suggest(design, DESIGNS)}")
    sy = s.get("survey_year")
    if sy is not None and not isinstance(sy, (int, str)):
        bad.append(f"[survey] survey_year = {sy!r}: give a year (2005) or the name of a column holding it")
    rnd = s.get("round")
    if rnd is not None and not (isinstance(rnd, int) and rnd >= 1):
        bad.append(f"[survey] round = {rnd!r}: must be a whole number ≥ 1")
    kw.update(design=design, survey_year=sy, survey_round=rnd, exits_observable=s.get("exits_observable"))


def _rename(r: dict, bad: list[str]) -> dict[str, str]:
    if not isinstance(r, dict):
        bad.append("[rename] must be a table of raw_name = \"canonical_name\"")
        return {}
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for raw, canon in r.items():
        if not isinstance(canon, str):
            bad.append(f"[rename] {raw!r} = {canon!r}: the target must be a column name in quotes")
            continue
        if canon in seen:
            bad.append(f"[rename] {raw!r} and {seen[canon]!r} both map to {canon!r}; keep one")
        seen[canon] = raw
        out[str(raw)] = canon
    return out


def _codes(c: dict, bad: list[str]) -> dict[str, CodeMap]:
    if not isinstance(c, dict):
        bad.append("[codes] must hold one table per column, e.g. [codes.founder_prior_occupation]")
        return {}
    default = c.get("unknown_policy", "error")
    if default not in UNKNOWN_POLICIES:
        bad.append(f"[codes] unknown_policy = {default!r}: must be \"error\" or \"unknown\"")
    out: dict[str, CodeMap] = {}
    for col, table in c.items():
        if col == "unknown_policy":
            continue
        where = f"[codes.{col}]"
        if not isinstance(table, dict):
            bad.append(f"{where}: must be a table of raw code = \"canonical code\"")
            continue
        spec = _canonical(col, where, bad, CODE_KINDS)
        if spec is None:
            continue
        policy = table.get("unknown_policy", default)
        if policy not in UNKNOWN_POLICIES:
            bad.append(f"{where} unknown_policy = {policy!r}: must be \"error\" or \"unknown\"")
        elif policy == "unknown" and spec.allowed is not None and "unknown" not in spec.allowed:
            bad.append(f"{where} unknown_policy = \"unknown\": column {col!r} has no 'unknown' code "
                       f"(allowed: {', '.join(spec.allowed)}); use \"error\"")
        tab: dict[str, Any] = {}
        raw_keys: dict[str, str] = {}
        for raw, canon in table.items():
            if raw == "unknown_policy":
                continue
            if spec.kind == "bool":
                if isinstance(canon, str) and canon.casefold() in _BOOL_WORDS:
                    canon = _BOOL_WORDS[canon.casefold()]
                if not isinstance(canon, bool):
                    bad.append(f"{where} {raw!r} = {canon!r}: column {col!r} is yes/no; map to true or false")
                    continue
            elif not isinstance(canon, str):
                bad.append(f"{where} {raw!r} = {canon!r}: the canonical code must be text in quotes")
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
        out[col] = CodeMap(col, tab, raw_keys, policy if policy in UNKNOWN_POLICIES else "error")
    return out


def _reason_table(t: Any, where: str, bad: list[str]) -> dict[str, str]:
    if not isinstance(t, dict):
        bad.append(f"{where}: must be a table of \"code\" = \"reason\", e.g. \"-9\" = \"don't know\"")
        return {}
    out = {}
    for code, reason in t.items():
        if not isinstance(reason, str):
            bad.append(f"{where} {code!r} = {reason!r}: the reason must be text, e.g. \"refused\"")
            continue
        out[str(code)] = reason
    return out


def _missing(m: dict, kw: dict, bad: list[str]) -> None:
    if not isinstance(m, dict):
        return
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
    excl = m.get("exclude", [])
    if not isinstance(excl, list):
        bad.append("[missing] exclude must be a list of column names")
        excl = []
    for col in excl:
        _canonical(str(col), "[missing] exclude", bad)
    kw["missing_exclude"] = tuple(str(c) for c in excl)


def _scale(s: dict, bad: list[str]) -> dict[str, float]:
    if not isinstance(s, dict):
        bad.append("[scale] must be a table of column = factor (1000 or \"thousands\")")
        return {}
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
        if isinstance(f, bool) or not isinstance(f, (int, float)) or f <= 0:
            bad.append(f"{where} = {f!r}: the factor must be a positive number")
            continue
        out[col] = float(f)
    return out


def _currency(c: dict, bad: list[str]) -> CurrencySpec:
    unit, col, target = c.get("unit"), c.get("column"), c.get("target")
    if unit is None and col is None:
        bad.append("[currency]: give unit = \"GHS\" (one currency for the file) or column = \"...\" (a column "
                   "holding each row's currency code)")
    rates: dict[str, Any] = {}
    for cur, r in (c.get("rates") or {}).items():
        if isinstance(r, dict):
            try:
                rates[cur] = {int(y): float(v) for y, v in r.items()}
            except (TypeError, ValueError):
                bad.append(f"[currency.rates.{cur}]: keys must be years and values numbers, e.g. 2005 = 0.95")
        elif isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0:
            rates[cur] = float(r)
        else:
            bad.append(f"[currency.rates] {cur} = {r!r}: give target units per unit of {cur} (a positive number) or "
                       "a table of year = rate")
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
            continue
        reds.append(Redenomination(str(r["old"]), str(r["new"]), float(r["ratio"]), int(r["year"]),
                                   bool(r.get("by_year", False))))
    cols = c.get("columns")
    if cols is not None:
        for x in cols:
            _canonical(str(x), "[currency] columns", bad, ("float", "int"))
        cols = tuple(str(x) for x in cols)
    return CurrencySpec(unit, col, target, rates, tuple(reds), cols)


def _recall(r: dict, bad: list[str]) -> RecallSpec:
    wide = r.get("wide", {}) or {}
    rel_in = r.get("relative", {}) or {}
    if not wide and not rel_in:
        bad.append("[recall]: give [recall.wide] (sales = \"sales_{year}\") or [recall.relative] "
                   "(sales = { sales_now = 0, sales_3y_ago = 3 })")
    for col, pat in wide.items():
        _canonical(col, f"[recall.wide] {col}", bad)
        if not isinstance(pat, str) or "{year}" not in pat:
            bad.append(f"[recall.wide] {col} = {pat!r}: the pattern must contain {{year}}, e.g. \"{col}_{{year}}\"")
    rel: dict[str, dict[str, int]] = {}
    for col, t in rel_in.items():
        _canonical(col, f"[recall.relative] {col}", bad)
        if not isinstance(t, dict) or not all(isinstance(v, int) and v >= 0 for v in t.values()):
            bad.append(f"[recall.relative] {col}: must be a table raw_column = years_before_survey (0, 3, ...)")
            continue
        rel[col] = dict(t)
    sy = r.get("survey_year")
    if rel and sy is None:
        pass  # may come from [survey]; checked when applied
    return RecallSpec({k: v for k, v in wide.items() if isinstance(v, str) and "{year}" in v}, rel, sy,
                      r.get("round"))


def _firms(f: dict, files: _Files, bad: list[str]) -> FirmsSpec | None:
    if "file" not in f or "key" not in f:
        bad.append("[firms]: give file = \"firms.csv\" and key = \"id\" (or key = { firm_years = \"fid\", "
                   "firms = \"id\" })")
        return None
    key = f["key"]
    if isinstance(key, str):
        kfy = kf = key
    elif isinstance(key, dict) and set(key) == {"firm_years", "firms"}:
        kfy, kf = str(key["firm_years"]), str(key["firms"])
    else:
        bad.append(f"[firms] key = {key!r}: a column name, or {{ firm_years = \"...\", firms = \"...\" }}")
        return None
    path = files(f["file"], "[firms] file")
    return None if path is None else FirmsSpec(path, kfy, kf, f.get("sheet"), f.get("encoding"))
