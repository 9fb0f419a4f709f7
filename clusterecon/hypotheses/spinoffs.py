r"""Spin-off imitation (quantity expansion): entry is dominated by spin-offs from incumbents, who imitate their
parents (Sonobe, Akoten & Otsuka 2009; ``literature.md`` §1A, hypotheses A3–A4).

* The share of spin-offs among entrants by founding year, with its trend (linear probability model of
  ``is_spinoff`` on the founding year, robust SEs), and entry rates over time (entrants / firms in the year before).
* Imitation: in their first observed year, spin-offs' log price and log labour productivity against other firms
  observed in the same year (pooled OLS on a spin-off dummy with year dummies, robust SEs; similarity = no
  significant difference), and — where the parent is in the sample — the gap between a spin-off and its parent
  against the gap between the spin-off and a randomly drawn incumbent (paired comparison).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.results import TestResult
from ..panel import SurveyPanel
from ._common import analysis_frame, fmt_p, run_hypothesis
from .result import HypothesisResult, SkipHypothesis

KEY, TITLE = "spinoffs", "Spin-off imitation (quantity expansion)"
QUESTION = "Are entrants increasingly spin-offs, and do they imitate incumbents' products and productivity?"


def spinoff_imitation(panel: SurveyPanel, *, seed: int = 0) -> HypothesisResult:
    return run_hypothesis(lambda: _run(panel, seed), KEY, TITLE, QUESTION)


def _run(panel: SurveyPanel, seed: int) -> HypothesisResult:
    from ..estimators.pooled import pooled_ols

    firms = panel.firms
    if "is_spinoff" not in firms or firms["is_spinoff"].notna().sum() == 0:
        raise SkipHypothesis("the survey has no spin-off information (is_spinoff)")
    if "founding_year" not in firms or firms["founding_year"].notna().sum() == 0:
        raise SkipHypothesis("the survey has no founding years")
    d = firms[["is_spinoff", "founding_year"]].dropna().astype({"founding_year": int})
    d["is_spinoff"] = d["is_spinoff"].astype(float)
    models, tests, limitations = {}, {}, []
    by_year = d.groupby("founding_year").agg(entrants=("is_spinoff", "size"), spinoff_share=("is_spinoff", "mean"))
    incumbents = by_year["entrants"].cumsum().shift(1)
    by_year["entry_rate"] = by_year["entrants"] / incumbents
    trend = None
    if d["founding_year"].nunique() >= 3 and d["is_spinoff"].nunique() == 2:
        frame = d.assign(entry_year=d["founding_year"] - d["founding_year"].min()).reset_index()
        frame = frame.set_index(["firm_id", "founding_year"])
        r = pooled_ols(frame, "is_spinoff ~ entry_year", vcov="robust")
        models["Spin-off share trend (LPM)"] = r
        trend = (float(r.params["entry_year"]), float(r.pvalues["entry_year"]))
        tests["spin-off share trend = 0"] = r.wald_test("entry_year = 0")
    f = analysis_frame(panel)
    first = f.reset_index().sort_values("year").groupby("firm_id", observed=True).head(1)
    first = first.set_index(["firm_id", "year"])
    first["is_spinoff"] = first["is_spinoff"].astype(float)
    gaps = {}
    for col, label in (("log_price", "log price"), ("log_va_per_worker", "log labour productivity")):
        if col not in first or first[col].notna().sum() < 10 or first["is_spinoff"].nunique() < 2:
            continue
        rhs = "is_spinoff" + (" + C(year)" if first.index.get_level_values("year").nunique() > 1 else "")
        r = pooled_ols(first, f"{col} ~ {rhs}", vcov="robust")
        models[f"Spin-offs vs others at first observation: {label}"] = r
        gaps[label] = (float(r.params["is_spinoff"]), float(r.std_errors["is_spinoff"]),
                       float(r.pvalues["is_spinoff"]))
    parent_test = _parent_similarity(f, firms, seed)
    if parent_test is not None:
        tests["spin-off closer to parent than to a random incumbent"] = parent_test
    else:
        limitations.append("parents of spin-offs are not in the sample (or prices missing): parent similarity not "
                           "tested")
    if not panel.design.can_study_exit:
        limitations.append("survivor-only sample: entrants who exited before the interview are missing, so the "
                           "spin-off share is among surviving entrants")
    share = float(d["is_spinoff"].mean())
    rising = trend is not None and trend[0] > 0 and trend[1] < 0.05
    # a zero or undefined standard error means every firm has the same value (no difference at all)
    similar = bool(gaps) and all(not (p < 0.05) for _, _, p in gaps.values())
    status = "supported" if rising and similar else ("mixed" if rising or similar else "not supported")
    verdict = f"{status.capitalize()}: {100 * share:.0f}% of firms are spin-offs"
    if trend is not None:
        verdict += (f"; their share among entrants changes {100 * trend[0]:+.1f} points per founding year "
                    f"({fmt_p(trend[1])})")
    for label, (b, se, p) in gaps.items():
        verdict += f"; at entry spin-offs differ from others in {label} by {b:+.3f} (s.e. {se:.3f}, {fmt_p(p)})"
    verdict += "."
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, models=models,
                            tests=tests, tables={"entry by founding year": by_year}, figures={"entry": by_year},
                            limitations=tuple(limitations),
                            assumptions=("imitation shows up as no difference at entry in price and productivity",),
                            extra={"spinoff_share": share, "trend": trend, "gaps": gaps})


def _parent_similarity(f: pd.DataFrame, firms: pd.DataFrame, seed: int) -> TestResult | None:
    """Wilcoxon signed-rank test: |log price(spin-off) − log price(parent)| < |… − random incumbent| in the
    spin-off's first observed year."""
    from scipy import stats

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
    if len(d_parent) < 10:
        return None
    stat, p = stats.wilcoxon(d_parent, d_random, alternative="less")
    return TestResult("Wilcoxon signed-rank", float(stat), float(p), len(d_parent), "exact",
                      "spin-offs are no closer to their parent's price than to a random incumbent's",
                      f"{len(d_parent)} spin-off/parent pairs")
