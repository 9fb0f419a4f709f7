r"""Founders (initiation): merchants start industries with simple technology, engineers those with complex
technology (Sonobe & Otsuka 2006, ch. 2).

On the firm table (one row per firm):

* pioneers = firms founded before the entry take-off dated by the phase diagnosis (or up to ``pioneer_until``);
  later entrants = the others;
* cross-tab of the founder's prior occupation by entry cohort (and by technology when clusters of both kinds are
  pooled), each with Pearson's χ² test of independence (scipy);
* the claim, per technology: the expected founder type (merchant for simple technology, engineer for complex) is
  strictly the most common pioneer background and is over-represented among pioneers relative to later entrants
  that are not spin-offs — Fisher's exact test, one-sided. Needs ≥ ``RULES.min_pioneers`` pioneers and ≥
  ``RULES.min_entrants`` later entrants in the comparison group; a tie for the most common background is
  inconclusive;
* why not all later entrants: in quantity expansion most entrants are spin-offs founded by former workers of
  cluster firms (Sonobe & Otsuka 2006, ch. 2), whose prior occupation is by construction "worker in the same
  industry". Against all later entrants the share of any other background falls with the spin-off share alone, and
  the pioneers look over-represented in it without any founder effect (size audit: 30% false support where later
  entrants were mostly spin-offs and pioneers' backgrounds were drawn like other entrants'). Pioneers are therefore
  compared with later entrants known not to be spin-offs (``is_spinoff`` false; those with an unknown status are
  left out and counted); when the survey does not record spin-off origin the comparison is with all later entrants
  and the verdict says that the comparison group includes spin-offs;
* a multinomial logit of the prior occupation on the pioneer dummy (and technology when it varies), with the
  categories that have at least 5 firms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..estimators.results import Omitted, TestResult
from ..panel import SurveyPanel
from ._common import fmt_p, run_hypothesis, with_left_out
from .evidence import RULES, judge_share_gap, shortfalls
from .phases import date_origin
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "founders", "Founders' prior occupations (initiation)"
QUESTION = "Were the pioneers merchants (simple technology) or engineers (complex technology)?"
EXPECTED = {"simple": "merchant", "complex": "engineer"}
#: fewest founders of an occupation for its own outcome in the multinomial logit
MIN_OCCUPATION = 5


def founder_origins(panel: SurveyPanel, *, pioneer_until: int | None = None, phases: HypothesisResult | None = None,
                    detail: bool = True) -> HypothesisResult:
    """``pioneer_until``: last founding year counted as a pioneer; default from the phase diagnosis (``phases``,
    run here when not given); ``detail=False`` skips the multinomial logit (descriptive, not part of the claim)."""
    return run_hypothesis(lambda: _run(panel, pioneer_until, phases, detail), KEY, TITLE, QUESTION,
                          claims=("founders",))


def _chi2(table: pd.DataFrame, name: str) -> TestResult | None:
    t = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
    if t.shape[0] < 2 or t.shape[1] < 2:
        return None
    chi2, p, dof, _ = stats.chi2_contingency(t.to_numpy())
    return TestResult(f"Pearson chi2 ({name})", float(chi2), float(p), int(dof), "chi2",
                      f"founder occupation independent of {name}")


RULE = (f"supported if the expected type is strictly the most common pioneer background and over-represented among "
        f"pioneers against later entrants that are not spin-offs (all later entrants when spin-off origin is not "
        f"recorded) (Fisher exact, one-sided, p < {RULES.alpha:g}); needs ≥ {RULES.min_pioneers} pioneers and ≥ "
        f"{RULES.min_entrants} later entrants compared; a tie is inconclusive")
#: the comparison group when spin-off origin is not recorded, as the verdict names it
ALL_LATER = ("the comparison group includes spin-offs (the survey does not record which later entrants are "
             "spin-offs): their founders, former workers of cluster firms, lower the share of any other background "
             "among later entrants by their number alone, so part of any over-representation among pioneers may be "
             "that dilution")


def _comparison(later: pd.DataFrame, known: bool) -> tuple[pd.Series, str, str]:
    """The later entrants the pioneers are compared with (module docstring): (their prior occupations, what they
    are as the verdict names them, who was left out)."""
    if not known:
        return later["founder_prior_occupation"], "later entrants", ""
    spin = later["is_spinoff"]
    keep = later.loc[spin.eq(False).fillna(False).astype(bool), "founder_prior_occupation"]
    n_spin, n_unknown = int(spin.eq(True).fillna(False).sum()), int(spin.isna().sum())
    left = f"{n_spin} later spin-offs" + (f" and {n_unknown} later entrants of unknown origin" if n_unknown else "")
    return keep, "later entrants that are not spin-offs", f"{left} left out"


def _claim(tech: str, sub: pd.DataFrame, tests: dict, known: bool) -> Claim:
    exp = EXPECTED[tech]
    pio = sub[sub["cohort"] == "pioneers"]["founder_prior_occupation"]
    later, group, left = _comparison(sub[sub["cohort"] == "later entrants"], known)
    a, b, c, n = int((pio == exp).sum()), len(pio), int((later == exp).sum()), len(later)
    name = f"founders ({tech})"
    statement = f"pioneers of a {tech}-technology cluster were mostly {exp}s"
    short_group = "later entrants not spin-offs" if known else "later entrants"
    misses = shortfalls([(b >= RULES.min_pioneers, f"{b} pioneers (needs {RULES.min_pioneers})"),
                         (n >= RULES.min_entrants, f"{n} {short_group} (needs {RULES.min_entrants})")])
    status, judged, (diff, se, p) = judge_share_gap(a, b, c, n, trait=f"were {exp}s", misses=misses)
    if b and n:
        tests[f"{exp} share pioneers > later ({tech})"] = TestResult(
            "Fisher exact", diff, p, 1, "exact", f"{exp} share among pioneers <= {short_group}", left)
    counts = pio.value_counts()
    nums = dict(test=f"Fisher exact test, one-sided: share of the expected type, pioneers vs {short_group} (s.e. "
                "under equal shares)", estimate=diff, se=se, pvalue=p, n=b + n,
                n_units=f"firms ({b} pioneer{'' if b == 1 else 's'}, {n} {short_group}" + (f"; {left}" if left else "")
                + ")", rule=RULE)
    if misses:
        return Claim(name=name, statement=statement, status="inconclusive", reason=judged, **nums)
    top = counts[counts == counts.max()].index.tolist()
    if len(top) > 1 and exp in top:
        return Claim(name=name, statement=statement, status="inconclusive",
                     reason=f"tie for the most common pioneer background: {', '.join(map(str, top))} "
                            f"({int(counts.max())} each)", **nums)
    modal = top[0] if len(top) == 1 else None
    why = (f"{a} of {b} pioneers were {exp}s against {c} of {n} {group} ({fmt_p(p)})"
           + ("" if modal == exp else f"; the most common pioneer background is {', '.join(map(str, top))}")
           + ("" if known else f"; {ALL_LATER}"))
    degenerate_split = a + c in (0, b + n)
    if status == "inconclusive" and (degenerate_split or modal == exp):
        # a degenerate comparison, or too few pioneers for the exact test to reach α (evidence.judge_share_gap); when
        # the expected type is not even the most common pioneer background, the claim fails on the counts alone
        return Claim(name=name, statement=statement, status="inconclusive", reason=f"{why}: {judged}", **nums)
    ok = modal == exp and status == "supported"
    return Claim(name=name, statement=statement, status="supported" if ok else "not supported", reason=why, **nums)


def _pioneer_cut(panel: SurveyPanel, d: pd.DataFrame, pioneer_until: int | None,
                 phases: HypothesisResult | None) -> tuple[int | None, str]:
    if pioneer_until is not None:
        return pioneer_until, f"founded up to {pioneer_until}"
    if phases is None:
        from .phases import diagnose_phases

        phases = diagnose_phases(panel)
    ph = phases.extra
    start = ph.get("expansion_start") if ph.get("expansion_detected") else None
    if start is None:
        return None, "the entry take-off is not dated"
    return start - 1, f"founded before the entry take-off in {start}{date_origin(ph, 'expansion')}"


def _run(panel: SurveyPanel, pioneer_until: int | None, phases: HypothesisResult | None,
         detail: bool = True) -> HypothesisResult:
    firms = panel.firms
    for c in ("founder_prior_occupation", "founding_year"):
        if c not in firms or firms[c].notna().sum() == 0:
            raise SkipHypothesis(f"the survey has no {c}")
    tech = firms.get("technology")
    techs = [t for t in (tech.dropna().astype(str).unique().tolist() if tech is not None else []) if t in EXPECTED]
    if not techs:
        raise SkipHypothesis("technology complexity is not recorded (simple or complex): the expected founder type "
                             "is unknown")
    # spin-off origin, when recorded, picks the comparison group (module docstring)
    known = "is_spinoff" in firms and bool(firms["is_spinoff"].notna().any())
    d = firms[["founder_prior_occupation", "founding_year"]].dropna().copy()
    if known:
        d["is_spinoff"] = firms["is_spinoff"].reindex(d.index).astype("boolean")
    d["founder_prior_occupation"] = d["founder_prior_occupation"].astype(str)
    d["founding_year"] = pd.to_numeric(d["founding_year"]).astype(int)
    limitations: list[str] = []
    cut, how = _pioneer_cut(panel, d, pioneer_until, phases)
    if cut is None:
        claims = tuple(Claim(name=f"founders ({t})" if len(techs) > 1 else "founders",
                             statement=f"pioneers of a {t}-technology cluster were mostly {EXPECTED[t]}s",
                             status="inconclusive", rule=RULE,
                             reason="the entry take-off is not dated, so pioneers cannot be told from later "
                                    "entrants (give the start of quantity expansion if the cluster's history "
                                    "dates it: --expansion-start, [history] expansion_start, or pioneer_until= in "
                                    "Python)") for t in techs)
        return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=combine_status(claims),
                                verdict="Inconclusive: " + claims[0].reason + ".", claims=claims,
                                tables={"occupation by founding year": pd.crosstab(
                                    d["founding_year"], d["founder_prior_occupation"])})
    d["cohort"] = np.where(d["founding_year"] <= cut, "pioneers", "later entrants")
    tables = {"occupation by cohort": pd.crosstab(d["founder_prior_occupation"], d["cohort"], margins=True)}
    tests = {}
    t = _chi2(pd.crosstab(d["founder_prior_occupation"], d["cohort"]), "entry cohort")
    if t:
        tests["occupation x cohort"] = t
    if len(techs) > 1:
        d["technology"] = tech.reindex(d.index).astype(str)
        tables["occupation by technology"] = pd.crosstab(d["founder_prior_occupation"], d["technology"],
                                                         margins=True)
        t = _chi2(pd.crosstab(d["founder_prior_occupation"], d["technology"]), "technology")
        if t:
            tests["occupation x technology"] = t
    claims = []
    for tk in techs:
        sub = d if len(techs) == 1 else d[d["technology"] == tk]
        c = _claim(tk, sub, tests, known)
        if len(techs) == 1:
            c = Claim(**{**c.__dict__, "name": "founders"})
        claims.append(c)
    models = {}
    try:
        if detail:
            occ, fy = firms["founder_prior_occupation"], firms["founding_year"]
            models.update(_mnlogit(d, techs, [Omitted("missing founder_prior_occupation", int(occ.isna().sum())),
                                              Omitted("missing founding_year", int((occ.notna() & fy.isna()).sum()))]))
    except Exception as e:  # noqa: BLE001 - the cross-tabs stand on their own
        limitations.append(f"multinomial logit not estimated: {e}")
    status = combine_status(claims)
    verdict = (f"{status.capitalize()}: pioneers are firms {how}; "
               + "; ".join(f"{c.name}: {c.reason}" for c in claims) + ".")
    if not panel.design.can_study_exit:
        limitations.append("survivor-only sample: pioneers that closed before the interview are missing")
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict,
                            claims=tuple(claims), models=models, tests=tests, tables=tables,
                            figures={"entry_by_founder": d}, limitations=tuple(limitations),
                            assumptions=("founders' occupations are recalled correctly",
                                         "survivor-only samples under-represent early exits"),
                            extra={"pioneer_until": cut})


def _mnlogit(d: pd.DataFrame, techs: list[str], left_out: list[Omitted]) -> dict:
    """Multinomial logit of the occupation on the pioneer dummy; ``left_out``: the firms not in ``d`` and why."""
    from ..estimators.mnlogit import mnlogit

    counts = d["founder_prior_occupation"].value_counts()
    keep = counts[counts >= MIN_OCCUPATION].index
    sub = d[d["founder_prior_occupation"].isin(keep)].copy()
    if sub["founder_prior_occupation"].nunique() < 2 or sub["cohort"].nunique() < 2:
        return {}
    sub["pioneer"] = (sub["cohort"] == "pioneers").astype(float)
    if sub["pioneer"].sum() < 2:
        return {}
    rhs = "pioneer" + (" + C(technology)" if len(techs) > 1 else "")
    frame = sub.reset_index().set_index(["firm_id", "founding_year"])
    res = mnlogit(frame, f"founder_prior_occupation ~ {rhs}")
    rare = Omitted(f"founder occupation with fewer than {MIN_OCCUPATION} founders", len(d) - len(sub))
    return {"Multinomial logit: founder occupation": with_left_out(res, [*left_out, rare])}
