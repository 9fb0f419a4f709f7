r"""Innovation → performance (quality improvement; Sonobe & Otsuka 2006, ch. 2; 2011, ch. 1): do firms that innovate
grow and perform better?

Claims, each from a regression with firm and year fixed effects (the within-firm gain from innovating; SEs clustered
by firm, ``vcov="cluster"``):

* **sales** (primary): the coefficient of any innovation on log sales is positive at 5%;
* **productivity** (secondary): the same for log value added per worker.

Pre-adoption check (:mod:`._pretrend`): the fixed-effects coefficient is an effect only if adopters were not
already doing better just before they adopted. Each claim's model gets a lead, 1 in a later adopter's last two
observed years before adoption,

.. math::

    y_{it} = \alpha_i + \tau_t + \beta\,D_{it} + \lambda\,P_{it} + \varepsilon_{it};

a claim whose lead λ is positive and significant at 5% (two-sided), or at least the estimated effect, is
``inconclusive`` with λ, its s.e. and p in the reason (firms adopting after a run of good sales: 97% false support
before the check); a significant dip before adoption is judged on β of the model with the lead.
With fewer than ``RULES.min_switchers_bootstrap`` adopters seen both in that window and earlier, the reason says the
check could not be made and the claim keeps the status of the main test. What it cannot catch (a steady firm-
specific growth trend, e.g. exporting reached by growing) is in :mod:`._pretrend`.

Minimum evidence: ≥ ``RULES.min_switchers`` firms whose innovation status changes within the years observed (what
firm fixed effects identify from) and ≥ ``RULES.min_clusters`` firms. With ``RULES.min_switchers_bootstrap`` to
``RULES.min_switchers`` − 1 switchers the firm-clustered t over-rejects — its variance rests on the scores of a
handful of treated clusters (MacKinnon and Webb 2017, *J. Applied Econometrics* 32: 233–254; 2018, *Econometrics
Journal* 21: 114–135) — so the claim is judged by the p-value of a wild cluster *restricted* bootstrap of the same
fit (Webb's six-point weights, ``BOOT_DRAWS`` draws, seed ``BOOT_SEED``:
:func:`~clusterecon.estimators.wild_bootstrap`). Measured on the calibration's small designs (24 replications each
of 5 annual rounds, 8-year recall of 40 and 150 firms, both generators; runs with 3–9 switchers): rejection with no
effect 8.6% for the clustered t at a nominal 2.5% one-sided (13% on the reduced form), 2.9% for the bootstrap; with
the effect on, 65% for the bootstrap. Fewer than ``RULES.min_switchers_bootstrap`` switchers: ``inconclusive``. Exit
of non-innovators is its own hypothesis (:mod:`.exit`), with its own status.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..panel import SurveyPanel
from ._common import add_wald, analysis_frame, fmt_p, require_columns, run_hypothesis
from ._pretrend import check as pretrend_check
from .evidence import RULES, judge_sign, shortfalls
from .result import Claim, HypothesisResult, SkipHypothesis, combine_status

KEY, TITLE = "performance", "Innovation and performance"
QUESTION = "Do firms that innovate sell more and become more productive?"
BOOT_DRAWS, BOOT_SEED = 999, 20261206
RULE = (f"supported if the firm- and year-FE coefficient of innovating is positive at {RULES.alpha:g} (SEs clustered "
        f"by firm; with {RULES.min_switchers_bootstrap}–{RULES.min_switchers - 1} firms changing innovation status the "
        f"p-value of a wild cluster restricted bootstrap, Webb weights); needs ≥ {RULES.min_switchers_bootstrap} firms "
        f"that change innovation status and ≥ {RULES.min_clusters} firms, and no pre-adoption gain (the lead of the "
        f"last two years before adoption not significantly positive at {RULES.alpha:g} and smaller than the effect; "
        "else inconclusive)")


def innovation_performance(panel: SurveyPanel, *, vcov: str = "cluster") -> HypothesisResult:
    return run_hypothesis(lambda: _run(panel, vcov), KEY, TITLE, QUESTION, claims=("sales", "productivity"))


def _switchers(f: pd.DataFrame, col: str) -> int:
    sub = f.loc[f[col].notna() & f["any_innovation"].notna(), "any_innovation"]
    g = sub.groupby(level="firm_id").agg(["min", "max"])
    return int((g["min"] != g["max"]).sum())


def _run(panel: SurveyPanel, vcov: str) -> HypothesisResult:
    from ..estimators.design import SpecificationError
    from ..estimators.within import within

    if len(panel.years) < 2:
        raise SkipHypothesis("a single survey year: within-firm effects of innovating need T >= 2")
    f = analysis_frame(panel)
    require_columns(f, ["any_innovation"], "innovation and performance")
    models, tests, limitations, claims = {}, {}, [], []
    for col, label, name, primary in (("log_sales", "log sales", "sales", True),
                                      ("log_va_per_worker", "log labour productivity", "productivity", False)):
        statement = f"innovating raises {label} within firms"
        if col not in f or f[col].notna().sum() == 0:
            claims.append(Claim(name=name, statement=statement, status="skipped", primary=primary, rule=RULE,
                                reason=f"the survey has no {label}"))
            continue
        sw = _switchers(f, col)
        try:
            r = within(f, f"{col} ~ any_innovation", effects="twoway", vcov=vcov, collinear="raise")
        except SpecificationError:
            r = None
        if r is None or "any_innovation" not in r.names:
            claims.append(Claim(name=name, statement=statement, status="skipped" if sw == 0 else "inconclusive",
                                primary=primary, rule=RULE, n=sw, n_units="firms changing innovation status",
                                reason="innovation does not vary within firms over the years observed (recorded in "
                                       "one year only, or never changing): firm fixed effects absorb it"))
            continue
        models[f"{label} on innovation (firm and year FE)"] = r
        add_wald(tests, f"innovation effect on {label} = 0", r, "any_innovation = 0")
        b, se, p = (float(r.params["any_innovation"]), float(r.std_errors["any_innovation"]),
                    float(r.pvalues["any_innovation"]))
        pre = pretrend_check(f, col, label, b, vcov)
        if pre["fit"] is not None:
            models[f"{label}: pre-adoption lead (firm and year FE)"] = pre["fit"]
        judged, without, model = r, "", "firm and year fixed effects"
        check = "; pre-adoption lead (last two observed years before adopting) as a check"
        if pre["status"] == "dip":  # the dip years out of the reference period (see _pretrend): the claim's numbers
            judged, without = pre["fit"], f"; without the lead {b:+.3f} (s.e. {se:.3f}, {fmt_p(p)})"  # are that fit's
            b, se, p = pre["effect"], pre["effect_se"], pre["effect_p"]
            model, check = ("firm and year fixed effects with the pre-adoption lead (a dip before adoption leaves the "
                            "reference period)"), ""
        g = judged.variance.n_clusters[0] if judged.variance.n_clusters else None
        boot = _few_switchers_bootstrap(judged, sw, g, vcov)
        inference = "t test"
        if boot is not None:  # the clustered t over-rejects with this few treated clusters (module docstring)
            p = boot.pvalue
            tests[f"innovation effect on {label} = 0 (wild cluster bootstrap, the claim's test)"] = boot.as_test()
            inference = f"{boot.method} p-value ({sw} firms change innovation status: too few for the clustered t)"
        test = f"{model}, {inference}, SEs clustered by firm{check}"
        least = RULES.min_switchers_bootstrap if boot is not None else RULES.min_switchers
        misses = shortfalls([(sw >= least, f"{sw} firms change innovation status (needs {least})"),
                             (g is None or g >= RULES.min_clusters, f"{g} firms (needs {RULES.min_clusters} "
                                                                    "clusters)")])
        status, why = judge_sign(b, se, p, expect=+1, misses=misses)
        if status == "supported" and pre["status"] == "flagged":
            status = "inconclusive"
        why += f"; {pre['text']}"
        claims.append(Claim(name=name, statement=statement, status=status, primary=primary, rule=RULE, test=test,
                            estimate=b, se=se, pvalue=p, n=int(judged.nobs),
                            n_units=f"firm-years ({judged.n_entities} firms, {sw} switchers)",
                            df=None if boot is not None else (g - 1) if g else judged.df_resid,
                            reason=f"innovating changes {label} by {b:+.3f} (s.e. {se:.3f}, "
                                   f"{'bootstrap ' if boot is not None else ''}{fmt_p(p)}{without}): "
                                   f"{why}"))
    if all(c.status == "skipped" for c in claims):
        raise SkipHypothesis(claims[0].reason)
    status = combine_status(claims)
    verdict = f"{status.capitalize()}: " + "; ".join(f"{c.name} [{c.status}]: {c.reason}" for c in claims) + "."
    return HypothesisResult(key=KEY, title=TITLE, question=QUESTION, status=status, verdict=verdict,
                            claims=tuple(claims), models=models, tests=tests, limitations=tuple(limitations),
                            assumptions=("innovation is exogenous to transitory shocks given firm and year effects",))


def _few_switchers_bootstrap(fit, switchers: int, n_clusters: int | None, vcov: str):
    """The wild cluster restricted bootstrap of the innovation coefficient when too few firms switch for the
    clustered t but enough for the bootstrap (module docstring); ``None`` otherwise, or when it cannot be run."""
    from ..estimators.wild_bootstrap import wild_bootstrap

    if (vcov != "cluster" or not RULES.min_switchers_bootstrap <= switchers < RULES.min_switchers
            or not n_clusters or n_clusters < RULES.min_clusters):
        return None
    try:
        return wild_bootstrap(fit, "any_innovation", B=BOOT_DRAWS, weights="webb", seed=BOOT_SEED, level=None)
    except (ValueError, KeyError, np.linalg.LinAlgError):
        return None
