"""Practice scores, many-outcome corrections, Lee bounds, attrition tests, randomisation inference and spillovers
(clusterecon.evaluation.{practices, multiple, attrition, randomization, spillovers}).

Size/FWER/FDR checks use a second, plain-numpy data generator (not the experiment simulator the estimators were
developed on)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clusterecon import schema
from clusterecon.estimators import SpecificationError, pooled_ols
from clusterecon.evaluation import ExperimentDesign, analysis_frame, ancova
from clusterecon.evaluation.attrition import attrition_table, imbens_manski, lee_bounds, trimmed_mean
from clusterecon.evaluation.multiple import kling_index, romano_wolf, romano_wolf_itt, sharpened_qvalues
from clusterecon.evaluation.practices import add_practice_scores, practice_scores
from clusterecon.evaluation.randomization import permute_within, randomization_inference
from clusterecon.evaluation.spillovers import spillover_effects, spillover_exposure
from clusterecon.simulate.experiment import simulate_experiment


@pytest.fixture(scope="module")
def trial():
    e = simulate_experiment(seed=21, attrition=0.2, attrition_treated=0.05, attrition_selectivity=0.6,
                            n_clusters=30)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    return e, add_practice_scores(f)


# ----------------------------------------------------------------------------------------------- practices
def test_practice_scores_are_item_shares():
    items = [nm for nm, _, _ in schema.PRACTICE_ITEMS]
    df = pd.DataFrame({nm: [True, False, True] for nm in items}, index=pd.MultiIndex.from_tuples(
        [("a", 1), ("b", 1), ("c", 1)], names=["firm_id", "year"])).astype("boolean")
    df.loc[("b", 1), items[:13]] = True  # 13 of 26
    df.loc[("c", 1), "mw_m1_competitor_prices"] = pd.NA
    s = practice_scores(df)
    assert s.loc[("a", 1), "practice_score"] == 1.0
    assert s.loc[("b", 1), "practice_score"] == pytest.approx(0.5)
    assert s.loc[("b", 1), "practice_marketing"] == 1.0 and s.loc[("b", 1), "practice_planning"] == 0.0
    assert np.isnan(s.loc[("c", 1), "practice_score"]) and np.isnan(s.loc[("c", 1), "practice_marketing"])
    assert s.loc[("c", 1), "practice_records"] == 1.0  # the missing item is a marketing item
    assert any("too few items" in n for n in s.attrs["notes"])
    partial = practice_scores(df, min_share=0.9)
    assert partial.loc[("c", 1), "practice_score"] == 1.0
    w = schema.practice_weights()
    assert sum(v[0] for v in w.values()) == pytest.approx(1.0)
    assert w["mw_b1_negotiate_supplier"][1] == pytest.approx(1 / 3)


def test_practice_scores_refuse_non_binary_items():
    items = [nm for nm, _, _ in schema.PRACTICE_ITEMS]
    df = pd.DataFrame({nm: [1.0] for nm in items}, index=pd.MultiIndex.from_tuples([("a", 1)],
                                                                                  names=["firm_id", "year"]))
    df[items[0]] = 2.0
    with pytest.raises(SpecificationError, match="must be yes/no"):
        practice_scores(df)


# ----------------------------------------------------------------------------------------- many outcomes
def test_sharpened_qvalues_agree_with_statsmodels_bky_decisions():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = np.concatenate([rng.uniform(0, 0.02, 5), rng.uniform(0, 1, 15)])
    q = sharpened_qvalues(p)
    for alpha in (0.01, 0.05, 0.1, 0.2):
        reject = multipletests(p, alpha=alpha, method="fdr_tsbky")[0]
        assert ((q <= alpha + 1e-12) == reject).all(), alpha
    assert isinstance(sharpened_qvalues(pd.Series(p[:3], index=list("abc"))), pd.Series)


@pytest.mark.slow
def test_sharpened_qvalues_control_fdr_under_the_global_null():
    rng = np.random.default_rng(4)
    reps = 1000
    any_reject = np.mean([(sharpened_qvalues(rng.uniform(size=10)) <= 0.05).any() for _ in range(reps)])
    assert any_reject <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)  # under the global null FDR = FWER


def _null_family(rng, G=40, per=15, K=5, rho=0.5):
    """K outcomes with correlation rho and cluster effects, no treatment effect; treatment by cluster."""
    n = G * per
    cl = np.repeat(np.arange(G), per)
    T = np.repeat(rng.permutation(np.r_[np.ones(G // 2), np.zeros(G - G // 2)]), per)
    common = rng.normal(size=n)
    fits = {}
    for k in range(K):
        y = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=n) + 0.5 * rng.normal(size=G)[cl]
        X = np.column_stack([np.ones(n), T])
        fits[f"y{k}"] = (X, y, cl, 1)
    return fits


@pytest.mark.slow
def test_romano_wolf_controls_fwer_under_the_global_null():
    rng = np.random.default_rng(5)
    reps = 200
    rej = sum((romano_wolf(_null_family(rng), B=199, seed=rng)["p_romano_wolf"] <= 0.05).any() for _ in range(reps))
    assert rej / reps <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert rej / reps >= 0.01  # not degenerate (it must be able to reject)


def test_romano_wolf_is_step_down_and_monotone(trial):
    _, f = trial
    rw = romano_wolf_itt(f, ["log_sales", "practice_score", "practice_marketing"], B=499, seed=1)
    order = rw["t"].abs().sort_values(ascending=False).index
    assert (np.diff(rw.loc[order, "p_romano_wolf"].to_numpy()) >= 0).all()
    assert (rw["p_romano_wolf"] >= rw["p_bootstrap"] - 1e-12).all()
    assert rw.loc["practice_score", "t"] == pytest.approx(
        ancova(f, "practice_score", wild=False).tstats["treat_offered"], rel=1e-10)


def test_kling_index_standardises_on_controls(trial):
    _, f = trial
    k = kling_index(f, ["log_sales", "practice_score"], signs={"practice_score": 1})
    ctrl = k[~k["treat_offered"].astype(bool)]
    base = ctrl.xs(2010, level="year")
    z = (base["log_sales"] - base["log_sales"].mean()) / base["log_sales"].std(ddof=1)
    z2 = (base["practice_score"] - base["practice_score"].mean()) / base["practice_score"].std(ddof=1)
    both = pd.concat([z, z2], axis=1).mean(axis=1)
    assert np.allclose(base["kling_index"].to_numpy(), both.to_numpy(), equal_nan=True)
    with pytest.raises(SpecificationError, match="index components not in the data"):
        kling_index(f, ["nope"])


# ------------------------------------------------------------------------------------------------ attrition
def test_trimmed_mean_and_lee_bounds_by_hand():
    y = np.arange(1.0, 11.0)  # 1..10
    assert trimmed_mean(y, 0.2, "top") == pytest.approx(np.mean(np.arange(1, 9)))
    assert trimmed_mean(y, 0.25, "top") == pytest.approx((np.arange(1, 8).sum() + 0.5 * 8) / 7.5)
    # treated: 10 firms all observed, y = 1..10; control: 10 firms, 8 observed with mean 5
    n = 20
    df = pd.DataFrame({"firm_id": [f"f{i}" for i in range(n)], "year": 2011, "treat_offered": [1] * 10 + [0] * 10,
                       "y": list(np.arange(1.0, 11.0)) + [5.0] * 8 + [np.nan] * 2})
    df["attrited"] = df["y"].isna()
    df = pd.concat([df.assign(year=2010, y=1.0, attrited=False), df]).set_index(["firm_id", "year"])
    lb = lee_bounds(df, "y", ExperimentDesign(strata=None, takeup=None), B=50, seed=1)
    assert lb.trim_share == pytest.approx(0.2) and lb.trimmed == "treatment"
    assert lb.lower == pytest.approx(4.5 - 5.0) and lb.upper == pytest.approx(6.5 - 5.0)
    lo, hi = imbens_manski(1.0, 2.0, 0.1, 0.1)
    assert lo < 1.0 - 1.64 * 0.1 + 1e-9 and hi > 2.0 + 1.64 * 0.1 - 1e-9


def test_lee_bounds_equal_pyleebounds():
    pylee = pytest.importorskip("pyleebounds")
    rng = np.random.default_rng(8)
    n = 200  # 100 per arm; 100 treated and 75 controls observed: trim share 0.25 exactly, 25 firms trimmed
    t = np.r_[np.ones(100), np.zeros(100)]
    y = rng.normal(size=n) + 0.3 * t
    s = np.r_[np.ones(100), np.ones(75), np.zeros(25)]
    df = pd.DataFrame({"firm_id": np.arange(n), "year": 2011, "treat_offered": t, "y": np.where(s == 1, y, np.nan),
                       "attrited": s == 0, "sel": s, "yy": np.where(s == 1, y, 0.0)})
    ref = pylee.LeeBounds(n_bootstrap=2).fit(df, "yy", "treat_offered", "sel")
    panel = pd.concat([df.assign(year=2010, y=0.0, attrited=False), df]).set_index(["firm_id", "year"])
    ours = lee_bounds(panel, "y", ExperimentDesign(strata=None, takeup=None), B=20)
    assert ours.lower == pytest.approx(ref.lower_bound, rel=1e-12)
    assert ours.upper == pytest.approx(ref.upper_bound, rel=1e-12)


def test_lee_bounds_contain_the_truth_and_tighten(trial):
    e, f = trial
    plain = lee_bounds(f, "log_sales", B=100, seed=1)
    tight = lee_bounds(f, "log_sales", tighten="baseline", B=100, seed=1)
    truth = e.truth["itt"]  # effect on the always-observed equals the ITT (homogeneous effect, random take-up)
    assert plain.ci[0] < truth < plain.ci[1] and tight.ci[0] < truth < tight.ci[1]
    assert tight.upper - tight.lower < plain.upper - plain.lower
    assert plain.trimmed == "treatment" and plain.observed_treatment > plain.observed_control
    assert tight.cells is not None and len(tight.cells) >= 4


def test_attrition_tables(trial):
    _, f = trial
    tab, sel = attrition_table(f, outcome="log_sales", covariates=("practice_score",))
    assert list(tab.index) == ["2011", "2012", "any follow-up"]
    assert (tab["difference"] < 0).all() and (tab["p-value"] < 0.01).all()  # offered firms attrit less
    assert set(sel.index) == {"practice_score", "log_sales"}
    assert sel.loc["log_sales", "p-value (F)"] < 0.05  # attrition selected on low outcomes
    e0 = simulate_experiment(seed=22, attrition=0.15)
    g = e0.frame.copy()
    g["log_sales"] = np.log(g["sales"])
    tab0, _ = attrition_table(g, outcome="log_sales")
    assert (tab0["p-value"] > 0.01).all()


# ---------------------------------------------------------------------------------- randomisation inference
def test_randomization_inference_statistic_and_draws(trial):
    _, f = trial
    d = ExperimentDesign()
    ri = randomization_inference(f, "log_sales", d, R=99, seed=3, statistic="coef")
    res = ancova(f, "log_sales", d, wild=False)
    assert ri.observed == pytest.approx(res.params["treat_offered"], rel=1e-10)
    rt = randomization_inference(f, "log_sales", d, R=99, seed=3)
    assert rt.observed == pytest.approx(res.tstats["treat_offered"], rel=1e-8)
    # the first re-randomisation, re-estimated by brute force
    frame, _ = analysis_frame(f, "log_sales", d)
    frame = frame.dropna(subset=["log_sales"])  # re-randomised within the estimation sample (as Stata ritest)
    firms = frame.index.get_level_values(0)
    units = pd.Index(pd.unique(firms))
    t_unit = frame.groupby(level=0)["treat_offered"].first().reindex(units).to_numpy()
    strata = frame.groupby(level=0)["strata_id"].first().reindex(units).to_numpy()
    perm = permute_within(units.to_numpy(), strata, t_unit, 99, np.random.default_rng(3))
    g = frame.copy()
    g["treat_offered"] = pd.Series(perm[:, 0], index=units).reindex(firms).to_numpy()
    formula = "log_sales ~ treat_offered + log_sales_baseline + C(strata_id) + C(round)"
    brute = pooled_ols(g, formula, vcov="cluster").params["treat_offered"]
    assert ri.draws[1] == pytest.approx(brute, rel=1e-8)
    # permutations stay within strata: each stratum keeps its number of offered firms
    assert (pd.DataFrame(perm).groupby(strata).sum().nunique(axis=1) == 1).all()


@pytest.mark.slow
def test_randomization_inference_size_on_a_plain_generator():
    rng = np.random.default_rng(9)
    rej = 0
    reps = 150
    for _ in range(reps):
        n = 60
        df = pd.DataFrame({"firm_id": np.repeat(np.arange(n), 2), "year": np.tile([1, 2], n)})
        df["treat_offered"] = np.repeat(rng.permutation(np.r_[np.ones(30), np.zeros(30)]), 2)
        a = np.repeat(rng.standard_t(3, n), 2)
        df["y"] = a + rng.standard_t(3, 2 * n)
        df = df.set_index(["firm_id", "year"])
        rej += randomization_inference(df, "y", ExperimentDesign(strata=None), R=199, seed=rng).pvalue <= 0.05
    assert rej / reps <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


# ------------------------------------------------------------------------------------------------ spillovers
def test_spillovers_recover_known_effects():
    e = simulate_experiment(seed=31, assignment="partial", spillover=0.15, n_clusters=40, network_spillover=0.0)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    d = ExperimentDesign(assignment="cluster", treated_cluster="treat_cluster", exposure="network_exposure")
    r = spillover_effects(f, "log_sales", d, wild=False)
    for term, truth in (("untreated_in_treated_cluster", 0.15), ("treat_offered", e.truth["itt"])):
        assert abs(r.params[term] - truth) < 3 * r.std_errors[term], term  # coverage itself: slow test
    assert r.variance.clusters == ("cluster",) and "treated_vs_spillover" in r.tests
    small = simulate_experiment(seed=32, assignment="partial", spillover=0.15, n_clusters=10)
    g = small.frame.copy()
    g["log_sales"] = np.log(g["sales"])
    rs = spillover_effects(g, "log_sales", d, B=999)
    assert rs.extra["wild"].weights == "webb" and rs.extra["wild"].param == "untreated_in_treated_cluster"
    ex = spillover_exposure(f, "log_sales", d, wild=False)
    assert "network_exposure" in ex.names
    with pytest.raises(SpecificationError, match="treated-cluster column"):
        spillover_effects(f, "log_sales", ExperimentDesign())


# ------------------------------------------------------------------------------------------- user sweep edges
def test_spillover_labels_follow_the_dummies_in_the_model():
    """spillover_effects said "Strata FE: Yes" whenever the round dummies were in (a test for "C(" in the formula)
    and had no round label; spillover_exposure kept pooled OLS's "Year FE: No" while holding round dummies."""
    e = simulate_experiment(seed=31, assignment="partial", spillover=0.15, n_clusters=20)
    f = e.frame.copy()
    f["log_sales"] = np.log(f["sales"])
    d = ExperimentDesign(assignment="cluster", treated_cluster="treat_cluster", exposure="network_exposure",
                         strata=None)
    assert spillover_effects(f, "log_sales", d, wild=False).effects == {"Strata FE": "No", "Round FE": "Yes"}
    assert spillover_exposure(f, "log_sales", d, wild=False).effects == {"Strata FE": "No", "Round FE": "Yes"}
    ds = d.replace(strata="strata_id")
    if f["strata_id"].nunique() > 1:
        assert spillover_effects(f, "log_sales", ds, wild=False).effects["Strata FE"] == "Yes"


