"""Generate the bundled sample survey ``data/sample_survey/survey.dta`` (fixed seed; run from anywhere).

A small, realistic raw cluster survey as a field team would deliver it: one interview per firm in 2005 with recall
questions for the benchmark years 1995, 2000 and 2005 (wide columns ``sales_1995`` ...), raw variable names that need
``mapping.toml``, the founder's prior occupation as numeric codes with Stata value labels, the manager's prior
occupation as free text with spelling variants, money "in thousands", survey missing codes (−9 don't know, 99 not
reported) and a handful of deliberate defects that produce WARNINGS only (listed in ``README.md``).

    python data/make_sample_survey.py

The numbers are invented (no real firm is described). ``DEFECTS`` below is the single source of the planted defects;
``tests/test_cli.py`` checks that ``clusterecon validate`` reports exactly the warnings the README lists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20051
N_FIRMS = 120
YEARS = (1995, 2000, 2005)
SURVEY_YEAR = 2005
OUT = Path(__file__).resolve().parent / "sample_survey"

FOUNDER_OCC_LABELS = {1: "Trader / merchant", 2: "Engineer or technician", 3: "Worker in a garment firm here",
                      4: "Worker in another industry", 5: "State enterprise employee", 6: "Tailor / artisan",
                      7: "Farmer", 8: "Other"}
#: spelling variants an enumerator writes for the manager's prior occupation (all mapped in mapping.toml)
MANAGER_OCC_TEXT = {
    "merchant": ["trader", "Trader", "merchant", "TRADER "],
    "engineer": ["engineer", "technician", "Engineer"],
    "worker_same_industry": ["worker in garment firm", "garment worker"],
    "worker_other_industry": ["factory worker", "worker other industry"],
    "soe_employee": ["SOE employee", "state enterprise"],
    "artisan": ["tailor", "Tailor"],
    "farmer": ["farmer", "Farmer"],
    "other": ["other", "teacher"],
}
OCC_PROBS = [0.28, 0.08, 0.25, 0.07, 0.05, 0.15, 0.08, 0.04]

#: row (1-based record number = firm k) → the defect planted there. README.md and the tests use these numbers.
DEFECTS = {
    17: "zero employees in 2000",
    42: "material cost above sales in 2000 (value added ≤ 0)",
    63: "sales 1995 recorded in units of a thousand too small: ×34 jump to 2000",
    88: "no recall answers at all for 2000: a gap between 1995 and 2005",
}


def make(seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = N_FIRMS
    ids = [f"EG{k:03d}" for k in range(1, n + 1)]
    founded = rng.integers(1978, 2004, n)
    occ_f = rng.choice(np.arange(1, 9), size=n, p=OCC_PROBS)
    gen = np.where((2005 - founded > 15) & (rng.random(n) < 0.3), 2, 1)
    occ_m_canon = np.where(gen == 1, [list(MANAGER_OCC_TEXT)[c - 1] for c in occ_f],
                           rng.choice(list(MANAGER_OCC_TEXT), size=n, p=OCC_PROBS))
    occ_m = [rng.choice(MANAGER_OCC_TEXT[c]) for c in occ_m_canon]
    educ = np.clip(np.round(rng.normal(9, 3, n)), 0, 18).astype(float)
    educ[rng.choice(n, 3, replace=False)] = 99  # not reported
    spinoff = ((occ_f == 3) & (rng.random(n) < 0.8)).astype(float)

    df = pd.DataFrame({
        "id": ids, "clus": "Eastgate", "ind": "garments", "yrfound": founded.astype(float),
        "occ_founder": occ_f.astype(float), "occ_mgr": occ_m, "educ": educ, "gen": gen.astype(float),
        "spinoff": spinoff,
    })
    # firm size grows with age and the founder's background; recall values in thousands of local currency
    size = rng.lognormal(0.0, 0.5, n) * np.where(np.isin(occ_f, (1, 2)), 1.6, 1.0)
    for y in YEARS:
        age = y - founded
        alive = age >= 0
        growth = np.exp(0.05 * np.clip(age, 0, None)) * rng.lognormal(0, 0.15, n)
        sales = np.round(120 * size * growth, 1)
        workers = np.maximum(1, np.round(6 * size ** 0.7 * growth ** 0.6 * rng.lognormal(0, 0.1, n)))
        df[f"sales_{y}"] = np.where(alive, sales, np.nan)
        df[f"matl_{y}"] = np.where(alive, np.round(sales * rng.uniform(0.45, 0.7, n), 1), np.nan)
        df[f"wrk_{y}"] = np.where(alive, workers, np.nan)
        df[f"cap_{y}"] = np.where(alive, np.round(80 * size * growth ** 0.8 * rng.lognormal(0, 0.1, n), 1), np.nan)
    # "don't know" answers (−9), more frequent for older recall years
    for y, k in ((1995, 6), (2000, 3)):
        for col in (f"cap_{y}", f"sales_{y}"):
            alive = np.flatnonzero(df[f"sales_{y}"].notna().to_numpy())
            df.loc[rng.choice(alive, k, replace=False), col] = -9
    df["wages"] = np.round(df["sales_2005"].clip(lower=0) * rng.uniform(0.12, 0.2, n), 1)
    df["brand"] = (rng.random(n) < 0.3 + 0.2 * np.isin(occ_f, (1, 2))).astype(float)
    _plant_defects(df)
    return df


def _plant_defects(df: pd.DataFrame) -> None:
    """The warnings-only defects of :data:`DEFECTS` (row k is ``df.iloc[k - 1]``)."""
    for k in DEFECTS:
        i = k - 1
        df.loc[i, "yrfound"] = min(df.loc[i, "yrfound"], 1990.0)  # observed in all three benchmark years
        y0 = 1990.0
        for y in YEARS:
            g = np.exp(0.05 * (y - y0))
            df.loc[i, [f"sales_{y}", f"matl_{y}", f"wrk_{y}", f"cap_{y}"]] = [
                round(200 * g, 1), round(110 * g, 1), float(round(8 * g)), round(150 * g, 1)]
        df.loc[i, "wages"] = round(0.15 * df.loc[i, "sales_2005"], 1)
    df.loc[16, "wrk_2000"] = 0.0
    df.loc[41, "matl_2000"] = df.loc[41, "sales_2000"] + 25.0
    df.loc[62, ["sales_1995", "matl_1995"]] = [round(df.loc[62, "sales_2000"] / 34, 1),
                                               round(df.loc[62, "matl_2000"] / 34, 1)]
    df.loc[87, ["sales_2000", "matl_2000", "wrk_2000", "cap_2000"]] = np.nan


def write(df: pd.DataFrame, out: Path = OUT) -> Path:
    import pyreadstat

    out.mkdir(parents=True, exist_ok=True)
    labels = {"id": "Questionnaire number", "clus": "Cluster", "ind": "Industry", "yrfound": "Year of founding",
              "occ_founder": "Q12 Founder's occupation before founding", "occ_mgr": "Q14 Manager's previous job",
              "educ": "Q15 Manager's years of schooling (99 = not reported)", "gen": "Q16 Manager generation",
              "spinoff": "Q13 Founder left a cluster firm to start this one", "wages": "Wage bill 2005 ('000)",
              "brand": "Sells under own brand (2005)"}
    for y in YEARS:
        labels |= {f"sales_{y}": f"Sales {y} ('000; -9 don't know)", f"matl_{y}": f"Material cost {y} ('000)",
                   f"wrk_{y}": f"Workers {y}", f"cap_{y}": f"Capital {y} ('000; -9 don't know)"}
    path = out / "survey.dta"
    pyreadstat.write_dta(
        df, str(path), file_label="Eastgate garment cluster enterprise survey 2005 (synthetic sample)",
        column_labels=[labels.get(c, c) for c in df.columns],
        variable_value_labels={"occ_founder": {float(k): v for k, v in FOUNDER_OCC_LABELS.items()},
                               "spinoff": {0.0: "No", 1.0: "Yes"}, "brand": {0.0: "No", 1.0: "Yes"}},
    )
    return path


if __name__ == "__main__":
    print(f"wrote {write(make())}")
