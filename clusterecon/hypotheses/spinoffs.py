r"""Spin-off imitation (quantity expansion): entry during quantity expansion is dominated by spin-offs from
incumbents, who imitate (Sonobe, Akoten & Otsuka 2009; Sonobe & Otsuka 2006, ch. 2).

Both claims use the phases dated by the phase diagnosis (entry before the take-off = initiation; from the take-off
to the quality transition = quantity expansion), never one trend over all founding years:

* **entry** (primary): the spin-off share among quantity-expansion entrants exceeds that among initiation entrants
  (the pioneers) — Fisher's exact test, one-sided. Needs a dated take-off, ≥ ``RULES.min_pioneers`` initiation
  entrants and ≥ ``RULES.min_entrants`` expansion entrants.
* **imitation** (secondary): at their first observation (within 3 years of founding), spin-offs' log output price
  equals other entrants' in the same year within ±``RULES.imitation_margin`` — two one-sided tests on the
  spin-off coefficient of a pooled OLS with year dummies, heteroskedasticity-robust (HC1) SEs. Needs ≥
  ``RULES.min_group`` spin-offs and others; a zero standard error (every entrant at the same market price) is a
  degenerate fit, never evidence.

Reported besides: spin-off share and entry rate by founding year, the share trend within the pre-quality years
(LPM, HC1), and where parents are in the sample a Wilcoxon signed-rank test that spin-offs' prices are closer to
their parent's than to a random incumbent's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.results import Omitted, TestResult
from ..panel import SurveyPanel
from ._common import add_wald, analysis_frame, fmt_p, run_hypothesis, with_left_out
from .evidence import RULES, judge_equivalent, judge_share_gap, shortfalls
from .phases import span_origin
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "spinoffs", "Spin-off imitation (quantity expansion)"
QUESTION = "Is entry in quantity expansion dominated by spin-offs, and do they imitate incumbents' products?"
ENTRY_WINDOW = 3
ENTRY_RULE = (f"supported if the spin-off share of quantity-expansion entrants exceeds that of initiation entrants "
              f"(Fisher exact, one-sided, p < {RULES.alpha:g}); needs a dated take-off, ≥ {RULES.min_pioneers} "
              f"initiation and ≥ {RULES.min_entrants} expansion entrants")
IMIT_RULE = (f"supported if the spin-off log-price gap at entry lies within ±{RULES.imitation_margin:g} (two one-sided "
             f"tests at {RULES.alpha:g}); not supported if significant and at least the margin; needs ≥ "
             f"{RULES.min_group} spin-offs and other entrants observed within {ENTRY_WINDOW} years of founding")


def spinoff_imitation(panel: SurveyPanel, *, phases: HypothesisResult | None = None, seed: int = 0,
                      ) -> HypothesisResult:
    """``phases``: the phase diagnosis whose dates define initiation and quantity expansion (run when not given)."""
    return run_hypothesis(lambda: _run(panel, phases, seed), KEY, TITLE, QUESTION, claims=("entry", "imitation"))


def _entry_claim(d: pd.DataFrame, t1: int | None, t2: int | None, tests: dict, origin: str = "") -> Claim:
    """``origin``: how the phase dates were obtained (:func:`.phases.date_origin`), printed after the span."""
    statement = "spin-offs are a larger share of entrants in quantity expansion than in initiation"
    if t1 is None:
        return Claim(name="entry", statement=statement, status="inconclusive", rule=ENTRY_RULE,
                     reason="the entry take-off is not dated, so initiation and quantity-expansion entrants cannot be "
                            "told apart")
    fy = d["founding_year"]
    init = d.loc[fy < t1, "is_spinoff"]
    exp_ = d.loc[(fy >= t1) & (fy < (t2 if t2 is not None else 10**6)), "is_spinoff"]
    a, b, c, n = int(exp_.sum()), len(exp_), int(init.sum()), len(init)
    misses = shortfalls([(n >= RULES.min_pioneers, f"{n} initiation entrants (needs {RULES.min_pioneers})"),
                         (b >= RULES.min_entrants, f"{b} quantity-expansion entrants (needs {RULES.min_entrants})")])
    status, judged, (diff, se, p) = judge_share_gap(a, b, c, n, trait="are spin-offs", misses=misses)
    if b and n:
        tests["spin-off share, expansion > initiation entrants"] = TestResult(
            "Fisher exact", diff, p, 1, "exact", "spin-off share of expansion entrants <= initiation entrants")
    span = (f"{t1}–{t2 - 1}" if t2 is not None else f"{t1} on") + origin
    nums = dict(test="Fisher exact test, one-sided: spin-off share, expansion vs initiation entrants (s.e. under "
                "equal shares)", estimate=diff, se=se, pvalue=p, n=b + n,
                n_units=f"entrants ({n} in initiation, {b} in expansion {span})", rule=ENTRY_RULE)
    if misses:
        return Claim(name="entry", statement=statement, status="inconclusive", reason=judged, **nums)
    why = (f"{a} of {b} expansion entrants ({100 * a / b:.0f}%) against {c} of {n} initiation entrants "
           f"({100 * c / n:.0f}%) are spin-offs ({fmt_p(p)}; expansion {span})")
    return Claim(name="entry", statement=statement, status=status,
                 reason=why + (f": {judged}" if status == "inconclusive" else ""), **nums)


def _imitation_claim(f: pd.DataFrame, models: dict) -> Claim:
    from ..estimators.pooled import pooled_ols

    statement = f"spin-offs' output price at entry equals other entrants' (within ±{RULES.imitation_margin:g} log)"
    first = f.reset_index().sort_values("year").groupby("firm_id", observed=True).head(1)
    first = first[(first["year"] - first["founding_year"]).between(0, ENTRY_WINDOW)]
    # entrants without a price or spin-off status stay in: the regression counts them by cause
    first = first.set_index(["firm_id", "year"]).assign(
        is_spinoff=lambda d: d["is_spinoff"].astype("boolean").astype("float64"))
    first.attrs = dict(f.attrs)
    seen = first.loc[first[["log_price", "is_spinoff"]].notna().all(axis=1)]
    k, m = int(seen["is_spinoff"].sum()), int((1 - seen["is_spinoff"]).sum())
    misses = shortfalls([(k >= RULES.min_group, f"{k} spin-offs observed at entry (needs {RULES.min_group})"),
                         (m >= RULES.min_group, f"{m} other entrants observed at entry (needs {RULES.min_group})")])
    if misses:
        return Claim(name="imitation", statement=statement, status="inconclusive", rule=IMIT_RULE, primary=False,
                     n=k + m, n_units="entrants", reason="below the minimum evidence: " + "; ".join(misses))
    rhs = "is_spinoff" + (" + C(year)" if seen.index.get_level_values("year").nunique() > 1 else "")
    try:
        r = pooled_ols(first, f"log_price ~ {rhs}", vcov="robust")
    except np.linalg.LinAlgError as e:  # e.g. a year with one entrant: HC1 leverage 1, a singular variance
        return Claim(name="imitation", statement=statement, status="inconclusive", rule=IMIT_RULE, primary=False,
                     n=k + m, n_units="entrants", reason=f"degenerate fit (singular variance: {e})")
    models["Log price at entry: spin-offs vs other entrants"] = r
    b, se = float(r.params["is_spinoff"]), float(r.std_errors["is_spinoff"])
    df = float(r.df_resid) if r.df_resid is not None else None
    status, why, p_tost = judge_equivalent(b, se, df, margin=RULES.imitation_margin)
    return Claim(name="imitation", statement=statement, status=status, primary=False,
                 test="two one-sided tests on the spin-off coefficient (pooled OLS, year dummies, HC1 SEs)",
                 estimate=b, se=se, pvalue=p_tost, n=r.nobs, n_units="entrants at their first observation", df=df,
                 rule=IMIT_RULE, reason=why)


def _phase_dates(panel: SurveyPanel, phases: HypothesisResult | None) -> tuple[int | None, int | None, str]:
    """(start of expansion, start of quality improvement, how they were obtained: "" when both were estimated)."""
    if phases is None:
        from .phases import diagnose_phases

        phases = diagnose_phases(panel)
    ph = phases.extra
    t1 = ph.get("expansion_start") if ph.get("expansion_detected") else None
    t2 = ph.get("quality_start")
    return t1, t2, span_origin(ph, start=t1 is not None, end=t2 is not None)


def _run(panel: SurveyPanel, phases: HypothesisResult | None, seed: int) -> HypothesisResult:
    firms = panel.firms
    if "is_spinoff" not in firms or firms["is_spinoff"].notna().sum() == 0:
        raise SkipHypothesis("the survey has no spin-off information (is_spinoff)")
    if "founding_year" not in firms or firms["founding_year"].notna().sum() == 0:
        raise SkipHypothesis("the survey has no founding years")
    d = firms[["is_spinoff", "founding_year"]].dropna().astype({"founding_year": int})
    d["is_spinoff"] = d["is_spinoff"].astype(float)
    t1, t2, origin = _phase_dates(panel, phases)
    models, tests, limitations = {}, {}, []
    by_year = d.groupby("founding_year").agg(entrants=("is_spinoff", "size"), spinoff_share=("is_spinoff", "mean"))
    by_year["entry_rate"] = by_year["entrants"] / by_year["entrants"].cumsum().shift(1)
    claims = [_entry_claim(d, t1, t2, tests, origin)]
    _share_trend(d, t2, models, tests, firms)
    f = analysis_frame(panel)
    if "log_price" in f and "founding_year" in f:
        claims.append(_imitation_claim(f, models))
    else:
        claims.append(Claim(name="imitation", statement="spin-offs' output price at entry equals other entrants'",
                            status="skipped", primary=False, reason="the survey has no output prices"))
    parent_test = _parent_similarity(f, firms, seed)
    if parent_test is not None:
        tests["spin-off closer to parent than to a random incumbent"] = parent_test
    else:
        limitations.append("parents of spin-offs are not in the sample (or prices missing): parent similarity not "
                           "tested")
    if not panel.design.can_study_exit:
        limitations.append("survivor-only sample: entrants who exited before the interview are missing, so the "
                           "spin-off shares are among surviving entrants")
    status = combine_status(claims)
    share = float(d["is_spinoff"].mean())
    verdict = (f"{status.capitalize()}: {100 * share:.0f}% of firms are spin-offs; "
               + "; ".join(f"{c.name} [{c.status}]: {c.reason}" for c in claims) + ".")
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict,
                            claims=tuple(claims), models=models, tests=tests,
                            tables={"entry by founding year": by_year}, figures={"entry": by_year},
                            limitations=tuple(limitations),
                            assumptions=("imitation shows up as equal output prices of spin-offs and other entrants "
                                         "at entry",),
                            extra={"spinoff_share": share, "expansion": (t1, t2)})


def _share_trend(d: pd.DataFrame, t2: int | None, models: dict, tests: dict, firms: pd.DataFrame) -> None:
    """Descriptive: the spin-off share trend over founding years before the quality transition (LPM, HC1); the
    ``firms`` without a founding year, or founded then without a spin-off status, are counted as left out."""
    from ..estimators.pooled import pooled_ols

    pre = d[d["founding_year"] < t2] if t2 is not None else d
    if pre["founding_year"].nunique() < 3 or pre["is_spinoff"].nunique() < 2:
        return
    frame = pre.assign(entry_year=pre["founding_year"] - pre["founding_year"].min()).reset_index()
    r = pooled_ols(frame.set_index(["firm_id", "founding_year"]), "is_spinoff ~ entry_year", vcov="robust")
    fy = pd.to_numeric(firms["founding_year"], errors="coerce")
    span = fy < t2 if t2 is not None else fy.notna()
    r = with_left_out(r, [Omitted("missing founding_year", int(fy.isna().sum())),
                          Omitted("missing is_spinoff", int((span & firms["is_spinoff"].isna()).sum()))])
    models["Spin-off share trend before the quality transition (LPM)"] = r
    add_wald(tests, "spin-off share trend = 0 (before the quality transition)", r, "entry_year = 0")


def _parent_similarity(f: pd.DataFrame, firms: pd.DataFrame, seed: int) -> TestResult | None:
    """Wilcoxon signed-rank test: |log price(spin-off) − log price(parent)| < |… − random incumbent| in the
    spin-off's first observed year."""
    if "spinoff_parent_id" not in firms or "log_price" not in f:
        return None
    price = f["log_price"].dropna()
    if price.empty:
        return None
    # (vectorised: census-sized panels have thousands of spin-offs)
    pr = price.rename("p").reset_index()
    pr["firm_id"] = pr["firm_id"].astype(str)
    first = pr.sort_values("year").groupby("firm_id", as_index=False).first()
    parents = firms["spinoff_parent_id"].dropna().astype(str).rename("parent").reset_index()
    parents["firm_id"] = parents["firm_id"].astype(str)
    pairs = first.merge(parents, on="firm_id").merge(
        pr.rename(columns={"firm_id": "parent", "p": "p_parent"}), on=["parent", "year"])
    if pairs.empty:
        return None
    rng = np.random.default_rng(seed)
    by_year = {y: g.to_numpy() for y, g in pr.groupby("year")["p"]}
    ids_by_year = {y: g.to_numpy() for y, g in pr.groupby("year")["firm_id"]}
    d_parent, d_random = [], []
    for fid, parent, y, p0, pp in pairs[["firm_id", "parent", "year", "p", "p_parent"]].itertuples(index=False):
        ok = (ids_by_year[y] != fid) & (ids_by_year[y] != parent)
        if not ok.any():
            continue
        d_parent.append(abs(p0 - pp))
        d_random.append(abs(p0 - rng.choice(by_year[y][ok])))
    if len(d_parent) < 10 or np.allclose(np.subtract(d_parent, d_random), 0):
        return None
    stat, p = stats.wilcoxon(d_parent, d_random, alternative="less")
    return TestResult("Wilcoxon signed-rank", float(stat), float(p), len(d_parent), "exact",
                      "spin-offs are no closer to their parent's price than to a random incumbent's",
                      f"{len(d_parent)} spin-off/parent pairs")
