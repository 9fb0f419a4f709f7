"""Mapping files (TOML): how a raw survey's names, codes, units and layout map onto the canonical schema.

The format is documented with a complete example in ``docs/mapping.md``. Parsing uses the standard library's
``tomllib``; this module only checks the structure (every key known, every target a canonical column or code)
and turns the file into a frozen :class:`Mapping`. Every key is type checked: a yes/no key takes a TOML boolean
(``exits_observable = "no"`` is a mistake, not a true value), numbers must be finite and, where they are factors or
rates, positive. Checks that need the raw file's columns (a rename pointing at a column that does not exist, a
recall pattern that matches nothing) are in :mod:`clusterecon.io.mapping_columns`. Every mistake names the mapping
file, the key, the column it refers to and the fix, with close-match suggestions; ``load_survey`` collects the
structural and the column mistakes and reports them all in one :class:`~clusterecon.io.errors.MappingError`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
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
    "history": ("expansion_start", "quality_start", "source"),
}
DESIGNS = ("recall", "rounds", "census")
UNKNOWN_POLICIES = ("error", "unknown")
DUPLICATE_POLICIES = ("error", "first", "last", "contemporaneous")
SCALE_WORDS = {"units": 1.0, "ones": 1.0, "hundreds": 1e2, "thousands": 1e3, "in thousands": 1e3,
               "millions": 1e6, "in millions": 1e6, "billions": 1e9}
CODE_KINDS = ("category", "bool", "string")
_WS = re.compile(r"\s+")
#: Largest mapping, spec or design file read (bytes): they are hand-written text, and the TOML parser holds it all.
MAX_TOML_BYTES = 5_000_000


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
    """A parsed, structurally checked mapping file. Build it with :func:`load_mapping` (or ``Mapping.from_dict``).

    ``mistakes`` is empty unless the mapping was parsed with ``lenient=True`` (``load_survey`` does, so that the
    mistakes that need the data's columns are reported together with these); such a mapping is never applied."""

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
    expansion_start: int | None = None
    quality_start: int | None = None
    history_source: str = ""
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
    mistakes: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "<mapping>", base_dir: Path | str = ".", *,
                  lenient: bool = False, allow_outside_paths: bool = False) -> Mapping:
        """``[source]``/``[firms]`` files are relative to ``base_dir`` and must stay inside it unless
        ``allow_outside_paths`` (see :mod:`clusterecon.io.paths`)."""
        return _parse(d, str(path), Path(base_dir), lenient=lenient, allow_outside=allow_outside_paths)

    @property
    def raw_id_column(self) -> str:
        """The raw column that becomes ``firm_id`` (kept as text when reading CSV/Excel)."""
        inv = {v: k for k, v in self.rename.items()}
        return inv.get("firm_id", "firm_id")

    def check_columns(self, columns: Iterable[str], file: str, *, firm_columns: Iterable[str] | None = None,
                      firm_file: str = "the firm table") -> None:
        """Raise one MappingError listing this mapping's own mistakes and every mistake against the raw columns."""
        from .mapping_columns import column_mistakes

        bad = [*self.mistakes, *column_mistakes(self, columns, file, firm_columns, firm_file)]
        if bad:
            raise MappingError(self.path, bad)


def load_mapping(path: str | Path, *, lenient: bool = False, allow_outside_paths: bool = False) -> Mapping:
    """Read and check a TOML mapping file; paths inside it are relative to the file's folder and must stay inside
    it unless ``allow_outside_paths``.

    ``lenient=True`` returns the mapping with its structural mistakes in ``Mapping.mistakes`` instead of raising
    (the caller reports them together with the mistakes found against the data)."""
    p = Path(path)
    if not p.exists():
        raise LoadError(f"mapping file {p} does not exist (looked in {p.parent.resolve()})")
    if p.is_dir():
        raise LoadError(f"mapping file {p} is a directory; give the path of a .toml mapping file")
    if p.stat().st_size > MAX_TOML_BYTES:
        raise LoadError(f"mapping file {p} is {p.stat().st_size:,} bytes; a mapping is a small text file (at most "
                        f"{MAX_TOML_BYTES:,} bytes): is it the right file?")
    try:
        with open(p, "rb") as fh:
            d = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise LoadError(f"mapping file {p} is not valid TOML: {e}. See docs/mapping.md for the format") from e
    except UnicodeDecodeError as e:
        raise LoadError(f"mapping file {p} is not UTF-8 (offset {e.start}); save it as UTF-8") from e
    except RecursionError:
        raise LoadError(f"mapping file {p}: arrays or tables nested too deeply to read") from None
    return _parse(d, str(p), p.parent, lenient=lenient, allow_outside=allow_outside_paths)


def as_mapping(m: Mapping | dict | str | Path | None, *, lenient: bool = False,
               allow_outside_paths: bool = False) -> Mapping:
    if m is None:
        return Mapping()
    if isinstance(m, Mapping):
        return m
    if isinstance(m, dict):
        return Mapping.from_dict(m, lenient=lenient, allow_outside_paths=allow_outside_paths)
    return load_mapping(m, lenient=lenient, allow_outside_paths=allow_outside_paths)


