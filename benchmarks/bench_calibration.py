"""Regenerate the calibration table of the hypothesis battery (issue 10) and write it as markdown.

Size and power of every claim and accuracy/coverage of the dated transitions, on the project's simulator and on the
tests' independent reduced-form generator (``tests/reduced_form.py``), across the settings of
``tests/calibration.py`` (1960s and 1995 starts, a census with 10 pioneers, census, recall and rounds designs, 5-
and 8-year windows, 40 and 150 firms, 8% missing values with attrition). Replications run through joblib with 2
workers; every replication has its own seed, so the table does not depend on the number of workers.

Run:  python benchmarks/bench_calibration.py [--reps 30] [--coverage] [--out FILE]

The table replaces the section between ``<!-- calibration:start -->`` and ``<!-- calibration:end -->`` of
``docs/hypotheses.md`` (``--out FILE`` writes it to FILE instead).

``--oracle N`` (with ``--reps 0`` alone) runs N replications of the cells whose power misses the bar through
``tests/calibration.py::oracle_power`` — the battery, the same test with the true phase dates, and the bare test with
no minimum-evidence rule — and writes that table between ``<!-- oracle:start -->`` and ``<!-- oracle:end -->``.

``--coverage`` also rewrites ``clusterecon/hypotheses/_coverage.py`` (the coverage quoted next to each dated
interval) from the pooled on-world runs. Bars (issue 10): "supported" when the effect is off ≤ 10%; when on ≥ 80%;
dates within ±2 years ≥ 80%; 90% intervals cover ≥ 85%; no ``failed``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from calibration import calibrate, claim_table, dating_table, failures  # noqa: E402

START, END = "<!-- calibration:start -->", "<!-- calibration:end -->"


def _pct(x: float) -> str:
    return "" if pd.isna(x) else f"{100 * x:.0f}%"


def markdown(runs: pd.DataFrame, seconds: float, reps: int, note: str = "", jobs: int = 2) -> str:
    ct = claim_table(runs)
    dtab = dating_table(runs)
    fails = failures(runs)
    today = dt.date.today().isoformat()
    per = "; ".join(f"{d}: {g['seed'].nunique()} replications per setting and world (seeds {g['seed'].min()}–"
                    f"{g['seed'].max()})" for d, g in runs.groupby("dgp", sort=False))
    n_lo = int(runs.groupby("dgp")["seed"].nunique().min())
    se = lambda p: 100 * np.sqrt(p * (1 - p) / n_lo)  # noqa: E731
    load = f"load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else "load not measured"
    workers = f"{jobs} worker{'' if jobs == 1 else 's'}"
    lines = [f"Run {today}: {per}; {len(runs)} runs on {workers} in {seconds / 60:.1f} min ({load}){note}. "
             "Monte Carlo s.e. of "
             f"a rate p over n = {n_lo} runs: √(p(1−p)/n) — ±{se(0.5):.0f} points at 50%, ±{se(0.8):.0f} at 80/20%, "
             f"±{se(0.9):.0f} at 90/10%. `python benchmarks/bench_calibration.py --reps {n_lo} --coverage` "
             "regenerates it.", "",
             f"`failed` (bugs) in all runs: {len(fails)}.", ""]
    lines += ["**Claims.** n = runs behind 'supported | on' (for innovation, performance and exit only the runs whose "
              "quality phase had started within the years observed); supported | on = power (every effect on); "
              "supported | off = size (every hypothesis mechanism off, phases kept); hyp. | off = the hypothesis's "
              "combined status \"supported\" when off; inconcl. / skipped | on = the share the evidence rules or the "
              "design left undecided. Blank: no switch (the simulator has none for imitation; output grows in every "
              "world).", ""]
    head = "| generator | setting | claim | n | supported \\| on | supported \\| off | hyp. \\| off | " \
           "inconcl. \\| on | skipped \\| on |"
    lines += [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in ct.itertuples(index=False):
        lines.append(f"| {r.dgp} | {r.setting} | {r.claim} | {r.reps} | {_pct(r[4])} | {_pct(r[5])} | "
                     f"{_pct(r[6])} | {_pct(r[7])} | {_pct(r[8])} |")
    lines += ["", "**Dating.** dated = share of runs with a significant transition; within ±2 and covers: among the "
              "runs that dated it (truth: the simulator's first imitator's year and quality trigger; the generator's "
              "t1, t2). World *flat* (reduced form): no take-off and no quality transition, so every dating is "
              "false.", "",
              "| generator | setting | world | take-off dated | within ±2 | 90% covers | quality dated | within ±2 | "
              "90% covers |", "|---|---|---|---|---|---|---|---|---|"]
    for r in dtab.to_dict("records"):
        lines.append(f"| {r['dgp']} | {r['setting']} | {r['world']} | {_pct(r.get('t1 dated'))} | "
                     f"{_pct(r.get('t1 within ±2', np.nan))} | {_pct(r.get('t1 90% covers', np.nan))} | "
                     f"{_pct(r.get('t2 dated'))} | {_pct(r.get('t2 within ±2', np.nan))} | "
                     f"{_pct(r.get('t2 90% covers', np.nan))} |")
    if len(fails):
        lines += ["", "Failures:", ""] + [f"* {f.dgp}, {f.setting}, {f.world}, seed {f.seed}: {f.value}"
                                          for f in fails.itertuples()]
    return "\n".join(lines) + "\n"


def pooled_coverage(runs: pd.DataFrame) -> dict[str, float]:
    from calibration import _covers

    out = {}
    on = runs[runs["world"] == "on"]
    census = on["setting"].str.startswith("census")
    for key, k in (("takeoff", "t1"), ("quality", "t2")):
        for suffix, rows in (("", on), ("_census", on[census]), ("_survivors", on[~census])):
            det = rows["t1_detected"] if k == "t1" else rows["t2"].notna()
            d = rows[det]
            if len(d):
                out[key + suffix] = float(np.mean([_covers(i, t) for i, t in zip(d[f"{k}_int"], d[f"{k}_true"])]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed0", type=int, default=1000, help="first seed (chunks of replications: --seed0 1008 ...)")
    ap.add_argument("--out", default=None, help="write the table here instead of into docs/hypotheses.md")
    ap.add_argument("--runs", default=None, help="also pickle the raw runs here")
    ap.add_argument("--coverage", action="store_true", help="rewrite clusterecon/hypotheses/_coverage.py")
    ap.add_argument("--dgps", default="simulator,reduced form",
                    help="comma-separated generators to run (default both)")
    ap.add_argument("--merge", nargs="*", default=(),
                    help="pickled runs (--runs of earlier invocations) to add before the table is written, e.g. the "
                         "reduced form run while the simulator was still changing")
    ap.add_argument("--note", default="", help="text added to the table's first line (e.g. the simulator's commit)")
    ap.add_argument("--no-table", action="store_true", help="only pickle the runs (--runs); write no table")
    ap.add_argument("--oracle", type=int, default=0, metavar="N",
                    help="also run N replications of the oracle for the cells below the power bar")
    a = ap.parse_args()
    if a.oracle:
        oracle(a.oracle, a.jobs, a.seed0, a.out)
    if a.reps <= 0 and not a.merge:
        return
    t0 = time.perf_counter()
    dgps = tuple(d.strip() for d in a.dgps.split(",") if d.strip())
    runs = calibrate(a.reps, n_jobs=a.jobs, dgps=dgps, seed0=a.seed0) if a.reps > 0 and dgps else pd.DataFrame()
    seconds = time.perf_counter() - t0
    if a.runs:
        runs.to_pickle(a.runs)
    if a.no_table:
        return
    if a.merge:
        runs = pd.concat([*(pd.read_pickle(m) for m in a.merge), runs], ignore_index=True)
    md = markdown(runs, seconds, a.reps, f"; {a.note}" if a.note else "", jobs=a.jobs)
    print(md)
    if a.out:
        Path(a.out).write_text(md, encoding="utf-8")
    else:
        doc = ROOT / "docs" / "hypotheses.md"
        text = doc.read_text(encoding="utf-8")
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        doc.write_text(f"{head}{START}\n{md}{END}{tail}", encoding="utf-8")
    if a.coverage:
        cov = pooled_coverage(runs)
        from calibration import gradual_coverage

        # the calibration's take-offs are sharp; a gradual rise covers less often, and the verdict says so
        cov["takeoff_gradual"] = min(gradual_coverage().values())
        (ROOT / "clusterecon" / "hypotheses" / "_coverage.py").write_text(
            '"""Coverage of the phase-dating intervals measured by the calibration suite (written by\n'
            '``benchmarks/bench_calibration.py --coverage``; quoted next to each interval in the phase verdict)."""\n\n'
            f'RUN_DATE = "{dt.date.today().isoformat()}"\n'
            "COVERAGE: dict[str, float] = {\n" + "".join(f"    {k!r}: {v:.3f},\n" for k, v in cov.items()) + "}\n",
            encoding="utf-8")


