"""``analyse(panel)``: the whole phase-hypothesis battery in one structured result.

Order: phase diagnosis first (its dates define the pioneers and the quantity-expansion years used by the other
tests), then founders, spin-offs, stagnation, education-driven innovation, and innovation → performance / exit.
A hypothesis the data cannot support (T = 1, no spin-off information, exits not observable) is skipped with its
reason; an unexpected error in one hypothesis is recorded as ``failed`` with the message and the run continues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..panel import SurveyPanel
from ._common import run_hypothesis
from .exit import innovation_performance_exit
from .founders import founder_origins
from .innovation import education_innovation
from .phases import diagnose_phases
from .result import HypothesisResult
from .spinoffs import spinoff_imitation
from .stagnation import productivity_stagnation


@dataclass(frozen=True)
class AnalysisResult:
    """Every HypothesisResult of the battery, keyed in run order, plus the panel's structure."""

    structure: Mapping[str, Any]
    results: Mapping[str, HypothesisResult]
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", MappingProxyType(dict(self.results)))
        object.__setattr__(self, "structure", MappingProxyType(dict(self.structure)))

    @property
    def phases(self) -> HypothesisResult:
        return self.results["phases"]

    def __getitem__(self, key: str) -> HypothesisResult:
        return self.results[key]

    def verdicts(self) -> pd.DataFrame:
        return pd.DataFrame([{"hypothesis": r.title, "status": r.status, "verdict": r.verdict}
                             for r in self.results.values()], index=list(self.results))

    def summary(self) -> str:
        s = self.structure
        head = (f"clusterecon analysis: {s.get('firms')} firms, {s.get('firm_years')} firm-years, years "
                f"{s.get('years', [None])[0]}–{s.get('years', [None])[-1]}, design: {s.get('design')}")
        return "\n\n".join([head, *(r.summary() for r in self.results.values())])

    def __str__(self) -> str:
        return self.summary()


def analyse(panel: SurveyPanel, *, progress: Callable[[str], None] | None = None, vcov: str = "cluster",
            split_year: int | None = None) -> AnalysisResult:
    """Run the battery on ``panel``. ``progress`` is called with the name of each step as it starts."""
    step = progress or (lambda _name: None)
    results: dict[str, HypothesisResult] = {}
    step("phase diagnosis")
    results["phases"] = run_hypothesis(lambda: diagnose_phases(panel), "phases", "Phase diagnosis",
                                       "Which phase is the cluster in?")
    ph = results["phases"].extra
    start = ph.get("expansion_start") if ph.get("expansion_detected") else None
    spans = {p: (lo, hi) for p, lo, hi in ph.get("spans", [])}
    step("founders")
    results["founders"] = founder_origins(panel, pioneer_until=(start - 1) if start else None)
    step("spin-offs")
    results["spinoffs"] = spinoff_imitation(panel)
    step("productivity stagnation")
    if ph.get("quality_undated"):
        from .stagnation import KEY, QUESTION, TITLE

        results["stagnation"] = HypothesisResult.skipped(
            KEY, TITLE, QUESTION, "quality improvement is under way but its start cannot be dated from the survey's "
            "years, so the quantity-expansion years cannot be separated from it; pass "
            "productivity_stagnation(panel, years=(first, last)) to test a span you know")
    else:
        results["stagnation"] = productivity_stagnation(
            panel, years=spans.get("quantity expansion"), vcov=vcov,
            years_source="the quantity-expansion years dated by the phase diagnosis,")
    step("education and innovation")
    split = split_year if split_year is not None else ph.get("quality_start")
    if split is not None and split not in panel.years and not any(y >= split for y in panel.years):
        split = None
    results["innovation"] = education_innovation(panel, split_year=split, vcov=vcov)
    step("innovation, performance and exit")
    results["exit"] = innovation_performance_exit(panel, vcov=vcov)
    return AnalysisResult(structure=panel.structure(), results=results, options={"vcov": vcov, "split_year": split})
