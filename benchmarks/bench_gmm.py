"""Two-step system GMM with collapsed instruments: clusterecon vs pydynpd (and R plm pgmm where R is installed).

Work: an AR(1) panel with one strictly exogenous regressor (y = 0.5·lag(y) + x + η + v), 10k firms × 10 years
(100k firm-years), fitted as xtabond2 ``y L.y x, gmm(L.y, collapse) iv(x) twostep robust``: clusterecon
``blundell_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"),
time_dummies=False)`` and pydynpd ``"y L1.y x | gmm(y, 2:9) iv(x) | collapse"``. Each tool starts from the same
(firm, year)-indexed DataFrame and is timed on its whole call, panel indexing included; the tools are interleaved
in one process (repeat r: clusterecon, then pydynpd), so machine load hits both alike, and the minimum over repeats
is reported. Then clusterecon alone on 100k, 300k and 1M firm-years, each in a fresh subprocess, with its peak
resident memory, to show that time and memory grow linearly.

pydynpd 0.2.2 calls ``numpy.in1d``, removed in numpy 2; the benchmark restores that one name (``numpy.isin`` has the
same semantics) at run time before importing it. Nothing of pydynpd is copied. R is not installed on the
development machine; when ``Rscript`` and plm are present, pgmm runs on the same data written to a CSV (its timing
then includes reading the file, which is small next to the fit).

Run: ``PYTHONPATH=. python benchmarks/bench_gmm.py [--repeats 3] [--skip-large]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd


def simulate(n_firms: int, T: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    burn = 10
    eta = rng.normal(size=n_firms)
    x = rng.normal(size=(n_firms, T + burn))
    y = np.empty((n_firms, T + burn))
    y[:, 0] = 2 * eta + rng.normal(size=n_firms)
    for t in range(1, T + burn):
        y[:, t] = 0.5 * y[:, t - 1] + x[:, t] + eta + rng.normal(size=n_firms)
    return pd.DataFrame({"firm": np.repeat(np.arange(n_firms), T), "year": np.tile(np.arange(2001, 2001 + T), n_firms),
                         "y": y[:, burn:].ravel(), "x": x[:, burn:].ravel()}).set_index(["firm", "year"])


def run_clusterecon(df: pd.DataFrame):
    from clusterecon.estimators import blundell_bond, gmm, iv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return blundell_bond(df, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"),
                             time_dummies=False, steps=2, vcov="robust")


def _pydynpd():
    """pydynpd 0.2.2 with two numpy-2 incompatibilities patched at run time: numpy.in1d (removed; numpy.isin has
    the same semantics) and float() of 1×1 arrays (an error since numpy 2.4): a module-level ``float`` that takes
    the single element shadows the builtin inside pydynpd's modules only, and a ``math`` whose sqrt does the same."""
    import builtins
    import importlib
    import math
    import types

    np.in1d = np.isin

    def _float(x):
        a = np.asarray(x)
        return builtins.float(a.reshape(-1)[0]) if a.ndim and a.size == 1 else builtins.float(x)

    shim = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math) if not k.startswith("_")})
    shim.sqrt = lambda x: math.sqrt(_float(x))
    for name in ("regression", "specification_tests", "common_functions", "dynamic_panel_model", "panel_data",
                 "instruments", "model_summary", "info"):
        mod = importlib.import_module(f"pydynpd.{name}")
        mod.float = _float
        if hasattr(mod, "math"):
            mod.math = shim
    from pydynpd import regression

    return regression


def run_pydynpd(df: pd.DataFrame, T: int):
    regression = _pydynpd()
    flat = df.reset_index()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # pydynpd prints its whole table
        return regression.abond(f"y L1.y x | gmm(y, 2:{T - 1}) iv(x) | collapse", flat, ["firm", "year"])


def timed(fn, *a):
    t0 = time.perf_counter()
    out = fn(*a)
    return time.perf_counter() - t0, out


