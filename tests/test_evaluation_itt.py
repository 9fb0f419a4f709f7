"""ITT (ANCOVA, DiD, POST), TOT by 2SLS, first-stage F and Anderson-Rubin sets (clusterecon.evaluation.itt/iv).

Equivalence pins: the same numbers as statsmodels OLS, pyfixest feols and linearmodels IV2SLS on the same data
(Stata conventions: CRV1 with G/(G-1)(N-1)/(N-K) and t(G-1); HC1). Recovery: the simulated experiment's known
effects lie in the confidence intervals; coverage over replications is checked in the slow test and printed at
500 replications by benchmarks/calibrate_evaluation.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterecon.estimators import SpecificationError, pooled_ols
from clusterecon.evaluation import ExperimentDesign, analysis_frame, ancova, did, itt, iv2sls, tot
from clusterecon.evaluation.iv import _quadratic_set
from clusterecon.simulate.experiment import simulate_experiment


@pytest.fixture(scope="module")
def trial():
    e = simulate_experiment(seed=3, attrition=0.1)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    return e, f


@pytest.fixture(scope="module")
def cluster_trial():
    e = simulate_experiment(seed=4, assignment="cluster", n_clusters=16, takeup=0.6)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    return e, f


def _sm_frame(f, design, outcome="log_sales", extra=()):
    fr, _ = analysis_frame(f, outcome, design, extra=extra)
    return fr.reset_index().dropna(subset=[outcome])


def test_ancova_equals_statsmodels_cluster_and_robust(trial):
    smf = pytest.importorskip("statsmodels.formula.api")
    _, f = trial
    d = ExperimentDesign()
    res = ancova(f, "log_sales", d)
    fr = _sm_frame(f, d)
    m = smf.ols("log_sales ~ treat_offered + log_sales_baseline + C(strata_id) + C(round)", fr).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(fr.firm_id)[0]}, use_t=True)
    assert res.params["treat_offered"] == pytest.approx(m.params["treat_offered"], rel=1e-10)
    assert res.std_errors["treat_offered"] == pytest.approx(m.bse["treat_offered"], rel=1e-10)
    assert res.nobs == m.nobs and res.variance.kind == "cluster" and res.df_inference == res.variance.n_clusters[0] - 1
    # one follow-up round of a firm-level trial: HC1 (Stata regress, vce(robust))
    one = ancova(f, "log_sales", d, rounds=2012)
    fr1 = fr[fr["round"] == 2012]
    m1 = smf.ols("log_sales ~ treat_offered + log_sales_baseline + C(strata_id)", fr1).fit(cov_type="HC1")
    assert one.params["treat_offered"] == pytest.approx(m1.params["treat_offered"], rel=1e-10)
    assert one.std_errors["treat_offered"] == pytest.approx(m1.bse["treat_offered"], rel=1e-10)
    assert one.variance.kind == "robust"


def test_post_and_missing_baseline_policies(trial):
    _, f = trial
    f2 = f.copy()
    first = f2.index.get_level_values(0).unique()[:5]
    f2.loc[(first, 2010), "log_sales"] = np.nan
    res = ancova(f2, "log_sales", ExperimentDesign())
    assert "log_sales_baseline_missing" in res.names
    assert any("5 firm(s) without a baseline" in n for n in res.notes)
    dropped = ancova(f2, "log_sales", ExperimentDesign(), missing_baseline="drop")
    assert dropped.nobs < res.nobs and any("missing log_sales_baseline" in o.reason for o in dropped.omitted)
    post = itt(f, "log_sales", ExperimentDesign(), method="post")
    assert "log_sales_baseline" not in post.names and post.model == "ITT (POST)"


def test_did_equals_pyfixest(trial):
    pf = pytest.importorskip("pyfixest")
    _, f = trial
    res = did(f, "log_sales", ExperimentDesign())
    df = f.reset_index()
    df["tp"] = df["treat_offered"].astype(float) * (df["year"] > 2010)
    df = df.dropna(subset=["log_sales"])
    m = pf.feols("log_sales ~ tp + C(year) | firm_id", data=df, vcov={"CRV1": "firm_id"}, fixef_rm="none")
    assert res.params["treat_offered_post"] == pytest.approx(m.coef()["tp"], rel=1e-9)
    assert res.std_errors["treat_offered_post"] == pytest.approx(m.se()["tp"], rel=1e-8)


def test_tot_equals_linearmodels_iv2sls_all_variances(cluster_trial):
    lm = pytest.importorskip("linearmodels.iv")
    _, f = cluster_trial
    d = ExperimentDesign(assignment="cluster")
    fr = _sm_frame(f, d, extra=("treat_attended",))
    fr["treat_attended"] = fr["treat_attended"].astype(float)
    form = ("log_sales ~ 1 + log_sales_baseline + C(strata_id) + C(round) + [treat_attended ~ treat_offered]")
    ours = tot(f, "log_sales", d, B=499)
    ref = lm.IV2SLS.from_formula(form, fr).fit(cov_type="clustered", clusters=pd.factorize(fr["cluster"])[0],
                                               debiased=True)
    assert ours.params["treat_attended"] == pytest.approx(ref.params["treat_attended"], rel=1e-10)
    assert ours.std_errors["treat_attended"] == pytest.approx(ref.std_errors["treat_attended"], rel=1e-10)
    assert ours.df_inference == 15 and "wild_bootstrap_reduced_form" in ours.tests  # 16 clusters < 30
    idx = fr.set_index(["firm_id", "round"])
    for vcov, lm_cov in (("robust", "robust"), ("classical", "unadjusted")):
        r = iv2sls(idx, "log_sales ~ log_sales_baseline + C(strata_id) + C(round)", endog="treat_attended",
                   instruments="treat_offered", vcov=vcov)
        m = lm.IV2SLS.from_formula(form, fr).fit(cov_type=lm_cov, debiased=True)
        assert r.std_errors["treat_attended"] == pytest.approx(m.std_errors["treat_attended"], rel=1e-10)
        # robust/classical first-stage F = linearmodels' first-stage Wald statistic (one instrument)
        fs = m.first_stage.diagnostics["f.stat"].iloc[0]
        assert r.stats["First-stage F (treat_attended)"] == pytest.approx(fs, rel=1e-8)


def test_anderson_rubin_set_inverts_the_ar_test(cluster_trial):
    _, f = cluster_trial
    d = ExperimentDesign(assignment="cluster")
    res = tot(f, "log_sales", d, wild=False)
    ar = res.extra["ar_set"]
    assert ar.kind == "bounded"
    lo, hi = ar.intervals[0]
    fr, _ = analysis_frame(f, "log_sales", d, extra=("treat_attended",))
    fr["treat_attended"] = fr["treat_attended"].astype(float)

    def p_ar(b0):  # AR test of b0: the offer's coefficient in the regression of y - b0*D on the exogenous terms
        g = fr.copy()
        g["ytil"] = g["log_sales"] - b0 * g["treat_attended"]
        r = pooled_ols(g, "ytil ~ treat_offered + log_sales_baseline + C(strata_id) + C(round)", vcov="cluster",
                       cluster="cluster")
        return r.pvalues["treat_offered"]

    assert p_ar(lo) == pytest.approx(0.05, abs=1e-6) and p_ar(hi) == pytest.approx(0.05, abs=1e-6)
    assert p_ar((lo + hi) / 2) > 0.05 and p_ar(lo - 0.05) < 0.05
    assert ar.contains(res.params["treat_attended"])


def test_quadratic_ar_set_shapes():
    assert _quadratic_set(1.0, 0.0, -1.0, 0.95).intervals == ((-1.0, 1.0),)
    assert _quadratic_set(-1.0, 0.0, 1.0, 0.95).kind == "union"
    assert _quadratic_set(-1.0, 0.0, -1.0, 0.95).kind == "real line"
    assert _quadratic_set(1.0, 0.0, 1.0, 0.95).kind == "empty"


def test_weak_instrument_gives_unbounded_ar_set():
    rng = np.random.default_rng(1)
    n = 400
    z = rng.integers(0, 2, n).astype(float)
    v = rng.normal(size=n)
    dd = (0.02 * z + v > 0.5).astype(float)
    y = 0.5 * dd + 0.8 * v + rng.normal(size=n)
    df = pd.DataFrame({"f": range(n), "t": 1, "y": y, "d": dd, "z": z}).set_index(["f", "t"])
    res = iv2sls(df, "y ~ 1", endog="d", instruments="z", vcov="robust")
    assert res.stats["First-stage F (d)"] < 10 and "WEAK" in res.tests["first_stage_F_d"].note
    assert res.extra["ar_set"].kind in ("union", "real line")


def test_cluster_assignment_clusters_by_cluster_and_bootstraps(cluster_trial):
    _, f = cluster_trial
    res = ancova(f, "log_sales", ExperimentDesign(assignment="cluster"), B=999)
    assert res.variance.clusters == ("cluster",) and res.variance.n_clusters == (16,)
    wb = res.extra["wild"]
    assert wb.weights == "rademacher" and wb.n_clusters == 16 and wb.full_enumeration is False
    assert wb.conf_int[0] < res.params["treat_offered"] < wb.conf_int[1]
    assert "wild_bootstrap" in res.tests
    dd = did(f, "log_sales", ExperimentDesign(assignment="cluster"), B=499)
    assert dd.extra["wild"].tstat == pytest.approx(dd.tstats["treat_offered_post"], rel=1e-10)


def test_bad_input_messages(trial):
    _, f = trial
    with pytest.raises(SpecificationError, match="not in the data.*did you mean 'treat_offered'"):
        ancova(f, "log_sales", ExperimentDesign(treatment="treat_offerd"))
    with pytest.raises(SpecificationError, match="letters, digits and underscores"):
        ancova(f, "log sales; import os", ExperimentDesign())
    g = f.copy()
    g["treat_offered"] = g["treat_offered"].astype(int) * 2
    with pytest.raises(SpecificationError, match="must be 0/1"):
        ancova(g, "log_sales", ExperimentDesign())


def test_recovers_known_effects(trial):
    e, f = trial
    res = ancova(f, "log_sales", ExperimentDesign())
    lo, hi = res.conf_int().loc["treat_offered"]
    assert lo < e.truth["itt"] < hi
    t = tot(f, "log_sales", ExperimentDesign())
    lo, hi = t.conf_int().loc["treat_attended"]
    assert lo < e.truth["tot"] < hi
    fs = t.extra["first_stage"]["treat_attended"]["treat_offered"]
    assert fs == pytest.approx(e.truth["first_stage"], abs=0.08)


# ------------------------------------------------------------------------------------------- user sweep edges
@pytest.mark.parametrize("strata", [None, "", "one_stratum"])
def test_strata_fe_label_follows_the_dummies_in_the_model(trial, strata):
    """User sweep R2: with no strata (``strata=None``, ``strata = ""`` in a design file, or a strata column with one
    value) the ITT and TOT said "Strata FE: Yes" because the round dummies C(round) matched a test for "C(" in
    the formula. The labels now come from the dummies the fit holds."""
    from clusterecon.report import regression_table

    _, f = trial
    f = f.assign(one_stratum=1)
    d = ExperimentDesign(baseline=(2010,), follow_up=(2011, 2012), strata=strata)
    for r in (itt(f, "log_sales", d, wild=False), itt(f, "log_sales", d, method="post", wild=False),
              tot(f, "log_sales", d, wild=False)):
        assert not [n for n in r.names if "strata" in n or "one_stratum" in n]
        assert r.effects == {"Strata FE": "No", "Round FE": "Yes"}
        assert "| Strata FE | No |" in regression_table([r]).to_markdown()
    one = ExperimentDesign(baseline=(2010,), follow_up=(2011,))
    r = itt(f, "log_sales", one, wild=False)  # one follow-up: strata dummies and no round dummies
    assert any(n.startswith("C(strata_id)") for n in r.names) and not any("round" in n for n in r.names)
    assert r.effects == {"Strata FE": "Yes", "Round FE": "No"}
    assert tot(f, "log_sales", one, wild=False).effects == {"Strata FE": "Yes", "Round FE": "No"}


def test_iv2sls_fe_labels_follow_the_formula(cluster_trial):
    """iv2sls said "Year FE: No" whatever the formula; with C(year) dummies it now says Yes."""
    _, f = cluster_trial
    f = f.assign(offer=f["treat_offered"].astype(float), attend=f["treat_attended"].astype(float))
    plain = iv2sls(f, "log_sales ~ 1", endog="attend", instruments="offer", vcov="robust")
    years = iv2sls(f, "log_sales ~ C(year)", endog="attend", instruments="offer", vcov="robust")
    assert plain.effects == {"Firm FE": "No", "Year FE": "No"}
    assert years.effects == {"Firm FE": "No", "Year FE": "Yes"}


@pytest.mark.parametrize("value, message", [
    (False, r"no firm took up the training \(treat_attended is 0 for all \d+ firm-rounds analysed\): the first "
            r"stage is not identified, so the TOT cannot be estimated; the ITT stands"),
    (True, r"every firm took up the training, controls included \(treat_attended is 1 for all"),
])
def test_tot_without_variation_in_takeup_is_a_clear_error(trial, value, message):
    """User sweep R4: take-up 0 for everyone (no compliers) raised a bare LinAlgError: Singular matrix."""
    _, f = trial
    d = ExperimentDesign(baseline=(2010,), follow_up=(2011, 2012))
    with pytest.raises(SpecificationError, match=message):
        tot(f.assign(treat_attended=value), "log_sales", d)
    f2 = f.assign(offer=f["treat_offered"].astype(float), attend=0.0)
    with pytest.raises(SpecificationError, match="attend does not vary .*first stage is not identified"):
        iv2sls(f2, "log_sales ~ 1", endog="attend", instruments="offer")


@pytest.mark.parametrize("value, message", [
    (1, r"every firm was offered the treatment \(treat_offered is 1 for all \d+ firm-rounds analysed\): with no "
        r"control group {what} cannot be identified; check the treat_offered column"),
    (0, r"no firm was offered the treatment \(treat_offered is 0 for all \d+ firm-rounds analysed\): with no "
        r"treated group {what} cannot be identified"),
])
def test_all_or_no_firms_offered_is_refused(trial, value, message):
    """User sweep R4/R7: with every firm offered, itt() returned a result without the treatment coefficient (only a
    "dropped regressor(s): treat_offered" warning). Every estimator of the offer now refuses, naming the column."""
    import warnings

    _, f = trial
    f = f.assign(treat_offered=value)
    d = ExperimentDesign(baseline=(2010,), follow_up=(2011, 2012))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any regression warns about a dropped regressor
        for what, call in (("the ITT", lambda: itt(f, "log_sales", d)),
                           ("the ITT", lambda: itt(f, "log_sales", d, method="post")),
                           (r"the ITT \(DiD\)", lambda: itt(f, "log_sales", d, method="did")),
                           ("the TOT", lambda: tot(f, "log_sales", d))):
            with pytest.raises(SpecificationError, match=message.format(what=what)):
                call()


def test_treatment_dropped_as_collinear_is_refused(trial):
    """A fit that lost the offer (both arms present, but other regressors reproduce it, e.g. strata holding one arm
    each) is refused, not returned without the coefficient the caller asked for."""
    from types import SimpleNamespace

    from clusterecon.evaluation.itt import require_coef

    _, f = trial
    d = ExperimentDesign(baseline=(2010,), follow_up=(2011, 2012))
    r = itt(f, "log_sales", d, wild=False)
    gone = SimpleNamespace(names=tuple(n for n in r.names if n != "treat_offered"),
                           dropped_regressors=(("treat_offered", "collinear with other regressors"),))
    with pytest.raises(SpecificationError, match=r"treat_offered was dropped from the regression \(collinear with "
                                                 r"other regressors\) \(each value of strata_id holds only offered "
                                                 r"firms or only controls\): the ITT is not identified"):
        require_coef(gone, "treat_offered", "the ITT", d)
    assert require_coef(r, "treat_offered", "the ITT", d) is r
