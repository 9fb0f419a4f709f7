"""Average marginal effects: Wooldridge 17.1 APE scale factors, statsmodels get_margeff, discrete changes."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.binary import logit, probit
from clusterecon.estimators.margins import MarginsSpec, average_effects, detect_dummies, margins
from clusterecon.estimators.results import EstimationResult

REF = json.loads((Path(__file__).parent / "reference" / "binary.json").read_text())
FORMULA = REF["wooldridge_example_17_1"]["formula"]


@pytest.fixture(scope="module")
def mroz(mroz):
    """The session's MROZ with a college dummy (for discrete changes)."""
    return mroz.assign(college=(mroz["educ"] > 12).astype(float))


def test_wooldridge_ape_scale_factors(mroz):
    ref = REF["wooldridge_example_17_1_ape_scale"]
    tol = ref["tolerance_abs"]
    for fn, key in ((logit, "logit"), (probit, "probit")):
        fit = fn(mroz, FORMULA)
        me = margins(fit, dummies=False)
        scale = me.params["educ"] / fit.params["educ"]
        assert abs(scale - ref[f"{key}_scale"]) <= tol
        assert abs(me.params["educ"] - ref[f"educ_ape_{key}"]) <= tol
        # with no dummies, every APE is the same scale times its coefficient (index model identity)
        np.testing.assert_allclose(me.params / fit.params[me.params.index], scale, rtol=1e-10)


@pytest.mark.parametrize("model", ["logit", "probit"])
@pytest.mark.parametrize("at", ["overall", "mean"])
def test_matches_statsmodels_get_margeff(mroz, model, at):
    import statsmodels.formula.api as smf

    f = FORMULA + " + college"
    # dummies=True: every 0/1 column gets a discrete change, as statsmodels' dummy=True
    ours = margins({"logit": logit, "probit": probit}[model](mroz, f), at=at, dummies=True)
    sm = getattr(smf, model)(f, mroz.reset_index()).fit(disp=0, method="newton")
    mf = sm.get_margeff(at=at, method="dydx", dummy=True).summary_frame()
    rtol = REF["statsmodels_margeff"]["rtol"]
    np.testing.assert_allclose(ours.params[mf.index], mf["dy/dx"], rtol=rtol)
    np.testing.assert_allclose(ours.std_errors[mf.index], mf["Std. Err."], rtol=rtol)
    assert ours.extra["discrete"] == ("college",)
    assert "Discrete change 0 → 1 for: college" in ours.summary()


def test_margins_keep_cluster_variance(mroz):
    d = mroz.copy()
    d["grp"] = np.arange(len(d)) % 40
    fit = probit(d, FORMULA, vcov="cluster", cluster="grp")
    me = margins(fit)
    assert me.variance.kind == "delta" and me.variance.clusters == ("grp",) and me.variance.n_clusters == (40,)
    assert isinstance(me, EstimationResult) and me.nobs == fit.nobs
    assert list(me.tidy().columns)[:2] == ["estimate", "std_error"]


def test_factor_levels_are_contrasts_against_base():
    rng = np.random.default_rng(0)
    n = 3000
    region = rng.choice(["a", "b", "c"], size=n)
    x = rng.normal(size=n)
    eta = -0.2 + 0.8 * x + np.select([region == "b", region == "c"], [0.5, -0.7], 0.0)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    df = pd.DataFrame({"y": y, "x": x, "region": region, "f": np.arange(n), "t": 0}).set_index(["f", "t"])
    fit = logit(df, "y ~ x + C(region)")
    me = margins(fit)
    b = fit.params
    p = lambda lev: 1 / (1 + np.exp(-(b["Intercept"] + b["x"] * x + lev)))  # noqa: E731
    want_c = np.mean(p(b["C(region)[T.c]"]) - p(0.0))
    assert me.params["C(region)[T.c]"] == pytest.approx(want_c, rel=1e-10)
    assert set(me.extra["discrete"]) == {"C(region)[T.b]", "C(region)[T.c]"}


def test_numeric_derivative_fallback_matches_analytic(mroz):
    fit = logit(mroz, FORMULA)
    spec = fit.extra["margins"]
    bare = MarginsSpec(predict=spec.predict, X=spec.X, names=spec.names)
    a = average_effects(spec, fit.coef, fit.vcov, dummies=False)
    n = average_effects(bare, fit.coef, fit.vcov, dummies=False)
    np.testing.assert_allclose(n[0], a[0], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(n[1])), np.sqrt(np.diag(a[1])), rtol=1e-4)


def test_dummy_detection_and_override(mroz):
    X = np.column_stack([np.ones(5), [0, 1, 0, 1, 1], [0, 1, 2, 0, 1], [0.0, 0, 0, 0, 0]])
    assert detect_dummies(X, ["Intercept", "d", "k", "z"]) == ["d"]
    fit = logit(mroz, FORMULA + " + college")
    assert margins(fit, dummies=["kidslt6"]).extra["discrete"] == ("kidslt6",)
    assert margins(fit, dydx=["educ"]).names == ("educ",)
    with pytest.raises(KeyError, match="not regressors"):
        margins(fit, dydx=["nope"])


def test_at_fixed_values_like_stata_at(mroz):
    """Stata ``margins, dydx(educ) at(kidslt6=1)``: set the column for everyone, average over the rest."""
    from scipy import stats

    fit = probit(mroz, FORMULA)
    me = margins(fit, dydx=["educ"], at={"kidslt6": 1})
    X = fit.extra["margins"].X.copy()
    X[:, list(fit.names).index("kidslt6")] = 1.0
    want = np.mean(stats.norm.pdf(X @ fit.coef)) * fit.params["educ"]
    assert me.params["educ"] == pytest.approx(want, rel=1e-10)
    assert "at kidslt6=1" in me.model
    with pytest.raises(KeyError, match="not a column"):
        margins(fit, at={"kids": 1})


@pytest.mark.parametrize("which", ["nodummy_overall", "nodummy_mean", "dummy_overall", "dummy_mean"])
def test_stata_margins_spector(spector, which):
    ref = REF["stata_spector_logit"]
    fit = logit(spector, ref["formula"])
    np.testing.assert_allclose(fit.params[ref["names"]], ref["coef"], rtol=ref["rtol"])
    np.testing.assert_allclose(fit.std_errors[ref["names"]], ref["se"], rtol=ref["rtol_se"])
    kind, at = which.split("_")
    # the Stata log declares i.PSI for the discrete-change margins
    me = margins(fit, dummies=["PSI"] if kind == "dummy" else None, at="overall" if at == "overall" else "mean")
    want = ref["margins"][which]
    np.testing.assert_allclose(me.params[["GPA", "TUCE", "PSI"]], want["dydx"], rtol=ref["rtol"])
    np.testing.assert_allclose(me.std_errors[["GPA", "TUCE", "PSI"]], want["se"], rtol=ref["rtol_se"])


def test_models_without_partial_effects_are_refused():
    from clusterecon.estimators.clogit import conditional_logit

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.integers(0, 2, 200).astype(float), "x": rng.normal(size=200),
                       "f": np.repeat(np.arange(50), 4), "t": np.tile(np.arange(4), 50)}).set_index(["f", "t"])
    with pytest.raises(TypeError, match="does not support margins"):
        margins(conditional_logit(df, "y ~ x"))
