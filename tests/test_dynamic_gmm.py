"""Difference and system GMM against published output on Arellano and Bond's (1991) UK company panel.

Every expected value is in tests/reference/dynamic_gmm.json with its source: Roodman's (2009) xtabond2 output
(AB Table 4 column a1, a predetermined-regressor difference GMM, Blundell-Bond's system GMM), Stata's xtabond
examples 1, 2 and 4 and the xtdpdsys example (7 digits), and R plm's pgmm output for AB Table 4 columns a2 and b
(Windmeijer 2005 Table 2). Then identities and a simulation the pins cannot cover: gaps, orthogonal deviations,
collapsed instruments, recovery of a known AR coefficient.
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators import arellano_bond, blundell_bond, gmm, iv
from clusterecon.estimators.design import SpecificationError

# user-made year dummies yr1976-yr1984 are dropped as xtabond2 drops them ("dropped due to collinearity")
pytestmark = pytest.mark.filterwarnings("ignore:dropped regressor")
REF = json.loads((Path(__file__).parent / "reference" / "dynamic_gmm.json").read_text())
A1 = "n ~ lag(n, 1:2) + w + lag(w, 1) + k + lag(k, 1:2) + ys + lag(ys, 1:2)"
A1_IV = ("w", "lag(w, 1)", "k", "lag(k, 1:2)", "ys", "lag(ys, 1:2)")
YR = [f"yr{y}" for y in range(1976, 1985)]
B = "n ~ lag(n, 1:2) + w + lag(w, 1) + k + ys + lag(ys, 1)"
B_IV = iv("w", "lag(w, 1)", "k", "ys", "lag(ys, 1)")


def stata_tol(x):
    """Half a unit in the last digit Stata prints (7 digits: 7 decimals below 1, one fewer per integer digit)."""
    digits = 0 if abs(x) < 1 else int(math.floor(math.log10(abs(x)))) + 1
    return 0.5 * 10.0 ** -(7 - digits) + 1e-12


def assert_stata(values, expected, what, units=0.5):
    """Each value within ``units`` of the last printed digit (0.5: it prints as Stata printed it)."""
    for name, got, exp in zip(expected.keys() if isinstance(expected, dict) else range(len(expected)),
                              values, expected.values() if isinstance(expected, dict) else expected):
        assert abs(got - exp) <= 2 * units * stata_tol(exp), f"{what} {name}: {got:.9f} vs printed {exp}"


def assert_decimals(values, expected, decimals, what):
    np.testing.assert_allclose(values, expected, rtol=0, atol=0.5 * 10.0 ** -decimals + 1e-12, err_msg=what)


@pytest.fixture(scope="module")
def a1_roodman(abdata):
    ref = REF["roodman_ab_a1_onestep_robust"]
    f = A1 + " + " + " + ".join(YR)
    return ref, arellano_bond(abdata, f, gmm=gmm("lag(n, 1)"), iv=iv(*A1_IV, *YR), steps=1, vcov="robust",
                              time_dummies=False)


def test_ab_table4_a1_one_step_robust_matches_xtabond2(a1_roodman):
    ref, r = a1_roodman
    assert_stata(r.params[list(ref["coef"])], ref["coef"], "coef")
    assert_stata(r.std_errors[list(ref["se"])], ref["se"], "se")
    assert (r.nobs, r.n_entities, r.n_instruments) == (ref["nobs"], ref["groups"], ref["instruments"])
    assert [n for n, _ in r.dropped_regressors] == ref["dropped"]
    for k, v in ref["ar"].items():
        assert round(r.tests[k].stat, 2) == v
    assert round(r.tests["AR(1)"].stat, 4) == ref["ar_stata_xtabond_example2"]["AR(1)"]
    assert round(r.tests["AR(2)"].stat, 5) == ref["ar_stata_xtabond_example2"]["AR(2)"]
    for key in ("sargan", "hansen"):
        assert round(r.tests[key.capitalize()].stat, 2) == ref[key][0] and r.tests[key.capitalize()].df == ref[key][1]
    assert round(r.tests["Wald"].stat, 2) == ref["wald"][0] and r.tests["Wald"].df == ref["wald"][1]
    (_, excl, diff), = r.diff_hansen
    assert (round(excl.stat, 2), excl.df) == tuple(ref["diff_hansen"]["excluding"])
    assert (round(diff.stat, 2), diff.df) == tuple(ref["diff_hansen"]["difference"])


@pytest.fixture(scope="module")
def xtabond_fits(abdata):
    ref = REF["stata_xtabond_examples"]
    f = A1 + " + yr1980 + yr1981 + yr1982 + yr1983 + yr1984 + yearv"
    ivs = iv(*A1_IV, "yr1980", "yr1981", "yr1982", "yr1983", "yr1984", "yearv")
    fits = {(s, v): arellano_bond(abdata, f, gmm=gmm("n", (2, None)), iv=ivs, steps=s, vcov=v, time_dummies=False)
            for s, v in ((1, "classical"), (1, "robust"), (2, "robust"))}
    return ref, fits


def test_stata_xtabond_examples_1_2_4(xtabond_fits):
    ref, fits = xtabond_fits
    one_c, one_r, two_r = fits[(1, "classical")], fits[(1, "robust")], fits[(2, "robust")]
    assert list(one_c.names) == ref["terms"]
    assert_stata(one_c.coef, ref["coef_one_step"], "example 1 coef")
    assert_stata(one_c.std_errors, ref["se_example1"], "example 1 se")
    assert_stata(one_r.std_errors, ref["se_example2"], "example 2 se")
    assert_stata(two_r.coef, ref["coef_two_step"], "example 4 coef")
    assert_stata(two_r.std_errors, ref["se_example4_windmeijer"], "example 4 Windmeijer se")
    assert round(one_c.tests["AR(1)"].stat, 4) == ref["ar_example1"]["AR(1)"]
    assert round(one_c.tests["AR(2)"].stat, 5) == ref["ar_example1"]["AR(2)"]
    for r in fits.values():
        assert (r.nobs, r.n_entities, r.n_instruments) == (ref["nobs"], ref["groups"], ref["instruments"])


def test_plm_ab_table4_a2_and_b_two_step(empluk):
    ref = REF["plm_ab_table4"]
    d = ref["decimals"]
    a2 = {v: arellano_bond(empluk, A1, gmm=gmm("n", (2, None)), iv=iv(*A1_IV), steps=2, vcov=v)
          for v in ("classical", "robust")}
    r = a2["classical"]
    assert_decimals(r.params[ref["a2"]["terms"]], ref["a2"]["coef"], d, "a2 coef")
    assert_decimals(r.std_errors[ref["a2"]["terms"]], ref["a2"]["se_classical"], d, "a2 se")
    assert_decimals(a2["robust"].std_errors[ref["a2"]["terms"]], ref["a2"]["se_windmeijer"], d, "a2 Windmeijer")
    assert round(r.tests["Hansen"].stat, 5) == ref["a2"]["hansen"][0]
    assert round(r.tests["AR(1)"].stat, 3) == ref["a2"]["ar_classical"]["AR(1)"]
    assert round(r.tests["AR(2)"].stat, 4) == ref["a2"]["ar_classical"]["AR(2)"]
    for k, v in ref["a2"]["ar_robust_plm"].items():
        assert a2["robust"].tests[k].stat == pytest.approx(v, abs=5e-7 if k == "AR(1)" else 5e-8)
    b = {v: arellano_bond(empluk, B, gmm=gmm("n", (2, None)), iv=B_IV, steps=2, vcov=v)
         for v in ("classical", "robust")}
    rb = b["classical"]
    assert_decimals(rb.params[ref["b"]["terms"]], ref["b"]["coef"], d, "b coef")
    assert_decimals(rb.std_errors[ref["b"]["terms"]], ref["b"]["se_classical"], d, "b se")
    assert_decimals(b["robust"].std_errors[ref["b"]["terms"]], ref["b"]["se_windmeijer"], d, "b Windmeijer")
    assert round(rb.tests["Hansen"].stat, 5) == ref["b"]["hansen"][0] and rb.tests["Hansen"].df == 25
    assert rb.tests["AR(1)"].stat == pytest.approx(ref["b"]["ar_classical"]["AR(1)"], abs=5e-7)
    assert rb.tests["AR(2)"].stat == pytest.approx(ref["b"]["ar_classical"]["AR(2)"], abs=5e-8)
    assert b["robust"].tests["AR(1)"].stat == pytest.approx(ref["b"]["ar_robust_plm"]["AR(1)"], abs=5e-6)
    assert b["robust"].tests["AR(2)"].stat == pytest.approx(ref["b"]["ar_robust_plm"]["AR(2)"], abs=5e-8)


def test_windmeijer_table2_one_step_column_b(empluk):
    ref = REF["plm_ab_table4"]["b"]
    r = arellano_bond(empluk, B, gmm=gmm("n", (2, None)), iv=B_IV, steps=1, vcov="robust")
    assert_decimals(r.params[ref["terms"]], ref["one_step_coef"], 6, "coef")
    assert_decimals(r.std_errors[ref["terms"]], ref["one_step_se_robust"], 6, "se")
    assert round(r.tests["AR(1)"].stat, 3) == ref["one_step_ar_robust"]["AR(1)"]
    assert round(r.tests["AR(2)"].stat, 3) == ref["one_step_ar_robust"]["AR(2)"]
    c = arellano_bond(empluk, B, gmm=gmm("n", (2, None)), iv=B_IV, steps=1, vcov="classical")
    assert round(c.tests["AR(1)"].stat, 3) == ref["one_step_ar_classical"]["AR(1)"]
    assert round(c.tests["AR(2)"].stat, 4) == ref["one_step_ar_classical"]["AR(2)"]


def test_roodman_predetermined_regressors_small(abdata):
    ref = REF["roodman_difference_predetermined_small"]
    r = arellano_bond(abdata, A1 + " + " + " + ".join(YR), gmm=gmm(["lag(n, 1)", "lag(w, 1)", "lag(k, 1)"]),
                      iv=iv("ys", "lag(ys, 1:2)", *YR), steps=1, vcov="robust", small=True, time_dummies=False)
    assert_stata(r.params[list(ref["coef"])], ref["coef"], "coef")
    assert_stata(r.std_errors[list(ref["se"])], ref["se"], "se")
    assert (r.nobs, r.n_instruments) == (ref["nobs"], ref["instruments"])
    w = r.tests["Wald"]
    assert (round(w.stat, 2), w.df) == (ref["F"][0], tuple(ref["F"][1:]))
    assert r.df_inference == 140 and r.uses_t and r.df_resid == 611 - 16
    for k, v in ref["ar"].items():
        assert round(r.tests[k].stat, 2) == v
    assert (round(r.tests["Sargan"].stat, 2), r.tests["Sargan"].df) == tuple(ref["sargan"])
    assert (round(r.tests["Hansen"].stat, 2), r.tests["Hansen"].df) == tuple(ref["hansen"])
    (_, excl, diff), = r.diff_hansen
    assert (round(excl.stat, 2), excl.df, round(diff.stat, 2), diff.df) == (*ref["diff_hansen"]["excluding"],
                                                                         *ref["diff_hansen"]["difference"])


def test_roodman_system_gmm_blundell_bond(abdata):
    ref = REF["roodman_system_onestep_small"]
    f = "n ~ lag(n, 1) + w + lag(w, 1) + k + lag(k, 1) + " + " + ".join(YR)
    r = blundell_bond(abdata, f, gmm=gmm(["lag(n, 1)", "lag(w, 1)", "lag(k, 1)"]), iv=iv(*YR, eq="level"),
                      steps=1, vcov="robust", small=True, time_dummies=False)
    assert_stata(r.params[list(ref["coef"])], ref["coef"], "coef")
    assert_stata(r.std_errors[list(ref["se"])], ref["se"], "se")
    assert [n for n, _ in r.dropped_regressors] == ref["dropped"]
    assert (r.nobs, r.n_entities, r.n_instruments) == (ref["nobs"], ref["groups"], ref["instruments"])
    w = r.tests["Wald"]
    assert (round(w.stat, 2), w.df) == (ref["F"][0], tuple(ref["F"][1:]))
    for k, v in ref["ar"].items():
        assert round(r.tests[k].stat, 2) == v
    assert (round(r.tests["Sargan"].stat, 2), r.tests["Sargan"].df) == tuple(ref["sargan"])
    assert (round(r.tests["Hansen"].stat, 2), r.tests["Hansen"].df) == tuple(ref["hansen"])
    got = {g: (round(e.stat, 2), e.df, round(d.stat, 2), d.df) for g, e, d in r.diff_hansen}
    for g, v in ref["diff_hansen"].items():
        assert got[g] == (*v["excluding"], *v["difference"]), g


def test_stata_xtdpdsys_example(abdata):
    ref = REF["stata_xtdpdsys_example"]
    yrs = ["yr1980", "yr1981", "yr1982", "yr1983", "yr1984"]
    f = "n ~ lag(n, 1) + w + lag(w, 1:2) + k + lag(k, 1:2) + " + " + ".join(yrs) + " + yearv"
    r = blundell_bond(abdata, f, gmm=gmm("n", (2, None)), iv=iv("w", "lag(w, 1:2)", "k", "lag(k, 1:2)", *yrs,
                      "yearv", eq="diff"), steps=1, vcov="robust", h=2, time_dummies=False, artests=4)
    assert list(r.names) == ref["terms"]
    # 27 of the 28 numbers print exactly as Stata's; w's coefficient is 0.52 units off in the 7th digit (the float32
    # data are rebuilt from plm's levels, not Stata's file), so this example is held to one unit of the last digit
    assert_stata(r.coef, ref["coef"], "coef", units=1)
    assert_stata(r.std_errors, ref["se"], "se", units=1)
    assert (r.nobs, r.n_entities, r.n_instruments) == (ref["nobs"], ref["groups"], ref["instruments"])
    assert round(r.t_mean, 3) == ref["obs_per_group_avg"]
    assert int(r.tests["Wald"].stat) == ref["wald_int"] and r.tests["Wald"].df == 13
    for k, v in ref["ar"].items():  # estat abond prints 5 decimals below 1, 4 from 1 to 10
        assert abs(r.tests[k].stat - v) <= stata_tol(v) * 100, k


# ------------------------------------------------------------------------------------------------ identities
def simulate(n_firms=400, T=7, rho=0.5, beta=1.0, seed=0, gaps=0.0, x_eta=0.5):
    """AR(1) with a firm effect and one strictly exogenous regressor correlated ``x_eta`` with the effect (then x
    in levels is no instrument for the level equation); ``gaps`` drops that share of interior firm-years."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n_firms)
    x = rng.normal(size=(n_firms, T + 20)) + x_eta * eta[:, None]
    y = np.zeros((n_firms, T + 20))
    y[:, 0] = eta / (1 - rho) + rng.normal(size=n_firms)
    for t in range(1, T + 20):
        y[:, t] = rho * y[:, t - 1] + beta * x[:, t] + eta + rng.normal(size=n_firms)
    y, x = y[:, 20:], x[:, 20:]
    df = pd.DataFrame({"firm": np.repeat(np.arange(n_firms), T), "year": np.tile(np.arange(2000, 2000 + T), n_firms),
                       "y": y.ravel(), "x": x.ravel()})
    if gaps:
        inner = (df["year"] > 2000) & (df["year"] < 2000 + T - 1)
        df = df[~(inner & (rng.random(len(df)) < gaps))]
    return df.set_index(["firm", "year"])