def cpu_timed(fn, *a):
    """(wall seconds, CPU seconds of this process and its threads, result): CPU time is what the fit costs when
    the shared machine is loaded."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*a)
    return time.perf_counter() - t0, time.process_time() - c0, out


def compare(n_firms: int, T: int, repeats: int) -> None:
    df = simulate(n_firms, T)
    print(f"\n== {len(df):,} firm-years ({n_firms:,} firms x {T} years), two-step system GMM, collapsed ==")
    ours, peer = [], []
    res_o = res_p = None
    peer_error = None
    for _ in range(repeats):
        t, res_o = timed(run_clusterecon, df)
        ours.append(t)
        if peer_error is None:
            try:
                t, res_p = timed(run_pydynpd, df, T)
                peer.append(t)
            except Exception as exc:  # report, do not hide, a peer that fails
                peer_error = f"{type(exc).__name__}: {exc}"
    print(f"clusterecon  min {min(ours):7.3f} s   (runs: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"   coef lag(y,1) {res_o.params['lag(y, 1)']:.6f} (se {res_o.std_errors['lag(y, 1)']:.6f}), "
          f"x {res_o.params['x']:.6f}; instruments {res_o.n_instruments}; N {res_o.nobs:,}")
    if peer:
        ratio = min(peer) / min(ours)
        print(f"pydynpd      min {min(peer):7.3f} s   (runs: {', '.join(f'{t:.3f}' for t in peer)})")
        try:
            reg = res_p.models[0].regression_table
            print("   pydynpd coefficients:", ", ".join(f"{n} {c:.6f}" for n, c in
                                                       zip(reg["variable"], reg["coefficient"])))
        except Exception:
            pass
        print(f"ratio pydynpd / clusterecon = {ratio:.1f}x  (target >= 3x)")
    else:
        print(f"pydynpd: not measured ({peer_error or 'not installed'})")
    if shutil.which("Rscript"):
        plm_time = run_plm(df, T)
        if plm_time is not None:
            print(f"plm pgmm     {plm_time:7.3f} s   ratio plm / clusterecon = {plm_time / min(ours):.1f}x "
                  "(target >= 10x)")
    else:
        print("plm pgmm: R is not installed on this machine, not measured (the issue quotes 10-13 s for 100k "
              "firm-years)")


def run_plm(df: pd.DataFrame, T: int) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "panel.csv")
        df.reset_index().to_csv(path, index=False)
        script = (f"suppressMessages(library(plm)); d <- read.csv('{path}'); t0 <- Sys.time(); "
                  "m <- pgmm(y ~ lag(y, 1) + x | lag(y, 2:99), data = d, index = c('firm', 'year'), "
                  "effect = 'individual', model = 'twosteps', transformation = 'ld', collapse = TRUE); "
                  "cat(as.numeric(difftime(Sys.time(), t0, units = 'secs')))")
        try:
            out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=1800, check=True)
            return float(out.stdout.strip().split()[-1])
        except Exception as exc:
            print(f"plm pgmm: failed ({exc})")
            return None


def child(n_firms: int, T: int) -> None:
    """Run in a fresh interpreter: fit once, report time and peak RSS as JSON."""
    import clusterecon.estimators  # noqa: F401

    df = simulate(n_firms, T)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t, cpu, res = cpu_timed(run_clusterecon, df)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": len(df), "seconds": t, "cpu": cpu, "peak_mb": peak / 1024, "data_mb": base / 1024,
                      "rho": float(res.params["lag(y, 1)"])}))


def scaling(T: int) -> None:
    print("\n== clusterecon alone, fresh process per size: time and peak resident memory ==")
    results = []
    for n_firms in (10_000, 30_000, 100_000):
        out = subprocess.run([sys.executable, __file__, "--child", str(n_firms), "--T", str(T)], capture_output=True,
                             text=True, check=True, env={**os.environ})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{r['rows']:>9,} firm-years  {r['seconds']:7.2f} s wall, {r['cpu']:6.2f} s CPU   peak RSS "
              f"{r['peak_mb']:7.0f} MB "
              f"(after building the data {r['data_mb']:6.0f} MB)   rho {r['rho']:.4f}")
    big, mid, small = results[-1], results[1], results[0]
    slope1 = (mid["peak_mb"] - small["peak_mb"]) * 2**20 / (mid["rows"] - small["rows"])
    slope2 = (big["peak_mb"] - mid["peak_mb"]) * 2**20 / (big["rows"] - mid["rows"])
    print(f"memory per extra firm-year: {slope1:,.0f} B from 100k to 300k, {slope2:,.0f} B from 300k to 1M "
          "(equal slopes = linear growth)")
    print(f"1M vs 100k (10x the rows): wall x{big['seconds'] / small['seconds']:.1f}, "
          f"CPU x{big['cpu'] / small['cpu']:.1f}; 1M firm-years: {big['seconds']:.1f} s wall, {big['cpu']:.1f} s CPU "
          "(target < 30 s)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--firms", type=int, default=10_000)
    ap.add_argument("--T", type=int, default=10)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--child", type=int)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.T)
        return
    print(f"machine: {os.cpu_count()} cores (shared with other jobs; timings are minima over interleaved repeats)")
    import clusterecon.estimators  # noqa: F401  (imports are not part of the timed work)

    try:
        _pydynpd()
    except ImportError:
        pass
    compare(args.firms, args.T, args.repeats)
    if not args.skip_large:
        scaling(args.T)


if __name__ == "__main__":
    main()
