"""Production functions and index-number TFP.

Published reference: plm's documented within estimate of Munnell's Cobb-Douglas for US states (R package plm,
`?plm` example / broom docs; Baltagi, Econometric Analysis of Panel Data): log(gsp) on log(pcap), log(pc), log(emp)
and unemp with state effects, 48 states x 17 years.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.productivity import ccd_tfp, cost_share_tfp, production_function

DATA = Path(__file__).parent / "data"

# plm 2.x output, summary(plm(log(gsp) ~ log(pcap) + log(pc) + log(emp) + unemp, Produc, index=c("state","year")))
PLM_PRODUC_WITHIN = {
    "ln_pcap": (-0.02614965, 0.02900158),
    "ln_pc": (0.29200693, 0.02511967),
    "ln_emp": (0.76815947, 0.03009174),
    "unemp": (-0.00529774, 0.00098873),
}


@pytest.fixture(scope="module")
def produc():
    return pd.read_csv(DATA / "produc.csv").set_index(["state", "year"])


def test_produc_within_matches_plm(produc):
    res = production_function(produc, output="gsp", inputs=["pcap", "pc", "emp"], controls=["unemp"], method="fe",
                              vcov="classical")
    for name, (b, se) in PLM_PRODUC_WITHIN.items():
        assert res.params[name] == pytest.approx(b, abs=5e-9)
        assert res.std_errors[name] == pytest.approx(se, abs=5e-9)
    assert res.nobs == 816 and res.n_entities == 48
    # returns to scale = sum of the three input elasticities, with the Wald test of CRS
    assert res.returns_to_scale == pytest.approx(-0.02614965 + 0.29200693 + 0.76815947, abs=1e-7)
    assert res.tests["CRS"].pvalue < 0.05
    # TFP residual: y - x'b reproduces the firm effect + residual
    assert res.tfp.shape[0] == 816


def _cobb_douglas_panel(n_firms=200, years=range(2000, 2006), alpha=0.3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_firms):
        a_i = rng.normal(0, 0.3)
        for t in years:
            k = np.exp(rng.normal(4, 1))
            l = np.exp(rng.normal(2, 0.7))
            ln_a = a_i + 0.02 * (t - 2000) + rng.normal(0, 0.05)
            va = np.exp(ln_a) * k**alpha * l ** (1 - alpha)
            rows.append({"firm_id": str(i), "year": t, "capital": k, "employees": l, "sales": va * 1.5,
                         "material_cost": va * 0.5, "wage_bill": (1 - alpha) * va, "ln_a": ln_a})
    return pd.DataFrame(rows).set_index(["firm_id", "year"])


def test_fe_recovers_known_elasticities_and_tfp():
    df = _cobb_douglas_panel()
    res = production_function(df, method="twoway")
    assert res.params["ln_capital"] == pytest.approx(0.3, abs=0.02)
    assert res.params["ln_employees"] == pytest.approx(0.7, abs=0.02)
    assert np.corrcoef(res.tfp, df.loc[res.tfp.index, "ln_a"])[0, 1] > 0.99


def test_nonpositive_value_added_is_left_out_and_counted():
    df = _cobb_douglas_panel(n_firms=30)
    df.iloc[:3, df.columns.get_loc("material_cost")] = df.iloc[:3]["sales"] * 2  # VA < 0
    res = production_function(df, method="ols", vcov="robust")
    assert res.nobs == len(df) - 3
    assert any("value_added <= 0" in o.reason and o.n == 3 for o in res.omitted)


def test_index_numbers_recover_tfp_when_shares_are_the_elasticities():
    # rental rate chosen so that capital's cost share equals alpha: r*K = alpha*VA is not constant across firms,
    # so give costs explicitly: labour share (1-alpha), capital share alpha.
    df = _cobb_douglas_panel(n_firms=50)
    va = df["sales"] - df["material_cost"]
    costs = {"employees": df["wage_bill"], "capital": 0.3 * va}
    cs = cost_share_tfp(df, costs=costs)
    ccd = ccd_tfp(df, costs=costs)
    truth = df["ln_a"]
    assert np.allclose(cs.ln_tfp - cs.ln_tfp.mean(), truth - truth.mean(), atol=1e-10)
    assert np.allclose(ccd.ln_tfp, truth - truth.mean(), atol=1e-10)


def test_ccd_is_unit_invariant():
    df = _cobb_douglas_panel(n_firms=20, seed=3)
    df["wage_bill"] *= np.exp(np.random.default_rng(1).normal(0, 0.2, len(df)))  # shares vary by firm-year
    base = ccd_tfp(df).ln_tfp
    scaled = df.assign(sales=df["sales"] * 1000, material_cost=df["material_cost"] * 1000,
                       wage_bill=df["wage_bill"] * 1000, capital=df["capital"] * 1000)
    assert np.allclose(ccd_tfp(scaled).ln_tfp, base, atol=1e-10)


def test_production_function_options_a_method_does_not_take_are_refused_or_noted():
    """docs/production.md lists "ols", "fe" next to reps=49: production_function(method="ols", reps=49) raised a raw
    TypeError from pooled_ols. Bootstrap options given to a method without a bootstrap (ols, fe, twoway,
    wooldridge) are not used and the result says so; any other option a method does not take is one error naming
    the method and the options it takes, with the nearest one suggested, for every method."""
    from clusterecon.derive import derive_all
    from clusterecon.estimators.design import SpecificationError
    from clusterecon.productivity import production_function
    from clusterecon.productivity.cobb_douglas import METHODS, method_options
    from clusterecon.samples import sample_panel

    panel = derive_all(sample_panel("garments"))
    for m in ("ols", "fe"):
        res = production_function(panel, method=m, reps=49, seed=1)
        assert any(n.startswith(f"reps=49, seed=1 not used: method {m!r} has no bootstrap") for n in res.notes)
        assert "not used" in res.summary()
    for m in METHODS:
        takes = method_options(m)
        assert takes, m
        assert ("reps" in takes) == (m in ("acf", "lp", "op", "gnr")), m
        with pytest.raises(SpecificationError, match=rf"method='{m}'\) does not take 'bogus_option'; it takes "):
            production_function(panel, method=m, bogus_option=1)
    with pytest.raises(SpecificationError, match="does not take 'rot' \\(did you mean 'root'\\?\\)"):
        production_function(panel, method="acf", rot="plausible")
    with pytest.raises(SpecificationError, match="'capitl' \\(did you mean 'capital'"):
        production_function(panel, method="ols", inputs=["capitl", "employees"])
