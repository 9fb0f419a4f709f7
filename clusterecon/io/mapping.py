"""Mapping files (TOML): how a raw survey's names, codes, units and layout map onto the canonical schema.

The format is documented with a complete example in ``docs/mapping.md``. Parsing uses the standard library's
``tomllib``; this module only checks the structure (every key known, every target a canonical column or code)
and turns the file into a frozen :class:`Mapping`. Every key is type checked: a yes/no key takes a TOML boolean
(``exits_observable = "no"`` is a mistake, not a true value), numbers must be finite and, where they are factors or
rates, positive. Checks that need the raw file's columns (a rename pointing at a column that does not exist, a
recall pattern that matches nothing) are in :mod:`clusterecon.io.mapping_columns`. Every mistake names the mapping
file, the key, the column it refers to and the fix, with close-match suggestions; ``load_survey`` collects the
structural and the column mistakes and reports them all in one :class:`~clusterecon.io.errors.MappingError`.

Modules: the parsed pieces (code maps, currency, recall, firm table) are in :mod:`clusterecon.io.mapping_specs`, the
type checks of single keys in :mod:`clusterecon.io.mapping_keys`, the parsing of each section in
:mod:`clusterecon.io.mapping_sections`; this module holds :class:`Mapping`, reads the file and checks its sections
and keys. Every name is importable from here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import LoadError, MappingError, suggest
from .mapping_keys import _key, toml_text
from .mapping_sections import (  # noqa: F401 (the vocabularies and phase rules: re-exported)
    CODE_KINDS,
    DESIGNS,
    DUPLICATE_POLICIES,
    SCALE_WORDS,
    UNKNOWN_POLICIES,
    _codes,
    _currency,
    _deflator,
    _Files,
    _firms,
    _history,
    _missing,
    _recall,
    _rename,
    _scale,
    _source,
    _survey,
    phase_order_mistake,
    phase_range_mistake,
)
from .mapping_specs import (  # noqa: F401 (norm_code, Redenomination: re-exported)
    CodeMap,
    CurrencySpec,
    FirmsSpec,
    RecallSpec,
    Redenomination,
    norm_code,
)

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
    "deflator": ("file", "base_year"),
}
#: Largest mapping, spec or design file read (bytes): they are hand-written text, and the TOML parser holds it all.
MAX_TOML_BYTES = 5_000_000


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
    deflator_file: Path | None = None
    deflator_base_year: int | None = None
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
    if "deflator" in sec:
        _deflator(sec["deflator"], files, kw, bad)
    kw["duplicates"] = _key(sec.get("duplicates", {}), "policy", "[duplicates]", bad, "text", default="error",
                            choices=DUPLICATE_POLICIES)
    if bad and not lenient:
        raise MappingError(path, bad)
    return Mapping(**kw, mistakes=tuple(bad))
