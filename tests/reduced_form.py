"""A deliberately simple reduced-form generator of cluster surveys, for measuring the size and power of the
hypothesis battery on data it was not built on (issue 10). It shares no code with ``clusterecon.simulate``: every
mechanism is a direct, switchable reduced-form rule, and the truth is set, not emergent.

History: pioneers found the cluster in ``start``; entry is Poisson at a low rate until the take-off ``t1``, high
(and growing) until the quality transition ``t2``, lower afterwards. From ``t2`` on, firms adopt an innovation with a
yearly hazard (absorbing). Firms exit with a yearly hazard. Each effect has its own switch:

========================  =========================================  ===========================================
switch                    on                                         off
========================  =========================================  ===========================================
``takeoff``               entry 0.3/yr before t1, 8/yr (+4%/yr)       entry 4/yr every year, and no quality
                          until t2, 4/yr after                       transition (nobody innovates)
``founders``              pioneers (founded before t1) are the        pioneers' occupations drawn from the later
                          technology's type with probability 0.8      entrants' occupations
``spinoffs``              spin-off with probability 0.05 before t1,   spin-off with probability 0.3 always
                          0.6 in [t1, t2), 0.3 after
``imitation``             spin-offs' firm price effect their          spin-offs' log price 0.3 higher, firm
                          parent's ± 0.01                            price effect their own
``stagnation``            log VA/worker trend −1%/yr and log price    log VA/worker +6%/yr and price flat in
                          −5%/yr in [t1, t2)                          [t1, t2)
``schooling``             adoption hazard Φ(−1.7 + 0.15(s − 9))       Φ(−1.7)
``performance``           innovators' log VA/worker +0.25 and         no difference
                          employment +5%/yr
``exit_selection``        exit 1%/yr for innovators, 8% for others    5%/yr for everyone after t2
                          after t2 (3% for all before)
========================  =========================================  ===========================================

Designs (:func:`rf_survey`): ``census`` (every firm-year of the history), ``recall`` (one interview in the last year,
survivors only, annual recall over a window), ``rounds`` (annual rounds over a window of firms sampled among those
active in the first round; closures recorded as ``active = False`` rows), with item non-response and attrition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from clusterecon.panel import SurveyDesign, SurveyPanel

OTHERS = ("worker_other_industry", "artisan", "farmer", "merchant", "engineer", "other")
OTHER_P = (0.3, 0.2, 0.15, 0.15, 0.1, 0.1)
INDICATORS = ("own_brand", "own_retail_shop", "long_term_subcontracting", "exporter")


@dataclass(frozen=True)
class RFWorld:
    start: int = 1962
    years: int = 45
    t1_offset: int = 6
    t2_offset: int = 24
    technology: str = "simple"
    takeoff: bool = True
    founders: bool = True
    spinoffs: bool = True
    imitation: bool = True
    stagnation: bool = True
    schooling: bool = True
    performance: bool = True
    exit_selection: bool = True

    @property
    def t1(self) -> int:
        return self.start + self.t1_offset

    @property
    def t2(self) -> int:
        return self.start + self.t2_offset

    @property
    def last(self) -> int:
        return self.start + self.years - 1

    def all_off(self, keep_phases: bool = True) -> RFWorld:
        return replace(self, founders=False, spinoffs=False, imitation=False, stagnation=False, schooling=False,
                       performance=False, exit_selection=False, takeoff=keep_phases)


def _entry_rate(w: RFWorld, t: int) -> float:
    if not w.takeoff:
        return 4.0
    if t < w.t1:
        return 0.3
    if t < w.t2:
        return 8.0 * 1.04 ** (t - w.t1)
    return 4.0


def _spin_prob(w: RFWorld, t: int) -> float:
    if not w.spinoffs:
        return 0.3
    return 0.05 if t < w.t1 else 0.6 if t < w.t2 else 0.3


def rf_census(w: RFWorld, seed: int) -> pd.DataFrame:
    """Every firm-year of the history (long frame with the canonical columns and ``innovator``)."""
    rng = np.random.default_rng(seed)
    expected = "merchant" if w.technology == "simple" else "engineer"
    firms: list[dict] = []
    for t in range(w.start, w.last + 1):
        n = 4 if t == w.start else int(rng.poisson(_entry_rate(w, t)))
        alive = [f for f in firms if f["exit"] is None or f["exit"] > t]
        for _ in range(n):
            spin = bool(rng.random() < _spin_prob(w, t)) and (bool(alive) or not w.spinoffs)
            pioneer = t < w.t1
            if spin:
                occ = "worker_same_industry"
            elif pioneer and w.founders:
                occ = expected if rng.random() < 0.8 else str(rng.choice(OTHERS, p=OTHER_P))
            else:
                occ = str(rng.choice(OTHERS, p=OTHER_P))
            parent = alive[int(rng.integers(len(alive)))] if spin and alive else None
            pr = rng.normal(0, 0.05)
            if parent is not None and w.imitation:  # imitation is of the parent: its price, not the market's mean
                pr = parent["pr"] + rng.normal(0, 0.01)
            firms.append({"id": f"R{len(firms) + 1:04d}", "born": t, "spin": spin,
                          "parent": parent["id"] if parent is not None else None, "occ": occ,
                          "school": float(np.clip(np.round(rng.normal(9, 3)), 0, 20)), "alpha": rng.normal(0, 0.3),
                          "l0": rng.normal(np.log(8), 0.5), "k": rng.normal(0.5, 0.3), "pr": pr,
                          "u": rng.random(4), "exit": None, "innov": None})
        for f in alive:
            innovated = f["innov"] is not None and f["innov"] <= t
            if t >= w.t2 and w.takeoff and not innovated:
                idx = -1.7 + (0.15 * (f["school"] - 9) if w.schooling else 0.0)
                if rng.random() < stats.norm.cdf(idx):
                    f["innov"] = t
                    innovated = True
            if t < w.t2:
                h = 0.03
            elif w.exit_selection:
                h = 0.01 if innovated else 0.08
            else:
                h = 0.05
            if rng.random() < h:
                f["exit"] = t + 1
    if not w.founders:
        later = [f["occ"] for f in firms if f["born"] >= w.t1]
        for f in firms:
            if f["born"] < w.t1 and later:
                f["occ"] = later[int(rng.integers(len(later)))]
    rows = []
    for f in firms:
        end = w.last if f["exit"] is None else min(f["exit"] - 1, w.last)
        for t in range(f["born"], end + 1):
            inn = f["innov"] is not None and f["innov"] <= t
            exp_years = max(0, min(t, w.t2 - 1) - w.t1 + 1) if t >= w.t1 else 0
            prod_trend = (-0.01 if w.stagnation else 0.06) * exp_years
            price_trend = (-0.05 if w.stagnation else 0.0) * exp_years
            perf = w.performance and inn
            log_l = f["l0"] + 0.02 * (t - f["born"]) + (0.05 * (t - f["innov"]) if perf else 0.0) + rng.normal(0, 0.1)
            emp = max(1.0, float(np.round(np.exp(log_l))))
            log_va_l = 1.0 + f["alpha"] + prod_trend + (0.25 if perf else 0.0) + rng.normal(0, 0.15)
            va = np.exp(log_va_l) * emp
            sales = va / np.clip(rng.normal(0.4, 0.03), 0.25, 0.6)
            price = np.exp(np.log(10) + price_trend + (0.3 if perf else 0.0) + f["pr"] + rng.normal(0, 0.05)
                           + (0.3 if f["spin"] and not w.imitation else 0.0))
            ind = f["u"] < (0.6 if inn else 0.03)
            rows.append({"firm_id": f["id"], "year": t, "founding_year": f["born"], "is_spinoff": f["spin"],
                         "spinoff_parent_id": f["parent"], "founder_prior_occupation": f["occ"],
                         "technology": w.technology, "manager_schooling_years": f["school"], "sales": sales,
                         "material_cost": sales - va, "employees": emp,
                         "capital": emp * np.exp(f["k"] + rng.normal(0, 0.2)),
                         "wage_bill": 0.5 * va * np.exp(rng.normal(0, 0.05)), "product_price": price,
                         **{c: bool(v) for c, v in zip(INDICATORS, ind)}, "active": True,
                         "exit_year": f["exit"] if f["exit"] is not None and f["exit"] <= w.last else None,
                         "innovator": inn})
    return pd.DataFrame(rows)


MONEY = ("sales", "material_cost", "capital", "wage_bill", "product_price", "employees")


def rf_survey(w: RFWorld, seed: int, *, design: str = "census", window: int | None = None, n_firms: int | None = None,
              missing: float = 0.0, attrition: float = 0.0) -> SurveyPanel:
    """A survey of the reduced-form history (see the module docstring) as a validated SurveyPanel."""
    rng = np.random.default_rng([seed, 7])
    df = rf_census(w, seed)
    last = w.last
    first = last - window + 1 if window else w.start
    if design == "census":
        out = df[df["year"] >= first].copy()
        kind, years = "census", tuple(range(first, last + 1))
    elif design == "recall":
        eligible = df.loc[(df["year"] == last), "firm_id"].unique()
        ids = eligible if n_firms is None or n_firms >= len(eligible) else rng.choice(eligible, n_firms, replace=False)
        out = df[df["firm_id"].isin(ids) & (df["year"] >= first)].copy()
        out["exit_year"] = None
        kind, years = "recall", (last,)
    elif design == "rounds":
        eligible = df.loc[df["year"] == first, "firm_id"].unique()
        ids = eligible if n_firms is None or n_firms >= len(eligible) else rng.choice(eligible, n_firms, replace=False)
        out = df[df["firm_id"].isin(ids) & (df["year"] >= first)].copy()
        # attrition: a firm may stop answering (no record afterwards, no exit recorded)
        stop = {f: (first + int(rng.geometric(attrition)) if attrition > 0 else 10**6) for f in ids}
        out = out[out["year"] < out["firm_id"].map(stop)]
        closed = out.groupby("firm_id").agg(last=("year", "max"), ex=("exit_year", "first"))
        closed = closed[closed["ex"].notna() & (closed["ex"] <= last) & (closed["ex"] == closed["last"] + 1)]
        extra = out[out["firm_id"].isin(closed.index)].sort_values("year").groupby("firm_id").tail(1).copy()
        extra["year"] = extra["exit_year"].astype(int)
        extra = extra[extra["year"] < extra["firm_id"].map(stop)]
        extra["active"] = False
        for c in (*MONEY, *INDICATORS):
            extra[c] = np.nan
        out = pd.concat([out, extra], ignore_index=True)
        out.loc[~out["firm_id"].isin(closed.index), "exit_year"] = None
        kind, years = "rounds", tuple(range(first, last + 1))
    else:
        raise ValueError(design)
    if missing > 0:
        for c in (*MONEY, *INDICATORS):
            out[c] = out[c].astype(object if c in INDICATORS else float)
            out.loc[rng.random(len(out)) < missing, c] = np.nan
    for c in INDICATORS:
        out[c] = out[c].astype("boolean")
    out["active"] = out["active"].astype("boolean")
    out["is_spinoff"] = out["is_spinoff"].astype("boolean")
    out["exit_year"] = pd.array(out["exit_year"], dtype="Int64")
    out = out.drop(columns=["innovator"])
    return SurveyPanel.from_frame(out.sort_values(["firm_id", "year"]),
                                  design=SurveyDesign(kind=kind, survey_years=years, source="reduced-form generator"))
