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
    # the take-off tests' p-value has a floor of 1/(49 + 1): at the floor it is a bound, said as one (sweep 10)
    assert "sup-LR p ≤ 0.020, the smallest 49 bootstrap draws can show" in res.verdict
    assert "p = 0.020" not in res.verdict


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
    # the calibration's take-offs are sharp: a census's verdict also quotes the coverage after a gradual rise
    monkeypatch.setattr(cov, "COVERAGE", {"takeoff_census": 0.96, "takeoff_gradual": 0.85})
    assert _coverage_text("takeoff", True) == ("; simulated coverage on censuses 96%, 85% where entry rose gradually "
                                               "(2026-12-05)")


def _survivors(seed=3, years=range(1970, 2006), rate=8.0, window=8):
    """Constant entry (8 a year, no take-off at all) seen through survival to the interview in 2005, with an exit
    hazard of 25% a year in a firm's first 6 years and 1% after (young firms exit most): survivor counts by founding
    year rise steeply in the last years. The earlier dating (a survivor-trend bound of 10%/yr) found a significant
    take-off in 2003 on this panel (seed 3) — a date for a transition that never happened (issue 10)."""
    rng = np.random.default_rng(seed)
    last = years[-1]
    rows, fid = [], 0
    for fy in years:
        for _ in range(rng.poisson(rate)):
            age = last - fy
            if rng.random() < np.exp(-0.25 * min(age, 6) - 0.01 * max(age - 6, 0)):
                for y in range(max(fy, last - window + 1), last + 1):
                    rows.append({"firm_id": str(fid), "year": y, "founding_year": fy, "sales": 100.0,
                                 "material_cost": 50.0, "employees": 5.0, "own_brand": bool(rng.random() < 0.3)})
                fid += 1
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kind", ["recall", "rounds", "unknown"])
def test_survivor_samples_do_not_date_the_take_off(kind):
    df = _survivors()
    design = SurveyDesign(kind=kind, exits_observable=True if kind == "rounds" else None)
    res = diagnose_phases(SurveyPanel.from_frame(df, design=design), reps=49)
    ex = res.extra
    assert not ex["expansion_detected"] and ex["expansion_interval"] is None
    assert res.status == "inconclusive" and "not dated" in res.verdict
    assert ex["expansion_undatable"] and "pass expansion_start" in ex["expansion_undatable"]
    assert "entry take-off" not in res.tests
    # a date known from elsewhere is used as given, and the diagnosis is descriptive again
    given = diagnose_phases(SurveyPanel.from_frame(df, design=design), expansion_start=1980, reps=49)
    assert given.status == "descriptive" and given.extra["expansion_start"] == 1980


def test_the_survivor_reason_names_how_each_design_loses_firms():
    from clusterecon.hypotheses.phases import survivor_reason

    recall, rounds, unknown = survivor_reason("recall"), survivor_reason("rounds"), survivor_reason("unknown")
    assert "survived to the interview" in recall and "first round" not in recall
    assert "survived to the first round (or were founded and closed between rounds)" in rounds
    assert "not declared" in unknown and "SurveyDesign(kind='census')" in unknown
    assert all("pass expansion_start=<year>" in r for r in (recall, rounds, unknown))
    assert all(r.count("(") == r.count(")") for r in (recall, rounds, unknown))


def test_entry_records_are_complete_for_a_census_and_annual_rounds_from_the_first_founding_year():
    from clusterecon.hypotheses.phases import entry_records_complete

    p = _cluster()
    assert entry_records_complete(p)
    df = p.frame.reset_index()
    full = SurveyPanel.from_frame(df, design=SurveyDesign(kind="rounds", exits_observable=True))
    assert entry_records_complete(full)  # every firm seen from its founding year on (the bundled samples)
    late = SurveyPanel.from_frame(df[df["year"] >= 1990], design=SurveyDesign(kind="rounds", exits_observable=True))
    assert not entry_records_complete(late)  # firms founded before 1990 are there only if they survived to it
    sparse = SurveyPanel.from_frame(df[df["year"] % 2 == 0], design=SurveyDesign(kind="rounds", exits_observable=True))
    assert not entry_records_complete(sparse)
    assert not entry_records_complete(SurveyPanel.from_frame(df, design=SurveyDesign(kind="recall")))


