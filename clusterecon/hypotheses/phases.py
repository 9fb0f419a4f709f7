r"""Phase diagnosis: date the cluster's transitions and classify each year as initiation, quantity expansion or
quality improvement.

Trajectories (one row per year, :func:`trajectories`): entrants (firms founded that year; on a census without
founding years, firms first seen that year), number of firms, output, price, labour productivity and the share of
firms with any innovation (own brand, own retail shop, long-term subcontracting, exports) with the number of firms
behind it. On a survivor-only recall survey entrants and the firm count come from the founding years of the firms
interviewed (a lower bound: firms that exited before the interview are missing), an annual series even when
outcomes are recalled for a few benchmark years only.

Dating (Sonobe & Otsuka 2006; :func:`clusterecon.estimators.transitions.count_takeoff`): quantity expansion starts
when entry takes off — annual entrant counts switch from a low constant rate to a log-linear one (Poisson; sup-LR
test with a parametric-bootstrap p-value against one constant rate). The take-off is dated only from complete entry
records (:func:`entry_records_complete`: a census, or annual rounds with exits recorded from the cluster's first
founding year on). On a sample of survivors (a recall survey, or rounds drawn among the
firms active in the first round) the count of firms by founding year is entry times the probability of surviving to
the interview, which falls with age: survivor counts rise with founding year without any take-off, and any rising
(take-off-like) shape can be produced by survival alone when survival by age is unknown — which such a design never
observes (no firm that closed before the interview is in it). The take-off is then not dated: the diagnosis is
``inconclusive`` for it, with the reason, and a date you know can be passed as ``expansion_start`` (the calibration
suite found survivor-sample dates within ±2 years in 43% of the simulator's recall surveys, their intervals
covering 43%: wrong more often than right);
quality improvement starts when first adoptions of an innovation take off — the firms observed without any
innovation in year t−1 that have one in t, per firm at risk (same model with the firms at risk as exposure). When
adoptions are observed in at least ``MIN_QUALITY_YEARS`` consecutive-year pairs with ``MIN_SHARE_FIRMS`` firms at
risk and their take-off is significant, both dates are estimated in one model: the entry rate kinks at the quality
date, the quality date is searched after the take-off, alternating until neither moves; otherwise the take-off is
dated on the entry series up to its peak. Each date carries a 90% likelihood-ratio confidence set (its hull is
printed), with the coverage the calibration suite measured for such sets quoted next to it. A transition whose test
is not significant at 5% is not used: the verdict then says the cluster has not (yet) entered that phase within the
years observed — unless the years observed start after the cluster's first founding year with the share of
innovating firms in their first year significantly above what quantity expansion allows
(:func:`._innovation_share.innovating_at_start`): the survey then opens inside quality improvement, whose start
(before the years observed) is not dated, and a take-off of entry dated within the years observed is not used.
A significant break of entry is taken as the take-off only if it persists
(:func:`.phases_takeoff.takeoff_persists`): over the break year and the eleven after it, with the largest of those
years left out, entry must still run significantly above the rate before the break (a conditional binomial test of
two Poisson rates) — a one-year spike of entry (a policy year) rejects "one constant rate" as surely as a take-off
does, and was dated in 43% of the size audit's runs; it is now reported, not dated.
The take-off tests' p-values come from 49 null draws and cannot fall below 1/(49 + 1) = 0.02: a verdict says
"p ≤ 0.020" there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.results import TestResult
from ..estimators.transitions import NULL_REPS, DatedBreak
from ..panel import SurveyPanel
from ._common import any_innovation
from ._innovation_share import benchmark_comparison, innovating_at_start
from .phases_takeoff import MIN_QUALITY_YEARS, MIN_SHARE_FIRMS, MIN_YEARS, SURVIVOR_TREND, Persistence, date_phases  # noqa: F401 (re-exported)
from .result import HypothesisResult, SkipHypothesis, fmt_p

PHASES = ("initiation", "quantity expansion", "quality improvement")
_WHY_SURVIVORS = (
    "firms are counted by founding year only if they {survived}, so older cohorts are thinned by exits whose rate by "
    "age the design never observes, and survivor counts rise with founding year with or without a take-off (in the "
    "calibration suite, dates from such samples were within ±2 years of the truth less than half the time)")


def survivor_reason(kind: str) -> str:
    """Why the entry take-off is not dated on a sample of survivors (module docstring), worded for the survey
    design ``kind`` ('recall', 'rounds', 'census' starting after the earliest founding year, or anything else: a
    design that was not declared)."""
    if kind == "census":
        return ("the entry take-off cannot be dated: the census starts after the earliest founding year, so for the "
                "years before its first year it lists only the firms that survived to it (" + _WHY_SURVIVORS.format(
                    survived="survived to the census's first year") + "); pass expansion_start=<year> if the start "
                "is known from other sources (--expansion-start; the mapping's [history])")
    if kind in ("recall", "rounds"):
        survived = ("survived to the first round (or were founded and closed between rounds)" if kind == "rounds"
                    else "survived to the interview")
        return ("the entry take-off cannot be dated from a sample of survivors: " + _WHY_SURVIVORS.format(
            survived=survived) + "; pass expansion_start=<year> if the start is known from other sources (on the "
            "command line --expansion-start, in the mapping [history] expansion_start), or use a census of every firm "
            "ever active")
    return ("the entry take-off is not dated: the survey design is not declared, so the founding years may come "
            "from survivors only (" + _WHY_SURVIVORS.format(survived="survived to the interview") + "); declare "
            "SurveyDesign(kind='census') if the data hold every firm ever active, or pass expansion_start=<year> "
            "if the start is known from other sources (--expansion-start; the mapping's [history])")


KEY, TITLE = "phases", "Phase diagnosis"
QUESTION = "Which phase is the cluster in, and when did it enter it?"


def trajectories(panel: SurveyPanel) -> pd.DataFrame:
    """Yearly cluster aggregates used by the phase diagnosis and the trajectory figure."""
    f = panel.frame
    years = np.array(panel.years)
    g = f.groupby(level="year")
    out = pd.DataFrame(index=pd.Index(years, name="year"))
    out["firms_observed"] = g.size()
    if "active" in f.columns and panel.design.can_study_exit and len(years) >= MIN_YEARS:
        out["firms"] = g["active"].apply(lambda s: int(s.fillna(True).astype(bool).sum()))
    else:
        out["firms"] = out["firms_observed"]
    fy = pd.to_numeric(panel.firms.get("founding_year", pd.Series(dtype=float)), errors="coerce").dropna()
    if len(fy) == 0 and panel.design.kind == "census":
        # a census without founding years: a firm enters in the year it is first seen (the first year: the origin)
        fy = f.reset_index().groupby("firm_id", observed=True)["year"].min().astype(float)
    if len(fy):
        first = int(min(fy.min(), years.min()))
        span = np.arange(first, int(years.max()) + 1)
        counts = fy.astype(int).value_counts().reindex(span, fill_value=0)
        out = out.reindex(span)
        out.index.name = "year"
        out["entrants"] = counts.to_numpy()
        if not panel.design.can_study_exit or len(years) < MIN_YEARS:
            # survivors (or sampled firms) founded by year t: an annual series even when outcomes exist for a few
            # benchmark years or rounds only
            out["firms"] = counts.cumsum().to_numpy()
    if "sales" in f.columns:
        out["output"] = g["sales"].sum(min_count=1)
    num = {c: pd.to_numeric(f[c], errors="coerce").astype("float64") for c in
           ("product_price", "sales", "material_cost", "employees") if c in f.columns}
    if "product_price" in num:
        price = num["product_price"]
        out["log_price"] = np.log(price.where(price > 0)).groupby(level="year").mean()
    if {"sales", "material_cost", "employees"} <= set(num):
        va = (num["sales"] - num["material_cost"]) / num["employees"].where(num["employees"] > 0)
        out["log_va_per_worker"] = np.log(va.where(va > 0)).groupby(level="year").mean()
    any_innov = any_innovation(f)
    if any_innov is not None:
        out["innovation_share"] = any_innov.groupby(level="year").mean()
        out["innovation_firms"] = any_innov.notna().groupby(level="year").sum()
        adopt = _adoptions(any_innov)
        if adopt is not None:
            out["adopters"] = adopt["adopters"]
            out["adoption_at_risk"] = adopt["at_risk"]
    return out


def _adoptions(any_innov: pd.Series) -> pd.DataFrame | None:
    """First adoptions by year: firms observed without any innovation in t−1 and with one in t (``adopters``) out
    of the firms observed in both years without one in t−1 (``at_risk``); years without t−1 are absent."""
    s = any_innov.dropna()
    if s.empty:
        return None
    d = s.rename("now").reset_index()
    prev = d.assign(year=d["year"] + 1).rename(columns={"now": "before"})
    m = d.merge(prev, on=["firm_id", "year"], how="inner")
    m = m[m["before"] == 0]
    if m.empty:
        return None
    return m.groupby("year").agg(adopters=("now", "sum"), at_risk=("now", "size"))


def entry_records_complete(panel: SurveyPanel) -> bool:
    """Do the founding years count every entrant (up to random sampling), not only survivors? True for a census,
    and for annual rounds with exits recorded that start no later than the earliest founding year (every firm is
    seen from its founding year on, whether it survives or not: the bundled samples); False for a recall survey
    (survivors to the interview) and for rounds that start after firms were founded (survivors to the first round)
    or skip years (a firm founded and closed between two rounds is never seen). For the years observed a census
    is complete whenever it starts; for dating entry before its first year see :func:`entry_series_complete`."""
    if panel.design.kind == "census":
        return True
    if not panel.design.can_study_exit:
        return False
    years = np.array(sorted(panel.years))
    fy = pd.to_numeric(panel.firms.get("founding_year", pd.Series(dtype=float)), errors="coerce").dropna()
    annual = len(years) > 1 and bool(np.all(np.diff(years) == 1))
    return annual and len(fy) > 0 and years[0] <= fy.min()


def entry_series_complete(panel: SurveyPanel) -> bool:
    """Is the entry series by founding year complete back to the earliest founding year (what dating the take-off
    needs)? :func:`entry_records_complete`, except that a census whose first year comes after the earliest founding
    year lists only the firms alive then: before its first year, its founding years count survivors."""
    if not entry_records_complete(panel):
        return False
    if panel.design.kind != "census" or not panel.years:
        return True
    fy = pd.to_numeric(panel.firms.get("founding_year", pd.Series(dtype=float)), errors="coerce").dropna()
    return len(fy) == 0 or min(panel.years) <= fy.min()


def _coverage_text(kind: str, complete: bool) -> str:
    """The coverage the calibration suite measured for such intervals: on censuses (complete entry records) or on
    samples of survivors, whose intervals cover far less often; the pooled figure when that split is not known."""
    from ._coverage import COVERAGE, RUN_DATE

    design = "census" if complete else "survivors"
    c = COVERAGE.get(f"{kind}_{design}", COVERAGE.get(kind))
    where = f" on {'censuses' if complete else 'samples of survivors'}" if f"{kind}_{design}" in COVERAGE else ""
    gradual = COVERAGE.get(f"{kind}_gradual")
    also = f", {gradual:.0%} where entry rose gradually" if gradual is not None and complete else ""
    return f"; simulated coverage{where} {c:.0%}{also} ({RUN_DATE})" if c is not None else ""


def _as_test(b: DatedBreak, null: str) -> TestResult:
    return TestResult("sup-LR (parametric bootstrap)", b.stat, b.pvalue, 1, "bootstrap", null,
                      f"date {b.year}; {int(100 * b.level)}% LR set {b.interval}; critical value {b.critical:.2f}; "
                      f"p from {NULL_REPS} null draws, so never below {P_FLOOR:.3f}")


def _persist_test(p: Persistence) -> TestResult:
    return TestResult("entry rate after vs before the take-off, its largest year left out (conditional binomial)",
                      p.after / p.before if p.before > 0 else float("inf"), p.pvalue, 1, "exact",
                      "entry after the take-off (its largest year left out) runs at the rate before it",
                      p.text() + "; statistic: ratio of the two rates")


#: the smallest p-value the take-off tests can show: (1 + 0) / (null draws + 1)
P_FLOOR = 1 / (NULL_REPS + 1)


def _p_text(b: DatedBreak) -> str:
    """The take-off test's p-value as a verdict prints it: a p-value at the bootstrap's floor is a bound (the
    statistic beat every null draw), said as one, not a measured 0.020."""
    if b.pvalue <= P_FLOOR * (1 + 1e-9):
        return f"sup-LR p ≤ {P_FLOOR:.3f}, the smallest {NULL_REPS} bootstrap draws can show"
    return fmt_p(b.pvalue, "sup-LR p")


def _entry_after(traj: pd.DataFrame, t1: int, years: int = 5) -> str:
    """What entry did after the take-off, as observed: a one-year spike of entry can pass the take-off test, and the
    verdict said "and rising" whatever followed (size audit: a policy year's spike, then 5 a year again)."""
    s = traj["entrants"].dropna()
    nxt = s[(s.index > t1) & (s.index <= t1 + years)]
    if not len(nxt):
        return ""
    span = f"in {int(nxt.index[0])}" if len(nxt) == 1 else f"over {int(nxt.index[0])}–{int(nxt.index[-1])}"
    return f", then {float(nxt.mean()):.1f} a year on average {span}"


def given_dates(panel: SurveyPanel, expansion_start: int | None = None, quality_start: int | None = None,
                source: str | None = None) -> tuple[int | None, int | None, tuple[str, str]]:
    """``(expansion_start, quality_start, (source of each))``: the dates passed (credited to ``source``), else
    those the survey design carries (a mapping's ``[history]``, whose ``source`` goes with them), checked against
    the years the data cover; :class:`ValueError` names a date that cannot be right."""
    from ..io.mapping import phase_order_mistake, phase_range_mistake

    d = panel.design
    for name, x in (("expansion_start", expansion_start), ("quality_start", quality_start)):
        if x is not None and not _whole_year(x):
            raise ValueError(f"{name} = {x!r} must be a whole year such as 1985")
    t1 = expansion_start if expansion_start is not None else d.expansion_start
    t2 = quality_start if quality_start is not None else d.quality_start
    given = source or ""
    sources = (given if expansion_start is not None else d.history_source if t1 is not None else "",
               given if quality_start is not None else d.history_source if t2 is not None else "")
    years = panel.years
    if not years or (t1 is None and t2 is None):
        return None, None, ("", "")
    wrong = phase_range_mistake(t1, t2, int(years[-1]))
    if wrong:
        raise ValueError(wrong)
    order = phase_order_mistake(t1, t2)
    if order:
        raise ValueError(order)
    return (None if t1 is None else int(t1)), (None if t2 is None else int(t2)), sources


def _whole_year(x: object) -> bool:
    """An int (not a bool), or a finite float with no fraction: what a year passed from Python can be."""
    if isinstance(x, bool):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    return isinstance(x, (float, np.floating)) and bool(np.isfinite(x)) and float(x).is_integer()


def date_origin(extra: dict, which: str) -> str:
    """How a phase date in a phase diagnosis's ``extra`` was obtained, to follow the date in a verdict: ``""``
    when it was estimated, else ``" (as given: SOURCE)"`` — every verdict that rests on a date known from the
    cluster's history says so and names who gave it. ``which``: ``"expansion"`` or ``"quality"``."""
    if not extra.get(f"{which}_given"):
        return ""
    src = extra.get(f"{which}_source") or ""
    return f" (as given: {src})" if src else " (as given; no source stated)"


def span_origin(extra: dict, *, start: bool = True, end: bool = True) -> str:
    """:func:`date_origin` for a span of years whose start is the start of expansion and whose end the start of
    quality improvement: ``" (start and end as given: SOURCE)"``, one source per group of dates."""
    by_source: dict[str, list[str]] = {}
    for which, lead, used in (("expansion", "start", start), ("quality", "end", end)):
        if used and extra.get(f"{which}_given"):
            by_source.setdefault(extra.get(f"{which}_source") or "", []).append(lead)
    parts = [f"{' and '.join(leads)} as given" + (f": {src}" if src else "; no source stated")
             for src, leads in by_source.items()]
    return f" ({'; '.join(parts)})" if parts else ""


def diagnose_phases(panel: SurveyPanel, *, expansion_start: int | None = None, quality_start: int | None = None,
                    history_source: str | None = None, alpha: float = 0.05, reps: int | None = None
                    ) -> HypothesisResult:
    """Date the transitions and classify each year. Dates known from outside the data (the case-study narrative,
    trade records) are used instead of estimated ones: passed here (``history_source``: who gives them, quoted in
    every verdict that uses them), or carried by ``panel.design`` (a mapping's ``[history]`` table, with its
    source); a survey of survivors needs them for the take-off (module docstring). The date not given is estimated
    given the other. ``reps``: bootstrap draws of the tests and intervals (default 199)."""
    t1, t2, sources = given_dates(panel, expansion_start, quality_start, history_source)
    try:
        traj = trajectories(panel)
        return _diagnose(panel, traj, t1, t2, alpha, reps, sources)
    except SkipHypothesis as e:
        return HypothesisResult.skipped(KEY, TITLE, QUESTION, str(e))


def _diagnose(panel, traj, expansion_start, quality_start, alpha, reps, sources=("", "")) -> HypothesisResult:
    tests, limitations, evidence = {}, [], []
    spike = None  # why a significant break of entry was not taken as the take-off
    if "entrants" not in traj or traj["entrants"].dropna().shape[0] < MIN_YEARS:
        short = (f"fewer than {MIN_YEARS} years of entry (founding years) to rebuild the cluster's history from")
        if expansion_start is None and quality_start is None:
            raise SkipHypothesis(short + ": the transitions cannot be dated")
        # dates known from the cluster's history need no entry series: the years are placed by them
        limitations.append(short + ": only the dates given are used")
    complete = entry_series_complete(panel)
    d = date_phases(traj, alpha=alpha, reps=reps, complete=complete, given_t1=expansion_start,
                    given_t2=quality_start)
    limitations.extend(d.get("notes", ()))
    e, q = d["takeoff"], d["quality"]
    t1, t2, t1_int, t2_int = None, None, None, None
    # a window that opens inside quality improvement: no take-off of first adoptions in it, but half the firms
    # already innovating in its first year (module _innovation_share); never against a date given
    y0 = int(min(panel.years))
    before = None
    if quality_start is None and not (q is not None and q.index is not None and q.detected(alpha)) and (
            expansion_start is None or expansion_start <= y0):
        before = innovating_at_start(panel, tests, alpha)
    if expansion_start is not None:
        t1 = int(expansion_start)
    elif e is not None and e.index is not None:
        tests["entry take-off"] = _as_test(e, "no take-off: entry follows one constant rate")
        persists = d.get("persistence")  # set whenever the break is significant (phases_takeoff.date_phases)
        if e.detected(alpha) and before is not None:
            limitations.append(f"entry take-off: dated in {d['t1']} ({_p_text(e)}) but not used: quality "
                               f"improvement was already under way in {y0}, the first year observed, so quantity "
                               "expansion began before it")
        elif e.detected(alpha) and persists is not None and not persists.ok:
            # a one-year spike of entry rejects "one constant rate" as surely as a take-off (size audit: 43% of
            # runs dated): a break after which entry does not stay up is no take-off (phases_takeoff)
            tests["entry take-off persists"] = _persist_test(persists)
            spike = (f"a break in entry in {d['t1']} ({_p_text(e)}) did not persist: {persists.text()}; a rise that "
                     "entry does not sustain (such as a one-year spike in a policy year) is not taken as the take-off")
            limitations.append(f"entry take-off: {spike}")
        elif e.detected(alpha):
            if persists is not None:
                tests["entry take-off persists"] = _persist_test(persists)
            t1, t1_int = d["t1"], d["t1_interval"]
            stays = ("" if persists is None else
                     f"; still above the earlier rate without its largest year, {fmt_p(persists.pvalue)}")
            evidence.append(
                f"entry takes off in {t1} (from {e.before:.1f} entrants a year to {e.after:.1f}"
                f"{_entry_after(traj, t1)}; "
                f"{_p_text(e)}{stays}; 90% interval {t1_int[0]}–{t1_int[1]}{_coverage_text('takeoff', complete)})")
        elif e.reason:
            limitations.append(f"entry take-off: {e.reason}")
    elif e is not None and e.reason:
        limitations.append(f"entry take-off: {e.reason}")
    undatable = survivor_reason(panel.design.kind) if d.get("takeoff_undatable") and expansion_start is None else None
    if undatable:
        limitations.append(undatable)
    expansion_fallback = t1 is None
    years_all = traj.index.to_numpy()
    if t1 is None:
        # before a given quality start: a window that opens in quality improvement has no expansion years in it
        t1 = int(years_all.min()) if quality_start is None else min(int(years_all.min()), int(quality_start))
        limitations.append(f"quantity expansion began before {y0}, the first year observed: its start is not dated"
                           if before is not None else
                           ("the take-off is not dated" if undatable else "no significant take-off of entry")
                           + ": the first year observed is taken as the start of quantity expansion")
    if quality_start is not None:
        t2 = int(quality_start)
    elif q is not None and q.index is not None:
        tests["first adoptions take-off"] = _as_test(q, "no transition: first adoptions follow one constant rate "
                                                     "(census) or one log-linear trend")
        if q.detected(alpha) and (d["t2"] is None or d["t2"] > t1):
            t2, t2_int = d["t2"], d["t2_interval"]
            evidence.append(
                f"first adoptions of an innovation take off in {t2} (from {100 * q.before:.1f}% of the firms at "
                f"risk a year to {100 * q.after:.1f}%; {_p_text(q)}; 90% interval {t2_int[0]}–"
                f"{t2_int[1]}{_coverage_text('quality', complete)}"
                + ("; dated jointly with the take-off" if d["joint"] else
                   f"; searched after the given start of quantity expansion, {t1}" if expansion_start is not None
                   else "") + ")")
        elif q.detected(alpha):  # an estimated take-off that is not after the start of expansion is not used
            limitations.append(f"quality transition: the take-off of first adoptions dated in {d['t2']} is not "
                               f"after the start of quantity expansion ({t1}): not used")
        elif q.reason:
            limitations.append(f"quality transition: {q.reason}")
    quality_why = None
    if not d.get("quality_series") and not any(n.startswith("quality transition") for n in d.get("notes", ())):
        if "innovation_share" not in traj:
            quality_why = "the survey records no innovation indicator"
        else:
            pairs = int((traj.get("adoption_at_risk", pd.Series(dtype=float)).fillna(0) >= MIN_SHARE_FIRMS).sum())
            quality_why = (f"only {pairs} consecutive-year pair(s) have {MIN_SHARE_FIRMS}+ firms observed without an "
                           f"innovation (needs {MIN_QUALITY_YEARS}: a recall survey with few benchmark years, short "
                           "rounds, few firms, or firms that innovate from their first year)")
        limitations.append(quality_why + ": the start of quality improvement cannot be dated")
    years = years_all
    phase = np.where(years < t1, PHASES[0], np.where((t2 is None) | (years < (t2 or 10**6)), PHASES[1], PHASES[2]))
    if before is not None:  # every year observed is in quality improvement; its start (before them) is not dated
        phase = np.where(years >= y0, PHASES[2], phase)
    table = pd.DataFrame({"phase": phase}, index=traj.index)
    current = table["phase"].iloc[-1]
    undated = None
    if not d.get("quality_series") and quality_start is None:
        undated = benchmark_comparison(panel, tests)
        if undated is not None and undated["rose"]:
            current = PHASES[2]
            evidence.append(undated["text"])
    # the years after the take-off are quantity expansion only if the adoption series could have shown a quality
    # transition (long enough) and did not; a short window in which innovation does not rise significantly cannot be
    # placed in a phase
    judged = (bool(d.get("quality_series")) or quality_start is not None or (undated is not None and undated["rose"])
              or before is not None)
    quality_txt = (f"; {before['text']}" if before is not None else
                   f", quality improvement from {t2}" if t2 and t2 <= years[-1] else
                   f", quality improvement not begun in the years observed (from {t2})" if t2 else
                   ", quality improvement under way but not datable from the benchmark years" if current == PHASES[2]
                   else ", no quality-improvement transition detected" if judged
                   else "; whether quality improvement has begun cannot be judged from the years observed")
    if not judged:
        limitations.append("the years observed are too few (or innovation is recorded in too few of them) to tell "
                           "quantity expansion from quality improvement: the phase of the observed years is not "
                           "judged" + (" (" + undated["text"] + ")" if undated is not None else ""))
    lead = (f"In {years[-1]} the cluster is in the {current} phase" if judged
            else f"In {years[-1]} the cluster is at least in the {current} phase")
    takeoff_test = tests.get("entry take-off")
    if before is not None:
        start_txt = (f"it already was in {y0}, the first year observed, so quantity expansion and the start of quality "
                     "improvement came before the years observed and are not dated")
    elif undatable:
        start_txt = ("the start of quantity expansion is not dated (entry counted among survivors cannot separate a "
                     "take-off from the thinning of older cohorts by exit; give the start if the cluster's history "
                     "dates it: expansion_start= in Python, --expansion-start on the command line, or [history] in "
                     "the mapping)")
    elif expansion_fallback:  # the first year observed stands in for an undated start: said in the verdict itself
        why = (spike if spike is not None else f"no significant take-off of entry, {_p_text(e)}"
               if takeoff_test is not None else "the take-off could not be tested")
        start_txt = f"the start of quantity expansion is not dated ({why}); the years from {t1} are taken as it"
    else:
        start_txt = f"quantity expansion from {t1}"
    named = [(w, src) for w, x, src in zip(("quantity expansion", "quality improvement"),
                                            (expansion_start, quality_start), sources) if x is not None]
    by_source: dict[str, list[str]] = {}
    for w, src in named:
        by_source.setdefault(src, []).append(w)
    # dates known from the cluster's history: said once per source, before the estimated evidence
    evidence[:0] = [f"the start of {' and of '.join(ws)} as given ({src or 'no source stated'}), not estimated"
                    for src, ws in by_source.items()]
    verdict = (f"{lead}: {start_txt}" + quality_txt + ("; " + "; ".join(evidence) if evidence else "") + ".")
    spans = [(p, int(g.index.min()), int(g.index.max())) for p, g in table.groupby("phase", sort=False)]
    return HypothesisResult(
        key=KEY, title=TITLE, question=QUESTION, status="inconclusive" if undatable else "descriptive",
        verdict=verdict, tests=tests,
        tables={"phases": table, "trajectories": traj}, figures={"trajectories": traj},
        assumptions=("entry is Poisson with a constant rate in initiation and a log-linear rate in quantity "
                     "expansion; first adoptions of an innovation (per firm at risk) likewise take off when quality "
                     "improvement starts",
                     "on recall surveys entry and the firm count count survivors only"),
        limitations=tuple(limitations),
        extra={"expansion_start": t1, "expansion_detected": not expansion_fallback, "expansion_interval": t1_int,
               "expansion_given": expansion_start is not None, "quality_given": quality_start is not None,
               "history_source": "; ".join(dict.fromkeys(src for src in sources if src)),
               "expansion_source": sources[0] if expansion_start is not None else None,
               "quality_source": sources[1] if quality_start is not None else None,
               "expansion_undatable": undatable,
               "quality_start": t2, "quality_interval": t2_int, "jointly_dated": bool(d["joint"]),
               "quality_undated": t2 is None and current == PHASES[2], "phase_judged": judged, "spans": spans,
               "quality_before_observed": before["text"] if before is not None else None,
               "innovation_recorded": "innovation_share" in traj,
               "quality_undatable_reason": quality_why,
               "current_phase": current},
    )
