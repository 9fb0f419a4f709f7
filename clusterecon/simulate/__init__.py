"""The endogenous cluster model as a simulator: synthetic censuses and surveys with known truth, Monte Carlo and
power analysis.

>>> from clusterecon.simulate import simulate, survey
>>> census = simulate("garments", seed=1)                      # SurveyPanel, design "census", .truth
>>> panel = survey(census, kind="recall", survey_year=2005, benchmark_years=(1995, 2000), n_firms=300, seed=2)

Names load lazily so that ``import clusterecon.simulate`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "ClusterParams": "params", "Truth": "params", "garments": "params", "machinery": "params", "preset": "params",
    "true_effects": "params",
    "simulate": "model", "simulate_frame": "model",
    "survey": "survey", "survey_frame": "survey", "Fieldwork": "survey", "draw_sample": "survey",
    "write_raw": "raw",
    "montecarlo": "montecarlo", "MonteCarloResult": "montecarlo", "fe_production": "montecarlo",
    "innovation_probit": "montecarlo",
    "power": "power", "power_training": "power", "power_schooling": "power", "training_variance": "power",
    "simulate_training": "power", "plot_power": "power",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    try:
        mod = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'clusterecon.simulate' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
