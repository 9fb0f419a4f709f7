"""The survey set-up of the battery's production function (:func:`survey_setup`, :func:`best_production_function`).

Regressions from the bundled raw survey: the innovation-index shifter was NaN in every 1995 and 2000 row, so ACF and
LP lost every lag and the notes blamed the lags ("only 0 firm-years have the lag year") before falling back to
Wooldridge; and ``best_production_function(panel)`` crashed on a SurveyPanel (``'SurveyPanel' object has no
attribute 'index'``)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clusterecon as ce
from clusterecon.estimators.design import SpecificationError
from clusterecon.productivity import production_function
from clusterecon.productivity.registry import best_production_function, survey_setup
from clusterecon.samples import bundled_sample


def _recall_panel(seed: int = 0, n_firms: int = 90, indicators_from: int = 2005) -> pd.DataFrame:
    """A recall survey (benchmark years 1995, 2000, 2005) whose innovation indicators are asked only from
    ``indicators_from`` on."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_firms):
        om = rng.normal(0, 0.3)
        for y in (1995, 2000, 2005):
            om = 0.7 * om + rng.normal(0, 0.2)
            k, lab = rng.normal(3, 0.5), rng.normal(2, 0.4) + 0.3 * om
            mat = np.exp(1 + 0.8 * om + 0.3 * k + rng.normal(0, 0.05))
            va = np.exp(0.6 * lab + 0.3 * k + om + rng.normal(0, 0.1))
            asked = y >= indicators_from
            rows.append({"firm_id": i, "year": y, "employees": np.exp(lab), "capital": np.exp(k),
                         "material_cost": mat, "sales": va + mat,
                         **{c: (float(rng.uniform() < 0.4) if asked else np.nan)
                            for c in ("own_brand", "exporter")}})
    return pd.DataFrame(rows).set_index(["firm_id", "year"])


def test_production_survey_setup_leaves_out_a_shifter_missing_in_whole_years():
    f = _recall_panel()
    setup = survey_setup(f)
    assert setup.lag == "previous" and "motion_controls" not in setup.options("acf")
    assert "innovation_index" not in setup.frame.columns
    note = next(n for n in setup.notes if "innovation_index" in n)
    assert "law of motion without innovation_index" in note and "missing in 1995, 2000" in note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, notes = best_production_function(f)
    assert res.method == "ACF", notes  # not the Wooldridge fallback
    assert not any("not estimated" in n for n in notes)


def test_production_survey_setup_keeps_a_shifter_observed_everywhere():
    setup = survey_setup(_recall_panel(indicators_from=1995))
    assert setup.options("acf")["motion_controls"] == ["innovation_index"]
    assert setup.frame["innovation_index"].notna().all()
    assert any(n.startswith("law of motion g(omega_(t-1), innovation_index)") for n in setup.notes)


@pytest.mark.parametrize("method", ["acf", "lp", "wooldridge"])
def test_production_lag_shortage_names_the_column_missing_in_whole_years(method):
    """A shifter the user passes though it is missing in 1995 and 2000: the error (and so the battery's note) names
    the shifter and the years, not only the lag count."""
    f = _recall_panel()
    f["shift"] = f[["own_brand", "exporter"]].mean(axis=1)
    kw = {"motion_controls": ["shift"]} if method != "wooldridge" else {"controls": ["shift"]}
    with pytest.raises(SpecificationError) as e:
        production_function(f, method=method, lag="previous", reps=0, **kw)
    msg = str(e.value)
    assert "only 0 firm-years have the lag year" in msg and "shift is missing in 1995, 2000" in msg
    _, notes = best_production_function(f.drop(columns=["own_brand", "exporter"]), motion_controls=["shift"])
    acf_note = next(n for n in notes if n.startswith("ACF not estimated"))
    assert "shift is missing in 1995, 2000" in acf_note


def test_production_best_production_function_takes_a_survey_panel():
    s, m = bundled_sample()
    panel = ce.read_panel(s, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res, notes = best_production_function(panel)
        res_frame, notes_frame = best_production_function(panel.frame)
    assert notes == notes_frame and res.method == res_frame.method == "ACF"
    np.testing.assert_allclose(res.coef, res_frame.coef)
    # the bundled survey asks the innovation indicators in 2005 only: the shifter is left out, with the reason
    assert any("innovation shifter is missing in 1995, 2000" in n for n in notes)
    assert res.nobs + sum(o.n for o in res.omitted) == len(panel.frame)
