r"""Education-driven innovation (quality improvement): do more educated managers innovate, and more so later?

Default specifications (as in Sonobe, Hu & Otsuka 2004, J. Comp. Econ. 32:542-563, and the case studies of
Sonobe & Otsuka 2006, 2011):

1. Pooled probit, SEs clustered by firm, of ``any_innovation`` (own brand, own retail shop, long-term
   subcontracting or exporting) on manager schooling, schooling × later period, prior occupation, second
   generation, log(1 + firm age), log employment when the firm's employment is first recorded (below) and year
   dummies; average marginal effect (AME) of schooling overall and separately by period.
2. Linear probability model with firm and year fixed effects: the schooling × later-period interaction is what FE
   can identify (schooling itself is time-invariant and absorbed).
3. Correlated random-effects (Mundlak) probit where available, as the short-panel alternative to FE.
4. Each innovation indicator and the count of innovations: schooling AME per indicator.
5. Performance: log sales on innovation and schooling by correlated random effects (schooling is time-invariant,
   so FE cannot estimate it; Mundlak means of the time-varying regressors absorb their correlation with the firm
   effect), and Hausman–Taylor with schooling endogenous when the order condition can be met.

Size fixed before adoption. Managers with more schooling may run larger firms, and larger firms innovate more
whatever their manager's schooling: without a size control the schooling AME picks up size (the independent size audit:
93% false support in a world where only size drives innovation). Every probit therefore controls for
``log_employees_first``, the log employment of the firm in the first year the survey records its employment — its
size at entry for a firm founded in the years observed, fixed before it could adopt. The firm's current employment
would be a bad control (Angrist & Pischke 2009, §3.2.3): innovating raises it, so it would absorb part of the
effect of schooling that runs through innovating. The index of the verdict's probit is thus

.. math::

    P(\text{innovates}_{it} = 1) = \Phi\bigl(\beta\,s_i + \gamma \ln L_{i,f(i)} + x_{it}'\delta + \tau_t\bigr),

with :math:`s_i` the manager's schooling, :math:`L_{i,f(i)}` employment in the firm's first year with employment
recorded, :math:`x_{it}` the controls above and :math:`\tau_t` year effects. A firm whose employment is never
recorded is left out, counted among the probit's omitted rows with that reason; a firm already innovating in that
first year has a size measured after adoption (counted in a limitation). A survey without employment keeps the model
without the size control, and the claim says that size is not controlled.

Claim **schooling** (the verdict): in the later period (the quality-improvement years dated by the phase diagnosis,
else the upper half of the observed years) the probit AME of schooling on innovating is positive at 5% (SEs
clustered by firm, ``vcov="cluster"``). Years in which no firm (or every firm) innovates carry no information once
year effects are in the model and are left out of the probit (and said so). Minimum evidence: ≥
``RULES.min_clusters`` firms, ≥ ``RULES.min_events`` firms that innovate and as many that do not (in some year) in
the later period — innovating is a persistent state, so events are counted in firms, the clusters of the SEs;
a fit with completely determined observations or a zero/undefined standard error is inconclusive. "Schooling
matters more later" is reported from the interaction, not judged.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..estimators.results import Omitted, TestResult
from ..panel import MISSING_WHY, SurveyPanel
from ..schema import INNOVATION_INDICATORS
from ._common import add_wald, analysis_frame, fmt_p, require_columns, run_hypothesis, with_left_out
from .evidence import RULES, judge_sign, shortfalls
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "innovation", "Education-driven innovation (quality improvement)"
QUESTION = "Do managers with more schooling adopt multi-faceted innovations, and does schooling matter more later?"
SCHOOLING = "manager_schooling_years"
SCHOOLING_T = "manager_schooling_years_t"  # the current manager's, when the survey tracks successions
SCH = "schooling"
CRE_MAX_OBS = 5000


MIN_CATEGORY_FIRMS = 10
#: the size control: log employment in the firm's first year with employment recorded (module docstring)
SIZE = "log_employees_first"
#: why a firm-year has no size control (its omission record in the probit)
NO_SIZE = "firm size unknown: employment never recorded (the size control, fixed before adoption)"


def _entry_size(f: pd.DataFrame, limitations: list) -> bool:
    """Add ``SIZE`` to ``f`` (a firm constant): log employment in the firm's first operating year with employment
    recorded. Returns whether the survey records employment at all (else the probit runs without it)."""
    if "log_employees" not in f or f["log_employees"].notna().sum() == 0:
        limitations.append("firm size is not controlled: the survey records no employment, so schooling may stand "
                           "for the size of the firm its manager runs")
        return False
    ok = f["log_employees"].notna()
    if "operating" in f:  # a closure record's employment (if any) is not the size of an operating firm
        ok &= f["operating"] != 0
    rows = f.loc[ok, ["log_employees", "any_innovation"]].sort_index()
    first = rows.groupby(level="firm_id").head(1).droplevel("year")
    f[SIZE] = f.index.get_level_values("firm_id").map(first["log_employees"]).astype("float64")
    # the omission record says why a firm has no size (not "missing log_employees_first", a column the user never
    # made); the frame's other rules are kept
    if f[SIZE].nunique() < 2:  # every firm the same size: no confounding, and collinear with the intercept
        limitations.append("firm size is not controlled: every firm has the same employment when first recorded")
        return False
    f.attrs[MISSING_WHY] = {**f.attrs.get(MISSING_WHY, {}), SIZE: {"why": NO_SIZE}}
    after = int((first["any_innovation"] == 1).sum())
    if after:
        limitations.append(f"{after} firm(s) already innovate in the first year their employment is recorded: their "
                           "size control is measured after adoption (it may absorb some of the effect of schooling)")
    return True


def _controls(f: pd.DataFrame, sized: bool = False) -> list[str]:
    """Prior-occupation dummies (categories with fewer than MIN_CATEGORY_FIRMS firms pooled into "other", since a
    rare category that all innovate separates the probit), a second-generation dummy, log(1 + firm age) and, when
    ``sized``, the firm's size fixed before adoption (``SIZE``)."""
    out = [SIZE] if sized else []
    if "manager_prior_occupation" in f:
        occ = f["manager_prior_occupation"].astype("string")
        firms_per = occ.groupby(level="firm_id").first().value_counts()
        rare = set(firms_per[firms_per < MIN_CATEGORY_FIRMS].index)
        # the manager's, not the founder's: named so that tables label it as such
        f["manager_occupation"] = occ.where(~occ.isin(rare), "other")
        if f["manager_occupation"].nunique() > 1:
            out.append("C(manager_occupation)")
    if "second_generation" in f and f["second_generation"].nunique() > 1:
        out.append("second_generation")
    if "age" in f and f["age"].notna().any() and f["age"].nunique() > 2:
        # innovating is a state reached over time: older firms have had longer to innovate, and their managers
        # (successors) are more schooled, so firm age is a confounder of schooling and the innovation status
        f["log_age"] = np.log1p(f["age"].clip(lower=0))
        out.append("log_age")
    return out


