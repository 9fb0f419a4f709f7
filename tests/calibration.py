"""Calibration of the hypothesis battery (issue 10): size and power of every claim, accuracy and coverage of the
dated transitions, on two data-generating processes — the project's simulator (``clusterecon.simulate``, with its
mechanism switches) and the reduced-form generator of :mod:`reduced_form` (no shared code) — across calendars,
windows, sample sizes, designs and missingness. Used by ``benchmarks/bench_calibration.py`` (the full table) and by
``tests/test_calibration.py`` (a few replications in CI).

Worlds: ``on`` (every effect switched on), ``off`` (every hypothesis mechanism off, the phase structure kept) and,
for the reduced-form generator, ``flat`` (no take-off, no quality transition: for false dating).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reduced_form import RFWorld, rf_survey  # noqa: E402

#: claim keys "hypothesis/claim" and whether the project's simulator has a switch for them
#: claims whose effect exists only once the quality phase has started (power counts runs where it has, in the
#: years observed)
QUALITY_CLAIMS = {"innovation/schooling", "performance/sales", "performance/productivity", "exit/exit"}
CLAIMS = ("founders/founders", "spinoffs/entry", "spinoffs/imitation", "stagnation/productivity", "stagnation/price",
          "stagnation/output", "innovation/schooling", "performance/sales", "performance/productivity", "exit/exit")
NO_SIMULATOR_SWITCH = {"spinoffs/imitation"}
#: claims no switch turns off in either generator (output grows in every world): reported, not size-tested
NO_SWITCH = {"stagnation/output"}
STATUSES = ("supported", "not supported", "inconclusive", "skipped", "failed")


@dataclass(frozen=True)
class Setting:
    name: str
    design: str
    start: int = 1962
    years: int = 45
    window: int | None = None
    n_firms: int | None = None
    missing: float = 0.0
    attrition: float = 0.0
    #: the true phase dates are passed to the battery, as a user who knows the cluster's history would
    dates_given: bool = False
    #: simulator parameters changed from the preset's (name, value) pairs
    sim: tuple = ()
    #: the generators the setting is run on
    dgps: tuple = ("simulator", "reduced form")


SETTINGS = (
    Setting("census, 1960s start", "census", 1962, 45),
    Setting("census, 1995 start", "census", 1995, 38),
    # the presets start a cluster with 3 (machinery) or 5 (garments) pioneers and few later entrants from outside
    # (most are spin-offs): too few for the founders' exact test to reach p < .05 whatever their backgrounds
    # (docs/hypotheses.md). The same census with 10 pioneers and outside entry at 3 (preset 0.5-1) shows the claim's
    # power where the design can answer (the reduced form already has enough of both)
    Setting("census, 10 pioneers, more outside entrants", "census", 1962, 45,
            sim=(("n_founders", 10), ("outside_entry_rate", 3.0)), dgps=("simulator",)),
    Setting("recall, 8-year window", "recall", 1962, 45, window=8, n_firms=150),
    Setting("rounds, 5-year window", "rounds", 1962, 45, window=5, n_firms=150),
    Setting("recall, 8 years, 40 firms", "recall", 1962, 45, window=8, n_firms=40),
    Setting("rounds, 8 years, 8% missing, attrition", "rounds", 1995, 38, window=8, n_firms=150, missing=0.08,
            attrition=0.05),
    # surveys fielded in quantity expansion (the window ends in 1985), with the dates a user knows from the
    # cluster's history: a survivor design can then test what happens within the phases
    Setting("recall in expansion, dates given", "recall", 1962, 24, window=8, n_firms=150, dates_given=True),
    Setting("rounds in expansion, dates given", "rounds", 1962, 24, window=5, n_firms=150, dates_given=True),
)

SIM_OFF = dict(founders_by_technology=False, spinoff_entry=False, stagnation=False, innovation_pays=False,
               exit_selects=False, schooling_matters=False)


def simulator_panel(setting: Setting, world: str, seed: int):
    """(panel, t1, t2) from the project's simulator; garments or machinery preset by the seed's parity."""
    from clusterecon.simulate import Fieldwork, preset, simulate, survey

    name = "garments" if seed % 2 == 0 else "machinery"
    params = preset(name, start_year=setting.start, n_years=setting.years, **dict(setting.sim),
                    **(SIM_OFF if world == "off" else {}))
    census = simulate(params, seed=seed)
    truth = census.truth.phase_years
    last = setting.start + setting.years - 1
    fw = Fieldwork(missing=setting.missing, missing_per_year=0.0) if setting.missing else None
    if setting.design == "census":
        panel = survey(census, kind="census", seed=seed)
    elif setting.design == "recall":
        panel = survey(census, kind="recall", survey_year=last, n_firms=setting.n_firms, fieldwork=fw,
                       benchmark_years=tuple(range(last - setting.window + 1, last)), seed=seed)
    else:
        panel = survey(census, kind="rounds", survey_years=tuple(range(last - setting.window + 1, last + 1)),
                       n_firms=setting.n_firms, fieldwork=fw, seed=seed)
    return panel, truth["quantity_expansion"], truth["quality_improvement"]


def rf_panel(setting: Setting, world: str, seed: int):
    w = RFWorld(start=setting.start, years=setting.years, technology="simple" if seed % 2 == 0 else "complex")
    if world == "off":
        w = w.all_off()
    elif world == "flat":
        w = w.all_off(keep_phases=False)
    panel = rf_survey(w, seed, design=setting.design, window=setting.window, n_firms=setting.n_firms,
                      missing=setting.missing, attrition=setting.attrition)
    return panel, (w.t1 if w.takeoff else None), (w.t2 if w.takeoff else None)


def run_one(dgp: str, setting: Setting, world: str, seed: int, reps: int | None = None) -> dict:
    """One replication: the status of every claim and hypothesis, and the dated transitions against the truth."""
    from clusterecon.hypotheses import analyse
    from clusterecon.hypotheses.phases import diagnose_phases

    warnings.simplefilter("ignore")
    make = simulator_panel if dgp == "simulator" else rf_panel
    panel, t1, t2 = make(setting, world, seed)
    row = {"dgp": dgp, "setting": setting.name, "world": world, "seed": seed, "t1_true": t1, "t2_true": t2,
           "years": (min(panel.years), max(panel.years))}
    if world == "flat":
        ph = diagnose_phases(panel, reps=reps)
        results = {"phases": ph}
    else:
        given = {}
        if setting.dates_given:  # what the cluster's history says by the survey: a later quality start = not yet
            last = max(panel.years)
            given = {"expansion_start": t1, "quality_start": t2 if t2 is not None and t2 <= last else last + 1}
        results = analyse(panel, detail=False, reps=reps, **given).results
        ph = results["phases"]
    ex = ph.extra
    # a date passed in is not a dating: it must not count as dated, nor as an interval that missed the truth
    row.update(t1_detected=bool(ex.get("expansion_detected")) and not ex.get("expansion_given"),
               t1=ex.get("expansion_start"), t1_int=ex.get("expansion_interval"),
               t2=None if ex.get("quality_given") else ex.get("quality_start"), t2_int=ex.get("quality_interval"),
               phases_failed=ph.status == "failed")
    for key, r in results.items():
        row[f"{key}"] = r.status
        for c in r.claims:
            row[f"{key}/{c.name}"] = c.status
        if r.status == "failed":
            row[f"{key}:error"] = r.verdict
    return row


def calibrate(reps: int, *, settings=SETTINGS, dgps=("simulator", "reduced form"), worlds=("on", "off", "flat"),
              n_jobs: int = 2, seed0: int = 1000, dating_reps: int | None = None) -> pd.DataFrame:
    """Run ``reps`` replications of every (dgp, setting, world) through joblib (``n_jobs`` workers)."""
    from joblib import Parallel, delayed

    jobs = [(d, s, w, seed0 + i) for d in dgps for s in settings for w in worlds for i in range(reps)
            if d in s.dgps and not (w == "flat" and (d == "simulator" or s.dates_given))]
    rows = Parallel(n_jobs=n_jobs)(delayed(run_one)(d, s, w, seed, dating_reps) for d, s, w, seed in jobs)
    return pd.DataFrame(rows)


def _rate(s: pd.Series, value: str) -> float:
    s = s.dropna()
    return float((s == value).mean()) if len(s) else float("nan")


def claim_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dgp, setting and claim: share supported when on (power) and when off (size), and the other statuses."""
    out = []
    for (dgp, setting), g in runs[runs["world"].isin(["on", "off"])].groupby(["dgp", "setting"], sort=False):
        on, off = g[g["world"] == "on"], g[g["world"] == "off"]
        present = on[on["t2_true"].notna() & (on["t2_true"] <= on["years"].map(lambda y: y[1]))]
        for claim in CLAIMS:
            if claim not in g:
                continue
            hyp = claim.split("/")[0]
            no_switch = claim in NO_SWITCH or (dgp == "simulator" and claim in NO_SIMULATOR_SWITCH)
            eff = present if claim in QUALITY_CLAIMS else on
            out.append({"dgp": dgp, "setting": setting, "claim": claim, "reps": len(eff),
                        "supported | on": _rate(eff[claim], "supported"),
                        "supported | off": float("nan") if no_switch else _rate(off[claim], "supported"),
                        "hypothesis supported | off": float("nan") if no_switch else _rate(off[hyp], "supported"),
                        "inconclusive | on": _rate(eff[claim], "inconclusive"),
                        "skipped | on": _rate(eff[claim], "skipped"),
                        "failed": float(pd.concat([on[claim], off[claim]]).eq("failed").mean())})
    return pd.DataFrame(out)