def test_gaps_make_lags_missing_exactly_identified_iv_by_hand():
    """Anderson-Hsiao: Δy on Δlag(y,1) and Δx instrumented by Δlag(y,2) and Δx is exactly identified, so GMM is IV
    on differenced data whatever the weights. The reference builds lags by reindexing each firm to every calendar
    year (a lag across a gap is missing), never by shifting rows."""
    d = simulate(n_firms=300, T=8, gaps=0.15, seed=3)
    r = arellano_bond(d, "y ~ lag(y, 1) + x", gmm=[], iv=iv("lag(y, 2)", "x"), time_dummies=False, steps=1)
    full = d.reindex(pd.MultiIndex.from_product([d.index.levels[0], range(2000, 2008)], names=d.index.names))
    g = full.groupby(level=0)
    ly, l2y = g["y"].shift(1), g["y"].shift(2)
    h = pd.DataFrame({"dy": g["y"].diff(), "dly": ly - ly.groupby(level=0).shift(1),
                      "dx": g["x"].diff(), "dl2y": l2y - l2y.groupby(level=0).shift(1)}).dropna()
    X, Z = h[["dly", "dx"]].to_numpy(), h[["dl2y", "dx"]].to_numpy()
    b = np.linalg.solve(Z.T @ X, Z.T @ h["dy"].to_numpy())
    np.testing.assert_allclose(r.coef, b, rtol=1e-10)
    assert r.nobs == len(h)
    om = {o.reason: o.n for o in r.omitted}
    assert om["a lag falls in a gap in the periods (missing, not the previous row)"] > 0
    assert r.nobs + r.n_omitted == len(d)
    # shifting rows instead of years would give more observations: the gaps are really excluded
    assert r.nobs < len(d.groupby(level=0)["y"].diff().dropna()) - d.index.get_level_values(0).nunique()


