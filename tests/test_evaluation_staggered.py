"""Callaway-Sant'Anna and Sun-Abraham (clusterecon.evaluation.staggered) against the published R outputs.

Callaway-Sant'Anna on mpdta: R ``did`` documentation (README and ``aggte`` examples, values in
tests/reference/evaluation.json). Point estimates to the printed 4 decimals; the printed standard errors come from
the multiplier bootstrap (random), so ours (analytic) must be within 15% of them, and equal to csdid's analytic
standard errors (``bstrap=False``) to 1e-8. Sun-Abraham on fixest's base_stagg: fixest ``sunab`` documentation,
to the printed digits (estimates and clustered standard errors).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.evaluation.staggered import callaway_santanna, sun_abraham
from clusterecon.simulate.experiment import simulate_experiment

REF = json.loads((Path(__file__).parent / "reference" / "evaluation.json").read_text())
PUBLIC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "public"


def _close(x: float, printed: float, digits: int = 4) -> bool:
    return abs(x - printed) <= 0.5 * 10**-digits + 1e-12


@pytest.fixture(scope="module")
def mpdta():
    """mpdta as shipped in the PyPI package moderndid (a gzipped pandas pickle of R did's data), read from the
    package folder without importing moderndid (whose import pulls in polars and takes seconds)."""
    import gzip
    import importlib.util
    import pickle

    spec = importlib.util.find_spec("moderndid")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("moderndid (test extra) not installed")
    path = Path(spec.submodule_search_locations[0]) / "core" / "datasets" / "mpdta_long.pkl.gz"
    with gzip.open(path, "rb") as fh:
        df = pickle.load(fh)  # the package's own data file (trusted, test-only)
    df["first.treat"] = df["first.treat"].astype(np.int64)
    return df.set_index(["countyreal", "year"])


@pytest.fixture(scope="module")
def cs(mpdta):
    return callaway_santanna(mpdta, "lemp", "first.treat")


def test_att_gt_and_pretest_match_did_documentation(cs):
    ref = REF["callaway_santanna_mpdta"]
    tb = cs.table.set_index(["group", "time"])
    for g, t, att, se_boot in ref["att_gt"]:
        row = tb.loc[(g, t)]
        assert _close(row["att"], att), (g, t, row["att"], att)
        assert abs(row["std_error"] / se_boot - 1) < 0.15
    assert cs.pretest.pvalue == pytest.approx(ref["pretest_pvalue"], abs=5e-6)
    assert cs.n == 500


def test_aggregations_match_did_documentation(cs):
    ref = REF["callaway_santanna_mpdta"]
    simple = cs.aggregate("simple")
    assert _close(simple.params["ATT"], ref["simple"]["att"], ref["simple"]["digits"])
    # long differences remove the firm effect: the table row must not say "Firm FE: No"
    assert simple.effects["Firm FE"] == "Yes (differenced out)"
    dyn = cs.aggregate("dynamic")
    assert _close(dyn.params["ATT"], ref["dynamic"]["overall"][0])
    for e, est, se_boot in ref["dynamic"]["event"]:
        assert _close(dyn.params[f"e={e}"], est)
        assert abs(dyn.std_errors[f"e={e}"] / se_boot - 1) < 0.15
    grp = cs.aggregate("group")
    assert _close(grp.params["ATT"], ref["group"]["overall"][0], ref["group"]["digits_overall"])
    for g, est, se_boot in ref["group"]["groups"]:
        assert _close(grp.params[f"ATT(g={g})"], est)
        assert abs(grp.std_errors[f"ATT(g={g})"] / se_boot - 1) < 0.15
    cal = cs.aggregate("calendar")
    assert _close(cal.params["ATT"], ref["calendar"]["overall"][0])
    for t, est, _ in ref["calendar"]["times"]:
        assert _close(cal.params[f"t={t}"], est)
    for res, key in ((simple, "simple"), (dyn, "dynamic"), (grp, "group"), (cal, "calendar")):
        se_boot = ref[key]["se"] if key == "simple" else ref[key]["overall"][1]
        assert abs(res.std_errors["ATT"] / se_boot - 1) < 0.15, key


def test_analytic_standard_errors_equal_csdid(mpdta, cs):
    pytest.importorskip("csdid")
    import warnings

    from csdid.att_gt import ATTgt

    df = mpdta.reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ATTgt(yname="lemp", gname="first.treat", idname="countyreal", tname="year", xformla="lemp~1",
                    data=df).fit(est_method="reg", bstrap=False)
        dyn = out.aggte(typec="dynamic", bstrap=False).atte
        grp = out.aggte(typec="group", bstrap=False).atte
    ours = cs.aggregate("dynamic")
    assert ours.std_errors["ATT"] == pytest.approx(float(np.squeeze(dyn["overall_se"])), rel=1e-6)
    np.testing.assert_allclose(ours.std_errors.to_numpy()[1:], np.asarray(dyn["se_egt"], dtype=float), rtol=1e-6)
    og = cs.aggregate("group")
    assert og.std_errors["ATT"] == pytest.approx(float(np.squeeze(grp["overall_se"])), rel=1e-6)
    np.testing.assert_allclose(og.std_errors.to_numpy()[1:], np.asarray(grp["se_egt"], dtype=float), rtol=1e-6)


def test_not_yet_treated_controls_and_uniform_band(mpdta):
    nyt = callaway_santanna(mpdta, "lemp", "first.treat", control="notyet")
    never = callaway_santanna(mpdta, "lemp", "first.treat")
    a, b = nyt.table.set_index(["group", "time"]), never.table.set_index(["group", "time"])
    # the latest cohort's post period has only never-treated controls either way
    assert a.loc[(2007, 2007), "att"] == pytest.approx(b.loc[(2007, 2007), "att"])
    assert a.loc[(2004, 2004), "att"] != pytest.approx(b.loc[(2004, 2004), "att"])
    dyn = never.aggregate("dynamic")
    c = never.uniform_critical_value(dyn, B=999, seed=1)
    assert 1.96 < c < 3.5


def test_sun_abraham_matches_fixest_documentation():
    path = PUBLIC / "base_stagg.csv"
    if not path.exists():
        pytest.skip("public data folder not available")
    ref = REF["sun_abraham_base_stagg"]
    b = pd.read_csv(path).set_index(["id", "year"])
    sa = sun_abraham(b, "y", "year_treated", controls=("x1",))
    ev = sa.event
    for e, est, se in ref["event"]:
        digits = len(str(est).split(".")[1])
        assert _close(ev.params[f"e={e}"], est, digits), e
        assert _close(ev.std_errors[f"e={e}"], se, 4), e
    assert ev.params["x1"] == pytest.approx(ref["x1"][0], abs=5e-7)
    assert ev.std_errors["x1"] == pytest.approx(ref["x1"][1], abs=5e-7)
    att = sa.aggregate("att")
    assert att.params["ATT"] == pytest.approx(ref["att"][0], abs=5e-7)
    assert att.std_errors["ATT"] == pytest.approx(ref["att"][1], abs=5e-7)
    coh = sa.aggregate("cohort")
    for c, est, se in ref["cohort"]:
        assert coh.params[f"cohort={c}"] == pytest.approx(est, abs=5e-7)
        assert coh.std_errors[f"cohort={c}"] == pytest.approx(se, abs=5e-7)
    assert ev.nobs == ref["nobs"]


def test_recover_dynamic_effects_of_a_simulated_rollout():
    e = simulate_experiment(seed=11, assignment="staggered", rollout_years=(2011, 2012, 2013), follow_ups=4,
                            n_clusters=60, firms_per_cluster=10, takeup=1.0, effect=0.3, dynamic=0.5,
                            attrition=0.0, treated_share=0.75)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    cs = callaway_santanna(f, "log_sales", "first_treated_year", cluster="cluster")
    dyn = cs.aggregate("dynamic")
    for ev, truth in e.truth["event_effects"].items():
        if f"e={ev}" in dyn.names:
            lo, hi = dyn.conf_int().loc[f"e={ev}"]
            assert lo - 0.05 < truth < hi + 0.05, (ev, truth, lo, hi)
    pre = [n for n in dyn.names if n.startswith("e=-")]
    assert all(abs(dyn.params[n]) < 4 * dyn.std_errors[n] for n in pre)
    g = f.copy()
    g["first_treated_year"] = g["first_treated_year"].fillna(0)
    sa = sun_abraham(g, "log_sales", "first_treated_year", cluster="cluster")
    assert sa.event.params["e=0"] == pytest.approx(dyn.params["e=0"], abs=0.1)
