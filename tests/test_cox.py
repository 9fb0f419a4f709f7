"""Cox with delayed entry: Stanford heart-transplant data (counting-process form, R survival's `heart`) against an
independent partial-likelihood implementation, Efron score residuals, the split-spell identity, recovery of a
hazard ratio under left truncation, survivor-only refusal."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from clusterecon.estimators.cox import cox, score_residuals
from clusterecon.estimators.design import SpecificationError
from clusterecon.estimators.hazard import risk_set
from clusterecon.estimators.tobit import ConvergenceError
from clusterecon.panel import SurveyDesign, SurveyPanel

REF = json.loads((Path(__file__).parent / "reference" / "duration.json").read_text())
HEART = Path(__file__).parent / "reference" / "heart.csv"


def partial_loglik(beta, start, stop, event, X, ties="efron"):
    """Cox log partial likelihood written from its definition; risk set start < t ≤ stop (R survival, Stata)."""
    eta = X @ beta
    r = np.exp(eta)
    ll = 0.0
    for t in np.unique(stop[event == 1]):
        risk = (start < t) & (stop >= t)
        dead = (stop == t) & (event == 1)
        d = int(dead.sum())
        ll += eta[dead].sum()
        if ties == "breslow":
            ll -= d * np.log(r[risk].sum())
        else:
            ll -= np.log(r[risk].sum() - np.arange(d) / d * r[dead].sum()).sum()
    return ll


def numeric_hessian(f, x, h=1e-4):
    k = len(x)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (4 * h * h)
    return H


@pytest.fixture(scope="module")
def heart():
    return pd.read_csv(HEART)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_heart_matches_independent_partial_likelihood(heart, ties):
    ref = REF["cox_heart"]
    r = cox(heart, ref["formula"], duration="stop", entry="start", event="event", ties=ties)
    X = heart[["age", "year", "surgery", "transplant"]].to_numpy(float)
    args = (heart.start.to_numpy(float), heart.stop.to_numpy(float), heart.event.to_numpy(float), X)
    opt = minimize(lambda b: -partial_loglik(b, *args, ties=ties), np.zeros(4), method="BFGS",
                   options={"gtol": 1e-9})
    assert np.allclose(r.coef, opt.x, atol=2e-6)
    assert r.loglik == pytest.approx(-opt.fun, abs=1e-8)
    se = np.sqrt(np.diag(np.linalg.inv(-numeric_hessian(lambda b: partial_loglik(b, *args, ties=ties), opt.x))))
    assert np.allclose(r.std_errors, se, rtol=1e-4)
    stored = ref[ties]
    for name, v in stored["params"].items():
        assert r.params[name] == pytest.approx(v, abs=5e-6), name
    for name, v in stored["std_errors"].items():
        assert r.std_errors[name] == pytest.approx(v, rel=1e-4), name
    assert r.loglik == pytest.approx(stored["loglik"], abs=1e-4)
    assert r.stats["Exits"] == ref["events"] and r.nobs == ref["n_rows"]


def test_entry_ties_follow_the_strict_risk_set(heart):
    """Spells entering exactly at an exit time are not at risk then (statsmodels' PHReg alone keeps them)."""
    from statsmodels.duration.hazard_regression import PHReg

    X = heart[["age", "year", "surgery", "transplant"]].to_numpy(float)
    raw = PHReg(heart.stop.to_numpy(float), X, status=heart.event.to_numpy(float),
                entry=heart.start.to_numpy(float), ties="efron").fit(disp=0)
    ours = cox(heart, REF["cox_heart"]["formula"], duration="stop", entry="start", event="event")
    assert abs(raw.params[3] - ours.params["transplant"]) > 0.03  # the convention matters on these data


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_residuals_sum_to_the_score(heart, ties):
    from statsmodels.duration.hazard_regression import PHReg

    X = heart[["age", "year", "surgery", "transplant"]].to_numpy(float)
    st, sp, ev = heart.start.to_numpy(float), heart.stop.to_numpy(float), heart.event.to_numpy(float)
    m = PHReg(sp, X, status=ev, entry=st + 1e-7, ties=ties)
    b = np.array([0.03, -0.1, -0.5, 0.1])
    assert np.allclose(score_residuals(st, sp, ev, X, b, ties).sum(0), m.score(b), rtol=1e-9, atol=1e-9)
    if ties == "breslow":
        assert np.allclose(score_residuals(st, sp, ev, X, b, ties), m.score_residuals(b), atol=1e-10)
    # cluster by patient: the sandwich runs and uses G = 103 patients
    c = cox(heart, "~ age + year + surgery + transplant", duration="stop", entry="start", event="event", ties=ties,
            vcov="robust")
    assert np.all(np.isfinite(c.std_errors))


def simulate_exit_panel(n=3000, beta=0.5, seed=5, first=2000, last=2012):
    rng = np.random.default_rng(seed)
    found = rng.integers(1960, last, size=n)
    x = rng.normal(size=n)
    life = (-np.log(rng.uniform(size=n)) / (0.05 * np.exp(beta * x))) ** (1 / 1.2)
    exit_year = found + np.ceil(life).astype(int)
    rows = []
    for i in range(n):
        for t in range(max(found[i], first), min(exit_year[i] - 1, last) + 1):
            rows.append((f"F{i:05d}", t, found[i], exit_year[i] if exit_year[i] <= last else None, x[i]))
    df = pd.DataFrame(rows, columns=["firm_id", "year", "founding_year", "exit_year", "x"])
    df["exit_year"] = df["exit_year"].astype("Int64")
    return SurveyPanel.from_frame(df, firm_columns=("founding_year", "exit_year", "x"),
                                  design=SurveyDesign(kind="census"))


@pytest.fixture(scope="module")
def sim():
    return simulate_exit_panel()


def test_recovers_hazard_ratio_with_left_truncation_and_split_spells_agree(sim):
    r = cox(sim, "~ x")
    assert abs(r.params["x"] - 0.5) < 3 * r.std_errors["x"]
    assert r.stats["Exits"] > 300
    tv = cox(sim, "~ x", time_varying=True)
    # firm-level covariate: splitting spells at the survey years leaves the partial likelihood unchanged
    assert tv.params["x"] == pytest.approx(r.params["x"], abs=1e-8)
    assert tv.loglik == pytest.approx(r.loglik, abs=1e-6)
    assert tv.variance.kind == "cluster"
    # ignoring left truncation (entry at founding) uses risk sets the firm never belonged to
    rs = risk_set(sim, duration=None)
    g = rs.groupby(level=0)
    spells = pd.DataFrame({"x": g["x"].first(), "entry": g["duration"].min() - 1, "stop": g["duration"].max(),
                           "event": g["exit"].max()})
    naive = cox(spells, "~ x", duration="stop", event="event", entry=None)
    same = cox(spells, "~ x", duration="stop", event="event", entry="entry")
    assert same.params["x"] == pytest.approx(r.params["x"], abs=1e-8)
    assert abs(naive.params["x"] - 0.5) > abs(r.params["x"] - 0.5)


def test_refusals():
    df = pd.DataFrame({"firm_id": ["a", "a"], "year": [2000, 2001], "x": [1.0, 2.0]})
    panel = SurveyPanel.from_frame(df, design=SurveyDesign(kind="recall", survey_years=(2001,)))
    with pytest.raises(SpecificationError, match="survivors only"):
        cox(panel, "~ x")
    bad = pd.DataFrame({"x": [1.0, 2.0], "entry": [3.0, 0.0], "duration": [2.0, 4.0], "event": [1, 0]})
    with pytest.raises(SpecificationError, match="end at or before"):
        cox(bad, "~ x")
    with pytest.raises(SpecificationError, match="columns"):
        cox(bad.drop(columns="event"), "~ x")
    with pytest.raises(SpecificationError, match="ties"):
        cox(bad, "~ x", ties="exact")


def test_spells_from_a_rounds_panel_use_the_exit_year():
    rows = [("A", 2000, 1990, 2005, True, 1.0), ("A", 2003, 1990, 2005, True, 2.0),
            ("B", 2003, 2001, None, True, 3.0), ("B", 2006, 2001, None, True, 4.0),
            ("C", 2000, 1995, None, True, 5.0), ("C", 2006, 1995, None, True, 6.0),
            ("E", 2000, 1999, None, True, 8.0), ("E", 2003, 1999, None, False, np.nan),
            ("F", 2000, 1988, None, True, 2.0), ("F", 2003, 1988, None, True, 2.0), ("F", 2006, 1988, None, True, 2.0)]
    df = pd.DataFrame(rows, columns=["firm_id", "year", "founding_year", "exit_year", "active", "x"])
    df["exit_year"] = df["exit_year"].astype("Int64")
    panel = SurveyPanel.from_frame(df, design=SurveyDesign(kind="rounds", survey_years=(2000, 2003, 2006)))
    r = cox(panel, "~ x")
    # ages at risk: A (10, 15] (exit 2005, between rounds), B (2, 5], C (5, 11], E (1, 4], F (12, 18]
    assert r.stats["Time at risk"] == 5 + 3 + 6 + 3 + 6
    assert r.stats["Exits"] == 2 and r.nobs == 5
    # without F each exit has the largest x in its risk set: the likelihood has no maximum
    with pytest.raises(ConvergenceError, match="monotone"):
        cox(SurveyPanel.from_frame(df[df.firm_id != "F"], design=panel.design), "~ x")