def test_first_differences_and_orthogonal_deviations_agree_on_balanced_panels():
    """Arellano and Bover (1995): with all lags as GMM instruments on a balanced panel, one-step GMM in first
    differences (H tridiagonal) and in forward orthogonal deviations (H = I) are the same estimator; so is
    two-step."""
    d = simulate(n_firms=200, T=6, seed=5)
    kw = dict(gmm=gmm("y", (2, None)), time_dummies=False)
    for steps in (1, 2):
        a = arellano_bond(d, "y ~ lag(y, 1)", transform="fd", steps=steps, **kw)
        b = arellano_bond(d, "y ~ lag(y, 1)", transform="fod", steps=steps, **kw)
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-9)
        assert a.n_instruments == b.n_instruments == 10
        assert b.tests["Hansen"].stat == pytest.approx(a.tests["Hansen"].stat, rel=1e-7)


def test_orthogonal_deviations_keep_rows_that_gaps_cost_first_differences():
    d = simulate(n_firms=300, T=8, gaps=0.2, seed=7)
    kw = dict(gmm=gmm("y", (2, None), collapse=True), iv=iv("x"), time_dummies=False)
    fd = arellano_bond(d, "y ~ lag(y, 1) + x", **kw)
    fod = arellano_bond(d, "y ~ lag(y, 1) + x", transform="fod", **kw)
    assert fod.nobs > fd.nobs  # Roodman (2009): orthogonal deviations preserve sample size in panels with gaps
    assert fod.nobs + fod.n_omitted == len(d) == fd.nobs + fd.n_omitted
    for r in (fd, fod):
        assert abs(r.params["lag(y, 1)"] - 0.5) < 3 * r.std_errors["lag(y, 1)"]
        assert abs(r.params["x"] - 1.0) < 3 * r.std_errors["x"]


