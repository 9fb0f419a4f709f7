r"""Productivity stagnation in quantity expansion: output grows while productivity does not, and prices and
profitability fall (Sonobe & Otsuka 2006, chs. 4–8; ``literature.md`` §1B, hypothesis B1).

Within the quantity-expansion years (dated by the phase diagnosis when it found them, else all years):

* cluster output: OLS of log total output on a linear year trend, heteroskedasticity-robust SEs;
* firm level, with firm fixed effects and SEs clustered by firm (Stata ``xtreg, fe vce(cluster firm)``): linear
  trends of log value added per worker (labour productivity), log TFP (from the best control-function
  estimator the survey supports — ACF when materials are observed, then LP, OP, Wooldridge — named in the verdict;
  a firm-FE Cobb–Douglas residual when none applies), log output price and the profit rate
  (value added − wage bill)/sales;
* the year profile of each (year dummies with firm FE) for tables and figures.

Verdict: supported when output grows (trend > 0 at 5%) while productivity does not (its trend is not
significantly positive) and the price trend is negative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._common import analysis_frame, fmt_p, run_hypothesis
from .result import HypothesisResult, SkipHypothesis

KEY, TITLE = "stagnation", "Productivity stagnation (quantity expansion)"
QUESTION = "While the cluster expands, does output grow with flat productivity and falling prices and profits?"


def productivity_stagnation(panel: SurveyPanel, *, years: tuple[int, int] | None = None, vcov: str = "cluster",
                            years_source: str = "user-given years") -> HypothesisResult:
    """``years``: (first, last) year of quantity expansion; default from :func:`diagnose_phases`;
    ``years_source`` says where they come from (quoted in the verdict)."""
    return run_hypothesis(lambda: _run(panel, years, vcov, years_source), KEY, TITLE, QUESTION)


def _expansion_years(panel: SurveyPanel) -> tuple[tuple[int, int] | None, str]:
    from .phases import diagnose_phases

    d = diagnose_phases(panel)
    for phase, lo, hi in d.extra.get("spans", []):
        if phase == "quantity expansion":
            return (lo, hi), f"quantity-expansion years {lo}–{hi} from the phase diagnosis"
    return None, "all observed years (the phase diagnosis did not date quantity expansion)"


def _trend(f: pd.DataFrame, y: str, vcov: str):
    from ..estimators.within import within

    sub = f[f[y].notna()]
    if sub.index.get_level_values("year").nunique() < 2 or sub.shape[0] < 10:
        return None
    return within(sub, f"{y} ~ trend", effects="firm", vcov=vcov)


def _run(panel: SurveyPanel, years: tuple[int, int] | None, vcov: str, years_source: str) -> HypothesisResult:
    from ..estimators.pooled import pooled_ols

    if len(panel.years) < 2:
        raise SkipHypothesis("a single survey year: trends cannot be estimated (T = 1)")
    how = years_source if years is None else f"{years_source} {years[0]}–{years[1]}"
    if years is None:
        years, how = _expansion_years(panel)
    f = analysis_frame(panel)
    yr = f.index.get_level_values("year")
    if years is not None:
        f = f[(yr >= years[0]) & (yr <= years[1])]
        yr = f.index.get_level_values("year")
    if yr.nunique() < 2:
        raise SkipHypothesis(f"fewer than two observed years within {how}")
    f = f.assign(trend=(yr - yr.min()).astype(float))
    if {"value_added", "wage_bill", "sales"} <= set(f.columns):
        f["profit_rate"] = (f["value_added"] - f["wage_bill"]) / f["sales"].where(f["sales"] > 0)
    models, tests, limitations = {}, {}, []
    tfp_source = None
    if "capital" in f and f["log_capital"].notna().sum() > 20:
        from ..productivity import production_function
        from ..productivity.registry import best_production_function

        pf, passed_over = best_production_function(f)
        if pf is not None:
            tfp_source = pf.method
            limitations.extend(f"TFP ({pf.method}): {w}" for w in pf.warnings)
        else:
            limitations.extend(passed_over)
            try:
                pf = production_function(f, method="fe", vcov=vcov)
                tfp_source = "firm-FE Cobb-Douglas residual"
            except Exception as e:  # noqa: BLE001
                limitations.append(f"production function not estimated: {e}")
        if pf is not None:
            models[f"Production function ({tfp_source})"] = pf
            f["log_tfp"] = pf.tfp.reindex(f.index)
    trends = {}
    tfp_label = f"TFP ({tfp_source})" if tfp_source else "TFP"
    for col, label in (("log_va_per_worker", "labour productivity"), ("log_tfp", tfp_label),
                       ("log_price", "output price"), ("profit_rate", "profit rate"), ("log_sales", "firm output")):
        if col not in f:
            continue
        r = _trend(f, col, vcov)
        if r is None:
            limitations.append(f"{label}: too few observations for a trend")
            continue
        models[f"{label} trend (firm FE)"] = r
        trends[label] = (float(r.params["trend"]), float(r.std_errors["trend"]), float(r.pvalues["trend"]))
        tests[f"{label} trend = 0"] = r.wald_test("trend = 0")
    agg = f.groupby(level="year")["sales"].sum(min_count=1) if "sales" in f else pd.Series(dtype=float)
    agg = agg[agg > 0]
    out_growth = None
    if len(agg) >= 3:
        df = pd.DataFrame({"log_output": np.log(agg.to_numpy()), "trend": agg.index.to_numpy() - agg.index.min()},
                          index=pd.MultiIndex.from_arrays([["cluster"] * len(agg), agg.index], names=["c", "year"]))
        r = pooled_ols(df, "log_output ~ trend", vcov="robust")
        models["Cluster output trend"] = r
        out_growth = (float(r.params["trend"]), float(r.pvalues["trend"]))
        tests["cluster output trend = 0"] = r.wald_test("trend = 0")
    elif len(agg) >= 2:
        g = float(np.log(agg.iloc[-1] / agg.iloc[0]) / (agg.index[-1] - agg.index[0]))
        out_growth = (g, float("nan"))
        limitations.append("cluster output growth from two years only: no standard error")
    prod = trends.get(tfp_label) or trends.get("labour productivity")
    prod_name = tfp_label if tfp_label in trends else "labour productivity"
    price = trends.get("output price")
    if prod is None or out_growth is None:
        raise SkipHypothesis("needs output and productivity (sales, material cost, employees) in two or more years")
    grows = out_growth[0] > 0 and (np.isnan(out_growth[1]) or out_growth[1] < 0.05)
    flat = not (prod[0] > 0 and prod[2] < 0.05)
    falling_price = price is not None and price[0] < 0
    supported = grows and flat and (price is None or falling_price)
    status = "supported" if supported else ("mixed" if grows and (flat or falling_price) else "not supported")
    verdict = (f"{status.capitalize()}: over {how}, cluster output grows {100 * out_growth[0]:.1f}% a year"
               + (f" ({fmt_p(out_growth[1])})" if not np.isnan(out_growth[1]) else "")
               + f" while productivity ({prod_name}) changes {100 * prod[0]:+.1f}% a year (s.e. {100 * prod[1]:.1f}, "
               + f"{fmt_p(prod[2])})")
    if price is not None:
        verdict += f" and the output price {100 * price[0]:+.1f}% a year ({fmt_p(price[2])})"
    if "profit rate" in trends:
        verdict += f"; the profit rate changes {trends['profit rate'][0]:+.4f} a year"
    verdict += "."
    profile = f.groupby(level="year")[[c for c in ("log_va_per_worker", "log_tfp", "log_price", "profit_rate")
                                       if c in f]].mean()
    return HypothesisResult(
        key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, models=models, tests=tests,
        tables={"trends": pd.DataFrame(trends, index=["slope", "se", "p"]).T, "yearly means": profile},
        figures={"profile": profile}, limitations=tuple(limitations),
        assumptions=("linear trends within the expansion years", "firm fixed effects; SEs clustered by firm"),
        extra={"years": years, "output_growth": out_growth, "productivity_trend": prod, "tfp_source": tfp_source},
    )


__all__ = ["productivity_stagnation"]
