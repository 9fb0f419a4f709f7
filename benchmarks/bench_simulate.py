"""Speed of the cluster simulator (issue 5): one cluster, scaling with the number of firms, and a Monte Carlo.

Targets from the issue: one 300-firm × 40-year cluster in ≤ 50 ms; 1,000 replications of simulate + survey + FE
regression in ≤ 60 s on 2 cores; time linear in the number of firms.

Measured, in this run:

1. one garments-preset cluster over 40 years (``n_years=40``; the number of firms ever active and the firm-years
   are printed): the engine alone (``model.run``), the census DataFrame (``simulate_frame``) and the SurveyPanel
   (``simulate``); median of ``--repeats`` runs with different seeds;
2. scaling: the demand level (``demand_quantity``) multiplied by 1/4 … 8, which scales the number of firms;
   milliseconds and milliseconds per 1,000 firm-years;
3. one Monte Carlo replication split into its stages (simulate, survey, FE regression), with pyfixest's
   ``feols(... | firm_id + year, vcov={"CRV1": "firm_id"})`` timed on the same data as the peer of the FE step;
4. ``montecarlo(R=--reps, n_jobs=2)`` of the default design (simulate → 4 survey rounds of 200 firms → two-way FE
   of ln sales on ln L, ln K and innovation with firm-clustered SEs), wall time.

No peer simulates this model, so only the FE step has a peer. Usage:
``python benchmarks/bench_simulate.py [--reps 1000] [--repeats 15]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import warnings  # noqa: E402

import numpy as np  # noqa: E402

from clusterecon.simulate.model import run, simulate, simulate_frame  # noqa: E402
from clusterecon.simulate.params import garments  # noqa: E402


def _median_ms(fn, repeats: int, clock=time.perf_counter) -> float:
    ts = []
    for i in range(repeats):
        t = clock()
        fn(i)
        ts.append(clock() - t)
    return 1000 * statistics.median(ts)


def _cpu_ms(fn, repeats: int) -> float:
    """Median CPU time of this process (``time.process_time``): robust to other processes on a busy machine."""
    return _median_ms(fn, repeats, clock=time.process_time)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000, help="Monte Carlo replications (step 4)")
    ap.add_argument("--repeats", type=int, default=15, help="timed runs per measurement (median)")
    args = ap.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, load average at start: {load:.1f}")

    p = garments(n_years=40)
    df, _ = simulate_frame(p, 0)
    n_firms, n_fy = df["firm_id"].nunique(), len(df)
    peak = int(df.groupby("year").size().max())
    run(p, 0)  # warm-up (scipy import for the Beta table)
    eng = _median_ms(lambda i: run(p, i), args.repeats)
    frm = _median_ms(lambda i: simulate_frame(p, i), args.repeats)
    pan = _median_ms(lambda i: simulate(p, i), args.repeats)
    print(f"\n1. one cluster, 40 years: {n_firms} firms ever active (peak {peak} at once), {n_fy} firm-years")
    c_eng, c_frm, c_pan = (_cpu_ms(lambda i, f=f: f(p, i), args.repeats) for f in (run, simulate_frame, simulate))
    print(f"   engine (model.run)         {eng:8.1f} ms wall, {c_eng:6.1f} ms CPU")
    print(f"   census DataFrame           {frm:8.1f} ms wall, {c_frm:6.1f} ms CPU")
    print(f"   census SurveyPanel         {pan:8.1f} ms wall, {c_pan:6.1f} ms CPU")
    p300 = p.replace(demand_quantity=p.demand_quantity / 2)
    d300, _ = simulate_frame(p300, 0)
    print(f"   300-firm cluster ({d300['firm_id'].nunique()} firms ever, {len(d300)} firm-years), census DataFrame: "
          f"{_median_ms(lambda i: simulate_frame(p300, i), args.repeats):.1f} ms wall, "
          f"{_cpu_ms(lambda i: simulate_frame(p300, i), args.repeats):.1f} ms CPU (target <= 50 ms)")

    print("\n2. scaling with the number of firms (demand_quantity × k)")
    print(f"   {'k':>5} {'firms':>7} {'firm-years':>10} {'ms':>8} {'ms/1000 fy':>11}")
    for k in (0.25, 0.5, 1, 2, 4, 8):
        pk = p.replace(demand_quantity=p.demand_quantity * k)
        d, _ = simulate_frame(pk, 0)
        ms = _median_ms(lambda i, pk=pk: simulate_frame(pk, i), max(3, args.repeats // 3))
        print(f"   {k:>5g} {d['firm_id'].nunique():>7} {len(d):>10} {ms:>8.1f} {1000 * ms / len(d):>11.2f}")

    from clusterecon.estimators.within import within
    from clusterecon.simulate.montecarlo import montecarlo
    from clusterecon.simulate.survey import Fieldwork, survey_frame

    design = dict(kind="rounds", survey_years=(2000, 2002, 2004, 2006), n_firms=200, keep_truth=True,
                  fieldwork=Fieldwork.exact())
    formula = "np.log(sales) ~ np.log(employees) + np.log(capital) + innovator"
    census, truth = simulate_frame("garments", 1)
    frame, _ = survey_frame(census, truth, seed=1, **design)
    data = frame.set_index(["firm_id", "year"])
    within(data, formula, effects="twoway", vcov="cluster")
    t_sim = _median_ms(lambda i: simulate_frame("garments", i), args.repeats)
    t_sur = _median_ms(lambda i: survey_frame(census, truth, seed=i, **design), args.repeats)
    t_fe = _median_ms(lambda i: within(data, formula, effects="twoway", vcov="cluster"), args.repeats)
    print(f"\n3. one replication by stage ({len(data)} firm-years surveyed)")
    print(f"   simulate (garments, 45 y)  {t_sim:8.1f} ms")
    print(f"   survey (4 rounds, 200)     {t_sur:8.1f} ms")
    print(f"   FE regression (within)     {t_fe:8.1f} ms")
    try:
        import pyfixest as pf

        warnings.filterwarnings("ignore", message=".*singleton", category=UserWarning)

        d2 = data.reset_index().assign(ls=lambda d: np.log(d["sales"]), ll=lambda d: np.log(d["employees"]),
                                       lk=lambda d: np.log(d["capital"]), inn=lambda d: d["innovator"].astype(float))
        pf.feols("ls ~ ll + lk + inn | firm_id + year", data=d2, vcov={"CRV1": "firm_id"})
        t_pf = _median_ms(lambda i: pf.feols("ls ~ ll + lk + inn | firm_id + year", data=d2,
                                             vcov={"CRV1": "firm_id"}), args.repeats)
        print(f"   FE regression (pyfixest)   {t_pf:8.1f} ms   (clusterecon / pyfixest = {t_fe / t_pf:.2f})")
    except ImportError:
        print("   pyfixest not installed: no peer timing for the FE step")

    cpu = (_cpu_ms(lambda i: simulate_frame("garments", i), args.repeats)
           + _cpu_ms(lambda i: survey_frame(census, truth, seed=i, **design), args.repeats)
           + _cpu_ms(lambda i: within(data, formula, effects="twoway", vcov="cluster"), args.repeats))
    print(f"   CPU per replication        {cpu:8.1f} ms  -> {args.reps} replications on 2 idle cores ≈ "
          f"{args.reps * cpu / 2000:.1f} s")
    montecarlo(R=4, n_jobs=2, seed=0)  # start the loky workers (not timed)
    t = time.perf_counter()
    mc = montecarlo(R=args.reps, n_jobs=2, seed=2026)
    wall = time.perf_counter() - t
    print(f"\n4. Monte Carlo: {args.reps} replications of simulate + survey + FE, n_jobs=2: {wall:.1f} s "
          f"(target <= 60 s for 1,000); {len(mc.failures)} failed")
    print(mc.summary.to_string(float_format=lambda v: f"{v:.4f}"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end: {load:.1f} (other processes inflate the timings when it exceeds the cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