def _within(est, true, tol=2):
    return est is not None and true is not None and not pd.isna(est) and abs(est - true) <= tol


def _covers(interval, true):
    return interval is not None and true is not None and not pd.isna(true) and interval[0] <= true <= interval[1]


def dating_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per dgp and setting: how often each transition is dated, within ±2 years of the truth, and covered by its
    90% interval (among the runs that dated it); in the flat world, how often a transition is (falsely) dated."""
    out = []
    for (dgp, setting, world), g in runs.groupby(["dgp", "setting", "world"], sort=False):
        if world == "off":
            continue
        rec = {"dgp": dgp, "setting": setting, "world": world, "reps": len(g)}
        for k, det in (("t1", g["t1_detected"]), ("t2", g["t2"].notna())):
            dated = g[det]
            rec[f"{k} dated"] = float(det.mean())
            if world == "flat":
                continue
            rec[f"{k} within ±2"] = float(np.mean([_within(e, t) for e, t in zip(dated[k], dated[f"{k}_true"])])) \
                if len(dated) else float("nan")
            rec[f"{k} 90% covers"] = float(np.mean([_covers(i, t) for i, t in zip(dated[f"{k}_int"],
                                                                                 dated[f"{k}_true"])])) \
                if len(dated) else float("nan")
        out.append(rec)
    return pd.DataFrame(out)


def failures(runs: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in runs.columns if c.endswith(":error")]
    if not cols:
        return pd.DataFrame()
    long = runs.melt(id_vars=["dgp", "setting", "world", "seed"], value_vars=cols).dropna(subset=["value"])
    return long


#: the cells whose power misses the bar (and two that pass, for comparison): (setting name, claim); the oracle asks
#: whether the design or the code is the limit
ORACLE_CELLS = (("recall, 8 years, 40 firms", "innovation/schooling"),
                ("recall, 8 years, 40 firms", "performance/sales"),
                ("recall, 8 years, 40 firms", "performance/productivity"),
                ("recall, 8-year window", "performance/sales"), ("recall, 8-year window", "performance/productivity"),
                ("rounds, 5-year window", "performance/sales"), ("rounds, 5-year window", "performance/productivity"),
                ("rounds, 5-year window", "exit/exit"),
                ("rounds, 8 years, 8% missing, attrition", "exit/exit"), ("census, 1995 start", "exit/exit"))


def _setting(name: str) -> Setting:
    return next(s for s in SETTINGS if s.name == name)


def oracle_one(dgp: str, setting_name: str, seed: int, world: str = "on") -> dict:
    """Oracle power of the small-design claims on one "on" replication: the same test (same estimator, same
    sample) judged (a) as the battery does, (b) with the true quality date in place of the dated one (for the
    schooling split and the exit risk period), (c) with the true dates and no minimum-evidence rule (the test's own
    rejection: estimate of the expected sign and p < 0.05 — the claim's own p, the wild cluster bootstrap's for
    performance with 3–9 switchers — whatever the events or switchers behind it)."""
    from clusterecon.hypotheses import analyse
    from clusterecon.hypotheses.exit import innovation_exit
    from clusterecon.hypotheses.innovation import education_innovation
    from clusterecon.hypotheses.performance import innovation_performance
    from clusterecon.hypotheses.phases import diagnose_phases

    warnings.simplefilter("ignore")
    s = _setting(setting_name)
    panel, t1, t2 = (simulator_panel if dgp == "simulator" else rf_panel)(s, world, seed)
    last = max(panel.years)
    row = {"dgp": dgp, "setting": setting_name, "seed": seed, "world": world, "t2_true": t2,
           "present": t2 is not None and t2 <= last}
    res = analyse(panel, detail=False, reps=49).results
    split = t2 if t2 is not None and any(y >= t2 for y in panel.years) else None
    oracle = {"innovation": education_innovation(panel, split_year=split, detail=False),
              "performance": innovation_performance(panel),
              "exit": innovation_exit(panel, phases=diagnose_phases(
                  panel, quality_start=t2 if t2 is not None else None, expansion_start=t1, reps=49))}
    for cell_setting, claim in ORACLE_CELLS:
        if cell_setting != setting_name:
            continue
        hyp, name = claim.split("/")
        c = next((c for c in res[hyp].claims if c.name == name), None)
        o = next((c for c in oracle[hyp].claims if c.name == name), None)
        row[f"{claim}:battery"] = c.status if c else res[hyp].status
        row[f"{claim}:true dates"] = o.status if o else oracle[hyp].status
        sign = -1 if hyp == "exit" else 1
        row[f"{claim}:no rules"] = bool(o is not None and o.estimate is not None and o.pvalue is not None
                                        and np.isfinite(o.estimate) and sign * o.estimate > 0
                                        and o.pvalue < 0.05 and (o.se or 0) > 0)
    return row


def oracle_power(reps: int, *, n_jobs: int = 2, seed0: int = 1000, cells=ORACLE_CELLS) -> pd.DataFrame:
    """Per (dgp, small-design cell): power of the battery, with the true dates, and of the bare test (no
    minimum-evidence rule), over the on-world replications whose quality phase had started in the years observed."""
    from joblib import Parallel, delayed

    settings = sorted({s for s, _ in cells})
    jobs = [(d, s, seed0 + i, w) for d in ("simulator", "reduced form") for s in settings for i in range(reps)
            for w in ("on", "off")]
    rows = pd.DataFrame(Parallel(n_jobs=n_jobs)(delayed(oracle_one)(*j) for j in jobs))
    out = []
    for (dgp, setting), g in rows.groupby(["dgp", "setting"], sort=False):
        off = g[g["world"] == "off"]
        g = g[g["present"] & (g["world"] == "on")]
        for cs, claim in cells:
            if cs != setting:
                continue
            out.append({"dgp": dgp, "setting": setting, "claim": claim, "n": len(g),
                        "battery": float((g[f"{claim}:battery"] == "supported").mean()),
                        "true dates": float((g[f"{claim}:true dates"] == "supported").mean()),
                        "inconclusive (true dates)": float((g[f"{claim}:true dates"] == "inconclusive").mean()),
                        "bare test (true dates, no rules)": float(g[f"{claim}:no rules"].mean()),
                        "bare test | off": float(off[f"{claim}:no rules"].mean())})
    return pd.DataFrame(out)


#: gradual take-offs, unlike the sharp ones the simulator and the reduced form make (shapes of an independent audit's
#: generator): Poisson entry at 0.5 a year until 1982, then rising, flat at 6 from 1996; four pioneers in 1975
GRADUAL_SHAPES = {"linear ramp": lambda k: 0.5 + 1.5 * (k + 1), "jump then +1 a year": lambda k: 4.0 + k}
GRADUAL_YEARS, GRADUAL_TRUE, GRADUAL_KINK = np.arange(1975, 2011), 1982, 1996


def gradual_series(shape: str, rng: np.random.Generator) -> np.ndarray:
    """One entry series of a gradual take-off in ``GRADUAL_TRUE`` (:data:`GRADUAL_SHAPES`)."""
    k = GRADUAL_YEARS - GRADUAL_TRUE
    lam = np.where(k < 0, 0.5, np.where(GRADUAL_YEARS < GRADUAL_KINK, GRADUAL_SHAPES[shape](np.maximum(k, 0)), 6.0))
    y = rng.poisson(lam).astype(float)
    y[0] = 4
    return y


def gradual_coverage(n: int = 100, seed: int = 1) -> dict[str, float]:
    """Coverage of the take-off's 90% interval on ``n`` series of each gradual shape."""
    from clusterecon.estimators.transitions import count_takeoff

    out = {}
    for shape in GRADUAL_SHAPES:
        rng = np.random.default_rng(seed)
        hits = 0
        for _ in range(n):
            b = count_takeoff(gradual_series(shape, rng), GRADUAL_YEARS, start=1, kink_year=GRADUAL_KINK)
            hits += b.interval is not None and b.interval[0] <= GRADUAL_TRUE <= b.interval[1]
        out[shape] = hits / n
    return out
