"""Discrete-time exit hazard: risk-set rules, identity with a logit on the hand-built risk set, recovery of a
proportional-hazards coefficient by cloglog under left truncation, survivor-only refusal."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.hazard import discrete_hazard, risk_set
from clusterecon.panel import SurveyDesign, SurveyPanel


def _tiny_rounds_panel(kind="rounds"):
    rows = [
        # firm, year, founding, exit_year, active, x
        ("A", 2000, 1990, 2005, True, 1.0), ("A", 2003, 1990, 2005, True, 2.0),
        ("B", 2003, 2001, None, True, 3.0), ("B", 2006, 2001, None, True, 4.0),
        ("C", 2000, 1995, None, True, 5.0), ("C", 2006, 1995, None, True, 6.0),
        ("D", 2000, 1980, None, True, 7.0),
        ("E", 2000, 1999, None, True, 8.0), ("E", 2003, 1999, None, False, np.nan),
    ]
    df = pd.DataFrame(rows, columns=["firm_id", "year", "founding_year", "exit_year", "active", "x"])
    df["exit_year"] = df["exit_year"].astype("Int64")
    return SurveyPanel.from_frame(df, design=SurveyDesign(kind=kind, survey_years=(2000, 2003, 2006)))


def test_risk_set_rules_on_a_hand_built_panel():
    rs = risk_set(_tiny_rounds_panel())
    got = rs[["exit", "duration", "spell_start", "carried", "x", "entry_year"]]
    expected = pd.DataFrame(
        [("A", 2003, 0.0, 13.0, 2000, False, 1.0, 2000),   # covariates predetermined: from 2000
         ("A", 2006, 1.0, 16.0, 2003, False, 2.0, 2000),   # exit in 2005 → first round at or after it
         ("B", 2006, 0.0, 5.0, 2003, False, 3.0, 2003),    # enters at its first observed year (2003)
         ("C", 2003, 0.0, 8.0, 2000, False, 5.0, 2000),    # not interviewed in 2003 but seen alive later
         ("C", 2006, 0.0, 11.0, 2003, True, 5.0, 2000),    # covariates carried from 2000 across the gap
         ("E", 2003, 1.0, 4.0, 2000, False, 8.0, 2000)],   # exit from active = False, no exit_year
        columns=["firm_id", "year", "exit", "duration", "spell_start", "carried", "x", "entry_year"],
    ).set_index(["firm_id", "year"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)
    # D vanishes after 2000 without an exit record: attrition, censored, never at risk afterwards
    assert any("attrition" in n for n in rs.attrs["notes"])
    obs = risk_set(_tiny_rounds_panel(), clock="observed")
    assert obs.loc[("A", 2006), "duration"] == 6.0
    # a founding year after the first observation is kept out of the age clock, and said so
    df = _tiny_rounds_panel().frame.reset_index()
    df.loc[df.firm_id == "B", "founding_year"] = 2005
    late = risk_set(SurveyPanel.from_frame(df, design=SurveyDesign(kind="rounds", survey_years=(2000, 2003, 2006))))
    assert "B" not in late.index.get_level_values(0)
    assert any("founded after" in o.reason and o.n == 1 for o in late.attrs["omitted"])


def test_survivor_only_panel_is_refused_with_the_panel_explanation():
    panel = _tiny_rounds_panel(kind="recall")
    with pytest.raises(SpecificationError, match="survivors only"):
        risk_set(panel)
    with pytest.raises(SpecificationError, match="survivors only"):
        discrete_hazard(panel, "~ x")


def simulate_exit_panel(n=4000, beta=0.5, seed=11, first=2000, last=2012):
    """Firms founded 1970–2011 with constant hazard h(age) = 0.04·(age/10)^0.5·exp(βx) in continuous time; a
    census from ``first`` to ``last``: firms that closed before ``first`` are never seen (left truncation)."""
    rng = np.random.default_rng(seed)
    found = rng.integers(1970, last, size=n)
    x = rng.normal(size=n)
    z = rng.binomial(1, 0.4, size=n).astype(float)
    # Weibull with shape 1.5: H(a) = 0.04·(a/10)^0.5·a/1.5 ... inverse-transform sampling of the exit age
    lam, shape = 0.05, 1.2
    u = rng.uniform(size=n)
    life = (-np.log(u) / (lam * np.exp(beta * x - 0.3 * z))) ** (1 / shape)
    exit_year = found + np.ceil(life).astype(int)  # first calendar year the firm no longer operates
    rows = []
    for i in range(n):
        lo, hi = max(found[i], first), min(exit_year[i] - 1, last)
        for t in range(lo, hi + 1):
            rows.append((f"F{i:05d}", t, found[i], exit_year[i] if exit_year[i] <= last else None, x[i], z[i]))
    df = pd.DataFrame(rows, columns=["firm_id", "year", "founding_year", "exit_year", "x", "z"])
    df["exit_year"] = df["exit_year"].astype("Int64")
    df["active"] = True
    return SurveyPanel.from_frame(df, firm_columns=("founding_year", "exit_year", "x", "z"),
                                  design=SurveyDesign(kind="census"))


@pytest.fixture(scope="module")
def sim():
    return simulate_exit_panel()


def test_cloglog_recovers_the_proportional_hazard_coefficient(sim):
    """Grouped-time PH (Prentice–Gloeckler): cloglog with a free baseline (duration dummies) estimates β."""
    r = discrete_hazard(sim, "~ x + z", link="cloglog", duration="dummies", vcov="cluster")
    assert abs(r.params["x"] - 0.5) < 3 * r.std_errors["x"]
    assert abs(r.params["z"] + 0.3) < 3 * r.std_errors["z"]
    assert r.variance.kind == "cluster" and r.n_entities == r.variance.n_clusters[0]
    assert r.stats["Exits"] > 500
    assert any("pooled" in n for n in r.notes)  # sparse old ages without exits share a dummy
    # parametric duration terms run too and agree closely
    for dur in ("log", "poly2", "poly3"):
        p = discrete_hazard(sim, "~ x + z", link="cloglog", duration=dur)
        assert abs(p.params["x"] - r.params["x"]) < 0.05, dur


def test_logit_identity_with_statsmodels_on_the_built_risk_set(sim):
    import statsmodels.api as sm

    rs = risk_set(sim, duration="log")
    r = discrete_hazard(sim, "~ x + z", link="logit", duration="log", vcov="oim")
    X = sm.add_constant(rs[["x", "z", "log_duration"]].to_numpy(float))
    ref = sm.Logit(rs["exit"].to_numpy(float), X).fit(disp=0, tol=1e-12)
    assert np.allclose(r.coef, ref.params, rtol=1e-7)
    assert np.allclose(r.std_errors, ref.bse, rtol=1e-6)
    assert r.loglik == pytest.approx(ref.llf, abs=1e-6)
    # the same fit from the risk set passed as a DataFrame; cluster SE = H⁻¹(Σ_g S_g S_g')H⁻¹·G/(G−1)
    c = discrete_hazard(rs, "exit ~ x + z", link="logit", duration="log", vcov="cluster")
    assert np.allclose(c.coef, ref.params, rtol=1e-7)
    S = pd.DataFrame(ref.model.score_obs(ref.params)).groupby(rs.index.get_level_values(0).to_numpy()).sum()
    Hinv = np.linalg.inv(ref.model.hessian(ref.params))
    G = len(S)
    V = Hinv @ (S.T.to_numpy() @ S.to_numpy()) @ Hinv * G / (G - 1)
    assert np.allclose(c.std_errors, np.sqrt(np.diag(V)), rtol=1e-6)


def test_bad_input():
    panel = _tiny_rounds_panel()
    with pytest.raises(SpecificationError, match="link"):
        discrete_hazard(panel, "~ x", link="probit")
    with pytest.raises(SpecificationError, match="duration"):
        discrete_hazard(panel, "~ x", duration="spline")
    df = pd.DataFrame({"x": [1.0, 2.0]}, index=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)],
                                                                         names=["firm", "year"]))
    with pytest.raises(SpecificationError, match="risk set"):
        discrete_hazard(df, "~ x")
    no_exit = df.assign(exit=0.0, duration=[1.0, 2.0])
    with pytest.raises(SpecificationError, match="no variation"):
        discrete_hazard(no_exit, "~ x")


def test_cloglog_equals_statsmodels_glm(sim):
    import statsmodels.api as sm

    rs = risk_set(sim, duration="poly2")
    r = discrete_hazard(rs, "exit ~ x + z", link="cloglog", duration="poly2", vcov="oim")
    X = sm.add_constant(rs[["x", "z", "duration", "duration_sq"]].to_numpy(float))
    glm = sm.GLM(rs["exit"].to_numpy(float), X, family=sm.families.Binomial(link=sm.families.links.CLogLog()))
    ref = glm.fit(tol=1e-12)
    assert np.allclose(r.coef, ref.params, rtol=1e-7, atol=1e-9)
    assert r.loglik == pytest.approx(ref.llf, abs=1e-6)
    se_obs = np.sqrt(np.diag(np.linalg.inv(-glm.hessian(ref.params, observed=True))))
    assert np.allclose(r.std_errors, se_obs, rtol=1e-6)


def _weighted_risk_frame() -> pd.DataFrame:
    rng = np.random.default_rng(6)
    rows = [(f, t, x) for f, x in zip(range(400), rng.normal(size=400)) for t in range(1, 6)]
    rs = pd.DataFrame(rows, columns=["firm_id", "year", "x"]).set_index(["firm_id", "year"])
    rs["duration"] = rs.index.get_level_values("year").astype(float)
    rs["exit"] = (rng.random(len(rs)) < 1 / (1 + np.exp(2.5 - 0.8 * rs.x))).astype(float)
    rs = rs[rs.groupby(level=0)["exit"].cumsum().groupby(level=0).shift(fill_value=0) == 0]
    w = rng.choice([1.0, 2.5, 4.0], size=400)  # a stratified sample: three sampling weights by firm
    return rs.assign(w=w[rs.index.get_level_values(0)])


@pytest.mark.parametrize("vcov", ["robust", "cluster"])
def test_sampling_weights_equal_the_pweighted_logit(vcov):
    # Identity: a logit hazard without duration terms is a logit on the risk set, and logit [pw=w] is pinned to
    # Stata in test_binary.py; coefficients and robust/clustered s.e. must agree.
    from clusterecon.estimators.binary import logit

    rs = _weighted_risk_frame()
    h = discrete_hazard(rs, "~ x", duration=None, weights="w", vcov=vcov)
    ref = logit(rs, "exit ~ x", weights="w", vcov=vcov)
    np.testing.assert_allclose(h.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(h.std_errors.to_numpy(), ref.std_errors.to_numpy(), rtol=1e-7)


def test_sampling_weights_cloglog_point_estimates_equal_weighted_glm_and_force_robust_variance():
    import statsmodels.api as sm

    rs = _weighted_risk_frame()
    h = discrete_hazard(rs, "~ x", duration=None, weights="w", link="cloglog")
    X = sm.add_constant(rs[["x"]]).to_numpy()
    g = sm.GLM(rs["exit"].to_numpy(), X, family=sm.families.Binomial(sm.families.links.CLogLog()),
               freq_weights=rs["w"].to_numpy()).fit(tol=1e-12)
    np.testing.assert_allclose(h.params.to_numpy(), g.params, rtol=1e-7)
    assert h.variance.kind == "robust" and any("sampling weights" in n for n in h.notes)
    with pytest.raises(SpecificationError, match="robust or cluster"):
        discrete_hazard(rs, "~ x", duration=None, weights="w", vcov="oim")
    # zero weights are left out and counted, never silently
    z = rs.assign(w=np.where(rs.index.get_level_values(0) < 10, 0.0, rs["w"]))
    hz = discrete_hazard(z, "~ x", duration=None, weights="w")
    assert hz.nobs == int((z["w"] > 0).sum())
    assert any("zero sampling weight" in o.reason for o in hz.omitted)
