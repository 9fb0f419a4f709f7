"""Speed of the binary-outcome estimators against the Python peers that exist, measured in the same run.

* pooled logit with firm-clustered SEs: clusterecon ``logit`` vs statsmodels ``Logit`` (cov_type="cluster") vs
  pyfixest ``feglm(family="logit")``;
* conditional (FE) logit: clusterecon ``conditional_logit`` vs statsmodels ``ConditionalLogit`` (BFGS) alone;
* random-effects probit (12-point adaptive quadrature): no Python peer fits it by ML (statsmodels'
  ``BinomialBayesMixedGLM`` is variational Bayes with dense firm dummies — 4 GB at 20k rows, not comparable), so
  clusterecon's pooled probit on the same data is printed as a floor.

Data: a firm-year panel (5 years), two time-varying regressors and a 0/1 regressor, a normal firm effect. Median of
``--reps`` runs after one warm-up; no assertion, this prints numbers.

    python benchmarks/bench_binary.py [--rows 100000] [--panel-rows 20000] [--reps 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_panel(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = 5
    nf = n_rows // T
    firm = np.repeat(np.arange(nf), T)
    year = np.tile(np.arange(2001, 2001 + T), nf)
    c = rng.normal(size=nf)[firm]
    x1 = rng.normal(size=nf * T) + 0.3 * c
    x2 = rng.normal(size=nf * T)
    d = (rng.uniform(size=nf * T) < 0.4).astype(float)
    y = (-0.2 + 0.6 * x1 - 0.4 * x2 + 0.5 * d + c + rng.normal(size=nf * T) > 0).astype(float)
    return pd.DataFrame({"firm": firm, "year": year, "y": y, "x1": x1, "x2": x2, "d": d}).set_index(["firm", "year"])


def timeit(fn, reps: int) -> float:
    fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--panel-rows", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import statsmodels.api as sm
    from statsmodels.discrete.conditional_models import ConditionalLogit

    from clusterecon.estimators.binary import logit, probit
    from clusterecon.estimators.clogit import conditional_logit
    from clusterecon.estimators.re_probit import re_probit

    f = "y ~ x1 + x2 + d"
    df = make_panel(a.rows)
    flat = df.reset_index()
    X = sm.add_constant(flat[["x1", "x2", "d"]].to_numpy())
    rows = []

    def stage(msg):
        print(msg, flush=True)
    stage("pooled logit ...")
    t_ce = timeit(lambda: logit(df, f, vcov="cluster"), a.reps)
    t_sm = timeit(lambda: sm.Logit(flat["y"].to_numpy(), X).fit(disp=0, cov_type="cluster",
                                                               cov_kwds={"groups": flat["firm"].to_numpy()}), a.reps)
    rows.append(("pooled logit, cluster SE", a.rows, t_ce, "statsmodels Logit", t_sm))
    try:
        import pyfixest as pf

        stage("pyfixest ...")
        t_pf = timeit(lambda: pf.feglm(f, data=flat, family="logit", vcov={"CRV1": "firm"}), a.reps)
        rows.append(("pooled logit, cluster SE", a.rows, t_ce, "pyfixest feglm", t_pf))
    except Exception as e:  # noqa: BLE001 - a missing optional peer is reported, not fatal
        print(f"pyfixest skipped: {e}")

    pdf = make_panel(a.panel_rows, seed=1)
    pflat = pdf.reset_index()
    stage("conditional logit ...")
    t_ce = timeit(lambda: conditional_logit(pdf, f), a.reps)
    t_sm = timeit(lambda: ConditionalLogit(pflat["y"], pflat[["x1", "x2", "d"]], groups=pflat["firm"]).fit(disp=0),
                  a.reps)
    rows.append(("conditional logit, OIM", a.panel_rows, t_ce, "statsmodels ConditionalLogit", t_sm))

    stage("RE probit ...")
    t_re = timeit(lambda: re_probit(pdf, f), a.reps)
    t_pp = timeit(lambda: probit(pdf, f), a.reps)
    rows.append(("RE probit, 12-pt AGHQ", a.panel_rows, t_re, "clusterecon pooled probit (floor)", t_pp))
    print(f"{'model':<28}{'rows':>9}{'clusterecon s':>15}  {'peer':<42}{'peer s':>9}{'ratio':>8}")
    for name, n, t, peer, tp in rows:
        print(f"{name:<28}{n:>9,}{t:>15.3f}  {peer:<42}{tp:>9.3f}{tp / t:>8.2f}")


if __name__ == "__main__":
    main()
