"""Provenance log: every rename, recode, drop and derived column a panel went through, with counts and rows.

The rule it serves: no row is dropped or changed without a log entry. ``rows`` are the 1-based record numbers in
the original file (header excluded; Stata's ``_n``), so a user can find them in the raw survey.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

#: How many row numbers an entry keeps verbatim (the count is always exact).
MAX_ROWS_KEPT = 200


@dataclass(frozen=True)
class ProvenanceEntry:
    """One change: ``step`` names the stage (read, rename, recode, missing_code, scale, currency, reshape, join,
    drop, cast, derive), ``action`` says what happened in words, ``n_rows`` how many rows it touched."""

    step: str
    action: str
    column: str | None = None
    n_rows: int = 0
    rows: tuple[int, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows"] = list(self.rows)
        return d


class ProvenanceLog:
    """An append-only list of :class:`ProvenanceEntry`; a finished panel holds a frozen copy (``freeze()``)."""

    def __init__(self, entries: Iterable[ProvenanceEntry] = ()) -> None:
        self._entries: list[ProvenanceEntry] = list(entries)

    def add(
        self,
        step: str,
        action: str,
        column: str | None = None,
        rows: Iterable[int] | None = None,
        n_rows: int | None = None,
        **detail: Any,
    ) -> ProvenanceEntry:
        row_list = [int(r) for r in rows] if rows is not None else []
        n = len(row_list) if n_rows is None else int(n_rows)
        entry = ProvenanceEntry(step, action, column, n, tuple(row_list[:MAX_ROWS_KEPT]), _jsonable(detail))
        self._entries.append(entry)
        return entry

    def extend(self, other: Iterable[ProvenanceEntry]) -> None:
        self._entries.extend(other)

    def insert(self, position: int, entries: Iterable[ProvenanceEntry]) -> None:
        """``entries`` placed before the entry now at ``position`` (work done apart, logged in its turn)."""
        self._entries[position:position] = list(entries)

    @property
    def entries(self) -> tuple[ProvenanceEntry, ...]:
        return tuple(self._entries)

    def freeze(self) -> tuple[ProvenanceEntry, ...]:
        return tuple(self._entries)

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def rows_dropped(entries: Iterable[ProvenanceEntry]) -> int:
    """Total rows removed by ``drop`` entries (used by the rows-in = rows-out + rows-dropped invariant)."""
    return sum(e.n_rows for e in entries if e.step == "drop")


def to_json(entries: Iterable[ProvenanceEntry], indent: int | None = 2) -> str:
    from ._json import dumps

    return dumps([e.to_dict() for e in entries], indent=indent)


def to_frame(entries: Iterable[ProvenanceEntry]) -> pd.DataFrame:
    recs = [
        {"step": e.step, "action": e.action, "column": e.column, "n_rows": e.n_rows,
         "rows": ", ".join(map(str, e.rows[:10])) + (" …" if len(e.rows) > 10 else "")}
        for e in entries
    ]
    return pd.DataFrame(recs, columns=["step", "action", "column", "n_rows", "rows"])


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        try:
            json.dumps(v)
            out[k] = v
        except TypeError:
            out[k] = str(v)
    return out
