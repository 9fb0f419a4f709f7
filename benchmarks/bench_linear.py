"""Two-way fixed effects (firm + year) with firm-clustered standard errors: clusterecon vs peers, same run.

Tools: clusterecon ``within(effects="twoway", vcov="cluster")``; pyfixest ``feols("y ~ x | firm + year",
vcov={"CRV1": "firm"})``; linearmodels ``PanelOLS(entity_effects, time_effects).fit(cov_type="clustered")``; and a
plain-numpy floor (bincount firm demeaning, dense demeaned year dummies, lstsq, bincount cluster sums).

Timing: all tools in one process on one plain DataFrame (loaded, not timed), one warm-up fit each (numba JIT
etc.), then ``repeats`` rounds in which every tool fits once, interleaved, so a busy machine slows every tool alike.
Whatever index a tool needs is built inside the timed region, as a user pays it: clusterecon and linearmodels get
``set_index(["firm", "year"])`` inside the fit, pyfixest takes the plain frame. Memory: each tool alone in a fresh
process, peak RSS above the loaded-data baseline (``ru_maxrss`` − RSS before the first fit). Reported: median
seconds, median CPU seconds (all threads; less distorted than wall time when other processes share the machine),
peak MB and ratios to clusterecon. Also checks that every tool returns the same coefficients and SEs (up to each
tool's small-sample convention).

Usage: ``python benchmarks/bench_linear.py [--sizes 100000 1000000 10000000] [--years 10] [--repeats 5]``
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

import numpy as np

TOOLS = ("clusterecon", "pyfixest", "linearmodels", "numpy")
ROOT = Path(__file__).resolve().parents[1]


def make_data(n: int, T: int, path: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    G = n // T
    firm = np.repeat(np.arange(G, dtype=np.int64), T)
    year = np.tile(np.arange(2000, 2000 + T, dtype=np.int64), G)
    keep = rng.random(G * T) > 0.05  # mildly unbalanced, as surveys are
    firm, year = firm[keep], year[keep]
    m = len(firm)
    a = rng.normal(size=G)[firm]
    lam = rng.normal(size=T)[year - 2000]
    x = rng.normal(size=(m, 3))
    x[:, 0] += a
    y = x @ np.array([1.0, -0.5, 0.2]) + a + lam + rng.normal(size=m)
    np.savez(path, firm=firm, year=year, x=x, y=y)


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _maxrss() -> int:
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb * 1024 if sys.platform != "darwin" else kb


def numpy_floor(firm: np.ndarray, year: np.ndarray, X: np.ndarray, y: np.ndarray):
    """Plain numpy two-way FE + CRV1 (xtreg rule): the floor any implementation pays."""
    G = int(firm.max()) + 1
    yc = year - year.min()
    T = int(yc.max()) + 1
    cnt = np.bincount(firm, minlength=G).astype(float)
    D = (yc[:, None] == np.arange(1, T)[None, :]).astype(float)
    Z = np.column_stack([y, X, D])
    for j in range(Z.shape[1]):
        Z[:, j] -= (np.bincount(firm, weights=Z[:, j], minlength=G) / cnt)[firm]
    Xt, yt = Z[:, 1:], Z[:, 0]
    b, *_ = np.linalg.lstsq(Xt, yt, rcond=None)
    e = yt - Xt @ b
    bread = np.linalg.inv(Xt.T @ Xt)
    S = np.column_stack([np.bincount(firm, weights=Xt[:, j] * e, minlength=G) for j in range(Xt.shape[1])])
    n, k = Xt.shape
    V = bread @ (S.T @ S) @ bread * G / (G - 1) * (n - 1) / (n - k - 1)
    return b[:3], np.sqrt(np.diag(V))[:3]


def make_fit(tool: str, z) -> tuple:
    """The fit function of ``tool`` on the arrays ``z`` and the number of rows. Index building is inside ``fit``."""
    import pandas as pd

    firm, year, X, y = z["firm"], z["year"], z["x"], z["y"]
    df = pd.DataFrame({"firm": firm, "year": year, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2], "y": y})
    if tool == "clusterecon":
        sys.path.insert(0, str(ROOT))
        from clusterecon.estimators.within import within

        def fit():
            r = within(df.set_index(["firm", "year"]), "y ~ x1 + x2 + x3", effects="twoway", vcov="cluster")
            return r.coef, r.std_errors.to_numpy()
    elif tool == "pyfixest":
        import pyfixest as pf

        def fit():
            m = pf.feols("y ~ x1 + x2 + x3 | firm + year", df, vcov={"CRV1": "firm"})
            return m.coef().to_numpy(), m.se().to_numpy()
    elif tool == "linearmodels":
        from linearmodels import PanelOLS

        def fit():
            d = df.set_index(["firm", "year"])
            r = PanelOLS(d["y"], d[["x1", "x2", "x3"]], entity_effects=True, time_effects=True).fit(
                cov_type="clustered", cluster_entity=True)
            return r.params.to_numpy(), r.std_errors.to_numpy()
    else:
        def fit():
            return numpy_floor(firm, year, X, y)
    return fit, len(y)


def run_one(tool: str, path: str, repeats: int) -> dict:
    """Peak memory of one tool (fresh process), plus its coefficients for the cross-check."""
    import warnings

    warnings.filterwarnings("ignore")
    fit, n = make_fit(tool, np.load(path))
    base = _rss()
    coef, se = fit()  # warm-up (JIT, caches)
    for _ in range(repeats):
        coef, se = fit()
    return {"tool": tool, "n": n, "peak_mb": (_maxrss() - base) / 2**20, "coef": list(map(float, coef)),
            "se": list(map(float, se))}


def run_interleaved(tools: list[str], path: str, repeats: int) -> dict:
    """Wall and CPU time of every tool in one process, interleaved (rep 1 of each tool, rep 2 of each, ...), so a
    busy machine slows every tool alike and the ratios stay fair."""
    import warnings

    warnings.filterwarnings("ignore")
    z = np.load(path)
    fits = {t: make_fit(t, z)[0] for t in tools}
    for f in fits.values():
        f()  # warm-up
    times: dict[str, list[float]] = {t: [] for t in tools}
    cpu: dict[str, list[float]] = {t: [] for t in tools}
    for _ in range(repeats):
        for t, f in fits.items():
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            times[t].append(time.perf_counter() - t0)
            cpu[t].append(time.process_time() - c0)
    return {t: {"median_s": float(np.median(times[t])), "times": times[t], "cpu_s": float(np.median(cpu[t]))}
            for t in tools}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS))
    ap.add_argument("--one", nargs=3, metavar=("TOOL", "PATH", "REPEATS"), help=argparse.SUPPRESS)
    ap.add_argument("--interleaved", nargs="+", metavar="TOOLS PATH REPEATS", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], int(args.one[2]))))
        return
    if args.interleaved:
        *tools, path, reps = args.interleaved
        print(json.dumps(run_interleaved(tools, path, int(reps))))
        return
    import platform

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"load average {os.getloadavg()[0]:.1f} (other processes distort timings; compare ratios)")
    for mod in ("pyfixest", "linearmodels", "pandas"):
        try:
            print(f"{mod} {__import__(mod).__version__}")
        except Exception:  # noqa: BLE001 - report and continue
            print(f"{mod} not installed")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"panel_{n}.npz"
            make_data(n, args.years, path)
            reps = args.repeats if n <= 1_000_000 else max(1, args.repeats // 2)
            row = {}
            for tool in args.tools:  # memory: each tool alone in a fresh process
                proc = subprocess.run([sys.executable, __file__, "--one", tool, str(path), "1"],
                                      capture_output=True, text=True)
                if proc.returncode != 0:
                    print(f"  {tool} n={n}: failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                row[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
            # time: all tools in one process, interleaved (linearmodels alone needs minutes at 10M: fewer reps)
            timed = [t for t in row if not (t == "linearmodels" and n > 1_000_000)]
            proc = subprocess.run([sys.executable, __file__, "--interleaved", *timed, str(path), str(reps)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"  timing n={n}: failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            for t, r in json.loads(proc.stdout.strip().splitlines()[-1]).items():
                row[t].update(r)
            if "linearmodels" in row and "median_s" not in row["linearmodels"]:
                proc = subprocess.run([sys.executable, __file__, "--interleaved", "linearmodels", str(path), "1"],
                                      capture_output=True, text=True)
                row["linearmodels"].update(json.loads(proc.stdout.strip().splitlines()[-1])["linearmodels"])
            row = {t: r for t, r in row.items() if "median_s" in r}
            results.extend(row.values())
            _report(n, row)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def _report(n: int, row: dict) -> None:
    print(f"\n== two-way FE + firm-clustered SEs, {n:,} firm-years (3 regressors) ==")
    ce = row.get("clusterecon")
    print(f"{'tool':<14}{'median s':>10}{'min s':>8}{'CPU s':>8}{'peak MB':>10}{'time / ce':>11}{'mem / ce':>10}")
    for tool, r in row.items():
        rt = r["median_s"] / ce["median_s"] if ce else float("nan")
        rm = r["peak_mb"] / ce["peak_mb"] if ce and ce["peak_mb"] > 0 else float("nan")
        print(f"{tool:<14}{r['median_s']:>10.3f}{min(r['times']):>8.3f}{r['cpu_s']:>8.3f}{r['peak_mb']:>10.0f}"
              f"{rt:>11.2f}{rm:>10.2f}")
    if ce:
        for tool, r in row.items():
            if tool != "clusterecon":
                db = np.max(np.abs(np.array(r["coef"]) - ce["coef"]))
                ds = np.max(np.abs(np.array(r["se"]) / ce["se"] - 1))
                print(f"  {tool}: max |Δcoef| = {db:.1e}, max rel ΔSE = {ds:.1e}")
        targets = {"pyfixest": 2.0, "linearmodels": 8.0}
        for tool, want in targets.items():
            if tool in row:
                got = row[tool]["median_s"] / ce["median_s"]
                print(f"  speed vs {tool}: {got:.2f}x (target >= {want:g}x) {'OK' if got >= want else 'MISSED'}")
        if "pyfixest" in row and row["pyfixest"]["peak_mb"] > 0:
            frac = ce["peak_mb"] / row["pyfixest"]["peak_mb"]
            print(f"  peak memory vs pyfixest: {frac:.2f} (target <= 0.5) {'OK' if frac <= 0.5 else 'MISSED'}")
        if "numpy" in row:
            print(f"  ratio to numpy floor: {ce['median_s'] / row['numpy']['median_s']:.2f}")


if __name__ == "__main__":
    main()
