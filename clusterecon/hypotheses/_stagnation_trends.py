r"""The trends behind the stagnation claims, robust to shocks common to a year (used by :mod:`.stagnation`).

**Why the firm-FE trend alone is not enough.** A linear year trend is an aggregate regressor: every firm has the
same value in a year. In

.. math:: y_{it} = a_i + \beta t + e_{it}, \qquad e_{it} = \lambda_t + u_{it},

a shock :math:`\lambda_t` common to all firms in year *t* (a market price moved by demand, a bad cotton harvest)
is shared by every residual of that year. SEs clustered by firm treat the firms' residuals as independent across
firms, so the T draws of :math:`\lambda_t` are counted as if each of G firms drew its own: the s.e. is too small by
a factor that grows with the firms per year (Moulton 1990, the aggregate-regressor problem). The size audit found it
15 times too small for the price and 4 times for productivity, and the price claim "supported" in 37% of runs
whose real price was flat.

**The year-effects trend.** The trend is identified by T year means only, so it is judged by them (Donald & Lang
2007: inference on group-level regressors from the group means, with a t(T − 2) reference). The year effects
:math:`\hat\delta_t` of the two-way fixed-effects regression :math:`y_{it} = a_i + \delta_t + u_{it}` (firm
effects absorbed, year dummies; with entry over the years these compare each firm with itself, not the entrants'
levels with the incumbents') are regressed on the year,

.. math:: \hat\delta_t = c + \beta t + v_t, \qquad t \in \text{years observed},

by OLS with the classical s.e. and a t test with T − 2 degrees of freedom. :math:`v_t` holds the year shock
(its deviation from the line) plus the sampling error of :math:`\hat\delta_t`, so the s.e. counts both; with
normal :math:`v_t` of equal variance the t(T − 2) test is exact. Driscoll & Kraay (1998) also allow for common
shocks, but their kernel variance rests on T → ∞, which a survey of 5–15 years does not give.

**Judged on the more conservative.** Each trend claim is judged on whichever of the two fits has the wider
interval — its own critical value (t(G − 1) for the firm-clustered fit, t(T − 2) for the year effects) times its
s.e. Without common shocks both estimate the same slope with about the same s.e. (:math:`\sigma/\sqrt{N
\sum(t - \bar t)^2}`), so the claim keeps its power; with them the year-effects fit is the wider and decides. The
claim's test says which fit decided.

**Minimum evidence.** The year-effects trend is a cluster-level trend: it needs ``RULES.min_trend_years`` years
(residual df ≥ 3), beside the firm-FE trend's ``RULES.min_panel_years`` years and ``RULES.min_clusters`` firms
observed twice; with fewer the claim is inconclusive and says why.

References: Moulton, B. R. (1990), "An illustration of a pitfall in estimating the effects of aggregate variables
on micro units", *REStat* 72(2); Driscoll, J. C. & Kraay, A. C. (1998), "Consistent covariance matrix estimation
with spatially dependent panel data", *REStat* 80(4); Donald, S. G. & Lang, K. (2007), "Inference with
difference-in-differences and other panel data", *REStat* 89(2).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .evidence import RULES, shortfalls

FE_FIT = "firm-FE trend (SEs clustered by firm, t(G − 1))"
YEAR_FIT = "trend of the year effects (two-way FE year effects on the year by OLS, classical s.e., t(T − 2))"


@dataclass(frozen=True)
class Trend:
    """One fitted trend: which fit, its numbers (as a Claim takes them) and the model behind them."""

    fit: str
    estimate: float
    se: float
    pvalue: float
    df: int | None
    n: int
    n_units: str
    model: object = None

    def width(self, level: float) -> float:
        """The half-width of the ``level`` interval (critical value of its own t times its s.e.); NaN-safe."""
        if not (math.isfinite(self.se) and math.isfinite(self.estimate)):
            return -math.inf
        c = stats.norm.ppf(level) if self.df is None else stats.t.ppf(level, max(self.df, 1))
        return float(c * self.se)

    def numbers(self) -> dict:
        return dict(estimate=self.estimate, se=self.se, pvalue=self.pvalue, n=self.n, n_units=self.n_units,
                    df=self.df)


@dataclass(frozen=True)
class RobustTrend:
    """The firm-FE trend and the year-effects trend of one variable, and the minimum-evidence rules each did not
    meet (``panel_misses``: years and firms observed twice; ``year_misses``: years of year effects)."""

    fe: Trend
    years: Trend | None
    panel_misses: tuple[str, ...] = ()
    year_misses: tuple[str, ...] = ()

    @property
    def misses(self) -> tuple[str, ...]:
        return self.panel_misses + self.year_misses

    def decisive(self, level: float) -> Trend:
        """The more conservative fit: the wider ``level`` interval (the firm-FE fit on a tie or without year
        effects)."""
        if self.years is None or self.years.width(level) <= self.fe.width(level):
            return self.fe
        return self.years

    def other(self, level: float) -> Trend | None:
        d = self.decisive(level)
        return self.years if d is self.fe else self.fe

    def describe(self, level: float) -> str:
        """"decided by the …, the more conservative of …": the test text of a claim judged on this trend."""
        d, o = self.decisive(level), self.other(level)
        if o is None:
            return f"{d.fit}"
        return (f"{d.fit}, the more conservative of it (s.e. {d.se:.3g}, df {d.df}) and the {o.fit.split(' (')[0]} "
                f"(s.e. {o.se:.3g}, df {o.df}): robust to shocks common to a year")


def fe_numbers(r) -> Trend:
    """A Trend from a firm-FE fit of ``y ~ trend`` (df: clusters − 1, as the firm-clustered t test uses)."""
    g = r.variance.n_clusters[0] if r.variance.n_clusters else None
    return Trend(FE_FIT, float(r.params["trend"]), float(r.std_errors["trend"]), float(r.pvalues["trend"]),
                 (g - 1) if g else int(r.df_resid), int(r.nobs), f"firm-years ({r.n_entities} firms)", r)


_YEAR = re.compile(r"\[T\.(-?\d+)\]$")


def year_effects_trend(sub: pd.DataFrame, y: str) -> Trend | None:
    """The OLS trend of the two-way FE year effects of ``y`` in ``sub`` (firms observed twice, ``y`` present):
    None when fewer than three years carry an effect (no residual degree of freedom)."""
    from ..estimators.pooled import pooled_ols
    from ..estimators.within import within

    yr = sub.index.get_level_values("year")
    if yr.nunique() < 3:
        return None
    data = sub[[y]].assign(survey_year=yr.astype(int).astype(str))
    with warnings.catch_warnings():  # a year dummy collinear with the firm effects is dropped (said below: no T)
        warnings.simplefilter("ignore")
        r = within(data, f"{y} ~ C(survey_year)", effects="firm", vcov="classical", singletons="drop")
    eff = {int(yr.min()): 0.0}  # the base year (the first): effects are relative to it, a level the slope ignores
    for name, b in r.params.items():
        m = _YEAR.search(str(name))
        if m and np.isfinite(b):
            eff[int(m.group(1))] = float(b)
    years = np.array(sorted(eff), dtype=float)
    T = len(years)
    if T < 3:
        return None
    d = pd.DataFrame({"effect": [eff[int(t)] for t in years], "trend": years - years.min()},
                     index=pd.MultiIndex.from_arrays([["cluster"] * T, years.astype(int)], names=["c", "year"]))
    n_units = f"years (year effects of {int(r.nobs)} firm-years, {r.n_entities} firms)"
    if np.ptp(d["effect"].to_numpy()) <= 1e-12:
        # no year moves from the first (a constant variable): an exact fit, s.e. 0, which the judging calls
        # degenerate (OLS has no R² to report here)
        return Trend(YEAR_FIT, 0.0, 0.0, float("nan"), T - 2, T, n_units)
    ols = pooled_ols(d, "effect ~ trend", vcov="classical")
    return Trend(YEAR_FIT, float(ols.params["trend"]), float(ols.std_errors["trend"]), float(ols.pvalues["trend"]),
                 T - 2, T, n_units, ols)


def year_misses(t: Trend | None, ny: int) -> list[str]:
    """The year-effects trend's minimum evidence (a cluster-level trend: ``RULES.min_trend_years`` years)."""
    n = t.n if t is not None else ny
    return shortfalls([(n >= RULES.min_trend_years,
                        f"{n} years of year effects (needs {RULES.min_trend_years}: with fewer, a trend cannot be told "
                        "from shocks common to a year)")])


__all__ = ["FE_FIT", "YEAR_FIT", "RobustTrend", "Trend", "fe_numbers", "year_effects_trend", "year_misses"]