def _year_terms(f: pd.DataFrame) -> list[str]:
    return ["C(year)"] if f.index.get_level_values("year").nunique() > 1 else []


def education_innovation(panel: SurveyPanel, *, split_year: int | None = None, vcov: str = "cluster",
                         detail: bool = True, split_origin: str = "") -> HypothesisResult:
    """Run the education → innovation battery on ``panel`` (see the module docstring). ``detail=False`` fits only
    the models the verdict rests on (pooled and by-period probits), for Monte Carlo work. ``split_origin``: how the
    split year was obtained, printed after it (e.g. ``" (as given: …)"``, :func:`.phases.date_origin`)."""
    return run_hypothesis(lambda: _run(panel, split_year, vcov, detail, split_origin), KEY, TITLE, QUESTION,
                          claims=("schooling",))


RULE = (f"supported if the later-period probit AME of schooling, given firm size before adoption, is positive at "
        f"{RULES.alpha:g} (SEs clustered by firm); needs ≥ {RULES.min_clusters} firms, of which ≥ {RULES.min_events} "
        f"innovate and ≥ {RULES.min_events} do not (in some year); completely determined observations or a zero "
        "standard error make it inconclusive")


#: why the probit leaves out the firm-years of a year without variation in innovating
FLAT_YEAR = "in a year in which no firm or every firm innovates (perfectly predicted by its year effect)"


