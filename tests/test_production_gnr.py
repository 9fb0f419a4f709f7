"""GNR (gross output from the flexible input's first-order condition), translog OP/LP/Wooldridge, and the
controlled law of motion — checked by identities, an oracle (linearmodels for Wooldridge's translog system) and
simulated DGPs with known elasticities (no published GNR numbers exist for a public data set we can read)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.productivity import acf, gnr, levinsohn_petrin, markups, olley_pakes, wooldridge
from clusterecon.productivity.control_function import panel_arrays

CHILE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "public" / "prodest_chile.csv"
SPEC = dict(output="log_y", free=["log_lab1", "log_lab2"], state="log_k")
TRUE = {"l": 0.25, "k": 0.2, "m": 0.5}


def gross_output_dgp(seed, n=400, T=6, rho=0.7, eps_sd=0.1):
    """GNR's setting: k and l chosen at t−1 (knowing ω_{t−1}), AR(1) ω, materials flexible — chosen after ω_t is
    known from the FOC with common prices, so m is a function of (k, l, ω) — and an output shock ε the firm does
    not know. Cobb–Douglas (0.25, 0.2, 0.5)."""
    rng = np.random.default_rng(seed)
    bl, bk, bm = TRUE["l"], TRUE["k"], TRUE["m"]
    om, k, l = rng.normal(0, 0.25, n), rng.normal(2, 0.5, n), rng.normal(1.5, 0.4, n)
    E = np.exp(0.5 * eps_sd**2)
    rows = []
    for t in range(10 + T):
        k, l = (0.8 * k + 0.4 + 0.4 * om + rng.normal(0, 0.15, n),
                0.6 * l + 0.5 + 0.5 * om + 0.2 * k + rng.normal(0, 0.15, n))
        om = rho * om + rng.normal(0, 0.15, n)
        m = (np.log(bm * E) + om + bk * k + bl * l) / (1 - bm)
        y = bl * l + bk * k + bm * m + om + rng.normal(0, eps_sd, n)
        if t >= 10:
            rows.append(pd.DataFrame({"firm": np.arange(n), "year": 2000 + t, "y": y, "l": l, "k": k, "m": m,
                                      "sales": np.exp(y), "material_cost": np.exp(m)}))
    return pd.concat(rows).set_index(["firm", "year"])


@pytest.fixture(scope="module")
def go():
    return gross_output_dgp(0)


def test_gnr_recovers_gross_output_elasticities_where_acf_moments_do_not(go):
    g = gnr(go, output="y", free="l", state="k", flexible="m", reps=0)
    assert abs(g.params["m"] - TRUE["m"]) < 0.01  # the share regression pins the flexible elasticity
    assert abs(g.params["l"] - TRUE["l"]) < 0.08 and abs(g.params["k"] - TRUE["k"]) < 0.06
    assert g.returns_to_scale == pytest.approx(g.params[["l", "k", "m"]].sum())
    # ACF's gross-output moments: m is a function of (k, l, ω), so φ = m + const and θ = (0, 0, 1) makes ω(θ)
    # constant and the criterion exactly zero — the moments cannot tell it from the truth (GNR 2020, Thm 2)
    a = acf(go, output="y", free="l", state="k", proxy="m", value_added=False, reps=0, n_starts=6)
    degenerate = [r for r in a.extra["roots"] if r.crit < 1e-20]
    assert degenerate and np.allclose(degenerate[0].x, [0, 0, 1], atol=0.05)
    assert abs(a.params["m"] - TRUE["m"]) > 0.3
    assert len(a.extra["roots"]) >= 2 and any("distinct roots" in w for w in a.warnings)


@pytest.mark.slow
def test_gnr_monte_carlo_within_two_mc_standard_errors():
    est = np.array([gnr(gross_output_dgp(s), output="y", free="l", state="k", flexible="m", reps=0, n_starts=0)
                    .params[["l", "k", "m"]].to_numpy() for s in range(1, 16)])
    mc_se = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(axis=0) - [TRUE["l"], TRUE["k"], TRUE["m"]]) < 2 * mc_se + 2e-3)


def test_gnr_translog_nests_cobb_douglas_and_its_elasticities_are_derivatives(go):
    g = gnr(go, output="y", free="l", state="k", flexible="m", function="translog", reps=0)
    ef = g.elasticity_frame
    assert ef.shape == (len(go), 3)
    # the flexible elasticity is the share regression's D/E, firm-year
    np.testing.assert_allclose(ef["m"], g.extra["flexible_elasticity"].reindex(ef.index), rtol=1e-10)
    # a Cobb–Douglas truth: the translog's mean elasticities are close to it
    assert abs(g.elasticities["m"] - TRUE["m"]) < 0.02
    assert abs(g.elasticities["l"] - TRUE["l"]) < 0.1 and abs(g.elasticities["k"] - TRUE["k"]) < 0.1
    # elasticities are the analytic derivative of f̂ = Σ coef·monomial: check against a numerical derivative
    b = g.params
    x = go.loc[ef.index, ["l", "k", "m"]].to_numpy()

    def f(z):
        out = np.zeros(len(z))
        for name, c in b.items():
            term = np.ones(len(z))
            for part in name.split("*"):
                var, _, p = part.partition("^")
                term = term * z[:, "lkm".index(var)] ** (int(p) if p else 1)
            out += c * term
        return out

    h = 1e-6
    for j, v in enumerate("lkm"):
        dz = np.zeros_like(x)
        dz[:, j] = h
        np.testing.assert_allclose(ef[v].to_numpy(), (f(x + dz) - f(x - dz)) / (2 * h), atol=1e-6)


def test_gnr_bootstrap_and_markup_identity(go):
    g = gnr(go, output="y", free="l", state="k", flexible="m", reps=8, seed=3, n_starts=0)
    assert (g.std_errors > 0).all() and g.std_errors["m"] < 0.01
    assert g.variance.kind == "bootstrap"
    # DLW inverts the same FOC GNR imposes: the corrected markup is 1/E[exp(eps)] in every firm-year
    with pytest.warns(UserWarning, match="same first-order condition"):
        mu = markups(g, go, revenue="sales")
    np.testing.assert_allclose(mu.to_numpy(), 1 / g.extra["E"], rtol=1e-9)
    assert mu.name == "markup_gnr"


def test_gnr_refuses_value_added_and_bad_options(go):
    from clusterecon.estimators.design import SpecificationError
    from clusterecon.productivity import production_function

    with pytest.raises(SpecificationError, match="gross output"):
        production_function(go.assign(capital=np.exp(go["k"]), employees=np.exp(go["l"])), method="gnr")
    with pytest.raises(SpecificationError, match="function must be"):
        gnr(go, output="y", free="l", state="k", flexible="m", function="ces")
    res = production_function(go.assign(capital=np.exp(go["k"]), employees=np.exp(go["l"])), method="gnr",
                              output="gross", reps=0)
    assert res.method == "GNR" and abs(res.params["ln_material_cost"] - TRUE["m"]) < 0.01


# ---------------------------------------------------------------------------- translog OP / LP / Wooldridge
@pytest.fixture(scope="module")
def chile():
    if not CHILE.exists():
        pytest.skip("prodest_chile.csv (public data set) not available")
    return pd.read_csv(CHILE).set_index(["id", "year"])


def test_wooldridge_translog_equals_stacked_iv_oracle(chile):
    from linearmodels.iv import IV2SLS

    from clusterecon.productivity.wooldridge_pf import system

    res = wooldridge(chile, proxy="log_materials", function="translog", **SPEC)
    a, _ = panel_arrays(chile, proxy="log_materials", **SPEC)
    s = system(a, translog=True)
    lm = IV2SLS(s["y"], None, s["X"], s["Z"]).fit(cov_type="clustered", clusters=s["firm"], debiased=False)
    # the translog system is less well conditioned (squares of log inputs): agreement to 1e-6
    np.testing.assert_allclose(res.coef, np.asarray(lm.params)[s["shared"]], rtol=1e-6)
    np.testing.assert_allclose(res.std_errors, np.asarray(lm.std_errors)[s["shared"]], rtol=1e-6)
    assert len(res.coef) == 9 and "log_lab1*log_k" in res.params.index
    ef = res.elasticity_frame
    b = res.params
    np.testing.assert_allclose(ef["log_k"], b["log_k"] + 2 * b["log_k^2"] * chile.loc[ef.index, "log_k"]
                               + b["log_lab1*log_k"] * chile.loc[ef.index, "log_lab1"]
                               + b["log_lab2*log_k"] * chile.loc[ef.index, "log_lab2"], rtol=1e-10)
    assert res.returns_to_scale == pytest.approx(ef.mean().sum())
    assert res.tests["CRS"].df == 1


@pytest.mark.parametrize("fn, proxy", [(olley_pakes, "log_investment"), (levinsohn_petrin, "log_materials")])
def test_translog_two_step_reports_firm_year_elasticities(chile, fn, proxy):
    cd = fn(chile, proxy=proxy, reps=0, n_starts=0, **SPEC)
    tl = fn(chile, proxy=proxy, reps=0, n_starts=0, function="translog", **SPEC)
    assert tl.elasticity_frame.shape == (2544, 3) and len(tl.coef) == 9
    assert tl.elasticities.index.tolist() == ["log_lab1", "log_lab2", "log_k"]
    assert tl.returns_to_scale == pytest.approx(tl.elasticities.sum())
    # the free-input terms come from the first stage: the Cobb–Douglas first stage nested in the translog's
    assert np.all(np.abs(tl.elasticities - cd.elasticities) < 0.15)
    tfp = chile["log_y"].reindex(tl.tfp.index) - tl.tfp
    assert np.isfinite(tfp).all()


def _lp_dgp(seed, n=300, T=6):
    """LP's setting, Cobb–Douglas (0.6, 0.3): AR(1) ω; labour responds to ω (OLS biased) and to a wage shock the
    materials demand does not see; materials increase in ω given k."""
    rng = np.random.default_rng(seed)
    om, k = rng.normal(0, 0.3, n), rng.normal(2, 0.5, n)
    rows = []
    for t in range(10 + T):
        k = 0.7 * k + 0.6 + 0.5 * om + rng.normal(0, 0.2, n)
        om = 0.7 * om + rng.normal(0, 0.2, n)
        l = 0.5 + 0.8 * om + 0.3 * k + rng.normal(0, 0.3, n)
        m = 0.2 + 1.2 * om + 0.4 * k
        y = 0.6 * l + 0.3 * k + om + rng.normal(0, 0.1, n)
        if t >= 10:
            rows.append(pd.DataFrame({"firm": np.arange(n), "year": 2000 + t, "y": y, "l": l, "k": k, "m": m}))
    return pd.concat(rows).set_index(["firm", "year"])


def test_translog_on_a_cobb_douglas_truth_recovers_mean_elasticities():
    d = _lp_dgp(5)
    for fit in (levinsohn_petrin(d, output="y", free="l", state="k", proxy="m", function="translog", reps=0),
                wooldridge(d, output="y", free="l", state="k", proxy="m", function="translog"),
                wooldridge(d, output="y", free="l", state="k", proxy="m")):
        assert abs(fit.elasticities["l"] - 0.6) < 0.05 and abs(fit.elasticities["k"] - 0.3) < 0.04, fit.model
        if fit.elasticity_frame is not None:
            assert fit.elasticity_frame["l"].std() < 0.05  # no spurious curvature


# ---------------------------------------------------------------------------- law-of-motion shifters
def test_motion_controls_enter_the_law_of_motion(chile):
    d = chile.assign(shift=(chile.index.get_level_values("year") >= 2001).astype(float))
    base = acf(d, proxy="log_materials", reps=0, n_starts=0, **SPEC)
    shifted = acf(d, proxy="log_materials", reps=0, n_starts=0, motion_controls="shift", **SPEC)
    assert not np.allclose(base.coef, shifted.coef)
    assert any("shift" in n for n in shifted.notes)
    lp = levinsohn_petrin(d, proxy="log_materials", reps=0, n_starts=0, motion_controls=["shift"], **SPEC)
    assert np.isfinite(lp.coef).all()


def test_a_law_of_motion_with_too_many_terms_is_refused_at_once(chile):
    # 30 dummies as shifters make a 5,984-term cubic; it ran over 10 minutes unfinished (49 crashed OpenBLAS)
    import time

    from clusterecon.estimators.design import SpecificationError

    rng = np.random.default_rng(0)
    names = [f"d{j}" for j in range(30)]
    d = chile.assign(**{c: (rng.integers(0, 30, len(chile)) == j).astype(float) for j, c in enumerate(names)})
    t0 = time.perf_counter()
    with pytest.raises(SpecificationError, match=r"5,984 terms.*fewer motion_controls"):
        acf(d, proxy="log_materials", reps=0, n_starts=0, motion_controls=names, **SPEC)
    assert time.perf_counter() - t0 < 30


def _contract(res, data, output):
    import pickle

    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.coef, res.coef)
    assert back.params.equals(res.params) and back.tfp.equals(res.tfp)
    assert res.std_errors.index.equals(res.params.index) and res.cov.shape == (len(res.coef),) * 2
    tidy = res.tidy()
    assert list(tidy.index) == list(res.names) and np.allclose(tidy["estimate"], res.coef)
    assert res.glance()["N"] == res.nobs and "Returns to scale" in res.glance()
    assert res.conf_int().shape == (len(res.coef), 2) and res.df_inference is None  # normal inference
    assert res.wald_test(f"{res.names[0]} = 0").df == 1
    assert res.summary().startswith(res.model) or res.model in res.summary()
    # resid = log TFP (prodest's predict, residuals), fitted = f(x); they add up to the output
    assert res.resid.equals(res.tfp.rename("resid"))
    y = data[output].reindex(res.resid.index)
    np.testing.assert_allclose(res.resid + res.fitted, y, rtol=1e-12)


def test_results_follow_the_estimation_contract(go, chile):
    _contract(gnr(go, output="y", free="l", state="k", flexible="m", function="translog", reps=4, seed=1,
                  n_starts=0), go, "y")
    for fit in (olley_pakes(chile, proxy="log_investment", reps=3, n_starts=0, **SPEC),
                levinsohn_petrin(chile, proxy="log_materials", reps=0, n_starts=0, function="translog", **SPEC),
                acf(chile, proxy="log_materials", reps=3, n_starts=0, **SPEC),
                wooldridge(chile, proxy="log_materials", **SPEC)):
        _contract(fit, chile, "log_y")