def test_dates_from_the_clusters_history_travel_with_the_design_and_name_their_source():
    # issue 10: a survey of survivors cannot date the take-off, and the remedy it prints (dates known from the
    # cluster's history) must reach the battery from the mapping, the design and the command line
    from clusterecon.hypotheses import analyse
    from clusterecon.hypotheses.phases import given_dates

    df = _survivors()
    design = SurveyDesign(kind="recall", expansion_start=1980, quality_start=2030, history_source="case study, ch. 4")
    panel = SurveyPanel.from_frame(df, design=design)
    assert given_dates(panel) == (1980, 2030, ("case study, ch. 4", "case study, ch. 4"))
    res = diagnose_phases(panel, reps=49)
    assert res.status == "descriptive" and res.extra["expansion_given"] and res.extra["quality_given"]
    assert "as given (case study, ch. 4), not estimated" in res.verdict
    assert "quality improvement not begun in the years observed (from 2030)" in res.verdict
    assert res.extra["current_phase"] == "quantity expansion" and res.extra["phase_judged"]
    # an argument overrides the design, and then no source is claimed for it
    assert given_dates(panel, expansion_start=1979) == (1979, 2030, ("", "case study, ch. 4"))
    assert given_dates(SurveyPanel.from_frame(df, design=SurveyDesign(kind="recall")), 1979) == (1979, None, ("", ""))
    mixed = diagnose_phases(panel, expansion_start=1979, reps=49).verdict
    assert "the start of quantity expansion as given (no source stated), not estimated" in mixed
    assert "the start of quality improvement as given (case study, ch. 4), not estimated" in mixed
    last = max(panel.years)
    # survivors need not include a firm founded before the take-off: an earlier start is accepted
    assert given_dates(panel, expansion_start=min(panel.years) - 30, quality_start=2030)[0] == min(panel.years) - 30
    for bad, match in (({"expansion_start": last + 1}, "expansion_start = .* last year observed"),
                       ({"expansion_start": 1700}, "between 1800"),
                       ({"expansion_start": 1990, "quality_start": 1985}, "not after expansion_start")):
        with pytest.raises(ValueError, match=match):
            given_dates(panel, **bad)
        with pytest.raises(ValueError, match=match):  # before any test runs: the caller's mistake, not a failure
            analyse(panel, reps=49, **bad)
    out = analyse(panel, reps=49, detail=False)
    assert out.options["expansion_start"] == 1980 and out.options["quality_start"] == 2030
    assert "failed" not in set(out.verdicts()["status"])


# ---------------------------------------------------------------------------------------------- dates given
def test_given_dates_are_used_when_entry_cannot_be_rebuilt():
    # no founding years on a sample design: no entry series; the dates the user gives still place the years
    # (before: the diagnosis was skipped as "cannot be dated" and the dates given were dropped)
    p = _cluster()
    p = p.replace(firms=p.firms.drop(columns="founding_year"), design=SurveyDesign(kind="rounds"))
    res = diagnose_phases(p, expansion_start=1986, quality_start=1996, history_source="field notes", reps=19)
    assert res.status == "descriptive"
    assert (res.extra["expansion_start"], res.extra["quality_start"]) == (1986, 1996)
    assert "as given (field notes), not estimated" in res.verdict
    assert any("only the dates given are used" in s for s in res.limitations)
    assert diagnose_phases(p, reps=19).status == "skipped"  # with nothing given there is nothing to place them by