def _informative_years(f: pd.DataFrame, limitations: list, label: str) -> tuple[pd.DataFrame, int]:
    """Drop years in which innovation does not vary: with year effects they are perfectly predicted. Returns the
    frame and the number of firm-years with an innovation record dropped (firm-years without one stay, so that the
    estimator records why they lack it)."""
    y = f["any_innovation"]
    by = y.groupby(level="year").agg(["min", "max", "count"])
    flat = by[(by["count"] > 0) & (by["min"] == by["max"])].index
    if not len(flat):
        return f, 0
    limitations.append(f"{label}: {len(flat)} year(s) in which no firm (or every firm) innovates left out of the "
                       f"probit (perfectly predicted once year effects are in): {', '.join(map(str, flat))}")
    drop = f.index.get_level_values("year").isin(flat) & y.notna().to_numpy()
    return f[~drop], int(drop.sum())


def _run(panel: SurveyPanel, split_year: int | None, vcov: str, detail: bool = True,
         split_origin: str = "") -> HypothesisResult:
    from ..estimators.binary import probit
    from ..estimators.margins import margins
    from ..estimators.within import within

    f = analysis_frame(panel, split_year)
    require_columns(f, [SCHOOLING, "any_innovation"], "the education-innovation test")
    # the current manager's schooling when successions are tracked (successors are better educated)
    cur = f[SCHOOLING_T] if SCHOOLING_T in f and f[SCHOOLING_T].notna().any() else f[SCHOOLING]
    f = f.assign(schooling=pd.to_numeric(cur, errors="coerce").astype("float64"))
    if f["any_innovation"].nunique() < 2:
        raise SkipHypothesis("no variation in innovation (nobody, or everybody, innovates)")
    split = f.attrs["split_year"]
    # periods as observed where innovation is recorded (a survey may ask about innovation in one year only)
    two_periods = f.loc[f["any_innovation"].notna(), "late"].nunique() == 2
    limitations: list[str] = []
    sized = _entry_size(f, limitations)
    controls = _controls(f, sized)
    rhs = [SCH, *([f"{SCH}:late"] if two_periods else []), *controls, *_year_terms(f)]
    models, tests = {}, {}
    pooled = ame = None
    b = se = p = float("nan")
    if detail or not two_periods:
        pooled = _probit_or_trend(probit, f, rhs[: len(rhs) - len(_year_terms(f))], vcov, limitations, "pooled",
                                  required=True)
        models["Probit: any innovation"] = pooled
        _schooling_kept(pooled, "pooled")
        ame = margins(pooled, dydx=[SCH])
        models["AME: any innovation"] = ame
        b, se, p = float(ame.params[SCH]), float(ame.std_errors[SCH]), float(ame.pvalues[SCH])
        tests["AME of schooling = 0"] = TestResult("z", b / se, p, 1, "normal", "schooling does not affect innovating")
    by_period = {}
    late_fit = None
    if two_periods:
        inter = f"{SCH}:late"
        if pooled is not None and inter in pooled.names:
            add_wald(tests, "schooling x later period = 0", pooled, f"{inter} = 0")
        elif pooled is not None:
            limitations.append("the schooling x later-period term was dropped as collinear: "
                               + "; ".join(why for name, why in pooled.dropped_regressors if name == inter))
        periods = (("early", f[f["late"] == 0]), ("late", f[f["late"] == 1])) if detail else (
            ("late", f[f["late"] == 1]),)
        for label, sub in periods:
            if sub["any_innovation"].nunique() < 2:
                limitations.append(f"no variation in innovation in the {label} period: its AME is not estimated")
                continue
            r = _probit_or_trend(probit, sub, [SCH, *controls], vcov, limitations, label)
            if r is None:
                continue
            if not _schooling_kept(r, label, fatal=label == "late", limitations=limitations):
                continue
            if label == "late":
                late_fit = r
            m = margins(r, dydx=[SCH])
            models[f"AME: any innovation, {label} period"] = m
            by_period[label] = (float(m.params[SCH]), float(m.std_errors[SCH]))
        if detail and f.index.get_level_values("year").nunique() > 1:
            lpm = within(f, f"any_innovation ~ {inter}", effects="twoway", vcov=vcov)
            models["LPM with firm and year FE"] = lpm
    else:
        limitations.append("a single period: whether schooling matters more later cannot be tested")
    per_indicator = _secondary(f, controls, models, limitations, vcov) if detail else []
    late_name = "AME: any innovation, late period"
    use_late = late_name in models
    if not use_late and ame is None:
        claim = Claim(name="schooling", statement="managers with more schooling are more likely to innovate",
                      status="inconclusive", rule=RULE, reason="innovation does not vary in the later period")
        return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status="inconclusive",
                                verdict=f"Inconclusive: {claim.reason}.", claims=(claim,), models=models, tests=tests,
                                limitations=tuple(limitations), extra={"split_year": split})
    ame_model = models[late_name] if use_late else ame
    fit = late_fit if use_late else pooled
    sample = f[f["late"] == 1] if use_late else f
    claim = _schooling_claim(ame_model, fit, sample, split if use_late else None, split_origin, sized)
    status = combine_status([claim])
    verdict = f"{status.capitalize()}: {claim.reason}"
    if use_late and pooled is not None:
        verdict += (f"; over all years {b:+.3f} (s.e. {se:.3f}, {fmt_p(p)}; N = {pooled.nobs}, "
                    f"{pooled.n_entities} firms)")
    if "early" in by_period and "late" in by_period and "schooling x later period = 0" in tests:
        t = tests["schooling x later period = 0"]
        verdict += (f"; AME {by_period['early'][0]:+.3f} before {split} and {by_period['late'][0]:+.3f} from "
                    f"{split} on (interaction {fmt_p(t.pvalue)})")
    verdict += "."
    schooling_by_innov = f.groupby(f["any_innovation"].map({0.0: "non-innovators", 1.0: "innovators"}))[
        SCH].describe()
    return HypothesisResult(
        key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, claims=(claim,), models=models,
        tests=tests,
        tables={"schooling by innovation status": schooling_by_innov,
                "AME of schooling by indicator": pd.DataFrame(per_indicator)},
        figures={"schooling_innovation": f.reset_index()[["year", SCH, "any_innovation", "late"]]},
        assumptions=("schooling of the current top manager is measured without error",
                     "the probit index is linear in schooling; SEs clustered by firm"),
        limitations=tuple(limitations), extra={"split_year": split, "ame": b, "ame_se": se, "by_period": by_period},
    )


