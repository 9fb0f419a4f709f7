"""Type checks of a mapping's keys: each key takes the kind the format allows there, or the mapping gets a mistake
saying what the key takes.

A yes/no key takes a TOML boolean (``exits_observable = "no"`` is a mistake, not a true value, and the message says
to write ``exits_observable = false``), numbers must be finite and, where they are factors or rates, positive; a
value is quoted in messages as it is written in TOML (:func:`toml_text`). The section parsers
(:mod:`clusterecon.io.mapping_sections`) call these.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
from typing import Any

from .errors import suggest


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
