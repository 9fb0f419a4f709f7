"""Within estimator: published numbers (Baltagi Tables 2.1/3.1, Wooldridge Ex. 14.1 and Table 14.2, Stata xtreg
output), oracles (pyfixest CRV1 = Stata xtreg rule; linearmodels), LSDV equivalence and invariances."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.within import within
from tests.printed import assert_printed

REF = json.loads((Path(__file__).parent / "reference" / "linear_panel.json").read_text())


def test_grunfeld_baltagi_table_2_1_within(grunfeld):
    ref = REF["grunfeld_baltagi_table_2_1"]
    assert_printed(within(grunfeld, ref["formula"]), ref["within"], 3)


def test_grunfeld_plm_full_precision(grunfeld):
    ref = REF["grunfeld_plm_within"]
    r = within(grunfeld, "inv ~ value + capital")
    for k in ("value", "capital"):
        assert r.params[k] == pytest.approx(ref["coef"][k], rel=1e-7)
        assert r.std_errors[k] == pytest.approx(ref["se"][k], rel=1e-7)
    assert r.rsquared["within"] == pytest.approx(ref["r2_within"], rel=1e-7)


def test_grunfeld_stata_xtreg_output(grunfeld):
    ref = REF["grunfeld_stata_xtreg_fe"]
    r = within(grunfeld, "inv ~ value + capital")
    for k, (b, se) in ref["coef"].items():
        assert float(f"{r.params[k]:.7g}") == b and float(f"{r.std_errors[k]:.6g}") == se
    for k in ("sigma_u", "sigma_e", "rho"):
        assert r.stats[k] == pytest.approx(ref[k], rel=1e-7)
    F = r.tests["F effects"]
    assert round(F.stat, 2) == ref["F_effects"][0] and F.df == (9.0, 188.0)
    for k, v in ref["r2"].items():
        assert round(r.rsquared[k], 4) == v
    rc = within(grunfeld, "inv ~ value + capital", vcov="cluster")
    for k, v in ref["cluster_se"].items():
        assert round(rc.std_errors[k], 7) == v
    assert rc.df_inference == ref["cluster_df"]
    assert rc.variance.n_clusters == (10,) and "xtreg" in rc.variance.dof_rule


def test_grunfeld_baltagi_table_3_1_twoway(grunfeld):
    ref = REF["grunfeld_baltagi_table_3_1"]
    r = within(grunfeld, "inv ~ value + capital", effects="twoway")
    assert_printed(r, ref["within"], 3)
    assert r.effects == {"Firm FE": "Yes", "Year FE": "Yes"}
    assert r.df_resid == 200 - 10 - 19 - 2


def test_jtrain_example_14_1(jtrain):
    ref = REF["jtrain_wooldridge_example_14_1"]
    r = within(jtrain, ref["formula"])
    assert_printed(r, ref["fe"], 3)
    assert r.nobs == ref["fe"]["nobs"] and r.n_entities == ref["fe"]["n_entities"]
    assert r.n_omitted == 471 - 162 and r.omitted[0].reason == "missing lscrap"


def test_wagepan_table_14_2_fe(wagepan):
    ref = REF["wagepan_wooldridge_table_14_2"]
    r = within(wagepan, ref["fe_formula"])
    assert_printed(r, ref["fe"])
    assert r.nobs == ref["nobs"] and r.n_entities == ref["n_entities"]


@pytest.mark.parametrize("case,formula,effects", [
    ("grunfeld_fe_cluster_firm", "inv ~ value + capital", "firm"),
    ("grunfeld_fe_yeardummies_cluster_firm", "inv ~ value + capital", "twoway"),
    ("grunfeld_fe_yeardummies_cluster_firm", "inv ~ value + capital + C(year)", "firm"),
])
def test_clustered_against_stored_oracle(grunfeld, case, formula, effects):
    ref = REF["oracles_pyfixest_crv1"][case]
    r = within(grunfeld, formula, effects=effects, vcov="cluster")
    for k in ("value", "capital"):
        assert r.std_errors[k] == pytest.approx(ref[k], rel=1e-9)


def test_clustered_wagepan_jtrain_oracles(wagepan, jtrain):
    ref = REF["oracles_pyfixest_crv1"]
    r = within(wagepan, REF["wagepan_wooldridge_table_14_2"]["fe_formula"], vcov="cluster")
    for k, v in ref["wagepan_fe_cluster_nr"].items():
        assert r.std_errors[k] == pytest.approx(v, rel=1e-9)
    with pytest.warns(UserWarning, match="dropped"):
        pass_ = within(jtrain, "lscrap ~ d88 + d89 + grant + grant_1 + union", vcov="cluster")
    for k, v in ref["jtrain_fe_cluster_fcode"].items():
        assert pass_.std_errors[k] == pytest.approx(v, rel=1e-9)


@pytest.fixture(scope="module")
def sim():
    rng = np.random.default_rng(7)
    G, T = 80, 6
    df = pd.DataFrame({"firm": np.repeat(np.arange(G), T), "year": np.tile(np.arange(2010, 2010 + T), G)})
    df = df.sample(frac=0.8, random_state=3).sort_values(["firm", "year"]).reset_index(drop=True)
    n = len(df)
    a = rng.normal(size=G)[df.firm]
    df["x1"] = rng.normal(size=n) + a
    df["x2"] = rng.normal(size=n) + 0.1 * df.year
    df["school"] = (np.arange(G) % 5)[df.firm].astype(float)
    df["cl"] = df.firm % 12
    df["w"] = rng.uniform(0.5, 2.0, n)
    df["y"] = 0.5 * df.x1 - 0.3 * df.x2 + a + 0.2 * np.sin(df.year) + rng.normal(size=n)
    return df


@pytest.mark.parametrize("effects,fe", [("firm", "firm"), ("twoway", "firm+year"), ("time", "year")])
@pytest.mark.parametrize("vc", ["iid", "hetero", {"CRV1": "firm"}, {"CRV1": "cl"}])
def test_matches_pyfixest(sim, effects, fe, vc):
    pf = pytest.importorskip("pyfixest")
    kind = {"iid": "classical", "hetero": "robust"}.get(vc, "cluster") if isinstance(vc, str) else "cluster"
    cl = vc["CRV1"] if isinstance(vc, dict) else None
    # the areg rule counts every absorbed effect: pyfixest k_fixef="full"; for time effects (not nested) the
    # Stata rule coincides with it
    r = within(sim.set_index(["firm", "year"]), "y ~ x1 + x2", effects=effects, vcov=kind, cluster=cl, dof="areg")
    m = pf.feols(f"y ~ x1 + x2 | {fe}", sim, vcov=vc, ssc=pf.ssc(k_fixef="full"))
    np.testing.assert_allclose(r.params.to_numpy(), m.coef().to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.se().to_numpy(), rtol=1e-8)


def test_weighted_matches_pyfixest(sim):
    pf = pytest.importorskip("pyfixest")
    for effects, fe in [("firm", "firm"), ("twoway", "firm+year")]:
        r = within(sim.set_index(["firm", "year"]), "y ~ x1 + x2", effects=effects, vcov="cluster", weights="w",
                   dof="areg")
        m = pf.feols(f"y ~ x1 + x2 | {fe}", sim, vcov={"CRV1": "firm"}, weights="w", ssc=pf.ssc(k_fixef="full"))
        np.testing.assert_allclose(r.params.to_numpy(), m.coef().to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(r.std_errors.to_numpy(), m.se().to_numpy(), rtol=1e-8)


def test_linearmodels_paneols(sim):
    lm = pytest.importorskip("linearmodels")
    d = sim.set_index(["firm", "year"])
    r = within(d, "y ~ x1 + x2", effects="twoway")
    m = lm.PanelOLS.from_formula("y ~ x1 + x2 + EntityEffects + TimeEffects", d).fit()
    np.testing.assert_allclose(r.params.to_numpy(), m.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.std_errors.to_numpy(), rtol=1e-9)


def test_equals_dummy_variable_regression(sim):
    import statsmodels.formula.api as smf

    d = sim.set_index(["firm", "year"])
    ols = smf.ols("y ~ x1 + x2 + C(firm) + C(year)", sim).fit()
    olsc = smf.ols("y ~ x1 + x2 + C(firm) + C(year)", sim).fit(cov_type="cluster", cov_kwds={"groups": sim.firm})
    r = within(d, "y ~ x1 + x2", effects="twoway", dof="areg")
    rc = within(d, "y ~ x1 + x2", effects="twoway", dof="areg", vcov="cluster")
    for k in ("x1", "x2"):
        assert r.params[k] == pytest.approx(ols.params[k], rel=1e-10)
        assert r.std_errors[k] == pytest.approx(ols.bse[k], rel=1e-9)
        assert rc.std_errors[k] == pytest.approx(olsc.bse[k], rel=1e-9)
    assert r.df_resid == ols.df_resid


def test_fewer_than_ten_clusters_warns(grunfeld):
    few = grunfeld[grunfeld.index.get_level_values("firm") <= 8]
    with pytest.warns(UserWarning, match="only 8 clusters.*unreliable"):
        within(few, "inv ~ value + capital", vcov="cluster")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        within(grunfeld, "inv ~ value + capital", vcov="cluster")  # G = 10: no warning


def test_collinear_with_effects_dropped_or_refused(sim):
    d = sim.set_index(["firm", "year"])
    with pytest.warns(UserWarning, match="school.*collinear with the firm effects"):
        r = within(d, "y ~ x1 + school + x2")
    assert r.names == ("x1", "x2")
    assert r.dropped_regressors[0][0] == "school" and "hausman_taylor" in r.dropped_regressors[0][1]
    assert "Dropped regressor school" in r.summary()
    with pytest.raises(SpecificationError, match="school.*correlated_re"):
        within(d, "y ~ x1 + school", collinear="raise")


def test_singletons_kept_or_dropped(sim):
    df = pd.concat([sim, pd.DataFrame({"firm": [999], "year": [2010], "x1": [1.0], "x2": [2.0], "y": [3.0],
                                       "school": [1.0], "cl": [0], "w": [1.0]})]).set_index(["firm", "year"])
    keep = within(df, "y ~ x1 + x2")
    drop = within(df, "y ~ x1 + x2", singletons="drop")
    base = within(sim.set_index(["firm", "year"]), "y ~ x1 + x2")
    np.testing.assert_allclose(keep.coef, base.coef, rtol=1e-12)
    np.testing.assert_allclose(keep.std_errors, base.std_errors, rtol=1e-12)  # N and G both grow by one
    assert keep.nobs == base.nobs + 1 and "singleton" in keep.notes[0]
    assert drop.nobs == base.nobs and drop.omitted[-1].n == 1 and "singleton" in drop.omitted[-1].reason
    assert within(df, "y ~ x1 + x2", dof="reghdfe").nobs == base.nobs


def test_reghdfe_rule_equals_stata_when_firms_nested(sim):
    d = sim.set_index(["firm", "year"])
    a = within(d, "y ~ x1 + x2", effects="twoway", vcov="cluster", cluster="cl")
    b = within(d, "y ~ x1 + x2", effects="twoway", vcov="cluster", cluster="cl", dof="reghdfe")
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-12)


def test_cluster2_and_driscoll_kraay_run(sim):
    pf = pytest.importorskip("pyfixest")
    d = sim.set_index(["firm", "year"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = within(d, "y ~ x1 + x2", vcov="cluster2", cluster=("firm", "year"), dof="areg")
    m = pf.feols("y ~ x1 + x2 | firm", sim, vcov={"CRV1": "firm+year"}, ssc=pf.ssc(k_fixef="full"))
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.se().to_numpy(), rtol=1e-8)
    r = within(d, "y ~ x1 + x2", vcov="driscoll-kraay")
    assert r.variance.kind == "driscoll-kraay" and r.df_inference == 5


def test_surveypanel_input_equals_dataframe(sim):
    from clusterecon.panel import SurveyPanel

    df = sim.rename(columns={"firm": "firm_id"})
    df["firm_id"] = "F" + df.firm_id.astype(str)
    p = SurveyPanel.from_frame(df, firm_columns=())
    a = within(p, "y ~ x1 + x2", vcov="cluster")
    b = within(df.set_index(["firm_id", "year"]), "y ~ x1 + x2", vcov="cluster")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-12)


def test_non_unique_index_refused(sim):
    d = pd.concat([sim, sim.iloc[:1]]).set_index(["firm", "year"])
    with pytest.raises(SpecificationError, match="not unique"):
        within(d, "y ~ x1 + x2")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), effects=st.sampled_from(["firm", "twoway"]))
def test_relabel_and_shuffle_change_nothing(sim, seed, effects):
    rng = np.random.default_rng(seed)
    base = within(sim.set_index(["firm", "year"]), "y ~ x1 + x2", effects=effects, vcov="cluster")
    perm = rng.permutation(sim.firm.max() + 1)
    other = sim.assign(firm=perm[sim.firm] * 7 + 3).sample(frac=1.0, random_state=seed)
    r = within(other.set_index(["firm", "year"]), "y ~ x1 + x2", effects=effects, vcov="cluster")
    np.testing.assert_allclose(r.coef, base.coef, rtol=1e-9)
    np.testing.assert_allclose(r.vcov, base.vcov, rtol=1e-8)
    for k in ("within", "between", "overall"):
        assert r.rsquared[k] == pytest.approx(base.rsquared[k], rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), G=st.integers(2, 12), T=st.integers(2, 6), frac=st.floats(0.5, 1.0),
       weighted=st.booleans())
def test_absorb_equals_projection_on_dummies(seed, G, T, frac, weighted):
    """The exact two-way block (firm demeaning + dense year block) equals the residual of a regression on all
    firm and year dummies, on arbitrary unbalanced panels, weighted or not."""
    from clusterecon.estimators.demean import absorb

    rng = np.random.default_rng(seed)
    f = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    keep = rng.random(G * T) < frac
    keep[::T] = True  # every firm observed at least once
    f, t = f[keep], t[keep]
    Z = rng.normal(size=(len(f), 3))
    w = rng.uniform(0.2, 3.0, len(f)) if weighted else None
    D = np.column_stack([(f[:, None] == np.arange(G)), (t[:, None] == np.arange(T))]).astype(float)
    sw = np.ones(len(f)) if w is None else np.sqrt(w)
    coef = np.linalg.lstsq(D * sw[:, None], Z * sw[:, None], rcond=None)[0]
    ab = absorb(Z, f, t, "twoway", w)
    np.testing.assert_allclose(ab.Z, Z - D @ coef, atol=1e-9)
    rank_D = np.linalg.matrix_rank(D)
    assert ab.n_absorbed + ab.n_partialled == rank_D


@pytest.mark.filterwarnings("error::RuntimeWarning")  # R² within is undefined, said by NaN, not a warning
def test_an_exactly_constant_outcome_gives_an_undefined_rho_not_a_zero_division():
    # found through the battery (a census with constant productivity ended `failed`): sigma_u = sigma_e = 0
    import numpy as np
    import pandas as pd

    from clusterecon.estimators.within import within

    df = pd.DataFrame({"firm": np.repeat(["a", "b", "c"], 4), "year": np.tile([1, 2, 3, 4], 3), "y": 1.0,
                       "x": np.arange(12.0)}).set_index(["firm", "year"])
    r = within(df, "y ~ x", effects="firm")
    assert np.isnan(r.stats["rho"]) and r.stats["sigma_e"] == 0
