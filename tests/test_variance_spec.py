"""The variance vocabulary (parsed once, refused when unusable), HC2/HC3, frequency/sampling weights, with_vcov,
Wald restrictions through formulaic, pickling and the typed R² keys."""

import dataclasses
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators import pooled_ols, random_effects, within
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.results import EstimationResult, VarianceInfo
from clusterecon.estimators.variance import ML_KINDS, VarianceSpec, parse_vcov


def test_parse_vocabulary():
    assert parse_vcov("robust") == VarianceSpec("hc1", (), "stata", None, "robust")
    assert parse_vcov("cluster", "region").clusters == ("region",)
    assert parse_vcov("cluster", ["firm_id", "year"]).two_way
    assert parse_vcov("classical", ml=True, supported=ML_KINDS).kind == "oim"
    assert parse_vcov("dk", bandwidth=2).kind == "driscoll-kraay"


@pytest.mark.parametrize("kwargs,match", [
    ({"vcov": "robust", "cluster": "firm_id"}, "does not cluster"),
    ({"vcov": "cluster", "cluster": ("a", "b", "c")}, "at most two-way"),
    ({"vcov": "cluster2", "cluster": "a"}, "needs two cluster variables"),
    ({"vcov": "classical", "bandwidth": 3}, "only"),
    ({"vcov": "hc4"}, "not a variance estimator"),
    ({"vcov": "robust", "dof": "sas"}, "not a small-sample rule"),
    ({"vcov": "opg"}, "not available"),
])
def test_parse_refuses(kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        parse_vcov(**kwargs)


def test_options_never_silently_ignored(grunfeld):
    f = "inv ~ value + capital"
    with pytest.raises(SpecificationError, match="does not cluster"):
        within(grunfeld, f, vcov="classical", cluster="firm")
    with pytest.raises(SpecificationError, match="does not cluster"):
        random_effects(grunfeld, f, cluster="firm")
    with pytest.raises(SpecificationError, match="not available"):
        within(grunfeld, f, vcov="hc3")  # leverage of absorbed effects: refused, as pyfixest does
    g = grunfeld.assign(region=grunfeld.index.get_level_values(0) % 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = pooled_ols(g, f, vcov="cluster", cluster=("firm", "year"))
    assert two.variance.kind == "cluster2" and two.variance.clusters == ("firm", "year")


@pytest.mark.parametrize("kind", ["HC0", "HC1", "HC2", "HC3"])
def test_hc_against_statsmodels(grunfeld, kind):
    import statsmodels.formula.api as smf

    m = smf.ols("inv ~ value + capital", grunfeld.reset_index()).fit(cov_type=kind)
    r = pooled_ols(grunfeld, "inv ~ value + capital", vcov=kind.lower())
    np.testing.assert_allclose(r.vcov, m.cov_params().to_numpy(), rtol=1e-10)


def test_frequency_weights_equal_expanded_rows(grunfeld):
    rng = np.random.default_rng(0)
    df = grunfeld.assign(n=rng.integers(1, 4, len(grunfeld)).astype(float))
    long = df.loc[df.index.repeat(df["n"].astype(int))].copy()
    long["k"] = long.groupby(level=[0, 1]).cumcount()
    long = long.reset_index().assign(year=lambda d: d.year * 10 + d.k).set_index(["firm", "year"])
    for vcov in ("classical", "robust", "cluster"):
        a = pooled_ols(df, "inv ~ value + capital", vcov=vcov, weights="n", weights_type="fweight")
        b = pooled_ols(long, "inv ~ value + capital", vcov=vcov)
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-9)
        assert a.nobs == b.nobs and a.df_inference == b.df_inference


def test_sampling_weights_force_a_robust_variance(grunfeld):
    df = grunfeld.assign(w=np.linspace(0.5, 2, len(grunfeld)))
    r = pooled_ols(df, "inv ~ value + capital", weights="w", weights_type="pweight")
    a = pooled_ols(df, "inv ~ value + capital", weights="w", vcov="robust")
    assert r.variance.kind == "robust"
    np.testing.assert_allclose(r.vcov, a.vcov, rtol=1e-12)
    with pytest.raises(SpecificationError, match="robust or cluster"):
        pooled_ols(df, "inv ~ value + capital", weights="w", weights_type="pweight", vcov="classical")
    with pytest.raises(SpecificationError, match="weights_type"):
        pooled_ols(df, "inv ~ value + capital", weights="w", weights_type="iweight")


def test_with_vcov_equals_refit_and_leaves_the_original(grunfeld):
    f = "inv ~ value + capital"
    g = grunfeld.assign(region=grunfeld.index.get_level_values(0) % 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est, kw in ((pooled_ols, {}), (within, {"effects": "twoway"}), (random_effects, {})):
            base = est(g, f, **kw)
            for vcov, cl in (("robust", None), ("cluster", None), ("cluster", "region"),
                             ("cluster", ("firm", "year")), ("driscoll-kraay", None)):
                re = base.with_vcov(vcov, cl, data=g)
                fresh = est(g, f, vcov=vcov, cluster=cl, **kw)
                np.testing.assert_allclose(re.vcov, fresh.vcov, rtol=1e-12)
                assert re.df_inference == fresh.df_inference and re.variance == fresh.variance
                if "wald" in fresh.tests:
                    assert re.tests["wald"].stat == pytest.approx(fresh.tests["wald"].stat, rel=1e-10)
            assert base.variance.kind == "classical"
    with pytest.raises(SpecificationError, match="not carried"):
        pooled_ols(g, f).with_vcov("cluster", "region")


def test_wald_restrictions_through_formulaic(grunfeld):
    df = grunfeld.assign(x3=grunfeld["capital"] + 1.0)
    r = pooled_ols(df, "inv ~ value + I(x3 - 1)")
    a = r.wald_test("`I(x3 - 1)` = 0")
    b = r.wald_test("I(x3 - 1) = 0")
    assert a.stat == pytest.approx(b.stat) and a.stat == pytest.approx(r.tstats["I(x3 - 1)"] ** 2)
    c = r.wald_test("value = 1e-3")
    assert c.stat == pytest.approx(((r.params["value"] - 1e-3) / r.std_errors["value"]) ** 2)
    assert r.wald_test("value = 0; I(x3 - 1) = 0").df == r.wald_test(["value = 0", "I(x3 - 1) = 0"]).df == (2, 197)
    assert r.wald_test({"value": 0.1}).stat == pytest.approx(r.wald_test("value = 0.1").stat)
    with pytest.raises(KeyError, match="parameters are"):
        r.wald_test("nonsense = 0")


def test_pickle_repr_and_immutability(grunfeld):
    r = within(grunfeld, "inv ~ value + capital", effects="twoway")
    back = pickle.loads(pickle.dumps(r))
    assert back.params.equals(r.params) and back.summary() == r.summary()
    assert back.with_vcov("robust").std_errors.equals(r.with_vcov("robust").std_errors)
    assert repr(r).startswith("<EstimationResult Fixed effects")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nobs = 3
    with pytest.raises(ValueError):
        r.coef[0] = 1.0
    with pytest.raises(TypeError):
        r.tests["x"] = None


def test_typed_rsquared_keys_and_aliases():
    base = dict(model="m", estimator="e", depvar="y", names=("x",), coef=[1.0], vcov=[[1.0]],
                variance=VarianceInfo("oim"), nobs=10)
    r = EstimationResult(**base, rsquared={"pseudo (McFadden)": 0.2}, loglik=-5.0)
    assert r.r2_pseudo == 0.2 and r.r2 is None and r.glance()["R2 pseudo"] == 0.2
    assert r.aic == pytest.approx(12.0) and r.bic == pytest.approx(10 + np.log(10))
    assert r.df_inference is None and r.df_resid is None
    with pytest.raises(ValueError, match="rsquared key"):
        EstimationResult(**base, rsquared={"mystery": 0.1})


def test_between_sigma_does_not_move_with_the_variance(grunfeld):
    from clusterecon.estimators import between

    g = grunfeld.assign(region=grunfeld.index.get_level_values(0) % 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = [between(g, "inv ~ value + capital", vcov=v, cluster=c).stats["sd(u_i + avg(e_i.))"]
             for v, c in (("classical", None), ("robust", None), ("cluster", "region"))]
    assert s[0] == pytest.approx(85.02, abs=0.005) and s[0] == s[1] == s[2]  # Stata xtreg, be: 85.02


def test_plain_frames_with_entity_and_time(grunfeld):
    flat = grunfeld.reset_index()
    a = within(flat, "inv ~ value + capital", entity="firm", time="year", vcov="cluster")
    b = within(grunfeld, "inv ~ value + capital", vcov="cluster")
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-12)
    c = pooled_ols(flat, "inv ~ value + capital", vcov="robust")  # a cross-section: no entity needed
    assert c.nobs == 200
    with pytest.raises(SpecificationError, match="entity="):
        within(flat, "inv ~ value + capital")


def test_predict_and_residuals(grunfeld):
    r = pooled_ols(grunfeld, "inv ~ value + np.log(capital)")
    np.testing.assert_allclose(r.predict(grunfeld), r.fitted, rtol=1e-12)
    np.testing.assert_allclose(r.fitted + r.resid, grunfeld["inv"], rtol=1e-12)
    fe = within(grunfeld, "inv ~ value + capital", effects="twoway")
    a = fe.estimated_effects["firm"].reindex(grunfeld.index.get_level_values(0)).to_numpy()
    t = fe.estimated_effects["year"].reindex(grunfeld.index.get_level_values(1)).to_numpy()
    np.testing.assert_allclose(fe.predict(grunfeld) + a + t, fe.fitted, rtol=1e-9)
    assert fe.estimated_effects["year"].iloc[0] == 0.0
    new = pd.DataFrame({"value": [1000.0], "capital": [np.nan]})
    assert np.isnan(r.predict(new).iloc[0])
