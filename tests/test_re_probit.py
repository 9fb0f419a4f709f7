"""RE probit against an independent exact-integration MLE; CRE probit recovers β when u_i depends on x̄_i."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from clusterecon.estimators.binary import probit
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.margins import margins
from clusterecon.estimators.re_probit import cre_probit, re_probit

REFDIR = Path(__file__).parent / "reference"
REFS = json.loads((REFDIR / "re_probit.json").read_text())
REF = REFS["simulated"]
TOL = REF["tolerance"]


@pytest.fixture(scope="module")
def sim():
    sys.path.insert(0, str(REFDIR))
    try:
        from re_probit_exact import exact_loglik, simulate
    finally:
        sys.path.pop(0)
    firm, year, x1, d, y = simulate()
    df = pd.DataFrame({"firm": firm, "year": year, "x1": x1, "d": d, "y": y}).set_index(["firm", "year"])
    X = np.column_stack([np.ones_like(x1), x1, d])
    return df, lambda theta: exact_loglik(theta, firm, X, y)


@pytest.mark.parametrize("points", [12, 32])
def test_matches_exact_integration_mle(sim, points):
    df, _ = sim
    fit = re_probit(df, REF["formula"], points=points)
    assert list(fit.names) == REF["names"]
    np.testing.assert_allclose(fit.coef, REF["coef"], atol=TOL[f"coef_points_{points}"], rtol=0)
    np.testing.assert_allclose(fit.std_errors.to_numpy(), REF["se"], rtol=TOL[f"se_rel_points_{points}"])
    assert fit.loglik == pytest.approx(REF["loglik"], abs=TOL[f"loglik_points_{points}"])


def test_reported_rho_sigma_and_lr_test(sim):
    df, exact = sim
    fit = re_probit(df, REF["formula"])
    lns2 = fit.params["lnsig2u"]
    assert fit.stats["sigma_u"] == pytest.approx(np.exp(lns2 / 2), rel=1e-12)
    assert fit.stats["rho"] == pytest.approx(np.exp(lns2) / (1 + np.exp(lns2)), rel=1e-12)
    se = fit.std_errors["lnsig2u"]
    rho = fit.stats["rho"]
    assert fit.stats["se(rho)"] == pytest.approx(rho * (1 - rho) * se, rel=1e-12)
    pooled = probit(df, REF["formula"])
    lr = 2 * (fit.loglik - pooled.loglik)
    t = fit.tests["rho"]
    assert t.stat == pytest.approx(lr, rel=1e-9) and t.pvalue == pytest.approx(0.5 * stats.chi2.sf(lr, 1))
    assert t.dist == "chibar2"
    # the adaptive-quadrature log-likelihood equals the brute-force integral at the estimate
    assert exact(fit.coef) == pytest.approx(fit.loglik, abs=1e-5)
    s = fit.summary()
    assert "adaptive Gauss-Hermite quadrature (12 points)" in s and "rho" in s


def test_wagepan_against_exact_integration(wagepan):
    """Real panel with large sigma_u (rho ≈ 0.74, T = 8): 12 points within 1e-3 of the exact MLE, 40 points exact.
    The default quadrature check sees it: 12 points move a standard error by about 1.4% against 24, and a warning
    says so; at 40 points Stata's quadchk rule (about 2n/3 and 4n/3 points) is quiet."""
    ref = REFS["wagepan_union"]
    tol = ref["tolerance"]
    with pytest.warns(UserWarning, match="quadrature is not accurate"):
        a = re_probit(wagepan, ref["formula"])
    b = re_probit(wagepan, ref["formula"], points=40, quadrature_check="quadchk")
    assert a.stats["Quadrature check (max rel. change)"] > 1e-2
    assert b.stats["Quadrature check (max rel. change)"] < 1e-4 and "quadchk" in b.notes[-1]
    assert list(a.names) == ref["names"] and a.n_entities == 545
    np.testing.assert_allclose(a.coef, ref["coef"], rtol=tol["coef_rel_points_12"], atol=1e-4)
    assert a.loglik == pytest.approx(ref["loglik"], abs=tol["loglik_points_12"])
    np.testing.assert_allclose(b.coef, ref["coef"], atol=tol["coef_points_40"], rtol=0)
    assert b.loglik == pytest.approx(ref["loglik"], abs=tol["loglik_points_40"])
    np.testing.assert_allclose(b.std_errors.to_numpy(), ref["se"], rtol=1e-3)


def test_ape_uses_population_averaged_probability(sim):
    df, _ = sim
    fit = re_probit(df, REF["formula"])
    me = margins(fit, dummies=["d"])  # d declared a factor (Stata i.d): discrete change
    b = fit.coef[:3] / np.sqrt(1 + np.exp(fit.coef[3]))
    X = np.column_stack([np.ones(len(df)), df["x1"], df["d"]])
    want_x1 = np.mean(stats.norm.pdf(X @ b) * b[1])
    X1, X0 = X.copy(), X.copy()
    X1[:, 2], X0[:, 2] = 1, 0
    want_d = np.mean(stats.norm.cdf(X1 @ b) - stats.norm.cdf(X0 @ b))
    assert me.params["x1"] == pytest.approx(want_x1, rel=1e-10)
    assert me.params["d"] == pytest.approx(want_d, rel=1e-10)
    assert set(me.names) == {"x1", "d"}