def test_system_gmm_recovers_known_parameters_collapsed_two_step():
    d = simulate(n_firms=3000, T=6, rho=0.8, beta=1.0, seed=11, x_eta=0.0)
    r = blundell_bond(d, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    assert abs(r.params["lag(y, 1)"] - 0.8) < 3 * r.std_errors["lag(y, 1)"] + 0.01
    assert abs(r.params["x"] - 1.0) < 3 * r.std_errors["x"] + 0.01
    # collapsed lags 2-5 of y, Δy lagged once for levels, x, the constant, and the 6 period dummies less 2000 (zero in
    # every estimation row) and one more (their sum is the constant)
    assert r.n_instruments == 4 + 1 + 1 + 1 + 4
    assert r.tests["AR(2)"].pvalue > 0.001 and r.tests["AR(1)"].stat < -5
    assert r.variance.kind == "cluster" and "Windmeijer" in r.variance.dof_rule
    # contract: level-equation residuals indexed by (firm, year), fitted + resid = y
    assert r.resid.index.names == ["firm", "year"] and len(r.resid) == r.nobs
    np.testing.assert_allclose((r.fitted + r.resid).to_numpy(), d.loc[r.resid.index, "y"].to_numpy(), rtol=1e-12)
    assert not r.uses_t and r.df_resid == r.nobs - len(r.names)


def test_instruments_outnumbering_firms_warn_and_are_printed():
    d = simulate(n_firms=20, T=8, seed=2)
    with pytest.warns(UserWarning, match="outnumber"):
        r = blundell_bond(d, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None)), iv=iv("x"))
    assert r.n_instruments > r.n_entities
    assert f"{r.n_instruments} / {r.n_entities}" in r.summary()
    assert "outnumber" in r.summary()


