"""Speed and memory of the load pipeline: load + validate + build the panel for 1M firm-years (issue 2).

For a Parquet and a CSV file of N firm-year rows in canonical names (200,000 firms × 5 years by default) it measures

* pandas' plain read of the same file (``pd.read_parquet`` / ``pd.read_csv``) -- the peer;
* ``clusterecon.load.load_survey`` (read → canonicalise → drop exact duplicates → validate → SurveyPanel);

and prints the best wall time of ``--reps`` runs (the machine is shared; the minimum is the least disturbed),
the ratio pipeline / plain read (target ≤ 2.0), and the peak memory of the pipeline above the process's baseline
(peak RSS from ``getrusage``, and tracemalloc's peak, which counts numpy/pandas buffers but not Arrow's) relative
to the size of the frame pandas reads (target ≤ 3×). Every measurement runs in a fresh subprocess so that peaks do
not leak between runs; extra instrumented runs show where the time goes. No assertion: this prints numbers.

    python benchmarks/bench_load.py [--rows 1000000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_frame(n_rows: int, seed: int = 1):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    years = np.arange(2001, 2006)
    n_firms = n_rows // len(years)
    fid = np.repeat(np.arange(n_firms), len(years))
    occ = np.array(["merchant", "engineer", "worker_same_industry", "worker_other_industry", "soe_employee",
                    "artisan", "farmer", "other"])
    founded = rng.integers(1950, 2001, n_firms)
    size = rng.lognormal(0, 1, n_firms)[fid]
    n = len(fid)
    sales = np.round(100 * size * rng.lognormal(0, 0.2, n), 2)
    return pd.DataFrame({
        "firm_id": np.char.add("F", fid.astype("U7")),
        "year": np.tile(years, n_firms),
        "cluster": np.array(["north", "south"])[fid % 2],
        "industry": "garments",
        "founding_year": founded[fid],
        "founder_prior_occupation": occ[rng.integers(0, len(occ), n_firms)][fid],
        "manager_schooling_years": rng.integers(0, 19, n_firms)[fid].astype(float),
        "sales": sales,
        "material_cost": np.round(sales * rng.uniform(0.3, 0.7, n), 2),
        "employees": np.maximum(1, np.round(5 * size ** 0.7)),
        "capital": np.round(80 * size * rng.lognormal(0, 0.2, n), 2),
        "wage_bill": np.round(sales * 0.15, 2),
        "exporter": rng.random(n) < 0.1,
    })


def _instrument(stages: dict) -> None:
    """Wrap the pipeline's stages with timers (for the breakdown run only)."""
    from clusterecon import load, validate
    from clusterecon.panel import SurveyPanel

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    load.read_table = timed("read", load.read_table)
    load.canonicalise = timed("canonicalise", load.canonicalise)
    validate.drop_exact_duplicates = timed("drop exact dups", validate.drop_exact_duplicates)
    validate.validate = timed("validate", validate.validate)
    from_frame = SurveyPanel.from_frame
    SurveyPanel.from_frame = classmethod(lambda cls, *a, **k: timed("SurveyPanel.from_frame", from_frame)(*a, **k))


def worker(kind: str, path: str, trace: bool, breakdown: bool = False) -> dict:
    """One measurement in this (fresh) process; imports (pyarrow included) happen before the clock starts."""
    import resource

    import pandas as pd
    import psutil
    import pyarrow.parquet  # noqa: F401  (pandas imports it lazily on the first read; keep that out of the timing)

    from clusterecon.load import load_survey

    stages: dict = {}
    if breakdown:
        _instrument(stages)

    fmt = Path(path).suffix.lstrip(".")
    base_rss = psutil.Process().memory_info().rss
    if trace:
        import tracemalloc

        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "pandas":
        df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        frame_bytes, n = int(df.memory_usage(deep=True).sum()), len(df)
        ok = True
    else:
        res = load_survey(path)
        frame_bytes, n = int(res.frame.memory_usage(deep=True).sum()), res.panel.n_obs if res.panel else -1
        ok = res.report.ok
    secs = time.perf_counter() - t0
    out = {"seconds": secs, "frame_bytes": frame_bytes, "rows": n, "ok": ok, "stages": stages}
    if trace:
        out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
    else:
        out["peak_rss_delta"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base_rss
    return out


def measure(kind: str, path: Path, trace: bool = False, breakdown: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, __file__, "--worker", kind, "--path", str(path)] + (["--trace"] if trace else []) + (
        ["--breakdown"] if breakdown else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--worker", choices=["pandas", "pipeline"], help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--breakdown", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.path, a.trace, a.breakdown)))
        return
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        df = make_frame(a.rows)
        print(f"{len(df):,} firm-years, {df['firm_id'].nunique():,} firms, {df.shape[1]} columns; pandas "
              f"{pd.__version__}; {os.cpu_count()} cores")
        paths = {}
        for fmt in a.formats.split(","):
            p = Path(tmp) / f"survey.{fmt}"
            df.to_parquet(p, index=False) if fmt == "parquet" else df.to_csv(p, index=False)
            paths[fmt] = p
        del df
        print(f"{'file':8} {'pandas read s':>14} {'pipeline s':>11} {'ratio':>6} {'frame MB':>9} "
              f"{'peak RSS MB':>12} {'x frame':>8} {'tracemalloc MB':>15} {'x frame':>8}")
        breakdowns = {}
        for fmt, p in paths.items():
            plain = [measure("pandas", p) for _ in range(a.reps)]
            pipe = [measure("pipeline", p) for _ in range(a.reps)]
            traced = measure("pipeline", p, trace=True)
            runs = [measure("pipeline", p, breakdown=True) for _ in range(a.reps)]
            breakdowns[fmt] = {"seconds": min(r["seconds"] for r in runs),
                               "stages": {k: min(r["stages"][k] for r in runs) for k in runs[0]["stages"]}}
            assert all(r["ok"] for r in pipe), "the benchmark file must validate without errors"
            t_plain = min(r["seconds"] for r in plain)  # best of reps: the least disturbed by other load
            t_pipe = min(r["seconds"] for r in pipe)
            frame_mb = plain[0]["frame_bytes"] / 2**20
            rss_mb = max(r["peak_rss_delta"] for r in pipe) / 2**20
            tm_mb = traced["tracemalloc_peak"] / 2**20
            print(f"{fmt:8} {t_plain:14.2f} {t_pipe:11.2f} {t_pipe / t_plain:6.2f} {frame_mb:9.0f} "
                  f"{rss_mb:12.0f} {rss_mb / frame_mb:8.2f} {tm_mb:15.0f} {tm_mb / frame_mb:8.2f}")
        print("targets: ratio <= 2.0, peak <= 3x the frame's size")
        print("\nwhere the pipeline's time goes (instrumented runs, best of reps per stage, seconds):")
        for fmt, b in breakdowns.items():
            st = b["stages"]
            rest = b["seconds"] - sum(st.values())
            print(f"  {fmt:8} " + ", ".join(f"{k} {v:.2f}" for k, v in st.items()) + f", other {rest:.2f}")


if __name__ == "__main__":
    main()
