"""Speed and memory of the load pipeline against a plain pandas read of the same file (issue 11: target ≤ 2×).

For a Parquet and a CSV file of N firm-year rows in canonical names (200,000 firms × 5 years by default) it times,
interleaved in ONE process (so that load from other work on the machine hits both alike):

* the peer: pandas' plain read of the file (``pd.read_parquet`` / ``pd.read_csv``);
* ``clusterecon.load.read_panel`` (read → canonicalise → drop exact duplicates → validate → SurveyPanel, the firm
  index and the (firm_id, year) index included);

and prints the best wall time and the best CPU time of ``--reps`` rounds, and their ratios pipeline / plain read.
Peak memory is measured for each tool in a fresh subprocess (peak RSS above the process's baseline, from the
kernel's VmHWM). An instrumented run shows where the pipeline's time goes; a stage that ran on the loader's worker
thread is shown in brackets and overlaps the others ("other" counts the main thread's time outside the stages
named, including any wait for the worker).

``--chunked ROWS`` also writes a Parquet file of ROWS firm-years and validates it twice in fresh subprocesses:
in memory (``load_survey``) and in chunks (``clusterecon.chunked.validate_parquet``), printing time and peak RSS
of each (the chunked path's memory does not grow with the file).

No assertion: this prints numbers.

    python benchmarks/bench_load.py [--rows 1000000] [--reps 5] [--chunked 15000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


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


def _plain(path: Path):
    import pandas as pd

    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _pipeline(path: Path):
    from clusterecon.load import read_panel

    return read_panel(path)


TOOLS = {"pandas": _plain, "read_panel": _pipeline}


def timed(fn, path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one call; the result is dropped before the next measurement."""
    import gc

    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(path)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    del out
    return wall, cpu


