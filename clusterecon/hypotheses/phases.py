r"""Phase diagnosis: date the cluster's transitions and classify each year as initiation, quantity expansion or
quality improvement.

Trajectories (one row per year, :func:`trajectories`): number of firms, entrants, output, price, labour
productivity and the share of firms with any innovation (own brand, own retail shop, long-term subcontracting,
exports). On a survivor-only recall survey the number of firms in year t is reconstructed from the founding years
of the firms interviewed (a lower bound: firms that exited before the interview are missing), which gives an annual
series even when outcomes are recalled for a few benchmark years only.

Dating, after Sonobe & Otsuka (2006): quantity expansion starts when the trend of the number of firms breaks upward
(entry take-off); quality improvement starts when the innovation share (else productivity) breaks upward. Breaks
in a broken linear trend :math:`y_t = a_j + b_j t` are found by the Bai–Perron sequential procedure (at most two,
first tested by the Andrews sup-F; a Chow test when the user supplies the date), and the transition is the break
with the largest slope increase; its uncertainty is a 90% residual-bootstrap interval of the break year, re-dated
within its two adjacent regimes (199 draws, fixed seed).
A break that is not significant at 5% is not used: the verdict then says the cluster has not (yet) entered that
phase within the years observed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.breaks import chow_test, sequential_breaks, sup_f_test
from ..panel import SurveyPanel
from ..schema import INNOVATION_INDICATORS
from .result import HypothesisResult, SkipHypothesis

PHASES = ("initiation", "quantity expansion", "quality improvement")
MIN_YEARS = 8


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
    ind = [c for c in INNOVATION_INDICATORS if c in f.columns]
    if ind:
        any_innov = f[ind].astype("float64").max(axis=1, skipna=True)
        out["innovation_share"] = any_innov.groupby(level="year").mean()
    return out


def _local_bootstrap(X: np.ndarray, y: np.ndarray, b: int, trim: float, rng_seed: int, reps: int) -> np.ndarray:
    """Residual-bootstrap draws of a single break date in a broken linear trend (0-based indices)."""
    beta1 = np.linalg.lstsq(X[:b], y[:b], rcond=None)[0]
    beta2 = np.linalg.lstsq(X[b:], y[b:], rcond=None)[0]
    fitted = np.r_[X[:b] @ beta1, X[b:] @ beta2]
    resid = y - fitted
    rng = np.random.default_rng(rng_seed)
    dates = np.empty(reps, dtype=int)
    for i in range(reps):
        try:
            dates[i] = sup_f_test(fitted + rng.choice(resid, size=len(resid)), X, trim=trim).break_at
        except ValueError:
            dates[i] = b
    return dates


def _broken_trend_break(series: pd.Series, *, after: int | None = None, to_peak: bool = False,
                        min_segment: int | None = None, rng_seed: int = 12345, reps: int = 199) -> dict | None:
    """The upward trend break with the largest slope increase among those found by the sequential Bai-Perron
    procedure (at most two breaks), with a bootstrap interval from re-dating it within its two adjacent segments."""
    s = series.dropna()
    if after is not None:
        s = s[s.index >= after]
    if to_peak and len(s):
        s = s.loc[: s.idxmax()]
    if len(s) < MIN_YEARS:
        return None
    y = s.to_numpy(dtype=float)
    if np.allclose(y, y[0]):
        return None
    t = (s.index.to_numpy() - s.index.min()).astype(float)
    X = np.column_stack([np.ones(len(s)), t])
    trim = 0.15 if min_segment is None else round(max(min_segment / len(s), 0.05), 3)
    dating = sequential_breaks(y, X, max_breaks=2, trim=trim)
    first = dating.tests[0]
    if not dating.breaks:
        return {"year": None, "pvalue": first.pvalue, "test": first, "slope_before": 0.0, "slope_after": 0.0}
    bounds = [0, *dating.breaks, len(y)]
    slopes = [np.linalg.lstsq(X[a:b], y[a:b], rcond=None)[0][1] for a, b in zip(bounds[:-1], bounds[1:])]
    gains = np.diff(slopes)
    j = int(np.argmax(gains))
    a, b, c = bounds[j], bounds[j + 1], bounds[j + 2]
    dates = a + _local_bootstrap(X[a:c], y[a:c], b - a, max(trim, 3.0 / (c - a)), rng_seed, reps)
    years = s.index.to_numpy()
    lo, hi = np.percentile(dates, [5, 95])
    return {
        "year": int(years[b]),
        "interval": (int(years[int(np.floor(lo))]), int(years[min(int(np.ceil(hi)), len(years) - 1)])),
        "stat": first.stat,
        "pvalue": first.pvalue,
        "slope_before": float(slopes[j]),
        "slope_after": float(slopes[j + 1]),
        "test": first,
    }


def diagnose_phases(panel: SurveyPanel, *, expansion_start: int | None = None, quality_start: int | None = None,
                    alpha: float = 0.05) -> HypothesisResult:
    """Date the transitions and classify each year; known dates (e.g. from the case-study narrative) are tested
    with a Chow test instead of being searched for."""
    key, title = "phases", "Phase diagnosis"
    question = "Which phase is the cluster in, and when did it enter it?"
    try:
        traj = trajectories(panel)
        return _diagnose(panel, traj, key, title, question, expansion_start, quality_start, alpha)
    except SkipHypothesis as e:
        return HypothesisResult.skipped(key, title, question, str(e))


def _known_break(series: pd.Series, year: int) -> dict:
    s = series.dropna()
    t = (s.index.to_numpy() - s.index.min()).astype(float)
    X = np.column_stack([np.ones(len(s)), t])
    idx = int(np.searchsorted(s.index.to_numpy(), year))
    test = chow_test(s.to_numpy(float), X, idx)
    b1 = np.linalg.lstsq(X[:idx], s.to_numpy(float)[:idx], rcond=None)[0]
    b2 = np.linalg.lstsq(X[idx:], s.to_numpy(float)[idx:], rcond=None)[0]
    return {"year": year, "interval": (year, year), "stat": test.stat, "pvalue": test.pvalue,
            "slope_before": float(b1[1]), "slope_after": float(b2[1]), "test": test}


def _benchmark_comparison(panel: SurveyPanel, tests: dict) -> dict | None:
    """With too few years to date a break: did the share of innovating firms rise between the first and the last
    observed year? (two-proportion z test, one-sided)"""
    from scipy import stats

    from ..estimators.results import TestResult

    f = panel.frame
    ind = [c for c in INNOVATION_INDICATORS if c in f.columns]
    if not ind or len(panel.years) < 2:
        return None
    any_innov = f[ind].astype("float64").max(axis=1, skipna=True).dropna()
    yrs = any_innov.index.get_level_values("year")
    if yrs.nunique() < 2:
        return None
    first, last = any_innov[yrs == yrs.min()], any_innov[yrs == yrs.max()]
    if len(first) < 10 or len(last) < 10:
        return None
    p1, p2, n1, n2 = first.mean(), last.mean(), len(first), len(last)
    pool = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (p2 - p1) / se
    p = float(stats.norm.sf(z))
    tests["innovation share, last vs first year"] = TestResult(
        "two-proportion z", float(z), p, 1, "normal", f"innovation share in {yrs.max()} <= {yrs.min()}")
    return {"rose": p < 0.05 and p2 > p1,
            "text": f"the share of innovating firms rose from {100 * p1:.0f}% in {yrs.min()} to {100 * p2:.0f}% in "
                    f"{yrs.max()} ({'p < 0.001' if p < 0.001 else f'p = {p:.3f}'})"}


def _diagnose(panel, traj, key, title, question, expansion_start, quality_start, alpha) -> HypothesisResult:
    tests, limitations, evidence = {}, [], []
    # Entry compounds (spin-offs are proportional to incumbents), so the take-off is a break in the trend of the
    # LOG number of firms: flat-ish during initiation, steep during quantity expansion.
    firms = np.log(traj["firms"].astype(float).where(traj["firms"] > 0)) if "firms" in traj else pd.Series(
        dtype=float)
    if firms.dropna().shape[0] < MIN_YEARS:
        raise SkipHypothesis(f"fewer than {MIN_YEARS} years with a firm count (and no founding years to rebuild "
                             "one): the transitions cannot be dated")
    # initiation can be short (a few pioneer years): segments of 3 years, searched up to the peak number of firms
    exp = (_known_break(firms, expansion_start) if expansion_start
           else _broken_trend_break(firms, to_peak=True, min_segment=3))
    t1 = None
    if exp is not None:
        tests["entry take-off"] = exp["test"]
        if exp["year"] is not None and exp["pvalue"] < alpha and exp["slope_after"] > exp["slope_before"]:
            t1 = exp["year"]
            evidence.append(f"the number of firms grows {100 * exp['slope_before']:.1f}% a year before {t1} and "
                            f"{100 * exp['slope_after']:.1f}% after (sup-F p = {exp['pvalue']:.3f}; 90% interval "
                            f"{exp['interval'][0]}–{exp['interval'][1]})")
    expansion_fallback = t1 is None
    if t1 is None:
        t1 = int(firms.dropna().index.min())
        limitations.append("no significant upward break in the number of firms: the first year observed is taken "
                           "as the start of quantity expansion")
    quality_series, qname = None, None
    for col, label in (("innovation_share", "innovation share"), ("log_va_per_worker", "labour productivity")):
        if col in traj and traj[col].dropna().shape[0] >= MIN_YEARS:
            quality_series, qname = traj[col], label
            break
    t2 = None
    if quality_series is None:
        limitations.append(f"no innovation or productivity series with at least {MIN_YEARS} annual observations "
                           "(a recall survey with few benchmark years): the start of quality improvement cannot be "
                           "dated")
    else:
        q = _known_break(quality_series, quality_start) if quality_start else _broken_trend_break(quality_series,
                                                                                                    after=t1)
        if q is not None:
            tests[f"{qname} break"] = q["test"]
            if q["year"] is not None and q["pvalue"] < alpha and q["slope_after"] > q["slope_before"]:
                t2 = q["year"]
                evidence.append(f"the {qname} trend rises from {q['slope_before']:.3f} to {q['slope_after']:.3f} a "
                                f"year at {t2} (p = {q['pvalue']:.3f}; 90% interval {q['interval'][0]}–"
                                f"{q['interval'][1]})")
    years = traj.index.to_numpy()
    phase = np.where(years < t1, PHASES[0], np.where((t2 is None) | (years < (t2 or 10**6)), PHASES[1], PHASES[2]))
    table = pd.DataFrame({"phase": phase}, index=traj.index)
    current = table["phase"].iloc[-1]
    undated = None
    if quality_series is None:
        undated = _benchmark_comparison(panel, tests)
        if undated is not None and undated["rose"]:
            current = PHASES[2]
            evidence.append(undated["text"])
    judged = quality_series is not None or undated is not None
    quality_txt = (f", quality improvement from {t2}" if t2 else
                   ", quality improvement under way but not datable from the benchmark years" if current == PHASES[2]
                   else ", no quality-improvement transition detected" if judged
                   else "; whether quality improvement has begun cannot be judged (innovation is not recorded in "
                   "enough years)")
    if not judged:
        limitations.append("innovation is recorded in fewer than two years with enough firms: the phase after "
                           "quantity expansion cannot be judged")
    lead = (f"In {years[-1]} the cluster is in the {current} phase" if judged
            else f"In {years[-1]} the cluster is at least in the {current} phase")
    verdict = (f"{lead}: quantity expansion from {t1}" + quality_txt
               + ("; " + "; ".join(evidence) if evidence else "") + ".")
    spans = [(p, int(g.index.min()), int(g.index.max())) for p, g in table.groupby("phase", sort=False)]
    return HypothesisResult(
        key=key, title=title, question=question, status="descriptive", verdict=verdict, tests=tests,
        tables={"phases": table, "trajectories": traj}, figures={"trajectories": traj},
        assumptions=("phases change the trend of the cluster aggregates (broken linear trends)",
                     "on recall surveys the firm count counts survivors only"),
        limitations=tuple(limitations),
        extra={"expansion_start": t1, "expansion_detected": not expansion_fallback, "quality_start": t2,
               "quality_undated": t2 is None and current == PHASES[2],
               "spans": spans, "current_phase": current},
    )
