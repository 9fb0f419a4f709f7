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


def test_founders_are_judged_only_on_enough_surviving_pioneers(sample):
    # the truth: all pioneers were merchants (garments) / engineers (machinery); a sample holds only the pioneers
    # that survived and were drawn (3 in garments_recall_2005, 2 in machinery_rounds). On the survivor samples the
    # take-off is not dated, so by default the pioneers are not even defined and the claim is inconclusive
    panel, truth, res = sample
    c = res["founders"].claim("founders")
    assert c.status == "inconclusive" and "take-off is not dated" in c.reason
    # with the take-off known, fewer than 3 pioneers is below the minimum evidence: "supported" on 2 firms would be a
    # verdict on almost no evidence (issue 10); with 3 or more the verdict must be the truth's
    start = truth["phase_years"]["quantity_expansion"]
    n_pioneers = int((panel.firms["founding_year"] < start).sum())
    # pinned per sample (data/simulated/make_samples.py), so that a regenerated sample cannot switch branches silently
    assert n_pioneers == {"simple": 3, "complex": 2}[truth["params"]["technology"]]
    c = founder_origins(panel, pioneer_until=start - 1, detail=False).claim("founders")
    # pioneers are compared with later entrants that are not spin-offs (size audit: spin-off dilution); the garments
    # recall sample holds 3 pioneers but only 7 such later entrants (290 later spin-offs), below the 10 the rule needs,
    # so the claim that was "supported" against all 297 later entrants is now inconclusive
    firms = panel.firms
    later_outside = int(((firms["founding_year"] >= start) & firms["is_spinoff"].eq(False)).sum())
    if n_pioneers < 3:
        assert c.status == "inconclusive" and f"{n_pioneers} pioneers (needs 3)" in c.reason
    else:
        assert later_outside == 7
        assert c.status == "inconclusive" and "7 later entrants not spin-offs (needs 10)" in c.reason


def test_schooling_effect_is_found_where_the_truth_has_one(sample):
    panel, truth, res = sample
    assert truth["params"]["schooling_matters"] and truth["effects"]["innovation_schooling"] > 0
    assert res["innovation"].status == "supported"


def test_what_the_design_cannot_support_is_skipped_with_reasons(sample):
    panel, truth, res = sample
    assert all(r.status != "failed" for r in res.results.values())
    if panel.design.kind == "recall":
        assert any("exit" in lim for lim in res["exit"].limitations)
    # both samples observe mostly quality-phase years with too few years to date the transition. The machinery
    # rounds (2001-2004; quality improvement from 2000) open with 31% of firms innovating, more than quantity
    # expansion allows: no expansion years observed, the design cannot answer. The garments recall years (1995, 2000,
    # 2005; quality from 1998) include an expansion year but too few years to place it: thin evidence (sweep 10)
    st = res["stagnation"]
    if panel.design.kind == "recall":
        assert st.status == "inconclusive" and "cannot be dated" in st.verdict
    else:
        assert res.phases.extra["quality_before_observed"]
        assert st.status == "skipped" and "no quantity-expansion years observed" in st.verdict
