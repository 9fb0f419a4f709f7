"""The parsed pieces of a mapping file, as frozen value objects the loader applies: a column's code map
(:class:`CodeMap`, keyed by :func:`norm_code`), the currency conversion (:class:`CurrencySpec` with its
:class:`Redenomination` steps), the wide recall layout (:class:`RecallSpec`) and the firm table joined to the survey
(:class:`FirmsSpec`). :class:`~clusterecon.io.mapping.Mapping` holds them; every name is importable from
:mod:`clusterecon.io.mapping` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
