r"""Pre-adoption check of the innovation → performance claims: did later adopters already do better just before
they adopted?

The performance claims (:mod:`.performance`) read the firm- and year-FE coefficient of innovating as its effect.
That reading fails when firms adopt *because* they were doing well: a firm that adopts after a run of good sales
carries that run into its innovating years, and the FE coefficient is positive with no effect at all (the size audit:
97% false support when adoption follows good sales). The check is the lead of an event study (Autor 2003,
J. Labor Econ. 21:1-42; Borusyak, Jaravel & Spiess 2024, Rev. Econ. Stud.): with :math:`A_i` the firm's adoption
year (its first year innovating after a year observed not innovating) and :math:`P_{it} = 1` in the firm's last
``WINDOW`` observed years before :math:`A_i`,

.. math::

    y_{it} = \alpha_i + \tau_t + \beta\,D_{it} + \lambda\,P_{it} + \varepsilon_{it},

firm and year effects, SEs clustered by firm. :math:`\lambda` compares later adopters just before adoption with
their own earlier years and with never- or not-yet adopters in the same years; with no anticipation and parallel
trends it is 0. The claim cannot be read as an effect (``inconclusive``, with :math:`\hat\lambda`, its s.e. and p)
when :math:`\hat\lambda` has the sign of the effect and is significant at α (two-sided test, so 2.5% of
samples without a pre-trend are flagged: a gain before adoption, which a persistent good run carries into the
innovating years), or when it is at least the estimated effect
:math:`\hat\beta` in its direction — "the gain was there before the adoption". A significant difference of the
other sign (a dip before adoption, common in the project's simulator as non-innovators' sales erode) inflates the
FE estimate only through the dip years being in its reference period: the claim is then judged on :math:`\hat\beta`
of the model with the lead, which compares the innovating years with the years before the window, and the reason
says so. :math:`\lambda` is identified by adopters seen both in the window and earlier, before adoption
(``RULES.min_switchers_bootstrap`` of them, else the check is reported as not possible and the claim keeps its
status). With fewer than ``RULES.min_switchers`` such adopters the clustered t of :math:`\hat\lambda` over-rejects
(few treated clusters): that errs towards flagging, the safe side for the claim, so the same rule is kept.

What it cannot catch: a firm-specific growth trend that carries on at the same rate before and after adoption
(exporting reached by growing, the audit's 100% case) is seen only when growth shows within the last two years before
adoption against the firm's earlier years; a slow trend over a short panel (few pre-adoption years) can pass. That
is a data limit of a survey with few years before adoption: a firm-specific trend model would need more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import RULES, degenerate
from .result import fmt_p

#: observed years before adoption in the lead ("1–2 years before adoption" on an annual survey)
WINDOW = 2
LEAD = "pre_adoption"


def lead_frame(f: pd.DataFrame, col: str) -> tuple[pd.DataFrame, int]:
    """The rows of ``f`` with ``col`` and innovation recorded, plus ``LEAD`` (1 in a later adopter's last ``WINDOW``
    observed years before its adoption); and the number of adopters seen both in that window and earlier before
    adoption (what identifies the lead)."""
    sub = f.loc[f[col].notna() & f["any_innovation"].notna()].sort_index()
    ai = sub["any_innovation"]
    firm = sub.index.get_level_values("firm_id")
    year = pd.Series(sub.index.get_level_values("year").to_numpy(), index=sub.index)
    switch = (ai == 1) & (ai.groupby(level="firm_id").shift(1) == 0)
    adopt = year[switch].groupby(level="firm_id").min()
    a = pd.Series(firm.map(adopt).to_numpy(dtype=float), index=sub.index)
    pre = (year < a) & (ai == 0)
    # position counted back from adoption among the firm's observed pre-adoption years: 1 = the last one
    back = pre[pre].groupby(level="firm_id").cumcount(ascending=False) + 1
    lead = pd.Series(0.0, index=sub.index)
    lead.loc[back.index] = (back <= WINDOW).astype(float)
    earlier = pre & (lead == 0)
    by = pd.DataFrame({"lead": lead, "earlier": earlier.astype(float)}).groupby(level="firm_id").max()
    return sub.assign(**{LEAD: lead}), int(((by["lead"] == 1) & (by["earlier"] == 1)).sum())


def check(f: pd.DataFrame, col: str, label: str, effect: float, vcov: str) -> dict:
    """The pre-adoption check for outcome ``col``: ``{"status": "checked" | "flagged" | "dip" | "unchecked", "text",
    "fit", "lead", "se", "p", "adopters"}`` ("flagged": the claim cannot be read as an effect; "dip": it is judged on
    the innovation coefficient of ``fit``, the model with the lead; module docstring)."""
    from ..estimators.design import SpecificationError
    from ..estimators.within import within

    sub, n = lead_frame(f, col)
    out = {"status": "unchecked", "fit": None, "lead": float("nan"), "se": float("nan"), "p": float("nan"),
           "adopters": n}
    if n < RULES.min_switchers_bootstrap:
        out["text"] = (f"the pre-adoption trend could not be checked: {n} adopter(s) observed both in the {WINDOW} "
                       f"years before adopting and earlier (needs {RULES.min_switchers_bootstrap})")
        return out
    try:
        r = within(sub, f"{col} ~ any_innovation + {LEAD}", effects="twoway", vcov=vcov, collinear="raise")
    except SpecificationError as e:
        out["text"] = f"the pre-adoption trend could not be checked ({e})"
        return out
    lam, se, p = float(r.params[LEAD]), float(r.std_errors[LEAD]), float(r.pvalues[LEAD])
    out.update(fit=r, lead=lam, se=se, p=p)
    if degenerate(lam, se, p):
        out["text"] = "the pre-adoption trend could not be checked (a degenerate fit)"
        return out
    what = (f"{label} in the {WINDOW} years before adopting differs by {lam:+.3f} (s.e. {se:.3f}, {fmt_p(p)}; "
            f"{n} adopters seen before)")
    sign = np.sign(effect) if np.isfinite(effect) and effect != 0 else 0.0
    same = sign != 0 and lam * sign >= abs(effect)
    # significant (two-sided) in the direction of the effect: a 2.5% false flag rate when there is no pre-trend
    gain = sign != 0 and lam * sign > 0 and p < RULES.alpha
    if gain or same:
        out["status"] = "flagged"
        out["text"] = (f"a pre-adoption difference: {what}" + (", as large as the estimated effect" if same else "")
                       + " — firms may adopt because they already do well, so the coefficient is not read as an "
                         "effect of innovating")
    elif p < RULES.alpha:
        b, bse, bp = (float(r.params["any_innovation"]), float(r.std_errors["any_innovation"]),
                      float(r.pvalues["any_innovation"]))
        out.update(status="dip", effect=b, effect_se=bse, effect_p=bp)
        out["text"] = (f"a dip before adoption: {what}; judged on the effect measured against the years before "
                       f"that window, {b:+.3f} (s.e. {bse:.3f}, {fmt_p(bp)})")
    else:
        out["status"] = "checked"
        out["text"] = f"no pre-adoption difference: {what}"
    return out
