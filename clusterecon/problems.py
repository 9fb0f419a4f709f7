"""Problem records: what loaders and the validator report about bad input, all collected and shown at once.

A Problem names the rule, the column, the 1-based record numbers in the ORIGINAL file (header excluded), the
offending values and a suggested fix. Severity ``error`` stops a load; ``warning`` is reported (and becomes an
error in strict mode); ``info`` is reported only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
#: How many row numbers / example values a Problem keeps verbatim (``n`` is always the exact count).
MAX_EXAMPLES = 50


#: A run of 17+ digits: an integer too long to be typed by hand, i.e. a float written out digit by digit.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{17,}(?![\w.])")


def _from_float(n: int) -> bool:
    """True for an integer of 17+ digits that a float holds exactly: a float such as 1e308 turned into an int (an
    identifier of that length almost never is one)."""
    return abs(n) >= 10**16 and float(n) == n


def compact(value: Any) -> Any:
    """``value`` with numbers written compactly: an integer that is a huge float written out (1e308 as 309 digits)
    becomes that float (shown as ``1e+308``), also inside a text such as a jump's "2000 230 → 2005 1e+308"."""
    if isinstance(value, int) and not isinstance(value, bool) and _from_float(value):
        return float(value)
    if isinstance(value, str) and len(value) >= 17:
        return _LONG_NUMBER.sub(lambda m: repr(float(m[0])) if _from_float(int(m[0])) else m[0], value)
    return value


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
        values = [compact(v) for v in list(values)[:MAX_EXAMPLES]]
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
