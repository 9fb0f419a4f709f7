"""Power helper: McKenzie (2012) variance formulas (identities and simulation), power algebra, schooling power."""

from __future__ import annotations

import numpy as np
import pytest

from clusterecon.simulate.power import (
    plot_power,
    power,
    power_schooling,
    power_training,
    simulate_training,
    training_variance,
)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.5, 0.9])
def test_one_baseline_one_followup_identities(rho):
    # with m = r = 1: Var(ANCOVA)/Var(POST) = 1 − ρ², Var(DiD)/Var(POST) = 2(1 − ρ) (McKenzie 2012, section 2)
    v = training_variance(rho, 1, 1, n_firms=200)
    assert v["post"] == pytest.approx(4 / 200)
    assert v["ancova"] / v["post"] == pytest.approx(1 - rho**2)
    assert v["did"] / v["post"] == pytest.approx(2 * (1 - rho))


@pytest.mark.parametrize("rho", [0.0, 0.2, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("m,r", [(1, 1), (1, 3), (2, 2), (3, 5)])
def test_ancova_is_never_worse_than_post_or_did(rho, m, r):
    v = training_variance(rho, m, r)
    assert v["ancova"] <= v["post"] + 1e-12 and v["ancova"] <= v["did"] + 1e-12


def test_more_followups_help_most_when_autocorrelation_is_low():
    low1, low5 = training_variance(0.2, 1, 1)["ancova"], training_variance(0.2, 1, 5)["ancova"]
    high1, high5 = training_variance(0.8, 1, 1)["ancova"], training_variance(0.8, 1, 5)["ancova"]
    assert low5 / low1 < high5 / high1
    # equal-size arms of n firms each: V0 = 2σ²/n
    assert training_variance(0.0, 1, 1, n_firms=100, treated_share=0.5)["post"] == pytest.approx(2 / 50)
    with pytest.raises(ValueError):
        training_variance(1.5)


def test_power_algebra():
    t = power_training(n_firms=[100, 400], effect=[0.0, 0.25], rho=0.5, post_rounds=[1, 3])
    assert len(t) == 2 * 2 * 2 * 3
    assert np.allclose(t.loc[t["effect"] == 0, "power"], 0.05)
    # at effect = mde the power is the target
    row = t[(t["effect"] == 0.25) & (t["method"] == "ancova")].iloc[0]
    at_mde = power_training(int(row["n_firms"]), float(row["mde"]), rho=0.5, post_rounds=int(row["post_rounds"]))
    assert at_mde.loc[at_mde["method"] == "ancova", "power"].iloc[0] == pytest.approx(0.8, abs=1e-6)
    big = t[(t["effect"] == 0.25)].pivot_table(index=["n_firms", "post_rounds"], columns="method", values="power")
    assert (big["ancova"] >= big["did"]).all()
    assert big.loc[(400, 3), "ancova"] > big.loc[(100, 3), "ancova"]
    assert power("training", n_firms=50).shape[0] == 3
    with pytest.raises(ValueError, match="question"):
        power("profits")


@pytest.mark.parametrize("rho,m,r", [(0.3, 1, 3), (0.7, 2, 2)])
def test_simulation_matches_the_analytic_variances(rho, m, r):
    R = 4000
    s = simulate_training(200, 0.2, rho=rho, pre_rounds=m, post_rounds=r, R=R, seed=1).set_index("method")
    # the sampling variance of a variance estimate from R normal draws has sd ≈ var·sqrt(2/R)
    for meth in ("post", "ancova", "did"):
        assert s.loc[meth, "sim_var"] == pytest.approx(s.loc[meth, "analytic_var"], rel=4 * np.sqrt(2 / R))
        assert abs(s.loc[meth, "mean_estimate"] - 0.2) < 4 * np.sqrt(s.loc[meth, "analytic_var"] / R)
    an = power_training(200, 0.2, rho=rho, pre_rounds=m, post_rounds=r).set_index("method")
    for meth in ("post", "ancova", "did"):
        assert s.loc[meth, "rejection"] == pytest.approx(an.loc[meth, "power"], abs=0.04)


def test_size_of_the_simulated_tests():
    s = simulate_training(100, 0.0, rho=0.5, pre_rounds=1, post_rounds=2, R=4000, seed=3)
    assert np.all(np.abs(s["rejection"] - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 4000))


def test_schooling_power_rises_with_effect_and_sample():
    t = power_schooling(n_firms=(300,), rounds=(3,), effect=(0.0, 0.15), R=12, seed=1)
    assert list(t.columns) == ["n_firms", "rounds", "effect", "power", "mean_estimate", "mean_se", "coverage",
                               "failed"]
    p0 = t.loc[t["effect"] == 0.0, "power"].iloc[0]
    p1 = t.loc[t["effect"] == 0.15, "power"].iloc[0]
    assert p1 > 0.8 and p0 < 0.35 and (t["failed"] == 0).all()


def test_plot_power_returns_a_figure():
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_power(power_training([50, 100, 200], 0.3, rho=[0.3, 0.8]), facet="rho")
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylabel() == "power"
    import matplotlib.pyplot as plt

    plt.close(fig)
