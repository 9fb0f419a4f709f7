"""`clusterecon.analyse` on each bundled simulated sample agrees with the truth documented in
data/simulated/README.md (and the <file>.truth.json next to each file)."""

import json
from pathlib import Path

import pytest

from clusterecon.hypotheses import analyse, founder_origins
from clusterecon.load import load_survey

SIM = Path(__file__).resolve().parents[1] / "data" / "simulated"


@pytest.fixture(scope="module", params=["garments_recall_2005.csv", "machinery_rounds.csv"])
def sample(request):
    path = SIM / request.param
    truth = json.loads((SIM / (request.param.removesuffix(".csv") + ".truth.json")).read_text())
    loaded = load_survey(path)
    assert loaded.panel is not None, loaded.report.to_text()
    return loaded.panel, truth, analyse(loaded.panel)


def test_phase_matches_truth(sample):
    panel, truth, res = sample
    last = max(panel.years)
    true_phase = truth["phase_by_year"][str(last)].replace("_", " ")
    assert res.phases.extra["current_phase"] == true_phase
    # both samples hold survivors (a recall survey; rounds drawn among the firms active in the first round): their
    # founding years cannot separate an entry take-off from the thinning of older cohorts by exit, so the take-off
    # is not dated and the diagnosis says so (issue 10: on such samples dates were wrong more often than right)
    assert not res.phases.extra["expansion_detected"] and res.phases.extra["expansion_interval"] is None
    assert res.phases.status == "inconclusive" and "survivors" in res.phases.extra["expansion_undatable"]
    assert "not dated" in res.phases.verdict


def test_founders_are_not_judged_on_two_surviving_pioneers(sample):
    # the truth: all pioneers were merchants (garments) / engineers (machinery); but only 2 of them are in each
    # sample (survivors, then sampled), below the minimum evidence of 3 pioneers: "supported" on 2 firms would be a
    # verdict on almost no evidence (issue 10), so the claim is inconclusive and says why
    # (and on these survivor samples the take-off is not dated, so by default the pioneers are not even defined)
    panel, truth, res = sample
    c = res["founders"].claim("founders")
    assert c.status == "inconclusive" and "take-off is not dated" in c.reason
    known = founder_origins(panel, pioneer_until=truth["phase_years"]["quantity_expansion"] - 1, detail=False)
    c = known.claim("founders")
    assert c.status == "inconclusive" and "2 pioneers (needs 3)" in c.reason


def test_schooling_effect_is_found_where_the_truth_has_one(sample):
    panel, truth, res = sample
    assert truth["params"]["schooling_matters"] and truth["effects"]["innovation_schooling"] > 0
    assert res["innovation"].status == "supported"


def test_what_the_design_cannot_support_is_skipped_with_reasons(sample):
    panel, truth, res = sample
    assert all(r.status != "failed" for r in res.results.values())
    if panel.design.kind == "recall":
        assert any("exit" in lim for lim in res["exit"].limitations)
    # both samples observe mostly quality-phase years with too few years to date the transition
    assert res["stagnation"].status == "skipped" and "cannot be dated" in res["stagnation"].verdict
