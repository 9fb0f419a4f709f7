"""The cluster simulator: determinism, schema, the stylised facts of the three phases, and the known probit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterecon import schema
from clusterecon.simulate.model import PHASES, simulate, simulate_frame
from clusterecon.simulate.params import ClusterParams, garments, machinery, preset, true_effects

SEEDS = range(4)


def _yearly(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("year").agg(n=("firm_id", "size"), price=("market_price", "first"), tfp=("true_tfp", "mean"))


def test_same_seed_same_output_and_other_seed_differs():
    a, ta = simulate_frame("garments", 11)
    b, tb = simulate_frame("garments", 11)
    pd.testing.assert_frame_equal(a, b)
    assert ta == tb
    c, _ = simulate_frame("garments", 12)
    assert len(c) != len(a) or not np.allclose(c["sales"].to_numpy()[:50], a["sales"].to_numpy()[:50])


def test_seed_sequence_streams_are_reproducible():
    s1 = np.random.SeedSequence(5).spawn(3)
    s2 = np.random.SeedSequence(5).spawn(3)
    pd.testing.assert_frame_equal(simulate_frame("machinery", s1[2])[0], simulate_frame("machinery", s2[2])[0])


def test_census_uses_canonical_names_and_builds_a_panel():
    panel = simulate("machinery", seed=3)
    assert panel.design.kind == "census" and panel.design.can_study_exit
    cols = set(panel.frame.columns)
    for c in schema.CORE_FIRM + schema.CORE_FIRM_YEAR:
        if c not in ("firm_id", "year"):
            assert c in cols, c
    assert {"true_tfp", "true_phase", "at_risk", "innovates", "exit_year"} <= cols
    assert set(panel.frame["founder_prior_occupation"].dropna().astype(str)) <= set(schema.OCCUPATION_CODES)
    assert panel.truth.params.technology == "complex"
    assert dict(panel.truth.effects) == true_effects(panel.truth.params)


@pytest.mark.parametrize("name", ["garments", "machinery"])
def test_founders_are_merchants_or_engineers(name):
    df, truth = simulate_frame(name, 0)
    founders = df[df["founding_year"] == truth.params.start_year].drop_duplicates("firm_id")
    expected = "merchant" if name == "garments" else "engineer"
    assert len(founders) == truth.params.n_founders
    assert (founders["founder_prior_occupation"].astype(str) == expected).all()
    spin = df[df["is_spinoff"]].drop_duplicates("firm_id")
    assert len(spin) > 20
    assert (spin["founder_prior_occupation"].astype(str) == "worker_same_industry").all()
    assert spin["spinoff_parent_id"].notna().all()
    assert set(spin["spinoff_parent_id"]) <= set(df["firm_id"])


@pytest.mark.parametrize("name", ["garments", "machinery"])
@pytest.mark.parametrize("seed", SEEDS)
def test_stylised_facts(name, seed):
    df, truth = simulate_frame(name, seed)
    py = truth.phase_years
    q0, q1 = py["quantity_expansion"], py["quality_improvement"]
    assert truth.params.start_year == py["initiation"] < q0 < q1
    g = _yearly(df)
    qe, ql = g.loc[q0:q1 - 1], g.loc[q1:]
    # the number of firms rises fast in quantity expansion, then flattens or falls
    grow_qe = np.log(qe["n"].iloc[-1] / qe["n"].iloc[0]) / len(qe)
    grow_ql = np.log(ql["n"].iloc[-1] / ql["n"].iloc[0]) / len(ql)
    assert grow_qe > 0.08 and grow_ql < 0.01 and grow_ql < grow_qe - 0.05
    # price falls during quantity expansion
    assert g.loc[q1, "price"] < 0.5 * g.loc[q0, "price"]
    # mean TFP is flat under imitation and rises with innovation
    slope_qe = np.polyfit(qe.index, qe["tfp"], 1)[0]
    slope_ql = np.polyfit(ql.index, ql["tfp"], 1)[0]
    assert abs(slope_qe) < 0.0075 and slope_ql > 0.008 and slope_ql > 2 * slope_qe
    # innovators are more educated than the firms at risk that did not innovate
    events = df[df["innovates"]]
    rest = df[df["at_risk"] & ~df["innovates"]]
    assert len(events) > 30
    assert events["manager_schooling_years_t"].mean() > rest["manager_schooling_years_t"].mean() + 1


def test_phase_column_and_risk_set_follow_the_definitions():
    df, truth = simulate_frame("garments", 2)
    py = truth.phase_years
    assert set(df["true_phase"].astype(str)) == set(PHASES)
    for year, phase in truth.phase_by_year.items():
        assert (df.loc[df["year"] == year, "true_phase"].astype(str) == phase).all()
    assert (df.loc[df["at_risk"], "year"] >= py["quality_improvement"]).all()
    assert not (df["innovates"] & ~df["at_risk"]).any()
    assert not (df["at_risk"] & (df["innovator"] & ~df["innovates"])).any()
    # innovation is absorbing and the innovation year is the event year
    ev = df[df["innovates"]]
    assert (ev["innovation_year"] == ev["year"]).all()
    after = df.merge(ev[["firm_id", "year"]].rename(columns={"year": "y0"}), on="firm_id")
    assert after.loc[after["year"] >= after["y0"], "innovator"].all()
    # quantity expansion starts with the first imitator (spin-off or outsider); before it only the pioneers operate
    founded = df.groupby("firm_id")["founding_year"].first()
    imitators = founded[founded > truth.params.start_year]
    assert imitators.min() == py["quantity_expansion"]
    assert py["quantity_expansion"] >= truth.params.start_year + truth.params.spinoff_min_age


def test_exits_and_subcontractors():
    df, truth = simulate_frame("garments", 4)
    last = df.groupby("firm_id").agg(last=("year", "max"), exit_year=("exit_year", "first"))
    closed = last[last["exit_year"].notna()]
    assert len(closed) > 50
    assert (closed["last"] == closed["exit_year"] - 1).all()
    still = last[last["exit_year"].isna()]
    assert (still["last"] == truth.params.start_year + truth.params.n_years - 1).all()
    sub = df[df["subcontractor"]]
    assert len(sub) > 0 and (sub["profit"] > 0).all()
    assert not sub["own_brand"].any() and not sub["own_retail_shop"].any() and (sub["direct_sales_share"] == 0).all()
    # exits in the quality phase are mostly non-innovators
    ex = df.merge(closed.reset_index()[["firm_id", "last"]], on="firm_id")
    ex = ex[(ex["year"] == ex["last"]) & (ex["year"] >= truth.phase_years["quality_improvement"])]
    assert ex["innovator"].mean() < 0.3


def test_innovation_indicators_are_correlated_through_innovation():
    df, _ = simulate_frame("garments", 5)
    late = df[df["year"] == df["year"].max()]
    for col in schema.INNOVATION_INDICATORS:
        assert late.loc[late["innovator"], col].mean() > late.loc[~late["innovator"], col].mean() + 0.15, col
    assert late.loc[late["innovator"], "direct_sales_share"].mean() > late.loc[~late["innovator"],
                                                                                "direct_sales_share"].mean()


def test_successors_are_better_educated():
    df, _ = simulate_frame("garments", 6)
    by_gen = df.groupby("manager_generation_t")["manager_schooling_years_t"].mean()
    assert by_gen.loc[2] > by_gen.loc[1] + 1.5


def _probit_fit(df):
    from clusterecon.estimators.binary import probit

    risk = df[df["at_risk"]].assign(innovates=lambda d: d["innovates"].astype(float))
    return probit(risk, "innovates ~ manager_schooling_years_t + pool")


def test_probit_on_the_risk_set_recovers_the_true_index():
    df, truth = simulate_frame("garments", 7)
    res = _probit_fit(df.set_index(["firm_id", "year"]))
    eff = truth.effects
    for term, key in (("Intercept", "innovation_intercept"), ("manager_schooling_years_t", "innovation_schooling"),
                      ("pool", "innovation_pool")):
        assert abs(res.params[term] - eff[key]) < 3.5 * res.std_errors[term], term


def test_schooling_switch_turns_the_effect_off_and_keeps_the_hazard():
    p = garments(schooling_matters=False)
    assert p.effective_schooling_coef == 0.0
    assert p.effective_intercept == pytest.approx(p.innovation_intercept + p.innovation_schooling * 9.0)
    df, truth = simulate_frame(p, 8)
    assert truth.effects["innovation_schooling"] == 0.0
    assert df["innovates"].sum() > 50
    res = _probit_fit(df.set_index(["firm_id", "year"]))
    assert abs(res.params["manager_schooling_years_t"]) < 3.5 * res.std_errors["manager_schooling_years_t"]
    with_effect, _ = simulate_frame(garments(), 8)
    assert with_effect["innovates"].sum() != df["innovates"].sum()


def test_parameter_checks_and_presets():
    with pytest.raises(ValueError, match="technology"):
        ClusterParams(technology="medium")
    with pytest.raises(ValueError, match="four probabilities"):
        ClusterParams(innovator_indicator_prob=(0.5, 0.5))
    with pytest.raises(ValueError, match="unknown preset"):
        preset("shoes")
    with pytest.raises(ValueError, match="tfp_persistence"):
        ClusterParams(tfp_persistence=1.0)
    m = machinery(n_founders=4)
    assert m.n_founders == 4 and m.technology == "complex" and m.founder_occupation == "engineer"
    assert garments().replace(n_years=10).n_years == 10
    with pytest.raises(ValueError, match="occupation"):
        garments(outside_occupations=(("pirate", 1.0),))
    custom = garments(outside_occupations=(("farmer", 1.0),))
    df, truth = simulate_frame(custom, 1)
    outside = df[(df["founding_year"] > truth.params.start_year) & ~df["is_spinoff"]]
    assert len(outside) and (outside["founder_prior_occupation"].astype(str) == "farmer").all()
    with pytest.raises(RuntimeError, match="max_firms"):
        simulate_frame(garments(max_firms=20), 0)


@pytest.mark.parametrize("rho", [0.8, 0.4])
def test_productivity_is_a_stationary_ar1(rho):
    """Without innovation gains, entrants' TFP gap or selective exit, true log TFP is the AR(1) u_it = ρ u_i,t−1 +
    η_it with stationary variance tfp_sd² + tfp_shock_sd² (entrants drawn from that law), the first-order Markov
    process control-function estimators assume: the regression of ω_t on ω_t−1 recovers ρ and the innovation
    variance, and entrants' and incumbents' ω have the stationary variance."""
    p = garments(tfp_persistence=rho, innovation_pays=False, entrant_tfp_gap=0.0, exit_selects=False)
    df, _ = simulate_frame(p, 11)
    om = df.set_index(["firm_id", "year"])["true_tfp"].sort_index()
    lag = om.groupby(level="firm_id").shift()  # a census sees every firm every year it is active
    ok = lag.notna().to_numpy()
    y, x = om.to_numpy()[ok], lag.to_numpy()[ok]
    assert len(y) > 5000
    b = np.polyfit(x, y, 1)
    resid = y - np.polyval(b, x)
    var_u = p.tfp_sd**2 + p.tfp_shock_sd**2
    assert b[0] == pytest.approx(rho, abs=0.03) and abs(b[1]) < 0.01
    assert resid.var() == pytest.approx((1 - rho**2) * var_u, rel=0.08)
    assert om.var() == pytest.approx(var_u, rel=0.1) and abs(om.mean()) < 0.02
    entry = df["year"] == df["founding_year"]
    assert df.loc[entry, "true_tfp"].var() == pytest.approx(var_u, rel=0.15)
