"""The result of a validation: :class:`ValidationReport` holds every problem found in one source, and
:class:`ValidationError` is raised when a caller asks for a clean frame and the report holds errors.

Problems are kept in rule order and grouped by severity (errors, warnings, infos); the report counts the rows
affected per rule and renders itself as text (what ``clusterecon validate`` prints), a frame, a dict or JSON. The rules
that fill it are in :mod:`clusterecon.validate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from .problems import Problem

_SEVERITIES = ("error", "warning", "info")


class ValidationError(ValueError):
    """Raised when a caller asks for a clean frame and validation found errors; ``.report`` holds all problems."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.to_text())


@dataclass(frozen=True)
class ValidationReport:
    """All problems found in one source, in rule order. Immutable; ``merged``/``strict`` return new reports."""

    problems: tuple[Problem, ...] = ()
    source: str = ""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def infos(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "info")

    @property
    def ok(self) -> bool:
        """No errors (warnings and infos allowed)."""
        return not self.errors

    @property
    def clean(self) -> bool:
        """No errors and no warnings (infos allowed): what ``clusterecon validate`` exits 0 on."""
        return not self.errors and not self.warnings

    def rules(self, severity: str | None = None) -> set[str]:
        return {p.rule for p in self.problems if severity is None or p.severity == severity}

    def by_rule(self, rule: str) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.rule == rule)

    def counts(self) -> dict[str, int]:
        """Rows affected per rule (a problem without rows, e.g. a missing column, counts once)."""
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.rule] = out.get(p.rule, 0) + max(p.n, 1)
        return out

    def merged(self, extra_problems: Iterable[Problem]) -> ValidationReport:
        """This report plus ``extra_problems`` (e.g. those a loader found), errors first."""
        probs = list(self.problems) + list(extra_problems)
        order = {s: i for i, s in enumerate(_SEVERITIES)}
        probs.sort(key=lambda p: order.get(p.severity, 9))  # stable: keeps rule order within a severity
        return ValidationReport(tuple(probs), self.source)

    def strict(self) -> ValidationReport:
        """Warnings promoted to errors (infos stay infos)."""
        return ValidationReport(tuple(p.as_error() if p.severity == "warning" else p for p in self.problems),
                                self.source)

    def raise_if_errors(self) -> ValidationReport:
        if self.errors:
            raise ValidationError(self)
        return self

    # ------------------------------------------------------------------ output
    def summary_line(self) -> str:
        where = f"{self.source}: " if self.source else ""
        n = {s: len([p for p in self.problems if p.severity == s]) for s in _SEVERITIES}
        return f"{where}{n['error']} error(s), {n['warning']} warning(s), {n['info']} info"

    def to_text(self, max_examples: int = 5) -> str:
        """Counts per rule, then each problem with its first ``max_examples`` rows and values, by severity."""
        lines = [self.summary_line()]
        if not self.problems:
            return lines[0] + "\nno problems found"
        counts = self.counts()
        for sev in _SEVERITIES:
            probs = [p for p in self.problems if p.severity == sev]
            if not probs:
                continue
            lines.append("")
            lines.append(f"{sev.upper()}S" if sev != "info" else "INFO")
            seen: list[str] = []
            for p in probs:
                if p.rule not in seen:
                    seen.append(p.rule)
            lines.append("  " + ", ".join(f"{r}: {counts[r]}" for r in seen))
            for p in probs:
                shown = replace(p, source="") if p.source == self.source else p  # the header names the source
                lines.append("  " + shown.to_text(max_examples).replace("\n", "\n  "))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        cols = ["severity", "rule", "column", "n", "rows", "values", "message", "fix", "source"]
        recs = [{"severity": p.severity, "rule": p.rule, "column": p.column, "n": p.n, "rows": list(p.rows),
                 "values": [_plain(v) for v in p.values], "message": p.message, "fix": p.fix,
                 "source": p.source or self.source} for p in self.problems]
        return pd.DataFrame(recs, columns=cols)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "ok": self.ok, "clean": self.clean, "counts": self.counts(),
                "problems": self.to_frame().to_dict(orient="records")}

    def to_json(self, indent: int | None = 2) -> str:
        from ._json import dumps

        return dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        return self.to_text()


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA or v is pd.NaT:
        return None
    return v