def test_a_given_date_constrains_the_estimated_one():
    p = _cluster(seed=1)
    free = diagnose_phases(p, reps=49).extra
    assert abs(free["quality_start"] - 1996) <= 2
    # a given expansion start: the quality transition is searched after it, and its test is listed
    late = diagnose_phases(p, expansion_start=1990, reps=49)
    assert "first adoptions take-off" in late.tests
    t2 = late.extra["quality_start"]
    assert t2 is None or t2 > 1990
    # too few years after it to search: said, not silently dropped
    assert any("after the given start of quantity expansion (1998): not dated" in s
               for s in diagnose_phases(p, expansion_start=1998, reps=49).limitations)
    assert late.extra["expansion_source"] == "" and late.extra["quality_source"] is None
    # a given quality start earlier than the estimated take-off: the take-off is not placed after it
    early = diagnose_phases(p, quality_start=1984, reps=49)
    spans = early.extra["spans"]
    starts = {ph: lo for ph, lo, _ in spans}
    assert early.extra["expansion_start"] <= 1984 and starts["quality improvement"] == 1984
    assert [ph for ph, _, _ in spans] == sorted((ph for ph, _, _ in spans), key=["initiation", "quantity expansion",
                                                                                  "quality improvement"].index)
    assert not early.extra["jointly_dated"] and "dated jointly" not in early.verdict


@pytest.mark.parametrize("bad", [1985.5, "1985", True, float("nan"), float("inf"), [1985]])
def test_a_date_that_is_not_a_whole_year_is_a_value_error_naming_it(bad):
    from clusterecon.hypotheses.phases import given_dates

    with pytest.raises(ValueError, match=r"expansion_start = .* must be a whole year"):
        given_dates(_cluster(), expansion_start=bad)
    assert given_dates(_cluster(), expansion_start=np.int64(1985))[0] == 1985


def test_every_verdict_that_uses_a_given_date_names_its_source():
    import clusterecon as ce
    from clusterecon.samples import sample_panel

    r = ce.analyse(sample_panel("machinery"), expansion_start=1975, quality_start=2000, history_source="Field notes",
                   reps=19, detail=False)
    for key in ("phases", "founders", "spinoffs", "stagnation", "innovation", "exit"):
        assert "Field notes" in r.results[key].verdict, (key, r.results[key].verdict)


def test_a_census_that_starts_after_the_first_founding_is_not_dated_from_survivors():
    # user sweep: a "census" of 1995-2005 (founding from 1980) was dated like a full census ("take-off 1986 …
    # coverage on censuses 96%") and stagnation named years it never observed
    from clusterecon.hypotheses.phases import entry_records_complete, entry_series_complete
    from clusterecon.hypotheses.stagnation import productivity_stagnation

    full = _cluster(seed=2)
    late = full.replace(data=full.data[full.data.index.get_level_values("year") >= 1995])
    assert entry_series_complete(full) and not entry_series_complete(late)
    assert entry_records_complete(late)  # the years it covers are complete: cluster output can be summed
    res = diagnose_phases(late, reps=49)
    assert res.status == "inconclusive" and "the census starts after the earliest founding year" in " ".join(
        res.limitations)
    st = productivity_stagnation(late, phases=res)  # constant productivity: an exact fit (was ZeroDivisionError)
    assert st.status == "inconclusive" and "over the years 1995–1997" in st.verdict
    assert "(of the span 1980–1997, the years observed)" in st.verdict


def test_an_undated_take_off_is_said_in_the_phase_verdict_not_only_in_the_limitations():
    # user sweep: "quantity expansion from 1985" where 1985 was only the first year observed (take-off p = 0.32)
    founded = {f"f{i}": 1985 + 2 * i for i in range(15)}  # one entrant every other year: no take-off
    rows = [{"firm_id": f, "year": y, "founding_year": fy, "sales": 100.0, "material_cost": 50.0, "employees": 5.0,
             "active": True} for f, fy in founded.items() for y in range(fy, 2015)]
    res = diagnose_phases(SurveyPanel.from_frame(pd.DataFrame(rows), design=SurveyDesign(kind="census")), reps=49)
    assert not res.extra["expansion_detected"]
    assert "the start of quantity expansion is not dated (no significant take-off of entry" in res.verdict
    assert "quantity expansion from" not in res.verdict


