r"""Productivity stagnation in quantity expansion: output grows while productivity does not, and prices fall
(Sonobe & Otsuka 2006, chs. 4–8).

Within the quantity-expansion years dated by the phase diagnosis (from the entry take-off to the year before the
quality transition; ``years=`` overrides):

* **productivity** (primary claim): the trend of log TFP does not exceed ``RULES.stagnation_margin`` (2% a year):
  supported when the one-sided 95% upper bound is below the margin, not supported when the trend is at least the
  margin and significantly above 0 (one-sided lower bound above 0), inconclusive in between. TFP comes from
  :func:`~clusterecon.productivity.selection.guarded_tfp` on the whole panel: the best production function the data
  support if its elasticities lie in [0, 1.2] and returns to scale in [0.5, 1.5], else the cost-share index (the
  verdict says so); without capital or cost data, log value added per worker;
* **output** (secondary): cluster output (log total sales of the firms observed) rises — OLS on a linear trend,
  classical SEs with t(T − 2), needs ``RULES.min_trend_years`` years. An operating firm that does not report sales
  lowers its year's sum: a year is kept while at most ``OUTPUT_MAX_MISSING`` (5%) of its operating firms lack sales
  (the claim names those years and counts), and left out of the trend otherwise (the model's omitted rows count
  those years); closure records do not operate and do not count;
* **price** (secondary): the trend of the log output price is negative (p < α, two-sided t test).

**Trends robust to shocks common to a year.** The productivity and price trends are each fitted twice: the
firm fixed-effects trend (SEs clustered by firm, ``vcov="cluster"``, Stata ``xtreg, fe vce(cluster firm)``,
t(G − 1)) and the OLS trend of the year effects of a two-way (firm + year) FE regression (classical s.e.,
t(T − 2); Donald & Lang 2007). A trend is an aggregate regressor, so a shock common to all firms in a year (a
market price moved by demand) is invisible to the firm-clustered s.e. (Moulton 1990): the size audit found the price
claim "supported" in 37% of runs with a flat real price. Each claim is judged on the more conservative fit (the
wider interval, each with its own df) and its test says which fit decided (:mod:`._stagnation_trends`, where the
math and the references are). The year-effects trend needs ``RULES.min_trend_years`` years.

**Revenue productivity.** Productivity built from sales in money is revenue productivity: price times physical
productivity (Foster, Haltiwanger & Syverson 2008). Sonobe and Otsuka's stagnation is that of real revenue
productivity — money values deflated by a general price index — which stagnates as imitators crowd in and the
cluster's own price falls, so the claim judges it; the trend of productivity net of the output price (log TFP −
log price, its own firm-FE trend) is reported beside it when prices fall. Nominal values need a deflator
(``analyse(panel, deflator=...)``): a general deflation — every money value falling 6% a year while physical
productivity grows 4% — reads as stagnation (the size audit: "supported" in every run without the deflator, in none
with it), and the verdict says so whenever the values were not deflated and the price-net trend grows. Reported
besides: the trends of log value added per worker and of the profit rate (value added − wage bill)/sales, and the
year profile of each.
When prices fall, the verdict still gives the revenue, price and price-net trends side by side (the garments
sample: revenue TFP about −8% a year while prices fall about 7.5% a year).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive import explain_missing
from ..estimators.results import Omitted
from ..panel import SurveyPanel
from ._common import add_wald, analysis_frame, fmt_p, run_hypothesis, with_left_out
from ._stagnation_trends import RobustTrend, fe_numbers, year_effects_trend, year_misses
from .evidence import RULES, judge_at_most, judge_sign, shortfalls
from .phases import entry_records_complete, span_origin
from .result import Claim, HypothesisResult, SkipHypothesis, ThinEvidence, combine_status

KEY, TITLE = "stagnation", "Productivity stagnation (quantity expansion)"
QUESTION = "While the cluster expands, does output grow with flat productivity and falling prices and profits?"
CLAIMS = ("productivity", "output", "price")
#: how each trend claim is fitted and which fit decides (the rules quote it)
ROBUST = ("each trend fitted twice — the firm-FE trend (SEs clustered by firm, t(G − 1)) and the OLS trend of the "
          "year effects of a two-way FE regression (classical s.e., t(T − 2): robust to shocks common to a year) — "
          "and judged on the more conservative (the wider interval)")
PROD_RULE = (f"supported if the one-sided {100 * (1 - RULES.alpha):g}% upper bound of the trend of (real) revenue "
             f"productivity is below {RULES.stagnation_margin:g} a year; not supported if the trend is at least that "
             f"and significantly above 0 (one-sided lower bound > 0); {ROBUST}; needs ≥ {RULES.min_panel_years} years "
             f"and ≥ {RULES.min_clusters} firms observed twice, and ≥ {RULES.min_trend_years} years of year effects")
#: the share of a year's operating firms that may lack sales before its summed sales stop being the cluster's output
OUTPUT_MAX_MISSING = 0.05
OUTPUT_GAP = (f"years in which more than {100 * OUTPUT_MAX_MISSING:g}% of the operating firms lack sales (the total "
              "would be understated)")


OUT_RULE = (f"supported if the trend of log cluster output is positive at {RULES.alpha:g} (t test, T − 2 df); needs "
            f"≥ {RULES.min_trend_years} years and complete entry records (a census, or annual rounds that take in "
            "entrants): a sample of survivors or incumbents does not sum to the cluster's output; a year counts "
            f"while at most {100 * OUTPUT_MAX_MISSING:g}% of its operating firms lack sales (the claim lists them), "
            "else it is left out of the trend")
PRICE_RULE = (f"supported if the trend of the log output price is negative at {RULES.alpha:g} (two-sided t test); "
              f"{ROBUST}; needs ≥ {RULES.min_panel_years} years and ≥ {RULES.min_clusters} firms observed twice, and "
              f"≥ {RULES.min_trend_years} years of year effects")


#: what a user who knows the cluster's history can do when the survey's years cannot be placed in a phase
SPAN_ADVICE = ("if the cluster's history dates its phases, give them (--expansion-start/--quality-start with "
               "--history-source, the mapping's [history], or analyse(panel, expansion_start=…, quality_start=…)), "
               "or test a span you know with productivity_stagnation(panel, years=(first, last))")

def productivity_stagnation(panel: SurveyPanel, *, years: tuple[int, int] | None = None, vcov: str = "cluster",
                            phases: HypothesisResult | None = None, years_source: str = "user-given years",
                            ) -> HypothesisResult:
    """``years``: (first, last) year of quantity expansion; default from the phase diagnosis (``phases``, run here
    when not given); ``years_source`` says where given years come from (quoted in the verdict)."""
    return run_hypothesis(lambda: _run(panel, years, vcov, phases, years_source), KEY, TITLE, QUESTION,
                          claims=CLAIMS)


def _expansion_years(panel: SurveyPanel, phases: HypothesisResult | None) -> tuple[tuple[int, int] | None, str]:
    if phases is None:
        from .phases import diagnose_phases

        phases = diagnose_phases(panel)
    ph = phases.extra
    if ph.get("quality_before_observed"):
        raise SkipHypothesis("no quantity-expansion years observed: quality improvement was already under way in "
                             f"{min(panel.years)}, the first year observed ({ph['quality_before_observed']}), so every "
                             "year the survey covers is in quality improvement; " + SPAN_ADVICE)
    if ph.get("phase_judged") is False:
        why = ph.get("quality_undatable_reason") or "too few years to see whether quality improvement has begun"
        # without an innovation indicator no survey of this design can place its years; with one, more firms or
        # more (consecutive) years could: thin evidence, not a design that cannot answer
        exc = ThinEvidence if ph.get("innovation_recorded", True) else SkipHypothesis
        raise exc(f"the survey's years cannot be placed in a phase ({why}), so quantity-expansion years cannot be "
                  "identified; " + SPAN_ADVICE)
    if ph.get("quality_undated"):  # more (consecutive) years could date it: thin evidence
        raise ThinEvidence("quality improvement is under way but its start cannot be dated from the survey's years, "
                             "so the quantity-expansion years cannot be separated from it; "
                             + SPAN_ADVICE)
    for phase, lo, hi in ph.get("spans", []):
        if phase == "quantity expansion":
            how = (f"the quantity-expansion years {lo}–{hi}" + (
                span_origin(ph) if ph.get("expansion_given") or ph.get("quality_given")
                else " dated by the phase diagnosis") if ph.get(
                "expansion_detected") else f"the years {lo}–{hi} before any dated quality transition (the entry "
                   "take-off is not dated)")
            # the phase spans reach back to the founding years; the trends can only use the years observed
            first, last = min(panel.years), max(panel.years)
            lo_o, hi_o = max(lo, first), min(hi, last)
            if lo_o > hi_o:
                break
            if (lo_o, hi_o) != (lo, hi):
                how = how.replace(f"{lo}–{hi}", f"{lo_o}–{hi_o}", 1) + f" (of the span {lo}–{hi}, the years observed)"
            return (lo_o, hi_o), how
    raise SkipHypothesis("the phase diagnosis finds no quantity-expansion years within the years observed")


def _fe_trend(f: pd.DataFrame, y: str, vcov: str):
    from ..estimators.within import within

    sub = f[f[y].notna()]
    reps = sub.groupby(level="firm_id").size()
    sub = sub[sub.index.get_level_values("firm_id").isin(reps[reps >= 2].index)]
    # one firm observed twice cannot carry a firm-clustered trend (the calibration's survivor designs met it for the
    # price): too few firms, never a failed hypothesis
    if (sub.index.get_level_values("year").nunique() < 2 or sub.shape[0] < 4
            or sub.index.get_level_values("firm_id").nunique() < 2):
        return None, sub
    # fitted on all of f, so that the result counts the firm-years without a value (and why) and the firms seen once
    # (the same sample as ``sub``)
    return within(f, f"{y} ~ trend", effects="firm", vcov=vcov, singletons="drop"), sub


def _panel_misses(sub: pd.DataFrame) -> list[str]:
    ny = sub.index.get_level_values("year").nunique()
    g = sub.index.get_level_values("firm_id").nunique()
    return shortfalls([(ny >= RULES.min_panel_years, f"{ny} years (needs {RULES.min_panel_years})"),
                       (g >= RULES.min_clusters, f"{g} firms observed twice (needs {RULES.min_clusters} clusters)")])


def _robust(sub: pd.DataFrame, col: str, r, label: str, models: dict) -> RobustTrend:
    """The firm-FE trend ``r`` of ``col`` and the trend of its two-way FE year effects (on the same firm-years
    ``sub``), with the minimum-evidence rules of both; the year-effects fit joins the models."""
    yt = year_effects_trend(sub, col)
    if yt is not None and yt.model is not None:
        models[f"{label} trend of the year effects (two-way FE)"] = yt.model
    return RobustTrend(fe_numbers(r), yt, tuple(_panel_misses(sub)),
                       tuple(year_misses(yt, sub.index.get_level_values("year").nunique())))


def _tfp(whole: pd.DataFrame, f: pd.DataFrame, vcov: str, models: dict, tables: dict) -> tuple[str, str, list[str]]:
    """Put log TFP into ``f`` (column ``log_tfp``) from the guarded production function on the whole panel
    (``whole``: its analysis frame); returns (column, label, warnings)."""
    from ..productivity.selection import guarded_tfp, tfp_summary

    if not ({"capital", "employees", "sales", "material_cost"} <= set(whole.columns)
            and whole["capital"].notna().sum() > 20):
        return "log_va_per_worker", "labour productivity (log value added per worker)", []
    choice = guarded_tfp(whole, vcov=vcov)
    tables["TFP source"] = pd.DataFrame([tfp_summary(choice)])
    if choice.result is not None:
        models[f"Production function ({choice.result.method})"] = choice.result
    if choice.ln_tfp is None:
        return "log_va_per_worker", "labour productivity (log value added per worker)", list(choice.warnings)
    f["log_tfp"] = choice.ln_tfp.reindex(f.index)
    outside = f"outside the TFP sample ({choice.source.split(' (')[0]}: see its omitted rows)"
    explain_missing(f, log_tfp=[*({"source": c} for c in ("log_va", "log_employees", "log_capital")), {"why": outside}])
    return "log_tfp", f"TFP ({choice.source})", list(choice.warnings)


#: the column of productivity net of the output price (log productivity − log price: physical productivity when
#: value added moves with the price)
NET = "log_productivity_net_of_price"
#: one-sided level of the at-most bound and two-sided level of the sign test: the widths the fits are compared by
AT_MOST_LEVEL, SIGN_LEVEL = 1 - RULES.alpha, 1 - RULES.alpha / 2


def _run(panel: SurveyPanel, years: tuple[int, int] | None, vcov: str, phases: HypothesisResult | None,
         years_source: str) -> HypothesisResult:
    from ..estimators.pooled import pooled_ols

    if len(panel.years) < 2:
        raise SkipHypothesis("a single survey year: trends cannot be estimated (T = 1)")
    how = f"{years_source} {years[0]}–{years[1]}" if years is not None else None
    if years is None:
        years, how = _expansion_years(panel, phases)
    whole = analysis_frame(panel)  # once: the production function is fitted on the whole panel
    yr = whole.index.get_level_values("year")
    f = whole[(yr >= years[0]) & (yr <= years[1])].copy()
    f.attrs = dict(whole.attrs)
    yr = f.index.get_level_values("year")
    if yr.nunique() < 2:
        raise SkipHypothesis(f"fewer than two observed years within {how}")
    f = f.assign(trend=(yr - yr.min()).astype(float))
    if {"value_added", "wage_bill", "sales"} <= set(f.columns):
        f["profit_rate"] = (f["value_added"] - f["wage_bill"]) / f["sales"].where(f["sales"] > 0)
        explain_missing(f, profit_rate=[{"source": "value_added"}, {"source": "wage_bill"},
                                        {"source": "sales", "at_most": 0.0, "why": "sales <= 0 (no profit rate)"}])
    models, tests, tables, limitations = {}, {}, {}, []
    prod_col, prod_label, warnings = _tfp(whole, f, vcov, models, tables)
    if prod_col not in f.columns:  # no value added per worker to fall back on (the claim's measure is missing)
        lacking = [c for c in ("sales", "material_cost", "employees") if c not in whole.columns]
        raise SkipHypothesis(f"needs productivity (value added per worker, or TFP): the survey has no "
                             f"{', '.join(lacking) or 'value added per worker'}")
    net_label = f"{prod_label} net of the output price"
    if "log_price" in f and f["log_price"].notna().any() and f[prod_col].notna().any():
        f[NET] = f[prod_col] - f["log_price"]
        explain_missing(f, **{NET: [{"source": prod_col}, {"source": "log_price"}]})
    trends, robust = {}, {}
    done: set[str] = set()
    for col, label in ((prod_col, prod_label), ("log_va_per_worker", "labour productivity"),
                       ("log_price", "output price"), (NET, net_label), ("profit_rate", "profit rate")):
        # without TFP the productivity claim already is labour productivity: fitted (and claimed) once
        if col not in f or col in done or f[col].notna().sum() == 0:
            continue
        done.add(col)
        r, sub = _fe_trend(f, col, vcov)
        if r is None:
            limitations.append(f"{label}: too few firms observed twice for a trend")
            continue
        models[f"{label} trend (firm FE)"] = r
        trends[label] = {"slope": float(r.params["trend"]), "se": float(r.std_errors["trend"]),
                         "p": float(r.pvalues["trend"])}
        add_wald(tests, f"{label} trend = 0", r, "trend = 0")
        if col in (prod_col, "log_price", NET):  # the claimed trends: robust to shocks common to a year too
            rt = robust[col] = _robust(sub, col, r, label, models)
            if rt.years is not None:
                trends[label].update({"slope (year effects)": rt.years.estimate, "se (year effects)": rt.years.se,
                                      "p (year effects)": rt.years.pvalue, "df (year effects)": rt.years.df})
    if prod_col not in robust:
        raise SkipHypothesis("needs productivity (sales, material cost, employees) for firms observed in two or more "
                             "years within the expansion span")
    price = _price_claim(robust.get("log_price"))
    # the price-net measure is judged when prices are observed enough for the price trend itself
    priced = price is not None and price.status != "skipped" and "log_price" in robust and \
        not robust["log_price"].panel_misses and NET in robust
    claims = [_productivity_claim(robust[prod_col], prod_label),
              price or Claim(name="price", statement="the output price falls during quantity expansion",
                             status="skipped", primary=False, reason="no output prices in the survey")]
    claims.append(_output_claim(f, models, tests, pooled_ols, complete=entry_records_complete(panel)))
    caveat = _revenue_caveat(claims, prod_label, robust, prod_col, priced, panel.design.deflated_to)
    if caveat:
        warnings = [*warnings, caveat]
    status = combine_status(claims)
    verdict = f"{status.capitalize()}: over {how}, " + "; ".join(f"{c.name} [{c.status}]: {_short(c)}"
                                                                 for c in claims)
    if warnings:
        verdict += ". Warning: " + "; ".join(warnings)
    verdict += "."
    profile = f.groupby(level="year")[[c for c in ("log_va_per_worker", "log_tfp", "log_price", NET, "profit_rate")
                                       if c in f]].mean()
    return HypothesisResult(
        key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict, claims=tuple(claims), models=models,
        tests=tests, tables={**tables, "trends": pd.DataFrame(trends).T, "yearly means": profile},
        figures={"profile": profile}, limitations=tuple(limitations + warnings),
        assumptions=("linear trends within the expansion years", "firm fixed effects; SEs clustered by firm",
                     "year effects of a two-way FE regression, trend by OLS with t(T − 2) (common year shocks)"),
        extra={"years": years, "productivity_measure": prod_label, "tfp_warnings": tuple(warnings),
               "revenue_caveat": caveat},
    )


def _price_claim(rt: RobustTrend | None) -> Claim | None:
    if rt is None:
        return None
    d = rt.decisive(SIGN_LEVEL)
    status, why = judge_sign(d.estimate, d.se, d.pvalue, expect=-1, misses=list(rt.misses))
    return Claim(name="price", statement="the output price falls during quantity expansion", status=status,
                 test=f"trend of the log output price: {rt.describe(SIGN_LEVEL)}", rule=PRICE_RULE,
                 reason=f"{why} (by the {d.fit.split(' (')[0]})", primary=False, **d.numbers())


def _productivity_claim(rt: RobustTrend, prod_label: str) -> Claim:
    """Judge real revenue productivity on its more conservative fit (the at-most bound)."""
    d = rt.decisive(AT_MOST_LEVEL)
    status, why, _ = judge_at_most(d.estimate, d.se, d.df, margin=RULES.stagnation_margin, misses=list(rt.misses))
    return Claim(name="productivity", statement=f"{prod_label} does not rise during quantity expansion (by more than "
                 f"{RULES.stagnation_margin:g} log points a year)", status=status,
                 test=f"one-sided bound on the trend of {prod_label}: {rt.describe(AT_MOST_LEVEL)}", rule=PROD_RULE,
                 reason=why, **d.numbers())


def _revenue_caveat(claims: list[Claim], prod_label: str, robust: dict, prod_col: str, priced: bool,
                    deflated_to: int | None) -> str | None:
    """Productivity measured from sales in money is revenue productivity: price times physical productivity (Foster,
    Haltiwanger & Syverson 2008). Sonobe and Otsuka's stagnation is that of real revenue productivity (money values
    deflated by a general price index), which falls with the cluster's own price as imitators crowd in; a general
    deflation of nominal values looks the same. The verdict says which case the data are in: without output prices
    that the share of a price trend cannot be told; with prices falling, the revenue, price and price-net trends side
    by side; and, for nominal values (no deflator applied), that a general deflation would read the same."""
    prod = next((c for c in claims if c.name == "productivity"), None)
    price = next((c for c in claims if c.name == "price"), None)
    nominal = ("the money values are as recorded (no deflator applied): if they are nominal, a general deflation "
               "reads as stagnation — give a price index (analyse(panel, deflator=...), clusterecon analyse "
               "--deflator, or the mapping's [deflator])") if deflated_to is None else None
    if prod is not None and prod.status == "supported" and not priced:
        # the case where the user cannot check it: said, not left out
        why = ("the survey has no output prices" if price is None or price.status == "skipped"
               else "the survey's output prices are too few to net them out")
        return (f"{prod_label} is measured from sales in money, so it is revenue productivity — price times "
                f"physical productivity; {why}, so how much of its trend is a price trend cannot be told (in quantity "
                "expansion prices typically fall)" + (f"; {nominal}" if nominal else ""))
    if not priced or price is None or price.status != "supported":
        return None
    rev, p, net = (robust[c].fe.estimate for c in (prod_col, "log_price", NET))
    if not all(np.isfinite(x) for x in (rev, p, net)):
        return None
    grows = prod is not None and prod.status == "supported" and net >= RULES.stagnation_margin
    return (f"{prod_label} is measured from sales in money, so it is revenue productivity — it mixes prices and "
            f"physical productivity: over these years it moves {100 * rev:+.1f}% a year while the output "
            f"price moves {100 * p:+.1f}% a year (significantly falling), so physical productivity "
            f"changes by roughly {100 * net:+.1f}% a year (the firm-FE trend of log productivity − log price); the "
            "productivity claim judges real revenue productivity, as the case studies do"
            + (f"; {nominal}" if nominal and grows else ""))


def _short(c: Claim) -> str:
    if c.estimate is None or not np.isfinite(c.estimate):
        return c.reason
    se = c.se if c.se is not None else float("nan")
    return f"{100 * c.estimate:+.1f}% a year (s.e. {100 * se:.1f}); {c.reason}"


def _output_claim(f: pd.DataFrame, models: dict, tests: dict, pooled_ols, *, complete: bool = True) -> Claim:
    statement = "cluster output grows during quantity expansion"
    if not complete:
        # the calibration found it: summed sales of rounds drawn among the first round's firms fell with their exits
        # ("not supported" in 90% of runs) while the cluster's output grew
        return Claim(name="output", statement=statement, status="inconclusive", primary=False, rule=OUT_RULE,
                     reason="the survey holds survivors or a fixed sample of incumbents (entry records are not "
                            "complete), so its summed sales are not the cluster's output: firms that closed before "
                            "the interview, or entered after the sample was drawn, are missing")
    agg, gaps, dropped, note = _yearly_output(f)
    T = len(agg)
    misses = shortfalls([(T >= RULES.min_trend_years, f"{T} years of output (needs {RULES.min_trend_years})")])
    if T < 3:
        return Claim(name="output", statement=statement, status="inconclusive" if T else "skipped", primary=False,
                     n=T, n_units="years", rule=OUT_RULE,
                     reason=("below the minimum evidence: " + "; ".join(misses) + note) if T
                     else "no sales in the survey" + note)
    df = pd.DataFrame({"log_output": np.log(agg.to_numpy()), "trend": agg.index.to_numpy() - agg.index.min()},
                      index=pd.MultiIndex.from_arrays([["cluster"] * T, agg.index], names=["c", "year"]))
    r = pooled_ols(df, "log_output ~ trend", vcov="classical")
    unsold = int((~dropped & (gaps["total"] <= 0)).sum())
    r = with_left_out(r, [Omitted(OUTPUT_GAP, int(dropped.sum())), Omitted("years without positive summed sales",
                                                                              unsold)])
    models["Cluster output trend"] = r
    add_wald(tests, "cluster output trend = 0", r, "trend = 0")
    b, se, p = float(r.params["trend"]), float(r.std_errors["trend"]), float(r.pvalues["trend"])
    status, why = judge_sign(b, se, p, expect=+1, misses=misses)
    return Claim(name="output", statement=statement, status=status, primary=False,
                 test="OLS of log total sales on a linear trend (classical SEs, t test)", estimate=b, se=se, pvalue=p,
                 n=T, n_units="years", df=T - 2, rule=OUT_RULE, reason=f"{why} ({fmt_p(p)}){note}")


def _yearly_output(f: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, pd.Series, str]:
    """Summed sales of the years that count as cluster output, the per-year counts (operating firms, those without
    sales, the total), the mask of years left out for missing sales, and what the claim says about them. A firm
    that operates but does not report sales lowers its year's sum; a year is kept while at most
    OUTPUT_MAX_MISSING of its operating firms lack sales (closure records do not operate and do not count)."""
    if "sales" not in f:
        return pd.Series(dtype=float), pd.DataFrame(columns=["firms", "missing", "total"]), pd.Series(dtype=bool), ""
    operating = f["operating"] > 0 if "operating" in f else pd.Series(True, index=f.index)
    op = f.loc[operating.to_numpy(), "sales"]
    gaps = pd.DataFrame({"firms": op.groupby(level="year").size(), "missing": op.isna().groupby(level="year").sum(),
                         "total": op.groupby(level="year").sum(min_count=1)})
    dropped = gaps["missing"] > OUTPUT_MAX_MISSING * gaps["firms"]
    agg = gaps.loc[~dropped & (gaps["total"] > 0), "total"]
    kept = gaps.loc[agg.index]
    notes = []
    if kept["missing"].sum():
        years = ", ".join(f"{y} ({m})" for y, m in kept.loc[kept["missing"] > 0, "missing"].items())
        n = int(kept["missing"].sum())
        notes.append(f"{n} operating firm-year{'s' if n > 1 else ''} with sales missing in the years kept ({years}; at "
                     f"most {100 * OUTPUT_MAX_MISSING:g}% of a year's firms), whose totals sum the firms reporting")
    if dropped.any():
        years = ", ".join(f"{y} ({m} of {n} firms)" for y, (n, m) in gaps.loc[dropped, ["firms", "missing"]].iterrows())
        notes.append(f"left out for missing sales: {years}")
    return agg, gaps, dropped, "; " + "; ".join(notes) if notes else ""


__all__ = ["productivity_stagnation"]
