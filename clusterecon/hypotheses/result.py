"""HypothesisResult and Claim: what one phase-hypothesis test found, with the numbers behind its verdict.

The verdict contract (``docs/hypotheses.md``). Each hypothesis returns one :class:`Claim` per claim it makes (the
exit of non-innovators and the performance of innovators are separate claims, so are "output grows" and
"productivity stagnates"), each with its own status:

* ``supported`` — the evidence rule of the claim passed;
* ``not supported`` — the data could answer, met the minimum-evidence rules, and the rule did not pass (or the
  estimate points the other way);
* ``inconclusive`` — the data could answer in principle but the evidence is below a minimum-evidence rule (too few
  years, firms, events, clusters or residual degrees of freedom) or the fit is degenerate (zero standard error,
  zero residual sum of squares, separation, non-convergence): never counted as significant;
* ``skipped`` — the design cannot answer (exits in a survivor-only survey, a single survey year, a missing
  variable);
* ``failed`` — a bug: an unexpected exception, reported with its traceback, never a verdict on valid data.

Every decided claim names its test, estimate, standard error, N (and what N counts), degrees of freedom, p-value
and the evidence rule it was judged by. The hypothesis's own ``status`` combines its claims by
:func:`combine_status`; ``descriptive`` is the phase diagnosis (dates, not a yes/no claim).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from ..estimators.results import EstimationResult, TestResult

ClaimStatus = Literal["supported", "not supported", "mixed", "inconclusive", "skipped", "failed"]
Status = Literal["supported", "not supported", "mixed", "inconclusive", "skipped", "failed", "descriptive"]
STATUSES: tuple[str, ...] = ("supported", "not supported", "mixed", "inconclusive", "skipped", "failed",
                             "descriptive")


class SkipHypothesis(Exception):
    """Raised inside a hypothesis when the design cannot answer it; the message is the reason shown to the user."""


class ThinEvidence(Exception):
    """Raised inside a hypothesis when the data could answer in principle but are too thin to (more firms, more or
    consecutive years would do): the hypothesis and its claims are ``inconclusive``, with the message as reason."""


#: conventional significance levels: a printed p-value is never rounded onto one of them from the other side
P_LEVELS = (0.01, 0.05, 0.1)


def p_digits(p: float, decimals: int = 3) -> str:
    """``p`` with ``decimals`` decimals ("< 0.001" below the smallest that shows), and more decimals where
    rounding would land on a conventional level from the other side: 0.0496 is "0.0496", not "0.050" printed beside
    "significant at 0.05". ``""`` for a missing p-value."""
    if p is None or not math.isfinite(p):
        return ""
    floor = 10.0 ** -decimals
    if p < floor:
        return f"< {floor:.{decimals}f}"
    for d in range(decimals, decimals + 4):
        s = f"{p:.{d}f}"
        if float(s) == p or not any(math.isclose(float(s), level) for level in P_LEVELS):
            return s
    return f"{p:.{decimals + 4}g}"


def fmt_p(p: float, name: str = "p") -> str:
    """A p-value for a sentence: "p < 0.001", "p = 0.032", "p = 0.0496" (:func:`p_digits`)."""
    s = p_digits(p)
    return f"{name} {s}" if s.startswith("<") else f"{name} = {s}"


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One claim of a hypothesis and how the data judged it.

    ``test``: what was computed (e.g. "probit AME of schooling, later period; z test, SEs clustered by firm");
    ``estimate``/``se``/``pvalue``: the number the rule looks at; ``n`` with ``n_units`` (what is counted:
    firm-years, firms, entrants, exits, years); ``df``: degrees of freedom of the reference distribution (None for
    normal/exact tests); ``rule``: the evidence rule, minimum-evidence requirements included; ``reason``: why this
    status (the rule that passed or failed, or the minimum-evidence rule not met).
    """

    name: str
    statement: str
    status: ClaimStatus
    test: str = ""
    estimate: float | None = None
    se: float | None = None
    pvalue: float | None = None
    n: int | None = None
    n_units: str = ""
    df: Any = None
    rule: str = ""
    reason: str = ""
    primary: bool = True

    @property
    def decided(self) -> bool:
        return self.status in ("supported", "not supported")

    def row(self) -> dict[str, Any]:
        return {"claim": self.name, "primary": self.primary, "status": self.status, "test": self.test,
                "estimate": _num(self.estimate),
                "s.e.": _num(self.se), "p": _num(self.pvalue), "N": self.n, "N counts": self.n_units,
                "df": self.df if not isinstance(self.df, tuple) else ", ".join(str(d) for d in self.df),
                "rule": self.rule, "reason": self.reason}

    def text(self) -> str:
        nums = []
        if self.estimate is not None and math.isfinite(self.estimate):
            nums.append(f"estimate {self.estimate:+.4g}")
        if self.se is not None and math.isfinite(self.se):
            nums.append(f"s.e. {self.se:.3g}")
        if self.pvalue is not None and math.isfinite(self.pvalue):
            nums.append(fmt_p(self.pvalue))
        if self.n is not None:
            nums.append(f"N = {self.n}{' ' + self.n_units if self.n_units else ''}")
        if self.df is not None:
            nums.append(f"df = {self.df}")
        return (f"{self.name} [{self.status}]: {self.statement}" + (f" — {self.test}" if self.test else "")
                + (f" ({', '.join(nums)})" if nums else "") + (f". {self.reason}" if self.reason else ""))


