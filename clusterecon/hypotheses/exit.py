r"""Innovation → performance, and the exit of non-innovators (quality improvement; ``literature.md`` §1D–1E).

* Performance: log sales and log labour productivity on the innovation indicator with firm and year fixed
  effects (SEs clustered by firm) — the within-firm gain from innovating.
* Exit: a discrete-time hazard (complementary log-log on the firm-year risk set, firms entering the risk set at
  their first observed year) of exit on innovation and productivity, with duration dependence — only when exits
  are observable (repeated rounds or a census). On a survivor-only recall panel the exit part is skipped with the
  reason (firms that closed before the interview were never surveyed).

Verdict: supported when innovating raises performance (positive at 5%) and, where exits are observed, innovators
exit less (negative hazard coefficient at 5%).
"""

from __future__ import annotations

from ..panel import SurveyPanel
from ._common import analysis_frame, fmt_p, require_columns, run_hypothesis
from .result import HypothesisResult, SkipHypothesis

KEY, TITLE = "exit", "Innovation, performance and exit"
QUESTION = "Do innovators grow and perform better, and do non-innovators exit?"


def innovation_performance_exit(panel: SurveyPanel, *, vcov: str = "cluster") -> HypothesisResult:
    return run_hypothesis(lambda: _run(panel, vcov), KEY, TITLE, QUESTION)


def _run(panel: SurveyPanel, vcov: str) -> HypothesisResult:
    from ..estimators.design import SpecificationError
    from ..estimators.within import within

    if len(panel.years) < 2:
        raise SkipHypothesis("a single survey year: within-firm effects of innovating need T >= 2")
    f = analysis_frame(panel)
    require_columns(f, ["any_innovation"], "innovation and performance")
    models, tests, limitations, parts = {}, {}, [], []
    perf_ok = None
    for col, label in (("log_sales", "log sales"), ("log_va_per_worker", "log labour productivity")):
        if col not in f or f[col].notna().sum() < 20:
            continue
        try:
            r = within(f, f"{col} ~ any_innovation", effects="twoway", vcov=vcov, collinear="raise")
        except SpecificationError:
            r = None
        if r is None or "any_innovation" not in r.names:
            raise SkipHypothesis("innovation does not vary within firms over the years observed (recorded in one "
                                 "year only, or never changing): firm fixed effects absorb it")
        models[f"{label} on innovation (firm and year FE)"] = r
        b, se, p = float(r.params["any_innovation"]), float(r.std_errors["any_innovation"]), float(
            r.pvalues["any_innovation"])
        tests[f"innovation effect on {label} = 0"] = r.wald_test("any_innovation = 0")
        parts.append(f"innovating changes {label} by {b:+.3f} (s.e. {se:.3f}, {fmt_p(p)})")
        if col == "log_sales":
            perf_ok = b > 0 and p < 0.05
    exit_ok = None
    if panel.design.can_study_exit:
        from ..estimators.hazard import discrete_hazard

        try:
            hz = discrete_hazard(panel, "any_innovation + log_va_per_worker", link="cloglog", vcov=vcov)
            models["Exit hazard (cloglog)"] = hz
            b, p = float(hz.params["any_innovation"]), float(hz.pvalues["any_innovation"])
            exit_ok = b < 0 and p < 0.05
            parts.append(f"innovators' exit hazard coefficient is {b:+.3f} ({fmt_p(p)})")
        except Exception as e:  # noqa: BLE001 - performance results stand on their own
            limitations.append(f"exit hazard not estimated: {e}")
    else:
        limitations.append("exit not tested: " + panel.design.explain_exit())
    if perf_ok is None:
        raise SkipHypothesis("no performance measure (sales) with enough observations")
    oks = [x for x in (perf_ok, exit_ok) if x is not None]
    status = "supported" if all(oks) else ("mixed" if any(oks) else "not supported")
    verdict = f"{status.capitalize()}: " + "; ".join(parts) + "."
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, models=models,
                            tests=tests, limitations=tuple(limitations),
                            assumptions=("innovation is exogenous to transitory shocks given firm and year effects",))
