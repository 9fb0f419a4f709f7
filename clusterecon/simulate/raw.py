"""A simulated survey written the way fieldwork delivers it: a messy raw file plus the TOML mapping that cleans it.

The raw file has the survey's own names, numeric occupation codes, yes/no coded 1/2, money in thousands,
"don't know" (−9) and "refused" (−8) missing codes, and manager schooling 99 when not reported. A recall survey is
written *wide* (one row per firm, ``sales_1995 sales_2000 sales_2005``…), a rounds survey *long* (one row per
firm-round). The mapping (format: ``docs/mapping.md``, parsed by :mod:`clusterecon.io.mapping`) states all of it, so
``clusterecon.load.load_survey(raw, mapping)`` returns the canonical panel again (money is written in thousands
with 7 decimals, so values agree to 1e-4 currency units).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import schema

# canonical → raw names; firm-level first
FIRM_RAW = {
    "firm_id": "id", "cluster": "clus", "industry": "ind", "technology": "tech", "founding_year": "yrfound",
    "founder_prior_occupation": "occ_f", "is_spinoff": "spin", "spinoff_parent_id": "parent",
    "manager_schooling_years": "educ", "manager_prior_occupation": "occ_m", "manager_generation": "gen",
    "exit_year": "yrexit",
}
YEAR_RAW = {
    "sales": "sales", "material_cost": "matl", "capital": "cap", "employees": "wrk", "wage_bill": "wage",
    "product_price": "price", "own_brand": "brand", "own_retail_shop": "shop", "direct_sales_share": "dsales",
    "long_term_subcontracting": "subc", "exporter": "exprt",
}
MONEY = ("sales", "material_cost", "capital", "wage_bill")
YESNO = ("is_spinoff",) + schema.INNOVATION_INDICATORS
#: raw numeric code of each occupation (1 = merchant, …, 9 = unknown)
OCC_CODE = {name: i + 1 for i, name in enumerate(schema.OCCUPATION_CODES)}
TECH_CODE = {"simple": 1, "complex": 2}


def _encode(frame: pd.DataFrame, rng: np.random.Generator, refuse: float) -> pd.DataFrame:
    """Canonical columns → raw codes (occupations 1–9, yes 1 / no 2, money in thousands, −9/−8 for missing)."""
    out = pd.DataFrame(index=frame.index)
    for canon, raw in {**FIRM_RAW, **YEAR_RAW}.items():
        if canon not in frame.columns:
            continue
        s = frame[canon]
        if canon in ("founder_prior_occupation", "manager_prior_occupation"):
            v = s.astype("object").map(OCC_CODE).astype("float")
        elif canon == "technology":
            v = s.astype("object").map(TECH_CODE).astype("float")
        elif canon in YESNO:
            b = s.astype("boolean")
            v = pd.Series(np.where(b.fillna(False).to_numpy(bool), 1.0, 2.0), index=s.index).where(b.notna())
        elif canon in MONEY:
            v = (s.astype(float) / 1000.0).round(7)
        elif canon in ("firm_id", "cluster", "industry", "spinoff_parent_id"):
            out[raw] = s.astype("object").where(s.notna(), "")
            continue
        else:
            v = s.astype(float)
        if canon in YEAR_RAW:
            # item non-response: "don't know" (-9) mostly, "refused" (-8) sometimes
            v = v.where(v.notna(), np.where(rng.random(len(v)) < refuse, -8.0, -9.0))
        elif canon == "manager_schooling_years":
            v = v.fillna(99.0)
        out[raw] = v
    return out


def mapping_toml(*, design: str, survey_year: int | None, years: list[int] | None, wide: bool, source: str,
                 name: str) -> str:
    """The TOML mapping of a raw file written by :func:`write_raw`."""
    lines = [f"# Mapping of {source} onto clusterecon's canonical schema (format: docs/mapping.md).",
             "# Written by clusterecon.simulate.raw.write_raw; the truth behind the data is in the simulator's Truth.",
             f'name = "{name}"', "", "[source]", f'file = "{source}"', "", "[survey]", f'design = "{design}"']
    if survey_year is not None:
        lines.append(f"survey_year = {survey_year}")
    lines += ["", "[rename]"]
    for canon, raw in FIRM_RAW.items():
        lines.append(f'{raw} = "{canon}"')
    if not wide:
        lines.append('year = "year"')
        for canon, raw in YEAR_RAW.items():
            lines.append(f'{raw} = "{canon}"')
        lines.append('round = "survey_round"')
        lines.append('open = "active"')
    if wide:
        lines += ["", "[recall.wide]"]
        for canon, raw in YEAR_RAW.items():
            lines.append(f'{canon} = "{raw}_{{year}}"')
    for col in ("founder_prior_occupation", "manager_prior_occupation"):
        lines += ["", f"[codes.{col}]"] + [f'{code} = "{name}"' for name, code in OCC_CODE.items()]
    lines += ["", "[codes.technology]"] + [f'{code} = "{name}"' for name, code in TECH_CODE.items()]
    for col in YESNO + (() if wide else ("active",)):
        lines += ["", f"[codes.{col}]", '1 = true', '2 = false']
    lines += ["", "[missing.codes]", '"-9" = "don\'t know"', '"-8" = "refused"', "",
              "[missing.columns.manager_schooling_years]", '"99" = "not reported"', "",
              "[missing.columns.spinoff_parent_id]", '"" = "not a spin-off"', "", "[scale]"]
    lines += [f'{c} = "thousands"' for c in MONEY]
    return "\n".join(lines) + "\n"


def write_raw(panel: Any, path: str | Path, *, mapping_path: str | Path | None = None, seed: Any = None,
              refuse_share: float = 0.2) -> tuple[Path, Path]:
    """Write a surveyed SurveyPanel as a messy raw file (``.csv`` or ``.dta`` by suffix) and its mapping.

    Recall surveys are written wide (one row per firm; columns ``sales_{year}`` …), rounds long. Returns
    (raw path, mapping path); the mapping defaults to ``<raw stem>_mapping.toml`` next to the raw file.
    """
    path = Path(path)
    mapping_path = Path(mapping_path) if mapping_path else path.with_name(path.stem + "_mapping.toml")
    rng = np.random.default_rng(seed)
    frame = panel.frame.reset_index()
    design = panel.design
    wide = design.kind == "recall"
    firm_cols = [c for c in FIRM_RAW if c in frame.columns]
    if wide:
        firms = frame.drop_duplicates("firm_id").set_index("firm_id")
        raw = _encode(firms.reset_index()[firm_cols], rng, refuse_share)
        raw.index = firms.index
        years = sorted(frame["year"].unique())
        for y in years:
            part = frame[frame["year"] == y].set_index("firm_id")
            enc = _encode(part[[c for c in YEAR_RAW if c in part.columns]], rng, refuse_share)
            enc = enc.reindex(firms.index)  # founded after y: empty (structurally missing), not a missing code
            raw = raw.join(enc.add_suffix(f"_{int(y)}"))
        raw = raw.reset_index(drop=True)
        survey_year = int(design.survey_years[-1]) if design.survey_years else int(max(years))
    else:
        raw = _encode(frame[firm_cols + [c for c in YEAR_RAW if c in frame.columns]], rng, refuse_share)
        raw.insert(1, "year", frame["year"].to_numpy())
        raw["round"] = frame["survey_round"].to_numpy() if "survey_round" in frame else 1
        act = frame["active"].astype("boolean") if "active" in frame else pd.Series(True, index=frame.index)
        raw["open"] = np.where(act.fillna(True).to_numpy(bool), 1, 2)
        survey_year, years = None, sorted(frame["year"].unique())
    if "yrexit" in raw.columns and raw["yrexit"].isna().all():
        raw = raw.drop(columns="yrexit")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw.to_csv(path, index=False)
    elif suffix == ".dta":
        # a fixed time stamp keeps the file byte-identical for the same seed
        raw.to_stata(path, write_index=False, version=118, time_stamp=datetime(2000, 1, 1),
                     data_label="clusterecon simulated survey")
    else:
        raise ValueError(f"write_raw writes .csv or .dta files, not {path.suffix!r}")
    name = f"{panel.truth.params.cluster} simulated {design.kind} survey" if panel.truth is not None else path.stem
    text = mapping_toml(design=design.kind, survey_year=survey_year, years=[int(y) for y in years], wide=wide,
                        source=path.name, name=name)
    if "yrexit" not in raw.columns:
        text = text.replace('yrexit = "exit_year"\n', "")
    mapping_path.write_text(text, encoding="utf-8")
    return path, mapping_path
