"""Speed of the evaluation estimators against peers measured in the same run (interleaved, same data).

1. Wild cluster bootstrap: 9,999 Rademacher draws, 100,000 observations, 20 clusters, 4 regressors, one restriction
   (WCR, p-value of the x2 coefficient, whose true value is zero): clusterecon.estimators.wild_cluster_bootstrap
   vs wildboottest (py-econometrics). Target: <= 2 s and at least as fast as wildboottest.
2. Callaway-Sant'Anna ATT(g,t) with analytic standard errors plus the dynamic aggregation on a balanced panel of
   1,000,000 firm-years (100,000 firms x 10 years, 4 cohorts + never treated): clusterecon vs csdid (est_method
   "reg", bstrap=False). Target: >= 3x faster.

Each tool gets the same pandas DataFrame and does its own indexing; timings are medians over ``--reps`` interleaved
runs (csdid once by default at 1M rows: it takes minutes). Run: ``python benchmarks/bench_evaluation.py``.
"""

from __future__ import annotations

import os

# one BLAS thread for every tool (as the test suite): on a shared 2-core machine multi-threaded BLAS oversubscribes
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from clusterecon.estimators.wild_bootstrap import wild_cluster_bootstrap  # noqa: E402
from clusterecon.evaluation.staggered import callaway_santanna  # noqa: E402


def wild_data(n: int = 100_000, G: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    df["cl"] = rng.integers(0, G, n)
    df["y"] = 1 + 0.02 * df["x1"] + rng.normal(size=n) + rng.normal(size=G)[df["cl"]]
    return df


def ours_wild(df: pd.DataFrame) -> float:
    X = np.column_stack([np.ones(len(df)), df[["x1", "x2", "x3"]].to_numpy()])
    return wild_cluster_bootstrap(X, df["y"].to_numpy(), df["cl"].to_numpy(), 2, B=9999, seed=1, level=None).pvalue


def peer_wild(df: pd.DataFrame) -> float:
    from wildboottest.wildboottest import WildboottestCL

    X = np.column_stack([np.ones(len(df)), df[["x1", "x2", "x3"]].to_numpy()])
    b = WildboottestCL(X=X, Y=df["y"].to_numpy(), cluster=df["cl"].to_numpy(), R=np.array([0, 0, 1.0, 0]), B=9999,
                       seed=1, parallel=False)
    b.get_scores(bootstrap_type="11", impose_null=True)
    b.get_weights("rademacher")
    b.get_numer()
    b.get_denom()
    b.get_tboot()
    b.get_vcov()
    b.get_tstat()
    b.get_pvalue()
    return float(b.pvalue)


def stagg_data(firms: int = 100_000, years: int = 10, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 2003, 2005, 2007, 2009], size=firms)
    yr = np.arange(2001, 2001 + years)
    a = rng.normal(size=firms)
    df = pd.DataFrame({"id": np.repeat(np.arange(firms), years), "year": np.tile(yr, firms),
                       "g": np.repeat(cohort, years)})
    post = (df["g"] > 0) & (df["year"] >= df["g"])
    df["y"] = np.repeat(a, years) + 0.05 * (df["year"] - 2001) + 0.1 * post + rng.normal(size=len(df))
    return df


def ours_cs(df: pd.DataFrame) -> float:
    cs = callaway_santanna(df.set_index(["id", "year"]), "y", "g")
    return float(cs.aggregate("dynamic").params["ATT"])


def peer_cs(df: pd.DataFrame) -> float:
    from csdid.att_gt import ATTgt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ATTgt(yname="y", gname="g", idname="id", tname="year", xformla="y~1", data=df).fit(
            est_method="reg", bstrap=False)
        return float(np.squeeze(out.aggte(typec="dynamic", bstrap=False).atte["overall_att"]))


def timed(fn, *args) -> tuple[float, float]:
    t0 = time.perf_counter()
    v = fn(*args)
    return time.perf_counter() - t0, v


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--firms", type=int, default=100_000, help="firms for the CS benchmark (x 10 years)")
    ap.add_argument("--csdid-reps", type=int, default=1)
    args = ap.parse_args()

    df = wild_data()
    ours_wild(df.iloc[:1000])
    peer_wild(df.iloc[:1000])  # numba compilation outside the timing
    t_o, t_p = [], []
    for _ in range(args.reps):
        t, po = timed(ours_wild, df)
        t_o.append(t)
        t, pp = timed(peer_wild, df)
        t_p.append(t)
    mo, mp = statistics.median(t_o), statistics.median(t_p)
    print(f"wild cluster bootstrap, 9,999 draws, N=100,000, G=20: clusterecon {mo:.3f} s (p = {po:.4f}), "
          f"wildboottest {mp:.3f} s (p = {pp:.4f}); ratio {mp / mo:.1f}x; target <= 2 s: "
          f"{'met' if mo <= 2 else 'NOT met'}; at least as fast: {'met' if mo <= mp else 'NOT met'}")

    sd = stagg_data(args.firms)
    t_o, t_p = [], []
    for r in range(max(args.reps, args.csdid_reps)):
        t, ao = timed(ours_cs, sd)
        t_o.append(t)
        if r < args.csdid_reps:
            t, ap_ = timed(peer_cs, sd)
            t_p.append(t)
    mo, mp = statistics.median(t_o), statistics.median(t_p)
    print(f"Callaway-Sant'Anna, {len(sd):,} firm-years: clusterecon {mo:.2f} s (overall dynamic ATT {ao:.5f}), "
          f"csdid {mp:.2f} s ({ap_:.5f}); ratio {mp / mo:.1f}x; target >= 3x: {'met' if mp >= 3 * mo else 'NOT met'}")


if __name__ == "__main__":
    main()
