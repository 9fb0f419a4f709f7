"""HypothesisResult: what one phase-hypothesis test found, with the numbers behind its verdict.

Each hypothesis function takes a SurveyPanel and returns one of these: the fitted models (EstimationResults, ready
for the tables layer), the tests, a verdict sentence that quotes its numbers, the assumptions it rests on, what the
data could not support, and data frames for tables and figures. A hypothesis the data cannot support is returned
with ``status="skipped"`` and the reason, never an exception (so ``analyse`` always finishes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from ..estimators.results import EstimationResult, TestResult

Status = Literal["supported", "not supported", "mixed", "skipped", "failed", "descriptive"]


class SkipHypothesis(Exception):
    """Raised inside a hypothesis when the data cannot support it; the message is the reason shown to the user."""


@dataclass(frozen=True, kw_only=True)
class HypothesisResult:
    key: str
    title: str
    question: str
    status: Status
    verdict: str
    models: Mapping[str, EstimationResult] = field(default_factory=dict)
    tests: Mapping[str, TestResult] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("models", "tests", "tables", "figures", "extra"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @classmethod
    def skipped(cls, key: str, title: str, question: str, reason: str, status: Status = "skipped",
                ) -> HypothesisResult:
        return cls(key=key, title=title, question=question, status=status, verdict=f"Not tested: {reason}",
                   limitations=(reason,))

    @property
    def ran(self) -> bool:
        return self.status not in ("skipped", "failed")

    def summary(self) -> str:
        lines = [f"{self.title} [{self.status}]", f"  Question: {self.question}", f"  Verdict: {self.verdict}"]
        for name, t in self.tests.items():
            lines.append(f"  Test {name}: {t}")
        for name, m in self.models.items():
            lines.append(f"  Model {name}: {m.model}, N = {m.nobs}, variance: {m.variance.describe()}")
        for a in self.assumptions:
            lines.append(f"  Assumes: {a}")
        for lim in self.limitations:
            lines.append(f"  Could not support: {lim}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
