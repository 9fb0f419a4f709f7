"""Hausman–Taylor / Amemiya–MaCurdy: Stata xthtaylor manual example (Cornwell–Rupert), identities, bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.hausman_taylor import hausman_taylor
from tests.test_random_effects import half_unit

REF = json.loads((Path(__file__).parent / "reference" / "hausman_taylor.json").read_text())
HT = REF["cornwell_rupert_ht"]


@pytest.fixture(scope="module")
def wages(plm_data):
    w = plm_data("Wages")
    df = pd.DataFrame({"id": np.repeat(np.arange(1, 596), 7), "t": np.tile(np.arange(1, 8), 595)})
    df["lwage"] = w["lwage"].to_numpy()
    for new, old in [("occ", "bluecol"), ("south", "south"), ("smsa", "smsa"), ("ms", "married"),
                     ("union", "union"), ("blk", "black")]:
        df[new] = (w[old].to_numpy() == "yes").astype(float)
    df["fem"] = (w["sex"].to_numpy() == "female").astype(float)
    for c in ("ind", "wks", "ed"):
        df[c] = w[c].to_numpy().astype(float)
    df["exper"] = w["exp"].to_numpy().astype(float)
    df["exper2"] = df["exper"] ** 2
    return df.set_index(["id", "t"])


def test_stata_xthtaylor_manual_example(wages):
    r = hausman_taylor(wages, HT["formula"], endog_varying=HT["endog_varying"], endog_invariant=HT["endog_invariant"])
    assert r.nobs == HT["nobs"] and r.n_entities == 595
    # one unit in Stata's last printed (7th significant) digit
    for k, v in HT["coef"].items():
        assert abs(r.params[k] - v) <= 2 * half_unit(v), k
    for k, v in HT["se"].items():
        assert abs(r.std_errors[k] - v) <= 2 * half_unit(v), k
    for k in ("sigma_u", "sigma_e", "rho"):  # Stata stores 8 digits; agreement to 1e-7 relative
        assert r.stats[k] == pytest.approx(HT[k], rel=1e-7), k
    assert (r.stats["k1"], r.stats["k2"], r.stats["g1"], r.stats["g2"]) == (4, 5, 3, 1)
    assert r.extra["roles"]["ed"] == "endogenous time-invariant"
    # plm pht (Baltagi's instruments) prints the same slopes (plm issue #36)
    p = HT["plm_issue_36"]
    for k, v in p["coef"].items():
        assert abs(r.params[k] - v) <= half_unit(v), k
    for k, v in p["se"].items():
        assert abs(r.std_errors[k] - v) <= half_unit(v), k


def test_declared_lists_are_checked(wages):
    kw = dict(endog_varying=HT["endog_varying"], endog_invariant=HT["endog_invariant"])
    full = hausman_taylor(wages, HT["formula"], exog_varying=["occ", "south", "smsa", "ind"],
                          exog_invariant=["fem", "blk"], **kw)
    base = hausman_taylor(wages, HT["formula"], **kw)
    np.testing.assert_allclose(full.coef, base.coef)
    with pytest.raises(SpecificationError, match="declared time-invariant but changes"):
        hausman_taylor(wages, HT["formula"], exog_invariant=["occ"], **kw)
    with pytest.raises(SpecificationError, match="declared time-varying but is constant"):
        hausman_taylor(wages, HT["formula"], endog_varying=["ed"])
    with pytest.raises(SpecificationError, match="not a term"):
        hausman_taylor(wages, HT["formula"], endog_varying=["nosuch"])
    with pytest.raises(SpecificationError, match="no regressor is declared endogenous"):
        hausman_taylor(wages, HT["formula"])


def test_order_condition(wages):
    with pytest.raises(SpecificationError, match="order condition fails.*k1 = 1.*g2 = 2"):
        hausman_taylor(wages, "lwage ~ occ + exper + fem + ed", endog_varying=["exper"],
                       endog_invariant=["fem", "ed"])


def test_amemiya_macurdy_identities(wages):
    kw = dict(endog_varying=HT["endog_varying"], endog_invariant=HT["endog_invariant"])
    ht = hausman_taylor(wages, HT["formula"], **kw)
    am = hausman_taylor(wages, HT["formula"], method="am", **kw)
    # same variance components (the estimators differ only in the final 2SLS), more instruments
    for k in ("sigma_u", "sigma_e", "theta"):
        assert am.stats[k] == pytest.approx(ht.stats[k], rel=1e-12)
    assert am.extra["instruments"] == ht.extra["instruments"] + 4 * 6
    assert not np.allclose(am.coef, ht.coef)
    # a larger instrument set (superset of HT's) cannot increase the classical 2SLS variance of ed much
    assert am.std_errors["ed"] <= ht.std_errors["ed"] * 1.01
    unbal = wages.drop(index=wages.index[:3])
    with pytest.raises(SpecificationError, match="balanced panel"):
        hausman_taylor(unbal, HT["formula"], method="am", **kw)


def _sim_ht(n=3000, T=5, seed=0, unbalanced=False):
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    firm = np.repeat(np.arange(n), T)
    x1 = rng.normal(size=n * T) + 0.8 * rng.normal(size=n)[firm]  # exogenous, persistent
    x2 = rng.normal(size=n * T) + 0.7 * u[firm]  # endogenous time-varying
    z1 = rng.normal(size=n)[firm]
    school = (0.6 * x1.reshape(n, T).mean(1) + 0.5 * u + rng.normal(size=n))[firm]  # endogenous, time-invariant
    y = 1 + 0.5 * x1 - 0.3 * x2 + 0.2 * z1 + 0.4 * school + u[firm] + rng.normal(size=n * T)
    df = pd.DataFrame({"firm_id": firm, "year": np.tile(np.arange(T), n), "y": y, "x1": x1, "x2": x2, "z1": z1,
                       "school": school})
    if unbalanced:
        df = df.sample(frac=0.8, random_state=seed)
    return df.set_index(["firm_id", "year"]).sort_index()


@pytest.mark.parametrize("method,unbalanced", [("ht", False), ("ht", True), ("am", False)])
def test_recovers_schooling_effect_where_re_is_biased(method, unbalanced):
    from clusterecon.estimators.random_effects import random_effects

    df = _sim_ht(unbalanced=unbalanced, seed=7)
    r = hausman_taylor(df, "y ~ x1 + x2 + z1 + school", endog_varying=["x2"], endog_invariant=["school"],
                       method=method, vcov="cluster")
    truth = {"x1": 0.5, "x2": -0.3, "z1": 0.2, "school": 0.4}
    for k, v in truth.items():
        assert abs(r.params[k] - v) < 4 * r.std_errors[k], (k, r.params[k])
    re_ = random_effects(df, "y ~ x1 + x2 + z1 + school")
    assert abs(re_.params["school"] - 0.4) > 6 * re_.std_errors["school"]  # RE is inconsistent here
    if unbalanced:
        assert r.stats["theta_min"] < r.stats["theta_max"]


def test_one_line_from_a_survey_panel():
    from clusterecon.estimators.cre import correlated_re
    from clusterecon.estimators.random_effects import random_effects
    from clusterecon.panel import SurveyDesign, SurveyPanel

    df = _sim_ht(n=400, T=4, seed=3, unbalanced=True).rename(columns={"school": "manager_schooling_years"})
    panel = SurveyPanel.from_frame(df.reset_index(), design=SurveyDesign(kind="rounds"))
    f = "y ~ x1 + x2 + z1 + manager_schooling_years"
    kw = dict(endog_varying=["x2"], endog_invariant=["manager_schooling_years"])
    for fit in (lambda d: hausman_taylor(d, f, **kw), lambda d: random_effects(d, f), lambda d: correlated_re(d, f)):
        a, b = fit(panel), fit(df)
        np.testing.assert_allclose(a.params[list(b.names)].to_numpy(), b.coef, rtol=1e-9)
        assert a.nobs == len(df) and "Variance:" in a.summary()
