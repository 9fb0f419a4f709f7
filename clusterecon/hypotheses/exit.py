r"""Exit of non-innovators (quality improvement; Sonobe & Otsuka 2006, ch. 2; 2011, ch. 1): are firms that do
not innovate the ones that leave?

Claim **exit**: on the firm-year risk set (:func:`~clusterecon.estimators.hazard.risk_set`: firms enter at their first
observed year, covariates predetermined — the firm's last operating row before the interval) during the
quality-improvement years when they are dated, the discrete-time hazard of exit is lower for firms that innovate.
Model: logit of exit on any innovation, lagged log employment, log firm age (log years since first observed when
founding years are unknown) and a linear trend per decade,

.. math::

    \operatorname{logit} P(\text{exit}_{it} = 1 \mid \text{at risk}) = \alpha + \beta\,\text{innov}_{i,t^-}
    + \gamma \ln L_{i,t^-} + \delta \ln \text{age}_{it} + \theta\,(t - t_0)/10,

where :math:`t^-` is the firm's last operating year before the interval (the size and innovation status at the start
of the year at risk). Lagged size is in the model because small firms exit more and large firms innovate more: without
it, innovators' lower exit hazard can be their size alone (the independent size audit: 23% false support in a world
where innovating has no effect on exit). Being predetermined, it is not raised by the exit it predicts; the part of the
effect of innovating that runs through past growth is, by construction, not counted. Firm-years at risk without an
employment record are left out and counted with the model; a survey without employment keeps the model without
it, and the claim says that size is not controlled. The model is fitted by Firth's penalised likelihood
(:func:`~clusterecon.estimators.firth.firth_logit`): a cluster in which no innovator ever exits is
quasi-separated — the strongest evidence for the claim, where maximum likelihood has no finite estimate — and the
penalised estimate stays finite. Test: the penalised likelihood ratio of the innovation coefficient (χ²(1); Heinze &
Schemper 2002), which remains valid under separation where a Wald test does not (Firth's penalty takes covariates,
so the size control needs no fallback). Supported when the coefficient is negative and p < 5%.

On a survey seen every few years (a census every 5 years) a row of the risk set is the interval since the previous
survey year, not a year: the verdict counts firm-intervals, says that the log-odds and exit rates are per interval
between survey years (with their length), and gives the yearly rates they imply if the hazard is constant within an
interval, 1 − (1 − rate)^(1/length).

Minimum evidence: ≥ ``RULES.min_events`` exits, ≥ ``RULES.min_events`` firm-years of innovators and of
non-innovators at risk, ≥ ``RULES.min_clusters`` firms. On a survivor-only recall survey the claim is skipped: firms
that closed before the interview were never surveyed.
"""

from __future__ import annotations

import numpy as np

from ..estimators.results import Omitted
from ..panel import SurveyPanel
from ._common import analysis_panel, fmt_p, run_hypothesis, with_left_out
from .evidence import RULES, judge_sign, shortfalls
from .phases import date_origin
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "exit", "Exit of non-innovators"
QUESTION = "Do firms that do not innovate exit more?"
RULE = (f"supported if the Firth-logit hazard coefficient of innovating, given lagged firm size, is negative with "
        f"penalised-LR p < "
        f"{RULES.alpha:g}; needs ≥ {RULES.min_events} exits, ≥ {RULES.min_events} firm-years at risk of innovators "
        f"and of non-innovators, ≥ {RULES.min_clusters} firms")
STATEMENT = "firms that innovate are less likely to exit"
#: the size control: log employment in the firm's last operating year before the interval at risk
SIZE = "log_employees"


def innovation_exit(panel: SurveyPanel, *, phases: HypothesisResult | None = None) -> HypothesisResult:
    """``phases``: the phase diagnosis whose quality-improvement years define the risk period (run when not given;
    all observed years when the transition is not dated)."""
    return run_hypothesis(lambda: _run(panel, phases), KEY, TITLE, QUESTION, claims=("exit",))