@pytest.mark.parametrize("value", [0, 1])
def test_attrition_and_lee_bounds_refuse_a_single_arm(trial, value):
    """User sweep R7: with every firm offered, the attrition table warned "dropped regressor(s): _T" (an internal
    column) and failed later; the attrition steps now refuse with the user's column name."""
    _, f = trial
    g = f.assign(treat_offered=value)
    arm = "no firm was offered" if value == 0 else "every firm was offered"
    with pytest.raises(SpecificationError, match=f"{arm} the treatment .*difference in attrition"):
        attrition_table(g, ExperimentDesign(), outcome="log_sales")
    with pytest.raises(SpecificationError, match=f"{arm} the treatment .*the Lee bounds"):
        lee_bounds(g, "log_sales", ExperimentDesign(), B=10)


def test_attrition_warnings_use_the_users_names(trial):
    """Warnings from the attrition regressions name the treatment column, not the internal ``_T``."""
    import warnings

    from clusterecon.evaluation.attrition import _in_user_names

    def warns():
        warnings.warn("dropped regressor(s): _T (collinear); _TA (constant); C(strata_id)[T._T]", UserWarning,
                      stacklevel=2)
        return 1

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert _in_user_names({"_TA": "offer x attrited", "_T": "offer"}, warns) == 1
    assert [str(x.message) for x in w] == [
        "dropped regressor(s): offer (collinear); offer x attrited (constant); C(strata_id)[T._T]"]


def test_kling_index_without_controls_says_so(trial):
    _, f = trial
    with pytest.raises(SpecificationError, match=r"no control firms \(treat_offered is never 0\)"):
        kling_index(f.assign(treat_offered=1), ["log_sales"], ExperimentDesign())


def test_attrition_table_with_attriters_in_one_arm_only_tests_attrition_alone(trial):
    """With every offered firm followed up, offer x attrited is constant (zero) and is dropped: the selective
    attrition test is of attrited alone and the interaction's columns are empty, instead of a KeyError."""
    import warnings

    e, f = trial
    g = f.copy()
    offered = g["treat_offered"] == 1
    g.loc[offered & g["log_sales"].isna(), "log_sales"] = 5.0  # no offered firm attrits
    att = ExperimentDesign().attrition
    if att in g.columns:
        g[att] = g[att].where(~offered, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab, sel = attrition_table(g, outcome="log_sales", covariates=("practice_score",))
    assert (tab["attrition (offered)"] == 0).all() and (tab["attrition (control)"] > 0).all()
    assert len(sel) and sel["p-value (F)"].notna().all() and sel["T x attrited"].isna().all()