def combine_status(claims: Iterable[Claim]) -> Status:
    """A hypothesis's status from its claims. The primary claims decide: ``failed`` if any claim failed;
    ``skipped`` if every primary claim was skipped; ``inconclusive`` if a primary claim is inconclusive (or skipped)
    and none is not supported; ``not supported`` if every decided primary claim is not supported; ``mixed`` if the
    primary claims disagree. When every primary claim is supported, a secondary claim that is not supported turns
    the verdict into ``mixed``; undecided secondary claims leave it ``supported`` (they stay listed, with their
    reason)."""
    claims = list(claims)
    if any(c.status == "failed" for c in claims):
        return "failed"
    prim = [c.status for c in claims if c.primary] or [c.status for c in claims]
    sec = [c.status for c in claims if not c.primary]
    if not prim or all(s == "skipped" for s in prim):
        return "skipped"
    if "supported" in prim and "not supported" in prim:
        return "mixed"
    if "not supported" in prim:
        return "not supported"
    if any(s != "supported" for s in prim):
        return "inconclusive"
    return "mixed" if "not supported" in sec else "supported"


@dataclass(frozen=True, kw_only=True)
class HypothesisResult:
    key: str
    title: str
    question: str
    status: Status
    verdict: str
    claims: tuple[Claim, ...] = ()
    models: Mapping[str, EstimationResult] = field(default_factory=dict)
    tests: Mapping[str, TestResult] = field(default_factory=dict)
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    limitations: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "claims", tuple(self.claims))
        names = [c.name for c in self.claims]
        if len(set(names)) != len(names):  # one status per claim: a claim judged twice is a bug, not a verdict
            raise ValueError(f"{self.key}: claims must be unique, got {names}")
        tables = dict(self.tables)
        if self.claims and "claims" not in tables:
            tables["claims"] = self.claims_frame()
        object.__setattr__(self, "tables", tables)
        for name in ("models", "tests", "tables", "figures", "extra"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @classmethod
    def skipped(cls, key: str, title: str, question: str, reason: str, status: Status = "skipped",
                claims: tuple[str, ...] = ()) -> HypothesisResult:
        """A hypothesis the design cannot answer (or, with ``status="failed"``, one that hit a bug; with
        ``"inconclusive"``, one whose fit was degenerate); ``claims`` names its claims, each recorded with the same
        status and reason."""
        cs = tuple(Claim(name=c, statement="", status=status if status in ("failed", "inconclusive") else "skipped",
                         reason=reason) for c in claims)
        lead = "Inconclusive" if status == "inconclusive" else "Not tested"
        return cls(key=key, title=title, question=question, status=status, verdict=f"{lead}: {reason}",
                   claims=cs, limitations=(reason,))

    @property
    def ran(self) -> bool:
        return self.status not in ("skipped", "failed")

    def claim(self, name: str) -> Claim | None:
        return next((c for c in self.claims if c.name == name), None)

    def claims_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.row() for c in self.claims]).set_index("claim") if self.claims else pd.DataFrame()

    def summary(self) -> str:
        lines = [f"{self.title} [{self.status}]", f"  Question: {self.question}", f"  Verdict: {self.verdict}"]
        for c in self.claims:
            lines.append(f"  Claim {c.text()}")
            if c.rule:
                lines.append(f"    Rule: {c.rule}")
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