def _run(panel: SurveyPanel, phases: HypothesisResult | None) -> HypothesisResult:
    from ..estimators.firth import firth_logit
    from ..estimators.hazard import risk_set

    if not panel.design.can_study_exit:
        raise SkipHypothesis(panel.design.explain_exit())
    if len(panel.years) < 2:
        raise SkipHypothesis("a single survey year: exits need at least two")
    p2 = analysis_panel(panel)
    if "any_innovation" not in p2.frame or p2.frame["any_innovation"].notna().sum() == 0:
        raise SkipHypothesis("the survey records no innovation")
    rs = risk_set(p2, duration="log")
    # the duration term named by its clock, so that the model table says what it is
    dur = "log_age" if rs.attrs.get("clock") == "age" else "log_years_observed"
    rs = rs.rename(columns={"log_duration": dur})
    limitations = [*rs.attrs.get("notes", ())]
    if phases is None:
        from .phases import diagnose_phases

        phases = diagnose_phases(panel)
    t2 = phases.extra.get("quality_start")
    period = "all observed years"
    if t2 is not None:
        rs = rs[rs.index.get_level_values("year") >= t2]
        period = f"the quality-improvement years from {t2}{date_origin(phases.extra, 'quality')}"
    elif phases.extra.get("quality_before_observed"):
        period = "all observed years, all in quality improvement (under way from the first year observed)"
    n_missing = int(rs["any_innovation"].isna().sum())
    n_timeless = int((rs["any_innovation"].notna() & ~np.isfinite(rs[dur])).sum())
    rs = rs[rs["any_innovation"].notna() & np.isfinite(rs[dur])]
    if n_missing:
        limitations.append(f"{n_missing} firm-years at risk without innovation data left out")
    # constant size (every firm the same) cannot confound and would be collinear with the intercept
    sized = SIZE in rs and rs[SIZE].nunique() > 1
    n_sizeless = int(rs[SIZE].isna().sum()) if sized else 0
    if sized:
        rs = rs[rs[SIZE].notna()]
        if n_sizeless:
            limitations.append(f"{n_sizeless} firm-years at risk without employment (lagged size) left out")
    else:
        limitations.append("firm size is not controlled: the survey records no employment (or the same for every "
                           "firm), so innovators' lower exit rate may be their size")
    # per decade: keeps the Firth Hessian well scaled next to the other terms
    rs = rs.assign(decade_trend=(rs.index.get_level_values("year") - rs.index.get_level_values("year").min()) / 10.0)
    unit, per, lengths = _exposure_unit(rs)
    if per:
        limitations.append(f"the survey years are {per.split('(')[-1].rstrip(')')} apart: exits are observed per "
                           "interval between survey years, so the hazard, its log-odds and the exit rates are per "
                           "interval, not per year")
    exits = int(rs["exit"].sum())
    inn = int(rs["any_innovation"].sum())
    non = int((1 - rs["any_innovation"]).sum())
    firms = rs.index.get_level_values("firm_id").nunique()
    table = rs.groupby(rs["any_innovation"].map({0.0: "non-innovators", 1.0: "innovators"}))["exit"].agg(
        ["size", "sum", "mean"]).rename(columns={"size": f"{unit} at risk", "sum": "exits", "mean": "exit rate"})
    misses = shortfalls([(exits >= RULES.min_events, f"{exits} exits (needs {RULES.min_events})"),
                         (inn >= RULES.min_events, f"{inn} innovator {unit} at risk (needs {RULES.min_events})"),
                         (non >= RULES.min_events, f"{non} non-innovator {unit} at risk (needs "
                                                   f"{RULES.min_events})"),
                         (firms >= RULES.min_clusters, f"{firms} firms (needs {RULES.min_clusters})")])
    models = {}
    if misses:
        claim = Claim(name="exit", statement=STATEMENT, status="inconclusive", rule=RULE, n=len(rs),
                      n_units=f"{unit} at risk ({exits} exits)",
                      reason="below the minimum evidence: " + "; ".join(misses))
    else:
        rhs = (f"any_innovation{f' + {SIZE}' if sized else ''} + {dur}"
               + (" + decade_trend" if rs["decade_trend"].nunique() > 1 else ""))
        fit = firth_logit(rs, f"exit ~ {rhs}", intervals=False, terms=["any_innovation"])
        # the firm-years at risk set aside above, counted with the model (its covariates are the last operating year's)
        models["Exit hazard (Firth logit)"] = with_left_out(fit, [
            Omitted("missing any_innovation (in the firm's last operating year before)", n_missing),
            Omitted(f"no {dur} (duration undefined)", n_timeless),
            Omitted("missing log_employees (firm size at the start of the interval at risk)", n_sizeless)])
        b, se = float(fit.params["any_innovation"]), float(fit.std_errors["any_innovation"])
        p = float(fit.extra["pl_pvalues"]["any_innovation"])
        status, why = judge_sign(b, se, p, expect=-1)
        rates = table["exit rate"]
        claim = Claim(name="exit", statement=STATEMENT, status=status, rule=RULE,
                      test="discrete-time hazard, Firth-penalised logit, "
                           + ("controlling for lagged log employment (size at the start of the interval at risk)"
                              if sized else "firm size not controlled (no employment recorded, or no variation in it)")
                           + "; penalised likelihood-ratio test (χ²(1))",
                      estimate=b, se=se, pvalue=p, n=int(fit.nobs), n_units=f"{unit} at risk ({exits} exits, "
                      f"{firms} firms)", df=1,
                      reason=f"innovating changes the log-odds of exit{' per interval' if per else ''} by {b:+.3f} "
                             f"({fmt_p(p)}; {_rates_text(rates, unit, per, lengths)}"
                             f"{'' if sized else '; firm size not controlled'}): {why}")
    status = combine_status([claim])
    verdict = f"{status.capitalize()}: over {period}, {claim.reason}."
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, claims=(claim,),
                            models=models, tables={"exits by innovation status": table},
                            limitations=tuple(limitations),
                            assumptions=("innovation is measured before the year of exit (predetermined)",
                                         "exits are observed: repeated rounds or a census"),
                            extra={"period": period})