def _schooling_kept(fit, label: str, fatal: bool = True, limitations: list | None = None) -> bool:
    """Whether schooling is still in the probit. Schooling that separates innovators from the others (e.g. every
    firm above 16 years innovates, none below) is dropped by ``separation="drop"`` as Stata does: no finite estimate,
    so a degenerate fit — inconclusive (the claim rests on it), or a limitation (a descriptive period)."""
    from ..estimators.errors import SeparationError

    if SCH in fit.names:
        return True
    why = "; ".join(w for n, w in fit.dropped_regressors if n == SCH) or "collinear with the other regressors"
    if fatal:
        raise SeparationError(f"schooling dropped from the {label} probit: {why}")
    if limitations is not None:
        limitations.append(f"{label} period: schooling dropped from the probit ({why}); its AME is not estimated")
    return False


def _schooling_claim(ame, fit, sample: pd.DataFrame, split: int | None, origin: str = "", sized: bool = True) -> Claim:
    b, se, p = float(ame.params[SCH]), float(ame.std_errors[SCH]), float(ame.pvalues[SCH])
    y = sample["any_innovation"].dropna()
    firms = int(fit.n_entities or 0)
    # innovating is a persistent state: the events are counted in firms (the clusters of the SEs), not firm-years —
    # 6 innovating firms observed for 10 years are 6 pieces of evidence, and a clustered SE on them over-rejects
    ever = y.groupby(level="firm_id").max()
    inn, non = int((ever == 1).sum()), int((y.groupby(level="firm_id").min() == 0).sum())
    misses = shortfalls([
        (firms >= RULES.min_clusters, f"{firms} firms (needs {RULES.min_clusters} clusters)"),
        (inn >= RULES.min_events, f"{inn} firms that innovate (needs {RULES.min_events})"),
        (non >= RULES.min_events, f"{non} firms that do not innovate in some year (needs {RULES.min_events})")])
    status, why = judge_sign(b, se, p, expect=+1, misses=misses)
    if status == "supported" and any("completely determined" in n for n in fit.notes):
        status, why = "inconclusive", "some observations are completely determined (quasi-separation): " + next(
            n for n in fit.notes if "completely determined" in n)
    when = f"from {split}{origin} on" if split is not None else "over all years"
    size = ("controlling for log employment in the firm's first year with employment recorded (size before "
            "adoption)" if sized else "firm size not controlled (no employment recorded, or no variation in it)")
    if not sized:
        why += "; firm size is not controlled (no employment or no variation): schooling may stand for size"
    return Claim(name="schooling", statement=f"managers with more schooling are more likely to innovate ({when})",
                 status=status, test=f"probit AME of schooling {when}, {size}, z test, SEs clustered by firm",
                 estimate=b,
                 se=se, pvalue=p, n=int(fit.nobs), n_units=f"firm-years ({firms} firms)",
                 rule=RULE, reason=f"one more year of schooling changes the probability of innovating {when} by "
                                   f"{b:+.3f} (s.e. {se:.3f}, {fmt_p(p)}): {why}")