# ------------------------------------------------------------------ a window that opens in quality improvement
def _last_decade(share0, hazard, seed=0, n=120, years=range(2001, 2011)):
    """A census of a cluster's last decade (founding years from 1975, so it starts long after the cluster's
    origin): ``share0`` of the firms innovate in its first year and the others adopt at a constant ``hazard`` a
    year (no take-off of first adoptions inside it); productivity flat."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        fy = int(rng.integers(1975, 2001)) if i < 0.8 * n else int(rng.integers(2001, 2008))
        innov = bool(rng.random() < share0)
        school = float(rng.integers(6, 17))
        for y in years:
            if y < fy:
                continue
            innov = innov or bool(rng.random() < hazard)
            emp = 10.0
            va = np.exp(1 + rng.normal(0, 0.05)) * emp
            rows.append({"firm_id": f"f{i:03d}", "year": y, "founding_year": fy, "own_brand": innov,
                         "manager_schooling_years": school, "sales": 2 * va, "material_cost": va,
                         "employees": emp, "active": True})
    return SurveyPanel.from_frame(pd.DataFrame(rows), design=SurveyDesign(kind="census"))


def test_a_window_that_opens_in_quality_improvement_is_not_quantity_expansion():
    # sweep 10: a census of 2001–2010 of a cluster in quality improvement since 1996 (54% → 72% innovating) was
    # labelled "quantity expansion" because first adoptions, at a steady rate inside the window, show no take-off;
    # stagnation was then judged on quality-phase years ("supported" with stagnation switched off)
    from clusterecon.hypotheses.stagnation import productivity_stagnation

    panel = _last_decade(share0=0.55, hazard=0.06)
    res = diagnose_phases(panel, reps=49)
    ex = res.extra
    assert ex["current_phase"] == "quality improvement" and ex["phase_judged"]
    assert ex["quality_start"] is None and ex["quality_undated"] and ex["quality_before_observed"]
    assert not ex["expansion_detected"]
    assert (res.tables["phases"].loc[2001:, "phase"] == "quality improvement").all()
    assert "it already was in 2001, the first year observed" in res.verdict
    assert "more than the 25% that quantity expansion allows (exact binomial test" in res.verdict
    assert "no quality-improvement transition detected" not in res.verdict
    st = productivity_stagnation(panel, phases=res)
    assert st.status == "skipped" and {c.status for c in st.claims} == {"skipped"}
    assert "no quantity-expansion years observed: quality improvement was already under way in 2001" in st.verdict


def test_a_genuine_quantity_expansion_window_is_judged_as_before():
    # the same design with few innovators (≤ 10%) stays quantity expansion, and stagnation is decided on it
    from clusterecon.hypotheses.stagnation import productivity_stagnation

    panel = _last_decade(share0=0.05, hazard=0.005)
    res = diagnose_phases(panel, reps=49)
    ex = res.extra
    assert ex["current_phase"] == "quantity expansion" and ex["phase_judged"] and not ex["quality_before_observed"]
    assert "no quality-improvement transition detected" in res.verdict
    st = productivity_stagnation(panel, phases=res)
    assert st.claim("productivity").status == "supported", st.verdict


def test_the_battery_follows_a_quality_phase_that_began_before_the_years_observed():
    # founders, spin-offs, the schooling split and the exit period must agree with the phase diagnosis
    from clusterecon.hypotheses import analyse

    out = analyse(_last_decade(share0=0.55, hazard=0.06, seed=1), reps=49, detail=False)
    assert out.phases.extra["quality_before_observed"]
    assert out.options["split_year"] == 2001  # every year observed is in quality improvement: the later period
    assert out["stagnation"].status == "skipped"
    assert out["exit"].status == "skipped" or "all in quality improvement" in out["exit"].verdict
    assert "failed" not in set(out.verdicts()["status"])


def test_a_take_off_says_what_entry_did_after_it():
    # size audit: a one-year spike of entry (a policy year) was described "to 19.8 and rising" while entry fell back
    # to 5 a year; the verdict now reports the observed rate after the take-off instead of a fixed "and rising"
    from clusterecon.hypotheses.phases import _entry_after

    traj = pd.DataFrame({"entrants": [5, 5, 20, 5, 6, 4, 5, 5]}, index=range(1990, 1998))
    assert _entry_after(traj, 1992) == ", then 5.0 a year on average over 1993–1997"
    assert _entry_after(traj, 1997) == ""
