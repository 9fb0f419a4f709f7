"""Monte Carlo driver: summaries, reproducible streams independent of the backend, Dask, and coverage of the probit
of innovation on schooling (the known index of the simulator)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterecon.simulate.montecarlo import innovation_probit, montecarlo, summarise
from clusterecon.simulate.params import garments


def test_summarise_on_hand_made_draws():
    draws = pd.DataFrame({
        "rep": [0, 1, 2, 3], "term": ["b"] * 4, "estimate": [1.0, 2.0, 3.0, 2.0], "se": [0.5, 0.5, 1.0, 1.0],
        "lo": [0.5, 1.5, 2.5, 1.0], "hi": [1.5, 2.5, 3.5, 3.0], "pvalue": [0.01, 0.2, 0.04, 0.5], "true": 2.0})
    s = summarise(draws).loc["b"]
    assert s["bias"] == 0.0
    assert s["rmse"] == pytest.approx(np.sqrt(0.5))
    assert s["sd"] == pytest.approx(np.std([1, 2, 3, 2], ddof=1))
    assert s["mean_se"] == 0.75
    assert s["coverage"] == 0.5 and s["rejection"] == 0.5 and s["n"] == 4
    assert s["coverage_mcse"] == pytest.approx(0.25)


def test_replications_are_reproducible_and_independent_of_workers():
    a = montecarlo(R=4, seed=11, n_jobs=1)
    b = montecarlo(R=4, seed=11, n_jobs=2, chunk_size=1)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert a.backend == "sequential" and b.backend == "loky"
    assert list(a.summary.index) == ["np.log(employees)", "np.log(capital)", "innovator"]
    assert a.draws["rep"].nunique() == 4 and not a.failures
    c = montecarlo(R=4, seed=12)
    assert not np.allclose(c.draws["estimate"], a.draws["estimate"])
    # distinct replications use distinct streams
    assert a.draws.groupby("term")["estimate"].nunique().min() == 4


def test_user_estimator_mapping_and_failures_are_reported():
    def slope(data, truth):
        if data.index.get_level_values("firm_id").nunique() < 1000:
            d = data.reset_index()
            x, y = d["manager_schooling_years"].astype(float), d["employees"].astype(float)
            b = np.polyfit(x, y, 1)[0]
            return {"slope": (b, 1.0)}
        raise RuntimeError("never")

    r = montecarlo(slope, targets={"slope": 0.0}, design={"kind": "recall", "survey_year": 2000, "n_firms": 50},
                   R=3, seed=1)
    assert r.summary.loc["slope", "n"] == 3
    with pytest.raises(ValueError, match="targets"):
        montecarlo(slope, R=1)

    def broken(data, truth):
        raise np.linalg.LinAlgError("singular")

    r = montecarlo(broken, targets={"x": 1.0}, R=2, seed=1)
    assert len(r.failures) == 2 and "LinAlgError" in r.failures[0]


def test_dask_backend_with_a_local_client():
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        r = montecarlo(R=3, seed=5, client=client)
    assert r.backend == "dask" and not r.failures
    pd.testing.assert_frame_equal(r.draws, montecarlo(R=3, seed=5).draws)


@pytest.mark.slow
def test_probit_of_innovation_on_schooling_has_nominal_coverage():
    R = 200
    r = montecarlo(innovation_probit, R=R, seed=2026, n_jobs=2)
    assert not r.failures
    band = 3 * np.sqrt(0.95 * 0.05 / R)
    for term in ("manager_schooling_years_t", "Intercept", "pool"):
        s = r.summary.loc[term]
        assert abs(s["coverage"] - 0.95) < band, (term, s["coverage"])
        assert abs(s["bias"]) < 3 * s["sd"] / np.sqrt(R), term
        assert s["mean_se"] == pytest.approx(s["sd"], rel=0.2), term
    assert r.summary.loc["manager_schooling_years_t", "rejection"] > 0.99


@pytest.mark.slow
def test_probit_has_the_right_size_when_schooling_does_not_matter():
    R = 200
    r = montecarlo(innovation_probit, params=garments(schooling_matters=False), R=R, seed=7, n_jobs=2)
    s = r.summary.loc["manager_schooling_years_t"]
    assert s["true"] == 0.0
    assert abs(s["rejection"] - 0.05) < 3 * np.sqrt(0.05 * 0.95 / R)
