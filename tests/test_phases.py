"""Phase diagnosis on hand-built clusters with known transitions (±2 years), and skipping when data are short."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.hypotheses.phases import diagnose_phases, trajectories
from clusterecon.panel import SurveyDesign, SurveyPanel


def _cluster(seed=0, t1=1986, t2=1996, years=range(1980, 2006)):
    rng = np.random.default_rng(seed)
    rows, fid = [], 0
    founding = {}
    for y in years:
        # a few pioneers, little entry until the take-off (the initiation phase of the model)
        n_new = 4 if y == years[0] else rng.poisson(0.3 if y < t1 else (12 if y < t2 else 3))
        for _ in range(n_new):
            founding[str(fid)] = y
            fid += 1
    for f, fy in founding.items():
        for y in years:
            if y < fy:
                continue
            p_innov = 0.0 if y < t2 else min(0.9, 0.06 * (y - t2 + 1))
            rows.append({"firm_id": f, "year": y, "founding_year": fy, "sales": 100.0, "material_cost": 50.0,
                         "employees": 5.0, "own_brand": bool(rng.random() < p_innov), "active": True})
    return SurveyPanel.from_frame(pd.DataFrame(rows), design=SurveyDesign(kind="census"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dates_known_transitions(seed):
    res = diagnose_phases(_cluster(seed))
    assert abs(res.extra["expansion_start"] - 1986) <= 2
    assert res.extra["quality_start"] is not None and abs(res.extra["quality_start"] - 1996) <= 2
    assert res.extra["current_phase"] == "quality improvement"
    phases = res.tables["phases"]["phase"]
    assert phases.iloc[0] == "initiation" and phases.loc[1990] == "quantity expansion"
    assert "quality improvement from" in res.verdict


def test_no_quality_transition_when_nobody_innovates():
    res = diagnose_phases(_cluster(0, t2=3000))
    assert res.extra["quality_start"] is None
    assert res.extra["current_phase"] == "quantity expansion"


def test_short_panel_is_skipped_with_reason():
    df = pd.DataFrame({"firm_id": ["a", "a", "b"], "year": [2000, 2005, 2005], "sales": [1.0, 2.0, 3.0]})
    res = diagnose_phases(SurveyPanel.from_frame(df))
    assert res.status == "skipped" and "cannot be dated" in res.verdict


def test_recall_firm_count_rebuilt_from_founding_years():
    p = _cluster(0)
    recall = SurveyPanel.from_frame(p.frame.reset_index().query("year in (1995, 2000, 2005)"),
                                    design=SurveyDesign(kind="recall", survey_years=(2005,)))
    traj = trajectories(recall)
    assert traj.index.min() == 1980  # annual series from founding years
    assert traj.loc[2005, "firms"] == recall.n_firms


def test_interval_quotes_the_coverage_measured_for_its_design(monkeypatch):
    """Survivor samples' take-off intervals cover far less often than censuses' (calibration table): the verdict
    quotes the coverage measured for the design, not a pooled figure."""
    import clusterecon.hypotheses._coverage as cov
    from clusterecon.hypotheses.phases import _coverage_text

    monkeypatch.setattr(cov, "COVERAGE", {"takeoff": 0.7, "takeoff_census": 0.9, "takeoff_survivors": 0.5})
    monkeypatch.setattr(cov, "RUN_DATE", "2026-12-05")
    assert _coverage_text("takeoff", True) == "; simulated coverage on censuses 90% (2026-12-05)"
    assert _coverage_text("takeoff", False) == "; simulated coverage on samples of survivors 50% (2026-12-05)"
    monkeypatch.setattr(cov, "COVERAGE", {"quality": 0.8})
    assert _coverage_text("quality", False) == "; simulated coverage 80% (2026-12-05)"