@pytest.mark.parametrize("kwargs, match", [
    (dict(formula="y ~ lag(y, 1)", gmm=gmm("y")), "lags=\\(2, None\\)"),
    (dict(formula="y ~ log(x)", gmm=gmm("y", (2, None))), "compute transformed columns"),
    (dict(formula="y ~ lag(y, 1)", gmm=gmm("y", (2, None)), transform="diff"), "'fd'"),
    (dict(formula="y ~ lag(y, 1) + z", gmm=gmm("y", (2, None))), "not found"),
])
def test_bad_specifications_say_what_to_change(kwargs, match):
    d = simulate(n_firms=30, T=5)
    with pytest.raises(SpecificationError, match=match):
        arellano_bond(d, **kwargs)


def test_non_consecutive_benchmark_years_explain_rounds():
    d = simulate(n_firms=30, T=3).reset_index()
    d["year"] = d["year"].map({2000: 2005, 2001: 2008, 2002: 2012})
    with pytest.raises(SpecificationError, match="survey round"):
        arellano_bond(d.set_index(["firm", "year"]), "y ~ lag(y, 1)", gmm=gmm("y", (2, None)))


def test_result_goes_into_regression_table_with_specification_rows():
    from clusterecon.report import regression_table

    d = simulate(n_firms=300, T=6, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ab = arellano_bond(d, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
        bb = blundell_bond(d, "y ~ lag(y, 1) + x", gmm=gmm("y", (2, None), collapse=True), iv=iv("x"))
    t = regression_table({"Difference": ab, "System": bb}, drop=["C(year)*"])
    md = t.to_markdown()
    for row in ("AR(1)", "AR(2)", "Hansen", "Instruments / groups"):
        assert row in md, row
    assert f"{bb.n_instruments} / {bb.n_entities}" in md
    assert "firm" in md  # clustered by firm
