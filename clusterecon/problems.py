"""Problem records: what loaders and the validator report about bad input, all collected and shown at once.

A Problem names the rule, the column, the 1-based record numbers in the ORIGINAL file (header excluded), the
offending values and a suggested fix. Severity ``error`` stops a load; ``warning`` is reported (and becomes an
error in strict mode); ``info`` is reported only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
#: How many row numbers / example values a Problem keeps verbatim (``n`` is always the exact count).
MAX_EXAMPLES = 50


@dataclass(frozen=True)
class Problem:
    severity: Severity
    rule: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    values: tuple[Any, ...] = ()
    fix: str = ""
    n: int = 0
    source: str = ""

    @classmethod
    def make(cls, severity: Severity, rule: str, message: str, *, column: str | None = None, rows=(), values=(),
             fix: str = "", source: str = "", n: int | None = None) -> Problem:
        rows = sorted(int(r) for r in rows)  # ascending, so the examples kept are the first records of the file
        values = list(values)
        return cls(severity, rule, message, column, tuple(rows[:MAX_EXAMPLES]), tuple(values[:MAX_EXAMPLES]), fix,
                   len(rows) if n is None else int(n), source)

    def as_error(self) -> Problem:
        """The same problem promoted to an error (strict mode)."""
        return Problem("error", self.rule, self.message, self.column, self.rows, self.values, self.fix, self.n,
                       self.source)

    def to_text(self, max_examples: int = 5) -> str:
        where = f"{self.source}: " if self.source else ""
        col = f" column {self.column!r}" if self.column else ""
        s = f"[{self.severity.upper()}] {where}{self.rule}{col}: {self.message}"
        if self.n:
            rows = ", ".join(map(str, self.rows[:max_examples]))
            more = f" (+{self.n - min(self.n, max_examples)} more)" if self.n > max_examples else ""
            s += f"\n    {self.n} row(s): {rows}{more}"
        if self.values:
            vals = ", ".join(repr(v) for v in self.values[:max_examples])
            s += f"\n    values: {vals}"
        if self.fix:
            s += f"\n    fix: {self.fix}"
        return s