# ---------------------------------------------------------------------------------------------------------- types
def toml_text(v: Any, _depth: int = 0) -> str:
    """A value as it is written in TOML (a message shows ``"no"`` with its quotes and ``true`` in lower case);
    long text and deep lists are shortened with "…"."""
    if isinstance(v, str) and len(v) > 200:
        return toml_text(v[:200]) + "…"
    if isinstance(v, list) and _depth >= 3:
        return "[…]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, list):
        return "[" + ", ".join(toml_text(x, _depth + 1) for x in v[:5]) + (", …]" if len(v) > 5 else "]")
    if isinstance(v, (dt.date, dt.time)):  # TOML dates and times are written bare, as ISO 8601
        return v.isoformat()
    return repr(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_KINDS = {
    "text": "text in quotes",
    "bool": "true or false (a TOML boolean, without quotes)",
    "count": "a whole number ≥ 1, without quotes",
    "year": "a year such as 2005 (a whole number, without quotes)",
    "sheet": "a sheet name in quotes or a sheet number (0 = the first sheet)",
    "encoding": "an encoding name in quotes, e.g. \"utf-8\", \"latin-1\", \"cp1252\", \"utf-16\"",
}


def _valid(v: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "text":
        return isinstance(v, str) and bool(v.strip())
    if kind == "count":
        return _is_whole(v) and v >= 1
    if kind == "year":
        return _is_whole(v) and 1800 <= v <= 2200
    if kind == "sheet":
        return (isinstance(v, str) and bool(v.strip())) or (_is_whole(v) and v >= 0)
    if kind == "encoding":
        try:
            return isinstance(v, str) and bool(codecs.lookup(v))
        except LookupError:
            return False
    raise ValueError(kind)


def _key(d: dict, key: str, where: str, bad: list[str], *kinds: str, default: Any = None,
         choices: tuple[str, ...] = ()) -> Any:
    """``d[key]`` when it has one of the ``kinds`` the format allows there (and is one of ``choices``, if given),
    else ``default`` and a mistake that says what the key takes (``where`` names the section)."""
    if key not in d:
        return default
    v = d[key]
    if any(_valid(v, k) for k in kinds) and (not choices or v in choices):
        return v
    if choices:
        bad.append(f"{where} {key} = {toml_text(v)}: must be one of {', '.join(map(toml_text, choices))}"
                   f"{suggest(str(v), choices)}")
        return default
    fix = " or ".join(_KINDS[k] for k in kinds)
    if "bool" in kinds and isinstance(v, str) and v.strip().casefold() in ("yes", "no", "true", "false", "1", "0"):
        fix += f"; write {key} = {'true' if v.strip().casefold() in ('yes', 'true', '1') else 'false'}"
    elif "text" in kinds and _is_number(v):
        fix += f"; write {key} = \"{v}\""
    bad.append(f"{where} {key} = {toml_text(v)}: must be {fix}")
    return default


def _positive(v: Any, at: str, what: str, bad: list[str]) -> float | None:
    """A finite number > 0, or a mistake naming the key."""
    if _is_number(v) and math.isfinite(v) and v > 0:
        return float(v)
    why = ("is not finite" if _is_number(v) and not math.isfinite(v) else "is zero or negative" if _is_number(v)
           else "is not a number")
    bad.append(f"{at} = {toml_text(v)}: {what} must be a positive number ({toml_text(v)} {why})")
    return None


def _table(v: Any, where: str, bad: list[str], example: str) -> dict:
    if isinstance(v, dict):
        return v
    bad.append(f"{where} must be a table, e.g. {example} (it is {toml_text(v)})")
    return {}


def _text_list(v: Any, where: str, bad: list[str]) -> list[str]:
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    bad.append(f"{where} = {toml_text(v)}: must be a list of column names in quotes, e.g. [\"sales\", \"capital\"]")
    return []


# ---------------------------------------------------------------------------------------------------------- parsing
def _parse(d: dict[str, Any], path: str, base: Path, *, lenient: bool = False, allow_outside: bool = False,
           ) -> Mapping:
    bad: list[str] = []
    files = _Files(base, path, allow_outside, bad)
    for key, val in d.items():
        if key not in SECTIONS:
            bad.append(f"unknown section [{key}]{suggest(key, SECTIONS)}; known: {', '.join(SECTIONS)}")
            continue
        allowed = SECTIONS[key]
        if key in ("name", "description", "version"):  # free text, all three checked alike (version = "2")
            _key(d, key, "top level:", bad, "text")
            continue
        if not isinstance(val, dict):
            bad.append(f"[{key}] must be a table (a [{key}] header with keys under it), not {key} = {toml_text(val)}")
            continue
        for k in val if allowed is not None else ():
            if k not in allowed:
                bad.append(f"[{key}] unknown key {k!r}{suggest(k, allowed)}; known: {', '.join(allowed)}")
    sec = {k: v for k, v in d.items() if k in SECTIONS and isinstance(v, dict)}
    kw: dict[str, Any] = {"path": path, "base_dir": base, "name": _key(d, "name", "", [], "text", default="")}
    _source(sec.get("source", {}), files, kw, bad)
    _survey(sec.get("survey", {}), kw, bad)
    _history(sec.get("history", {}), kw, bad)
    kw["rename"] = _rename(sec.get("rename", {}), bad)
    kw["codes"], kw["unknown_policy"] = _codes(sec.get("codes", {}), bad)
    _missing(sec.get("missing", {}), kw, bad)
    kw["scale"] = _scale(sec.get("scale", {}), bad)
    if "currency" in sec:
        kw["currency"] = _currency(sec["currency"], bad)
    if "recall" in sec:
        kw["recall"] = _recall(sec["recall"], bad, survey_year=kw.get("survey_year"))
    if "firms" in sec:
        kw["firms"] = _firms(sec["firms"], files, bad)
    kw["duplicates"] = _key(sec.get("duplicates", {}), "policy", "[duplicates]", bad, "text", default="error",
                            choices=DUPLICATE_POLICIES)
    if bad and not lenient:
        raise MappingError(path, bad)
    return Mapping(**kw, mistakes=tuple(bad))


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
