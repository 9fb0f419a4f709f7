"""Multinomial logit: statsmodels MNLogit identity, J = 2 equals logit, parameter recovery, margins, bad input."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.binary import SeparationError, logit
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.margins import margins
from clusterecon.estimators.mnlogit import mnlogit

TRUE = {"merchant": (0.0, 0.0, 0.0), "engineer": (0.5, 1.0, -0.5), "worker": (-0.3, -0.8, 0.7)}


def _sim(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    d = (rng.uniform(size=n) < 0.5).astype(float)
    cats = list(TRUE)
    B = np.array([TRUE[c] for c in cats])
    eta = np.column_stack([np.ones(n), x, d]) @ B.T
    p = np.exp(eta) / np.exp(eta).sum(1, keepdims=True)
    y = np.array(cats)[(rng.uniform(size=n)[:, None] > p.cumsum(1)).sum(1)]
    firm = np.arange(n) // 3
    return pd.DataFrame({"occ": y, "x": x, "d": d, "firm": firm, "year": np.arange(n) % 3}).set_index(
        ["firm", "year"])


@pytest.fixture(scope="module")
def df():
    return _sim()


def test_matches_statsmodels_mnlogit(df):
    import statsmodels.api as sm

    fit = mnlogit(df, "occ ~ x + d", base="engineer")  # statsmodels' base is the lowest code: engineer
    codes = pd.Categorical(df["occ"], categories=["engineer", "merchant", "worker"]).codes
    smf = sm.MNLogit(codes, sm.add_constant(df[["x", "d"]].to_numpy())).fit(method="newton", disp=0)
    np.testing.assert_allclose(fit.coef, np.asarray(smf.params).ravel(order="F"), rtol=1e-8)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), np.asarray(smf.bse).ravel(order="F"), rtol=1e-6)
    assert fit.names[:3] == ("merchant:Intercept", "merchant:x", "merchant:d")
    assert fit.loglik == pytest.approx(smf.llf, rel=1e-10)
    # statsmodels' cluster correction is G/(G-1)(N-1)/(N-K); Stata's mlogit uses G/(G-1)
    cl = mnlogit(df, "occ ~ x + d", base="engineer", vcov="cluster")
    smc = sm.MNLogit(codes, sm.add_constant(df[["x", "d"]].to_numpy())).fit(
        method="newton", disp=0, cov_type="cluster", cov_kwds={"groups": df.index.get_level_values(0)})
    n, k = len(df), 6
    np.testing.assert_allclose(cl.vcov, np.asarray(smc.cov_params()) * (n - k) / (n - 1), rtol=1e-7)
    assert cl.variance.n_clusters == (1000,)


def test_two_outcomes_equal_logit(df):
    d2 = df.copy()
    d2["eng"] = (d2["occ"] == "engineer").astype(float)
    d2["two"] = np.where(d2["eng"] == 1, "engineer", "other")
    mn = mnlogit(d2, "two ~ x + d", base="other")
    lg = logit(d2, "eng ~ x + d")
    np.testing.assert_allclose(mn.coef, lg.coef, rtol=1e-8)
    np.testing.assert_allclose(mn.std_errors.to_numpy(), lg.std_errors.to_numpy(), rtol=1e-6)


def test_default_base_is_most_frequent_and_recovery():
    big = _sim(n=40000, seed=1)
    fit = mnlogit(big, "occ ~ x + d")
    counts = big["occ"].value_counts()
    assert fit.extra["base"] == counts.idxmax()
    # re-express the truth relative to the chosen base and check recovery within 4 SEs
    base = np.array(TRUE[fit.extra["base"]])
    for o in fit.extra["outcomes"][1:]:
        for j, v in enumerate(["Intercept", "x", "d"]):
            want = TRUE[o][j] - base[j]
            assert abs(fit.params[f"{o}:{v}"] - want) < 4 * fit.std_errors[f"{o}:{v}"]


def test_margins_match_statsmodels_and_sum_to_zero(df):
    import statsmodels.api as sm

    fit = mnlogit(df, "occ ~ x + d", base="engineer")
    me = margins(fit, dummies=True)  # discrete changes for 0/1 columns, as statsmodels' dummy=True
    codes = pd.Categorical(df["occ"], categories=["engineer", "merchant", "worker"]).codes
    smf = sm.MNLogit(codes, sm.add_constant(pd.DataFrame(df[["x", "d"]].to_numpy(), columns=["x", "d"]))).fit(
        method="newton", disp=0)
    mf = smf.get_margeff(at="overall", method="dydx", dummy=True)
    # statsmodels: margeff (k, J) with outcomes in code order = our order (base first)
    want = np.asarray(mf.margeff).T.ravel()
    want_se = np.asarray(mf.margeff_se).T.ravel()
    np.testing.assert_allclose(me.coef, want, rtol=1e-6)
    np.testing.assert_allclose(me.std_errors.to_numpy(), want_se, rtol=1e-5)
    assert me.names[0] == "engineer:x"
    total_x = sum(me.params[f"{o}:x"] for o in fit.extra["outcomes"])
    assert abs(total_x) < 1e-12


def test_bad_input(df):
    d2 = df.copy()
    with pytest.raises(SpecificationError, match="base='farmer' is not an outcome"):
        mnlogit(d2, "occ ~ x", base="farmer")
    d2["one"] = "merchant"
    with pytest.raises(SpecificationError, match="1 category"):
        mnlogit(d2, "one ~ x")
    d2["cont"] = np.random.default_rng(0).normal(size=len(d2))
    with pytest.raises(SpecificationError, match="looks continuous"):
        mnlogit(d2, "cont ~ x")
    d2.iloc[:5, d2.columns.get_loc("occ")] = None
    fit = mnlogit(d2, "occ ~ x")
    assert fit.omitted[0].reason == "missing occ" and fit.omitted[0].n == 5


def test_empty_cell_reported_by_variable(df):
    d2 = df.copy()
    d2.loc[(d2["d"] == 1) & (d2["occ"] == "worker"), "occ"] = "merchant"
    with pytest.raises(SeparationError, match=r"did not converge: perfect prediction: d = 1 never occurs with "
                                              r"outcome\(s\) worker \(\d+ observations\)"):
        mnlogit(d2, "occ ~ x + d")
    with pytest.raises(SeparationError, match="d = 1 never occurs with outcome"):
        mnlogit(d2, "occ ~ x + d", separation="raise")


def test_stata_mlogit_anes96():
    import json
    from pathlib import Path

    import statsmodels.api as sm

    ref = json.loads((Path(__file__).parent / "reference" / "mnlogit.json").read_text())["anes96_mlogit"]
    d = sm.datasets.anes96.load_pandas().data
    d["id"] = np.arange(len(d))
    d["wave"] = 1996
    fit = mnlogit(d.set_index(["id", "wave"]), ref["formula"], base=ref["base"])
    assert fit.nobs == ref["nobs"] and fit.extra["base"] == 0 and fit.names[:2] == ("1:Intercept", "1:logpopul")
    for outcome, coefs in ref["coef"].items():
        for var, b in coefs.items():
            name = f"{outcome}:{var}"
            assert fit.params[name] == pytest.approx(b, rel=ref["rtol_coef"], abs=1e-9)
            assert fit.std_errors[name] == pytest.approx(ref["se"][outcome][var], rel=ref["rtol_se"])
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-9)
    assert fit.stats["Log-likelihood (constant only)"] == pytest.approx(ref["loglik_null"], rel=1e-9)
    assert fit.r2_pseudo == pytest.approx(ref["pseudo_r2"], rel=1e-8)


def test_firm_level_outcome_uses_one_row_per_firm():
    firms = _sim(n=900, seed=3).reset_index(drop=True)
    firms["firm"] = np.arange(len(firms))
    panel = firms.loc[firms.index.repeat(4)].copy()
    panel["year"] = np.tile(np.arange(2001, 2005), len(firms))
    panel = panel.set_index(["firm", "year"])
    one = mnlogit(firms.assign(year=2001).set_index(["firm", "year"]), "occ ~ x + d")
    fit = mnlogit(panel, "occ ~ x + d")
    assert fit.nobs == 900 and any("one row per firm (900 firms) instead of 3,600" in n for n in fit.notes)
    np.testing.assert_allclose(fit.coef, one.coef, rtol=1e-10)
    np.testing.assert_allclose(fit.vcov, one.vcov, rtol=1e-8)
    assert mnlogit(panel, "occ ~ x + d", level="row").nobs == 3600
    panel["z"] = np.random.default_rng(0).normal(size=len(panel))
    with pytest.raises(SpecificationError, match=r"level='firm' but \['z'\] vary within firms"):
        mnlogit(panel, "occ ~ x + z", level="firm")
    assert any("constant within firms but z vary" in n for n in mnlogit(panel, "occ ~ x + z").notes)


def _weighted_occupations() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 600
    df = pd.DataFrame({"school": rng.integers(6, 17, n).astype(float)})
    u = rng.gumbel(size=(n, 3)) + np.column_stack([0 * df.school, 0.2 * df.school - 2, 0.4 * df.school - 4])
    df["occ"] = np.array(["merchant", "engineer", "worker"])[u.argmax(axis=1)]
    return df.assign(w=rng.choice([1.0, 2.0, 3.0], n))


def test_sampling_weights_equal_frequency_replication_for_the_point_estimates():
    # Identity: maximising Σ wᵢℓᵢ with integer weights is maximising ℓ on the data with each row repeated wᵢ times.
    df = _weighted_occupations()
    r = mnlogit(df, "occ ~ school", base="merchant", weights="w")
    rep = df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)
    ref = mnlogit(rep, "occ ~ school", base="merchant")
    np.testing.assert_allclose(r.params.to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    assert r.llf == pytest.approx(ref.llf, rel=1e-10)
    assert r.variance.kind == "robust" and any("sampling weights" in n for n in r.notes)
    assert r.nobs == len(df)


@pytest.mark.parametrize("vcov,cluster", [("robust", None), ("cluster", "school")])
def test_sampling_weights_with_two_outcomes_equal_the_pweighted_logit(vcov, cluster):
    # Identity: a two-outcome mlogit is a logit; logit [pw=w] is pinned to Stata in test_binary.py, so the
    # weighted scores, weighted Hessian and the robust/clustered sandwich must agree with it.
    d = _weighted_occupations().query("occ != 'worker'").assign(eng=lambda x: (x.occ == "engineer") * 1.0)
    a = mnlogit(d, "occ ~ school", base="merchant", weights="w", vcov=vcov, cluster=cluster)
    b = logit(d, "eng ~ school", weights="w", vcov=vcov, cluster=cluster)
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(a.std_errors.to_numpy(), b.std_errors.to_numpy(), rtol=1e-7)


def test_sampling_weights_refuse_the_information_matrix_and_count_zero_weights():
    df = _weighted_occupations()
    with pytest.raises(SpecificationError, match="robust or cluster"):
        mnlogit(df, "occ ~ school", base="merchant", weights="w", vcov="oim")
    z = df.assign(w=np.where(df.index < 50, 0.0, df["w"]))
    r = mnlogit(z, "occ ~ school", base="merchant", weights="w")
    assert r.nobs == 550 and any("zero sampling weight" in o.reason for o in r.omitted)
