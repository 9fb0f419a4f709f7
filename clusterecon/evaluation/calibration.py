"""Coverage of the evaluation estimators' 95% intervals on simulated experiments with known effects.

:func:`coverage` draws ``reps`` experiments from :func:`clusterecon.simulate.experiment.simulate_experiment` and
records whether each estimator's interval contains the true effect: the ITT (ANCOVA, two follow-ups pooled,
clustered by firm), the TOT (2SLS) and the spillover of a partial-population design (40 clusters, clustered by
cluster, t(G−1)). ``benchmarks/calibrate_evaluation.py`` prints the 500-replication result; the slow tests run a
shorter version.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("itt", "tot", "spillover")


def coverage(kind: str, reps: int = 500, *, seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """Share of ``reps`` simulated experiments whose ``level`` interval covers the truth, with the mean estimate."""
    from ..simulate.experiment import simulate_experiment
    from .design import ExperimentDesign
    from .itt import ancova, tot
    from .spillovers import spillover_effects

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    root = np.random.SeedSequence(seed)
    hits, est = [], []
    for child in root.spawn(reps):
        if kind == "spillover":
            e = simulate_experiment(seed=child, assignment="partial", spillover=0.1, n_clusters=40,
                                    firms_per_cluster=10, attrition=0.05)
        else:
            e = simulate_experiment(seed=child, n_clusters=20, firms_per_cluster=15, attrition=0.05)
        f = e.frame.copy()
        f["log_sales"] = np.log(f["sales"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "itt":
                r, term, truth = ancova(f, "log_sales", ExperimentDesign(), wild=False), "treat_offered", \
                    e.truth["itt"]
            elif kind == "tot":
                r, term, truth = tot(f, "log_sales", ExperimentDesign(), wild=False), "treat_attended", e.truth["tot"]
            else:
                d = ExperimentDesign(assignment="cluster", treated_cluster="treat_cluster")
                r, term, truth = spillover_effects(f, "log_sales", d, wild=False), "untreated_in_treated_cluster", \
                    e.truth["spillover"]
        lo, hi = r.conf_int(level).loc[term]
        hits.append(lo <= truth <= hi)
        est.append(float(r.params[term]))
    cov = float(np.mean(hits))
    return {"kind": kind, "reps": reps, "coverage": cov, "mc_se": float(np.sqrt(cov * (1 - cov) / reps)),
            "mean_estimate": float(np.mean(est)), "truth": float(truth), "level": level}


def coverage_table(reps: int = 500, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame([coverage(k, reps, seed=seed) for k in KINDS]).set_index("kind")
