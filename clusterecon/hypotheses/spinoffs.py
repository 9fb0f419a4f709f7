r"""Spin-off imitation (quantity expansion): entry during quantity expansion is dominated by spin-offs from
incumbents, who imitate (Sonobe, Akoten & Otsuka 2009; Sonobe & Otsuka 2006, ch. 2).

Both claims use the phases dated by the phase diagnosis (entry before the take-off = initiation; from the take-off
to the quality transition = quantity expansion), never one trend over all founding years:

* **entry** (primary): the spin-off share among quantity-expansion entrants exceeds that among initiation entrants
  (the pioneers) — Fisher's exact test, one-sided. Needs a dated take-off, ≥ ``RULES.min_pioneers`` initiation
  entrants and ≥ ``RULES.min_entrants`` expansion entrants.
* **imitation** (secondary): spin-offs imitate their parents' products — both of
  (a) at their first observation (within 3 years of founding), spin-offs' log output price equals other entrants'
  in the same year within ±``RULES.imitation_margin``: two one-sided tests on the spin-off coefficient of a pooled
  OLS with year dummies, heteroskedasticity-robust (HC1) SEs; needs ≥ ``RULES.min_group`` spin-offs and others; a
  zero standard error (every entrant at the same market price) is a degenerate fit, never evidence;
  (b) in that year a spin-off's price is closer to its own parent's than to other incumbents' (rank test below);
  needs ≥ ``RULES.min_group`` spin-offs whose parent is priced in their entry year.
  (a) alone is what spin-offs that price independently of their parents also show whenever their mean price is the
  market's (independent size audit: 100% false support with a mean gap of 0 and no parent link); (b) is the
  imitation of the parent. The claim is an intersection–union test (Berger 1982): supported when both pass, its
  p-value the larger of the two; not supported when either is decided against it; skipped when the survey records
  no parents (``spinoff_parent_id``), inconclusive when too few parents are priced.

**Parent closeness** (b). For spin-off i first priced in year y (within 3 years of founding), the candidates are the
firms priced in y that were founded before it (its possible parents), its parent among them; with
:math:`d_c = |p_i - p_c|` the log-price distance to candidate c and :math:`r_c` the mid-rank of :math:`d_c` among
the :math:`m_i` candidates, the parent's closeness percentile is :math:`u_i = (r_{parent} - 1)/(m_i - 1)` (0: the
closest, 1: the farthest). If a spin-off's price owes nothing to its parent, the parent is placed among the
candidates as a random one: :math:`E[u_i] = 1/2` and :math:`Var[u_i] = v_i = m_i^{-1}\sum_c (u_c - 1/2)^2`
(ties included: the permutation distribution). With k pairs, :math:`z = (\sum_i u_i - k/2)/\sqrt{\sum_i v_i}`,
one-sided p = Φ(z) (normal approximation to a stratified permutation test, as for van Elteren's 1960 stratified
rank-sum statistic). Reported: the mean percentile :math:`\bar u` (0.5: no closer than a random incumbent) and its
s.e. :math:`\sqrt{\sum_i v_i}/k`. All prices tied (s.e. 0) is degenerate. It assumes parents are chosen without
regard to how their price relates to the spin-off's: if spin-offs came only from, say, low-price incumbents and
entrants priced low for other reasons, a parent would look close without imitation.

Reported besides: spin-off share and entry rate by founding year and the share trend within the pre-quality years
(LPM, HC1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.results import Omitted, TestResult
from ..panel import SurveyPanel
from ._common import add_wald, analysis_frame, fmt_p, run_hypothesis, with_left_out
from .evidence import RULES, degenerate, judge_equivalent, judge_share_gap, shortfalls
from .phases import span_origin
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "spinoffs", "Spin-off imitation (quantity expansion)"
QUESTION = "Is entry in quantity expansion dominated by spin-offs, and do they imitate incumbents' products?"
ENTRY_WINDOW = 3
ENTRY_RULE = (f"supported if the spin-off share of quantity-expansion entrants exceeds that of initiation entrants "
              f"(Fisher exact, one-sided, p < {RULES.alpha:g}); needs a dated take-off, ≥ {RULES.min_pioneers} "
              f"initiation and ≥ {RULES.min_entrants} expansion entrants")
IMIT_RULE = (f"supported if both: the spin-off log-price gap at entry lies within ±{RULES.imitation_margin:g} (two "
             f"one-sided tests at {RULES.alpha:g}; needs ≥ {RULES.min_group} spin-offs and other entrants observed "
             f"within {ENTRY_WINDOW} years of founding) and spin-offs' prices are closer to their own parent's than "
             f"to other incumbents' (rank test, one-sided, p < {RULES.alpha:g}; needs ≥ {RULES.min_group} spin-offs "
             f"with their parent priced in their entry year); not supported if either is decided against it (a gap "
             f"significant and at least the margin, or parents no closer than other incumbents); skipped when the "
             f"survey records no parents")
IMIT_STATEMENT = (f"spin-offs imitate their parents: at entry their output price equals other entrants' (within "
                  f"±{RULES.imitation_margin:g} log) and is closer to their own parent's than to other incumbents'")


def spinoff_imitation(panel: SurveyPanel, *, phases: HypothesisResult | None = None) -> HypothesisResult:
    """``phases``: the phase diagnosis whose dates define initiation and quantity expansion (run when not given).
    Nothing is random: the parent test ranks the parent among all incumbents instead of drawing one."""
    return run_hypothesis(lambda: _run(panel, phases), KEY, TITLE, QUESTION, claims=("entry", "imitation"))


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


def _gap(f: pd.DataFrame, models: dict) -> tuple[str, str, dict]:
    """Part (a) of the imitation claim, the mean log-price gap at entry (module docstring): (status, reason, the
    claim's numbers)."""
    from ..estimators.pooled import pooled_ols

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
        return "inconclusive", "below the minimum evidence: " + "; ".join(misses), dict(n=k + m, n_units="entrants")
    rhs = "is_spinoff" + (" + C(year)" if seen.index.get_level_values("year").nunique() > 1 else "")
    try:
        r = pooled_ols(first, f"log_price ~ {rhs}", vcov="robust")
    except np.linalg.LinAlgError as e:  # e.g. a year with one entrant: HC1 leverage 1, a singular variance
        return "inconclusive", f"degenerate fit (singular variance: {e})", dict(n=k + m, n_units="entrants")
    models["Log price at entry: spin-offs vs other entrants"] = r
    b, se = float(r.params["is_spinoff"]), float(r.std_errors["is_spinoff"])
    df = float(r.df_resid) if r.df_resid is not None else None
    status, why, p_tost = judge_equivalent(b, se, df, margin=RULES.imitation_margin)
    return status, why, dict(estimate=b, se=se, pvalue=p_tost, n=r.nobs,
                             n_units="entrants at their first observation", df=df)


def _parent_status(pc: ParentCloseness | None) -> tuple[str, str]:
    """Part (b) of the imitation claim, the parent closeness (module docstring): (status, reason)."""
    if pc is None:
        return "skipped", ("the survey does not record spin-offs' parents (spinoff_parent_id), so imitation of the "
                           "parent cannot be tested")
    if pc.pairs < RULES.min_group:
        return "inconclusive", (f"below the minimum evidence: {pc.pairs} spin-off(s) with their parent priced in "
                                f"their entry year (needs {RULES.min_group}; parents that closed or were not "
                                "sampled leave no price to compare)")
    bad = degenerate(pc.mean - 0.5, pc.se)
    if bad:
        return "inconclusive", f"parent closeness: {bad}"
    what = (f"the parent's price ranks at percentile {100 * pc.mean:.0f} of closeness among the incumbents "
            f"(50: no closer than a random one; {pc.pairs} spin-offs, {fmt_p(pc.pvalue)})")
    if pc.mean < 0.5 and pc.pvalue < RULES.alpha:
        return "supported", f"closer to their own parent's price than to other incumbents': {what}"
    return "not supported", f"no closer to their own parent's price than to other incumbents': {what}"


def _imitation_claim(f: pd.DataFrame, models: dict, pc: ParentCloseness | None) -> Claim:
    """Both parts must pass (intersection–union, module docstring); either decided against it decides the claim."""
    g, g_why, nums = _gap(f, models)
    q, q_why = _parent_status(pc)
    if g == "not supported" or q == "not supported":
        status = "not supported"
    elif g == q == "supported":
        status = "supported"
    else:  # undecided: the design's missing parents first (skipped), else too little evidence
        status = "skipped" if q == "skipped" else "inconclusive"
    test = ("two one-sided tests on the spin-off coefficient (pooled OLS, year dummies, HC1 SEs) and a rank test of "
            "spin-offs' closeness to their parent's price; estimate and s.e.: the mean log-price gap; p: the larger "
            "of the two tests' (intersection–union)")
    q_decided = pc is not None and q in ("supported", "not supported")
    if "estimate" in nums and q_decided:
        # the intersection–union p-value: the claim is rejected at α only if both parts are
        nums["pvalue"] = max(nums["pvalue"], pc.pvalue)
    elif q_decided:  # decided by the parent part alone: its numbers are the ones the verdict rests on
        test = ("rank test of spin-offs' closeness to their parent's price among the possible parents (the mean gap "
                "could not be judged); estimate: the parent's mean closeness percentile (0.5: a random incumbent)")
        nums = dict(estimate=pc.mean, se=pc.se, pvalue=pc.pvalue, n=pc.pairs,
                    n_units="spin-offs with their parent priced in their entry year")
    return Claim(name="imitation", statement=IMIT_STATEMENT, status=status, primary=False, test=test, rule=IMIT_RULE,
                 reason=f"mean price gap: {g_why}; parent: {q_why}", **nums)


def _phase_dates(panel: SurveyPanel, phases: HypothesisResult | None) -> tuple[int | None, int | None, str]:
    """(start of expansion, start of quality improvement, how they were obtained: "" when both were estimated)."""
    if phases is None:
        from .phases import diagnose_phases

        phases = diagnose_phases(panel)
    ph = phases.extra
    t1 = ph.get("expansion_start") if ph.get("expansion_detected") else None
    t2 = ph.get("quality_start")
    return t1, t2, span_origin(ph, start=t1 is not None, end=t2 is not None)


def _run(panel: SurveyPanel, phases: HypothesisResult | None) -> HypothesisResult:
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
    pc = _parent_closeness(f, firms)
    if pc is not None and pc.pairs:
        tests["spin-off closer to parent than to other incumbents"] = pc.as_test()
    elif "log_price" in f:
        limitations.append("parents of spin-offs are not recorded, not in the sample, or not priced in the "
                           "spin-off's entry year: imitation of the parent not tested")
    if "log_price" in f and "founding_year" in f:
        claims.append(_imitation_claim(f, models, pc))
    else:
        claims.append(Claim(name="imitation", statement=IMIT_STATEMENT, status="skipped", primary=False,
                            reason="the survey has no output prices"))
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


@dataclass(frozen=True)
class ParentCloseness:
    """The parent-closeness rank test (module docstring): ``pairs`` spin-offs with their parent priced in their
    entry year, the mean closeness percentile ``mean`` of the parent (0.5 under no imitation), its s.e. and the
    one-sided p-value."""

    pairs: int
    mean: float = float("nan")
    se: float = float("nan")
    pvalue: float = float("nan")

    def as_test(self) -> TestResult:
        z = (self.mean - 0.5) / self.se if self.se > 0 else float("nan")
        return TestResult("parent closeness rank test (stratified permutation, normal approximation)", z,
                          self.pvalue, 1, "normal",
                          "a spin-off's price is no closer to its parent's than to a random incumbent's",
                          f"{self.pairs} spin-off/parent pairs; parent's mean closeness percentile "
                          f"{100 * self.mean:.0f} (50: a random incumbent)")


def _parent_closeness(f: pd.DataFrame, firms: pd.DataFrame) -> ParentCloseness | None:
    """The parent-closeness rank test (module docstring); None when the survey records no parents at all."""
    if "spinoff_parent_id" not in firms or firms["spinoff_parent_id"].notna().sum() == 0:
        return None
    if "log_price" not in f or "founding_year" not in firms:
        return ParentCloseness(0)
    pr = f["log_price"].dropna().rename("p").reset_index()
    if pr.empty:
        return ParentCloseness(0)
    pr["firm_id"] = pr["firm_id"].astype(str)
    born = pd.to_numeric(firms["founding_year"], errors="coerce")
    born.index = born.index.astype(str)
    pr["born"] = pr["firm_id"].map(born)
    pr = pr.dropna(subset=["born"])
    # (vectorised by year: census-sized panels have thousands of spin-offs)
    first = pr.sort_values("year").groupby("firm_id", as_index=False).first()
    first = first[(first["year"] - first["born"]).between(0, ENTRY_WINDOW)]
    parents = firms["spinoff_parent_id"].dropna().astype(str).rename("parent").reset_index()
    parents["firm_id"] = parents["firm_id"].astype(str)
    pairs = first.merge(parents, on="firm_id")
    u_sum, v_sum, k = 0.0, 0.0, 0
    for y, g in pairs.groupby("year"):
        yr = pr[pr["year"] == y]
        ids, price, fy = yr["firm_id"].to_numpy(), yr["p"].to_numpy(), yr["born"].to_numpy()
        for child, parent, p0, b0 in g[["firm_id", "parent", "p", "born"]].itertuples(index=False):
            cand = (fy < b0) & (ids != child)  # the possible parents: incumbents founded before the spin-off
            at = np.flatnonzero(ids[cand] == parent)
            m = int(cand.sum())
            if len(at) == 0 or m < 2:
                continue
            # distances rounded so that equal prices (a market price) tie exactly despite floating-point noise
            dist = np.round(np.abs(price[cand] - p0), 12)
            u = (_midranks(dist) - 1.0) / (m - 1)
            u_sum += float(u[at[0]])
            v_sum += float(np.mean((u - 0.5) ** 2))
            k += 1
    if k == 0:
        return ParentCloseness(0)
    se = float(np.sqrt(v_sum)) / k
    z = (u_sum - k / 2) / np.sqrt(v_sum) if v_sum > 0 else float("nan")
    return ParentCloseness(k, u_sum / k, se, float(stats.norm.cdf(z)) if np.isfinite(z) else float("nan"))


def _midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties at their mean rank (scipy.stats.rankdata(method="average") without its per-call
    overhead, which dominated on thousands of spin-offs)."""
    _, inv, cnt = np.unique(x, return_inverse=True, return_counts=True)
    return ((np.cumsum(cnt) - cnt) + (cnt + 1) / 2.0)[inv]

