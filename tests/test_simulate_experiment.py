"""The simulated training experiment (clusterecon.simulate.experiment): design knobs, truth, and the raw survey +
mapping + design files going back through the loader unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from clusterecon import schema
from clusterecon.load import load_survey
from clusterecon.simulate.experiment import ExperimentParams, simulate_experiment


def test_assignment_designs_and_truth():
    e = simulate_experiment(seed=1)
    f = e.frame
    firms = f.groupby(level=0).first()
    # firm-level assignment: half of each stratum offered
    share = firms.groupby("strata_id")["treat_offered"].mean()
    assert share.between(0.3, 0.7).all()
    assert e.truth["itt"] == pytest.approx(0.2 * 0.7)
    p = simulate_experiment(seed=2, assignment="partial", spillover=0.1).frame.groupby(level=0).first()
    assert (~p.loc[~p["treat_cluster"], "treat_offered"]).all()  # pure control clusters: nobody offered
    assert p.loc[p["treat_cluster"], "treat_offered"].mean() == pytest.approx(0.5, abs=0.05)
    c = simulate_experiment(seed=3, assignment="cluster").frame.groupby(level=0).first()
    assert (c.groupby("cluster")["treat_offered"].nunique() == 1).all()
    s = simulate_experiment(seed=4, assignment="staggered", rollout_years=(2011, 2012), follow_ups=3)
    fy = s.frame.groupby(level=0)["first_treated_year"].first()
    assert set(fy.dropna().unique()) == {2011, 2012} and fy.isna().any()
    with pytest.raises(ValueError, match="rollout_years"):
        ExperimentParams(assignment="staggered")


def test_attrition_is_monotone_and_flagged():
    e = simulate_experiment(seed=5, attrition=0.2, attrition_treated=0.05, n_clusters=40)
    f = e.frame
    fu = f[f["round_type"] == "follow_up"]
    rate = fu.groupby("treat_offered")["attrited"].mean()
    assert rate[False] > rate[True] + 0.08
    assert f.loc[f["attrited"], "sales"].isna().all() and not f.loc[f["round_type"] == "baseline", "attrited"].any()
    items = [nm for nm, _, _ in schema.PRACTICE_ITEMS]
    score = f[items].astype("float64").mean(axis=1, skipna=False)
    assert np.allclose(score.fillna(-1), f["mgmt_practice_score"].fillna(-1))


def test_raw_files_load_back_to_the_same_panel(tmp_path):
    e = simulate_experiment(seed=6, attrition=0.1)
    paths = e.write(tmp_path)
    assert {"raw", "mapping", "design", "truth"} <= set(paths)
    res = load_survey(paths["raw"], paths["mapping"])
    assert res.report.clean, res.report.to_text()
    got = res.panel.frame
    assert got["sales"].astype("float64").fillna(-1).to_numpy() == pytest.approx(
        e.frame["sales"].fillna(-1).to_numpy(), rel=1e-6)
    assert (got["treat_offered"].astype(bool).to_numpy() == e.frame["treat_offered"].to_numpy()).all()
    assert str(got["mw_r1_written_records"].dtype) == "boolean"
    assert "[design]" in paths["design"].read_text()
