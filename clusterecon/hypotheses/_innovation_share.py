r"""What the share of innovating firms says about the phase when the take-off of first adoptions cannot place it.

Two pieces of evidence the phase diagnosis (:mod:`.phases`) uses besides the dated transitions:

* :func:`innovating_at_start` — quality improvement already under way in the first year observed. A survey whose
  years begin after the cluster's first founding year (a census or recall survey of its last decade, rounds fielded
  late) can start inside the quality-improvement phase: first adoptions then run at a steady rate from the first
  year, the sup-LR test finds no take-off of them, and "no take-off" does not mean "no transition" — the
  transition came before the years observed. Quantity expansion is the phase in which entrants imitate and hardly
  anyone innovates, so a first year in which the share of innovating firms is significantly above
  ``EXPANSION_MAX_INNOVATING`` = 25% (one-sided exact binomial test at α, ≥ ``MIN_FIRMS`` firms with innovation
  recorded) is read as quality improvement begun before the years observed. A quarter is above the share of
  "innovators" quantity expansion produces in the calibration suite (the project's simulator records an indicator
  for 16–19% of imitators — its imitators' indicator probabilities; the reduced-form generator about 10%), and the
  test is one-sided: a window whose true share is at most a quarter is taken for quality improvement in at most 5%
  of samples, so a genuine expansion window (10–20% innovating) is judged as before, while a window opening with
  half the firms innovating (the audit's 54%) is not taken for expansion — nor is the bundled machinery sample, 2001–
  2004 rounds of a cluster in quality improvement since 2000 (31% of 200 firms innovate in 2001). A survey that
  starts at the cluster's first founding year starts in initiation and is not tested: its adoption series covers
  the whole history.
* :func:`benchmark_comparison` — with too few consecutive years to search for a take-off (recall benchmark years,
  short rounds): did the share of innovating firms rise between the first and the last year observed?
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..estimators.results import TestResult
from ..panel import SurveyPanel
from ._common import any_innovation, fmt_p

#: the largest share of firms with an innovation that quantity expansion allows (module docstring)
EXPANSION_MAX_INNOVATING = 0.25
#: firms with innovation recorded needed in a year to judge its share
MIN_FIRMS = 10


def innovating_at_start(panel: SurveyPanel, tests: dict, alpha: float = 0.05) -> dict | None:
    """Quality improvement under way in the first year observed (module docstring): None when the survey starts at
    the cluster's first founding year, records no innovation, has fewer than ``MIN_FIRMS`` firms with innovation
    recorded in its first year, or when their share is not significantly above ``EXPANSION_MAX_INNOVATING``;
    else ``{"year", "share", "firms", "text"}``. The test is added to ``tests``."""
    from scipy import stats

    if not panel.years:
        return None
    y0 = int(min(panel.years))
    fy = pd.to_numeric(panel.firms.get("founding_year", pd.Series(dtype=float)), errors="coerce").dropna()
    if len(fy) and fy.min() >= y0:  # the years observed start at the cluster's origin: initiation, not tested
        return None
    s = any_innovation(panel.frame)
    if s is None:
        return None
    first = s[s.index.get_level_values("year") == y0].dropna()
    n, k = len(first), int(first.sum())
    if n < MIN_FIRMS:
        return None
    p = float(stats.binomtest(k, n, EXPANSION_MAX_INNOVATING, alternative="greater").pvalue)
    tests[f"innovating firms in {y0} > {EXPANSION_MAX_INNOVATING:.0%} (quantity expansion)"] = TestResult(
        "exact binomial, one-sided", k / n, p, n, "binomial",
        f"share of innovating firms in the first year observed <= {EXPANSION_MAX_INNOVATING:.3g} (the most quantity "
        "expansion allows)", f"{k} of {n} firms")
    if p >= alpha:
        return None
    return {"year": y0, "share": k / n, "firms": n,
            "text": f"{k} of {n} firms ({100 * k / n:.0f}%) innovate in {y0}, more than the "
                    f"{EXPANSION_MAX_INNOVATING:.0%} that quantity expansion allows (exact binomial test, {fmt_p(p)})"}


def benchmark_comparison(panel: SurveyPanel, tests: dict) -> dict | None:
    """With too few years to date a break: did the share of innovating firms rise between the first and the last
    observed year? (two-proportion z test, one-sided)"""
    from scipy import stats

    s = any_innovation(panel.frame)
    if s is None or len(panel.years) < 2:
        return None
    s = s.dropna()
    yrs = s.index.get_level_values("year")
    if yrs.nunique() < 2:
        return None
    first, last = s[yrs == yrs.min()], s[yrs == yrs.max()]
    if len(first) < MIN_FIRMS or len(last) < MIN_FIRMS:
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
                    f"{yrs.max()} ({fmt_p(p)})"}