def breakdown(path: Path) -> dict[str, float]:
    """Wall seconds per stage of one read_panel call (the stages wrapped with timers)."""
    from clusterecon import load, panel, validate

    stages: dict[str, float] = {}
    saved = []

    def wrap(owner, name, label):
        fn = getattr(owner, name)
        saved.append((owner, name, fn))

        def w(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                # a stage on the loader's worker thread overlaps the main thread's: marked, and left out of "other"
                key = label if threading.current_thread() is threading.main_thread() else f"[{label} on a worker]"
                stages[key] = stages.get(key, 0.0) + time.perf_counter() - t
        setattr(owner, name, w)

    wrap(load, "_read_main", "read")
    wrap(load, "canonicalise", "canonicalise")
    wrap(load.firmyear, "keys_of", "firm-year keys")
    wrap(validate, "drop_exact_duplicates", "exact duplicates")
    wrap(validate, "validate", "validate")
    from_frame = panel.SurveyPanel.__dict__["from_frame"]
    saved.append((panel.SurveyPanel, "from_frame", from_frame))

    def ff(cls, *a, **k):
        t = time.perf_counter()
        try:
            return from_frame.__func__(cls, *a, **k)
        finally:
            stages["SurveyPanel.from_frame"] = time.perf_counter() - t
    panel.SurveyPanel.from_frame = classmethod(ff)
    try:
        t0 = time.perf_counter()
        _pipeline(path)
        stages["total"] = time.perf_counter() - t0
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
    return stages


# ------------------------------------------------------------------------------------------------ memory (subprocess)
def memory_worker(kind: str, path: str) -> dict:
    """Peak RSS above baseline of one call in this fresh process (imports done before the baseline). The peak is
    the kernel's VmHWM of this process (``getrusage``'s ru_maxrss would include the parent's peak, which Linux
    carries across fork and exec)."""
    import pandas as pd  # noqa: F401
    import psutil
    import pyarrow.parquet  # noqa: F401

    import clusterecon.load  # noqa: F401

    base = psutil.Process().memory_info().rss
    t0 = time.perf_counter()
    if kind == "chunked":
        from clusterecon.chunked import validate_parquet

        rep = validate_parquet(path)
        ok, n = rep.ok, -1
    elif kind == "in-memory validate":
        from clusterecon.load import load_survey

        res = load_survey(path)
        ok, n = res.report.ok, len(res.frame)
    else:
        out = TOOLS[kind](Path(path))
        ok, n = True, len(out.data) if hasattr(out, "data") else len(out)
    secs = time.perf_counter() - t0
    peak = _vm_hwm() - base
    return {"seconds": secs, "peak_rss": peak, "ok": ok, "rows": n}


def _vm_hwm() -> int:
    """This process's peak resident set size in bytes (Linux /proc/self/status VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmHWM not available (Linux only)")


def in_subprocess(kind: str, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, __file__, "--memory-worker", kind, "--path", str(path)], capture_output=True,
                       text=True, env=env)
    if r.returncode:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--formats", default="parquet,csv")
    ap.add_argument("--chunked", type=int, default=0, metavar="ROWS",
                    help="also validate a Parquet file of ROWS firm-years in memory and in chunks")
    ap.add_argument("--memory-worker", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.memory_worker:
        print(json.dumps(memory_worker(a.memory_worker, a.path)))
        return
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (pandas imports it lazily on the first read; keep that out of the timing)

    import clusterecon.load  # noqa: F401

    with tempfile.TemporaryDirectory() as tmp:
        df = make_frame(a.rows)
        frame_mb = df.memory_usage(deep=True).sum() / 2**20
        print(f"{len(df):,} firm-years, {df['firm_id'].nunique():,} firms, {df.shape[1]} columns ({frame_mb:.0f} MB "
              f"in pandas); pandas {pd.__version__}; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the start")
        paths = {}
        for fmt in a.formats.split(","):
            p = Path(tmp) / f"survey.{fmt}"
            df.to_parquet(p, index=False) if fmt == "parquet" else df.to_csv(p, index=False)
            paths[fmt] = p
        del df
        for p in paths.values():  # warm up: file cache, lazy imports
            for fn in TOOLS.values():
                timed(fn, p)
        best: dict[tuple[str, str], list[float]] = {}
        for _ in range(a.reps):  # interleaved: pandas, pipeline, pandas, pipeline, ...
            for fmt, p in paths.items():
                for kind, fn in TOOLS.items():
                    w, c = timed(fn, p)
                    b = best.setdefault((fmt, kind), [float("inf"), float("inf")])
                    b[0], b[1] = min(b[0], w), min(b[1], c)
        print(f"\n{'file':8} {'pandas wall s':>13} {'read_panel wall s':>17} {'ratio':>6} {'pandas CPU s':>13} "
              f"{'read_panel CPU s':>16} {'ratio':>6} {'peak RSS MB pandas':>19} {'read_panel':>11}")
        for fmt, p in paths.items():
            (pw, pc), (lw, lc) = best[(fmt, "pandas")], best[(fmt, "read_panel")]
            mem = {k: in_subprocess(k, p)["peak_rss"] / 2**20 for k in TOOLS}
            print(f"{fmt:8} {pw:13.2f} {lw:17.2f} {lw / pw:6.2f} {pc:13.2f} {lc:16.2f} {lc / pc:6.2f} "
                  f"{mem['pandas']:19.0f} {mem['read_panel']:11.0f}")
        print(f"best of {a.reps} interleaved rounds; target: ratio <= 2.0")
        print(f"\nwhere read_panel's time goes (instrumented runs, best of {a.reps} per stage, wall ms):")
        for fmt, p in paths.items():
            runs = [breakdown(p) for _ in range(a.reps)]
            st = {k: min(r[k] for r in runs) for k in runs[0]}
            total = st.pop("total")
            main = sum(v for k, v in st.items() if not k.startswith("["))
            print(f"  {fmt:8} total {1e3 * total:.0f}: " + ", ".join(f"{k} {1e3 * v:.0f}" for k, v in st.items())
                  + f", other {1e3 * (total - main):.0f}")
        if a.chunked:
            big = Path(tmp) / "big.parquet"
            _write_big(big, a.chunked)
            print(f"\nvalidating {a.chunked:,} firm-years ({big.stat().st_size / 2**20:.0f} MB Parquet), fresh "
                  "processes:")
            for kind in ("in-memory validate", "chunked"):
                r = in_subprocess(kind, big)
                print(f"  {kind:20} {r['seconds']:7.1f} s  peak RSS {r['peak_rss'] / 2**20:7.0f} MB  ok={r['ok']}")


def _write_big(path: Path, rows: int, block: int = 1_000_000) -> None:
    """A large Parquet file written block by block (firms numbered on across blocks) without holding it all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    done = 0
    while done < rows:
        n = min(block, rows - done)
        df = make_frame(n, seed=done)
        df["firm_id"] = "F" + (df["firm_id"].str[1:].astype(int) + done // 5).astype(str)
        t = pa.Table.from_pandas(df, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, t.schema)
        writer.write_table(t)
        done += n
    if writer:
        writer.close()


if __name__ == "__main__":
    main()