ORACLE_START, ORACLE_END = "<!-- oracle:start -->", "<!-- oracle:end -->"


def oracle(reps: int, jobs: int, seed0: int, out: str | None) -> None:
    """The oracle table (module docstring) as markdown, into docs/hypotheses.md or ``out``."""
    from calibration import oracle_power

    t0 = time.perf_counter()
    tab = oracle_power(reps, n_jobs=jobs, seed0=seed0)
    minutes = (time.perf_counter() - t0) / 60
    lines = [f"Run {dt.date.today().isoformat()}: {reps} replications per generator and setting (seeds {seed0}–"
             f"{seed0 + reps - 1}), on and off, {minutes:.1f} min on {jobs} worker(s); n = on-world runs whose "
             "quality phase had started in the years observed. `python benchmarks/bench_calibration.py --reps 0 "
             f"--oracle {reps}` regenerates it.", "",
             "| generator | design | claim | n | battery | with the true dates | bare test, on | bare test, **off** "
             "(size) |", "|---|---|---|---|---|---|---|---|"]
    for r in tab.to_dict("records"):
        lines.append(f"| {r['dgp']} | {r['setting']} | {r['claim']} | {r['n']} | {_pct(r['battery'])} | "
                     f"{_pct(r['true dates'])} | {_pct(r['bare test (true dates, no rules)'])} | "
                     f"{_pct(r['bare test | off'])} |")
    md = "\n".join(lines) + "\n"
    print(md)
    if out:
        Path(out).with_suffix(".oracle.md").write_text(md, encoding="utf-8")
        return
    doc = ROOT / "docs" / "hypotheses.md"
    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(ORACLE_START, 1)
    _, tail = rest.split(ORACLE_END, 1)
    doc.write_text(f"{head}{ORACLE_START}\n{md}{ORACLE_END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