def _secondary(f: pd.DataFrame, controls: list[str], models: dict, limitations: list, vcov: str) -> list[dict]:
    """CRE probit, one probit per innovation indicator, and the performance regressions."""
    from ..estimators.binary import probit
    from ..estimators.margins import margins

    per_indicator: list[dict] = []
    try:
        from ..estimators.re_probit import cre_probit

        # RE/CRE probit by quadrature is costly on census-sized panels: estimated up to CRE_MAX_OBS firm-years
        if f.index.get_level_values("year").nunique() > 1 and len(f) <= CRE_MAX_OBS:
            # 32 nodes: at 12 and 24 the doubling check moved coefficients by 2% and 0.07% on the garments sample
            with warnings.catch_warnings(record=True) as caught:  # into the report, not the terminal
                warnings.simplefilter("always")
                models["CRE probit"] = cre_probit(f, "any_innovation ~ " + " + ".join([SCH, "late", *controls]),
                                                  points=32)
            for w in caught:
                text = str(w.message)
                if "Quadrature check" in text:  # the user of the battery cannot raise the points: say it, plainly
                    limitations.append("CRE probit (descriptive, not the verdict's model): " + text.split("; raise")[0])
                else:
                    warnings.warn(w.message, w.category, stacklevel=2)
        elif len(f) > CRE_MAX_OBS:
            limitations.append(f"CRE probit skipped: {len(f)} firm-years > {CRE_MAX_OBS} (quadrature cost)")
    except ImportError:
        limitations.append("correlated random-effects probit not available in this installation")
    except Exception as e:  # noqa: BLE001 - a secondary model must not stop the hypothesis
        limitations.append(f"CRE probit not estimated: {e}")
    for ind in [c for c in INNOVATION_INDICATORS if c in f.columns]:
        y = f[ind].astype("float64")
        if y.nunique() < 2:
            continue
        try:
            r = probit(f.assign(**{ind: y}), f"{ind} ~ " + " + ".join([SCH, *controls, *_year_terms(f)]),
                       vcov=vcov, separation="drop")
            m = margins(r, dydx=[SCH])
            per_indicator.append({"indicator": ind, "ame": float(m.params[SCH]),
                                  "se": float(m.std_errors[SCH]), "p": float(m.pvalues[SCH]),
                                  "share": float(y.mean())})
        except Exception as e:  # noqa: BLE001
            limitations.append(f"{ind}: {e}")
    _performance(f, models, limitations, vcov)
    return per_indicator


def _probit_or_trend(probit, f: pd.DataFrame, rhs: list[str], vcov: str, limitations: list, label: str,
                     required: bool = False):
    """Probit with year dummies; if some years are perfectly predicted (all firms innovate or none do), fall back
    to a linear year trend and say so."""
    from ..estimators.binary import SeparationError

    # the firm-years without an innovation record (closure records among them) go to the estimator, which counts
    # them by cause
    f, n_flat = _informative_years(f, limitations, label)
    if f["any_innovation"].nunique() < 2:
        limitations.append(f"{label} probit not estimated: innovation does not vary")
        if required:
            raise SkipHypothesis("no variation in innovation in the years with innovation data")
        return None
    recorded = f.index.get_level_values("year")[f["any_innovation"].notna().to_numpy()]
    years = _year_terms(f.loc[f["any_innovation"].notna()])
    try:
        fit = probit(f, "any_innovation ~ " + " + ".join([*rhs, *years]), vcov=vcov, separation="drop")
    except SeparationError as e:
        if not years:
            if required:
                raise
            limitations.append(f"{label} probit not estimated: {e}")
            return None
        limitations.append(f"{label} probit: year dummies perfectly predict some years ({e}); a linear year trend "
                           "is used instead")
        g = f.assign(year_trend=f.index.get_level_values("year") - recorded.min())
        fit = probit(g, "any_innovation ~ " + " + ".join([*rhs, "year_trend"]), vcov=vcov, separation="drop")
    return with_left_out(fit, [Omitted(FLAT_YEAR, n_flat)])


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
