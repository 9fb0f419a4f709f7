"""Regenerate the bundled simulated surveys (fixed seeds) and the truth behind them.

Run from the repository root:  ``python data/simulated/make_samples.py``

Writes, next to this script:

* ``garments_recall_2005.csv`` — garments-like cluster (simple technology, merchant founders), one interview in
  2005 with recall for 1995 and 2000, 300 firms (simple random sample of the survivors), canonical names;
* ``machinery_rounds.csv`` — machinery-like cluster (complex technology, engineer founders), four yearly rounds
  2001–2004 of 200 firms stratified by size, canonical names (closures appear as ``active = False`` rows);
* ``garments_raw.dta`` + ``garments_raw_mapping.toml`` — the garments survey as fieldwork delivers it (wide recall
  columns, numeric codes, yes = 1 / no = 2, money in thousands, −9/−8 missing codes) with the mapping that cleans it;
* ``*.truth.json`` — the truth of each file (parameters, phase years, true effects, sampling);
* ``README.md``'s truth table is printed at the end (paste it into the README when the model changes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from clusterecon.simulate import survey  # noqa: E402
from clusterecon.simulate.model import simulate  # noqa: E402
from clusterecon.simulate.params import garments, machinery  # noqa: E402
from clusterecon.simulate.raw import write_raw  # noqa: E402

SEEDS = {"garments": (20050, 20051), "machinery": (20040, 20041)}


def _write(panel, name: str, out: Path) -> None:
    panel.frame.reset_index().to_csv(out / f"{name}.csv", index=False)
    (out / f"{name}.truth.json").write_text(json.dumps(panel.truth.to_dict(), indent=2, default=str) + "\n",
                                           encoding="utf-8")


def main(out: Path = HERE, *, quiet: bool = False) -> None:
    """Write the samples into ``out`` (default: this folder); the tests regenerate them into a temporary folder
    and compare, so a model change that is not followed by a regeneration fails loudly."""
    out = Path(out)
    g_census = simulate(garments(), seed=SEEDS["garments"][0])
    g = survey(g_census, kind="recall", survey_year=2005, benchmark_years=(1995, 2000), n_firms=300,
               seed=SEEDS["garments"][1])
    _write(g, "garments_recall_2005", out)
    write_raw(g, out / "garments_raw.dta", seed=SEEDS["garments"][1])
    (out / "garments_raw.dta.truth.json").write_text(json.dumps(g.truth.to_dict(), indent=2, default=str) + "\n",
                                                     encoding="utf-8")
    m_census = simulate(machinery(), seed=SEEDS["machinery"][0])
    # 200 of the 245 firms active in 2001: with AR(1) productivity (tfp_persistence) fewer firms survive than the
    # 250 drawn before, and a request above the population interviews everyone, which is no longer a stratified sample
    m = survey(m_census, kind="rounds", survey_years=(2001, 2002, 2003, 2004), n_firms=200, stratify="size",
               seed=SEEDS["machinery"][1])
    _write(m, "machinery_rounds", out)
    if quiet:
        return
    for label, panel, census in (("garments_recall_2005", g, g_census), ("machinery_rounds", m, m_census)):
        t = panel.truth
        eff = t.effects
        n_active = census.frame.groupby(level="year").size()
        print(f"| {label} | {t.params.cluster} | {t.seed} | {t.phase_years['quantity_expansion']} | "
              f"{t.phase_years['quality_improvement']} | {eff['innovation_intercept']:g}, "
              f"{eff['innovation_schooling']:g}, {eff['innovation_pool']:g} | {eff['beta_labour']:g}, "
              f"{eff['beta_capital']:g} | {eff['log_price_premium']:g} + {eff['log_tfp_gain']:g} | "
              f"{panel.n_firms} firms, {panel.n_obs} firm-years; peak {int(n_active.max())} active firms in "
              f"{int(n_active.idxmax())} |")


if __name__ == "__main__":
    main()
