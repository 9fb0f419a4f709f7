"""Production-function choice and guard (clusterecon.productivity.selection): the preference order, the reasons a
better-ranked method was passed over, and the fallback to index-number TFP when the estimate is implausible (the
bundled garments sample's FE labour elasticity is negative)."""

import numpy as np
import pandas as pd
import pytest

from clusterecon.productivity import selection
from clusterecon.productivity.selection import best_method, guarded_tfp, implausible, prefer


def _frame(n=60, T=5, beta=(0.6, 0.3), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        w = rng.normal(0, 0.2)
        for t in range(T):
            L = np.exp(rng.normal(2, 0.5))
            K = L * np.exp(rng.normal(0, 0.5))
            va = np.exp(w + rng.normal(0, 0.05)) * L ** beta[0] * K ** beta[1]
            rows.append({"firm_id": i, "year": 2000 + t, "employees": L, "capital": K, "sales": 2 * va,
                         "material_cost": va, "wage_bill": 0.6 * va})
    return pd.DataFrame(rows).set_index(["firm_id", "year"])


LINEAR = {k: selection.PREFERENCES[k] for k in ("twoway", "fe", "ols")}


def _linear_only(monkeypatch, keep=("twoway", "fe", "ols")):
    monkeypatch.setattr(selection, "_register_control_functions", lambda: None)
    monkeypatch.setattr(selection, "PREFERENCES", {k: LINEAR[k] for k in keep})


def test_control_functions_rank_first():
    choice = best_method(_frame())
    assert choice.method == "acf" and choice.passed_over == {}
    no_panel = best_method(_frame().groupby(level=0).head(1))  # each firm once: nothing with a firm effect
    assert no_panel.method == "ols" and "two or more years" in no_panel.passed_over["twoway"]


def test_preference_order_and_reasons(monkeypatch):
    from clusterecon.productivity.cobb_douglas import METHODS

    _linear_only(monkeypatch)
    monkeypatch.setitem(METHODS, "acf-test", METHODS["fe"])
    prefer("acf-test", 100, requires=("investment",))
    prefer("op-test", 90)
    choice = best_method(_frame())
    assert choice.method == "twoway"
    assert "investment" in choice.passed_over["acf-test"]
    assert "not registered" in choice.passed_over["op-test"]
    prefer("acf-test", 100)
    assert best_method(_frame()).method == "acf-test"


def test_plausible_estimate_is_used(monkeypatch):
    _linear_only(monkeypatch)
    ch = guarded_tfp(_frame(), vcov="cluster")
    assert ch.method == "twoway" and not ch.warnings
    assert dict(ch.result.elasticities) == pytest.approx({"ln_capital": 0.3, "ln_employees": 0.6}, abs=0.05)


def test_implausible_estimate_falls_back_to_cost_shares(monkeypatch):
    """Issue 10: on the garments sample's cluster (simulated census, seed 20050) a firm-FE production function on the
    quantity-expansion years 1974–1995 gives a labour elasticity of −0.31 (the simulator's truth is 0.6: value added
    in money falls with the price while employment grows); TFP must not rest on it silently."""
    from clusterecon.hypotheses._common import analysis_frame
    from clusterecon.simulate import simulate

    f = analysis_frame(simulate("garments", seed=20050))
    yr = f.index.get_level_values("year")
    expansion = f[(yr >= 1974) & (yr <= 1995)]
    # the preferred method (ACF, or two-way FE without control functions) gives a plausible technology
    assert not guarded_tfp(expansion, vcov="cluster").warnings
    _linear_only(monkeypatch, keep=("twoway",))
    assert guarded_tfp(expansion, vcov="cluster").method == "twoway"
    _linear_only(monkeypatch, keep=("fe",))
    ch = guarded_tfp(expansion, vcov="cluster")
    assert ch.method == "cost shares" and "cost-share" in ch.source
    assert any("implausible" in w and "employees elasticity is -0.31" in w for w in ch.warnings)
    assert any("falls back" in w for w in ch.warnings)
    assert implausible(ch.result) and np.isfinite(ch.ln_tfp).sum() > 1000