def _exposure_unit(rs) -> tuple[str, str, tuple[int, ...]]:
    """What one row of the risk set covers: (unit, "" for a year or "per interval between survey years (5 years)",
    the interval lengths). On a survey seen every few years a row is the interval since the previous survey year,
    and its exit probability is per interval, not per year."""
    gaps = (rs.index.get_level_values("year").to_numpy() - rs["spell_start"].to_numpy(dtype=float))
    lengths = tuple(sorted({int(g) for g in gaps[np.isfinite(gaps)]}))
    if not lengths or lengths == (1,):
        return "firm-years", "", lengths
    span = f"{lengths[0]} years" if len(lengths) == 1 else f"{lengths[0]}–{lengths[-1]} years"
    return "firm-intervals", f"per interval between survey years ({span})", lengths


def _rates_text(rates, unit: str, per: str, lengths: tuple[int, ...]) -> str:
    """The exit rates of innovators and non-innovators in the unit of the risk set; per interval of one length, with
    the yearly rate that gives it if the hazard is constant within the interval: 1 − (1 − rate)^(1/length)."""
    inn, non = (float(rates.get(k, float("nan"))) for k in ("innovators", "non-innovators"))
    text = f"exit rate {100 * inn:.1f}% of innovators' {unit} against {100 * non:.1f}% of non-innovators'"
    if not per:
        return text
    text += f", {per}"
    if len(lengths) == 1:
        yearly = [100 * (1 - (1 - r) ** (1 / lengths[0])) for r in (inn, non)]
        text += f"; about {yearly[0]:.1f}% and {yearly[1]:.1f}% a year if the hazard is constant within an interval"
    return text


__all__ = ["innovation_exit"]
