"""Coverage of the ITT, TOT and spillover 95% intervals on simulated experiments (short version; the 500-replication
check is benchmarks/calibrate_evaluation.py)."""

from __future__ import annotations

import numpy as np
import pytest

from clusterecon.evaluation.calibration import coverage


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["itt", "tot", "spillover"])
def test_coverage_of_95_percent_intervals(kind):
    reps = 80
    res = coverage(kind, reps, seed=7)
    assert abs(res["coverage"] - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / reps) + 1e-9, res
    assert abs(res["mean_estimate"] - res["truth"]) < 0.05, res
