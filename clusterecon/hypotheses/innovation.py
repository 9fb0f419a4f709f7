r"""Education-driven innovation (quality improvement): do more educated managers innovate, and more so later?

Default specifications (``shared/research/literature.md`` §1C, hypotheses C1–C5; Sonobe, Hu & Otsuka 2004):

1. Pooled probit, SEs clustered by firm, of ``any_innovation`` (own brand, own retail shop, long-term
   subcontracting or exporting) on manager schooling, schooling × later period, prior occupation, second
   generation and year dummies; average marginal effect (AME) of schooling overall and separately by period.
2. Linear probability model with firm and year fixed effects: the schooling × later-period interaction is what FE
   can identify (schooling itself is time-invariant and absorbed).
3. Correlated random-effects (Mundlak) probit where available, as the short-panel alternative to FE.
4. Each innovation indicator and the count of innovations: schooling AME per indicator.
5. Performance: log sales on innovation and schooling by correlated random effects (schooling is time-invariant,
   so FE cannot estimate it; Mundlak means of the time-varying regressors absorb their correlation with the firm
   effect), and Hausman–Taylor with schooling endogenous when the order condition can be met.

Verdict: supported when the AME of schooling on innovating is positive at 5%; "schooling matters more later" is
reported from the interaction.
"""

from __future__ import annotations

import pandas as pd

from ..estimators.results import TestResult
from ..panel import SurveyPanel
from ..schema import INNOVATION_INDICATORS
from ._common import analysis_frame, fmt_p, require_columns, run_hypothesis
from .result import HypothesisResult, SkipHypothesis

KEY, TITLE = "innovation", "Education-driven innovation (quality improvement)"
QUESTION = "Do managers with more schooling adopt multi-faceted innovations, and does schooling matter more later?"
SCHOOLING = "manager_schooling_years"


def _controls(f: pd.DataFrame) -> list[str]:
    out = []
    if "manager_prior_occupation" in f and f["manager_prior_occupation"].nunique() > 1:
        out.append("C(manager_prior_occupation)")
    if "second_generation" in f and f["second_generation"].nunique() > 1:
        out.append("second_generation")
    return out


def _year_terms(f: pd.DataFrame) -> list[str]:
    return ["C(year)"] if f.index.get_level_values("year").nunique() > 1 else []


def education_innovation(panel: SurveyPanel, *, split_year: int | None = None, vcov: str = "cluster",
                         ) -> HypothesisResult:
    """Run the education → innovation battery on ``panel`` (see the module docstring)."""
    return run_hypothesis(lambda: _run(panel, split_year, vcov), KEY, TITLE, QUESTION)


