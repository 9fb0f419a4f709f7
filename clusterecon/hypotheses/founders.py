r"""Founders (initiation): merchants start industries with simple technology, engineers those with complex
technology (Sonobe & Otsuka 2006, ch. 2; ``literature.md`` §1A, hypothesis A1).

On the firm table (one row per firm):

* cross-tab of the founder's prior occupation by entry cohort (pioneers = firms founded before the entry take-off
  dated by the phase diagnosis, else the earliest quarter of founding years) and, when the data pool clusters of
  both kinds, by technology complexity, each with Pearson's χ² test of independence (scipy);
* the share of the expected founder type (merchant for simple technology, engineer for complex) among pioneers
  against later entrants, with Fisher's exact test;
* a multinomial logit of the prior occupation on the pioneer dummy (and technology when it varies), with
  average marginal effects, where the categories have enough firms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.results import TestResult
from ..panel import SurveyPanel
from ._common import fmt_p, run_hypothesis
from .result import HypothesisResult, SkipHypothesis

KEY, TITLE = "founders", "Founders' prior occupations (initiation)"
QUESTION = "Were the pioneers merchants (simple technology) or engineers (complex technology)?"
EXPECTED = {"simple": "merchant", "complex": "engineer"}


def founder_origins(panel: SurveyPanel, *, pioneer_until: int | None = None) -> HypothesisResult:
    """``pioneer_until``: last founding year counted as a pioneer; default from the phase diagnosis."""
    return run_hypothesis(lambda: _run(panel, pioneer_until), KEY, TITLE, QUESTION)


def _chi2(table: pd.DataFrame, name: str) -> TestResult | None:
    t = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return None
    chi2, p, dof, _ = stats.chi2_contingency(t.to_numpy())
    return TestResult(f"Pearson chi2 ({name})", float(chi2), float(p), int(dof), "chi2",
                      f"founder occupation independent of {name}")


def _run(panel: SurveyPanel, pioneer_until: int | None) -> HypothesisResult:
    firms = panel.firms
    for c in ("founder_prior_occupation", "founding_year"):
        if c not in firms or firms[c].notna().sum() == 0:
            raise SkipHypothesis(f"the survey has no {c}")
    d = firms[["founder_prior_occupation", "founding_year"]].dropna().copy()
    d["founder_prior_occupation"] = d["founder_prior_occupation"].astype(str)
    d["founding_year"] = pd.to_numeric(d["founding_year"]).astype(int)
    limitations = []
    if pioneer_until is None:
        from .phases import diagnose_phases

        ph = diagnose_phases(panel).extra
        start = ph.get("expansion_start") if ph.get("expansion_detected") else None
        if start is not None and (d["founding_year"] < start).sum() >= 3:
            pioneer_until, how = start - 1, f"founded before the entry take-off in {start}"
        else:
            pioneer_until = int(np.quantile(d["founding_year"], 0.25))
            how = f"the earliest quarter of founding years (up to {pioneer_until})"
    else:
        how = f"founded up to {pioneer_until}"
    d["cohort"] = np.where(d["founding_year"] <= pioneer_until, "pioneers", "later entrants")
    tables = {"occupation by cohort": pd.crosstab(d["founder_prior_occupation"], d["cohort"], margins=True)}
    tests = {}
    t = _chi2(pd.crosstab(d["founder_prior_occupation"], d["cohort"]), "entry cohort")
    if t:
        tests["occupation x cohort"] = t
    tech = firms.get("technology")
    techs = tech.dropna().astype(str).unique().tolist() if tech is not None else []
    if len(techs) > 1:
        d["technology"] = tech.reindex(d.index).astype(str)
        tables["occupation by technology"] = pd.crosstab(d["founder_prior_occupation"], d["technology"],
                                                         margins=True)
        t = _chi2(pd.crosstab(d["founder_prior_occupation"], d["technology"]), "technology")
        if t:
            tests["occupation x technology"] = t
    elif not techs:
        limitations.append("technology complexity is not recorded: the expected founder type is unknown")
    verdict_parts, status = [], "descriptive"
    for tk in techs or []:
        exp = EXPECTED.get(tk)
        sub = d if len(techs) == 1 else d[d["technology"] == tk]
        pio = sub[sub["cohort"] == "pioneers"]
        later = sub[sub["cohort"] == "later entrants"]
        if exp is None or len(pio) == 0:
            continue
        a, b = int((pio["founder_prior_occupation"] == exp).sum()), len(pio)
        c, n = int((later["founder_prior_occupation"] == exp).sum()), len(later)
        modal = pio["founder_prior_occupation"].value_counts().idxmax()
        if n:
            _, p = stats.fisher_exact([[a, b - a], [c, n - c]], alternative="greater")
            tests[f"{exp} share pioneers > later ({tk})"] = TestResult(
                "Fisher exact", a / b - c / n, float(p), 1, "exact", f"{exp} share among pioneers <= later entrants")
        else:
            p = float("nan")
        ok = modal == exp and (np.isnan(p) or p < 0.05)
        status = "supported" if ok and status in ("descriptive", "supported") else "not supported"
        verdict_parts.append(f"{tk} technology: {a} of {b} pioneers ({100 * a / b:.0f}%) were {exp}s against "
                             f"{c} of {n} later entrants ({100 * c / n if n else float('nan'):.0f}%, "
                             f"{fmt_p(p) if not np.isnan(p) else 'no later entrants'}); the most common pioneer "
                             f"background is {modal}")
    models = {}
    try:
        models.update(_mnlogit(d, techs))
    except Exception as e:  # noqa: BLE001 - the cross-tabs stand on their own
        limitations.append(f"multinomial logit not estimated: {e}")
    verdict = (f"{status.capitalize()}: pioneers are firms {how}; " + "; ".join(verdict_parts) + "."
               if verdict_parts else f"Descriptive only: pioneers are firms {how}; see the cross-tabs.")
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict,
                            models=models, tests=tests, tables=tables, figures={"entry_by_founder": d},
                            limitations=tuple(limitations),
                            assumptions=("founders' occupations are recalled correctly",
                                         "survivor-only samples under-represent early exits"),
                            extra={"pioneer_until": pioneer_until})


def _mnlogit(d: pd.DataFrame, techs: list[str]) -> dict:
    from ..estimators.mnlogit import mnlogit

    counts = d["founder_prior_occupation"].value_counts()
    keep = counts[counts >= 5].index
    sub = d[d["founder_prior_occupation"].isin(keep)].copy()
    if sub["founder_prior_occupation"].nunique() < 2 or sub["cohort"].nunique() < 2:
        return {}
    sub["pioneer"] = (sub["cohort"] == "pioneers").astype(float)
    rhs = "pioneer" + (" + C(technology)" if len(techs) > 1 else "")
    frame = sub.reset_index().set_index(["firm_id", "founding_year"])
    res = mnlogit(frame, f"founder_prior_occupation ~ {rhs}")
    return {"Multinomial logit: founder occupation": res}
