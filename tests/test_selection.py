"""Production-function choice and guard (clusterecon.productivity.selection): the preference order, the reasons a
better-ranked method was passed over, and the fallback to index-number TFP when the estimate is implausible (the
bundled garments sample's FE labour elasticity is negative)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clusterecon.productivity import selection
from clusterecon.productivity.selection import best_method, guarded_tfp, implausible, prefer

SIM = Path(__file__).resolve().parents[1] / "data" / "simulated"


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


def test_preference_order_and_reasons(monkeypatch):
    monkeypatch.setattr(selection, "PREFERENCES", dict(selection.PREFERENCES))
    prefer("acf-test", 100, requires=("investment",))
    prefer("op-test", 90)
    choice = best_method(_frame())
    assert choice.method == "twoway"
    assert "investment" in choice.passed_over["acf-test"]
    assert "not registered" in choice.passed_over["op-test"]


def test_plausible_estimate_is_used():
    ch = guarded_tfp(_frame(), vcov="cluster")
    assert ch.method == "twoway" and not ch.warnings
    assert ch.result.elasticities.to_numpy() == pytest.approx([0.6, 0.3], abs=0.05)


def test_implausible_estimate_falls_back_to_cost_shares():
    from clusterecon.load import load_survey

    panel = load_survey(SIM / "garments_recall_2005.csv").panel
    ch = guarded_tfp(panel, vcov="cluster")
    assert ch.method == "cost shares" and "cost-share" in ch.source
    assert any("implausible" in w for w in ch.warnings) and any("falls back" in w for w in ch.warnings)
    assert implausible(ch.result)
    assert np.isfinite(ch.ln_tfp).sum() > 500