def _run(panel: SurveyPanel, split_year: int | None, vcov: str) -> HypothesisResult:
    from ..estimators.binary import probit
    from ..estimators.margins import margins
    from ..estimators.within import within

    f = analysis_frame(panel, split_year)
    require_columns(f, [SCHOOLING, "any_innovation"], "the education-innovation test")
    if f["any_innovation"].nunique() < 2:
        raise SkipHypothesis("no variation in innovation (nobody, or everybody, innovates)")
    split = f.attrs["split_year"]
    two_periods = f["late"].nunique() == 2
    controls = _controls(f)
    rhs = [SCHOOLING, *([f"{SCHOOLING}:late"] if two_periods else []), *controls, *_year_terms(f)]
    models, tests, limitations = {}, {}, []
    pooled = probit(f, "any_innovation ~ " + " + ".join(rhs), vcov=vcov)
    models["Probit: any innovation"] = pooled
    ame = margins(pooled, dydx=[SCHOOLING])
    models["AME: any innovation"] = ame
    b, se, p = float(ame.params[SCHOOLING]), float(ame.std_errors[SCHOOLING]), float(ame.pvalues[SCHOOLING])
    tests["AME of schooling = 0"] = TestResult("z", b / se, p, 1, "normal", "schooling does not affect innovating")
    by_period = {}
    if two_periods:
        inter = f"{SCHOOLING}:late"
        tests["schooling x later period = 0"] = pooled.wald_test(f"{inter} = 0")
        for label, sub in (("early", f[f["late"] == 0]), ("late", f[f["late"] == 1])):
            if sub["any_innovation"].nunique() < 2:
                limitations.append(f"no variation in innovation in the {label} period: its AME is not estimated")
                continue
            r = probit(sub, "any_innovation ~ " + " + ".join([SCHOOLING, *controls, *_year_terms(sub)]), vcov=vcov)
            m = margins(r, dydx=[SCHOOLING])
            models[f"AME: any innovation, {label} period"] = m
            by_period[label] = (float(m.params[SCHOOLING]), float(m.std_errors[SCHOOLING]))
        if f.index.get_level_values("year").nunique() > 1:
            lpm = within(f, f"any_innovation ~ {inter}", effects="twoway", vcov=vcov)
            models["LPM with firm and year FE"] = lpm
    else:
        limitations.append("a single period: whether schooling matters more later cannot be tested")
    try:
        from ..estimators.re_probit import cre_probit

        if f.index.get_level_values("year").nunique() > 1:
            models["CRE probit"] = cre_probit(f, "any_innovation ~ " + " + ".join([SCHOOLING, *controls,
                                                                                   *_year_terms(f)]))
    except ImportError:
        limitations.append("correlated random-effects probit not available in this installation")
    except Exception as e:  # noqa: BLE001 - a secondary model must not stop the hypothesis
        limitations.append(f"CRE probit not estimated: {e}")
    per_indicator = []
    for ind in [c for c in INNOVATION_INDICATORS if c in f.columns]:
        y = f[ind].astype("float64")
        if y.nunique() < 2:
            continue
        try:
            r = probit(f.assign(**{ind: y}), f"{ind} ~ " + " + ".join([SCHOOLING, *controls, *_year_terms(f)]),
                       vcov=vcov)
            m = margins(r, dydx=[SCHOOLING])
            per_indicator.append({"indicator": ind, "ame": float(m.params[SCHOOLING]),
                                  "se": float(m.std_errors[SCHOOLING]), "p": float(m.pvalues[SCHOOLING]),
                                  "share": float(y.mean())})
        except Exception as e:  # noqa: BLE001
            limitations.append(f"{ind}: {e}")
    _performance(f, models, limitations, vcov)
    supported = b > 0 and p < 0.05
    verdict = (f"{'Supported' if supported else 'Not supported'}: one more year of manager schooling changes the "
               f"probability of innovating by {b:+.3f} (s.e. {se:.3f}, {fmt_p(p)}; pooled probit AME, N = "
               f"{pooled.nobs}, {pooled.n_entities} firms)")
    if "early" in by_period and "late" in by_period:
        t = tests["schooling x later period = 0"]
        verdict += (f"; AME {by_period['early'][0]:+.3f} before {split} and {by_period['late'][0]:+.3f} from "
                    f"{split} on (interaction {fmt_p(t.pvalue)})")
    verdict += "."
    schooling_by_innov = f.groupby(f["any_innovation"].map({0.0: "non-innovators", 1.0: "innovators"}))[
        SCHOOLING].describe()
    return HypothesisResult(
        key=KEY, title=TITLE, question=QUESTION, status="supported" if supported else "not supported",
        verdict=verdict, models=models, tests=tests,
        tables={"schooling by innovation status": schooling_by_innov,
                "AME of schooling by indicator": pd.DataFrame(per_indicator)},
        figures={"schooling_innovation": f.reset_index()[["year", SCHOOLING, "any_innovation", "late"]]},
        assumptions=("schooling of the current top manager is measured without error",
                     "the probit index is linear in schooling; SEs clustered by firm"),
        limitations=tuple(limitations), extra={"split_year": split, "ame": b, "ame_se": se, "by_period": by_period},
    )


def _performance(f: pd.DataFrame, models: dict, limitations: list, vcov: str) -> None:
    """Performance on schooling (time-invariant): CRE, and Hausman–Taylor when identified."""
    from ..estimators.cre import correlated_re
    from ..estimators.hausman_taylor import hausman_taylor

    if "log_sales" not in f or f["log_sales"].notna().sum() == 0 or f.index.get_level_values("year").nunique() < 2:
        limitations.append("performance on schooling needs log sales in at least two years")
        return
    rhs = ["any_innovation", SCHOOLING, *_year_terms(f)]
    try:
        models["Log sales: CRE (Mundlak)"] = correlated_re(f, "log_sales ~ " + " + ".join(rhs), vcov=vcov)
    except Exception as e:  # noqa: BLE001
        limitations.append(f"CRE performance regression not estimated: {e}")
    if "age" in f and f["age"].notna().any():
        try:
            models["Log sales: Hausman-Taylor"] = hausman_taylor(
                f, "log_sales ~ any_innovation + age + " + SCHOOLING, endog_varying=["any_innovation"],
                endog_invariant=[SCHOOLING])
        except Exception as e:  # noqa: BLE001
            limitations.append(f"Hausman-Taylor performance regression not estimated: {e}")
