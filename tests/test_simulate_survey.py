"""Simulated fieldwork keeps what it says it keeps; the messy raw file round-trips through the loaders."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.simulate.model import simulate, simulate_frame
from clusterecon.simulate.survey import Fieldwork, _allocate, _round_sig, survey, survey_frame


@pytest.fixture(scope="module")
def census():
    return simulate_frame("garments", 1)


def test_recall_keeps_survivors_benchmark_years_and_n(census):
    df, truth = census
    panel = survey(census, kind="recall", survey_year=2005, benchmark_years=(1995, 2000), n_firms=250, seed=3)
    f = panel.frame.reset_index()
    assert panel.n_firms == 250 and panel.design.kind == "recall" and not panel.design.can_study_exit
    assert set(f["year"]) <= {1995, 2000, 2005}
    alive = set(df.loc[df["year"] == 2005, "firm_id"])
    assert set(f["firm_id"]) <= alive  # survivors only
    assert (f.groupby("firm_id")["year"].max() == 2005).all()
    assert (f["year"] >= f["founding_year"]).all()  # no row before founding
    # every sampled firm alive in a benchmark year has that row
    truth_rows = df[df["firm_id"].isin(f["firm_id"]) & df["year"].isin([1995, 2000, 2005])]
    assert len(truth_rows) == len(f)
    assert (f["recall_lag"] == 2005 - f["year"]).all()
    assert (f["is_recall"] == (f["year"] < 2005)).all()
    assert panel.truth.sampling["benchmark_years"] == (1995, 2000)
    assert panel.truth.sampling["population"] == len(alive)
    assert panel.truth.phase_years == truth.phase_years


def test_recall_manager_is_the_one_at_the_interview(census):
    df, _ = census
    panel = survey(census, kind="recall", survey_year=2000, benchmark_years=(1990,), seed=1)
    at = df[df["year"] == 2000].set_index("firm_id")["manager_schooling_years_t"]
    got = panel.firms["manager_schooling_years"]
    assert np.allclose(got.to_numpy(float), at.reindex(got.index).to_numpy(float))


def test_more_firms_than_eligible_takes_all_and_says_so(census):
    out, tr = survey_frame(*census, kind="recall", survey_year=1985, n_firms=5000, seed=0)
    df, _ = census
    assert out["firm_id"].nunique() == (df["year"] == 1985).sum()
    assert "only" in tr.sampling["note"]


def test_stratified_sample_is_proportional(census):
    df, _ = census
    panel = survey(census, kind="recall", survey_year=2005, n_firms=200, stratify="is_spinoff", seed=4)
    pop = df[df["year"] == 2005]["is_spinoff"].value_counts()
    got = panel.firms["is_spinoff"].value_counts()
    for k in pop.index:
        assert abs(got[k] - 200 * pop[k] / pop.sum()) <= 1
    s = panel.truth.sampling
    assert sum(s["allocation"].values()) == 200
    for k, w in s["weights"].items():
        assert w == pytest.approx(s["strata"][k] / s["allocation"][k])
    size = survey(census, kind="recall", survey_year=2005, n_firms=90, stratify="size", seed=4)
    assert size.truth.sampling["allocation"] == {"large": 30, "medium": 30, "small": 30}
    with pytest.raises(ValueError, match="stratify"):
        survey(census, kind="recall", survey_year=2005, n_firms=90, stratify="colour")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=8).filter(lambda v: sum(v) > 0), st.data())
def test_allocation_properties(sizes, data):
    sizes = np.array(sizes)
    n = data.draw(st.integers(0, int(sizes.sum())))
    alloc = _allocate(sizes, n)
    assert alloc.sum() == n
    assert np.all(alloc >= 0) and np.all(alloc <= sizes)
    quota = n * sizes / sizes.sum()
    # proportional up to one firm, except where a small stratum's cap pushes firms elsewhere
    assert np.all(alloc >= np.minimum(np.floor(quota), sizes))


def test_allocation_rule():
    assert _allocate(np.array([50, 30, 20]), 10).tolist() == [5, 3, 2]
    assert _allocate(np.array([1, 100]), 10).tolist() == [0, 10]  # largest remainder, no minimum per stratum
    assert _allocate(np.array([2, 3]), 5).tolist() == [2, 3]
    assert _allocate(np.array([3, 3, 3]), 7).sum() == 7


def test_rounds_follow_the_panel_and_record_closures(census):
    df, _ = census
    rounds = (2000, 2003, 2006, 2009)
    panel = survey(census, kind="rounds", survey_years=rounds, n_firms=200, seed=5)
    f = panel.frame.reset_index()
    assert panel.design.can_study_exit and panel.n_firms == 200
    assert set(f["year"]) <= set(rounds)
    assert set(f["firm_id"]) <= set(df.loc[df["year"] == 2000, "firm_id"])
    assert (f["survey_round"] == f["year"].map({y: i + 1 for i, y in enumerate(rounds)})).all()
    closed = f[~f["active"].astype(bool)]
    assert len(closed) > 10
    assert closed["sales"].isna().all()
    assert closed.groupby("firm_id").size().max() == 1  # recorded once
    firms = panel.firms
    assert (firms.loc[closed["firm_id"], "exit_status"].astype(str) == "closed").all()
    for _, r in closed.iterrows():
        ey = int(firms.loc[r["firm_id"], "exit_year"])
        assert r["year"] == min(y for y in rounds if y >= ey)
        assert f[(f["firm_id"] == r["firm_id"]) & (f["year"] > r["year"])].empty
    with pytest.raises(ValueError, match="survey_years"):
        survey(census, kind="rounds")


def test_exact_fieldwork_reports_the_truth(census):
    df, _ = census
    out, _ = survey_frame(*census, kind="recall", survey_year=2005, benchmark_years=(1990, 1995, 2000),
                          fieldwork=Fieldwork.exact(), seed=1)
    m = out.merge(df, on=["firm_id", "year"], suffixes=("", "_true"))
    for c in ("sales", "material_cost", "capital", "employees", "wage_bill", "product_price", "direct_sales_share"):
        assert np.allclose(m[c].astype(float), m[c + "_true"].astype(float)), c
    for c in ("own_brand", "exporter"):
        assert (m[c].astype(bool) == m[c + "_true"].astype(bool)).all()


def test_error_and_missing_answers_grow_with_recall_distance():
    census = simulate_frame("garments", 2)
    fw = Fieldwork(error_sd=0.02, error_sd_per_year=0.03, missing=0.02, missing_per_year=0.03, money_digits=0,
                   heaping_per_year=0.0)
    out, _ = survey_frame(*census, kind="recall", survey_year=2010, benchmark_years=(1995, 2000, 2005),
                          fieldwork=fw, seed=9)
    m = out.merge(census[0][["firm_id", "year", "sales"]], on=["firm_id", "year"], suffixes=("", "_true"))
    m["err"] = np.log(m["sales"] / m["sales_true"])
    sd = m.groupby("recall_lag")["err"].std()
    miss = m.groupby("recall_lag")["sales"].apply(lambda s: s.isna().mean())
    assert sd.loc[0] == pytest.approx(0.02, rel=0.25) and sd.loc[15] == pytest.approx(0.47, rel=0.2)
    assert sd.is_monotonic_increasing
    assert miss.loc[0] < 0.06 and miss.loc[15] == pytest.approx(0.47, abs=0.08)


def test_rounding_and_heaping():
    x = np.array([123456.0, 0.012345, -98.76, 0.0])
    assert _round_sig(x, 3).tolist() == [123000.0, 0.0123, -98.8, 0.0]
    assert _round_sig(x, 0).tolist() == x.tolist()
    census = simulate_frame("garments", 3)
    fw = Fieldwork(error_sd=0.0, error_sd_per_year=0.0, missing=0.0, missing_per_year=0.0, heaping_per_year=1.0)
    out, _ = survey_frame(*census, kind="recall", survey_year=2005, benchmark_years=(2000,), fieldwork=fw, seed=1)
    old = out[out["recall_lag"] == 5]
    s = old["sales"].to_numpy(float)
    assert np.allclose(_round_sig(s, 2), s)  # heaped to two significant digits
    assert not np.allclose(_round_sig(s, 1), s)
    big = old["employees"].to_numpy(float)
    assert np.all(big[big > 12] % 5 == 0)
    now = out[out["recall_lag"] == 0]["employees"].to_numpy(float)
    assert np.all(now == np.round(now))


def test_survey_is_deterministic_and_accepts_a_panel():
    cen = simulate("garments", seed=4)
    a = survey(cen, kind="recall", survey_year=2005, benchmark_years=(2000,), n_firms=100, seed=7)
    b = survey(cen, kind="recall", survey_year=2005, benchmark_years=(2000,), n_firms=100, seed=7)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    c = survey(cen, kind="census")
    assert c.n_obs == cen.n_obs
    with pytest.raises(ValueError, match="within the simulated years"):
        survey(cen, kind="recall", survey_year=2030)
    with pytest.raises(ValueError, match="kind"):
        survey(cen, kind="panel")


@pytest.mark.parametrize("kind,suffix", [("recall", ".csv"), ("rounds", ".dta")])
def test_messy_raw_file_round_trips_through_the_loader(tmp_path, kind, suffix):
    from clusterecon.load import load_survey
    from clusterecon.simulate.raw import write_raw

    cen = simulate("garments", seed=1)
    kw = dict(survey_year=2005, benchmark_years=(1995, 2000)) if kind == "recall" else dict(
        survey_years=(2000, 2003, 2006))
    s = survey(cen, kind=kind, n_firms=120, seed=2, **kw)
    raw_path, map_path = write_raw(s, tmp_path / f"raw{suffix}", seed=3)
    text = raw_path.read_text(errors="ignore") if suffix == ".csv" else ""
    if suffix == ".csv":
        assert "-9" in text and "sales_1995" in text  # missing codes and the wide recall layout are really there
    res = load_survey(raw_path, map_path)
    assert res.ok, res.report.to_text()
    got, want = res.panel.frame, s.frame
    assert res.panel.design.kind == kind
    assert set(got.index) == set(want.index)
    got = got.loc[want.index]
    for c in ("sales", "material_cost", "capital", "wage_bill", "employees", "product_price", "direct_sales_share",
              "manager_schooling_years", "founding_year", "manager_generation"):
        a, b = got[c].astype("Float64").astype(float), want[c].astype("Float64").astype(float)
        assert np.allclose(a, b, rtol=1e-6, atol=1e-3, equal_nan=True), c
    for c in ("own_brand", "own_retail_shop", "long_term_subcontracting", "exporter", "is_spinoff",
              "founder_prior_occupation", "manager_prior_occupation", "technology", "spinoff_parent_id"):
        a, b = got[c].astype("string"), want[c].astype("string")
        assert (a.fillna("<NA>") == b.fillna("<NA>")).all(), c
    if kind == "rounds":
        assert (got["active"].astype(bool) == want["active"].astype(bool)).all()


def test_cli_writes_a_survey_that_validate_accepts(tmp_path, capsys):
    from clusterecon.cli import main
    from clusterecon.commands import simulate as cli

    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    out = tmp_path / "garments.csv"
    assert cli.run(p.parse_args(["--preset", "garments", "--firms", "300", "--survey-year", "2005",
                                 "--out", str(out), "--seed", "1"])) == 0
    assert (tmp_path / "garments.csv.truth.json").exists()
    printed = capsys.readouterr().out
    assert "technology), seed 1\n" in printed and "entropy" not in printed  # the seed the user typed, plainly
    assert main(["validate", str(out)]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out
    raw = tmp_path / "raw.csv"
    assert cli.run(p.parse_args(["--out", str(raw), "--raw", "--firms", "80", "--exact"])) == 0
    assert main(["validate", str(raw), "--mapping", str(tmp_path / "raw_mapping.toml")]) == 0
    assert main(["simulate", "--out", str(tmp_path / "x.xlsx")]) == 2


def _make_samples():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "simulated" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bundled_samples_are_what_the_script_makes_and_load_cleanly(tmp_path):
    import json

    from clusterecon.load import load_survey

    mod = _make_samples()
    mod.main(tmp_path, quiet=True)
    for name in ("garments_recall_2005.csv", "machinery_rounds.csv", "garments_recall_2005.truth.json",
                 "machinery_rounds.truth.json", "garments_raw_mapping.toml", "garments_raw.dta"):
        assert (tmp_path / name).read_bytes() == (mod.HERE / name).read_bytes(), (
            f"data/simulated/{name} is stale: run python data/simulated/make_samples.py and update its README")
    truth = json.loads((mod.HERE / "garments_recall_2005.truth.json").read_text())
    assert truth["phase_years"]["quality_improvement"] == 1998  # as data/simulated/README.md states
    assert json.loads((mod.HERE / "machinery_rounds.truth.json").read_text())["phase_years"][
        "quality_improvement"] == 2000
    res = load_survey(mod.HERE / "garments_raw.dta", mod.HERE / "garments_raw_mapping.toml")
    assert res.ok, res.report.to_text()
    canon = pd.read_csv(mod.HERE / "garments_recall_2005.csv").set_index(["firm_id", "year"])
    got = res.panel.frame.loc[canon.index]
    assert np.allclose(got["sales"].astype(float), canon["sales"], equal_nan=True)
