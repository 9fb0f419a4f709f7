"""The research answer is never cut: ``result.verdicts()`` printed or shown in a notebook, and the terminal summary
of ``clusterecon analyse``, carry every verdict in full (no "…")."""

from __future__ import annotations

import html
from pathlib import Path
from types import SimpleNamespace

from clusterecon.commands.analyse import summary_text
from clusterecon.hypotheses.battery import AnalysisResult

LONG = ("Supported: one more year of schooling changes the probability of innovating from 1996 on by +0.056 "
        "(s.e. 0.009, p < 0.001): positive and significant at 0.05; the average marginal effect in the earlier "
        "years is +0.006 (s.e. 0.014), so the effect is concentrated in the quality-improvement phase as the "
        "hypothesis says; N = 3,182 firm-years of 200 firms, df 199.")


def _result() -> AnalysisResult:
    r = SimpleNamespace(title="Education-driven innovation (quality improvement)", status="supported", verdict=LONG)
    s = SimpleNamespace(title="Phase diagnosis", status="descriptive", verdict="In 2014 the cluster is " + "x" * 300)
    return AnalysisResult(structure={"firms": 200, "firm_years": 3182, "years": [1970, 2014], "design": "rounds"},
                          results={"phases": s, "innovation": r})


def _words(text: str) -> str:
    return " ".join(text.split())


def test_verdicts_print_in_full():
    v = _result().verdicts()
    for shown in (repr(v), str(v), v._repr_html_()):
        assert "…" not in shown and "..." not in shown
    assert LONG in _words(repr(v))
    assert html.escape(LONG, quote=False) in v._repr_html_()
    assert list(v.columns) == ["hypothesis", "status", "verdict"] and v.loc["innovation", "verdict"] == LONG


def test_terminal_summary_prints_every_verdict_in_full():
    paths = SimpleNamespace(problems=(), html=Path("r/report.html"), markdown=Path("r/report.md"), tables={},
                            figures={})
    text = summary_text(_result(), paths, 1.0)
    assert "…" not in text and "..." not in text
    assert LONG in _words(text)
    assert "x" * 300 in text
