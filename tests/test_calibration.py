"""The calibration suite in miniature (the full table: ``benchmarks/bench_calibration.py``, printed in
``docs/hypotheses.md``): one replication per world on a 1995-start census from the tests' reduced-form generator
and from the project's simulator. With every effect on, each claim is supported and both transitions are dated
within ±2 years inside their 90% intervals; with every mechanism off, no switched claim is supported; nothing
fails."""

import pytest
from calibration import SETTINGS, run_one

CENSUS_1995 = next(s for s in SETTINGS if s.name == "census, 1995 start")
SWITCHED = ("founders/founders", "spinoffs/entry", "spinoffs/imitation", "stagnation/productivity",
            "innovation/schooling", "performance/sales", "exit/exit")


def _failed(row):
    return {k: v for k, v in row.items() if k.endswith(":error")}


@pytest.mark.slow
def test_reduced_form_generator_on_and_off():
    on = run_one("reduced form", CENSUS_1995, "on", 11, reps=49)
    off = run_one("reduced form", CENSUS_1995, "off", 11, reps=49)
    assert not _failed(on) and not _failed(off)
    assert [c for c in SWITCHED if on[c] != "supported"] == []
    assert [c for c in SWITCHED if off[c] == "supported"] == []
    for k in ("t1", "t2"):
        assert abs(on[k] - on[f"{k}_true"]) <= 2
        lo, hi = on[f"{k}_int"]
        assert lo <= on[f"{k}_true"] <= hi


@pytest.mark.slow
def test_project_simulator_on():
    on = run_one("simulator", CENSUS_1995, "on", 12, reps=49)
    assert not _failed(on)
    assert abs(on["t1"] - on["t1_true"]) <= 2
    assert on["innovation/schooling"] == "supported" and on["performance/sales"] == "supported"


@pytest.mark.slow
@pytest.mark.parametrize("dgp", ["simulator", "reduced form"])
def test_survivor_designs_say_they_cannot_date_the_take_off(dgp):
    # issue 10: on the simulator's recall surveys the take-off was dated in 44% of runs and only 43% of those were
    # within ±2 years; a design that cannot date must say so (inconclusive, with the reason) instead
    recall = next(s for s in SETTINGS if s.name == "recall, 8-year window")
    row = run_one(dgp, recall, "on", 1000, reps=49)
    assert not _failed(row)
    assert not row["t1_detected"] and row["t1_int"] is None and row["phases"] == "inconclusive"
    assert row["founders/founders"] in ("inconclusive", "skipped") and row["spinoffs/entry"] in ("inconclusive",
                                                                                                 "skipped")


@pytest.mark.slow
@pytest.mark.parametrize("dgp", ["simulator", "reduced form"])
def test_survivor_designs_with_the_clusters_dates_answer_stagnation(dgp):
    # a recall survey fielded in quantity expansion cannot date the take-off; given the dates a user knows from the
    # cluster's history it tests stagnation (100% power, 0-5% size at 40 replications, docs/hypotheses.md), and the
    # summed sales of survivors are not taken for the cluster's output
    setting = next(s for s in SETTINGS if s.name == "recall in expansion, dates given")
    on, off = (run_one(dgp, setting, w, 1000, reps=49) for w in ("on", "off"))
    assert not _failed(on) and not _failed(off)
    assert on["phases"] == "descriptive" and on["t1"] == on["t1_true"]
    # dates passed in are not datings: they must not enter the dating table or the coverage quoted in verdicts
    assert not on["t1_detected"] and on["t1_int"] is None and on["t2"] is None
    assert on["stagnation/productivity"] == "supported" and on["stagnation/price"] == "supported"
    assert off["stagnation/productivity"] != "supported"
    assert on["stagnation/output"] == "inconclusive"


@pytest.mark.slow
def test_founders_claim_has_power_where_the_design_can_answer():
    # the presets' 3-5 pioneers cannot reach p < .05 (inconclusive, with the smallest attainable p); with 10 pioneers
    # and more outside entrants the same census decides: 100% supported on, 0% off at 24 replications (docs)
    setting = next(s for s in SETTINGS if s.name == "census, 10 pioneers, more outside entrants")
    for seed in (1000, 1001):  # garments (merchants) and machinery (engineers)
        on, off = (run_one("simulator", setting, w, seed, reps=49) for w in ("on", "off"))
        assert not _failed(on) and not _failed(off)
        assert on["founders/founders"] == "supported" and off["founders/founders"] != "supported"