def test_cluster_variance(sim):
    df, _ = sim
    df = df.copy()
    df["region"] = df.index.get_level_values(0) // 10
    oim = re_probit(df, REF["formula"])
    cl = re_probit(df, REF["formula"], vcov="cluster")
    assert cl.variance.kind == "cluster" and cl.variance.n_clusters == (120,)
    # robust = HC1 on the per-firm scores = the firm-clustered sandwich x G/(G-1) (Stata's xt "robust")
    np.testing.assert_allclose(re_probit(df, REF["formula"], vcov="robust").vcov, cl.vcov, rtol=1e-10)
    np.testing.assert_allclose(cl.coef, oim.coef)
    assert np.all(np.abs(np.log(cl.std_errors / oim.std_errors)) < 0.5)  # correct model: sandwich ≈ OIM
    reg = re_probit(df, REF["formula"], vcov="cluster", cluster="region")
    assert reg.variance.n_clusters == (12,) and reg.variance.clusters == ("region",)
    df["bad"] = np.arange(len(df)) % 7
    with pytest.raises(SpecificationError, match="must nest firms"):
        re_probit(df, REF["formula"], vcov="cluster", cluster="bad")


def _correlated_panel(n=1500, T=4, seed=5):
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n), T)
    year = np.tile(np.arange(2000, 2000 + T), n)
    a = rng.normal(size=n)
    x = rng.normal(size=n * T) + np.repeat(a, T)
    xbar = pd.Series(x).groupby(firm).transform("mean").to_numpy()
    u = 0.8 * xbar + np.repeat(rng.normal(scale=0.7, size=n), T)
    y = (0.2 + 0.5 * x + u + rng.normal(size=n * T) > 0).astype(float)
    return pd.DataFrame({"firm": firm, "year": year, "x": x, "y": y}).set_index(["firm", "year"])


def test_cre_recovers_beta_when_effects_correlate_with_x():
    df = _correlated_panel()
    cre = cre_probit(df, "y ~ x + C(year)")
    re = re_probit(df, "y ~ x + C(year)")
    assert "mean(x)" in cre.names and not any(n.startswith("mean(C(year)") for n in cre.names)
    assert abs(cre.params["x"] - 0.5) < 3 * cre.std_errors["x"]
    assert abs(cre.params["mean(x)"] - 0.8) < 3 * cre.std_errors["mean(x)"]
    assert abs(re.params["x"] - 0.5) > 5 * re.std_errors["x"]  # RE is inconsistent here
    assert cre.tests["mundlak"].pvalue < 1e-6
    me = margins(cre)
    assert "mean(x)" not in me.names and "x" in me.names
    assert cre.effects["Firm effects"].endswith("Mundlak means")


def test_bad_input():
    df = _correlated_panel(n=50)
    with pytest.raises(SpecificationError, match="at least 2 points"):
        re_probit(df, "y ~ x", points=1)
    df["y"] = df["y"] * 3
    with pytest.raises(SpecificationError, match="coded 0/1.*0, 3"):
        re_probit(df, "y ~ x")


def test_firm_scores_are_the_gradient_of_firm_loglik(sim):
    """The cluster sandwich uses analytic per-firm scores; check them against central differences."""
    from clusterecon.estimators.re_probit import _REProbitLik

    df, _ = sim
    y = df["y"].to_numpy()
    X = np.column_stack([np.ones(len(df)), df["x1"], df["d"]])
    g = df.index.get_level_values(0).to_numpy()
    lik = _REProbitLik(y, X, g, 12)
    theta = np.array(REF["coef"]) + 0.05
    nodes = lik.adaptation(theta)
    _, S = lik.contributions(theta, True, nodes)
    num = np.empty_like(S)
    for j in range(len(theta)):
        e = np.zeros_like(theta)
        e[j] = 1e-6
        num[:, j] = (lik.contributions(theta + e, nodes=nodes)[0] - lik.contributions(theta - e, nodes=nodes)[0]) / 2e-6
    np.testing.assert_allclose(S, num, atol=1e-6)


def test_returned_point_is_converged(sim):
    """The returned coefficients are a converged fit: further Newton steps move them by < 1e-7, and the score with
    the quadrature nodes re-centred at the returned point is ~0 (before, the fit stopped one step early: 3e-7 off,
    score 4e-4)."""
    import importlib

    rp = importlib.import_module("clusterecon.estimators.re_probit")
    df, _ = sim
    fit = re_probit(df, REF["formula"], quadrature_check=None)
    X = np.column_stack([np.ones(len(df)), df["x1"], df["d"]])
    g = pd.factorize(df.index.get_level_values(0))[0]
    lik = rp._REProbitLik(df["y"].to_numpy(float), X, g, 12)
    theta = fit.coef.copy()
    for _ in range(5):  # plain Newton steps with re-centred nodes, no convergence test
        lik.recentre(theta)
        H = rp.numeric_hessian(lik.grad, theta)
        theta = theta - np.linalg.solve(H, lik.grad(theta))
    np.testing.assert_allclose(fit.coef, theta, atol=1e-7, rtol=0)
    lik.recentre(fit.coef)
    assert np.abs(lik.grad(fit.coef)).max() < 1e-5

