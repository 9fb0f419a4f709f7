"""Dynamic GMM results under the results contract: ``with_vcov`` re-expresses the variance and every test that
depends on it exactly as a refit does, ``cluster=`` (xtabond2 ``cluster()``) with clusters that nest firms,
prediction on new data with panel-aware lags, pickling, and an error for every option GMM cannot honour.

The published EmplUK pins are in test_dynamic_gmm.py; here the checks are identities: with_vcov against a refit,
clustering by a copy of the firm id against the default, Windmeijer's correction under clusters against a
numerical derivative of the two-step estimator, predictions against the fitted values."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from test_dynamic_gmm import simulate

from clusterecon.estimators import arellano_bond, blundell_bond, gmm, iv
from clusterecon.estimators.design import SpecificationError

F = "y ~ lag(y, 1) + x"
KW = dict(gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))


@pytest.fixture(scope="module")
def panel():
    d = simulate(n_firms=200, T=6, seed=4, gaps=0.1)
    firm = d.index.get_level_values(0)
    return d.assign(region=np.asarray(firm) % 15, firm_copy=np.asarray(firm) * 7 + 3)


def fit(est, d, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # period dummies dropped as collinear, few clusters
        return est(d, F, **KW, **kw)


def assert_same_inference(a, b):
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-9, atol=1e-15)
    assert a.variance == b.variance and a.df_inference == b.df_inference
    assert list(a.tests) == list(b.tests)
    for k, t in b.tests.items():
        got = a.tests[k]
        assert (got.name, got.df) == (t.name, t.df), k
        assert got.stat == pytest.approx(t.stat, rel=1e-9, abs=1e-12, nan_ok=True), k
    assert [g for g, _, _ in a.diff_hansen] == [g for g, _, _ in b.diff_hansen]
    np.testing.assert_allclose([(e.stat, d.stat) for _, e, d in a.diff_hansen],
                               [(e.stat, d.stat) for _, e, d in b.diff_hansen], rtol=1e-9)


@pytest.mark.parametrize("est", [arellano_bond, blundell_bond])
@pytest.mark.parametrize("steps, small", [(1, False), (2, False), (2, True)])
def test_with_vcov_equals_a_refit(panel, est, steps, small):
    classical = fit(est, panel, steps=steps, small=small, vcov="classical")
    robust = fit(est, panel, steps=steps, small=small)
    assert robust.variance.kind == "cluster" and robust.variance.clusters == ("firm",)
    assert_same_inference(classical.with_vcov("cluster"), robust)
    assert_same_inference(robust.with_vcov("classical"), classical)
    assert_same_inference(robust.with_vcov("cluster", "firm"), robust)
    assert classical.variance.kind == "classical"  # the original is unchanged
    np.testing.assert_array_equal(classical.with_vcov("cluster").coef, classical.coef)


@pytest.mark.parametrize("est", [arellano_bond, blundell_bond])
def test_one_step_reclustered_by_region_equals_a_refit(panel, est):
    base = fit(est, panel, steps=1, vcov="classical")
    refit = fit(est, panel, steps=1, cluster="region", small=False)
    assert refit.variance.clusters == ("region",) and refit.variance.n_clusters == (15,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_inference(base.with_vcov("cluster", "region", data=panel), refit)
    # the sandwich of the region sums of the firms' moments Zᵢ'ê₁ᵢ (firm ids 0…199, region = id mod 15), by pandas
    m = refit.fit.moments
    assert (np.unique(panel.index.get_level_values(0)) == np.arange(200)).all()
    Ug = pd.DataFrame(m.U1.toarray()).groupby(np.arange(200) % 15).sum().to_numpy()
    M = m.one_step.projector(m.ZX)
    np.testing.assert_allclose(refit.vcov, M @ Ug.T @ Ug @ M.T, rtol=1e-10)


@pytest.mark.parametrize("est", [arellano_bond, blundell_bond])
@pytest.mark.parametrize("steps", [1, 2])
def test_clusters_of_single_firms_reproduce_the_default(panel, est, steps):
    default = fit(est, panel, steps=steps)
    copy = fit(est, panel, steps=steps, cluster="firm_copy")
    np.testing.assert_allclose(copy.coef, default.coef, rtol=1e-12)
    np.testing.assert_allclose(copy.vcov, default.vcov, rtol=1e-9)
    for k in default.tests:
        assert copy.tests[k].stat == pytest.approx(default.tests[k].stat, rel=1e-9, nan_ok=True), k


def test_two_step_windmeijer_under_clusters_matches_numerical_derivative(panel):
    """Windmeijer (2005): V = V₂ + DV₂ + V₂D' + DV₁D' with D = ∂b₂(b)/∂b at b₁, b₂(b) the two-step estimate with Ŝ
    built from the residuals at b; here D by central differences of b₂ recomputed from the stacked rows."""
    from clusterecon.estimators.gmm_sample import build_sample

    r = fit(blundell_bond, panel, steps=2, cluster="region")
    m = r.fit.moments
    s = build_sample(panel, "y", [("y", 1), ("x", 0)], True, system=True, transform="fd", time_dummies="both",
                     gmm_specs=(KW["gmm"],), iv_specs=(KW["iv"],), h=3).pb
    region = pd.Series(panel["region"].to_numpy(), index=panel.index).groupby(level=0).first().to_numpy()
    C = np.zeros((15, s.rows.R))
    C[region[s.rows.firm], np.arange(s.rows.R)] = 1.0
    Z = s.inst.Z.toarray()
    ZX, Zy = Z.T @ s.X, Z.T @ s.y

    def b2(b):
        U = C @ (Z * (s.y - s.X @ b)[:, None])
        W = np.linalg.pinv(U.T @ U)
        return np.linalg.solve(ZX.T @ W @ ZX, ZX.T @ W @ Zy)

    b1 = m.one_step.b
    np.testing.assert_allclose(b2(b1), r.coef, rtol=1e-8)
    h = 1e-5
    D = np.column_stack([(b2(b1 + h * e) - b2(b1 - h * e)) / (2 * h) for e in np.eye(len(b1))])
    U1 = C @ (Z * (s.y - s.X @ b1)[:, None])
    M1 = m.one_step.projector(m.ZX)
    V1, V2 = M1 @ U1.T @ U1 @ M1.T, m.step.A_inv
    np.testing.assert_allclose(r.vcov, V2 + D @ V2 + V2 @ D.T + D @ V1 @ D.T, rtol=1e-5)


def test_two_step_weights_keep_their_clusters(panel):
    firm_weighted = fit(blundell_bond, panel)
    region_weighted = fit(blundell_bond, panel, cluster="region")
    assert not np.allclose(firm_weighted.coef, region_weighted.coef)  # Ŝ weights the moments
    with pytest.raises(SpecificationError, match="refit"):
        firm_weighted.with_vcov("cluster", "region", data=panel)
    with pytest.raises(SpecificationError, match="refit"):
        region_weighted.with_vcov("cluster")
    unc = region_weighted.with_vcov("classical")
    assert unc.variance.kind == "classical" and "weights clustered by region" in unc.variance.dof_rule
    np.testing.assert_allclose(unc.vcov, region_weighted.fit.moments.step.A_inv)


def test_predict_builds_lags_from_newdata(panel):
    bb = fit(blundell_bond, panel)
    p = bb.predict(panel)
    assert p.index.equals(panel.index) and p.name == "xb"
    np.testing.assert_allclose(p.loc[bb.fitted.index].to_numpy(), bb.fitted.to_numpy(), rtol=1e-12)
    # a firm's first year, and a year after a gap, have no lag: NaN, never the previous row's value
    have_lag = panel.index.to_frame().groupby(level=0)["year"].diff().eq(1).to_numpy()
    assert p.isna().to_numpy().tolist() == (~have_lag).tolist()
    ab = fit(arellano_bond, panel)
    d = ab.predict(panel, kind="xb_diff")
    np.testing.assert_allclose(d.loc[ab.fitted.index].to_numpy(), ab.fitted.to_numpy(), rtol=1e-10)
    assert len(bb.predict(panel.head(8))) == 8 and bb.predict().equals(bb.fitted)
    with pytest.raises(SpecificationError, match="not in the estimation sample"):
        bb.predict(panel.rename(index={2005: 2006}, level=1))
    with pytest.raises(SpecificationError, match="lacks column"):
        bb.predict(panel.drop(columns="x"))
    with pytest.raises(SpecificationError, match="kind"):
        bb.predict(panel, kind="pr")


def test_pickles_prints_and_tables(panel):
    from clusterecon.report import regression_table

    r = fit(arellano_bond, panel, steps=1)
    back = pickle.loads(pickle.dumps(r))
    assert back.summary() == r.summary() and repr(r) == repr(back) and repr(r).startswith("<DynamicGMMResult")
    assert_same_inference(back.with_vcov("classical"), r.with_vcov("classical"))
    t = regression_table({"One-step": r, "Classical": r.with_vcov("classical")})
    for out in (t.to_latex(), t.to_markdown(), t.to_html()):
        for row in ("AR(1) z", "AR(2) z", "Hansen J", "Instruments / groups"):
            assert row in out
    assert t.to_latex().isascii()  # table notes print the variance rule: plain text that pdflatex compiles
    short = fit(arellano_bond, simulate(n_firms=60, T=4, seed=1))
    assert np.isnan(short.tests["AR(2)"].stat)  # 4 periods: no residuals two periods apart
    assert "| AR(2) z | n/a |" in regression_table([short]).to_markdown()


@pytest.mark.parametrize("kwargs, match", [
    (dict(vcov="robust"), "vcov='cluster' here"),
    (dict(vcov="hc3"), "heteroskedasticity-robust"),
    (dict(vcov="classical", cluster="region"), "does not cluster"),
    (dict(vcov="cluster", cluster=("region", "year")), "two-way"),
    (dict(vcov="cluster", cluster="nowhere"), "not found"),
    (dict(vcov="cluster", cluster="year"), "changes within firm"),
    (dict(vcov="driscoll-kraay"), "not available"),
    (dict(artests=-1), "artests"),
])
def test_options_gmm_cannot_honour_are_errors(panel, kwargs, match):
    with pytest.raises(SpecificationError, match=match):
        fit(blundell_bond, panel, **kwargs)


def test_with_vcov_refuses_what_gmm_cannot_compute(panel):
    r = fit(arellano_bond, panel, steps=1)
    for kwargs, match in ((dict(vcov="robust"), "vcov='cluster' here"), (dict(vcov="opg"), "not available"),
                          (dict(vcov="cluster", dof="stata"), "dof"), (dict(vcov="cluster", bandwidth=2), "only"),
                          (dict(vcov="cluster", cluster="region"), "data="),
                          (dict(vcov="cluster", cluster=("region", "year")), "two-way")):
        with pytest.raises(SpecificationError, match=match):
            r.with_vcov(**kwargs)
    with pytest.raises(TypeError):
        arellano_bond(panel, F, **KW, no_such_option=1)


def test_summary_labels_system_gmm_as_levels_and_differences(panel):
    """User sweep: blundell_bond's summary said "two-step GMM, first differences" and "Firm FE: Yes (differenced
    out)", the labels of difference GMM; system GMM also estimates the levels equations, where the firm effect is not
    removed but assumed uncorrelated with the instruments. Difference GMM keeps its labels."""
    bb, ab = fit(blundell_bond, panel), fit(arellano_bond, panel)
    assert bb.estimator == "two-step system GMM, levels and first differences"
    assert bb.effects["Firm FE"] == "Yes (differenced out; levels equations use instruments uncorrelated with it)"
    assert "system GMM, levels and first differences" in bb.summary()
    assert ab.estimator == "two-step GMM, first differences" and ab.effects["Firm FE"] == "Yes (differenced out)"
    assert "two-step GMM, first differences" in ab.summary()
    fod = fit(blundell_bond, panel, transform="fod", steps=1)
    assert fod.estimator == "one-step system GMM, levels and forward orthogonal deviations"
    assert fod.effects["Firm FE"].startswith("Yes (orthogonal deviations; levels equations")


def test_moments_met_exactly_by_every_firm_leave_hansen_not_computable_instead_of_noise():
    """Docs walkthrough: on the garments sample with its founding years (one firm in each of 1970-73) the year-dummy
    moments are met exactly, Ŝ is singular, and an inverse of the singular X'ZWZ'X printed Hansen J = 59,172."""
    import warnings

    import numpy as np
    import pytest

    from clusterecon.derive import derive_all
    from clusterecon.estimators import arellano_bond, blundell_bond, gmm, iv
    from clusterecon.estimators.gmm_estimation import StepNotIdentified, solve_step
    from clusterecon.samples import sample_panel

    with pytest.raises(StepNotIdentified, match="rank 1 < 2"):
        solve_step(np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([1.0, 1.0]), np.eye(2))
    f = derive_all(sample_panel("garments")).frame
    kw = dict(gmm=gmm("ln_sales", (2, 4), collapse=True), iv=iv("ln_employees"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = arellano_bond(f, "ln_sales ~ lag(ln_sales, 1) + ln_employees", steps=1, vcov="cluster", **kw)
        s = blundell_bond(f, "ln_sales ~ lag(ln_sales, 1) + ln_employees", **kw)
        late = arellano_bond(f[f.index.get_level_values("year") >= 1975], "ln_sales ~ lag(ln_sales, 1) + "
                             "ln_employees", steps=1, vcov="cluster", **kw)
    for r in (d, s):
        h = r.tests["Hansen"]
        assert np.isnan(h.stat) and "not computable" in h.note and "rank" in h.note
    assert any("met exactly by every firm" in n and "C(year)[T.1971]" in n for n in s.notes)
    assert np.isfinite(late.tests["Hansen"].stat) and late.tests["Hansen"].df == 2  # the docs' example: sound
