"""Covariance engine against independent implementations set to the same conventions, and known identities.

Oracles: pyfixest 0.60 (iid, hetero HC1, CRV1 with k_fixef = none/full/nonnested, two-way CRV1 G_df="min",
Driscoll–Kraay), statsmodels (cluster with its Stata-like correction).
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.covariance import cluster_codes, ml_sandwich, ols_covariance

pf = pytest.importorskip("pyfixest")


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(42)
    G, T = 60, 8
    df = pd.DataFrame({"firm": np.repeat(np.arange(G), T), "year": np.tile(np.arange(2000, 2000 + T), G)})
    df = df.sample(frac=0.85, random_state=1).sort_values(["firm", "year"]).reset_index(drop=True)
    n = len(df)
    df["x1"] = rng.normal(size=n) + 0.2 * df.firm / G
    df["x2"] = rng.normal(size=n)
    df["grp"] = df.firm % 13
    df["w"] = rng.uniform(0.5, 2, n)
    df["y"] = 1 + df.x1 - 0.5 * df.x2 + rng.normal(size=n) * (1 + df.x2**2) + np.sin(df.firm) + 0.3 * np.cos(df.year)
    return df


def _ols(df, cols=("x1", "x2"), const=True):
    X = df[list(cols)].to_numpy()
    if const:
        X = np.column_stack([np.ones(len(df)), X])
    y = df.y.to_numpy()
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y - X @ b


def _se(V):
    return np.sqrt(np.diag(V))


@pytest.mark.parametrize("kind,vc", [("classical", "iid"), ("robust", "hetero"), ("cluster", {"CRV1": "firm"}),
                                     ("cluster2", {"CRV1": "firm+year"})])
def test_pooled_matches_pyfixest(panel, kind, vc):
    X, e = _ols(panel)
    codes = cluster_codes(panel.set_index(["firm", "year"]), None if kind == "cluster" else ("firm", "year"))
    V, info, df = ols_covariance(X, e, kind, clusters=codes if kind.startswith("cluster") else None)
    m = pf.feols("y ~ x1 + x2", panel, vcov=vc)
    np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-10)
    expect_df = {"classical": len(panel) - 3, "robust": len(panel) - 3, "cluster": 59, "cluster2": 7}[kind]
    assert df == expect_df
    assert info.kind == kind


def _within(df):
    cols = ["x1", "x2", "y"]
    Z = df[cols].to_numpy() - df.groupby("firm")[cols].transform("mean").to_numpy()
    X, y = Z[:, :2], Z[:, 2]
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y - X @ b


@pytest.mark.parametrize("dof,k_fixef", [("stata", "nonnested"), ("areg", "full"), ("reghdfe", "nonnested")])
def test_fe_cluster_rules_match_pyfixest(panel, dof, k_fixef):
    X, e = _within(panel)
    G = panel.firm.nunique()
    V, info, df = ols_covariance(X, e, "cluster", clusters=panel.firm.to_numpy(), n_absorbed=G, dof=dof, n_nested=G)
    m = pf.feols("y ~ x1 + x2 | firm", panel, vcov={"CRV1": "firm"}, ssc=pf.ssc(k_fixef=k_fixef))
    np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-10)
    assert df == G - 1


def test_reghdfe_rule_firm_nested_in_coarser_cluster(panel):
    X, e = _within(panel)
    G = panel.firm.nunique()
    V, _, df = ols_covariance(X, e, "cluster", clusters=panel.grp.to_numpy(), n_absorbed=G, dof="reghdfe",
                              n_nested=G)
    m = pf.feols("y ~ x1 + x2 | firm", panel, vcov={"CRV1": "grp"}, ssc=pf.ssc(k_fixef="nonnested"))
    np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-10)
    assert df == 12


def test_fe_classical_counts_absorbed(panel):
    X, e = _within(panel)
    V, info, df = ols_covariance(X, e, "classical", n_absorbed=panel.firm.nunique())
    m = pf.feols("y ~ x1 + x2 | firm", panel, vcov="iid")
    np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-10)
    assert df == len(panel) - 2 - panel.firm.nunique()


def test_driscoll_kraay_matches_pyfixest(panel):
    X, e = _ols(panel)
    V, info, df = ols_covariance(X, e, "driscoll-kraay", time=panel.year.to_numpy(), bandwidth=2)
    m = pf.feols("y ~ x1 + x2", panel, vcov="DK", vcov_kwargs={"lag": 2, "time_id": "year", "panel_id": "firm"})
    np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-10)
    assert info.bandwidth == 2 and df == panel.year.nunique() - 1


def test_driscoll_kraay_default_bandwidth_and_lag0_identity(panel):
    X, e = _ols(panel)
    _, info, _ = ols_covariance(X, e, "driscoll-kraay", time=panel.year.to_numpy())
    assert info.bandwidth == int(np.floor(4 * (8 / 100) ** (2 / 9)))
    # with bandwidth 0, DK is clustering by year with T/(T-1)(N-1)/(N-K): the one-way cluster formula
    V0, _, _ = ols_covariance(X, e, "driscoll-kraay", time=panel.year.to_numpy(), bandwidth=0)
    Vc, _, _ = ols_covariance(X, e, "cluster", clusters=cluster_codes(panel.set_index(["firm", "year"]), "year"))
    np.testing.assert_allclose(V0, Vc, rtol=1e-12)


def test_weighted_matches_pyfixest(panel):
    X = np.column_stack([np.ones(len(panel)), panel[["x1", "x2"]].to_numpy()])
    w = panel.w.to_numpy()
    sw = np.sqrt(w)
    b = np.linalg.lstsq(X * sw[:, None], panel.y.to_numpy() * sw, rcond=None)[0]
    e = panel.y.to_numpy() - X @ b
    for kind, vc in [("classical", "iid"), ("robust", "hetero"), ("cluster", {"CRV1": "firm"})]:
        V, _, _ = ols_covariance(X, e, kind, weights=w, clusters=panel.firm.to_numpy())
        m = pf.feols("y ~ x1 + x2", panel, vcov=vc, weights="w")
        np.testing.assert_allclose(_se(V), m.se().to_numpy(), rtol=1e-9)


def test_statsmodels_cluster(panel):
    import statsmodels.api as sm

    X, e = _ols(panel)
    V, _, _ = ols_covariance(X, e, "cluster", clusters=panel.firm.to_numpy())
    r = sm.OLS(panel.y.to_numpy(), X).fit(cov_type="cluster", cov_kwds={"groups": panel.firm.to_numpy()})
    np.testing.assert_allclose(V, r.cov_params(), rtol=1e-10)


def test_plm_and_none_rules_have_no_factor(panel):
    X, e = _ols(panel)
    bread = np.linalg.inv(X.T @ X)
    S = (X * e[:, None]).T @ (X * e[:, None])
    for rule in ("plm", "none"):
        V, _, _ = ols_covariance(X, e, "robust", dof=rule)
        np.testing.assert_allclose(V, bread @ S @ bread, rtol=1e-12)
    V, _, df = ols_covariance(X, e, "classical", dof="none")
    np.testing.assert_allclose(V, bread * (e @ e) / len(e))
    assert df is None


def test_partialled_year_dummies_count_in_K(panel):
    X, e = _within(panel)
    G = panel.firm.nunique()
    V1, info, _ = ols_covariance(X, e, "cluster", clusters=panel.firm.to_numpy(), n_absorbed=G, n_partialled=7)
    V0, _, _ = ols_covariance(X, e, "cluster", clusters=panel.firm.to_numpy(), n_absorbed=G)
    n = len(e)
    np.testing.assert_allclose(V1 / V0, (n - 3) / (n - 10), rtol=1e-12)
    assert "K = 10" in info.dof_rule


def test_cluster_codes():
    idx = pd.MultiIndex.from_tuples([("b", 1), ("a", 1), ("b", 2)], names=["firm", "year"])
    df = pd.DataFrame({"region": ["x", "y", "x"]}, index=idx)
    np.testing.assert_array_equal(cluster_codes(df, None), [1, 0, 1])
    np.testing.assert_array_equal(cluster_codes(df, "region"), [0, 1, 0])
    np.testing.assert_array_equal(cluster_codes(idx, "year"), [0, 0, 1])
    assert cluster_codes(df, ("firm", "year")).shape == (3, 2)
    with pytest.raises(KeyError, match="neither a column"):
        cluster_codes(df, "nope")
    df.loc[("a", 1), "region"] = None
    with pytest.raises(ValueError, match="missing"):
        cluster_codes(df, "region")


def test_bad_kind_and_rule():
    X = np.ones((5, 1))
    with pytest.raises(ValueError, match="vcov must be"):
        ols_covariance(X, np.zeros(5), "hc4")
    with pytest.raises(ValueError, match="dof must be"):
        ols_covariance(X, np.zeros(5), "robust", dof="sas")
    with pytest.raises(ValueError, match="cluster codes"):
        ols_covariance(X, np.zeros(5), "cluster")


def test_ml_sandwich_logit_against_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n, G = 400, 40
    g = rng.integers(0, G, n)
    x = rng.normal(size=n) + rng.normal(size=G)[g]
    X = np.column_stack([np.ones(n), x])
    y = (0.3 + x + rng.logistic(size=n) > 0).astype(float)
    res = sm.Logit(y, X).fit(disp=0)
    p = res.predict(X)
    H = -(X * (p * (1 - p))[:, None]).T @ X
    Hi = np.linalg.inv(H)
    s = X * (y - p)[:, None]
    V, info = ml_sandwich(Hi, None, "classical")
    np.testing.assert_allclose(V, res.cov_params(), rtol=1e-6)
    assert info.kind == "oim"
    Vr, _ = ml_sandwich(Hi, s, "robust")
    meat = s.T @ s
    np.testing.assert_allclose(Vr, Hi @ meat @ Hi * n / (n - 1), rtol=1e-12)
    # each observation its own cluster: the cluster formula is the robust one (G/(G-1) = N/(N-1))
    Vc, info = ml_sandwich(Hi, s, "cluster", clusters=np.arange(n))
    np.testing.assert_allclose(Vc, Vr, rtol=1e-12)
    # statsmodels' cluster vcov for discrete models multiplies by G/(G-1)(N-1)/(N-K); undo the second factor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = sm.Logit(y, X).fit(disp=0, cov_type="cluster", cov_kwds={"groups": g})
    Vg, info = ml_sandwich(Hi, s, "cluster", clusters=g)
    np.testing.assert_allclose(Vg, rc.cov_params() * (n - 2) / (n - 1), rtol=1e-5)
    assert info.n_clusters == (G,)
